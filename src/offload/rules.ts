/**
 * A port's hardware rules in creation order: the control-plane punts
 * (priority 0 in each domain), then the rules of each session placed in
 * hardware, in evaluation order (a two-stage session's second stage before
 * its first), each with its purpose in words, its fallback group and its
 * dpdk-testpmd commands; the MARK values they use; and the two promises
 * that keep production safe, checked on every rule.
 */
import type { NativePolicy } from '../dataplane/native-types.js';
import { actionNames, attrFor, modifyBeforeSample, type FlowAction, type FlowDomain, type FlowRule } from './flow.js';
import { intersects, type Match, type PuntClass } from './matches.js';
import { up, type PortPunts, type SessionWork } from './placement.js';
import { PAYLOAD_WORDS, type PayloadKind } from './payload-punts.js';
import { MARK, markCopy, markDecided, type MarkEntry, type PlannedRule, type PlanPort } from './plan-schema.js';
import { withFate, type PortCapabilities } from './probe.js';
import { renderTestpmd, TESTPMD_MAX_LINE } from './testpmd.js';
import { encapActions } from './translation.js';

/** A session's hardware rules: all of them, and which match (stage 1) and which finish the copy (stage 2). */
export interface SessionRuleIds {
  ids: string[];
  stages: { match: string[]; copy: string[] };
}

export interface PortRules {
  rules: PlannedRule[];
  /** every session of the port that has rules */
  sessions: Map<SessionWork, SessionRuleIds>;
  /** punt rule ids per control-plane class */
  punts: Map<PuntClass, string[]>;
}

/**
 * Write the rules of one port whose sessions have settled (`work`, in
 * evaluation order, with the punts they need). Rule ids come from `nextId`
 * (one sequence across ports); the MARK values used are added to `marks`.
 */
