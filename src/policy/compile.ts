/**
 * Config → NativePolicy (native/dataplane/policy/policy.h): the flat, defaulted,
 * expanded policy the data plane compiles into its rte_acl contexts and
 * lookup tables. Here:
 *
 * - sessions are put in evaluation order (priority, then id) and given
 *   counter slots that stay put across updates (src/policy/slots.ts);
 * - each filter rule expands into classifier rules: the product of its
 *   address, port and application-class alternatives, contradictions left
 *   out (a rule with nothing left is an error); IPv4 is carried as
 *   IPv4-mapped IPv6;
 * - signatures are de-duplicated into the policy's signature table;
 * - sampling percentages become 32-bit hash thresholds;
 * - targets, maps, host overrides, MAC maps, control-plane switches and the
 *   shadow security rules are flattened;
 * - every rule is rendered back into a line for explanations, and rules
 *   shadowed by (or overlapping with) earlier rules of the same session get
 *   a warning. Warnings never stop a policy.
 *
 * Without `sessions`, one default session mirrors everything received on
 * production ports to every shadow port: the walking skeleton's behaviour.
 *
 * Split by job: this file orders sessions, assigns slots, flattens targets,
 * maps and security rules, and writes the warnings and explanation;
 * expand.ts expands one filter rule into classifier rules; render.ts puts
 * rules back into words; match.ts holds the match algebra (shared with the
 * placement planner).
 */
import type { Config } from '../config/schema.js';
import { findingPath, safetyFindings } from './map-safety.js';
import { ipv4ToUint32, parsePrefix4, parsePrefix6 } from './prefix.js';
import { type ConfigProblem, PolicyError } from '../errors.js';
import {
  CONTROL_PLANE,
  LEAK_ACTION,
  LEAK_KINDS,
  type LeakKind,
  ENCAP,
  POLICY_LIMITS,
  RULE_ACTION,
  SAMPLE_MODE,
  UNMAPPED_RULE,
  type NativeFwRule,
  type NativeMap4,
  type NativeMap6,
  type NativePolicy,
  type NativeRule,
  type NativeSession,
  type NativeSignature,
  type NativeTarget,
} from '../dataplane/native-types.js';
import { hexOf, listOf, parseAddress, parseCidr, parseMac, parsePortSpec, parseProtocol } from './fields.js';
import { newPolicySlots, ruleKey, sessionKey, type PolicySlots } from './slots.js';
import { classifierCovers, classifierIntersects } from './match.js';
import { ANY_PORT, expandFilter, nativeMatch, problems, type Flat } from './expand.js';
import { renderEncap, renderFilter, renderSecurityRule } from './render.js';

/** The overlap relations, under the names this module has always exported them by. */
export { classifierCovers as covers, classifierIntersects as intersects } from './match.js';
/** Rendering a filter rule in words, exported from here as it always was (render.ts). */
export { renderFilter } from './render.js';

type Session = NonNullable<Config['sessions']>[number];
type Filter = Session['filters'][number];
type Target = Config['targets'][number];

/** The id the default session (no `sessions` section) is known by. */
export const DEFAULT_SESSION_ID = 0;
export const DEFAULT_TARGET_NAME = 'all-shadow-ports';
/** Above this many classifier rules in one session the overlap analysis is skipped (it is quadratic). */
export const OVERLAP_ANALYSIS_MAX = 4096;
/** Warnings listed in full; the rest are counted. */
export const MAX_WARNINGS = 200;

export interface PolicyWarning {
  path: string;
  message: string;
}

export interface RuleSummary {
  id: string;
  /** 0-based position in the session's filters */
  index: number;
  action: 'accept' | 'reject';
  /** the rule rendered back, as an operator would read it */
  line: string;
  /** classifier rules it expanded into */
  classifierRules: number;
  /** their counter slots (policy.h rule_slot) */
  slots: number[];
}

