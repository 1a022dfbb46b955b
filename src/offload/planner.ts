/**
 * The placement plan: for every session on every port it listens to, where
 * each piece of the policy runs — in the NIC (rte_flow rules), in software
 * (which pipeline stage), or both (the NIC classifies and MARKs, or mirrors
 * to a software queue; software does the rest) — with the reason in words.
 *
 * Fail closed: the plan never does more or less than the policy asks. Every
 * hardware rule is exact (it matches only packets the session's classifier
 * would accept, in the same first-match order) and every piece the hardware
 * cannot do exactly stays in software. The contract with the software path:
 *
 * - an unmarked packet (or one with a punt MARK) gets the whole software
 *   policy, every session included; hardware can under-match, never
 *   over-match;
 * - MARK `decided(slot)` on a packet: that session accepts it and no other
 *   session on the port can (sessions whose accept rules overlap another
 *   session's are never classified in hardware, since one MARK cannot name
 *   two sessions). With placement `hybrid-classify` software samples and
 *   copies it; with `hybrid-mirror` or `hardware` the NIC has made the copy;
 * - MARK `copy(slot)`: a copy made by the NIC for that session: never
 *   forwarded to production; software truncates, rate-caps, translates,
 *   encapsulates and transmits it.
 *
 * mlx5 (the only family with SAMPLE and header rewrite): a rewrite placed
 * before SAMPLE changes production as well as the copy, so it is never
 * planned (checked on every rule). A copy that must be rewritten uses two
 * stages in the E-Switch: rule 1 sends production, untouched, on the SAMPLE
 * branch (ratio 1) to its own port and the copy on as the rule's "original"
 * to a group where rule 2 rewrites it and sends it to the shadow port; or a
 * hybrid, where NIC Rx SAMPLE copies to a software queue and software
 * translates.
 */
import { CONTROL_PLANE, RULE_ACTION, type NativePolicy, type NativeRule } from '../dataplane/native-types.js';
import { sessionPlacement, txPlacement } from './explain.js';
import { exactIntents, toMatches } from './matches.js';
import { payloadPiece, payloadPlacement, payloadPunts } from './payload-punts.js';
import { buildCandidates, samplingOf, settle, up, type PortPunts, type SessionWork } from './placement.js';
import {
  MARK,
  type CapsByPort,
  type ControlPlanePlacement,
  type MarkEntry,
  type PlacementPlan,
  type PlannedRule,
  type PlanOptions,
  type PlanPort,
  type PortSummary,
  type SessionPlacement,
} from './plan-schema.js';
import { capabilitiesFromProfile, type PortCapabilities } from './probe.js';
import { matchProfile } from './profiles.js';
import { checkPortRules, emitPortRules } from './rules.js';
import { mapsOf, translationActive } from './translation.js';

// The planner's public surface: what the API, the CLI, the supervisor and
// port-facts import. The parts live in:
//   plan-schema.ts  inputs, MARK values, the plan's TypeBox schema, planJson()
//   matches.ts      a classifier rule as rte_flow can express it; punts
//   patterns.ts     rte_flow patterns for a match (ranges as value/mask blocks)
//   translation.ts  the header rewrite a copy would need in hardware
//   placement.ts    each session's candidate paths, and the port-wide checks
//   rules.ts        a port's hardware rules in creation order, and their checks
//   explain.ts      every placement piece's reason, and explain()
// with the match algebra shared with the policy compiler in src/policy/match.ts.
export * from './plan-schema.js';
export { explain } from './explain.js';
export { rangeBlocks } from './patterns.js';

// ---- the planner --------------------------------------------------------------------

function capsLookup(caps: CapsByPort | undefined, index: number): PortCapabilities | undefined {
  if (!caps) return undefined;
  if (caps instanceof Map) return caps.get(index);
  return (caps as Readonly<Record<number, PortCapabilities | undefined>>)[index];
}

/**
 * Place every piece of the policy. `ports` are the data plane's ports
 * (index = DPDK port id); `capsByPort` the probed capabilities per port
 * index (a port without an entry is judged on its profile alone).
 */