export function emitPortRules(
  port: PlanPort,
  caps: PortCapabilities,
  policy: NativePolicy,
  work: readonly SessionWork[],
  punts: PortPunts,
  marks: Map<number, MarkEntry>,
  nextId: () => string,
): PortRules {
  const portRef = { index: port.index, name: port.name };
  const sessions = new Map<SessionWork, SessionRuleIds>();
  const hwSessions = work.filter((w) => w.chosen);
  const portRules: PlannedRule[] = [];
  // PASSTHRU (keep the default RSS spread) only where no other rule of the
  // port can match the same packet: it does not end the rule lookup.
  const ingressMatches: { key: object; match: Match }[] = [];
  if (hwSessions.some((w) => w.chosen!.domain === 'ingress')) {
    for (const e of punts.get('ingress') ?? []) ingressMatches.push({ key: e.punt, match: e.punt.match });
    for (const w of hwSessions) if (w.chosen!.domain === 'ingress') for (const it of w.chosen!.intents) ingressMatches.push({ key: it, match: it.match });
  }
  const alone = (domain: FlowDomain, key: object, m: Match): boolean =>
    domain === 'ingress' && caps.domains.ingress.actions.includes('passthru') && !ingressMatches.some((x) => x.key !== key && intersects(x.match, m));
  const puntRuleIds = new Map<PuntClass, string[]>();
  for (const [domain, entries] of punts) {
    if (!hwSessions.some((w) => w.chosen!.domain === domain)) continue;
    for (const { punt, patterns } of entries) {
      for (const pattern of patterns) {
        const actions = withFate(caps.domains[domain].actions.includes('count') ? [{ type: 'count' }, { type: 'mark', id: MARK.punt[punt.cls] }] : [{ type: 'mark', id: MARK.punt[punt.cls] }], domain, port.index, caps.conventions, alone(domain, punt, punt.match));
        const id = nextId();
        portRules.push(planned(id, portRef, domain, `punt ${punt.label} to the software path (MARK ${MARK.punt[punt.cls]})`, undefined, `${port.name}/punt`, {
          port: port.index, attr: attrFor(domain, 0), pattern, actions,
        }));
        puntRuleIds.set(punt.cls, [...(puntRuleIds.get(punt.cls) ?? []), id]);
        marks.set(MARK.punt[punt.cls], { mark: MARK.punt[punt.cls], kind: 'punt', meaning: `punted ${punt.cls in PAYLOAD_WORDS ? PAYLOAD_WORDS[punt.cls as PayloadKind] : up(punt.cls)}: the whole software policy applies (as unmarked)` });
      }
    }
  }
  let nextGroup = 1;
  for (const w of work) {
    const hw = w.chosen;
    const s = w.session;
    const ids: string[] = [];
    const stageIds: { match: string[]; copy: string[] } = { match: [], copy: [] };
    if (hw) {
      const decided = markDecided(s.slot);
      const copyMark = markCopy(s.slot);
      const group = `${port.name}/session-${s.id}`;
      const fate = (domain: FlowDomain): FlowAction[] => (domain === 'transfer' ? [{ type: 'port_id', id: port.index }] : []);
      const count = (domain: FlowDomain): FlowAction[] => (caps.domains[domain].actions.includes('count') ? [{ type: 'count' }] : []);
      const sessionGroup = hw.twoStage ? nextGroup++ : 0;
      // Creation order: a session's second-stage rules first, so a copy is
      // never jumped to an empty group (a miss there would hand the copy to
      // the port's receive path like production).
      const first: { rule: FlowRule; purpose: string }[] = [];
      const second: { rule: FlowRule; purpose: string }[] = [];
      hw.intents.forEach((intent, k) => {
        const prio = hw.priorities[k] ?? 0;
        const patterns = hw.patterns[k] ?? [];
        for (const pattern of patterns) {
          let actions: FlowAction[];
          let purpose: string;
          if (intent.kind === 'reject') {
            actions = hw.domain === 'transfer' ? [...count('transfer'), ...fate('transfer')] : withFate(count(hw.domain), hw.domain, port.index, caps.conventions, alone(hw.domain, intent, intent.match));
            purpose = `session ${s.id}: a reject rule, left unmarked so the software classifier decides`;
          } else if (hw.path === 'hybrid-classify') {
            actions = withFate([...count(hw.domain), { type: 'mark', id: decided }], hw.domain, port.index, caps.conventions, alone(hw.domain, intent, intent.match));
            purpose = `session ${s.id}: match and MARK ${decided}; software makes the copy`;
          } else if (hw.path === 'hybrid-mirror') {
            actions = withFate([
              ...count(hw.domain),
              { type: 'mark', id: decided },
              { type: 'sample', ratio: hw.sampleRatio, actions: [{ type: 'mark', id: copyMark }, ...copyFate(caps, hw.sampleRatio)] },
            ], hw.domain, port.index, caps.conventions);
            purpose = `session ${s.id}: match, MARK ${decided}, SAMPLE ratio ${hw.sampleRatio} copies to the software path with MARK ${copyMark}`;
          } else if (!hw.twoStage) {
            actions = [
              ...count('transfer'),
              { type: 'mark', id: decided },
              { type: 'sample', ratio: 1, actions: [{ type: 'port_id', id: hw.shadowPort!.index }] },
              { type: 'port_id', id: port.index },
            ];
            purpose = `session ${s.id}: match, mirror (SAMPLE ratio 1) to ${hw.shadowPort!.name}; production continues to ${port.name}`;
          } else {
            actions = [
              ...count('transfer'),
              { type: 'mark', id: decided },
              { type: 'sample', ratio: 1, actions: [{ type: 'port_id', id: port.index }] },
              { type: 'jump', group: sessionGroup },
            ];
            purpose = `session ${s.id} stage 1: match; production leaves untouched on the SAMPLE branch to ${port.name}, the copy continues to group ${sessionGroup}`;
          }
          first.push({ rule: { port: port.index, attr: attrFor(hw.domain, prio), pattern, actions }, purpose });
          if (intent.kind === 'accept' && hw.twoStage) {
            const rw = hw.rewrites?.[k]?.actions ?? [];
            const what = [...rw.map((a) => up(a.type)), ...(encapActions(policy, s).length ? ['VLAN push'] : [])].join(', ') || 'nothing';
            second.push({
              rule: {
                port: port.index,
                attr: attrFor('transfer', 0, sessionGroup),
                pattern,
                actions: [...count('transfer'), ...rw, ...encapActions(policy, s), { type: 'port_id', id: hw.shadowPort!.index }],
              },
              purpose: `session ${s.id} stage 2 (group ${sessionGroup}): rewrite the copy (${what}) and send it to ${hw.shadowPort!.name}`,
            });
          }
        }
      });
      for (const x of second) {
        const id = nextId();
        portRules.push(planned(id, portRef, 'transfer', x.purpose, s.id, group, x.rule));
        ids.push(id);
        stageIds.copy.push(id);
      }
      for (const x of first) {
        const id = nextId();
        portRules.push(planned(id, portRef, hw.domain, x.purpose, s.id, group, x.rule));
        ids.push(id);
        stageIds.match.push(id);
      }
      marks.set(decided, {
        mark: decided, kind: 'decided', session: s.id, slot: s.slot,
        meaning: `session ${s.id} accepts it (decided in hardware)${hw.path === 'hybrid-classify' ? '; software samples and copies it' : '; the copy was made by the NIC, software makes none'}`,
        softwareCopies: hw.path === 'hybrid-classify',
      });
      if (hw.path === 'hybrid-mirror') {
        marks.set(copyMark, { mark: copyMark, kind: 'copy', session: s.id, slot: s.slot, meaning: `a copy made by the NIC for session ${s.id}: never forwarded to production; software finishes it` });
      }
    }
    sessions.set(w, { ids: [...new Set(ids)], stages: stageIds });
  }
  return { rules: portRules, sessions, punts: puntRuleIds };
}

