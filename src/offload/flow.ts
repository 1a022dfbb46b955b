/**
 * A flat, serialisable description of one rte_flow rule, shared by the
 * planner, the testpmd renderer, the probe and (later) the native code that
 * calls rte_flow_validate / rte_flow_create.
 *
 * Names are DPDK's own: item and action `type`s are the names of
 * hw-profiles/vocabulary.json (the `[rte_flow items]` / `[rte_flow actions]`
 * keys of DPDK's feature matrices, i.e. RTE_FLOW_ITEM_TYPE_* /
 * RTE_FLOW_ACTION_TYPE_* in lower case), and fields are named as in the
 * rte_flow structs and testpmd's flow grammar (`ipv4_addr`, `vlan_vid`,
 * `ethdev_port_id`...). Values are plain: integers as numbers, addresses as
 * strings (dotted IPv4, IPv6 text, MAC `aa:bb:cc:dd:ee:ff`), so a rule
 * survives JSON and structured clone unchanged.
 *
 * Matching: a field present in `spec` and absent from `mask` is matched
 * exactly (full mask); a field present in both is matched under the mask. A
 * mask field without its spec field is an error (it would match nothing the
 * author meant). Items without `spec` match any header of that type.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const FLOW_DOMAINS = ['ingress', 'egress', 'transfer'] as const;
export type FlowDomain = (typeof FLOW_DOMAINS)[number];

export interface FlowAttr {
  group: number;
  /** lower is matched first (rte_flow: 0 is the highest priority) */
  priority: number;
  ingress: boolean;
  egress: boolean;
  transfer: boolean;
}

// ---- pattern items ---------------------------------------------------------------

export interface EthFields { dst?: string; src?: string; type?: number }
export interface VlanFields { tci?: number; pcp?: number; vid?: number; inner_type?: number }
export interface Ipv4Fields { src?: string; dst?: string; proto?: number; tos?: number; ttl?: number }
export interface Ipv6Fields { src?: string; dst?: string; proto?: number; tc?: number; hop?: number }
export interface UdpFields { src?: number; dst?: number }
export interface TcpFields { src?: number; dst?: number; flags?: number }
export interface IcmpFields { type?: number; code?: number }
export interface VxlanFields { vni?: number }
export interface GeneveFields { vni?: number; protocol?: number }
export interface MarkFields { id?: number }
export interface PortIdFields { id?: number }
export interface RepresentedPortFields { ethdev_port_id?: number }

interface ItemOf<T extends string, F> {
  type: T;
  spec?: F;
  mask?: F;
}

export type FlowItem =
  | ItemOf<'eth', EthFields>
  | ItemOf<'vlan', VlanFields>
  | ItemOf<'ipv4', Ipv4Fields>
  | ItemOf<'ipv6', Ipv6Fields>
  | ItemOf<'udp', UdpFields>
  | ItemOf<'tcp', TcpFields>
  | ItemOf<'icmp', IcmpFields>
  | ItemOf<'icmp6', IcmpFields>
  | ItemOf<'vxlan', VxlanFields>
  | ItemOf<'geneve', GeneveFields>
  | ItemOf<'mark', MarkFields>
  | ItemOf<'port_id', PortIdFields>
  | ItemOf<'represented_port', RepresentedPortFields>;

export type FlowItemType = FlowItem['type'];

// ---- actions ----------------------------------------------------------------------

export type FlowAction =
  | { type: 'count' }
  | { type: 'drop' }
  | { type: 'passthru' }
  | { type: 'mark'; id: number }
  | { type: 'queue'; index: number }
  /** no `queues`: the port's own receive queues (the ones the workers poll), as its default RSS */
  | { type: 'rss'; queues?: number[] }
  | { type: 'jump'; group: number }
  /** one packet in `ratio` gets `actions` (ratio 1: every packet, a mirror) */
  | { type: 'sample'; ratio: number; actions: FlowAction[] }
  | { type: 'port_id'; id: number }
  | { type: 'represented_port'; ethdev_port_id: number }
  | { type: 'set_ipv4_src' | 'set_ipv4_dst'; ipv4_addr: string }
  | { type: 'set_ipv6_src' | 'set_ipv6_dst'; ipv6_addr: string }
  | { type: 'set_mac_src' | 'set_mac_dst'; mac_addr: string }
  | { type: 'of_push_vlan'; ethertype: number }
  | { type: 'of_set_vlan_vid'; vlan_vid: number }
  | { type: 'of_set_vlan_pcp'; vlan_pcp: number }
  /** rte_flow_action_vxlan_encap.definition: eth / [vlan] / ipv4|ipv6 / udp / vxlan, spec only */
  | { type: 'vxlan_encap'; definition: FlowItem[] }
  /** the header to prepend, described as items (spec only); native code serialises it to bytes */
  | { type: 'raw_encap'; header: FlowItem[] };

