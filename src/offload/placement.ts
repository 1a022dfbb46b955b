/**
 * Where each session goes on one port. `buildCandidates` lists the paths a
 * session could take there, most capable first, each with its rules'
 * patterns, and says why the better ones cannot be taken; `settle` then
 * checks what depends on the port's other sessions (punt rules, priority
 * levels, rule capacity, Flow Director's one mask) and moves a session to
 * its next candidate until nothing moves.
 */
import { ENCAP, SAMPLE_MODE, type NativePolicy, type NativeRule, type NativeSession } from '../dataplane/native-types.js';
import type { FlowDomain, FlowItem } from './flow.js';
import { intersects, puntCandidates, type Match, type Punt, type RuleIntent } from './matches.js';
import { patternsFor } from './patterns.js';
import type { PlanPort, SessionPath } from './plan-schema.js';
import { fateFor, type PortCapabilities } from './probe.js';
import { rewriteFor, type Maps, type Rewrite } from './translation.js';

// ---- sampling -----------------------------------------------------------------------

export interface Sampling {
  /** 1 = every accepted packet */
  ratio: number;
  /** hardware can do it (per packet, exactly 1 in N) */
  exact: boolean;
  words: string;
  why?: string;
}

export function samplingOf(s: NativeSession): Sampling {
  if (s.sampleMode === SAMPLE_MODE.all || s.sampleThreshold >= 0xffffffff) return { ratio: 1, exact: true, words: 'every accepted packet' };
  const pct = (s.sampleThreshold / 2 ** 32) * 100;
  const pctWords = `${Number(pct.toFixed(4))}%`;
  if (s.sampleThreshold === 0) return { ratio: 0, exact: false, words: '0% (nothing)', why: 'sampling at 0% copies nothing; the software path keeps the session (and its counters) as the policy says' };
  if (s.sampleMode === SAMPLE_MODE.flow) {
    return {
      ratio: 0, exact: false, words: `${pctWords} of flows`,
      why: `sampling ${pctWords} per flow keeps both directions of a flow together by hashing its 5-tuple; rte_flow SAMPLE picks packets at random, so sampling stays in software`,
    };
  }
  const n = Math.round(2 ** 32 / s.sampleThreshold);
  if (n >= 2 && Math.round(2 ** 32 / n) === s.sampleThreshold) return { ratio: n, exact: true, words: `1 packet in ${n} (${pctWords})` };
  return { ratio: 0, exact: false, words: `${pctWords} of packets`, why: `${pctWords} is not 1 in N, and rte_flow SAMPLE only takes a ratio 1/N, so sampling stays in software` };
}

// ---- per-session candidates ---------------------------------------------------------

export interface HwPlan {
  path: Exclude<SessionPath, 'software'>;
  domain: FlowDomain;
  intents: RuleIntent[];
  /** per intent, its patterns (filled when checked against the port) */
  patterns: FlowItem[][][];
  rewrites?: Rewrite[];
  /** two-stage transfer plan */
  twoStage?: boolean;
  shadowPort?: PlanPort;
  sampleRatio: number;
  priorities: number[];
  /** only the untagged halves of the rules: VLAN-tagged frames stay unmarked, for software */
  untaggedOnly?: boolean;
  note?: string;
}

export interface SessionWork {
  session: NativeSession;
  index: number;
  rules: NativeRule[];
  exact: RuleIntent[] | string;
  overApprox: Match[];
  sampling: Sampling;
  candidates: HwPlan[];
  notTaken: string[];
  chosen: HwPlan | null;
}

/** How reasons name rte_flow actions and lists of them. */
export const up = (a: string) => a.toUpperCase();
export const list = (xs: readonly string[]) => xs.join('/');

/** Per flow domain, the control-plane punt rules the port's hardware sessions need. */
export type PortPunts = Map<FlowDomain, { punt: Punt; patterns: FlowItem[][] }[]>;

