/**
 * Load and check a configuration: YAML → defaults → schema → semantic rules →
 * deeply frozen Config. Every problem found is reported at once, each with
 * its field path (`ports[1].device`), what was expected and, for YAML input,
 * the line it is on.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, PolicyError, stError, sysReason, type ConfigProblem } from '../errors.js';
import { measurementProblems } from './measurement.js';
import { checkPolicySemantics } from '../policy/check.js';
import { captureProblems } from './capture.js';
import { safetyFindings } from '../policy/map-safety.js';
import { compilePolicy, type CompiledPolicy, type CompilePolicyOptions } from '../policy/compile.js';
import {
  ConfigSchema,
  expectedText,
  MAC_PATTERN,
  POLICY_KEYS,
  ROLES,
  type Config,
  type ConfigInput,
  type PolicySection,
} from './schema.js';
import {
  formatPrefix4,
  formatPrefix6,
  parsePrefix4,
  parsePrefix6,
  type Prefix4,
  type Prefix6,
} from '../policy/prefix.js';

export const PCI_DEVICE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7](,.*)?$/;
export const VDEV_DEVICE = /^net_(pcap|null|ring|tap|af_packet|shadowsim|stcap)[0-9]+(,.*)?$/;

export type Segment = string | number;

/** `ports[0].egress` from ['ports', 0, 'egress']. */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