export type FlowActionType = FlowAction['type'];

export interface FlowRule {
  /** DPDK port id the rule is created on (transfer rules: the port whose traffic it matches) */
  port: number;
  attr: FlowAttr;
  pattern: FlowItem[];
  actions: FlowAction[];
}

/** Header-rewrite actions (what mlx5 must never see before SAMPLE). */
export const REWRITE_ACTIONS: ReadonlySet<FlowActionType> = new Set([
  'set_ipv4_src', 'set_ipv4_dst', 'set_ipv6_src', 'set_ipv6_dst', 'set_mac_src', 'set_mac_dst',
  'of_push_vlan', 'of_set_vlan_vid', 'of_set_vlan_pcp', 'vxlan_encap', 'raw_encap',
]);

/** Actions that decide where a packet goes. */
export const FATE_ACTIONS: ReadonlySet<FlowActionType> = new Set([
  'drop', 'passthru', 'queue', 'rss', 'jump', 'port_id', 'represented_port',
]);

// ---- field descriptions (shared by the checks and the testpmd renderer) -----------

export type FieldKind = 'ipv4' | 'ipv6' | 'mac' | 'u3' | 'u8' | 'u12' | 'u16' | 'u24' | 'u32';

const MAX: Record<Exclude<FieldKind, 'ipv4' | 'ipv6' | 'mac'>, number> = {
  u3: 7, u8: 0xff, u12: 0xfff, u16: 0xffff, u24: 0xffffff, u32: 0xffffffff,
};

/** Per item type, its fields and their kinds, in the order testpmd prints them. */
export const ITEM_FIELDS: Readonly<Record<FlowItemType, Readonly<Record<string, FieldKind>>>> = {
  eth: { dst: 'mac', src: 'mac', type: 'u16' },
  vlan: { tci: 'u16', pcp: 'u3', vid: 'u12', inner_type: 'u16' },
  ipv4: { src: 'ipv4', dst: 'ipv4', proto: 'u8', tos: 'u8', ttl: 'u8' },
  ipv6: { src: 'ipv6', dst: 'ipv6', proto: 'u8', tc: 'u8', hop: 'u8' },
  udp: { src: 'u16', dst: 'u16' },
  tcp: { src: 'u16', dst: 'u16', flags: 'u8' },
  icmp: { type: 'u8', code: 'u8' },
  icmp6: { type: 'u8', code: 'u8' },
  vxlan: { vni: 'u24' },
  geneve: { vni: 'u24', protocol: 'u16' },
  mark: { id: 'u32' },
  port_id: { id: 'u32' },
  represented_port: { ethdev_port_id: 'u16' },
};

export const ITEM_TYPES = Object.keys(ITEM_FIELDS) as FlowItemType[];
export const ACTION_TYPES: readonly FlowActionType[] = [
  'count', 'drop', 'passthru', 'mark', 'queue', 'rss', 'jump', 'sample', 'port_id', 'represented_port',
  'set_ipv4_src', 'set_ipv4_dst', 'set_ipv6_src', 'set_ipv6_dst', 'set_mac_src', 'set_mac_dst',
  'of_push_vlan', 'of_set_vlan_vid', 'of_set_vlan_pcp', 'vxlan_encap', 'raw_encap',
];

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Why `value` is not a valid field of this kind, or undefined when it is. */
export function fieldProblem(kind: FieldKind, value: unknown): string | undefined {
  switch (kind) {
    case 'ipv4':
      return typeof value === 'string' && isIPv4(value) ? undefined : `${show(value)}; expected a dotted IPv4 address`;
    case 'ipv6':
      return typeof value === 'string' && isIPv6(value) ? undefined : `${show(value)}; expected an IPv6 address`;
    case 'mac':
      return typeof value === 'string' && MAC_RE.test(value) ? undefined : `${show(value)}; expected a MAC address aa:bb:cc:dd:ee:ff`;
    default: {
      const max = MAX[kind];
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max
        ? undefined
        : `${show(value)}; expected an integer 0..${max}`;
    }
  }
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (v === undefined) return 'missing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export interface FlowProblem {
  /** path inside the rule: `pattern[1].spec.src`, `actions[2].actions[0].id` */
  field: string;
  message: string;
}

