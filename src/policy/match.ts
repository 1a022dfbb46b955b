/**
 * The match algebra: value ranges, address prefixes, and whether two
 * matches can meet or one covers the other. Two callers reason with it:
 *
 * - the policy compiler (src/policy/compile.ts), on classifier rules in
 *   operator units (`ClassifierMatch`), to warn about filter rules shadowed
 *   by or overlapping earlier ones;
 * - the placement planner (src/offload/matches.ts), on classifier rules as
 *   rte_flow can write them, to keep one MARK per session, order a session's
 *   hardware rules and decide which control-plane punts are needed.
 *
 * The two callers share the range and prefix relations and the IP and
 * transport part of a match (`IpFields`). They keep their own rules for the
 * layer-2 part on purpose, since they answer different questions:
 *
 * - the compiler compares the VLAN range (4096 = untagged) and the EtherType
 *   and IP version as separate wildcards (`ethertype: arp` and
 *   `ip_version: 4` intersect there: a warning errs towards saying so), and
 *   also looks at TCP flags and payload signatures;
 * - the planner compares the depths of VLAN stacking a pattern covers and
 *   one layer-3 type made of the EtherType and the IP version (an ARP match
 *   never meets an IPv4 one), and ICMPv6 types.
 */
import type { Range } from './fields.js';

export type { Range };

/** An address prefix: IPv4 as 4 bytes (planner) or IPv4-mapped in 16 (compiler), `len` in bits of `addr`. */
export interface AddressPrefix {
  readonly addr: ArrayLike<number>;
  readonly len: number;
}

// ---- ranges ----------------------------------------------------------------------

/** The values both ranges hold, or null when they hold none in common. */
export function rangeIntersection(a: Range, b: Range): Range | null {
  const lo = Math.max(a[0], b[0]);
  const hi = Math.min(a[1], b[1]);
  return lo <= hi ? [lo, hi] : null;
}

/** Some value lies in both. */
export const rangesMeet = (a: Range, b: Range): boolean => a[0] <= b[1] && b[0] <= a[1];

/** Every value of b lies in a. */
export const rangeContains = (a: Range, b: Range): boolean => a[0] <= b[0] && b[1] <= a[1];

/** The range is every value from 0 to max. */
export const isFullRange = (r: Range, max: number): boolean => r[0] === 0 && r[1] === max;

// ---- prefixes --------------------------------------------------------------------

/** The first `len` bits of x and y are equal (bytes past either end read as 0). */
export function prefixBitsAgree(x: ArrayLike<number>, y: ArrayLike<number>, len: number): boolean {
  const whole = len >> 3;
  for (let i = 0; i < whole; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return false;
  const rest = len & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (((x[whole] ?? 0) ^ (y[whole] ?? 0)) & m) === 0;
}

/**
 * Some address lies under both (null = any address). Prefixes of different
 * address sizes never meet; the compiler's prefixes are all 16 bytes, so
 * for it only the bits count.
 */
export function prefixesMeet(a: AddressPrefix | null, b: AddressPrefix | null): boolean {
  if (!a || !b) return true;
  if (a.addr.length !== b.addr.length) return false;
  return prefixBitsAgree(a.addr, b.addr, Math.min(a.len, b.len));
}

/** Every address under b lies under a (null = any address). */
export function prefixContains(a: AddressPrefix | null, b: AddressPrefix | null): boolean {
  if (!a) return true;
  if (!b) return false;
  if (a.len > b.len) return false;
  return prefixBitsAgree(a.addr, b.addr, a.len);
}

// ---- the IP and transport part of a match ----------------------------------------

/** What both callers' matches say about IP and transport: null and full ranges match anything. */
export interface IpFields {
  proto: number | null;
  src: AddressPrefix | null;
  dst: AddressPrefix | null;
  sport: Range;
  dport: Range;
}

/** Some packet could match both on these fields. */
export function ipFieldsMeet(a: IpFields, b: IpFields): boolean {
  return (
    (a.proto === null || b.proto === null || a.proto === b.proto) &&
    prefixesMeet(a.src, b.src) &&
    prefixesMeet(a.dst, b.dst) &&
    rangesMeet(a.sport, b.sport) &&
    rangesMeet(a.dport, b.dport)
  );
}

/** Every packet b matches on these fields, a matches too. */
export function ipFieldsCover(a: IpFields, b: IpFields): boolean {
  return (
    (a.proto === null || a.proto === b.proto) &&
    prefixContains(a.src, b.src) &&
    prefixContains(a.dst, b.dst) &&
    rangeContains(a.sport, b.sport) &&
    rangeContains(a.dport, b.dport)
  );
}

// ---- classifier rules (the compiler's view) --------------------------------------

/** One classifier rule in operator units, as the compiler's overlap analysis reads it. */
export interface ClassifierMatch extends IpFields {
  ethertype: number | null;
  /** 4096 = untagged */
  vlan: Range;
  ipVersion: 0 | 4 | 6;
  tcpFlags: number;
  tcpFlagsMask: number;
  /** -1: none */
  signature: number;
}

/** Every packet b matches, a matches too. */
export function classifierCovers(a: ClassifierMatch, b: ClassifierMatch): boolean {
  return (
    (a.ethertype === null || a.ethertype === b.ethertype) &&
    rangeContains(a.vlan, b.vlan) &&
    (a.ipVersion === 0 || a.ipVersion === b.ipVersion) &&
    ipFieldsCover(a, b) &&
    (a.tcpFlagsMask & b.tcpFlagsMask) === a.tcpFlagsMask &&
    (a.tcpFlags & a.tcpFlagsMask) === (b.tcpFlags & a.tcpFlagsMask) &&
    (a.signature < 0 || a.signature === b.signature)
  );
}

/** Some packet could match both (signatures are not compared: it errs towards "yes"). */
export function classifierIntersects(a: ClassifierMatch, b: ClassifierMatch): boolean {
  const m = a.tcpFlagsMask & b.tcpFlagsMask;
  return (
    (a.ethertype === null || b.ethertype === null || a.ethertype === b.ethertype) &&
    rangesMeet(a.vlan, b.vlan) &&
    (a.ipVersion === 0 || b.ipVersion === 0 || a.ipVersion === b.ipVersion) &&
    ipFieldsMeet(a, b) &&
    (a.tcpFlags & m) === (b.tcpFlags & m)
  );
}
