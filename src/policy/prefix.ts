/**
 * IP prefix parsing shared by the config checks and the plan compiler, so the
 * bytes that reach native code are exactly the ones that were validated.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Prefix4 {
  family: 4;
  /** network address, unsigned 32-bit, host order */
  addr: number;
  len: number;
}

export interface Prefix6 {
  family: 6;
  addr: Uint8Array; // 16 bytes, network order
  len: number;
}

export type PrefixError = 'syntax' | 'host_bits';

function splitPrefix(text: string, maxLen: number): { addr: string; len: number } | null {
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) return null;
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
  const len = Number(lenText);
  if (len > maxLen) return null;
  return { addr: text.slice(0, slash), len };
}

export function ipv4ToUint32(addr: string): number | null {
  if (!isIPv4(addr)) return null;
  const parts = addr.split('.').map(Number);
  return (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0);
}

export function uint32ToIPv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

function mask4(len: number): number {
  return len === 0 ? 0 : ((0xffffffff << (32 - len)) >>> 0);
}

export function parsePrefix4(text: string): Prefix4 | PrefixError {
  const p = splitPrefix(text, 32);
  if (!p) return 'syntax';
  const addr = ipv4ToUint32(p.addr);
  if (addr === null) return 'syntax';
  if (((addr & ~mask4(p.len)) >>> 0) !== 0) return 'host_bits';
  return { family: 4, addr, len: p.len };
}

/** Parse an IPv6 address (no zone id) into 16 bytes. */
export function ipv6ToBytes(addr: string): Uint8Array | null {
  if (!isIPv6(addr) || addr.includes('%')) return null;
  let text = addr;
  // An embedded IPv4 tail (::ffff:10.0.0.1) is two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  const maybe4 = text.slice(lastColon + 1);
  if (maybe4.includes('.')) {
    const v = ipv4ToUint32(maybe4);
    if (v === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 && fill !== 0) return null;
  if (fill < 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 255;
  });
  return out;
}

export function bytesToIPv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // compress the longest run of zero groups, as RFC 5952 asks
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function parsePrefix6(text: string): Prefix6 | PrefixError {
  const p = splitPrefix(text, 128);
  if (!p) return 'syntax';
  const addr = ipv6ToBytes(p.addr);
  if (!addr) return 'syntax';
  for (let bit = p.len; bit < 128; bit++) {
    if (addr[bit >> 3]! & (0x80 >> (bit & 7))) return 'host_bits';
  }
  return { family: 6, addr, len: p.len };
}

/** Two prefixes overlap when the shorter one contains the longer one's network. */
export function overlaps4(a: Prefix4, b: Prefix4): boolean {
  const m = mask4(Math.min(a.len, b.len));
  return ((a.addr & m) >>> 0) === ((b.addr & m) >>> 0);
}

export function overlaps6(a: Prefix6, b: Prefix6): boolean {
  const len = Math.min(a.len, b.len);
  for (let bit = 0; bit < len; bit++) {
    const byte = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((a.addr[byte]! & m) !== (b.addr[byte]! & m)) return false;
  }
  return true;
}

export function formatPrefix4(p: Prefix4): string {
  return `${uint32ToIPv4(p.addr)}/${p.len}`;
}

export function formatPrefix6(p: Prefix6): string {
  return `${bytesToIPv6(p.addr)}/${p.len}`;
}