function checkItems(items: readonly FlowItem[], path: string, out: FlowProblem[], specOnly: boolean): void {
  if (!Array.isArray(items)) {
    out.push({ field: path, message: `${show(items)}; expected a list of items` });
    return;
  }
  items.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const fields = ITEM_FIELDS[item?.type as FlowItemType];
    if (!fields) {
      out.push({ field: `${p}.type`, message: `${show(item?.type)}; expected one of ${ITEM_TYPES.join(', ')}` });
      return;
    }
    const spec = (item.spec ?? {}) as Record<string, unknown>;
    const mask = (item.mask ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(spec)) {
      const kind = fields[k];
      if (!kind) out.push({ field: `${p}.spec.${k}`, message: `unknown field of ${item.type}; expected one of ${Object.keys(fields).join(', ')}` });
      else if (v !== undefined) {
        const bad = fieldProblem(kind, v);
        if (bad) out.push({ field: `${p}.spec.${k}`, message: bad });
      }
    }
    if (specOnly && item.mask && Object.keys(item.mask).length > 0) {
      out.push({ field: `${p}.mask`, message: 'a header to prepend has values only; expected no mask' });
    }
    for (const [k, v] of Object.entries(mask)) {
      const kind = fields[k];
      if (!kind) out.push({ field: `${p}.mask.${k}`, message: `unknown field of ${item.type}; expected one of ${Object.keys(fields).join(', ')}` });
      else if (spec[k] === undefined) out.push({ field: `${p}.mask.${k}`, message: 'a mask without its spec value; expected spec.' + k + ' too' });
      else if (v !== undefined) {
        const bad = fieldProblem(kind, v);
        if (bad) out.push({ field: `${p}.mask.${k}`, message: bad });
      }
    }
  });
}

function checkActions(actions: readonly FlowAction[], path: string, out: FlowProblem[], nested: boolean): void {
  if (!Array.isArray(actions)) {
    out.push({ field: path, message: `${show(actions)}; expected a list of actions` });
    return;
  }
  actions.forEach((a, i) => {
    const p = `${path}[${i}]`;
    const num = (field: string, kind: FieldKind): void => {
      const bad = fieldProblem(kind, (a as unknown as Record<string, unknown>)[field]);
      if (bad) out.push({ field: `${p}.${field}`, message: bad });
    };
    switch (a?.type) {
      case 'count':
      case 'drop':
      case 'passthru':
        return;
      case 'mark': return num('id', 'u32');
      case 'queue': return num('index', 'u16');
      case 'jump': return num('group', 'u32');
      case 'port_id': return num('id', 'u32');
      case 'represented_port': return num('ethdev_port_id', 'u16');
      case 'rss':
        if (a.queues !== undefined) {
          if (!Array.isArray(a.queues) || a.queues.length === 0) out.push({ field: `${p}.queues`, message: `${show(a.queues)}; expected a non-empty list of queue indexes, or no queues for the port's own` });
          else a.queues.forEach((q: number, j: number) => { const bad = fieldProblem('u16', q); if (bad) out.push({ field: `${p}.queues[${j}]`, message: bad }); });
        }
        return;
      case 'sample':
        if (nested) out.push({ field: `${p}.type`, message: 'a SAMPLE inside a SAMPLE; expected the copy to carry plain actions' });
        if (!Number.isInteger(a.ratio) || a.ratio < 1 || a.ratio > 0xffffffff) out.push({ field: `${p}.ratio`, message: `${show(a.ratio)}; expected an integer 1..4294967295 (1 = every packet)` });
        checkActions(a.actions, `${p}.actions`, out, true);
        return;
      case 'set_ipv4_src':
      case 'set_ipv4_dst': return num('ipv4_addr', 'ipv4');
      case 'set_ipv6_src':
      case 'set_ipv6_dst': return num('ipv6_addr', 'ipv6');
      case 'set_mac_src':
      case 'set_mac_dst': return num('mac_addr', 'mac');
      case 'of_push_vlan': return num('ethertype', 'u16');
      case 'of_set_vlan_vid': return num('vlan_vid', 'u12');
      case 'of_set_vlan_pcp': return num('vlan_pcp', 'u3');
      case 'vxlan_encap':
        checkItems(a.definition, `${p}.definition`, out, true);
        if (Array.isArray(a.definition)) {
          const types = (a.definition as FlowItem[]).map((it: FlowItem) => it?.type).join(' / ');
          if (!/^eth( \/ vlan)? \/ ipv[46] \/ udp \/ vxlan$/.test(types)) {
            out.push({ field: `${p}.definition`, message: `"${types}"; expected eth / [vlan /] ipv4|ipv6 / udp / vxlan` });
          }
        }
        return;
      case 'raw_encap':
        checkItems(a.header, `${p}.header`, out, true);
        if (Array.isArray(a.header) && a.header.length === 0) out.push({ field: `${p}.header`, message: 'empty; expected the items of the header to prepend' });
        return;
      default:
        out.push({ field: `${p}.type`, message: `${show((a as { type?: unknown })?.type)}; expected one of ${ACTION_TYPES.join(', ')}` });
    }
  });
}

