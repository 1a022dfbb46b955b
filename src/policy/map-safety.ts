/**
 * Address-map safety: the translate maps of one family (prefix maps and host
 * overrides together, as the data plane's longest-prefix tables hold them)
 * checked for the maps that would let a production address reach the shadow
 * network, or make two production hosts one shadow host:
 *
 * - identity: `to` is `from` (the copy keeps its production address);
 * - chained: a map's shadow range overlaps another map's production range
 *   (a shadow address that is also a production address, translated again
 *   by whoever reads both networks);
 * - colliding: two maps whose shadow ranges overlap, unless the longer one is
 *   exactly what the shorter one already does for its `from` (a redundant
 *   nested map); otherwise two production addresses become one shadow address.
 *
 * Nested `from` prefixes are fine: the tables take the longest prefix first
 * (docs/policy.md). The same `from` twice is refused: the table could hold
 * only one of them.
 *
 * Each unsafe map is refused with its field named, unless the map lists the
 * finding in `allow` (e.g. `allow: [identity]`); an allowed finding becomes a
 * warning of the compiled policy and a line of its explanation, so the plan
 * states it.
 */

import { parseAddress } from './fields.js';
import { parsePrefix4, parsePrefix6 } from './prefix.js';
import { MAP_ALLOW_KINDS } from './schema-helpers.js';

export const MAP_OVERRIDES = MAP_ALLOW_KINDS;
export type MapOverride = (typeof MAP_OVERRIDES)[number];

/** One map of one family, with its field path and its parsed sides. */
export interface SafetyMap {
  /** e.g. ['translate', 'ipv4', 1] or ['translate', 'hosts', 0] */
  path: (string | number)[];
  /** as written, for messages */
  fromText: string;
  toText: string;
  /** network order, 4 or 16 bytes */
  from: Uint8Array;
  to: Uint8Array;
  len: number;
  allow: readonly string[];
}

export interface MapFinding {
  kind: MapOverride | 'duplicate';
  /** the field the finding is reported on: [...map path, 'from' | 'to'] */
  path: (string | number)[];
  message: string;
  /** accepted by the map's allow list */
  allowed: boolean;
}

