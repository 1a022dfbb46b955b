/**
 * What the NIC would have to do to a copy instead of software: the constant
 * header rewrite of one matched flow (the policy's address and MAC maps, as
 * rewrite_node.c applies them), and the VLAN push of a VLAN target.
 */
import { ENCAP, UNMAPPED_RULE, type NativePolicy, type NativeSession } from '../dataplane/native-types.js';
import { prefixesMeet } from '../policy/match.js';
import type { FlowAction } from './flow.js';
import { TCP, UDP, type Match } from './matches.js';
import { ipString } from './patterns.js';

export interface Rewrite {
  actions: FlowAction[];
}

function bytesOfU32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function inPrefix(addr: number[], from: number[], len: number): boolean {
  return prefixesMeet({ addr, len: addr.length * 8 }, { addr: from, len });
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

export interface Maps {
  v4: { from: number[]; to: number[]; len: number }[];
  v6: { from: number[]; to: number[]; len: number }[];
}

export function mapsOf(policy: NativePolicy): Maps {
  return {
    v4: policy.map4.map((m) => ({ from: bytesOfU32(m.from >>> 0), to: bytesOfU32(m.to >>> 0), len: m.len })),
    v6: policy.map6.map((m) => ({ from: Array.from(m.from), to: Array.from(m.to), len: m.len })),
  };
}

/** Does the policy change copies at all (addresses, MACs, or drops for unmapped ones)? */
export function translationActive(policy: NativePolicy): boolean {
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
export function rewriteFor(m: Match, policy: NativePolicy, maps: Maps): Rewrite | string {
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
      const covered = table.some((t) => prefixesMeet(p, { addr: t.from, len: t.len }));
      if (!covered && policy.unmapped === UNMAPPED_RULE.mirror) continue; // kept as it is, whatever it is
      return `the rule matches ${p ? `${word} prefix ${ipString(p)}/${p.len}` : `any ${word} address`}, and the maps rewrite ${word}s address by address`;
    }
    const a = p.addr;
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

export function encapActions(policy: NativePolicy, s: NativeSession): FlowAction[] {
  const t = policy.targets[s.target];
  if (!t || t.encap !== ENCAP.vlan) return [];
  return [
    { type: 'of_push_vlan', ethertype: 0x8100 },
    { type: 'of_set_vlan_vid', vlan_vid: t.vlanId },
    { type: 'of_set_vlan_pcp', vlan_pcp: t.vlanPcp },
  ];
}