/** Every problem of a rule, each naming the field; empty when the rule is well formed. */
export function checkFlowRule(rule: FlowRule): FlowProblem[] {
  const out: FlowProblem[] = [];
  const bad = fieldProblem('u16', rule?.port);
  if (bad) out.push({ field: 'port', message: bad });
  const attr = rule?.attr;
  if (!attr || typeof attr !== 'object') {
    out.push({ field: 'attr', message: `${show(attr)}; expected {group, priority, ingress, egress, transfer}` });
  } else {
    for (const k of ['group', 'priority'] as const) {
      const b = fieldProblem('u32', attr[k]);
      if (b) out.push({ field: `attr.${k}`, message: b });
    }
    for (const k of FLOW_DOMAINS) {
      if (typeof attr[k] !== 'boolean') out.push({ field: `attr.${k}`, message: `${show(attr[k])}; expected true or false` });
    }
    if (!attr.ingress && !attr.egress && !attr.transfer) out.push({ field: 'attr', message: 'no domain; expected ingress, egress or transfer' });
  }
  checkItems(rule?.pattern, 'pattern', out, false);
  checkActions(rule?.actions, 'actions', out, false);
  if (Array.isArray(rule?.actions) && rule.actions.length === 0) out.push({ field: 'actions', message: 'empty; expected at least one action' });
  return out;
}

/** The domain a rule is created in (transfer wins: a transfer rule may also say ingress). */
export function ruleDomain(rule: FlowRule): FlowDomain {
  if (rule.attr.transfer) return 'transfer';
  return rule.attr.egress ? 'egress' : 'ingress';
}

export function attrFor(domain: FlowDomain, priority = 0, group = 0): FlowAttr {
  return { group, priority, ingress: domain === 'ingress', egress: domain === 'egress', transfer: domain === 'transfer' };
}

/**
 * The mlx5 rule of the mirror: a header rewrite placed before SAMPLE changes
 * the original as well as the copy (the PMD splits the rule around SAMPLE),
 * so it would alter production. Returns the offending action's index, or -1.
 */
export function modifyBeforeSample(rule: FlowRule): number {
  const sample = rule.actions.findIndex((a) => a.type === 'sample');
  if (sample < 0) return -1;
  return rule.actions.slice(0, sample).findIndex((a) => REWRITE_ACTIONS.has(a.type));
}

/** Every action name a rule uses, SAMPLE's copy list included (for capability checks). */
export function actionNames(actions: readonly FlowAction[]): FlowActionType[] {
  const out: FlowActionType[] = [];
  for (const a of actions) {
    out.push(a.type);
    if (a.type === 'sample') out.push(...actionNames(a.actions));
  }
  return out;
}