/** ['sessions', 0, 'src'] from `sessions[0].src` (the inverse of formatPath). */
export function pathToSegments(path: string): Segment[] {
  const out: Segment[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

function pointerToSegments(pointer: string): Segment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** The ethdev name DPDK gives a device string: what comes before the first comma. */
export function ethdevName(device: string): string {
  const name = device.split(',', 1)[0] ?? device;
  // DPDK names PCI ethdevs by their canonical, lower-case address.
  return PCI_DEVICE.test(device) ? name.toLowerCase() : name;
}

export function isPciDevice(device: string): boolean {
  return PCI_DEVICE.test(device);
}

/** Finds the YAML line of a field, so problems can point into the file. */
export type Locator = (segments: readonly Segment[], key?: boolean) => number | undefined;

export interface ValidateOptions {
  /** shown in messages, e.g. the file name */
  source?: string;
  locate?: Locator;
  /** also compile the policy, so problems only expansion finds are reported (default true) */
  compilePolicy?: boolean;
  /** how to compile it (generation, slots in force): the result is CheckResult.policy */
  compile?: CompilePolicyOptions;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function describe(schema: TSchema): string {
  const text = expectedText(schema);
  if (text) return text;
  const s = schema as { type?: string; properties?: Record<string, unknown> };
  if (s.type === 'object' && s.properties) return `a mapping with keys ${Object.keys(s.properties).join(', ')}`;
  if (s.type === 'array') return 'a list';
  if (s.type) return `a ${s.type}`;
  return 'a valid value';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function knownKeys(schema: TSchema, value: unknown): number {
  const props = (schema as { properties?: Record<string, unknown> }).properties;
  if (!props || !isObj(value)) return 0;
  return Object.keys(value).filter((k) => Object.hasOwn(props, k)).length;
}

function schemaAccepts(schema: TSchema, type: string): boolean {
  const s = schema as { type?: string; const?: unknown; anyOf?: TSchema[] };
  if (s.anyOf) return s.anyOf.some((x) => schemaAccepts(x, type));
  if (s.const !== undefined) return jsonType(s.const) === type || (type === 'integer' && typeof s.const === 'number');
  if (s.type === 'number') return type === 'number' || type === 'integer';
  return s.type === type;
}

/**
 * A value that fails a union (`encap: {vxlan: ...}`, `src_ports: [...]`):
 * a scalar gets the union's own wording ("a port ... or a range"); a
 * mapping or list is judged against the variant of its own kind that it
 * comes closest to, so the problem names the field inside it that is wrong.
 */
function refineUnion(e: ValueError): ValueError[] {
  const type = jsonType(e.value);
  if (type !== 'object' && type !== 'array') return [e];
  const variants = ((e.schema as { anyOf?: TSchema[] }).anyOf ?? []).map((schema, i) => ({ schema, errors: [...(e.errors[i] ?? [])] }));
  // Defaults are not filled inside a union no variant accepts: a missing
  // field that has a default is not a problem of its own.
  const real = (x: ValueError) => !(x.value === undefined && (x.schema as { default?: unknown }).default !== undefined);
  const sameKind = variants
    .filter((v) => schemaAccepts(v.schema, type))
    .map((v) => ({ ...v, errors: v.errors.filter(real), known: knownKeys(v.schema, e.value) }));
  if (sameKind.length === 0) return [e];
  // The variant whose keys the value uses wins ({vxlan: ...} is a vxlan encap), then the fewest errors.
  const best = sameKind.reduce((a, b) => (b.known > a.known || (b.known === a.known && b.errors.length < a.errors.length) ? b : a));
  // A mapping none of whose keys any variant knows: say what the union expects.
  // Keys that belong to different variants ({vlan: ..., vxlan: ...}): the union's wording too.
  const knownByAny = isObj(e.value) ? Object.keys(e.value).filter((k) => sameKind.some((v) => knownKeys(v.schema, { [k]: true }) > 0)).length : 0;
  if (best.errors.length === 0 || (type === 'object' && (best.known === 0 || knownByAny > best.known))) return [e];
  // A problem with the list itself (empty, too long) is worded by the union.
  return best.errors.flatMap((x) => (x.path === e.path ? [e] : x.type === ValueErrorType.Union ? refineUnion(x) : [x]));
}

function schemaProblem(e: ValueError): ConfigProblem & { segments: Segment[]; key: boolean } {
  const segments = pointerToSegments(e.path);
  const path = formatPath(segments);
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((e.schema as { properties?: Record<string, unknown> }).properties ?? {});
      const key = String(segments[segments.length - 1]);
      const hint = closest(key, known);
      return {
        path,
        segments,
        key: true,
        message: `unknown key \`${path}\`${hint ? ` (did you mean \`${hint}\`?)` : ''}; expected one of ${known.join(', ')}`,
      };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return { path, segments, key: false, message: `missing; expected ${describe(e.schema)}` };
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ArrayMaxItems:
      return { path, segments, key: false, message: `expected ${describe(e.schema)}, got ${show(e.value)}` };
    case ValueErrorType.Union:
      if (isObj(e.value)) {
        const keys = Object.keys(e.value);
        return { path, segments, key: false, message: `expected ${describe(e.schema)}, got a mapping with key${keys.length === 1 ? '' : 's'} ${keys.join(', ') || '(none)'}` };
      }
      return { path, segments, key: false, message: `expected ${describe(e.schema)}, got ${show(e.value)}` };
    default:
      return { path, segments, key: false, message: `expected ${describe(e.schema)}, got ${show(e.value)}` };
  }
}

/** YAML `key:` with nothing after it means "not set": let the default apply. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
    return out;
  }
  return value;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

interface Found {
  problems: (ConfigProblem & { segments: Segment[]; key?: boolean })[];
  add(segments: Segment[], message: string): void;
}

function checkMac(found: Found, value: unknown, segments: Segment[]): void {
  if (!isStr(value) || !new RegExp(MAC_PATTERN).test(value)) return; // schema reports syntax
  const octets = value.split(':').map((h) => parseInt(h, 16));
  if (octets[0]! & 1) {
    found.add(segments, `"${value}" is a multicast/broadcast address; expected a unicast MAC (first octet even) such as "02:53:48:00:00:01"`);
  } else if (octets.every((o) => o === 0)) {
    found.add(segments, `"${value}" is the all-zero address; expected a unicast MAC such as "02:53:48:00:00:01"`);
  }
}

function checkMaps<P extends Prefix4 | Prefix6>(
  found: Found,
  maps: unknown,
  family: 'ipv4' | 'ipv6',
  parse: (t: string) => P | 'syntax' | 'host_bits',
  format: (p: P) => string,
): void {
  if (!Array.isArray(maps)) return;
  const example = family === 'ipv4' ? '10.0.0.0/16' : 'fd00::/16';
  const name = family === 'ipv4' ? 'IPv4' : 'IPv6';
  maps.forEach((m: unknown, i) => {
    if (!isObj(m)) return;
    const parsed: Partial<Record<'from' | 'to', P>> = {};
    for (const side of ['from', 'to'] as const) {
      const text = m[side];
      if (!isStr(text)) continue;
      const segs: Segment[] = ['translate', family, i, side];
      const p = parse(text);
      if (p === 'syntax') {
        found.add(segs, `"${text}" is not an ${name} prefix; expected an address and a prefix length such as ${example}`);
      } else if (p === 'host_bits') {
        const slash = text.indexOf('/');
        const net = parse(`${text.slice(0, slash)}/${family === 'ipv4' ? 32 : 128}`);
        const len = Number(text.slice(slash + 1));
        const masked = typeof net === 'object' ? (maskTo(net, len) as P) : undefined;
        found.add(segs, `"${text}" has host bits set; expected a network address such as ${masked ? format(masked) : example}`);
        // Go on with the network it names, so length and overlap problems are reported too.
        if (masked) parsed[side] = masked;
      } else {
        parsed[side] = p;
      }
    }
    if (parsed.from && parsed.to && parsed.from.len !== parsed.to.len) {
      found.add(
        ['translate', family, i, 'to'],
        `prefix length /${parsed.to.len} differs from from's /${parsed.from.len}; expected the same length (/${parsed.from.len}) so every address maps one to one`,
      );
    }
  });
}

function maskTo(p: Prefix4 | Prefix6, len: number): Prefix4 | Prefix6 {
  if (p.family === 4) {
    const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return { family: 4, addr: (p.addr & m) >>> 0, len };
  }
  const addr = new Uint8Array(p.addr);
  for (let bit = len; bit < 128; bit++) addr[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { family: 6, addr, len };
}

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Rules the schema cannot say. Written defensively: it runs on partly invalid input too. */
function semanticProblems(cfg: Record<string, unknown>, found: Found): void {
  const mode = cfg['mode'];
  const ports = Array.isArray(cfg['ports']) ? (cfg['ports'] as unknown[]) : [];
  const names = ports.map((p) => (isObj(p) && isStr(p['name']) ? p['name'] : undefined));
  const known = names.filter(isStr);

  const seenName = new Map<string, number>();
  const seenDev = new Map<string, number>();
  let production = 0;
  let shadow = 0;
  ports.forEach((p, i) => {
    if (!isObj(p)) return;
    const name = p['name'];
    if (isStr(name)) {
      const first = seenName.get(name);
      if (first !== undefined) {
        found.add(['ports', i, 'name'], `duplicate port name "${name}" (also ports[${first}].name); expected unique names`);
      } else {
        seenName.set(name, i);
      }
    }
    const device = p['device'];
    if (isStr(device) && device.length > 0) {
      if (!PCI_DEVICE.test(device) && !VDEV_DEVICE.test(device)) {
        found.add(
          ['ports', i, 'device'],
          `"${device}" is neither a PCI address nor a supported vdev; expected a PCI address such as "0000:3b:00.0" (optionally ",devargs") or a vdev spec net_pcap|net_null|net_ring|net_tap|net_af_packet|net_shadowsim|net_stcap followed by a number (e.g. "net_pcap0,rx_pcap=in.pcap")`,
        );
      } else {
        const ethdev = ethdevName(device);
        const first = seenDev.get(ethdev);
        if (first !== undefined) {
          found.add(
            ['ports', i, 'device'],
            `device "${ethdev}" is already used by ports[${first}]; expected each port on its own device (number vdevs net_pcap0, net_pcap1, ...)`,
          );
        } else {
          seenDev.set(ethdev, i);
        }
      }
    }
    captureProblems(p, i, (segments, message) => found.add(segments, message));
    const role = p['role'];
    if (role === 'production') production++;
    if (role === 'shadow') shadow++;

    const egress = p['egress'];
    if (mode === 'tap') {
      if (egress !== undefined) {
        found.add(['ports', i, 'egress'], 'not allowed in tap mode (tap mode forwards nothing); remove it, or set mode: inline');
      }
      return;
    }
    if (role === 'shadow') {
      if (egress !== undefined) {
        found.add(['ports', i, 'egress'], 'not allowed on a shadow port; shadow traffic is never forwarded to production');
      }
      return;
    }
    if (egress === undefined) {
      if (role === 'production' && mode === 'inline') {
        const candidates = ports
          .filter((q, j) => j !== i && isObj(q) && q['role'] !== 'shadow' && isStr(q['name']))
          .map((q) => (q as Record<string, string>)['name']);
        found.add(
          ['ports', i, 'egress'],
          `missing; inline mode forwards every production port's traffic, expected the name of its egress port${candidates.length ? ` (one of ${candidates.join(', ')})` : ''}`,
        );
      }
      return;
    }
    if (!isStr(egress)) return; // schema reports the type
    const target = names.indexOf(egress);
    if (target < 0) {
      found.add(['ports', i, 'egress'], `unknown port "${egress}"; expected one of ${known.join(', ')}`);
      return;
    }
    const tp = ports[target];
    if (isObj(tp) && tp['role'] === 'shadow') {
      found.add(
        ['ports', i, 'egress'],
        `"${egress}" is a shadow port; expected a production or egress port (production traffic never goes to the shadow side)`,
      );
    }
  });
  // A misspelt role is already reported; "no shadow port" would only echo it.
  const rolesValid = ports.every((p) => isObj(p) && (p['role'] === undefined || (ROLES as readonly unknown[]).includes(p['role'])));
  if (rolesValid && ports.length > 0 && production === 0) {
    found.add(['ports'], 'no production port; expected at least one port with role: production');
  }
  if (rolesValid && ports.length > 0 && shadow === 0) {
    found.add(['ports'], 'no shadow port; expected at least one port with role: shadow');
  }

  const dp = cfg['dataplane'];
  if (isObj(dp) && Array.isArray(dp['cores'])) {
    const cores = dp['cores'] as unknown[];
    const workers = dp['workers'];
    if (cores.length > 0 && Number.isInteger(workers) && (workers as number) >= 1 && cores.length !== workers) {
      found.add(
        ['dataplane', 'cores'],
        `${cores.length} CPU id${cores.length === 1 ? '' : 's'} for ${workers} worker${workers === 1 ? '' : 's'}; expected one CPU id per worker, or [] for automatic placement`,
      );
    }
    const seen = new Set<unknown>();
    cores.forEach((c, i) => {
      if (seen.has(c)) found.add(['dataplane', 'cores', i], `CPU ${String(c)} is listed twice; expected a distinct CPU per worker`);
      seen.add(c);
    });
  }

  const shadowCfg = cfg['shadow'];
  if (isObj(shadowCfg) && isObj(shadowCfg['mac'])) {
    checkMac(found, shadowCfg['mac']['src'], ['shadow', 'mac', 'src']);
    checkMac(found, shadowCfg['mac']['dst'], ['shadow', 'mac', 'dst']);
  }

  const tr = cfg['translate'];
  if (isObj(tr)) {
    checkMaps<Prefix4>(found, tr['ipv4'], 'ipv4', parsePrefix4, formatPrefix4);
    checkMaps<Prefix6>(found, tr['ipv6'], 'ipv6', parsePrefix6, formatPrefix6);
    // Duplicate, identity, chained and colliding maps (nested from prefixes are fine).
    for (const f of safetyFindings(tr)) if (!f.allowed) found.add(f.path, f.message);
  }

  checkPolicySemantics(cfg, (segments, message) => found.add(segments, message));
  measurementProblems(cfg, (segments, message) => found.add(segments, message));

  const api = cfg['api'];
  if (isObj(api) && isStr(api['host']) && api['host'].length > 0) {
    const host = api['host'];
    if (isIP(host) === 0 && !HOSTNAME.test(host)) {
      found.add(['api', 'host'], `"${host}" is not an IP address or host name; expected e.g. 127.0.0.1`);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * TypeBox's Value.Default merges a mapping given where a list is expected
 * into the list's default (`filters: {action: accept}` becomes `[]` with a
 * stray key), which would then validate. Put the operator's mapping back, so
 * the schema reports it.
 */
function restoreMappings(input: unknown, out: unknown): void {
  if (Array.isArray(input) && Array.isArray(out)) {
    input.forEach((v, i) => {
      if (isObj(v) && Array.isArray(out[i])) out[i] = structuredClone(v);
      else restoreMappings(v, out[i]);
    });
  } else if (isObj(input) && isObj(out)) {
    for (const [k, v] of Object.entries(input)) {
      if (isObj(v) && Array.isArray(out[k])) out[k] = structuredClone(v);
      else restoreMappings(v, out[k]);
    }
  }
}

/**
 * Defaults, then the schema: the defaulted value and one problem per field
 * path (the first error at a path is the meaningful one). Shared by every
 * document shadowtap validates against a TypeBox schema.
 */
export function schemaCheck(schema: TSchema, raw: unknown): {
  value: Record<string, unknown>;
  problems: (ConfigProblem & { segments: Segment[]; key: boolean })[];
  seen: Set<string>;
} {
  const input = structuredClone(dropNulls(raw));
  const value = Value.Default(schema, structuredClone(input)) as Record<string, unknown>;
  restoreMappings(input, value);
  const seen = new Set<string>();
  const problems: (ConfigProblem & { segments: Segment[]; key: boolean })[] = [];
  const errors = [...Value.Errors(schema, value)].flatMap((e) => (e.type === ValueErrorType.Union ? refineUnion(e) : [e]));
  for (const e of errors) {
    const p = schemaProblem(e);
    if (seen.has(p.path)) continue;
    seen.add(p.path);
    problems.push(p);
  }
  return { value, problems, seen };
}

export interface CheckResult {
  /** set when there are no problems */
  config?: Config;
  /** config's compiled policy (set with config unless compilePolicy is false): no need to compile it again */
  policy?: CompiledPolicy;
  problems: ConfigProblem[];
}

/** Validate a plain value; never throws for bad input. */
export function checkConfig(raw: unknown, options: ValidateOptions = {}): CheckResult {
  const problems: Found['problems'] = [];
  const found: Found = {
    problems,
    add(segments, message) {
      problems.push({ path: formatPath(segments), segments, message });
    },
  };
  if (!isObj(raw)) {
    found.add([], `expected a mapping with keys ${Object.keys(ConfigSchema.properties).join(', ')}, got ${show(raw)}`);
    return { problems: finish(problems, options) };
  }
  const { value, problems: schemaFound, seen } = schemaCheck(ConfigSchema, raw);
  problems.push(...schemaFound);
  const schemaCount = problems.length;
  semanticProblems(value, found);
  // A field the schema already rejected needs no second message.
  const semantic = problems.splice(schemaCount).filter((p) => !seen.has(p.path));
  problems.push(...semantic);

  if (problems.length > 0) return { problems: finish(problems, options) };
  const config = deepFreeze(value as ConfigInput) as Config;
  // What only expansion finds: a rule that can never match, limits after expansion.
  if (options.compilePolicy === false) return { config, problems: [] };
  let policy: CompiledPolicy;
  try {
    policy = compilePolicy(config, options.compile);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    for (const p of err.problems) problems.push({ path: p.path, segments: pathToSegments(p.path), message: p.message });
    return { problems: finish(problems, options) };
  }
  return { config, policy, problems: [] };
}

/** The policy keys of a configuration (what GET /v1/policy shows and PUT replaces). */
export function policySection(config: Config): PolicySection {
  const out: Record<string, unknown> = {};
  for (const k of POLICY_KEYS) if (config[k] !== undefined) out[k] = config[k];
  return out as unknown as PolicySection;
}

/**
 * A new policy section checked against the rest of a running configuration
 * (its ports, shadow MACs, mode): the section replaces every policy key; a
 * key left out takes its default (no sessions: the default session).
 * Problems carry the same paths as in the config file.
 */
export function checkPolicyUpdate(current: Config, section: unknown, options: ValidateOptions = {}): CheckResult {
  const keys = POLICY_KEYS.join(', ');
  if (!isObj(section)) {
    return { problems: [{ path: '', message: `expected a mapping with keys ${keys}, got ${show(section)}` }] };
  }
  const unknown = Object.keys(section).filter((k) => !(POLICY_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    return {
      problems: unknown.map((k) => {
        const hint = closest(k, POLICY_KEYS);
        return { path: k, message: `unknown key \`${k}\`${hint ? ` (did you mean \`${hint}\`?)` : ''}; expected one of ${keys} (the rest of the configuration changes with a restart)` };
      }),
    };
  }
  const merged: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(current)) if (!(POLICY_KEYS as readonly string[]).includes(k)) merged[k] = structuredClone(v);
  Object.assign(merged, structuredClone(section));
  return checkConfig(merged, options);
}

function finish(problems: Found['problems'], options: ValidateOptions): ConfigProblem[] {
  const out: ConfigProblem[] = problems.map(({ path, message, segments, key }) => {
    const line = options.locate?.(segments, key);
    return line === undefined ? { path, message } : { path, message, line };
  });
  // In file order, so an operator can fix them top to bottom (sort is stable).
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Validate a plain value (API body, embedded default); throws ConfigError. */
export function validateConfig(raw: unknown, options: ValidateOptions = {}): Config {
  const { config, problems } = checkConfig(raw, options);
  if (!config) throw new ConfigError(problems, options.source ?? 'config');
  return config;
}

function locator(doc: Document, lines: LineCounter): Locator {
  return (segments, key) => {
    const at = (offset: number | undefined) => (offset === undefined ? undefined : lines.linePos(offset).line);
    if (key && segments.length > 0) {
      const parent = segments.length === 1 ? doc.contents : doc.getIn(segments.slice(0, -1), true);
      if (isMap(parent)) {
        const last = segments[segments.length - 1];
        const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === String(last));
        if (pair && isScalar(pair.key)) return at(pair.key.range?.[0]);
      }
    }
    // Walk up to the nearest node that exists (a missing key points at its parent).
    for (let n = segments.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
      if (node && typeof node === 'object' && 'range' in node) {
        const range = (node as { range?: [number, number, number] }).range;
        if (range) return at(range[0]);
      }
    }
    return undefined;
  };
}

/** A YAML (or JSON) document: its plain value and a locator for its fields, or syntax problems. */
export function parseYamlText(text: string): { raw: unknown; locate: Locator } | { problems: ConfigProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({
        path: '',
        message: `YAML syntax: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
        ...(e.linePos?.[0] ? { line: e.linePos[0].line } : {}),
      })),
    };
  }
  return { raw: doc.toJS({ maxAliasCount: 100 }) as unknown, locate: locator(doc, lines) };
}

/** Parse YAML text and validate it; YAML syntax errors are problems too. */
export function checkConfigText(text: string, source = 'config'): CheckResult {
  const parsed = parseYamlText(text);
  if ('problems' in parsed) return { problems: parsed.problems };
  return checkConfig(parsed.raw ?? {}, { source, locate: parsed.locate });
}

export function parseConfig(text: string, source = 'config'): Config {
  const { config, problems } = checkConfigText(text, source);
  if (!config) throw new ConfigError(problems, source);
  return config;
}

/** A configuration that passed every check, with the policy its check compiled (generation 1). */
export interface CheckedConfig {
  config: Config;
  policy: CompiledPolicy;
}

export async function loadConfigFile(file: string): Promise<Config> {
  return (await loadCheckedConfigFile(file)).config;
}

/** Read, parse and check a configuration file; throws ST_ERR_CONFIG_READ or ConfigError. */
export async function loadCheckedConfigFile(file: string): Promise<CheckedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw stError('ST_ERR_CONFIG_READ', `cannot read config file ${file}: ${sysReason(e)}`, {
      errnum: typeof e.errno === 'number' ? -e.errno : 0,
      cause: err,
    });
  }
  const { config, policy, problems } = checkConfigText(text, file);
  if (!config || !policy) throw new ConfigError(problems, file);
  return { config, policy };
}
