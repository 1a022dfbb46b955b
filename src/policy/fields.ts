/**
 * Parsers for the policy's field values (addresses, port ranges, protocols,
 * EtherTypes, VLANs, hex signatures), shared by the checks
 * (src/policy/check.ts) and the compiler (src/policy/compile.ts), so the
 * bytes that reach native code are exactly the ones that were validated.
 * Every parser returns either a value or a message saying what was expected.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { bytesToIPv6, ipv4ToUint32, ipv6ToBytes, uint32ToIPv4 } from './prefix.js';
import { PROTO } from './apps.js';
import { TCP_FLAG_NAMES } from './schema.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(message: string): Parsed<T> => ({ ok: false, message });

/** An address or prefix as the classifier sees it: IPv4 as IPv4-mapped IPv6. */
export interface Cidr {
  family: 4 | 6;
  /** 16 bytes; IPv4 is ::ffff:a.b.c.d */
  addr: Uint8Array;
  /** 0..128, IPv4 lengths + 96 */
  len: number;
  /** as the operator wrote it, normalised (10.0.0.0/8, fd00::/16) */
  text: string;
}

export function mapped4(v: number): Uint8Array {
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  a[12] = v >>> 24;
  a[13] = (v >>> 16) & 255;
  a[14] = (v >>> 8) & 255;
  a[15] = v & 255;
  return a;
}

function maskBytes(addr: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(addr);
  for (let bit = len; bit < 128; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

function hostBitsSet(addr: Uint8Array, len: number): boolean {
  for (let bit = len; bit < 128; bit++) if (addr[bit >> 3]! & (0x80 >> (bit & 7))) return true;
  return false;
}

function cidrText(family: 4 | 6, addr: Uint8Array, len: number): string {
  if (family === 4) {
    const v = ((addr[12]! << 24) | (addr[13]! << 16) | (addr[14]! << 8) | addr[15]!) >>> 0;
    return `${uint32ToIPv4(v)}/${len - 96}`;
  }
  return `${bytesToIPv6(addr)}/${len}`;
}

/**
 * "10.0.0.0/8", "10.1.2.3" (a host), "fd00::/16", "fd00::1". Host bits set
 * under the prefix are an error (a typo more often than not), naming the
 * network that was probably meant.
 */
export function parseCidr(text: string): Parsed<Cidr> {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  let family: 4 | 6;
  let addr: Uint8Array;
  if (isIPv4(addrText)) {
    family = 4;
    addr = mapped4(ipv4ToUint32(addrText)!);
  } else if (isIPv6(addrText) && !addrText.includes('%')) {
    family = 6;
    const b = ipv6ToBytes(addrText);
    if (!b) return bad(`"${text}" is not an address or prefix; expected e.g. 10.0.0.0/16 or fd00::/16`);
    addr = b;
  } else {
    return bad(`"${text}" is not an address or prefix; expected e.g. 10.0.0.0/16, 10.0.1.5 or fd00::/16`);
  }
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (lenText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) {
      return bad(`"${text}" has an invalid prefix length; expected /0 to /${max} for IPv${family}`);
    }
    len = Number(lenText);
  }
  const full = family === 4 ? len + 96 : len;
  if (hostBitsSet(addr, full)) {
    return bad(`"${text}" has host bits set; expected a network address such as ${cidrText(family, maskBytes(addr, full), full)}`);
  }
  return ok({ family, addr, len: full, text: cidrText(family, addr, full) });
}

/** A single address (no prefix length), as 4 or 16 bytes. */
export function parseAddress(text: string): Parsed<{ family: 4 | 6; bytes: Uint8Array }> {
  if (isIPv4(text)) {
    const v = ipv4ToUint32(text)!;
    return ok({ family: 4, bytes: Uint8Array.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]) });
  }
  if (isIPv6(text) && !text.includes('%')) {
    const b = ipv6ToBytes(text);
    if (b) return ok({ family: 6, bytes: b });
  }
  return bad(`"${text}" is not an IP address; expected e.g. 10.0.1.5 or fd00::5`);
}

export type Range = readonly [number, number];

/** 80, "80", "1000-2000". */
export function parsePortSpec(spec: number | string): Parsed<Range> {
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < 0 || spec > 65535) return bad(`${spec} is not a port; expected 0 to 65535`);
    return ok([spec, spec]);
  }
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(spec);
  if (!m) return bad(`"${spec}" is not a port or range; expected a port from 0 to 65535 or a range such as "1000-2000"`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535) return bad(`"${spec}" is out of range; expected ports from 0 to 65535`);
  if (lo > hi) return bad(`"${spec}" runs backwards; expected the low port first, such as "${hi}-${lo}"`);
  return ok([lo, hi]);
}

