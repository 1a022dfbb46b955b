/**
 * A classifier rule as rte_flow can express it (`Match`), for the placement
 * planner: built from the compiled policy's rules (exactly, or as a superset
 * for overlap tests), compared with each other, and the control-plane
 * packets that must be punted to software, as matches. The range, prefix and
 * IP/transport relations are the policy's own (src/policy/match.ts); the
 * layer-2 relation here is rte_flow's: depths of VLAN stacking a pattern
 * covers and one layer-3 type (see there for how it differs from the
 * compiler's).
 */
import { CONTROL_PLANE, RULE_ACTION, type LeakKind, type NativeRule } from '../dataplane/native-types.js';
import { ipFieldsMeet, isFullRange, rangesMeet, type AddressPrefix, type Range } from '../policy/match.js';

/** An address prefix as rte_flow writes it: 4 bytes for IPv4, 16 for IPv6. */
export interface Prefix extends AddressPrefix {
  addr: number[];
  len: number;
}

/** Depths of VLAN stacking a match covers: 0 untagged, 1 one tag, 2 two or more. */
export type L2 = 'any' | 'untagged' | 'tagged' | 'double';

export interface Match {
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

export const ANY16: Range = [0, 65535];
export const ANY8: Range = [0, 255];
export const ANYVID: Range = [0, 4095];
const VLAN_UNTAGGED = 4096;
export const TCP = 6;
export const UDP = 17;
export const ICMP6 = 58;
/** IPv6 next headers the software walks past to find ICMPv6 (rewrite_ipv6.c). */
const IPV6_EXT_HEADERS = [0, 43, 60, 51, 44];

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

/** Can one packet match both? (conservative: true when unsure) */
export function intersects(a: Match, b: Match): boolean {
  const da = depths(a);
  const common = [...depths(b)].filter((d) => da.has(d));
  if (common.length === 0) return false;
  if (!common.includes(0) && a.l2 !== 'any' && b.l2 !== 'any' && !rangesMeet(a.vid, b.vid)) return false;
  const ta = l3Type(a);
  const tb = l3Type(b);
  if (ta !== null && tb !== null && ta !== tb) return false;
  return ipFieldsMeet(a, b) && rangesMeet(a.icmpType, b.icmpType);
}

function v4prefix(addr16: Uint8Array, len: number): Prefix | null | string {
  if (len === 0) return null;
  if (len < 96 || len > 128) return `an IPv4 prefix length of ${len - 96}`;
  return { addr: Array.from(addr16.subarray(12, 16)), len: len - 96 };
}

function v6prefix(addr16: Uint8Array, len: number): Prefix | null {
  return len === 0 ? null : { addr: Array.from(addr16), len };
}

/**
 * A classifier rule as rte_flow matches: exact, or the reason it cannot be.
 * With `superset`, constraints rte_flow cannot express are dropped instead
 * (the result then matches at least what the rule does: for overlap tests).
 */
export function toMatches(r: NativeRule, superset: boolean): Match[] | string {
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
  const ports = !isFullRange(sport, 65535) || !isFullRange(dport, 65535);
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

// ---- control-plane punts ------------------------------------------------------------

export type CpClass = 'arp' | 'dhcp' | 'nd';
/** What a punt rule keeps in software: a control-plane class, or a payload kind (payload-punts.ts). */
/** The leak kinds a payload punt keeps in software (ARP, DHCP, ND and RA are the control-plane punts'; payload-punts.ts). */
export const PAYLOAD_KINDS = ['dns', 'mdns', 'llmnr', 'bgp', 'ospf', 'tunnel', 'icmp_err'] as const satisfies readonly LeakKind[];
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];
export type PuntClass = CpClass | PayloadKind;
/** MARK values of payload punts: below the session bases, apart from the control-plane bits. */
export const PAYLOAD_MARKS: Record<PayloadKind, number> = { dns: 0x10, mdns: 0x11, llmnr: 0x12, bgp: 0x13, ospf: 0x14, tunnel: 0x15, icmp_err: 0x16 };

export interface Punt {
  cls: PuntClass;
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
export function puntCandidates(cp: number): Punt[] {
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

export interface RuleIntent {
  kind: 'accept' | 'reject';
  match: Match;
}

/** The session's rules as hardware intents: accepts, and the rejects that matter (an accept after them overlaps). */
export function exactIntents(rules: readonly NativeRule[]): RuleIntent[] | string {
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
