/**
 * What a port can really do with rte_flow: the profile's facts, corrected by
 * rte_flow_validate on canonical rules (the probe). The probe wins where it
 * disagrees, and every disagreement is kept, in words, for the plan.
 *
 * - `probeDefinitions(port, opts)`: the canonical rules per domain (mirror
 *   and sample at a ratio, set IPv4/IPv6 src/dst, set MAC, VLAN push, VXLAN
 *   encap, count, drop, queue, mark, rss, passthru, jump, port_id). The native
 *   side validates each and answers a ProbeResult per name.
 * - `capabilitiesFromProfile(profile)`: the planner's view of a profile.
 * - `reconcile(profile, results)`: that view with the probe applied.
 *
 * Rules are probed in the shape the planner emits them (same fate, same
 * action order), so "validate accepted the probe" means "the planner's rule of
 * that kind can be created", not merely "the action exists".
 */
import type { Profile } from './profile-schema.js';
import { attrFor, FLOW_DOMAINS, type FlowAction, type FlowDomain, type FlowItem, type FlowRule } from './flow.js';

// ---- planning conventions per family ------------------------------------------------

/**
 * Facts the planner needs that the profiles do not carry yet (they belong in
 * hw-profiles/src/<family>.yaml as `limits.priorities` and `flow.markFate`):
 * how many rule priorities a domain offers, and which terminating fate ends a
 * "mark and let the packet go on to the software path" rule.
 *
 * The fate must terminate: PASSTHRU hands the packet to the next matching
 * rule (rte_flow's definition), which could replace the MARK (a session rule
 * below a punt rule would re-mark a punted ARP). The planner uses PASSTHRU
 * (default RSS, the best spread) only for a rule no other rule on the port
 * can match.
 */
export interface FamilyConventions {
  /** rule priority levels usable in group 0, per domain (1 = no ordering at all) */
  priorityLevels: Record<FlowDomain, number>;
  /** terminating fate of a MARK rule: rss (the port's queues) or queue 0 */
  markFate: 'rss' | 'queue';
  /** the PMD's parser wants the fate before MARK (Flow Director parsers) */
  fateFirst: boolean;
  source: string;
}

const DEFAULT_CONVENTIONS: FamilyConventions = {
  priorityLevels: { ingress: 1, egress: 1, transfer: 1 },
  markFate: 'rss',
  fateFirst: false,
  source: 'shadowtap default: no ordering assumed where none is documented',
};

export const FAMILY_CONVENTIONS: Readonly<Record<string, FamilyConventions>> = {
  mlx5: {
    // The root table (group 0) of NIC Rx/Tx shares the few Verbs priorities with
    // the PMD's own control flows; transfer groups get 21844 priorities.
    priorityLevels: { ingress: 3, egress: 3, transfer: 21844 },
    markFate: 'rss',
    fateFirst: false,
    source: 'doc/guides/nics/mlx5.rst (Features: 21844 flow priorities for groups > 0 and any transfer group; root table priorities discovered at start, 3 assumed)',
  },
  ice: {
    priorityLevels: { ingress: 2, egress: 1, transfer: 1 },
    markFate: 'rss',
    fateFirst: false,
    source: 'drivers/net/ice/ice_generic_flow.c ice_flow_valid_attr() ("Only support priority 0 and 1"); ice_fdir_filter.c (RSS as a queue region)',
  },
  i40e: {
    priorityLevels: { ingress: 1, egress: 1, transfer: 1 },
    markFate: 'queue',
    fateFirst: true,
    source: 'drivers/net/i40e/i40e_flow.c i40e_flow_parse_attr() (group 0, priority 0 only); i40e_flow_parse_fdir_action() (QUEUE/DROP/PASSTHRU first, then MARK/FLAG)',
  },
  ixgbe: {
    priorityLevels: { ingress: 1, egress: 1, transfer: 1 },
    markFate: 'queue',
    fateFirst: true,
    source: 'drivers/net/ixgbe/ixgbe_flow.c (Flow Director: no priority; the first action is QUEUE or DROP, then MARK)',
  },
};

