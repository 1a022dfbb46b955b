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
import { Type, type Static } from '@sinclair/typebox';
import {
  CONTROL_PLANE,
  ENCAP,
  RULE_ACTION,
  SAMPLE_MODE,
  UNMAPPED_RULE,
  type NativePolicy,
  type NativeRule,
  type NativeSession,
} from '../dataplane/native-types.js';
import {
  REWRITE_ACTIONS,
  actionNames,
  attrFor,
  modifyBeforeSample,
  type FlowAction,
  type FlowDomain,
  type FlowItem,
  type FlowRule,
} from './flow.js';
import { capabilitiesFromProfile, fateFor, withFate, type PortCapabilities } from './probe.js';
import { matchProfile, type ProfileSet } from './profiles.js';
import { renderTestpmd, TESTPMD_MAX_LINE } from './testpmd.js';

// ---- inputs -------------------------------------------------------------------------

export interface PlanPort {
  /** index into the plan's ports (the data plane's port order) = the DPDK port id */
  index: number;
  name: string;
  role: 'production' | 'egress' | 'shadow' | string;
  /** rte_eth_dev_info.driver_name */
  driver: string;
  pciId?: string;
  /** rte_eth_dev_info.switch_info.domain_id: ports on one E-Switch can mirror to each other in hardware */
  switchDomain?: number;
}

export type CapsByPort = ReadonlyMap<number, PortCapabilities> | Readonly<Record<number, PortCapabilities | undefined>>;

export interface PlanOptions {
  /** the profile set used to match ports without capabilities (default: the shipped profiles) */
  profiles?: ProfileSet;
  /**
   * Paths the software path can honour today (default: all). A session whose
   * better paths are left out is placed on the best allowed one, and each
   * left-out path is named in its notTaken with `pathsReason`.
   */
  allowPaths?: ReadonlySet<SessionPath>;
  pathsReason?: string;
  /**
   * Run-time fallback: rule groups (`<port>/session-<id>`, `<port>/punt`)
   * whose creation failed, with why; they are planned in software. A punt
   * group takes every hardware session of its port along.
   */
  forceSoftware?: ReadonlyMap<string, string>;
}

// ---- marks: what the software path reads -------------------------------------------

/** MARK values: punts carry the control-plane bit; sessions their counter slot plus a base. */
export const MARK = {
  punt: { arp: CONTROL_PLANE.arp, dhcp: CONTROL_PLANE.dhcp, nd: CONTROL_PLANE.nd },
  decidedBase: 0x100,
  copyBase: 0x1000,
} as const;

export const markDecided = (slot: number): number => MARK.decidedBase + slot;
export const markCopy = (slot: number): number => MARK.copyBase + slot;

// ---- the plan (JSON shape of GET /v1/plan; the schema is the one source) ------------

const PlacementT = Type.Union([Type.Literal('hardware'), Type.Literal('hybrid'), Type.Literal('software')]);
const PieceKindT = Type.Union(
  ['classification', 'sampling', 'mirroring', 'translation', 'encap', 'truncation', 'rate-cap', 'firewall', 'punt'].map((k) => Type.Literal(k)),
);
const StageT = Type.Union(['classify', 'sample', 'rate', 'copy', 'rewrite', 'firewall', 'encap', 'tx'].map((k) => Type.Literal(k)));
const PathT = Type.Union([Type.Literal('hardware'), Type.Literal('hybrid-mirror'), Type.Literal('hybrid-classify'), Type.Literal('software')]);
const PortRefT = Type.Object({ index: Type.Integer(), name: Type.String() }, { additionalProperties: false });

