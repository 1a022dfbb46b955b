/**
 * Production topology in, shadow replica out. An orchestrator describes the
 * production network (subnets, instances with their addresses and MACs,
 * security rules as 5-tuple allow/deny lists) in JSON; `shadowtap topology
 * export` returns the same network with every address translated by the
 * configuration's maps (prefix maps, host overrides, MAC maps), so the
 * shadow network can be built to match what the mirrored traffic will say.
 * The translated security rules come out in the syntax of the config's
 * `security` section, ready to be enforced on the shadow path.
 *
 * Translation is the data plane's: longest prefix wins, host overrides are
 * full-length maps, host bits are kept. An instance or subnet address no map
 * covers cannot be replicated faithfully: it is listed under `unmapped`
 * (and kept as it is). A security rule's prefix that no map covers is an
 * outside address (the internet, another site) and stays as it is; a prefix
 * that contains mapped space becomes the prefix plus the shadow prefixes of
 * the maps inside it.
 *
 * A document of its own, checked like the configuration (schemaCheck), so it
 * lives beside the configuration loader; it builds on policy/ (addresses,
 * the security rules' schema and checks) as the configuration does.
 */
import { Type, type Static } from '@sinclair/typebox';
import { formatPath, schemaCheck, type Segment } from './load.js';
import { bytesToIPv6, parsePrefix4, parsePrefix6, uint32ToIPv4 } from '../policy/prefix.js';
import { expect, int, MAC_PATTERN, oneOf } from '../policy/schema-helpers.js';
import type { Config } from './schema.js';
import { TopologyError, type ConfigProblem } from '../errors.js';
import { listOf, parseAddress, parseCidr } from '../policy/fields.js';
import { ID_PATTERN, PortsSchema, ProtocolSchema, SECURITY_ACTIONS } from '../policy/schema.js';
import { checkPolicySemantics, macProblem } from '../policy/check.js';
import type { SecurityInput, SecurityRuleInput } from '../policy/schema.js';

export const TOPOLOGY_KIND = 'shadowtap.topology/v1';
export const SHADOW_TOPOLOGY_KIND = 'shadowtap.shadow-topology/v1';

const NAME = expect(Type.String({ pattern: ID_PATTERN, description: 'Name, unique within its list.' }), 'a name of 1 to 64 letters, digits, "_", "." or "-"');
const Mac = expect(Type.String({ pattern: MAC_PATTERN, description: 'MAC address.' }), 'a MAC address such as "02:00:00:00:01:05"');
const Ip = expect(Type.String({ minLength: 1, maxLength: 64, description: 'IPv4 or IPv6 address.' }), 'an IPv4 or IPv6 address');

export const InterfaceSchema = Type.Object(
  {
    name: Type.Optional(NAME),
    ip: Type.Optional(expect(Type.Union([Ip, Type.Array(Ip, { minItems: 1, maxItems: 16 })], { description: 'Address(es) of the interface.' }), 'an address or a list of addresses')),
    mac: Type.Optional(Mac),
    subnet: Type.Optional(expect(Type.String({ pattern: ID_PATTERN, description: 'Name of the subnet it is on.' }), 'a subnet name')),
  },
  { additionalProperties: false, description: 'One network interface.' },
);

export const InstanceSchema = Type.Object(
  {
    name: NAME,
    ip: Type.Optional(expect(Type.Union([Ip, Type.Array(Ip, { minItems: 1, maxItems: 16 })], { description: 'Shorthand for one interface: its address(es).' }), 'an address or a list of addresses')),
    mac: Type.Optional(Mac),
    subnet: Type.Optional(expect(Type.String({ pattern: ID_PATTERN, description: 'Shorthand: the subnet of the one interface.' }), 'a subnet name')),
    interfaces: Type.Optional(Type.Array(InterfaceSchema, { minItems: 1, maxItems: 32, description: 'Interfaces (instead of the ip/mac/subnet shorthand).' })),
    tags: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Free labels, copied to the replica.' })),
  },
  { additionalProperties: false, description: 'A VM, container or host.' },
);

