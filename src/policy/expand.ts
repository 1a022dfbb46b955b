/**
 * One filter rule of a session → its classifier rules (in operator units,
 * before counter slots): the product of its address, port and
 * application-class alternatives, with contradictions left out and a
 * problem when nothing is left. compile.ts turns the result into
 * NativeRules; match.ts compares them for the shadowing warnings.
 */
import type { Config } from '../config/schema.js';
import type { ConfigProblem } from '../errors.js';
import { POLICY_LIMITS, SIG_BASE, type NativeRule, type NativeSignature } from '../dataplane/native-types.js';
import { APPS, type AppAlternative, type AppName } from './apps.js';
import {
  ethertypeName,
  listOf,
  parseCidr,
  parseEthertype,
  parseHex,
  parsePortSpec,
  parseProtocol,
  parseVlan,
  PORT_PROTOCOLS,
  protocolName,
  TCP_FLAG_BITS,
  VLAN_UNTAGGED,
  type Cidr,
  type Range,
} from './fields.js';
import { rangeIntersection } from './match.js';

type Filter = NonNullable<Config['sessions']>[number]['filters'][number];

/** Problems found while compiling, each with the path of the field at fault. */
export interface Problems {
  list: ConfigProblem[];
  add(path: string, message: string): void;
}

export function problems(): Problems {
  const list: ConfigProblem[] = [];
  return { list, add: (path, message) => list.push({ path, message }) };
}

/** One classifier rule before slot assignment, with fields in operator units. */
export interface Flat {
  ethertype: number | null;
  vlan: Range;
  ipVersion: 0 | 4 | 6;
  /**
   * Address family the rule's addresses (or app) require; not a classifier
   * field. An IPv4 prefix does not make a rule IPv4-only: the classifier keys
   * an ARP frame by its sender/target addresses, so `src: 10.0.1.0/24`
   * covers that subnet's ARP too (classify.h). ip_version: 4 excludes it.
   */
  family: 0 | 4 | 6;
  proto: number | null;
  src: Cidr | null;
  dst: Cidr | null;
  sport: Range;
  dport: Range;
  tcpFlags: number;
  tcpFlagsMask: number;
  signature: number;
}

export const ANY_PORT: Range = [0, 65535];
const ANY_VLAN: Range = [0, VLAN_UNTAGGED];

/** The classifier's match fields of a rule (native order, NativeRule's names): what compile.ts writes for a session's rule and what the measure stage's class table (dataplane/measure-compile.ts) is built from. */
export function nativeMatch(f: Flat): Omit<NativeRule, 'session' | 'ruleSlot' | 'action'> {
  const zero16 = (): Uint8Array => new Uint8Array(16);
  return {
    ethertype: f.ethertype ?? 0,
    ethertypeMask: f.ethertype === null ? 0 : 0xffff,
    vlanLo: f.vlan[0],
    vlanHi: f.vlan[1],
    ipVersion: f.ipVersion,
    proto: f.proto ?? 0,
    protoMask: f.proto === null ? 0 : 0xff,
    src: f.src ? new Uint8Array(f.src.addr) : zero16(),
    srcLen: f.src ? f.src.len : 0,
    dst: f.dst ? new Uint8Array(f.dst.addr) : zero16(),
    dstLen: f.dst ? f.dst.len : 0,
    sportLo: f.sport[0],
    sportHi: f.sport[1],
    dportLo: f.dport[0],
    dportHi: f.dport[1],
    tcpFlags: f.tcpFlags,
    tcpFlagsMask: f.tcpFlagsMask,
    signature: f.signature,
  };
}