function bit(b: Uint8Array, i: number): number {
  return (b[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** a ⊇ b: a is no longer than b and b starts with a's bits. */
function contains(a: Uint8Array, alen: number, b: Uint8Array, blen: number): boolean {
  if (alen > blen) return false;
  for (let i = 0; i < alen; i++) if (bit(a, i) !== bit(b, i)) return false;
  return true;
}

function overlap(a: Uint8Array, alen: number, b: Uint8Array, blen: number): boolean {
  return contains(a, alen, b, blen) || contains(b, blen, a, alen);
}

function same(a: Uint8Array, b: Uint8Array, len: number): boolean {
  return contains(a, len, b, len);
}

/** The shorter map s already translates l.from to l.to (l nested in s). */
function consistent(s: SafetyMap, l: SafetyMap): boolean {
  if (!contains(s.from, s.len, l.from, l.len)) return false;
  for (let i = 0; i < l.len; i++) {
    const expected = i < s.len ? bit(s.to, i) : bit(l.from, i);
    if (bit(l.to, i) !== expected) return false;
  }
  return true;
}

const where = (m: SafetyMap): string => `${m.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1)} (${m.fromText} -> ${m.toText})`;

function hint(kind: MapOverride): string {
  return `or allow: [${kind}] on the map to accept it`;
}

/** Every finding over the maps of one family, in map order. */
export function mapFindings(maps: readonly SafetyMap[]): MapFinding[] {
  const out: MapFinding[] = [];
  const add = (m: SafetyMap, side: 'from' | 'to', kind: MapFinding['kind'], message: string) =>
    out.push({ kind, path: [...m.path, side], message, allowed: kind !== 'duplicate' && m.allow.includes(kind) });
  maps.forEach((m, i) => {
    const earlier = maps.slice(0, i);
    const dup = earlier.find((o) => o.len === m.len && same(o.from, m.from, m.len));
    if (dup) {
      // Two host overrides of one address are reported by the host checks.
      if (dup.path[1] === 'hosts' && m.path[1] === 'hosts') return;
      add(m, 'from', 'duplicate', `${m.fromText} is already the production side of ${where(dup)}; expected each production prefix once (nested prefixes are fine: the longest wins)`);
      return;
    }
    if (same(m.from, m.to, m.len)) {
      add(m, 'to', 'identity', `${m.toText} is the same as from: production addresses would reach the shadow network unchanged; expected a shadow prefix distinct from the production one (${hint('identity')})`);
    }
    for (const o of maps) {
      if (o === m) continue;
      if (overlap(m.to, m.len, o.from, o.len)) {
        add(m, 'to', 'chained', `shadow range ${m.toText} overlaps the production range of ${where(o)}: a shadow address would also be a production address; expected a shadow range outside every production range (${hint('chained')})`);
        break;
      }
    }
    for (const o of earlier) {
      if (!overlap(m.to, m.len, o.to, o.len)) continue;
      const [s, l] = o.len <= m.len ? [o, m] : [m, o];
      if (s.len < l.len && consistent(s, l)) continue;
      add(m, 'to', 'colliding', `shadow range ${m.toText} overlaps the shadow range of ${where(o)}: two production addresses would become one shadow address; expected distinct shadow ranges (${hint('colliding')})`);
      break;
    }
  });
  return out;
}

/** The safety view of a translate section (raw or validated); unparsable entries are left to the other checks. */
export function translateFindings(
  tr: Record<string, unknown>,
  parsePrefix: (family: 4 | 6, text: string) => { bytes: Uint8Array; len: number } | null,
  parseAddr: (text: string) => { family: 4 | 6; bytes: Uint8Array } | null,
): MapFinding[] {
  const fams: Record<4 | 6, SafetyMap[]> = { 4: [], 6: [] };
  const allowOf = (m: Record<string, unknown>): string[] => (Array.isArray(m['allow']) ? m['allow'].filter((a): a is string => typeof a === 'string') : []);
  for (const [key, family] of [['ipv4', 4], ['ipv6', 6]] as const) {
    const list = Array.isArray(tr[key]) ? (tr[key] as unknown[]) : [];
    list.forEach((m, i) => {
      if (m === null || typeof m !== 'object') return;
      const o = m as Record<string, unknown>;
      if (typeof o['from'] !== 'string' || typeof o['to'] !== 'string') return;
      const from = parsePrefix(family, o['from']);
      const to = parsePrefix(family, o['to']);
      if (!from || !to || from.len !== to.len) return;
      fams[family].push({ path: ['translate', key, i], fromText: o['from'], toText: o['to'], from: from.bytes, to: to.bytes, len: from.len, allow: allowOf(o) });
    });
  }
  const hosts = Array.isArray(tr['hosts']) ? (tr['hosts'] as unknown[]) : [];
  hosts.forEach((h, i) => {
    if (h === null || typeof h !== 'object') return;
    const o = h as Record<string, unknown>;
    if (typeof o['from'] !== 'string' || typeof o['to'] !== 'string') return;
    const from = parseAddr(o['from']);
    const to = parseAddr(o['to']);
    if (!from || !to || from.family !== to.family) return;
    const len = from.family === 4 ? 32 : 128;
    fams[from.family].push({ path: ['translate', 'hosts', i], fromText: o['from'], toText: o['to'], from: from.bytes, to: to.bytes, len, allow: allowOf(o) });
  });
  return [...mapFindings(fams[4]), ...mapFindings(fams[6])];
}

function prefixBytes(family: 4 | 6, text: string): { bytes: Uint8Array; len: number } | null {
  if (family === 4) {
    const p = parsePrefix4(text);
    if (typeof p !== 'object') return null;
    return { bytes: Uint8Array.from([p.addr >>> 24, (p.addr >>> 16) & 255, (p.addr >>> 8) & 255, p.addr & 255]), len: p.len };
  }
  const p = parsePrefix6(text);
  return typeof p === 'object' ? { bytes: p.addr, len: p.len } : null;
}

/** translateFindings with the parsers the loader and the compiler use. */
export function safetyFindings(tr: Record<string, unknown>): MapFinding[] {
  return translateFindings(tr, prefixBytes, (t) => {
    const r = parseAddress(t);
    return r.ok ? r.value : null;
  });
}

/** "translate.ipv4[1].to" */
export function findingPath(f: MapFinding): string {
  return f.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1);
}