export function conventionsFor(family: string): FamilyConventions {
  return FAMILY_CONVENTIONS[family] ?? DEFAULT_CONVENTIONS;
}

// ---- capabilities -------------------------------------------------------------------

export interface SampleCapabilities {
  /** ratio 1 accepted in this domain */
  mirror: boolean;
  /** ratio > 1 accepted in this domain */
  ratio: boolean;
  /** actions the copy may carry at ratio 1; null = undocumented (nothing is relied on) */
  copyActions: string[] | null;
  /** actions the copy may carry at ratio > 1 */
  copyActionsRatio: string[] | null;
}

export interface DomainCapabilities {
  supported: boolean;
  /** actions usable in this domain, sorted */
  actions: string[];
  sample: SampleCapabilities;
  priorityLevels: number;
}

export interface Disagreement {
  probe: string;
  domain: FlowDomain;
  /** the capability the probe decided, e.g. "sample (ratio 1)", "set_ipv4_dst" */
  capability: string;
  profileSays: boolean;
  probeSays: boolean;
  /** one operator sentence */
  message: string;
}

export interface PortCapabilities {
  family: string;
  title: string;
  kind: Profile['kind'];
  /** the driver has rte_flow ops at all */
  flowApi: boolean;
  /** pattern items, sorted */
  items: string[];
  domains: Record<FlowDomain, DomainCapabilities>;
  /** null: no fixed figure */
  ruleCapacity: number | null;
  mirrorWithModify: Profile['limits']['mirrorWithModify']['semantics'];
  quirks: string[];
  conventions: FamilyConventions;
  /** how many probe results were applied (0: profile facts only) */
  probed: number;
  disagreements: Disagreement[];
  /** probe names that were not applied (unknown, duplicate) */
  ignoredProbes: string[];
}

const SAMPLE_QUIRK_SHARED_ONLY = 'sample-shared-only';

export function capabilitiesFromProfile(profile: Profile): PortCapabilities {
  const api = profile.flow.api === 'rte_flow';
  const all = Object.keys(profile.capabilities.actions).sort();
  const conv = conventionsFor(profile.family);
  const s = profile.limits.sample;
  // A SAMPLE that must be an indirect action (bnxt) cannot be written in the
  // rule shapes the planner emits, so it counts as absent.
  const sampleUsable = s.supported && !profile.quirks.some((q) => q.id === SAMPLE_QUIRK_SHARED_ONLY);
  const domains = {} as Record<FlowDomain, DomainCapabilities>;
  for (const d of FLOW_DOMAINS) {
    const dom = profile.domains[d];
    const supported = api && dom.supported;
    const inDomain = sampleUsable && supported && s.domains.includes(d);
    const sub = s.subActions;
    domains[d] = {
      supported,
      actions: supported ? [...(dom.actions ?? all)].sort() : [],
      sample: {
        mirror: inDomain && s.mirror,
        ratio: inDomain && s.fractionalRatio,
        copyActions: sub ? [...((d === 'transfer' ? sub.transfer : d === 'egress' ? sub.egress : sub.ingress) ?? [])] : null,
        copyActionsRatio: sub ? [...((d === 'transfer' ? sub.transferRatioAbove1 : d === 'egress' ? sub.egress : sub.ingress) ?? [])] : null,
      },
      priorityLevels: conv.priorityLevels[d],
    };
    if (!domains[d].actions.includes('sample')) {
      domains[d].sample.mirror = false;
      domains[d].sample.ratio = false;
    }
  }
  return {
    family: profile.family,
    title: profile.title,
    kind: profile.kind,
    flowApi: api,
    items: api ? Object.keys(profile.capabilities.items).sort() : [],
    domains,
    ruleCapacity: profile.limits.ruleCapacity.rules,
    mirrorWithModify: profile.limits.mirrorWithModify.semantics,
    quirks: profile.quirks.map((q) => q.id),
    conventions: conv,
    probed: 0,
    disagreements: [],
    ignoredProbes: [],
  };
}

// ---- probe definitions --------------------------------------------------------------

export type ProbeCheck =
  | { kind: 'action'; action: string }
  | { kind: 'sample'; mode: 'mirror' | 'ratio' };