export function plan(policy: NativePolicy, ports: readonly PlanPort[], capsByPort?: CapsByPort, options: PlanOptions = {}): PlacementPlan {
  const warnings: string[] = [];
  const byIndex = new Map(ports.map((p) => [p.index, p]));
  const maps = mapsOf(policy);
  const active = translationActive(policy);
  const payload = payloadPunts(policy);
  const portSummaries: PortSummary[] = [];
  const sessionsOut: SessionPlacement[] = [];
  const cpOut: ControlPlanePlacement[] = [];
  const rulesOut: PlannedRule[] = [];
  const marks = new Map<number, MarkEntry>();
  let ruleSeq = 0;
  const nextId = (): string => `r${++ruleSeq}`;

  const rulesBySession = new Map<number, NativeRule[]>();
  for (const r of policy.rules) {
    const l = rulesBySession.get(r.session) ?? [];
    l.push(r);
    rulesBySession.set(r.session, l);
  }
  policy.sessions.forEach((s, i) => {
    for (let bit = 0; bit < 32; bit++) {
      if (((s.sources >>> bit) & 1) && !byIndex.has(bit >> 1)) {
        warnings.push(`session ${s.id} listens to port index ${bit >> 1}, which is not in the port list; ignored`);
      }
    }
    if (!rulesBySession.has(i)) warnings.push(`session ${s.id} has no classifier rule; it accepts nothing`);
  });

  for (const port of [...ports].sort((a, b) => a.index - b.index)) {
    const matched = matchProfile({ driver: port.driver, ...(port.pciId !== undefined ? { pciId: port.pciId } : {}) }, options.profiles);
    const given = capsLookup(capsByPort, port.index);
    const caps = given ?? capabilitiesFromProfile(matched.profile);
    const fam = caps.family;
    const portRef = { index: port.index, name: port.name };
    const notes: string[] = [];
    if (given && given.family !== matched.profile.family) {
      notes.push(`capabilities given for family ${given.family}; the driver matches ${matched.profile.family}: the given capabilities are used`);
    }
    const summary: PortSummary = {
      index: port.index,
      name: port.name,
      role: port.role,
      driver: port.driver,
      ...(port.pciId !== undefined ? { pciId: port.pciId } : {}),
      profile: fam,
      matchedBy: given && given.family !== matched.profile.family ? 'capabilities' : matched.matchedBy,
      matchReason: matched.reason,
      probed: caps.probed,
      disagreements: caps.disagreements.map((d) => d.message),
      placement: 'none',
      rules: 0,
      ruleCapacity: caps.ruleCapacity,
      notes,
    };
    portSummaries.push(summary);

    const sessionsRx: SessionWork[] = [];
    policy.sessions.forEach((s, i) => {
      const rxBit = (s.sources >>> (2 * port.index)) & 1;
      const txBit = (s.sources >>> (2 * port.index + 1)) & 1;
      if (txBit) sessionsOut.push(txPlacement(s, port, policy, byIndex));
      if (!rxBit) return;
      const rules = rulesBySession.get(i) ?? [];
      const exact = exactIntents(rules);
      const overApprox = rules
        .filter((r) => r.action === RULE_ACTION.accept)
        .flatMap((r) => {
          const m = toMatches(r, true);
          return typeof m === 'string' ? [] : m;
        });
      sessionsRx.push({ session: s, index: i, rules, exact, overApprox, sampling: samplingOf(s), candidates: [], notTaken: [], chosen: null });
    });
    if (sessionsRx.length === 0) {
      if (port.role === 'shadow') notes.push('shadow port: it sends copies and takes no rule of its own');
      continue;
    }

    // Static candidates per session, most capable first.
    for (const w of sessionsRx) buildCandidates(w, port, caps, policy, maps, active, byIndex, sessionsRx);
    const puntForced = options.forceSoftware?.get(`${port.name}/punt`);
    for (const w of sessionsRx) {
      const forced = options.forceSoftware?.get(`${port.name}/session-${w.session.id}`) ?? puntForced;
      if (forced !== undefined && w.candidates.length > 0) {
        w.candidates = [];
        w.notTaken.push(`run-time fallback: ${forced}`);
      }
      if (options.allowPaths) {
        const left = w.candidates.filter((c) => !options.allowPaths!.has(c.path));
        for (const path of new Set(left.map((c) => c.path))) w.notTaken.push(`${path}: ${options.pathsReason ?? 'not allowed'}`);
        w.candidates = w.candidates.filter((c) => options.allowPaths!.has(c.path));
      }
    }

    // Dynamic checks (punts, priorities, capacity, masks) until nothing moves.
    const cp = policy.controlPlane & (CONTROL_PLANE.arp | CONTROL_PLANE.dhcp | CONTROL_PLANE.nd);
    // Each move drops one candidate, so this ends.
    let punts: PortPunts = new Map();
    for (;;) {
      for (const w of sessionsRx) w.chosen = w.candidates[0] ?? null;
      if (!settle(sessionsRx, port, caps, cp, (p) => { punts = p; }, payload)) break;
    }

    // Rules: punts first (priority 0 in each domain), then sessions in order.
    const hwSessions = sessionsRx.filter((w) => w.chosen);
    const emitted = emitPortRules(port, caps, policy, sessionsRx, punts, marks, nextId);
    const portRules = emitted.rules;
    const puntRuleIds = emitted.punts;
    for (const w of sessionsRx) {
      const got = emitted.sessions.get(w)!;
      const placed = sessionPlacement(w, port, caps, policy, active, byIndex, got.ids, got.stages);
      const pp = payloadPiece(w, policy, puntRuleIds, punts.get('transfer')?.map((e) => e.punt) ?? []);
      if (pp) placed.pieces.push(pp);
      sessionsOut.push(placed);
    }

    // Control plane on this port.
    if (cp !== 0) {
      const classes = (['arp', 'dhcp', 'nd'] as const).filter((c) => cp & CONTROL_PLANE[c]);
      const names = classes.map(up).join(', ');
      const puntIds = classes.flatMap((c) => puntRuleIds.get(c) ?? []).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
      if (hwSessions.length === 0) {
        cpOut.push({
          port: portRef, classes: [...classes], placement: 'software', rules: [],
          reason: `${names} payloads are rewritten in software; no session is matched in hardware on ${port.name}, so every packet reaches the software classifier without a punt rule`,
        });
      } else if (puntIds.length === 0) {
        cpOut.push({
          port: portRef, classes: [...classes], placement: 'software', rules: [],
          reason: `${names} payloads are rewritten in software; no hardware rule on ${port.name} can match them, so no punt rule is needed`,
        });
      } else {
        cpOut.push({
          port: portRef, classes: [...classes], placement: 'hybrid', rules: puntIds,
          reason: `${names} payloads need rewriting in software: ${puntIds.length} punt rule${puntIds.length === 1 ? '' : 's'} ahead of every session rule MARK them (${classes.map((c) => `${up(c)} ${MARK.punt[c]}`).join(', ')}) for the software path`,
        });
      }
    } else if (hwSessions.length > 0) {
      notes.push('control-plane translation is off: no punt rule');
    }

    const pl = payloadPlacement(portRef, policy, hwSessions.filter((w) => w.chosen!.path === 'hardware').length, puntRuleIds);
    if (pl) cpOut.push(pl);

    checkPortRules(port, caps, portRules);
    rulesOut.push(...portRules);
    summary.rules = portRules.length;
    const placements = sessionsOut.filter((x) => x.port.index === port.index).map((x) => x.placement);
    summary.placement = placements.every((p) => p === 'hardware') ? 'hardware' : placements.every((p) => p === 'software') ? 'software' : 'hybrid';
  }

  // Ports nobody listens to still appear, with their placement 'none'.
  const counts = { hardware: 0, hybrid: 0, software: 0 };
  for (const s of sessionsOut) counts[s.placement]++;
  return {
    version: 1,
    generation: policy.generation,
    ports: portSummaries,
    sessions: sessionsOut,
    controlPlane: cpOut,
    rules: rulesOut,
    marks: [...marks.values()].sort((a, b) => a.mark - b.mark),
    summary: { ...counts, rules: rulesOut.length },
    warnings,
  };
}
