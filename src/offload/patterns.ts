/**
 * rte_flow patterns for the planner's matches: the items a port offers,
 * VLAN, port and ICMPv6-type ranges split into value/mask blocks, addresses
 * written as testpmd and the native rule builder read them.
 */
import { isFullRange } from '../policy/match.js';
import type { FlowItem } from './flow.js';
import { ICMP6, TCP, UDP, type Match, type Prefix } from './matches.js';
import type { PortCapabilities } from './probe.js';

const MAX_PATTERNS_PER_RULE = 16;

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

/** An address (or a prefix's address) as text: dotted IPv4, RFC 5952 IPv6. */
export function ipString(p: Prefix | number[]): string {
  const bytes = Array.isArray(p) ? p : p.addr;
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
  const masked = p.addr.map((b, i) => b & (Math.max(0, Math.min(8, p.len - i * 8)) === 0 ? 0 : (0xff << (8 - Math.min(8, p.len - i * 8))) & 0xff));
  spec[field] = ipString(masked);
  if (p.len < p.addr.length * 8) mask[field] = maskString(p.len, p.addr.length);
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
export function patternsFor(m: Match, caps: PortCapabilities, head: FlowItem[]): FlowItem[][] | string {
  const items = new Set(caps.items);
  const fam = caps.family;
  const need = (item: string): string | undefined => (items.has(item) ? undefined : `${fam} has no rte_flow item ${item}`);
  const l2: FlowItem[][] = [];
  const l3 = m.ipVersion !== 0;
  if (need('eth')) return need('eth')!;
  const vidBlocks = isFullRange(m.vid, 4095) ? [undefined] : rangeBlocks(m.vid[0], m.vid[1], 12);
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
    const l4 = m.proto === TCP || m.proto === UDP || (m.proto === ICMP6 && !isFullRange(m.icmpType, 255));
    if (m.proto !== null && !l4) spec.proto = m.proto;
    l3items.push(itemOf(t, spec, mask));
  }
  let l4variants: FlowItem[][] = [[]];
  if (l3 && (m.proto === TCP || m.proto === UDP)) {
    const t = m.proto === TCP ? 'tcp' : 'udp';
    if (need(t)) return need(t)!;
    const sb = isFullRange(m.sport, 65535) ? [undefined] : rangeBlocks(m.sport[0], m.sport[1], 16);
    const db = isFullRange(m.dport, 65535) ? [undefined] : rangeBlocks(m.dport[0], m.dport[1], 16);
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
  } else if (l3 && m.proto === ICMP6 && !isFullRange(m.icmpType, 255)) {
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