export interface ProbeDefinition {
  /** `<domain>/<what>`, e.g. ingress/mark, transfer/sample-mirror */
  name: string;
  domain: FlowDomain;
  check: ProbeCheck;
  /** what it tells, for the plan */
  what: string;
  rule: FlowRule;
}

export interface ProbeOptions {
  /** DPDK port id a transfer probe sends to (a shadow port); default: the port itself */
  peerPort?: number;
  /** ratio for the sample-at-a-ratio probe (default 2) */
  ratio?: number;
  /** family whose conventions shape the rules (fate, order); default generic */
  family?: string;
  domains?: readonly FlowDomain[];
}

/** A documentation address (RFC 5737 / RFC 3849) and a locally administered MAC: never real hosts. */
const PROBE_IPV4 = '192.0.2.1';
const PROBE_IPV6 = '2001:db8::1';
const PROBE_MAC = '02:00:00:00:00:01';

function vxlanDefinition(): FlowItem[] {
  return [
    { type: 'eth', spec: { src: PROBE_MAC, dst: '02:00:00:00:00:02' } },
    { type: 'ipv4', spec: { src: '192.0.2.10', dst: '192.0.2.20' } },
    { type: 'udp', spec: { src: 0, dst: 4789 } },
    { type: 'vxlan', spec: { vni: 1 } },
  ];
}

/**
 * The fate that ends a rule of this domain on this port, as the planner
 * writes it: ingress, the family's terminating fate (or PASSTHRU when asked,
 * for a rule nothing else can match); transfer, back to the port's own
 * receive path; egress, none (the packet goes on to the wire).
 */
export function fateFor(domain: FlowDomain, port: number, conv: FamilyConventions, passthru = false): FlowAction[] {
  if (domain === 'egress') return [];
  if (domain === 'transfer') return [{ type: 'port_id', id: port }];
  if (passthru) return [{ type: 'passthru' }];
  if (conv.markFate === 'queue') return [{ type: 'queue', index: 0 }];
  return [{ type: 'rss' }];
}

/** Actions with the fate appended (or put first, for Flow Director parsers). */
export function withFate(actions: FlowAction[], domain: FlowDomain, port: number, conv: FamilyConventions, passthru = false): FlowAction[] {
  const fate = fateFor(domain, port, conv, passthru);
  return conv.fateFirst ? [...fate, ...actions] : [...actions, ...fate];
}