const rangeText = (r: Range): string => (r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`);

/** Combine an app alternative with a rule's own fields; a string says why they contradict. */
function merge(base: Flat, alt: AppAlternative, app: string): Flat | string {
  const out: Flat = { ...base };
  if (alt.ethertype !== undefined) {
    if (out.ethertype !== null && out.ethertype !== alt.ethertype) return `app ${app} is EtherType ${ethertypeName(alt.ethertype)}, the rule says ${ethertypeName(out.ethertype)}`;
    if (out.ipVersion !== 0 || out.proto !== null || out.src || out.dst) return `app ${app} is not IP, the rule matches IP fields`;
    out.ethertype = alt.ethertype;
  }
  if (alt.ipVersion !== undefined) {
    if (out.ipVersion !== 0 && out.ipVersion !== alt.ipVersion) return `app ${app} (this part) is IPv${alt.ipVersion}, the rule is IPv${out.ipVersion}`;
    if (out.family !== 0 && out.family !== alt.ipVersion) return `app ${app} (this part) is IPv${alt.ipVersion}, the rule's addresses are IPv${out.family}`;
    out.ipVersion = alt.ipVersion;
  }
  if (alt.proto !== undefined) {
    if (out.proto !== null && out.proto !== alt.proto) return `app ${app} uses protocol ${protocolName(alt.proto)}, the rule says ${protocolName(out.proto)}`;
    if (out.ethertype !== null && out.ethertype !== 0x0800 && out.ethertype !== 0x86dd) return `app ${app} is IP, the rule's EtherType is ${ethertypeName(out.ethertype)}`;
    out.proto = alt.proto;
  }
  if (alt.sport) {
    const r = rangeIntersection(out.sport, alt.sport);
    if (!r) return `app ${app} uses source ports ${rangeText(alt.sport)}, outside the rule's`;
    out.sport = r;
  }
  if (alt.dport) {
    const r = rangeIntersection(out.dport, alt.dport);
    if (!r) return `app ${app} uses destination ports ${rangeText(alt.dport)}, outside the rule's`;
    out.dport = r;
  }
  return out;
}

function withAddress(base: Flat, side: 'src' | 'dst', c: Cidr | null): Flat | string {
  if (!c) return base;
  if (base.ipVersion !== 0 && base.ipVersion !== c.family) return `${side} ${c.text} is IPv${c.family}, the rule is IPv${base.ipVersion}`;
  if (base.family !== 0 && base.family !== c.family) return `${side} ${c.text} is IPv${c.family}, the other address is IPv${base.family}`;
  return { ...base, [side]: c, family: c.family };
}