export const PROTOCOL_NAMES: Readonly<Record<string, number>> = {
  ...PROTO,
  hopopt: 0,
  ipip: 4,
  ipv6: 41,
  rsvp: 46,
  l2tp: 115,
  udplite: 136,
};

/** Protocols whose packets carry ports the classifier reads. */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([PROTO.tcp, PROTO.udp, PROTO.sctp, 136]);

export function parseProtocol(p: number | string): Parsed<number> {
  if (typeof p === 'number') {
    if (!Number.isInteger(p) || p < 0 || p > 255) return bad(`${p} is not an IP protocol; expected 0 to 255`);
    return ok(p);
  }
  const lower = p.toLowerCase();
  if (Object.hasOwn(PROTOCOL_NAMES, lower)) return ok(PROTOCOL_NAMES[lower]!);
  if (/^[0-9]{1,3}$/.test(p) && Number(p) <= 255) return ok(Number(p));
  return bad(`unknown protocol "${p}"; expected a name (${Object.keys(PROTOCOL_NAMES).join(', ')}) or a number from 0 to 255`);
}

export function protocolName(n: number): string {
  for (const [name, v] of Object.entries(PROTOCOL_NAMES)) if (v === n) return name;
  return String(n);
}

export const ETHERTYPE_NAMES: Readonly<Record<string, number>> = {
  ipv4: 0x0800,
  arp: 0x0806,
  rarp: 0x8035,
  ipv6: 0x86dd,
  lldp: 0x88cc,
  lacp: 0x8809,
  mpls: 0x8847,
  mpls_mc: 0x8848,
  pppoe_disc: 0x8863,
  pppoe_sess: 0x8864,
  eapol: 0x888e,
  ptp: 0x88f7,
  macsec: 0x88e5,
};

export function parseEthertype(e: number | string): Parsed<number> {
  if (typeof e === 'number') {
    if (!Number.isInteger(e) || e < 0 || e > 0xffff) return bad(`${e} is not an EtherType; expected 0 to 65535`);
    return ok(e);
  }
  const lower = e.toLowerCase();
  if (Object.hasOwn(ETHERTYPE_NAMES, lower)) return ok(ETHERTYPE_NAMES[lower]!);
  if (/^0x[0-9a-f]{1,4}$/.test(lower)) return ok(parseInt(lower, 16));
  return bad(`unknown EtherType "${e}"; expected a name (${Object.keys(ETHERTYPE_NAMES).join(', ')}) or a number such as 0x88cc`);
}

export function ethertypeName(n: number): string {
  for (const [name, v] of Object.entries(ETHERTYPE_NAMES)) if (v === n) return name;
  return `0x${n.toString(16).padStart(4, '0')}`;
}

/** The classifier's "untagged" VLAN value. */
export const VLAN_UNTAGGED = 4096;

export function parseVlan(v: number | string): Parsed<Range> {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 4095) return bad(`${v} is not a VLAN id; expected 0 to 4095`);
    return ok([v, v]);
  }
  if (v === 'untagged') return ok([VLAN_UNTAGGED, VLAN_UNTAGGED]);
  const m = /^([0-9]{1,4})(?:-([0-9]{1,4}))?$/.exec(v);
  if (!m) return bad(`"${v}" is not a VLAN; expected an id from 0 to 4095, a range such as "100-200", or "untagged"`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 4095 || hi > 4095) return bad(`"${v}" is out of range; expected VLAN ids from 0 to 4095`);
  if (lo > hi) return bad(`"${v}" runs backwards; expected the low id first, such as "${hi}-${lo}"`);
  return ok([lo, hi]);
}

export const TCP_FLAG_BITS: Readonly<Record<(typeof TCP_FLAG_NAMES)[number], number>> = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80,
};

export function tcpFlagNames(bits: number): string[] {
  return TCP_FLAG_NAMES.filter((n) => (bits & TCP_FLAG_BITS[n]) !== 0);
}

export const MAX_SIGNATURE_BYTES = 16;

/** "474554", "47 45 54", "47:45:54", "0x474554" → bytes. */
export function parseHex(text: string, what: string): Parsed<Uint8Array> {
  let t = text.trim();
  if (/^0x/i.test(t)) t = t.slice(2);
  t = t.replace(/[\s:]/g, '');
  if (t.length === 0) return bad(`${what} is empty; expected hex digits, two per byte, such as "474554"`);
  if (!/^[0-9a-fA-F]*$/.test(t)) return bad(`"${text}" is not hex; expected hex digits, two per byte, such as "474554"`);
  if (t.length % 2 !== 0) return bad(`"${text}" has an odd number of hex digits (${t.length}); expected two digits per byte`);
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(i * 2, i * 2 + 2), 16);
  return ok(out);
}

export function hexOf(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function parseMac(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** Flatten "one or a list" schema values. */
export function listOf<T>(v: T | readonly T[] | undefined): readonly T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as readonly T[]) : [v as T];
}