export function buildCandidates(
  w: SessionWork,
  port: PlanPort,
  caps: PortCapabilities,
  policy: NativePolicy,
  maps: Maps,
  active: boolean,
  byIndex: ReadonlyMap<number, PlanPort>,
  all: readonly SessionWork[],
): void {
  const fam = caps.family;
  const s = w.session;
  if (!caps.flowApi) {
    w.notTaken.push(caps.kind === 'fallback' ? `${fam}: no hardware profile for this port` : `${fam}: no rte_flow`);
    return;
  }
  if (typeof w.exact === 'string') {
    w.notTaken.push(`the session's ${w.exact}`);
    return;
  }
  // One MARK names one session: a session that overlaps another on this port stays in software.
  for (const other of all) {
    if (other === w) continue;
    const hit = w.overApprox.some((a) => other.overApprox.some((b) => intersects(a, b)));
    if (hit) {
      w.notTaken.push(`session ${s.id} overlaps session ${other.session.id} on ${port.name} (a packet can match both), and one MARK cannot name two sessions`);
      return;
    }
  }
  const intents = w.exact;
  const patternsOf = (list: readonly RuleIntent[], domain: FlowDomain): FlowItem[][][] | string => {
    const head: FlowItem[] = domain === 'transfer' ? [{ type: 'represented_port', spec: { ethdev_port_id: port.index } }] : [];
    const out: FlowItem[][][] = [];
    for (const it of list) {
      const p = patternsFor(it.match, caps, head);
      if (typeof p === 'string') return p;
      out.push(p);
    }
    return out;
  };
  // Hardware may match less than the session (unmarked packets get the whole
  // software policy), never more. Leaving every VLAN-tagged half out, accepts
  // and rejects alike, keeps the untagged half exact: a fallback when the
  // tagged rules cannot be written or do not fit.
  const hasTagged = intents.some((it) => it.match.l2 === 'tagged' || it.match.l2 === 'double');
  const untagged = intents.filter((it) => it.match.l2 === 'untagged');
  const canUntag = hasTagged && !intents.some((it) => it.match.l2 === 'any') && untagged.some((it) => it.kind === 'accept');
  const offer = (domain: FlowDomain, make: (list: RuleIntent[], patterns: FlowItem[][][]) => HwPlan): string | undefined => {
    const full = patternsOf(intents, domain);
    if (typeof full !== 'string') w.candidates.push(make(intents, full));
    if (canUntag) {
      const u = patternsOf(untagged, domain);
      if (typeof u !== 'string') {
        w.candidates.push({
          ...make(untagged, u),
          untaggedOnly: true,
          note: typeof full === 'string' ? `VLAN-tagged frames are classified in software: ${full}` : 'VLAN-tagged frames are classified in software',
        });
        return undefined;
      }
    }
    return typeof full === 'string' ? full : undefined;
  };
  const tgt = policy.targets[s.target];
  const sampling = w.sampling;
  const dom = caps.domains;

  // 1. Everything in the E-Switch: mirror (and rewrite) straight to the shadow port.
  const hwWhy: string[] = [];
  const t = dom.transfer;
  if (!t.supported) hwWhy.push(`${fam}: no transfer (E-Switch) rules`);
  else {
    if (!t.sample.mirror) hwWhy.push(`${fam}: no SAMPLE in transfer`);
    else if (!(t.sample.copyActions ?? []).includes('port_id')) hwWhy.push(`${fam}: a transfer SAMPLE copy cannot be sent to a port`);
    for (const a of ['mark', 'port_id']) if (!t.actions.includes(a)) hwWhy.push(`${fam}: no ${up(a)} in transfer`);
    if (!caps.items.includes('represented_port')) hwWhy.push(`${fam}: no represented_port item to match the port traffic enters from`);
  }
  // What the NIC lacks says it all; the policy's reasons matter where it could.
  const nicCannot = hwWhy.length > 0;
  if (!nicCannot && sampling.ratio !== 1) {
    hwWhy.push(sampling.exact
      ? `sampling 1 in ${sampling.ratio}: a transfer SAMPLE above ratio 1 carries nothing on the copy, not even the port to send it to`
      : sampling.why!);
  }
  if (!nicCannot && s.snaplen > 0) hwWhy.push(`truncation to ${s.snaplen} bytes is done in software`);
  if (!nicCannot && (s.ratePps > 0 || s.rateBps > 0)) hwWhy.push('the rate cap is enforced in software');
  if (!nicCannot && policy.fwEnabled) hwWhy.push('the shadow firewall filters copies in software');
  const shadow = tgt && tgt.ports.length === 1 ? byIndex.get(tgt.ports[0]!) : undefined;
  if (nicCannot) {
    // already refused
  } else if (!tgt || tgt.ports.length !== 1) hwWhy.push(`the target has ${tgt ? tgt.ports.length : 0} ports; a hardware mirror sends to exactly one`);
  else if (!shadow) hwWhy.push(`the target's port ${tgt.ports[0]} is not in the port list`);
  else if (port.switchDomain === undefined || shadow.switchDomain === undefined || port.switchDomain !== shadow.switchDomain) {
    hwWhy.push(port.switchDomain === undefined || shadow.switchDomain === undefined
      ? `${port.name} and ${shadow.name} are not known to share an E-Switch (no switch domain reported)`
      : `${port.name} and ${shadow.name} are on different E-Switches (switch domains ${port.switchDomain} and ${shadow.switchDomain})`);
  }
  if (!nicCannot && tgt && (tgt.encap === ENCAP.vxlan || tgt.encap === ENCAP.geneve)) {
    hwWhy.push(tgt.encap === ENCAP.vxlan
      ? 'VXLAN encapsulation is done in software: its outer UDP source port carries a per-flow hash (49152 + hash % 16384) that a fixed VXLAN_ENCAP header cannot'
      : 'GENEVE encapsulation is done in software: DPDK 22.11 has no GENEVE encap action');
  }
  const vlanPush = tgt?.encap === ENCAP.vlan;
  if (vlanPush && t.supported) {
    const miss = ['of_push_vlan', 'of_set_vlan_vid', 'of_set_vlan_pcp'].filter((a) => !t.actions.includes(a));
    if (miss.length) hwWhy.push(`${fam}: ${list(miss.map(up))} unsupported in transfer, VLAN push in software`);
  }
  let rewrites: Map<RuleIntent, Rewrite> | undefined;
  if (active && hwWhy.length === 0) {
    rewrites = new Map();
    for (const it of intents) {
      const r = it.kind === 'accept' ? rewriteFor(it.match, policy, maps) : { actions: [] };
      if (typeof r === 'string') {
        hwWhy.push(`translation stays in software: ${r}`);
        rewrites = undefined;
        break;
      }
      rewrites.set(it, r);
    }
    if (rewrites) {
      const missing = [...new Set([...rewrites.values()].flatMap((r) => r.actions.map((a) => a.type)))].filter((a) => !t.actions.includes(a));
      if (missing.length) hwWhy.push(`${fam}: ${list(missing.map(up))} unsupported in transfer, translation in software`);
    }
  }
  const twoStage = vlanPush || [...(rewrites?.values() ?? [])].some((r) => r.actions.length > 0);
  if (twoStage && hwWhy.length === 0) {
    if (caps.mirrorWithModify === 'unsupported') hwWhy.push(`${fam}: SAMPLE and header rewrite must not be combined`);
    if (!t.actions.includes('jump')) hwWhy.push(`${fam}: no JUMP in transfer for a second stage`);
  }
  if (hwWhy.length === 0) {
    const why = offer('transfer', (l, patterns) => ({
      path: 'hardware', domain: 'transfer', intents: l, patterns,
      ...(rewrites ? { rewrites: l.map((it) => rewrites!.get(it) ?? { actions: [] }) } : {}),
      twoStage, ...(shadow ? { shadowPort: shadow } : {}), sampleRatio: 1, priorities: [],
    }));
    if (why) hwWhy.push(why);
  }
  if (hwWhy.length > 0) w.notTaken.push(`not all in hardware: ${hwWhy.join('; ')}`);

  // 2. NIC Rx SAMPLE copies to a software queue (marked); software finishes the copy.
  const i = dom.ingress;
  const fate = fateFor('ingress', port.index, caps.conventions)[0]!.type;
  const noFate = i.supported && !i.actions.includes(fate) ? `${fam}: no ${up(fate)} in ingress to end a MARK rule with` : undefined;
  const mirrorWhy: string[] = [];
  if (!i.supported) mirrorWhy.push(`${fam}: no ingress rules`);
  else {
    if (!i.actions.includes('mark')) mirrorWhy.push(`${fam}: no MARK in ingress`);
    if (noFate) mirrorWhy.push(noFate);
    if (!sampling.exact) mirrorWhy.push(sampling.why!);
    else if (sampling.ratio === 1 ? !i.sample.mirror : !i.sample.ratio) {
      mirrorWhy.push(`${fam}: no SAMPLE${sampling.ratio === 1 ? '' : ` at a ratio (1 in ${sampling.ratio})`} in ingress`);
    } else {
      const copy = (sampling.ratio === 1 ? i.sample.copyActions : i.sample.copyActionsRatio);
      if (copy === null) mirrorWhy.push(`${fam}: which actions a SAMPLE copy may carry is not documented`);
      else if (!copy.includes('mark') || !(copy.includes('rss') || copy.includes('queue'))) mirrorWhy.push(`${fam}: a SAMPLE copy in ingress cannot carry MARK and a queue`);
    }
  }
  if (mirrorWhy.length === 0) {
    const why = offer('ingress', (l, patterns) => ({ path: 'hybrid-mirror', domain: 'ingress', intents: l, patterns, sampleRatio: sampling.ratio, priorities: [] }));
    if (why) mirrorWhy.push(why);
  }
  if (mirrorWhy.length > 0 && i.supported) w.notTaken.push(`no hardware copy: ${mirrorWhy.join('; ')}`);

  // 3. NIC Rx matches and MARKs; software copies.
  const classifyWhy: string[] = [];
  if (!i.supported) classifyWhy.push(`${fam}: no ingress rules`);
  else if (!i.actions.includes('mark')) {
    const only = i.actions.length ? ` (${fam} accepts only ${list(i.actions.map(up))} in ingress)` : '';
    classifyWhy.push(`${fam}: no MARK in ingress${only}, so hardware cannot tell the software path what it matched`);
  } else if (noFate) classifyWhy.push(noFate);
  if (classifyWhy.length === 0) {
    const why = offer('ingress', (l, patterns) => ({ path: 'hybrid-classify', domain: 'ingress', intents: l, patterns, sampleRatio: 1, priorities: [] }));
    if (why) classifyWhy.push(why);
  }
  if (classifyWhy.length > 0) w.notTaken.push(`classification in software: ${classifyWhy.join('; ')}`);
}