export const SubnetSchema = Type.Object(
  {
    name: NAME,
    cidr: expect(Type.String({ minLength: 1, maxLength: 64, description: 'The subnet prefix.' }), 'a prefix such as 10.0.1.0/24'),
    gateway: Type.Optional(Ip),
    vlan: Type.Optional(int(0, 4095, undefined, 'VLAN id.')),
  },
  { additionalProperties: false, description: 'A subnet.' },
);

/** src/dst in a topology may also name a subnet or an instance. */
const TopoAddresses = expect(
  Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 64 })], {
    description: 'Addresses, prefixes, or names of subnets and instances.',
  }),
  'an address, a prefix, a subnet or instance name, or a list of them',
);

export const TopologyRuleSchema = Type.Object(
  {
    id: Type.Optional(expect(Type.String({ pattern: ID_PATTERN, description: 'Rule id.' }), 'an id')),
    description: Type.Optional(Type.String({ maxLength: 200, description: 'Free text.' })),
    action: oneOf(SECURITY_ACTIONS, { description: 'allow or deny.' }),
    ip_version: Type.Optional(expect(Type.Union([Type.Literal(4), Type.Literal(6)], { description: 'IP version.' }), '4 or 6')),
    protocol: Type.Optional(ProtocolSchema),
    src: Type.Optional(TopoAddresses),
    dst: Type.Optional(TopoAddresses),
    src_ports: Type.Optional(PortsSchema),
    dst_ports: Type.Optional(PortsSchema),
  },
  { additionalProperties: false, description: 'One 5-tuple security rule in production addresses.' },
);

export const TopologySchema = Type.Object(
  {
    kind: Type.Optional(expect(Type.Literal(TOPOLOGY_KIND, { description: 'Format marker.' }), `"${TOPOLOGY_KIND}"`)),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Name of the production network.' })),
    subnets: Type.Array(SubnetSchema, { default: [], maxItems: 4096, description: 'Subnets.' }),
    instances: Type.Array(InstanceSchema, { default: [], maxItems: 65536, description: 'Instances.' }),
    security: Type.Object(
      {
        default: oneOf(SECURITY_ACTIONS, { default: 'allow', description: 'What no rule matches gets.' }),
        rules: Type.Array(TopologyRuleSchema, { default: [], maxItems: 4096, description: 'Ordered rules; the first match decides.' }),
      },
      { additionalProperties: false, default: {}, description: 'Security rules (5-tuple allow/deny).' },
    ),
  },
  { additionalProperties: false, $id: 'ProductionTopology', description: 'A production network description.' },
);

export type Topology = Static<typeof TopologySchema>;

/** A topology address that names something must name something that exists. */
function checkTopology(t: Topology, add: (segs: Segment[], m: string) => void): void {
  const subnets = new Map<string, number>();
  t.subnets.forEach((s, i) => {
    if (subnets.has(s.name)) add(['subnets', i, 'name'], `duplicate subnet name "${s.name}"`);
    subnets.set(s.name, i);
    const c = parseCidr(s.cidr);
    if (!c.ok) add(['subnets', i, 'cidr'], c.message);
    if (s.gateway !== undefined) {
      const g = parseAddress(s.gateway);
      if (!g.ok) add(['subnets', i, 'gateway'], g.message);
    }
  });
  const instances = new Set<string>();
  t.instances.forEach((inst, i) => {
    if (instances.has(inst.name)) add(['instances', i, 'name'], `duplicate instance name "${inst.name}"`);
    instances.add(inst.name);
    if (inst.interfaces && (inst.ip !== undefined || inst.mac !== undefined || inst.subnet !== undefined)) {
      add(['instances', i, 'interfaces'], 'give either interfaces or the ip/mac/subnet shorthand, not both');
    }
    if (!inst.interfaces && inst.ip === undefined && inst.mac === undefined) add(['instances', i], 'no address; expected ip, mac or interfaces');
    const ifs = interfacesOf(inst);
    ifs.forEach((f, j) => {
      const at: Segment[] = inst.interfaces ? ['instances', i, 'interfaces', j] : ['instances', i];
      listOf(f.ip).forEach((ip, k) => {
        const r = parseAddress(ip);
        if (!r.ok) add([...at, 'ip', ...(Array.isArray(f.ip) ? [k] : [])], r.message);
      });
      const mp = macProblem(f.mac);
      if (mp) add([...at, 'mac'], mp);
      if (f.subnet !== undefined && !subnets.has(f.subnet)) add([...at, 'subnet'], `unknown subnet "${f.subnet}"; expected one of ${[...subnets.keys()].join(', ') || 'none defined'}`);
    });
  });
  t.security.rules.forEach((r, i) => {
    for (const side of ['src', 'dst'] as const) {
      const v = r[side];
      listOf(v).forEach((item, k) => {
        if (subnets.has(item) || instances.has(item)) return;
        const c = parseCidr(item);
        if (!c.ok) add(['security', 'rules', i, side, ...(Array.isArray(v) ? [k] : [])], `${c.message}, or the name of a subnet or instance`);
      });
    }
  });
}