export interface SessionSummary {
  id: number;
  slot: number;
  priority: number;
  description?: string;
  /** "prod-in rx" */
  sources: string[];
  target: string;
  sample: { percent: number; mode: 'all' | 'flow' | 'packet'; threshold: number };
  snaplen: number;
  rate: { pps: number; bps: number };
  rules: RuleSummary[];
  /** true for the session compiled when the config has no `sessions` */
  implicit: boolean;
}

export interface TargetSummary {
  name: string;
  index: number;
  ports: string[];
  /** "vxlan vni 42 192.0.2.10 -> 192.0.2.1 udp/4789 ttl 64" */
  encap: string;
}

export interface PolicyReport {
  generation: number;
  match: 'first' | 'all';
  counts: {
    sessions: number;
    filterRules: number;
    classifierRules: number;
    targets: number;
    signatures: number;
    map4: number;
    map6: number;
    macMaps: number;
    securityRules: number;
  };
  sessions: SessionSummary[];
  targets: TargetSummary[];
  security: { enforce: boolean; default: 'allow' | 'deny'; rules: number; lines: string[] };
  translate: { unmapped: string; controlPlane: string[] };
  warnings: PolicyWarning[];
  /** the whole policy in words, one line per session, target and rule */
  explain: string[];
}

export interface CompiledPolicy {
  native: NativePolicy;
  report: PolicyReport;
  /** the allocator state after this compile: the caller commits it once the data plane took the policy */
  slots: PolicySlots;
  /** slots handed out fresh by this compile (their counters may hold a removed rule's counts) */
  freshSessionSlots: number[];
  freshRuleSlots: number[];
}

export interface CompilePolicyOptions {
  generation?: number;
  /** the current allocator; compile works on a copy. Default: a fresh one. */
  slots?: PolicySlots;
}


// ---- the compiler ----------------------------------------------------------------

function zero16(): Uint8Array {
  return new Uint8Array(16);
}

const DIRS = { rx: [0], tx: [1], both: [0, 1] } as const;

function defaultSession(config: Config): Session {
  return {
    id: DEFAULT_SESSION_ID,
    priority: 0,
    description: 'default session: everything received on production ports, to every shadow port',
    sources: config.ports.filter((p) => p.role === 'production').map((p) => ({ port: p.name, direction: 'rx' as const })),
    filters: [{ id: 'all', action: 'accept' as const }],
    sample: { percent: 100, mode: 'flow' as const },
    snaplen: 0,
    rate: { pps: 0, bps: 0 },
  } as Session;
}

export function sampleThreshold(percent: number): number {
  if (!(percent > 0)) return 0;
  if (percent >= 100) return 0xffffffff;
  return Math.min(0xffffffff, Math.max(0, Math.round((percent / 100) * 2 ** 32)));
}

/**
 * Compile the policy keys of a validated config. Throws PolicyError with
 * every problem found (contradictory rules, limits); warnings go into the
 * plan.
 */