/**
 * Check what depends on the other sessions of the port: which punt rules the
 * hardware sessions need (and whether they can be written), rule priorities,
 * capacity, and Flow Director's one-mask rule. A session that fails moves to
 * its next candidate. Returns whether anything moved.
 */
export function settle(
  work: SessionWork[],
  port: PlanPort,
  caps: PortCapabilities,
  cp: number,
  setPunts: (p: PortPunts) => void,
  /** payload punts (payload-punts.ts): transfer only, where the NIC's copy never reaches software */
  payload: readonly Punt[] = [],
): boolean {
  const fam = caps.family;
  const demote = (w: SessionWork, why: string): void => {
    const from = w.candidates.shift();
    if (!from) return;
    const next = w.candidates[0];
    const label = from.path === 'hardware' ? 'not all in hardware' : from.path === 'hybrid-mirror' ? 'no hardware copy' : 'classification in software';
    const tagged = next && next.path === from.path && next.untaggedOnly && !from.untaggedOnly;
    w.notTaken.push(`${tagged ? `${label} for VLAN-tagged frames` : label}: ${why}`);
    if (tagged) next.note = `VLAN-tagged frames are classified in software: ${why}`;
  };
  const punts: PortPunts = new Map();
  const candidates = cp !== 0 ? puntCandidates(cp) : [];
  for (const domain of ['ingress', 'transfer'] as const) {
    const inDomain = work.filter((w) => w.chosen?.domain === domain);
    if (inDomain.length === 0) continue;
    const head: FlowItem[] = domain === 'transfer' ? [{ type: 'represented_port', spec: { ethdev_port_id: port.index } }] : [];
    const needed: { punt: Punt; patterns: FlowItem[][] }[] = [];
    for (const punt of domain === 'transfer' ? [...candidates, ...payload] : candidates) {
      const hits = inDomain.filter((w) => w.chosen!.intents.some((it) => it.kind === 'accept' && intersects(it.match, punt.match)));
      if (hits.length === 0) continue;
      const p = patternsFor(punt.match, caps, head);
      if (typeof p === 'string') {
        for (const w of hits) demote(w, `its rules can match ${punt.label}, which needs a punt rule ${fam} cannot write (${p})`);
        return true;
      }
      needed.push({ punt, patterns: p });
    }
    const markOk = caps.domains[domain].actions.includes('mark');
    if (needed.length > 0 && !markOk) {
      for (const w of inDomain) demote(w, `${fam}: no MARK in ${domain} for the control-plane punt rules`);
      return true;
    }
    punts.set(domain, needed);

    // Priorities: punts at 0; a session rule goes below every punt and every
    // earlier rule of its session that it overlaps.
    const levels = caps.domains[domain].priorityLevels;
    for (const w of inDomain) {
      const hw = w.chosen!;
      const prio: number[] = [];
      hw.intents.forEach((it, k) => {
        let p = 0;
        if (needed.some((n) => intersects(n.punt.match, it.match))) p = 1;
        for (let j = 0; j < k; j++) if (intersects(hw.intents[j]!.match, it.match)) p = Math.max(p, (prio[j] ?? 0) + 1);
        prio.push(p);
      });
      const need = Math.max(0, ...prio) + 1;
      if (need > levels) {
        demote(w, levels === 1
          ? `${fam}: rules cannot be ordered (one priority level), and this session's rules overlap ${needed.some((n) => hw.intents.some((it) => intersects(n.punt.match, it.match))) ? 'the control-plane punt rules' : 'each other'}`
          : `${fam}: the rules need ${need} priority levels in ${domain}, the port offers ${levels}`);
        return true;
      }
      hw.priorities = prio;
    }
  }

  // Capacity: punts first, then sessions in evaluation order.
  const cap = caps.ruleCapacity;
  if (cap !== null) {
    let used = [...punts.values()].reduce((n, l) => n + l.reduce((m, x) => m + x.patterns.length, 0), 0);
    for (const w of work) {
      const hw = w.chosen;
      if (!hw) continue;
      const n = hw.patterns.reduce((a, p) => a + p.length, 0) * (hw.twoStage ? 2 : 1);
      if (used + n > cap) {
        demote(w, `${fam}: rule capacity ${cap} on ${port.name} would be exceeded (${used} in use, ${n} more needed)`);
        return true;
      }
      used += n;
    }
  }

  // Flow Director in one mode per port: every rule must use the same mask.
  if (caps.quirks.includes('fdir-one-mode-per-port')) {
    const shape = (p: FlowItem[]) => JSON.stringify(p.map((it) => [it.type, Object.keys(it.spec ?? {}).sort(), it.mask ?? {}]));
    const first = [...punts.values()].flat()[0]?.patterns[0] ?? work.find((w) => w.chosen)?.chosen?.patterns[0]?.[0];
    if (first) {
      const want = shape(first);
      const allPunts = [...punts.values()].flat();
      if (allPunts.some((x) => x.patterns.some((p) => shape(p) !== want))) {
        for (const w of work.filter((x) => x.chosen)) demote(w, `${fam}: Flow Director takes one input mask per port, and the control-plane punt rules need several`);
        return true;
      }
      for (const w of work) {
        if (w.chosen && w.chosen.patterns.some((l) => l.some((p) => shape(p) !== want))) {
          demote(w, `${fam}: Flow Director takes one input mask per port, and these rules need more than one`);
          return true;
        }
      }
    }
  }
  setPunts(punts);
  return false;
}