/** One filter rule → its classifier rules (operator units), or problems. */
export function expandFilter(f: Filter, path: string, found: Problems, signature: (s: NativeSignature) => number): Flat[] {
  const before = found.list.length;
  const base: Flat = {
    ethertype: null,
    vlan: ANY_VLAN,
    ipVersion: f.ip_version ?? 0,
    family: 0,
    proto: null,
    src: null,
    dst: null,
    sport: ANY_PORT,
    dport: ANY_PORT,
    tcpFlags: 0,
    tcpFlagsMask: 0,
    signature: -1,
  };
  if (f.ethertype !== undefined) {
    const e = parseEthertype(f.ethertype);
    if (e.ok) base.ethertype = e.value;
    else found.add(`${path}.ethertype`, e.message);
  }
  if (f.vlan !== undefined) {
    const v = parseVlan(f.vlan);
    if (v.ok) base.vlan = v.value;
    else found.add(`${path}.vlan`, v.message);
  }
  if (f.protocol !== undefined) {
    const p = parseProtocol(f.protocol);
    if (p.ok) base.proto = p.value;
    else found.add(`${path}.protocol`, p.message);
  }
  if (f.tcp_flags) {
    if (base.proto !== null && base.proto !== 6) found.add(`${path}.tcp_flags`, `tcp_flags need protocol tcp; this rule has protocol ${protocolName(base.proto)}`);
    base.proto = 6;
    for (const n of f.tcp_flags.set) base.tcpFlags |= TCP_FLAG_BITS[n];
    for (const n of [...f.tcp_flags.set, ...f.tcp_flags.unset]) base.tcpFlagsMask |= TCP_FLAG_BITS[n];
  }
  if (base.ethertype !== null && base.ethertype !== 0x0800 && base.ethertype !== 0x86dd && (base.ipVersion !== 0 || base.proto !== null)) {
    found.add(`${path}.ethertype`, `EtherType ${ethertypeName(base.ethertype)} is not IP, but the rule matches IP fields`);
  }
  if (base.ethertype === 0x0800 || base.ethertype === 0x86dd) {
    const v = base.ethertype === 0x0800 ? 4 : 6;
    if (base.ipVersion !== 0 && base.ipVersion !== v) found.add(`${path}.ip_version`, `ip_version ${base.ipVersion} contradicts ethertype ${ethertypeName(base.ethertype)}`);
    base.ipVersion = v;
  }
  if (f.signature) {
    const s = f.signature;
    const value = s.text !== undefined ? Uint8Array.from(Buffer.from(s.text, 'latin1')) : s.bytes !== undefined ? parseHex(s.bytes, 'bytes') : null;
    const bytes = value === null ? null : value instanceof Uint8Array ? value : value.ok ? value.value : null;
    if (!bytes || bytes.length === 0 || bytes.length > POLICY_LIMITS.signatureLength) {
      found.add(`${path}.signature`, `expected a value of 1 to ${POLICY_LIMITS.signatureLength} bytes`);
    } else {
      let mask: Uint8Array = new Uint8Array(bytes.length).fill(0xff);
      if (s.mask !== undefined) {
        const m = parseHex(s.mask, 'mask');
        if (!m.ok || m.value.length !== bytes.length) found.add(`${path}.signature.mask`, 'expected a mask as long as the value');
        else mask = m.value;
      }
      base.signature = signature({ base: SIG_BASE[s.base], offset: s.offset, value: bytes, mask });
    }
  }
  if (found.list.length > before) return [];

  const parseList = <T>(v: unknown, field: string, parse: (x: never) => { ok: true; value: T } | { ok: false; message: string }): (T | null)[] => {
    const list = listOf(v as never) as never[];
    if (list.length === 0) return [null];
    const out: T[] = [];
    list.forEach((x, i) => {
      const r = parse(x);
      if (r.ok) out.push(r.value);
      else found.add(Array.isArray(v) ? `${path}.${field}[${i}]` : `${path}.${field}`, r.message);
    });
    return out;
  };
  const srcs = parseList<Cidr>(f.src, 'src', parseCidr as never);
  const dsts = parseList<Cidr>(f.dst, 'dst', parseCidr as never);
  const sports = parseList<Range>(f.src_ports, 'src_ports', parsePortSpec as never);
  const dports = parseList<Range>(f.dst_ports, 'dst_ports', parsePortSpec as never);
  const apps = f.app === undefined ? [null] : listOf(f.app).map((a) => a as AppName);
  if (found.list.length > before) return [];

  const product = srcs.length * dsts.length * sports.length * dports.length *
    apps.reduce((n, a) => n + (a === null ? 1 : APPS[a].alternatives.length), 0);
  if (product > POLICY_LIMITS.rules) {
    found.add(path, `this rule expands into ${product} classifier rules (addresses x ports x app alternatives); at most ${POLICY_LIMITS.rules}`);
    return [];
  }

  const out: Flat[] = [];
  let why: string | null = null;
  for (const app of apps) {
    const alts: (AppAlternative | null)[] = app === null ? [null] : [...APPS[app].alternatives];
    for (const alt of alts) {
      for (const s of srcs) {
        for (const d of dsts) {
          for (const sp of sports) {
            for (const dp of dports) {
              let cur: Flat | string = { ...base };
              if (sp) {
                const r = rangeIntersection(cur.sport, sp);
                cur = r ? { ...cur, sport: r } : `source ports ${rangeText(sp)}`;
              }
              if (typeof cur !== 'string' && dp) {
                const r = rangeIntersection(cur.dport, dp);
                cur = r ? { ...cur, dport: r } : `destination ports ${rangeText(dp)}`;
              }
              if (typeof cur !== 'string') cur = withAddress(cur, 'src', s);
              if (typeof cur !== 'string') cur = withAddress(cur, 'dst', d);
              if (typeof cur !== 'string' && alt) cur = merge(cur, alt, app!);
              if (typeof cur !== 'string' && (cur.sport !== ANY_PORT || cur.dport !== ANY_PORT) && cur.proto !== null && !PORT_PROTOCOLS.has(cur.proto)) {
                cur = `ports with protocol ${protocolName(cur.proto)}`;
              }
              if (typeof cur === 'string') {
                why ??= cur;
                continue;
              }
              out.push(cur);
            }
          }
        }
      }
    }
  }
  if (out.length === 0) {
    found.add(f.app !== undefined ? `${path}.app` : path, `this rule can never match: ${why ?? 'its fields contradict each other'}`);
  }
  return out;
}
