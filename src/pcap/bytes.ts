/**
 * The packet builder's base (src/pcap/build.ts is its entry): EtherType and
 * IP protocol numbers, address parsing and printing, and the Internet
 * checksum every layer above computes from scratch.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const ETHERTYPE = {
  ipv4: 0x0800,
  arp: 0x0806,
  vlan: 0x8100,
  ipv6: 0x86dd,
  qinq: 0x88a8,
  qinqOld: 0x9100,
  lldp: 0x88cc,
  mpls: 0x8847,
} as const;

export const IPPROTO = {
  hopByHop: 0,
  icmp: 1,
  tcp: 6,
  udp: 17,
  routing: 43,
  fragment: 44,
  icmpv6: 58,
  none: 59,
  destination: 60,
} as const;

export const VLAN_TPIDS: ReadonlySet<number> = new Set([ETHERTYPE.vlan, ETHERTYPE.qinq, ETHERTYPE.qinqOld]);

export type Bytes = Buffer | Uint8Array;

export function toBuffer(b: Bytes | undefined): Buffer {
  if (b === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function checkUint(field: string, v: number, bits: number): number {
  const max = 2 ** bits - 1;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new Error(`${field}: expected an integer 0..${max}, got ${v}`);
  }
  return v;
}

// ---- addresses -------------------------------------------------------------

export function ip4(addr: string): Buffer {
  if (!isIPv4(addr)) throw new Error(`IPv4 address: expected dotted quad like "10.0.1.5", got "${addr}"`);
  return Buffer.from(addr.split('.').map((p) => Number(p)));
}

export function ip6(addr: string): Buffer {
  if (!isIPv6(addr)) throw new Error(`IPv6 address: expected text form like "fd00::1", got "${addr}"`);
  let text = addr;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded dotted quad ("::ffff:10.0.0.1") is the last two groups.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const q = ip4(last);
    text = `${text.slice(0, lastColon + 1)}${q.readUInt16BE(0).toString(16)}:${q.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const hi = parse(head);
  const lo = rest === undefined ? [] : parse(rest);
  const full = rest === undefined ? hi : [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
  if (full.length !== 8) throw new Error(`IPv6 address: could not expand "${addr}" to 8 groups`);
  const out = Buffer.alloc(16);
  full.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function mac(addr: string): Buffer {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(addr);
  if (!m) throw new Error(`MAC address: expected "02:00:00:00:00:01", got "${addr}"`);
  return Buffer.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export function ip4ToString(b: Bytes): string {
  return Array.from(toBuffer(b).subarray(0, 4)).join('.');
}

/** RFC 5952 text (what tshark prints). */
export function ip6ToString(b: Bytes): string {
  const buf = toBuffer(b);
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(i * 2));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

export function macToString(b: Bytes): string {
  return Array.from(toBuffer(b).subarray(0, 6))
    .map((x) => x.toString(16).padStart(2, '0'))
    .join(':');
}

// ---- checksum --------------------------------------------------------------

/** One's-complement sum of 16-bit words (RFC 1071) over the concatenation, not complemented. */
export function onesComplementSum(...parts: Bytes[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const p of parts) {
    const b = toBuffer(p);
    let i = 0;
    if (odd !== undefined && b.length > 0) {
      sum += (odd << 8) | (b[0] as number);
      odd = undefined;
      i = 1;
    }
    for (; i + 1 < b.length; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
    if (i < b.length) odd = b[i] as number;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum (RFC 1071) of the concatenation of parts. */
export function internetChecksum(...parts: Bytes[]): number {
  return ~onesComplementSum(...parts) & 0xffff;
}

/** Pads b with fill bytes up to a multiple of `multiple`. */
export function padTo(b: Buffer, multiple: number, fill: number): Buffer {
  const rem = b.length % multiple;
  if (rem === 0) return b;
  return Buffer.concat([b, Buffer.alloc(multiple - rem, fill)]);
}