/** The two promises that keep production safe, checked on every rule: a planner bug throws instead of reaching the NIC. */
export function checkPortRules(port: PlanPort, caps: PortCapabilities, portRules: readonly PlannedRule[]): void {
  for (const r of portRules) {
    if (modifyBeforeSample(r.rule) >= 0) {
      throw new Error(`planner bug: rule ${r.id} on ${port.name} rewrites headers before SAMPLE, which would alter production`);
    }
    for (const a of r.rule.actions) {
      if (a.type !== 'sample') continue;
      const allowed = (a.ratio === 1 ? caps.domains[r.domain].sample.copyActions : caps.domains[r.domain].sample.copyActionsRatio) ?? [];
      const extra = actionNames(a.actions).filter((x) => !allowed.includes(x));
      if (extra.length) throw new Error(`planner bug: rule ${r.id} on ${port.name} puts ${extra.join(', ')} on a SAMPLE copy in ${r.domain}, which ${caps.family} does not allow`);
    }
  }
}

function planned(id: string, port: { index: number; name: string }, domain: FlowDomain, purpose: string, session: number | undefined, group: string, rule: FlowRule): PlannedRule {
  const notes: string[] = [];
  let testpmd: string[] = [];
  try {
    testpmd = renderTestpmd(rule);
    const long = testpmd.find((l) => l.length > TESTPMD_MAX_LINE);
    if (long) notes.push(`the testpmd line is ${long.length} characters, longer than testpmd's ${TESTPMD_MAX_LINE}-character command line`);
  } catch (err) {
    notes.push(`no testpmd rendering: ${(err as Error).message}`);
  }
  return { id, port, domain, purpose, ...(session !== undefined ? { session } : {}), group, rule, testpmd, notes };
}

function copyFate(caps: PortCapabilities, ratio: number): FlowAction[] {
  const allowed = (ratio === 1 ? caps.domains.ingress.sample.copyActions : caps.domains.ingress.sample.copyActionsRatio) ?? [];
  return allowed.includes('rss') ? [{ type: 'rss' }] : [{ type: 'queue', index: 0 }];
}