/** The canonical probe rules for one port. */
export function probeDefinitions(port: number, opts: ProbeOptions = {}): ProbeDefinition[] {
  const conv = conventionsFor(opts.family ?? '');
  const peer = opts.peerPort ?? port;
  const ratio = opts.ratio ?? 2;
  const out: ProbeDefinition[] = [];
  for (const domain of opts.domains ?? FLOW_DOMAINS) {
    const head: FlowItem[] = domain === 'transfer' ? [{ type: 'represented_port', spec: { ethdev_port_id: port } }] : [];
    const eth: FlowItem[] = [...head, { type: 'eth' }];
    const ip4: FlowItem[] = [...eth, { type: 'ipv4' }];
    const ip6: FlowItem[] = [...eth, { type: 'ipv6' }];
    const rule = (pattern: FlowItem[], actions: FlowAction[]): FlowRule => ({ port, attr: attrFor(domain), pattern, actions });
    const add = (name: string, check: ProbeCheck, what: string, pattern: FlowItem[], actions: FlowAction[]): void => {
      out.push({ name: `${domain}/${name}`, domain, check, what, rule: rule(pattern, actions) });
    };
    const act = (a: string): ProbeCheck => ({ kind: 'action', action: a });
    const fate = (actions: FlowAction[]) => withFate(actions, domain, port, conv);

    add('count', act('count'), 'hardware counters on a rule', eth, fate([{ type: 'count' }]));
    add('drop', act('drop'), 'drop in hardware', eth, [{ type: 'drop' }]);
    if (domain === 'ingress') {
      add('queue', act('queue'), 'steer to a receive queue', eth, [{ type: 'queue', index: 0 }]);
      add('rss', act('rss'), "spread over the port's queues", eth, [{ type: 'rss' }]);
      add('passthru', act('passthru'), 'mark and let default RSS decide', eth, withFate([{ type: 'mark', id: 1 }], domain, port, conv, true));
    }
    add('mark', act('mark'), 'MARK a packet for the software path', eth, fate([{ type: 'mark', id: 1 }]));
    if (domain !== 'egress') add('jump', act('jump'), 'continue in another group (two-stage rules)', eth, [{ type: 'jump', group: 1 }]);
    if (domain === 'transfer') add('port_id', act('port_id'), 'send to another port of the switch', eth, [{ type: 'port_id', id: peer }]);

    for (const a of ['set_ipv4_src', 'set_ipv4_dst'] as const) add(a, act(a), 'rewrite an IPv4 address', ip4, fate([{ type: a, ipv4_addr: PROBE_IPV4 }]));
    for (const a of ['set_ipv6_src', 'set_ipv6_dst'] as const) add(a, act(a), 'rewrite an IPv6 address', ip6, fate([{ type: a, ipv6_addr: PROBE_IPV6 }]));
    for (const a of ['set_mac_src', 'set_mac_dst'] as const) add(a, act(a), 'rewrite a MAC address', eth, fate([{ type: a, mac_addr: PROBE_MAC }]));
    add('of_push_vlan', act('of_push_vlan'), 'push a VLAN tag', eth, fate([
      { type: 'of_push_vlan', ethertype: 0x8100 },
      { type: 'of_set_vlan_vid', vlan_vid: 100 },
      { type: 'of_set_vlan_pcp', vlan_pcp: 0 },
    ]));
    add('vxlan_encap', act('vxlan_encap'), 'VXLAN encapsulation', eth, fate([{ type: 'vxlan_encap', definition: vxlanDefinition() }]));

    // SAMPLE as the planner uses it: in NIC Rx the copy is marked and spread
    // over the queues; in the E-Switch a mirror sends the copy to a port and
    // a ratio > 1 carries nothing on the copy.
    const copy: FlowAction[] =
      domain === 'transfer' ? [{ type: 'port_id', id: peer }] : domain === 'ingress' ? [{ type: 'mark', id: 2 }, { type: 'rss' }] : [];
    add('sample-mirror', { kind: 'sample', mode: 'mirror' }, 'mirror every packet (SAMPLE ratio 1)', eth,
      fate([{ type: 'sample', ratio: 1, actions: copy }]));
    add('sample-ratio', { kind: 'sample', mode: 'ratio' }, `sample 1 packet in ${ratio} (SAMPLE ratio ${ratio})`, eth,
      fate([{ type: 'sample', ratio, actions: domain === 'transfer' ? [] : copy }]));
  }
  return out;
}

// ---- probe results ------------------------------------------------------------------

/** What native code reports for one probe rule (rte_flow_validate). */
export interface ProbeResult {
  probe: string;
  ok: boolean;
  /** rte_errno, positive or negative */
  errno?: number;
  /** rte_flow_error.message; may be missing or garbage (net_tap leaves it unset) */
  message?: string;
  /** rte_flow_error.type, as the enum's number or name */
  errorType?: number | string;
}

const ERRNO: Readonly<Record<number, [string, string]>> = {
  1: ['EPERM', 'Operation not permitted'],
  2: ['ENOENT', 'No such file or directory'],
  5: ['EIO', 'Input/output error'],
  7: ['E2BIG', 'Argument list too long'],
  11: ['EAGAIN', 'Resource temporarily unavailable'],
  12: ['ENOMEM', 'Cannot allocate memory'],
  13: ['EACCES', 'Permission denied'],
  16: ['EBUSY', 'Device or resource busy'],
  17: ['EEXIST', 'File exists'],
  19: ['ENODEV', 'No such device'],
  22: ['EINVAL', 'Invalid argument'],
  28: ['ENOSPC', 'No space left on device'],
  34: ['ERANGE', 'Numerical result out of range'],
  38: ['ENOSYS', 'Function not implemented'],
  95: ['ENOTSUP', 'Operation not supported'],
};