export function compilePolicy(config: Config, options: CompilePolicyOptions = {}): CompiledPolicy {
  const generation = options.generation ?? 1;
  const slots = options.slots
    ? { sessions: options.slots.sessions.clone(), rules: options.slots.rules.clone() }
    : newPolicySlots(POLICY_LIMITS.sessions, POLICY_LIMITS.rules);
  const found = problems();
  const warnings: PolicyWarning[] = [];
  const portIndex = new Map(config.ports.map((p, i) => [p.name, i]));
  const shadowPorts = config.ports.flatMap((p, i) => (p.role === 'shadow' ? [i] : []));
  const implicit = config.sessions === undefined;
  const sessionsIn: { s: Session; path: string }[] = implicit
    ? [{ s: defaultSession(config), path: 'sessions' }]
    : config.sessions!.flatMap((s, i) => ((s as Session).enabled === false ? [] : [{ s: s as Session, path: `sessions[${i}]` }]));
  // A disabled session keeps its place in the policy but is not compiled: it mirrors nothing.
  const disabled = implicit ? [] : config.sessions!.filter((s) => (s as Session).enabled === false).map((s) => (s as Session).id);

  // ---- targets
  const srcMac = parseMac(config.shadow.mac.src);
  const dstMac = parseMac(config.shadow.mac.dst);
  const targets: NativeTarget[] = [];
  const targetSummaries: TargetSummary[] = [];
  const targetIndex = new Map<string, number>();
  const addTarget = (t: Target, path: string): void => {
    const ports = t.ports ? t.ports.map((n) => portIndex.get(n) ?? -1) : shadowPorts;
    const nt: NativeTarget = {
      ports: [...ports],
      encap: ENCAP.none,
      vlanId: 0,
      vlanPcp: 0,
      vni: 0,
      udpDstPort: 0,
      outerIpv6: false,
      outerSrc: zero16(),
      outerDst: zero16(),
      outerSrcMac: new Uint8Array(6),
      outerDstMac: new Uint8Array(6),
      outerTtl: 0,
    };
    const e = t.encap;
    if (e !== 'none' && 'vlan' in e) {
      nt.encap = ENCAP.vlan;
      nt.vlanId = e.vlan.id;
      nt.vlanPcp = e.vlan.pcp;
    } else if (e !== 'none') {
      const [kind, tun] = 'vxlan' in e ? (['vxlan', e.vxlan] as const) : (['geneve', e.geneve] as const);
      nt.encap = ENCAP[kind];
      nt.vni = tun.vni;
      nt.udpDstPort = tun.outer.udp_port ?? (kind === 'vxlan' ? 4789 : 6081);
      const s = parseAddress(tun.outer.src);
      const d = parseAddress(tun.outer.dst);
      if (!s.ok || !d.ok || s.value.family !== d.value.family) {
        found.add(`${path}.encap.${kind}.outer`, 'outer src and dst must be addresses of the same family');
      } else {
        nt.outerIpv6 = s.value.family === 6;
        nt.outerSrc.set(s.value.bytes);
        nt.outerDst.set(d.value.bytes);
      }
      nt.outerSrcMac = tun.outer.src_mac ? parseMac(tun.outer.src_mac) : new Uint8Array(srcMac);
      nt.outerDstMac = tun.outer.dst_mac ? parseMac(tun.outer.dst_mac) : new Uint8Array(dstMac);
      nt.outerTtl = tun.outer.ttl;
    }
    if (nt.ports.length === 0 || nt.ports.some((p) => p < 0)) found.add(`${path}.ports`, 'no shadow port to send to; expected at least one port with role: shadow');
    targetIndex.set(t.name, targets.length);
    targetSummaries.push({ name: t.name, index: targets.length, ports: nt.ports.map((i) => config.ports[i]?.name ?? `#${i}`), encap: renderEncap(t.encap) });
    targets.push(nt);
  };
  config.targets.forEach((t, i) => addTarget(t as Target, `targets[${i}]`));
  if (sessionsIn.some(({ s }) => s.target === undefined)) {
    if (targets.length >= POLICY_LIMITS.targets) {
      found.add('targets', `${targets.length} targets plus the implicit one (sessions without a target) exceed ${POLICY_LIMITS.targets}; give every session a target`);
    } else {
      addTarget({ name: DEFAULT_TARGET_NAME, encap: 'none' } as Target, 'targets');
    }
  }

  // ---- sessions, in evaluation order
  const ordered = [...sessionsIn].sort((a, b) => a.s.priority - b.s.priority || a.s.id - b.s.id);
  const signatures: NativeSignature[] = [];
  const sigIndex = new Map<string, number>();
  const nativeSessions: NativeSession[] = [];
  const sessionSummaries: SessionSummary[] = [];
  /** flats per session, with their rule keys, before slots */
  const pending: { session: number; filter: number; key: string; action: number; flat: Flat }[] = [];
  const explain: string[] = [];
  let filterRules = 0;

  const sessionAssign = slots.sessions.assign(ordered.map(({ s }) => sessionKey(s.id)));

  ordered.forEach(({ s, path }, sessionIdx) => {
    const sources = s.sources ?? config.ports.filter((p) => p.role === 'production').map((p) => ({ port: p.name, direction: 'rx' as const }));
    let bits = 0;
    for (const src of sources) {
      const pi = portIndex.get(src.port);
      if (pi === undefined) continue;
      for (const dir of DIRS[src.direction]) bits |= 1 << (2 * pi + dir);
    }
    bits >>>= 0;
    const tIndex = targetIndex.get(s.target ?? DEFAULT_TARGET_NAME) ?? 0;
    const percent = s.sample.percent;
    const mode = percent >= 100 ? 'all' : s.sample.mode;
    const slot = sessionAssign.slots.get(sessionKey(s.id))!;
    nativeSessions.push({
      id: s.id,
      slot,
      target: tIndex,
      sources: bits,
      sampleMode: SAMPLE_MODE[mode],
      sampleThreshold: mode === 'all' ? 0xffffffff : sampleThreshold(percent),
      snaplen: s.snaplen,
      ratePps: s.rate.pps,
      rateBps: s.rate.bps,
    });

    // A session with no filters mirrors everything (policy.h: one accept-all rule).
    const filters: Filter[] = s.filters.length > 0 ? (s.filters as Filter[]) : [{ id: 'all', action: 'accept' } as Filter];
    const rules: RuleSummary[] = [];
    filters.forEach((f, fi) => {
      filterRules++;
      const fpath = s.filters.length > 0 ? `${path}.filters[${fi}]` : path;
      const rid = f.id ?? String(fi + 1);
      const flats = expandFilter(f, fpath, found, (sig) => {
        const key = `${sig.base}/${sig.offset}/${hexOf(sig.value)}/${hexOf(sig.mask)}`;
        let idx = sigIndex.get(key);
        if (idx === undefined) {
          if (signatures.length >= POLICY_LIMITS.signatures) {
            found.add(`${fpath}.signature`, `more than ${POLICY_LIMITS.signatures} distinct signatures in the policy; expected at most ${POLICY_LIMITS.signatures} (identical signatures are shared)`);
            return -1;
          }
          idx = signatures.length;
          signatures.push(sig);
          sigIndex.set(key, idx);
        }
        return idx;
      });
      flats.forEach((flat, xi) =>
        pending.push({ session: sessionIdx, filter: fi, key: ruleKey(s.id, rid, xi), action: RULE_ACTION[f.action], flat }),
      );
      rules.push({ id: rid, index: fi, action: f.action, line: renderFilter(f), classifierRules: flats.length, slots: [] });
    });
    sessionSummaries.push({
      id: s.id,
      slot,
      priority: s.priority,
      ...(s.description !== undefined ? { description: s.description } : {}),
      sources: sources.map((x) => `${x.port} ${x.direction}`),
      target: targetSummaries[tIndex]?.name ?? DEFAULT_TARGET_NAME,
      sample: { percent, mode, threshold: nativeSessions[nativeSessions.length - 1]!.sampleThreshold },
      snaplen: s.snaplen,
      rate: { pps: s.rate.pps, bps: s.rate.bps },
      rules,
      implicit,
    });
  });

  if (pending.length > POLICY_LIMITS.rules) {
    found.add('sessions', `the filters expand into ${pending.length} classifier rules; at most ${POLICY_LIMITS.rules} (lists of addresses, ports and apps multiply)`);
  }
  if (found.list.length > 0) throw new PolicyError(found.list);

  const ruleAssign = slots.rules.assign(pending.map((p) => p.key));
  const rules: NativeRule[] = pending.map((p) => {
    const f = p.flat;
    const slot = ruleAssign.slots.get(p.key)!;
    sessionSummaries[p.session]!.rules[p.filter]!.slots.push(slot);
    return { session: p.session, ruleSlot: slot, action: p.action, ...nativeMatch(f) };
  });

  // ---- warnings: shadowed and overlapping rules, per session
  ordered.forEach(({ s, path }, sessionIdx) => {
    const mine = pending.filter((p) => p.session === sessionIdx);
    if (mine.length > OVERLAP_ANALYSIS_MAX) {
      warnings.push({ path, message: `session ${s.id}: ${mine.length} classifier rules; overlap analysis skipped above ${OVERLAP_ANALYSIS_MAX}` });
      return;
    }
    const summary = sessionSummaries[sessionIdx]!;
    const byFilter = new Map<number, typeof mine>();
    for (const p of mine) {
      const list = byFilter.get(p.filter) ?? [];
      list.push(p);
      byFilter.set(p.filter, list);
    }
    const earlier: typeof mine = [];
    const shadowed = new Set<number>();
    for (const [fi, list] of [...byFilter].sort((a, b) => a[0] - b[0])) {
      const rule = summary.rules[fi]!;
      const fpath = `${path}.filters[${fi}]`;
      const coveredBy = new Set<number>();
      const allCovered = list.every((r) => {
        const by = earlier.find((e) => classifierCovers(e.flat, r.flat));
        if (by) coveredBy.add(by.filter);
        return by !== undefined;
      });
      if (allCovered && earlier.length > 0) {
        shadowed.add(fi);
        const names = [...coveredBy].sort((a, b) => a - b).map((i) => `${summary.rules[i]!.id} (${summary.rules[i]!.line})`);
        const sameAction = [...coveredBy].every((i) => summary.rules[i]!.action === rule.action);
        warnings.push({
          path: fpath,
          message: `rule ${rule.id} (${rule.line}) is shadowed by earlier rule${names.length > 1 ? 's' : ''} ${names.join(', ')}: it never decides anything${sameAction ? ' (redundant)' : '; the earlier rule\'s action wins'}`,
        });
      } else {
        const overlaps = new Set<number>();
        for (const r of list) {
          for (const e of earlier) {
            // A shadowed rule decides nothing, so overlapping it means nothing.
            if (overlaps.has(e.filter) || shadowed.has(e.filter)) continue;
            if (e.action !== r.action && classifierIntersects(e.flat, r.flat)) overlaps.add(e.filter);
          }
        }
        for (const oi of [...overlaps].sort((a, b) => a - b)) {
          const o = summary.rules[oi]!;
          warnings.push({
            path: fpath,
            message: `rule ${rule.id} (${rule.line}) overlaps earlier rule ${o.id} (${o.line}); where both match, rule ${o.id} decides (${o.action})`,
          });
        }
      }
      earlier.push(...list);
    }
  });

  // ---- translation
  const map4: NativeMap4[] = [];
  const map6: NativeMap6[] = [];
  for (const m of config.translate.ipv4) {
    const from = parsePrefix4(m.from);
    const to = parsePrefix4(m.to);
    if (typeof from === 'object' && typeof to === 'object') map4.push({ from: from.addr, to: to.addr, len: from.len });
  }
  for (const m of config.translate.ipv6) {
    const from = parsePrefix6(m.from);
    const to = parsePrefix6(m.to);
    if (typeof from === 'object' && typeof to === 'object') map6.push({ from: new Uint8Array(from.addr), to: new Uint8Array(to.addr), len: from.len });
  }
  for (const h of config.translate.hosts) {
    const from = parseAddress(h.from);
    const to = parseAddress(h.to);
    if (!from.ok || !to.ok) continue;
    if (from.value.family === 4) {
      const u = (b: Uint8Array) => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      map4.push({ from: u(from.value.bytes), to: u(to.value.bytes), len: 32 });
    } else {
      map6.push({ from: new Uint8Array(from.value.bytes), to: new Uint8Array(to.value.bytes), len: 128 });
    }
  }
  const cp = config.translate.control_plane;
  const controlPlane = (cp.arp ? CONTROL_PLANE.arp : 0) | (cp.dhcp ? CONTROL_PLANE.dhcp : 0) | (cp.nd ? CONTROL_PLANE.nd : 0);
  const routerIds: { from: number; to: number }[] = [];
  const ridSeen = new Map<number, number>();
  config.translate.router_ids.forEach((r, i) => {
    const from = ipv4ToUint32(r.from);
    const to = ipv4ToUint32(r.to);
    if (from === null || to === null) return;
    const prev = ridSeen.get(from);
    if (prev !== undefined) found.add(`translate.router_ids[${i}].from`, `router id ${r.from} is already mapped by translate.router_ids[${prev}]`);
    ridSeen.set(from, i);
    routerIds.push({ from, to });
  });

  // ---- shadow security rules
  const fwRules: NativeFwRule[] = [];
  const sec = config.security;
  sec.rules.forEach((r, i) => {
    const path = `security.rules[${i}]`;
    const proto = r.protocol === undefined ? null : parseProtocol(r.protocol);
    const p = proto && proto.ok ? proto.value : null;
    const srcs = listOf(r.src).map((t) => parseCidr(t));
    const dsts = listOf(r.dst).map((t) => parseCidr(t));
    const sports = listOf(r.src_ports).map((x) => parsePortSpec(x));
    const dports = listOf(r.dst_ports).map((x) => parsePortSpec(x));
    let made = 0;
    for (const s of srcs.length ? srcs : [null]) {
      for (const d of dsts.length ? dsts : [null]) {
        const sc = s && s.ok ? s.value : null;
        const dc = d && d.ok ? d.value : null;
        const fam = sc?.family ?? dc?.family ?? r.ip_version ?? 0;
        if ((sc && sc.family !== fam) || (dc && dc.family !== fam) || (r.ip_version !== undefined && r.ip_version !== fam)) continue;
        // As for filters: the version is the declared one; prefixes carry the family.
        for (const sp of sports.length ? sports : [null]) {
          for (const dp of dports.length ? dports : [null]) {
            const spr = sp && sp.ok ? sp.value : ANY_PORT;
            const dpr = dp && dp.ok ? dp.value : ANY_PORT;
            fwRules.push({
              action: r.action === 'allow' ? RULE_ACTION.accept : RULE_ACTION.reject,
              ipVersion: r.ip_version ?? 0,
              proto: p ?? 0,
              protoMask: p === null ? 0 : 0xff,
              src: sc ? new Uint8Array(sc.addr) : zero16(),
              srcLen: sc ? sc.len : 0,
              dst: dc ? new Uint8Array(dc.addr) : zero16(),
              dstLen: dc ? dc.len : 0,
              sportLo: spr[0],
              sportHi: spr[1],
              dportLo: dpr[0],
              dportHi: dpr[1],
            });
            made++;
          }
        }
      }
    }
    if (made === 0) found.add(path, 'this rule can never match (its source and destination are of different IP families)');
  });
  if (fwRules.length > POLICY_LIMITS.fwRules) {
    found.add('security.rules', `the security rules expand into ${fwRules.length} rules; at most ${POLICY_LIMITS.fwRules}`);
  }
  if (found.list.length > 0) throw new PolicyError(found.list);

  const native: NativePolicy = {
    generation,
    matchAll: config.match === 'all',
    sessions: nativeSessions,
    rules,
    targets,
    signatures,
    map4,
    map6,
    macMaps: config.translate.macs.map((m) => ({ from: parseMac(m.from), to: parseMac(m.to) })),
    defaultSrcMac: new Uint8Array(srcMac),
    defaultDstMac: new Uint8Array(dstMac),
    unmapped: UNMAPPED_RULE[config.translate.unmapped],
    controlPlane,
    routerIds,
    leak: Object.fromEntries(LEAK_KINDS.map((k) => [k, LEAK_ACTION[config.translate.leak[k]]])) as Record<LeakKind, number>,
    fwEnabled: sec.enforce,
    fwDefault: sec.default === 'allow' ? RULE_ACTION.accept : RULE_ACTION.reject,
    fwRules,
  };

  // ---- explanation
  explain.push(
    implicit
      ? 'no sessions configured: the default session mirrors everything received on production ports to every shadow port'
      : `${nativeSessions.length} session${nativeSessions.length === 1 ? '' : 's'}, evaluated by priority then id; ${config.match === 'all' ? 'every accepting session mirrors a packet (match: all)' : 'per target, the first accepting session takes a packet (match: first)'}`,
  );
  for (const t of targetSummaries) explain.push(`target ${t.name}: ${t.ports.join(', ')}, ${t.encap}`);
  for (const s of sessionSummaries) {
    const sample = s.sample.mode === 'all' ? 'all packets' : `${s.sample.percent}% per ${s.sample.mode}`;
    const extras = [sample, s.snaplen ? `snaplen ${s.snaplen}` : 'whole frames', s.rate.pps ? `at most ${s.rate.pps} pps` : '', s.rate.bps ? `at most ${s.rate.bps} bit/s` : ''].filter(Boolean);
    explain.push(`session ${s.id} (priority ${s.priority}${s.description ? `, ${s.description}` : ''}): from ${s.sources.join(', ') || 'nothing'} to target ${s.target}; ${extras.join(', ')}`);
    for (const r of s.rules) explain.push(`  rule ${r.id}: ${r.line}${r.classifierRules > 1 ? ` [${r.classifierRules} classifier rules]` : ''}`);
    explain.push('  otherwise: not mirrored by this session');
  }
  const unmappedText = { drop: 'dropped (counted)', mirror: 'mirrored with only covered addresses translated', count: 'counted, not sent' }[config.translate.unmapped];
  if (disabled.length > 0) explain.push(`disabled (kept in the policy, not compiled): session${disabled.length === 1 ? '' : 's'} ${disabled.join(', ')}`);
  explain.push(`translation: ${map4.length} IPv4 and ${map6.length} IPv6 maps (${config.translate.hosts.length} host overrides), ${native.macMaps.length} MAC maps; copies with an unmapped address are ${unmappedText}`);
  // Unsafe maps the operator accepted with allow: stated in the plan, never silent.
  for (const f of safetyFindings(config.translate as unknown as Record<string, unknown>)) {
    if (!f.allowed) continue;
    const path = findingPath(f);
    warnings.push({ path, message: `${f.kind} map accepted by allow: [${f.kind}]: ${f.message.replace(/ \(or allow: \[\w+\] on the map to accept it\)$/, '').replace(/; expected [^;]*$/, '')}` });
    explain.push(`  ${path}: ${f.kind} map accepted (allow: [${f.kind}])`);
  }
  const cpOn = (['arp', 'dhcp', 'nd'] as const).filter((k) => cp[k]);
  explain.push(`control-plane payload translation: ${cpOn.length ? cpOn.join(', ') : 'off'}`);
  const secLines = sec.rules.map((r, i) => `  security rule ${r.id ?? i + 1}: ${renderSecurityRule(r)}`);
  explain.push(sec.enforce ? `shadow security rules enforced (${sec.rules.length}, default ${sec.default})` : `shadow security rules not enforced (${sec.rules.length} defined)`);
  if (sec.enforce) explain.push(...secLines);

  const shown = warnings.slice(0, MAX_WARNINGS);
  if (warnings.length > MAX_WARNINGS) shown.push({ path: '', message: `and ${warnings.length - MAX_WARNINGS} more warnings` });

  const plan: PolicyReport = {
    generation,
    match: config.match,
    counts: {
      sessions: nativeSessions.length,
      filterRules,
      classifierRules: rules.length,
      targets: targets.length,
      signatures: signatures.length,
      map4: map4.length,
      map6: map6.length,
      macMaps: native.macMaps.length,
      securityRules: fwRules.length,
    },
    sessions: sessionSummaries,
    targets: targetSummaries,
    security: { enforce: sec.enforce, default: sec.default, rules: sec.rules.length, lines: secLines.map((l) => l.trim()) },
    translate: { unmapped: config.translate.unmapped, controlPlane: cpOn },
    warnings: shown,
    explain,
  };
  return { native, report: plan, slots, freshSessionSlots: sessionAssign.fresh, freshRuleSlots: ruleAssign.fresh };
}


/** Which filter rule a classifier rule slot belongs to, for counters. */
export interface RuleSlotOwner {
  sessionId: number;
  ruleId: string;
}

export function ruleSlotOwners(report: PolicyReport): Map<number, RuleSlotOwner> {
  const out = new Map<number, RuleSlotOwner>();
  for (const s of report.sessions) for (const r of s.rules) for (const slot of r.slots) out.set(slot, { sessionId: s.id, ruleId: r.id });
  return out;
}