type Iface = { name?: string; ip?: string | string[]; mac?: string; subnet?: string };

function interfacesOf(inst: Topology['instances'][number]): Iface[] {
  if (inst.interfaces) return inst.interfaces as Iface[];
  return [{ ...(inst.ip !== undefined ? { ip: inst.ip as string | string[] } : {}), ...(inst.mac !== undefined ? { mac: inst.mac } : {}), ...(inst.subnet !== undefined ? { subnet: inst.subnet } : {}) }];
}

/** Validate a production topology (parsed JSON); throws TopologyError with every problem. */
export function parseTopology(raw: unknown, source = 'topology'): Topology {
  const { value, problems } = schemaCheck(TopologySchema, raw ?? {});
  const out: ConfigProblem[] = problems.map((p) => ({ path: p.path, message: p.message }));
  if (out.length === 0) checkTopology(value as Topology, (segs, message) => out.push({ path: formatPath(segs), message }));
  if (out.length > 0) throw new TopologyError(out, source);
  return value as Topology;
}

// ---- translation -----------------------------------------------------------------

interface Map16 {
  family: 4 | 6;
  from: Uint8Array; // 16 bytes (IPv4 in the first 4)
  to: Uint8Array;
  len: number; // 0..32 or 0..128
}

/** The translation a config defines, as the data plane applies it. */
export class Translator {
  private readonly maps: Map16[];
  private readonly macs: Map<string, string>;

  constructor(config: Config) {
    this.maps = [];
    const v4 = (n: number) => Uint8Array.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
    for (const m of config.translate.ipv4) {
      const f = parsePrefix4(m.from);
      const t = parsePrefix4(m.to);
      if (typeof f === 'object' && typeof t === 'object') this.maps.push({ family: 4, from: v4(f.addr), to: v4(t.addr), len: f.len });
    }
    for (const m of config.translate.ipv6) {
      const f = parsePrefix6(m.from);
      const t = parsePrefix6(m.to);
      if (typeof f === 'object' && typeof t === 'object') this.maps.push({ family: 6, from: f.addr, to: t.addr, len: f.len });
    }
    for (const h of config.translate.hosts) {
      const f = parseAddress(h.from);
      const t = parseAddress(h.to);
      if (f.ok && t.ok && f.value.family === t.value.family) this.maps.push({ family: f.value.family, from: f.value.bytes, to: t.value.bytes, len: f.value.family === 4 ? 32 : 128 });
    }
    this.macs = new Map(config.translate.macs.map((m) => [m.from.toLowerCase(), m.to.toLowerCase()]));
  }

  private static agree(a: Uint8Array, b: Uint8Array, len: number): boolean {
    for (let bit = 0; bit < len; bit++) {
      const m = 0x80 >> (bit & 7);
      if ((a[bit >> 3]! & m) !== (b[bit >> 3]! & m)) return false;
    }
    return true;
  }