/** enum rte_flow_error_type of DPDK 22.11 (rte_flow.h), in order. */
export const FLOW_ERROR_TYPES = [
  'NONE', 'UNSPECIFIED', 'HANDLE', 'ATTR_GROUP', 'ATTR_PRIORITY', 'ATTR_INGRESS', 'ATTR_EGRESS', 'ATTR_TRANSFER',
  'ATTR', 'ITEM_NUM', 'ITEM_SPEC', 'ITEM_LAST', 'ITEM_MASK', 'ITEM', 'ACTION_NUM', 'ACTION_CONF', 'ACTION', 'STATE',
] as const;

export const ENOSYS = 38;

function errnoOf(r: ProbeResult): number | undefined {
  const e = r.errno;
  if (typeof e !== 'number' || !Number.isFinite(e) || e === 0) return undefined;
  return Math.abs(Math.trunc(e));
}

/** The driver's message, made safe to show: text only, one line, bounded; undefined when unusable. */
export function cleanMessage(message: unknown): string | undefined {
  if (typeof message !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  const text = message.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (text.length === 0 || !/[a-zA-Z]/.test(text)) return undefined;
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

function errorTypeName(t: unknown): string | undefined {
  if (typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < FLOW_ERROR_TYPES.length) return FLOW_ERROR_TYPES[t];
  if (typeof t === 'string') {
    const name = t.replace(/^RTE_FLOW_ERROR_TYPE_/, '').toUpperCase();
    if ((FLOW_ERROR_TYPES as readonly string[]).includes(name)) return name;
  }
  return undefined;
}

/** "ENOTSUP (Operation not supported): sample not supported (error type ACTION)" — never throws. */
export function describeFailure(r: ProbeResult): string {
  const n = errnoOf(r);
  const known = n !== undefined ? ERRNO[n] : undefined;
  let out = known ? `${known[0]} (${known[1]})` : n !== undefined ? `errno ${n}` : 'failed without an errno';
  const msg = cleanMessage(r.message);
  // PMDs often repeat strerror() as the message; say it once.
  if (msg && msg !== known?.[1]) out += `: ${msg}`;
  else if (!msg) out += ', no message from the driver';
  const type = errorTypeName(r.errorType);
  if (type && type !== 'NONE' && type !== 'UNSPECIFIED') out += ` (error type ${type})`;
  return out;
}

function profileSays(caps: PortCapabilities, def: ProbeDefinition): boolean {
  const dom = caps.domains[def.domain];
  if (!dom.supported) return false;
  if (def.check.kind === 'sample') return def.check.mode === 'mirror' ? dom.sample.mirror : dom.sample.ratio;
  return dom.actions.includes(def.check.action);
}

function capabilityName(def: ProbeDefinition): string {
  if (def.check.kind === 'sample') return def.check.mode === 'mirror' ? 'sample (ratio 1, mirror)' : 'sample (ratio above 1)';
  return def.check.action;
}

function apply(caps: PortCapabilities, def: ProbeDefinition, ok: boolean): void {
  const dom = caps.domains[def.domain];
  if (ok) dom.supported = true;
  if (def.check.kind === 'sample') {
    // What the probe's copy carried is now known to work, even where the
    // profile could not say (copy actions undocumented).
    const copied = def.rule.actions.flatMap((a) => (a.type === 'sample' ? a.actions.map((c) => c.type) : []));
    if (def.check.mode === 'mirror') {
      dom.sample.mirror = ok;
      if (ok && dom.sample.copyActions === null) dom.sample.copyActions = copied;
    } else {
      dom.sample.ratio = ok;
      if (ok && dom.sample.copyActionsRatio === null) dom.sample.copyActionsRatio = copied;
    }
    if (ok && !dom.actions.includes('sample')) dom.actions = [...dom.actions, 'sample'].sort();
    return;
  }
  const a = def.check.action;
  if (ok && !dom.actions.includes(a)) dom.actions = [...dom.actions, a].sort();
  if (!ok) {
    dom.actions = dom.actions.filter((x) => x !== a);
    if (a === 'of_push_vlan') dom.actions = dom.actions.filter((x) => x !== 'of_set_vlan_vid' && x !== 'of_set_vlan_pcp');
  }
}

export interface ReconcileOptions {
  /** how the port is named in messages: "port 0", "prod0 (port 0)" */
  port?: string;
  /** the definitions the results answer; default probeDefinitions(0, {family}) (names are what matter) */
  definitions?: readonly ProbeDefinition[];
}

/**
 * The profile's capabilities with the probe applied: where validate disagrees
 * with the profile, validate wins and the disagreement is reported. Robust to
 * missing fields, unknown probe names and unusable driver messages.
 */
export function reconcile(profile: Profile, results: readonly ProbeResult[], opts: ReconcileOptions = {}): PortCapabilities {
  const caps = capabilitiesFromProfile(profile);
  const defs = new Map((opts.definitions ?? probeDefinitions(0, { family: profile.family })).map((d) => [d.name, d]));
  const where = opts.port ?? 'this port';
  const seen = new Set<string>();
  const applied: { def: ProbeDefinition; r: ProbeResult; ok: boolean }[] = [];
  for (const r of Array.isArray(results) ? results : []) {
    const name = typeof r?.probe === 'string' ? r.probe : String(r?.probe);
    const def = defs.get(name);
    if (!def || seen.has(name)) {
      caps.ignoredProbes.push(name);
      continue;
    }
    seen.add(name);
    applied.push({ def, r, ok: r.ok === true });
  }
  caps.probed = applied.length;

  // Every probe refused with ENOSYS: the driver has no rte_flow ops at all.
  if (applied.length > 0 && applied.every((a) => !a.ok && errnoOf(a.r) === ENOSYS)) {
    if (caps.flowApi) {
      caps.disagreements.push({
        probe: '*', domain: 'ingress', capability: 'rte_flow', profileSays: true, probeSays: false,
        message: `profile ${profile.family} says the driver has rte_flow; validate on ${where} said: ${describeFailure(applied[0]!.r)} for every probe; no rule goes to hardware`,
      });
    }
    caps.flowApi = false;
    for (const d of FLOW_DOMAINS) caps.domains[d] = { ...caps.domains[d], supported: false, actions: [], sample: { ...caps.domains[d].sample, mirror: false, ratio: false } };
    return caps;
  }

  // A domain where every probe failed is not usable, whatever the profile
  // says: one disagreement for the domain instead of one per probe.
  const deadDomains = new Set<FlowDomain>();
  for (const d of FLOW_DOMAINS) {
    const inDomain = applied.filter((a) => a.def.domain === d);
    if (inDomain.length === 0 || inDomain.some((a) => a.ok)) continue;
    deadDomains.add(d);
    if (caps.domains[d].supported) {
      caps.disagreements.push({
        probe: `${d}/*`, domain: d, capability: d, profileSays: true, probeSays: false,
        message: `profile says ${profile.family} accepts ${d} rules; validate on ${where} refused all ${inDomain.length} probes in ${d} (first: ${describeFailure(inDomain[0]!.r)}); the probe wins, no ${d} rule is planned`,
      });
    }
    caps.domains[d] = { ...caps.domains[d], supported: false, actions: [], sample: { ...caps.domains[d].sample, mirror: false, ratio: false } };
  }
  for (const { def, r, ok } of applied) {
    if (deadDomains.has(def.domain)) continue;
    const says = profileSays(caps, def);
    if (says !== ok) {
      const cap = capabilityName(def);
      caps.disagreements.push({
        probe: def.name, domain: def.domain, capability: cap, profileSays: says, probeSays: ok,
        message: says
          ? `profile says ${profile.family} supports ${cap} in ${def.domain}; validate on ${where} said: ${describeFailure(r)}; the probe wins, ${cap} is not used in ${def.domain}`
          : `profile says ${profile.family} does not support ${cap} in ${def.domain}; validate on ${where} accepted it; the probe wins, ${cap} is used in ${def.domain}`,
      });
    }
    apply(caps, def, ok);
    if (ok) caps.flowApi = true;
  }
  return caps;
}