const PieceT = Type.Object(
  {
    kind: PieceKindT,
    placement: PlacementT,
    /** the software pipeline stage that does (the software part of) it */
    stage: Type.Optional(StageT),
    reason: Type.String(),
    /** ids of the hardware rules that do (the hardware part of) it */
    rules: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const SessionPlacementT = Type.Object(
  {
    session: Type.Integer({ description: "the operator's session id" }),
    slot: Type.Integer(),
    port: PortRefT,
    direction: Type.Union([Type.Literal('rx'), Type.Literal('tx')]),
    placement: PlacementT,
    path: PathT,
    /** the one-line summary */
    reason: Type.String(),
    marks: Type.Object({ decided: Type.Optional(Type.Integer()), copy: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
    pieces: Type.Array(PieceT),
    rules: Type.Array(Type.String()),
    /** why the paths above this one were not taken, most capable first */
    notTaken: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const ControlPlaneT = Type.Object(
  {
    port: PortRefT,
    classes: Type.Array(Type.Union([Type.Literal('arp'), Type.Literal('dhcp'), Type.Literal('nd')])),
    placement: PlacementT,
    reason: Type.String(),
    rules: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const PlannedRuleT = Type.Object(
  {
    id: Type.String(),
    port: PortRefT,
    domain: Type.Union([Type.Literal('ingress'), Type.Literal('egress'), Type.Literal('transfer')]),
    /** what it is for, in words */
    purpose: Type.String(),
    session: Type.Optional(Type.Integer()),
    /**
     * The unit of run-time fallback: when any rule of a group cannot be
     * created, every rule of the group moves to software together (a session's
     * reject rule without its accept rules would change what is mirrored);
     * a punt group's failure takes every hardware session of its port along.
     */
    group: Type.String(),
    rule: Type.Unsafe<FlowRule>(Type.Object({}, { additionalProperties: true, description: 'src/offload/flow.ts FlowRule' })),
    /** dpdk-testpmd commands that reproduce it */
    testpmd: Type.Array(Type.String()),
    notes: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const PortSummaryT = Type.Object(
  {
    index: Type.Integer(),
    name: Type.String(),
    role: Type.String(),
    driver: Type.String(),
    pciId: Type.Optional(Type.String()),
    profile: Type.String(),
    matchedBy: Type.Union([Type.Literal('driver'), Type.Literal('pci'), Type.Literal('fallback'), Type.Literal('capabilities')]),
    matchReason: Type.String(),
    /** probe results applied; 0 = profile facts only */
    probed: Type.Integer(),
    disagreements: Type.Array(Type.String()),
    placement: Type.Union([PlacementT, Type.Literal('none')]),
    rules: Type.Integer(),
    ruleCapacity: Type.Union([Type.Integer(), Type.Null()]),
    notes: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const MarkEntryT = Type.Object(
  {
    mark: Type.Integer(),
    kind: Type.Union([Type.Literal('punt'), Type.Literal('decided'), Type.Literal('copy')]),
    meaning: Type.String(),
    session: Type.Optional(Type.Integer()),
    slot: Type.Optional(Type.Integer()),
    /** decided marks: whether software still makes the copy (hybrid-classify) */
    softwareCopies: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const PlacementPlanSchema = Type.Object(
  {
    version: Type.Literal(1),
    generation: Type.Integer(),
    ports: Type.Array(PortSummaryT),
    sessions: Type.Array(SessionPlacementT),
    controlPlane: Type.Array(ControlPlaneT),
    rules: Type.Array(PlannedRuleT),
    marks: Type.Array(MarkEntryT),
    summary: Type.Object(
      {
        hardware: Type.Integer(),
        hybrid: Type.Integer(),
        software: Type.Integer(),
        rules: Type.Integer(),
      },
      { additionalProperties: false },
    ),
    warnings: Type.Array(Type.String()),
  },
  { additionalProperties: false, description: 'The placement plan (GET /v1/plan)' },
);

export type Placement = Static<typeof PlacementT>;
export type PieceKind = Static<typeof PieceKindT>;
export type SoftwareStage = Static<typeof StageT>;
export type SessionPath = Static<typeof PathT>;
export type PlanPiece = Static<typeof PieceT>;
export type SessionPlacement = Static<typeof SessionPlacementT>;
export type ControlPlanePlacement = Static<typeof ControlPlaneT>;
export type PlannedRule = Omit<Static<typeof PlannedRuleT>, 'rule'> & { rule: FlowRule };
export type PortSummary = Static<typeof PortSummaryT>;
export type MarkEntry = Static<typeof MarkEntryT>;
export type PlacementPlan = Omit<Static<typeof PlacementPlanSchema>, 'rules'> & { rules: PlannedRule[] };

// ---- matches: a classifier rule as rte_flow can express it --------------------------

type Range = readonly [number, number];
interface Prefix {
  bytes: number[]; // 4 or 16
  len: number;
}

/** Depths of VLAN stacking a match covers: 0 untagged, 1 one tag, 2 two or more. */
type L2 = 'any' | 'untagged' | 'tagged' | 'double';

interface Match {
  l2: L2;
  /** outermost VLAN id range when tagged */
  vid: Range;
  /** a non-IP EtherType (IP is ipVersion) */
  ethertype: number | null;
  ipVersion: 0 | 4 | 6;
  proto: number | null;
  src: Prefix | null;
  dst: Prefix | null;
  sport: Range;
  dport: Range;
  icmpType: Range;
}

const ANY16: Range = [0, 65535];
const ANY8: Range = [0, 255];
const ANYVID: Range = [0, 4095];
const VLAN_UNTAGGED = 4096;
const TCP = 6;
const UDP = 17;
const ICMP6 = 58;
/** IPv6 next headers the software walks past to find ICMPv6 (rewrite_ipv6.c). */
const IPV6_EXT_HEADERS = [0, 43, 60, 51, 44];
const MAX_PATTERNS_PER_RULE = 16;

const isFull = (r: Range, max: number) => r[0] === 0 && r[1] === max;
const meet = (a: Range, b: Range) => a[0] <= b[1] && b[0] <= a[1];

function depths(m: Match): Set<number> {
  const l3 = m.ethertype !== null || m.ipVersion !== 0;
  switch (m.l2) {
    case 'any': return new Set([0, 1, 2]);
    case 'untagged': return new Set([0]);
    case 'tagged': return l3 ? new Set([1]) : new Set([1, 2]);
    case 'double': return new Set([2]);
  }
}

function l3Type(m: Match): number | null {
  if (m.ethertype !== null) return m.ethertype;
  return m.ipVersion === 4 ? 0x0800 : m.ipVersion === 6 ? 0x86dd : null;
}

function prefixesMeet(a: Prefix | null, b: Prefix | null): boolean {
  if (!a || !b) return true;
  if (a.bytes.length !== b.bytes.length) return false;
  const n = Math.min(a.len, b.len);
  for (let bit = 0; bit < n; bit++) {
    const i = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if (((a.bytes[i] ?? 0) & m) !== ((b.bytes[i] ?? 0) & m)) return false;
  }
  return true;
}

/** Can one packet match both? (conservative: true when unsure) */
function intersects(a: Match, b: Match): boolean {
  const da = depths(a);
  const common = [...depths(b)].filter((d) => da.has(d));
  if (common.length === 0) return false;
  if (!common.includes(0) && a.l2 !== 'any' && b.l2 !== 'any' && !meet(a.vid, b.vid)) return false;
  const ta = l3Type(a);
  const tb = l3Type(b);
  if (ta !== null && tb !== null && ta !== tb) return false;
  if (a.proto !== null && b.proto !== null && a.proto !== b.proto) return false;
  if (!prefixesMeet(a.src, b.src) || !prefixesMeet(a.dst, b.dst)) return false;
  return meet(a.sport, b.sport) && meet(a.dport, b.dport) && meet(a.icmpType, b.icmpType);
}

function v4prefix(addr16: Uint8Array, len: number): Prefix | null | string {
  if (len === 0) return null;
  if (len < 96 || len > 128) return `an IPv4 prefix length of ${len - 96}`;
  return { bytes: Array.from(addr16.subarray(12, 16)), len: len - 96 };
}

function v6prefix(addr16: Uint8Array, len: number): Prefix | null {
  return len === 0 ? null : { bytes: Array.from(addr16), len };
}

/**
 * A classifier rule as rte_flow matches: exact, or the reason it cannot be.
 * With `superset`, constraints rte_flow cannot express are dropped instead
 * (the result then matches at least what the rule does: for overlap tests).
 */
function toMatches(r: NativeRule, superset: boolean): Match[] | string {
  const why = (s: string) => (superset ? undefined : s);
  if (r.signature >= 0) {
    const w = why('matches a payload signature, which only the software classifier reads');
    if (w) return w;
  }
  if (r.tcpFlagsMask !== 0) {
    const w = why('matches TCP flags, which shadowtap does not put in rte_flow rules');
    if (w) return w;
  }
  let ethertype: number | null = null;
  let ipVersion: 0 | 4 | 6 = r.ipVersion === 4 ? 4 : r.ipVersion === 6 ? 6 : 0;
  if (r.ethertypeMask === 0xffff) {
    if (r.ethertype === 0x0800 && ipVersion !== 6) ipVersion = 4;
    else if (r.ethertype === 0x86dd && ipVersion !== 4) ipVersion = 6;
    else ethertype = r.ethertype;
  } else if (r.ethertypeMask !== 0) {
    const w = why(`matches EtherType 0x${r.ethertype.toString(16)} under the partial mask 0x${r.ethertypeMask.toString(16)}`);
    if (w) return w;
  }
  if (ethertype !== null && ipVersion !== 0) return superset ? [] : `EtherType 0x${ethertype.toString(16)} with IP fields matches nothing`;
  let proto: number | null = null;
  if (r.protoMask === 0xff) proto = r.proto;
  else if (r.protoMask !== 0) {
    const w = why(`matches protocol ${r.proto} under the partial mask 0x${r.protoMask.toString(16)}`);
    if (w) return w;
  }
  const sport: Range = [r.sportLo, r.sportHi];
  const dport: Range = [r.dportLo, r.dportHi];
  const ports = !isFull(sport, 65535) || !isFull(dport, 65535);
  if (ports && proto !== TCP && proto !== UDP && !superset) {
    return proto === null ? 'matches ports without naming TCP or UDP' : `matches ports on protocol ${proto}`;
  }
  // IPv4 addresses travel IPv4-mapped (::ffff:a.b.c.d): a rule naming one
  // without an IP version also matches IPv6 packets carrying that mapped
  // address in software. An exact hardware rule keeps to IPv4 (under-matching
  // is allowed: the rest is classified in software); the superset keeps both.
  const mapped = (a: Uint8Array, len: number) => len >= 96 && a.subarray(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff;
  const v4only = !superset && (mapped(r.src, r.srcLen) || mapped(r.dst, r.dstLen));
  const families: (4 | 6)[] = ipVersion !== 0 ? [ipVersion] : proto !== null || ports ? (v4only ? [4] : [4, 6]) : [];
  const l3s: { ipVersion: 0 | 4 | 6; src: Prefix | null; dst: Prefix | null }[] = [];
  if (families.length === 0) {
    if ((r.srcLen > 0 || r.dstLen > 0) && !superset) return 'matches addresses without an IP version';
    l3s.push({ ipVersion: 0, src: null, dst: null });
  }
  for (const fam of families) {
    const src = fam === 4 ? v4prefix(r.src, r.srcLen) : v6prefix(r.src, r.srcLen);
    const dst = fam === 4 ? v4prefix(r.dst, r.dstLen) : v6prefix(r.dst, r.dstLen);
    if (typeof src === 'string' || typeof dst === 'string') {
      if (!superset) return `matches ${typeof src === 'string' ? src : dst}`;
      l3s.push({ ipVersion: fam, src: null, dst: null });
      continue;
    }
    l3s.push({ ipVersion: fam, src, dst });
  }
  const vlo = r.vlanLo;
  const vhi = r.vlanHi;
  const l2s: { l2: L2; vid: Range }[] = [];
  const l3 = ethertype !== null || l3s.some((x) => x.ipVersion !== 0);
  if (vlo <= 0 && vhi >= VLAN_UNTAGGED && !l3) l2s.push({ l2: 'any', vid: ANYVID });
  else {
    if (vhi >= VLAN_UNTAGGED) {
      if (!l3) {
        if (!superset) return 'matches untagged frames of any EtherType, which needs eth has_vlan (not used by shadowtap)';
        l2s.push({ l2: 'any', vid: ANYVID });
      } else l2s.push({ l2: 'untagged', vid: ANYVID });
    }
    if (vlo <= 4095 && !(superset && l2s.some((x) => x.l2 === 'any'))) l2s.push({ l2: 'tagged', vid: [Math.max(0, vlo), Math.min(vhi, 4095)] });
  }
  const out: Match[] = [];
  for (const x of l2s) {
    for (const y of l3s) {
      out.push({ l2: x.l2, vid: x.vid, ethertype, ipVersion: y.ipVersion, proto, src: y.src, dst: y.dst, sport, dport, icmpType: ANY8 });
    }
  }
  return out;
}

// ---- patterns -----------------------------------------------------------------------

/** [lo, hi] as value/mask blocks of `bits` bits (the usual range-to-prefix split). */
export function rangeBlocks(lo: number, hi: number, bits: number): { value: number; mask: number }[] {
  const full = 2 ** bits - 1;
  const out: { value: number; mask: number }[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 1;
    while (size * 2 <= full + 1 && cur % (size * 2) === 0 && cur + size * 2 - 1 <= hi) size *= 2;
    out.push({ value: cur, mask: full - (size - 1) });
    cur += size;
  }
  return out;
}

function ipString(p: Prefix | number[]): string {
  const bytes = Array.isArray(p) ? p : p.bytes;
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function maskString(len: number, bytes: number): string {
  const m: number[] = [];
  for (let i = 0; i < bytes; i++) m.push(Math.max(0, Math.min(8, len - i * 8)) === 0 ? 0 : (0xff << (8 - Math.min(8, len - i * 8))) & 0xff);
  return ipString(m);
}

function prefixField(p: Prefix | null, spec: Record<string, unknown>, mask: Record<string, unknown>, field: 'src' | 'dst'): void {
  if (!p) return;
  const masked = p.bytes.map((b, i) => b & (Math.max(0, Math.min(8, p.len - i * 8)) === 0 ? 0 : (0xff << (8 - Math.min(8, p.len - i * 8))) & 0xff));
  spec[field] = ipString(masked);
  if (p.len < p.bytes.length * 8) mask[field] = maskString(p.len, p.bytes.length);
}

function itemOf(type: FlowItem['type'], spec: Record<string, unknown>, mask: Record<string, unknown>): FlowItem {
  const it: Record<string, unknown> = { type };
  if (Object.keys(spec).length > 0) it.spec = spec;
  if (Object.keys(mask).length > 0) it.mask = mask;
  return it as unknown as FlowItem;
}

/**
 * The rte_flow patterns of a match (several when ranges split into masks),
 * or why it cannot be written with this port's items.
 */
function patternsFor(m: Match, caps: PortCapabilities, head: FlowItem[]): FlowItem[][] | string {
  const items = new Set(caps.items);
  const fam = caps.family;
  const need = (item: string): string | undefined => (items.has(item) ? undefined : `${fam} has no rte_flow item ${item}`);
  const l2: FlowItem[][] = [];
  const l3 = m.ipVersion !== 0;
  if (need('eth')) return need('eth')!;
  const vidBlocks = isFull(m.vid, 4095) ? [undefined] : rangeBlocks(m.vid[0], m.vid[1], 12);
  const innerType = m.ethertype;
  switch (m.l2) {
    case 'any':
      l2.push([{ type: 'eth' }]);
      break;
    case 'untagged': {
      // An explicit EtherType is rte_flow's unambiguous "untagged only"
      // (a bare `eth / ipv4` is read both ways by drivers and emulators).
      const type = innerType ?? (m.ipVersion === 4 ? 0x0800 : m.ipVersion === 6 ? 0x86dd : null);
      l2.push([type !== null ? { type: 'eth', spec: { type } } : { type: 'eth' }]);
      break;
    }
    case 'tagged':
    case 'double':
      if (need('vlan')) return `${need('vlan')!}, so VLAN-tagged frames cannot be matched`;
      for (const b of vidBlocks) {
        const spec: Record<string, unknown> = {};
        const mask: Record<string, unknown> = {};
        if (b) {
          spec.vid = b.value;
          if (b.mask !== 0xfff) mask.vid = b.mask;
        }
        if (m.l2 === 'tagged') {
          if (innerType !== null) spec.inner_type = innerType;
          l2.push([{ type: 'eth' }, itemOf('vlan', spec, mask)]);
        } else {
          l2.push([{ type: 'eth' }, itemOf('vlan', spec, mask), itemOf('vlan', innerType !== null ? { inner_type: innerType } : {}, {})]);
        }
      }
      break;
  }
  const l3items: FlowItem[] = [];
  if (l3) {
    const t = m.ipVersion === 4 ? 'ipv4' : 'ipv6';
    if (need(t)) return need(t)!;
    const spec: Record<string, unknown> = {};
    const mask: Record<string, unknown> = {};
    prefixField(m.src, spec, mask, 'src');
    prefixField(m.dst, spec, mask, 'dst');
    const l4 = m.proto === TCP || m.proto === UDP || (m.proto === ICMP6 && !isFull(m.icmpType, 255));
    if (m.proto !== null && !l4) spec.proto = m.proto;
    l3items.push(itemOf(t, spec, mask));
  }
  let l4variants: FlowItem[][] = [[]];
  if (l3 && (m.proto === TCP || m.proto === UDP)) {
    const t = m.proto === TCP ? 'tcp' : 'udp';
    if (need(t)) return need(t)!;
    const sb = isFull(m.sport, 65535) ? [undefined] : rangeBlocks(m.sport[0], m.sport[1], 16);
    const db = isFull(m.dport, 65535) ? [undefined] : rangeBlocks(m.dport[0], m.dport[1], 16);
    l4variants = [];
    for (const s of sb) {
      for (const d of db) {
        const spec: Record<string, unknown> = {};
        const mask: Record<string, unknown> = {};
        if (s) { spec.src = s.value; if (s.mask !== 0xffff) mask.src = s.mask; }
        if (d) { spec.dst = d.value; if (d.mask !== 0xffff) mask.dst = d.mask; }
        l4variants.push([itemOf(t, spec, mask)]);
      }
    }
  } else if (l3 && m.proto === ICMP6 && !isFull(m.icmpType, 255)) {
    if (need('icmp6')) return need('icmp6')!;
    l4variants = rangeBlocks(m.icmpType[0], m.icmpType[1], 8).map((b) => [
      itemOf('icmp6', { type: b.value }, b.mask === 0xff ? {} : { type: b.mask }),
    ]);
  }
  const total = l2.length * l4variants.length;
  if (total > MAX_PATTERNS_PER_RULE) {
    return `its VLAN and port ranges need ${total} rte_flow rules (more than ${MAX_PATTERNS_PER_RULE} per classifier rule)`;
  }
  const out: FlowItem[][] = [];
  for (const a of l2) for (const c of l4variants) out.push([...head, ...a, ...l3items, ...c]);
  return out;
}

// ---- control-plane punts ------------------------------------------------------------

type CpClass = 'arp' | 'dhcp' | 'nd';
interface Punt {
  cls: CpClass;
  label: string;
  match: Match;
}

function baseMatch(over: Partial<Match>): Match {
  return { l2: 'untagged', vid: ANYVID, ethertype: null, ipVersion: 0, proto: null, src: null, dst: null, sport: ANY16, dport: ANY16, icmpType: ANY8, ...over };
}

const L2_WORDS: Record<'untagged' | 'tagged' | 'double', string> = { untagged: 'untagged', tagged: 'one VLAN tag', double: 'two VLAN tags' };

/**
 * Every control-plane packet the software rewrites (ARP after up to two tags;
 * DHCPv4 by UDP port; ND by ICMPv6 type, and IPv6 packets whose first next
 * header is an extension header, behind which ND may hide), as matches.
 */
function puntCandidates(cp: number): Punt[] {
  const out: Punt[] = [];
  for (const l2 of ['untagged', 'tagged', 'double'] as const) {
    const w = L2_WORDS[l2];
    if (cp & CONTROL_PLANE.arp) out.push({ cls: 'arp', label: `ARP, ${w}`, match: baseMatch({ l2, ethertype: 0x0806 }) });
    if (cp & CONTROL_PLANE.dhcp) {
      for (const port of [67, 68]) {
        out.push({ cls: 'dhcp', label: `DHCP (UDP ${port}), ${w}`, match: baseMatch({ l2, ipVersion: 4, proto: UDP, dport: [port, port] }) });
      }
    }
    if (cp & CONTROL_PLANE.nd) {
      // All of ICMPv6 rather than types 133-137: one rule instead of three, and
      // no dependence on the icmp6 item (a punt may take more than needed).
      out.push({ cls: 'nd', label: `ICMPv6 (ND), ${w}`, match: baseMatch({ l2, ipVersion: 6, proto: ICMP6 }) });
      for (const nh of IPV6_EXT_HEADERS) {
        out.push({ cls: 'nd', label: `IPv6 with extension header ${nh} (ND may follow), ${w}`, match: baseMatch({ l2, ipVersion: 6, proto: nh }) });
      }
    }
  }
  return out;
}

// ---- translation: what a rewrite of one matched flow would be ---------------------

interface Rewrite {
  actions: FlowAction[];
}

function bytesOfU32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function inPrefix(addr: number[], from: number[], len: number): boolean {
  return prefixesMeet({ bytes: addr, len: addr.length * 8 }, { bytes: from, len });
}

function applyMap(addr: number[], to: number[], len: number): number[] {
  return addr.map((b, i) => {
    const keep = Math.max(0, Math.min(8, len - i * 8));
    const m = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    return ((to[i] ?? 0) & m) | (b & ~m & 0xff);
  });
}

const isZero = (a: ArrayLike<number>) => Array.from(a).every((b) => b === 0);
const macString = (m: ArrayLike<number>) => Array.from(m).map((b) => b.toString(16).padStart(2, '0')).join(':');

interface Maps {
  v4: { from: number[]; to: number[]; len: number }[];
  v6: { from: number[]; to: number[]; len: number }[];
}

function mapsOf(policy: NativePolicy): Maps {
  return {
    v4: policy.map4.map((m) => ({ from: bytesOfU32(m.from >>> 0), to: bytesOfU32(m.to >>> 0), len: m.len })),
    v6: policy.map6.map((m) => ({ from: Array.from(m.from), to: Array.from(m.to), len: m.len })),
  };
}

/** Does the policy change copies at all (addresses, MACs, or drops for unmapped ones)? */
function translationActive(policy: NativePolicy): boolean {
  return policy.map4.length > 0 || policy.map6.length > 0 || policy.macMaps.length > 0
    || !isZero(policy.defaultSrcMac) || !isZero(policy.defaultDstMac) || policy.unmapped !== UNMAPPED_RULE.mirror;
}

/**
 * The constant rewrite of every copy a match lets through, or why there is
 * none (the rewrite depends on each packet, or software semantics that a
 * rule cannot reproduce apply). Mirrors the rewrite (rewrite_frame.h): longest prefix wins,
 * host bits kept; with control-plane translation on, 0.0.0.0, :: and
 * 255.255.255.255 are never translated and uncovered multicast/link-local
 * addresses are kept, not "unmapped".
 */
function rewriteFor(m: Match, policy: NativePolicy, maps: Maps): Rewrite | string {
  const actions: FlowAction[] = [];
  if (m.ipVersion === 0) {
    return m.ethertype !== null
      ? `the copies are not IP (EtherType 0x${m.ethertype.toString(16).padStart(4, '0')}), and the software rewrite refuses non-IP frames`
      : 'the rule matches every kind of frame, and the software rewrite treats each by its own headers';
  }
  if (m.proto !== TCP && m.proto !== UDP) {
    return m.proto === null
      ? 'the rule matches every IP protocol, and ICMP errors carry inner headers the software rewrite translates'
      : `protocol ${m.proto} is not TCP or UDP (only their headers are rewritten exactly the same in hardware)`;
  }
  const cpAware = policy.controlPlane !== 0;
  const table = m.ipVersion === 4 ? maps.v4 : maps.v6;
  const bits = m.ipVersion === 4 ? 32 : 128;
  for (const side of ['src', 'dst'] as const) {
    const p = m[side];
    const word = side === 'src' ? 'source' : 'destination';
    if (!p || p.len < bits) {
      const covered = table.some((t) => prefixesMeet(p, { bytes: t.from, len: t.len }));
      if (!covered && policy.unmapped === UNMAPPED_RULE.mirror) continue; // kept as it is, whatever it is
      return `the rule matches ${p ? `${word} prefix ${ipString(p)}/${p.len}` : `any ${word} address`}, and the maps rewrite ${word}s address by address`;
    }
    const a = p.bytes;
    const zero = a.every((b) => b === 0);
    const bcast = m.ipVersion === 4 && a.every((b) => b === 0xff);
    if (cpAware && (zero || bcast)) continue;
    let best: (typeof table)[number] | undefined;
    for (const t of table) if (inPrefix(a, t.from, t.len) && (!best || t.len > best.len)) best = t;
    const mcast = m.ipVersion === 4 ? ((a[0] ?? 0) & 0xf0) === 0xe0 : a[0] === 0xff;
    const linkLocal = m.ipVersion === 6 && a[0] === 0xfe && ((a[1] ?? 0) & 0xc0) === 0x80;
    if (!best) {
      if ((cpAware && (mcast || linkLocal)) || policy.unmapped === UNMAPPED_RULE.mirror) continue;
      const what = policy.unmapped === UNMAPPED_RULE.drop ? 'drops' : 'counts instead of sending';
      return `${word} ${ipString(a)} is outside every map and the policy ${what} such copies (counted in software)`;
    }
    const to = applyMap(a, best.to, best.len);
    if (to.every((b, i) => b === a[i])) continue;
    if (side === 'dst' && mcast) return `destination ${ipString(a)} is a multicast group whose MAC follows the translated group in software`;
    actions.push(m.ipVersion === 4
      ? { type: side === 'src' ? 'set_ipv4_src' : 'set_ipv4_dst', ipv4_addr: ipString(to) }
      : { type: side === 'src' ? 'set_ipv6_src' : 'set_ipv6_dst', ipv6_addr: ipString(to) });
  }
  if (policy.macMaps.length > 0) return 'MAC maps rewrite each packet by its own MAC addresses, which the rules do not match';
  for (const [field, mac] of [['src', policy.defaultSrcMac], ['dst', policy.defaultDstMac]] as const) {
    if (isZero(mac)) continue;
    if (cpAware) return 'with control-plane translation on, broadcast, multicast and all-zero MACs keep their value, which a rule cannot tell apart';
    actions.push({ type: field === 'src' ? 'set_mac_src' : 'set_mac_dst', mac_addr: macString(mac) });
  }
  return { actions };
}

// ---- sampling -----------------------------------------------------------------------

interface Sampling {
  /** 1 = every accepted packet */
  ratio: number;
  /** hardware can do it (per packet, exactly 1 in N) */
  exact: boolean;
  words: string;
  why?: string;
}

function samplingOf(s: NativeSession): Sampling {
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

interface RuleIntent {
  kind: 'accept' | 'reject';
  match: Match;
}

interface HwPlan {
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

interface SessionWork {
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

const up = (a: string) => a.toUpperCase();
const list = (xs: readonly string[]) => xs.join('/');

function describeTarget(policy: NativePolicy, s: NativeSession, ports: ReadonlyMap<number, PlanPort>): string {
  const t = policy.targets[s.target];
  if (!t) return `target ${s.target}`;
  const names = t.ports.map((p) => ports.get(p)?.name ?? `port ${p}`);
  return names.length === 1 ? names[0]! : `${names.join(', ')}`;
}

function encapWords(policy: NativePolicy, s: NativeSession): string | null {
  const t = policy.targets[s.target];
  if (!t || t.encap === ENCAP.none) return null;
  if (t.encap === ENCAP.vlan) return `VLAN ${t.vlanId}${t.vlanPcp ? ` pcp ${t.vlanPcp}` : ''}`;
  if (t.encap === ENCAP.vxlan) return `VXLAN vni ${t.vni}`;
  return `GENEVE vni ${t.vni}`;
}

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
  const portSummaries: PortSummary[] = [];
  const sessionsOut: SessionPlacement[] = [];
  const cpOut: ControlPlanePlacement[] = [];
  const rulesOut: PlannedRule[] = [];
  const marks = new Map<number, MarkEntry>();
  let ruleSeq = 0;

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
    let punts: Map<FlowDomain, { punt: Punt; patterns: FlowItem[][] }[]> = new Map();
    for (;;) {
      for (const w of sessionsRx) w.chosen = w.candidates[0] ?? null;
      if (!settle(sessionsRx, port, caps, cp, (p) => { punts = p; })) break;
    }

    // Emit rules: punts first (priority 0 in each domain), then sessions in order.
    const hwSessions = sessionsRx.filter((w) => w.chosen);
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
    const puntRuleIds = new Map<CpClass, string[]>();
    for (const [domain, entries] of punts) {
      if (!hwSessions.some((w) => w.chosen!.domain === domain)) continue;
      for (const { punt, patterns } of entries) {
        for (const pattern of patterns) {
          const actions = withFate(caps.domains[domain].actions.includes('count') ? [{ type: 'count' }, { type: 'mark', id: MARK.punt[punt.cls] }] : [{ type: 'mark', id: MARK.punt[punt.cls] }], domain, port.index, caps.conventions, alone(domain, punt, punt.match));
          const id = `r${++ruleSeq}`;
          portRules.push(planned(id, portRef, domain, `punt ${punt.label} to the software path (MARK ${MARK.punt[punt.cls]})`, undefined, `${port.name}/punt`, {
            port: port.index, attr: attrFor(domain, 0), pattern, actions,
          }));
          puntRuleIds.set(punt.cls, [...(puntRuleIds.get(punt.cls) ?? []), id]);
          marks.set(MARK.punt[punt.cls], { mark: MARK.punt[punt.cls], kind: 'punt', meaning: `punted ${up(punt.cls)}: the whole software policy applies (as unmarked)` });
        }
      }
    }
    let nextGroup = 1;
    for (const w of sessionsRx) {
      const hw = w.chosen;
      const s = w.session;
      let ids: string[] = [];
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
          const id = `r${++ruleSeq}`;
          portRules.push(planned(id, portRef, 'transfer', x.purpose, s.id, group, x.rule));
          ids.push(id);
          stageIds.copy.push(id);
        }
        for (const x of first) {
          const id = `r${++ruleSeq}`;
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
      ids = [...new Set(ids)];
      sessionsOut.push(sessionPlacement(w, port, caps, policy, active, byIndex, ids, stageIds));
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

    // The two promises that keep production safe, checked on every rule.
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

function encapActions(policy: NativePolicy, s: NativeSession): FlowAction[] {
  const t = policy.targets[s.target];
  if (!t || t.encap !== ENCAP.vlan) return [];
  return [
    { type: 'of_push_vlan', ethertype: 0x8100 },
    { type: 'of_set_vlan_vid', vlan_vid: t.vlanId },
    { type: 'of_set_vlan_pcp', vlan_pcp: t.vlanPcp },
  ];
}

/** The session's rules as hardware intents: accepts, and the rejects that matter (an accept after them overlaps). */
function exactIntents(rules: readonly NativeRule[]): RuleIntent[] | string {
  const exact = rules.map((r) => toMatches(r, false));
  const out: RuleIntent[] = [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    const m = exact[i]!;
    const accept = r.action === RULE_ACTION.accept;
    if (accept) {
      if (typeof m === 'string') return `rule ${i + 1} ${m}`;
      for (const x of m) out.push({ kind: 'accept', match: x });
      continue;
    }
    // A reject only matters when a later accept of the same session overlaps it.
    const mine = typeof m === 'string' ? (() => { const s = toMatches(r, true); return typeof s === 'string' ? [] : s; })() : m;
    const later = rules.slice(i + 1).filter((x) => x.action === RULE_ACTION.accept).flatMap((x) => {
      const s = toMatches(x, true);
      return typeof s === 'string' ? [] : s;
    });
    if (!mine.some((a) => later.some((b) => intersects(a, b)))) continue;
    if (typeof m === 'string') return `reject rule ${i + 1} ${m}`;
    for (const x of m) out.push({ kind: 'reject', match: x });
  }
  if (!out.some((x) => x.kind === 'accept')) return 'it has no accept rule';
  return out;
}

function buildCandidates(
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
function settle(
  work: SessionWork[],
  port: PlanPort,
  caps: PortCapabilities,
  cp: number,
  setPunts: (p: Map<FlowDomain, { punt: Punt; patterns: FlowItem[][] }[]>) => void,
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
  const punts = new Map<FlowDomain, { punt: Punt; patterns: FlowItem[][] }[]>();
  const candidates = cp !== 0 ? puntCandidates(cp) : [];
  for (const domain of ['ingress', 'transfer'] as const) {
    const inDomain = work.filter((w) => w.chosen?.domain === domain);
    if (inDomain.length === 0) continue;
    const head: FlowItem[] = domain === 'transfer' ? [{ type: 'represented_port', spec: { ethdev_port_id: port.index } }] : [];
    const needed: { punt: Punt; patterns: FlowItem[][] }[] = [];
    for (const punt of candidates) {
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

function txPlacement(s: NativeSession, port: PlanPort, policy: NativePolicy, byIndex: ReadonlyMap<number, PlanPort>): SessionPlacement {
  const why = `copies of packets sent out of ${port.name} are taken in software: shadowtap's rules act on received packets`;
  const pieces: PlanPiece[] = [
    { kind: 'classification', placement: 'software', stage: 'classify', reason: why, rules: [] },
    { kind: 'mirroring', placement: 'software', stage: 'copy', reason: `software copies to ${describeTarget(policy, s, byIndex)}`, rules: [] },
  ];
  return {
    session: s.id, slot: s.slot, port: { index: port.index, name: port.name }, direction: 'tx',
    placement: 'software', path: 'software', reason: why, marks: {}, pieces, rules: [], notTaken: [],
  };
}

function sessionPlacement(
  w: SessionWork,
  port: PlanPort,
  caps: PortCapabilities,
  policy: NativePolicy,
  active: boolean,
  byIndex: ReadonlyMap<number, PlanPort>,
  ruleIds: string[],
  stages: { match: string[]; copy: string[] },
): SessionPlacement {
  const s = w.session;
  const hw = w.chosen;
  const fam = caps.family;
  const path: SessionPath = hw ? hw.path : 'software';
  const decided = markDecided(s.slot);
  const copyMark = markCopy(s.slot);
  const target = describeTarget(policy, s, byIndex);
  const pieces: PlanPiece[] = [];
  const first = (prefix: string) => w.notTaken.find((n) => n.startsWith(prefix))?.slice(prefix.length);
  const softwareWhy = w.notTaken.length
    ? w.notTaken[w.notTaken.length - 1]!.replace(/^(not all in hardware|no hardware copy|classification in software)( for VLAN-tagged frames)?: /, '')
    : 'no rule can be written';

  // classification
  if (hw) {
    const n = stages.match.length;
    pieces.push({
      kind: 'classification', placement: 'hardware',
      reason: `${fam}: ${n} rule${n === 1 ? ' matches' : 's match'} in ${hw.domain} and MARK ${decided}${hw.path === 'hybrid-classify' ? '; software skips its classifier for marked packets' : ''}${hw.note ? `; ${hw.note}` : ''}`,
      rules: stages.match,
    });
  } else {
    pieces.push({ kind: 'classification', placement: 'software', stage: 'classify', reason: `classified in software: ${softwareWhy}`, rules: [] });
  }

  // sampling
  const sp = w.sampling;
  if (sp.ratio !== 1 || !sp.exact) {
    if (hw && hw.path === 'hybrid-mirror') {
      pieces.push({ kind: 'sampling', placement: 'hardware', reason: `${fam}: SAMPLE ratio ${sp.ratio} in ingress takes ${sp.words} at random, as the policy's per-packet sampling does`, rules: stages.match });
    } else {
      const why = sp.why ?? (first('no hardware copy: ') ?? `${fam}: no SAMPLE at a ratio`);
      pieces.push({ kind: 'sampling', placement: 'software', stage: 'sample', reason: `${sp.words} sampled in software: ${why}`, rules: [] });
    }
  }

  // mirroring
  if (hw?.path === 'hardware') {
    pieces.push({
      kind: 'mirroring', placement: 'hardware',
      reason: hw.twoStage
        ? `${fam}: the copy must be rewritten, and a rewrite before SAMPLE would alter production: two stages in the E-Switch, production leaves untouched on the SAMPLE branch (ratio 1) to ${port.name} and the copy goes on to a second rule that rewrites it and sends it to ${target}`
        : `${fam}: SAMPLE ratio 1 in the E-Switch sends the copy to ${target}; production continues to ${port.name}`,
      rules: ruleIds,
    });
  } else if (hw?.path === 'hybrid-mirror') {
    const why = first('not all in hardware: ');
    pieces.push({
      kind: 'mirroring', placement: 'hybrid', stage: 'tx',
      reason: `${fam}: SAMPLE ratio ${hw.sampleRatio} in ingress copies to the software path with MARK ${copyMark}; software sends it to ${target}${why ? ` (not straight to ${target}: ${why})` : ''}`,
      rules: stages.match,
    });
  } else if (hw?.path === 'hybrid-classify') {
    const why = first('no hardware copy: ') ?? `${fam}: no SAMPLE`;
    pieces.push({ kind: 'mirroring', placement: 'software', stage: 'copy', reason: `software copies the packets hardware MARKed ${decided} to ${target}: ${why}`, rules: [] });
  } else {
    pieces.push({ kind: 'mirroring', placement: 'software', stage: 'copy', reason: `software copies to ${target}`, rules: [] });
  }

  // translation
  if (active) {
    if (hw?.path === 'hardware') {
      const acts = [...new Set((hw.rewrites ?? []).flatMap((r) => r.actions.map((a) => up(a.type))))];
      pieces.push({
        kind: 'translation', placement: 'hardware',
        reason: acts.length ? `${fam}: ${list(acts)} on the copy in the second stage, after the SAMPLE branch took production` : 'every matched address is kept by the maps; nothing to rewrite',
        rules: stages.copy,
      });
    } else {
      const why = translationWhy(w, hw, caps, policy);
      pieces.push({ kind: 'translation', placement: 'software', stage: 'rewrite', reason: why, rules: [] });
    }
  }

  // encap
  const enc = encapWords(policy, s);
  if (enc) {
    const tgt = policy.targets[s.target]!;
    if (hw?.path === 'hardware' && tgt.encap === ENCAP.vlan) {
      pieces.push({ kind: 'encap', placement: 'hardware', reason: `${fam}: OF_PUSH_VLAN + OF_SET_VLAN_VID/PCP (${enc}) in the second stage`, rules: stages.copy });
    } else {
      const why = tgt.encap === ENCAP.vxlan
        ? 'its outer UDP source port carries a per-flow hash (49152 + hash % 16384) that a fixed VXLAN_ENCAP header cannot'
        : tgt.encap === ENCAP.geneve ? 'DPDK 22.11 has no GENEVE encap action'
          : hw ? 'the copy is finished in software' : 'the copy is made in software';
      pieces.push({ kind: 'encap', placement: 'software', stage: 'encap', reason: `${enc} in software: ${why}`, rules: [] });
    }
  }
  if (s.snaplen > 0) pieces.push({ kind: 'truncation', placement: 'software', stage: 'copy', reason: `copies cut to ${s.snaplen} bytes in software (rte_flow cannot truncate)`, rules: [] });
  if (s.ratePps > 0 || s.rateBps > 0) {
    const what = [s.ratePps > 0 ? `${s.ratePps} packets/s` : '', s.rateBps > 0 ? `${s.rateBps} bits/s` : ''].filter(Boolean).join(' and ');
    pieces.push({ kind: 'rate-cap', placement: 'software', stage: 'rate', reason: `${what} cap in software (per-worker token buckets, counted as dropped{rate})`, rules: [] });
  }
  if (policy.fwEnabled) pieces.push({ kind: 'firewall', placement: 'software', stage: 'firewall', reason: 'the shadow firewall filters translated copies in software', rules: [] });

  const placement: Placement = path === 'software' ? 'software' : path === 'hardware' ? 'hardware' : 'hybrid';
  const summary = path === 'hardware'
    ? `all in hardware${hw?.twoStage ? ' (two stages)' : ''}: ${fam} mirrors to ${target}`
    : path === 'hybrid-mirror'
      ? `hybrid: ${fam} matches and copies to the software path (MARK ${copyMark}); software finishes the copy`
      : path === 'hybrid-classify'
        ? `hybrid: ${fam} matches and MARKs ${decided}; software copies`
        : `software: ${softwareWhy}`;
  return {
    session: s.id, slot: s.slot, port: { index: port.index, name: port.name }, direction: 'rx',
    placement, path, reason: summary,
    marks: hw ? { decided, ...(hw.path === 'hybrid-mirror' ? { copy: copyMark } : {}) } : {},
    pieces, rules: ruleIds, notTaken: [...w.notTaken],
  };
}

/** Why the copy is translated in software, in the operator's words. */
function translationWhy(w: SessionWork, hw: HwPlan | null, caps: PortCapabilities, policy: NativePolicy): string {
  const fam = caps.family;
  const fromHw = w.notTaken.find((n) => n.startsWith('not all in hardware: '));
  const m = fromHw ? /translation stays in software: ([^;]*)/.exec(fromHw) : null;
  if (m) return `translated in software: ${m[1]}`;
  if (!hw) return 'translated in software, with the rest of the copy';
  const markWords = `; match in hardware with MARK ${hw.path === 'hybrid-mirror' ? markCopy(w.session.slot) : markDecided(w.session.slot)}`;
  // Which rewrite actions the session would need, for the message.
  const needed = new Set<string>();
  let perPacket: string | undefined;
  const maps = mapsOf(policy);
  for (const it of hw.intents) {
    if (it.kind !== 'accept') continue;
    const r = rewriteFor(it.match, policy, maps);
    if (typeof r === 'string') perPacket ??= r;
    else r.actions.forEach((a) => needed.add(a.type));
  }
  const ing = caps.domains.ingress.actions;
  if (!ing.some((a) => REWRITE_ACTIONS.has(a as FlowAction['type']))) {
    return `${fam}: ${needed.size ? list([...needed].map(up)) : 'header rewrite'} unsupported in ingress, translation in software${markWords}`;
  }
  if (perPacket) return `translated in software: ${perPacket}${markWords}`;
  const missing = [...needed].filter((a) => !ing.includes(a));
  if (missing.length) return `${fam}: ${list(missing.map(up))} unsupported in ingress, translation in software${markWords}`;
  if (needed.size === 0) return `the maps keep every matched address; the software rewrite still runs on the copy${markWords}`;
  return `${fam}: ${list([...needed].map(up))} in ingress would act on production too (before SAMPLE, or on the packet itself), so the copy is translated in software${markWords}`;
}

// ---- explanations ------------------------------------------------------------------

const pieceLine = (p: PlanPiece): string => {
  const where = p.stage ? ` [software stage: ${p.stage}]` : '';
  const rules = p.rules.length ? ` (rules ${p.rules.join(', ')})` : '';
  return `  ${p.kind.padEnd(14)} ${p.placement.padEnd(8)} ${p.reason}${where}${rules}`;
};

/**
 * The plan in words, for `shadowtap plan --explain`: ports (profile, probe,
 * disagreements), every session placement piece by piece, the control-plane
 * punts, every hardware rule with its testpmd commands, and the MARK table.
 */
export function explain(p: PlacementPlan, opts: { testpmd?: boolean } = {}): string {
  const out: string[] = [];
  const s = p.summary;
  out.push(`Placement plan for policy generation ${p.generation}: ${p.sessions.length} session placement${p.sessions.length === 1 ? '' : 's'} (${s.hardware} hardware, ${s.hybrid} hybrid, ${s.software} software), ${s.rules} hardware rule${s.rules === 1 ? '' : 's'}`);
  for (const port of p.ports) {
    out.push('');
    const pci = port.pciId ? `, PCI ${port.pciId}` : '';
    out.push(`Port ${port.name} (index ${port.index}, ${port.role}): driver ${port.driver}${pci}, profile ${port.profile} (${port.matchedBy === 'fallback' ? 'no profile matched' : `by ${port.matchedBy}`})`);
    out.push(`  ${port.matchReason}`);
    out.push(port.probed > 0
      ? `  probe: ${port.probed} rule${port.probed === 1 ? '' : 's'} validated, ${port.disagreements.length} disagreement${port.disagreements.length === 1 ? '' : 's'} with the profile`
      : '  probe: not run; the profile\'s facts are used');
    for (const d of port.disagreements) out.push(`  ! ${d}`);
    for (const n of port.notes) out.push(`  note: ${n}`);
    if (port.placement !== 'none') {
      const cap = port.ruleCapacity === null ? 'no fixed capacity' : `capacity ${port.ruleCapacity}`;
      out.push(`  placement: ${port.placement}; ${port.rules} hardware rule${port.rules === 1 ? '' : 's'} (${cap})`);
    }
  }
  for (const sp of p.sessions) {
    out.push('');
    out.push(`Session ${sp.session} on ${sp.port.name} ${sp.direction}: ${sp.reason}`);
    for (const piece of sp.pieces) out.push(pieceLine(piece));
    const marks = [sp.marks.decided !== undefined ? `decided ${sp.marks.decided}` : '', sp.marks.copy !== undefined ? `copy ${sp.marks.copy}` : ''].filter(Boolean);
    if (marks.length) out.push(`  marks: ${marks.join(', ')}`);
    // A software session's last refusal is its headline already.
    const shown = sp.placement === 'software' ? sp.notTaken.slice(0, -1) : sp.notTaken;
    for (const n of shown) out.push(`  not taken: ${n}`);
  }
  for (const cp of p.controlPlane) {
    out.push('');
    out.push(`Control plane on ${cp.port.name}: ${cp.placement}`);
    out.push(`  ${cp.reason}${cp.rules.length ? ` (rules ${cp.rules.join(', ')})` : ''}`);
  }
  if (p.rules.length) {
    out.push('');
    out.push('Hardware rules (dpdk-testpmd commands reproduce each one)');
    for (const r of p.rules) {
      const a = r.rule.attr;
      const where = `${r.domain}${a.group ? ` group ${a.group}` : ''} priority ${a.priority}`;
      out.push(`  ${r.id.padEnd(4)} ${r.port.name} ${where}: ${r.purpose}`);
      if (opts.testpmd !== false) for (const l of r.testpmd) out.push(`         ${l}`);
      for (const n of r.notes) out.push(`         note: ${n}`);
    }
  }
  if (p.marks.length) {
    out.push('');
    out.push('MARK values the software path reads');
    for (const m of p.marks) out.push(`  ${String(m.mark).padEnd(6)} ${m.kind.padEnd(8)} ${m.meaning}`);
  }
  if (p.warnings.length) {
    out.push('');
    out.push('Warnings');
    for (const w of p.warnings) out.push(`  ${w}`);
  }
  return `${out.join('\n')}\n`;
}

/** The JSON body of GET /v1/plan (the plan itself is plain JSON; this is the checked view). */
export function planJson(p: PlacementPlan): Static<typeof PlacementPlanSchema> {
  return JSON.parse(JSON.stringify(p)) as Static<typeof PlacementPlanSchema>;
}