  private static splice(addr: Uint8Array, to: Uint8Array, len: number): Uint8Array {
    const out = new Uint8Array(addr);
    for (let bit = 0; bit < len; bit++) {
      const m = 0x80 >> (bit & 7);
      out[bit >> 3] = (out[bit >> 3]! & ~m) | (to[bit >> 3]! & m);
    }
    return out;
  }

  private static text(family: 4 | 6, b: Uint8Array): string {
    return family === 4 ? uint32ToIPv4(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) : bytesToIPv6(b);
  }

  /** Longest-prefix translation of one address; null when no map covers it. */
  address(text: string): string | null {
    const r = parseAddress(text);
    if (!r.ok) return null;
    const { family, bytes } = r.value;
    let best: Map16 | undefined;
    for (const m of this.maps) if (m.family === family && Translator.agree(bytes, m.from, m.len) && (!best || m.len > best.len)) best = m;
    if (!best) return null;
    return Translator.text(family, Translator.splice(bytes, best.to, best.len));
  }

  /**
   * A prefix: translated when one map covers it whole; null when a map
   * covers part of it only (`partial` then lists the shadow prefixes of the
   * maps inside it); 'outside' when it touches no map at all.
   */
  prefix(text: string): { kind: 'translated'; value: string } | { kind: 'outside' } | { kind: 'partial'; inside: string[] } {
    const c = parseCidr(text);
    if (!c.ok) return { kind: 'outside' };
    const family = c.value.family;
    const len = family === 4 ? c.value.len - 96 : c.value.len;
    const bytes = family === 4 ? c.value.addr.subarray(12) : c.value.addr;
    let best: Map16 | undefined;
    for (const m of this.maps) if (m.family === family && m.len <= len && Translator.agree(bytes, m.from, m.len) && (!best || m.len > best.len)) best = m;
    // Host overrides inside a prefix a broader map covers move single hosts elsewhere; the
    // prefix itself still translates by the broader map.
    if (best) return { kind: 'translated', value: `${Translator.text(family, Translator.splice(bytes, best.to, best.len))}/${len}` };
    const inside = this.maps.filter((m) => m.family === family && m.len > len && Translator.agree(bytes, m.from, len));
    if (inside.length === 0) return { kind: 'outside' };
    return { kind: 'partial', inside: inside.map((m) => `${Translator.text(family, m.to)}/${m.len}`) };
  }

  mac(text: string): string | null {
    return this.macs.get(text.toLowerCase()) ?? null;
  }
}

export interface UnmappedEntry {
  path: string;
  address: string;
  message: string;
}

export interface ShadowTopology {
  kind: typeof SHADOW_TOPOLOGY_KIND;
  name?: string;
  subnets: { name: string; cidr: string; gateway?: string; vlan?: number; production: { cidr: string; gateway?: string } }[];
  instances: {
    name: string;
    tags?: Record<string, string>;
    interfaces: { name?: string; ip: string[]; mac?: string; subnet?: string; production: { ip: string[]; mac?: string } }[];
  }[];
  /** in the config's `security` syntax, ready to paste (or to PUT as part of the policy) */
  security: SecurityInput;
  unmapped: UnmappedEntry[];
}

/** The shadow replica of a production topology, every address translated. */
export function exportShadowTopology(topo: Topology, config: Config): ShadowTopology {
  const tr = new Translator(config);
  const unmapped: UnmappedEntry[] = [];
  const addr = (text: string, path: string): string => {
    const t = tr.address(text);
    if (t === null) {
      unmapped.push({ path, address: text, message: `${text} is outside every map; kept as it is (add a map or a host override)` });
      return text;
    }
    return t;
  };

  const subnets = topo.subnets.map((s, i) => {
    const p = tr.prefix(s.cidr);
    let cidr = s.cidr;
    if (p.kind === 'translated') cidr = p.value;
    else unmapped.push({ path: `subnets[${i}].cidr`, address: s.cidr, message: p.kind === 'partial' ? `${s.cidr} is only partly inside the maps (${p.inside.join(', ')}); kept as it is` : `${s.cidr} is outside every map; kept as it is` });
    return {
      name: s.name,
      cidr,
      ...(s.gateway !== undefined ? { gateway: addr(s.gateway, `subnets[${i}].gateway`) } : {}),
      ...(s.vlan !== undefined ? { vlan: s.vlan } : {}),
      production: { cidr: s.cidr, ...(s.gateway !== undefined ? { gateway: s.gateway } : {}) },
    };
  });

  const instanceAddrs = new Map<string, string[]>();
  const instances = topo.instances.map((inst, i) => {
    const ifs = interfacesOf(inst);
    const all: string[] = [];
    const interfaces = ifs.map((f, j) => {
      const at = inst.interfaces ? `instances[${i}].interfaces[${j}]` : `instances[${i}]`;
      const ips = listOf(f.ip);
      all.push(...ips);
      const mac = f.mac === undefined ? undefined : (tr.mac(f.mac) ?? f.mac);
      return {
        ...(f.name !== undefined ? { name: f.name } : {}),
        ip: ips.map((ip, k) => addr(ip, `${at}.ip${Array.isArray(f.ip) ? `[${k}]` : ''}`)),
        ...(mac !== undefined ? { mac } : {}),
        ...(f.subnet !== undefined ? { subnet: f.subnet } : {}),
        production: { ip: [...ips], ...(f.mac !== undefined ? { mac: f.mac } : {}) },
      };
    });
    instanceAddrs.set(inst.name, all);
    return { name: inst.name, ...(inst.tags ? { tags: { ...inst.tags } } : {}), interfaces };
  });

  const subnetCidr = new Map(topo.subnets.map((s) => [s.name, s.cidr]));
  /** production side → shadow side list for a src/dst field */
  const side = (v: string | string[] | undefined): string[] | undefined => {
    if (v === undefined) return undefined;
    const out: string[] = [];
    for (const item of listOf(v)) {
      const expanded = subnetCidr.has(item) ? [subnetCidr.get(item)!] : instanceAddrs.has(item) ? instanceAddrs.get(item)! : [item];
      for (const e of expanded) {
        const p = tr.prefix(e.includes('/') ? e : `${e}/${e.includes(':') ? 128 : 32}`);
        if (p.kind === 'translated') out.push(e.includes('/') ? p.value : p.value.replace(/\/(32|128)$/, ''));
        else if (p.kind === 'outside') out.push(e);
        else out.push(e, ...p.inside);
      }
    }
    return [...new Set(out)];
  };

  const rules: SecurityRuleInput[] = topo.security.rules.map((r, i) => {
    const src = side(r.src as string | string[] | undefined);
    const dst = side(r.dst as string | string[] | undefined);
    const one = (l: string[] | undefined) => (l === undefined ? undefined : l.length === 1 ? l[0]! : l);
    const rule: Record<string, unknown> = { id: r.id ?? `rule-${i + 1}` };
    if (r.description !== undefined) rule['description'] = r.description;
    rule['action'] = r.action;
    if (r.ip_version !== undefined) rule['ip_version'] = r.ip_version;
    if (r.protocol !== undefined) rule['protocol'] = r.protocol;
    if (src !== undefined) rule['src'] = one(src);
    if (dst !== undefined) rule['dst'] = one(dst);
    if (r.src_ports !== undefined) rule['src_ports'] = r.src_ports;
    if (r.dst_ports !== undefined) rule['dst_ports'] = r.dst_ports;
    return rule as unknown as SecurityRuleInput;
  });

  return {
    kind: SHADOW_TOPOLOGY_KIND,
    ...(topo.name !== undefined ? { name: topo.name } : {}),
    subnets,
    instances,
    security: { enforce: true, default: topo.security.default, rules },
    unmapped,
  };
}

/** The exported security section checked as the config would check it. */
export function checkSecuritySection(security: SecurityInput): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  checkPolicySemantics({ security }, (segs, message) => out.push({ path: formatPath(segs), message }));
  return out;
}
