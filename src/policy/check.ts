/**
 * What the policy schema cannot say: address, range, protocol and
 * signature syntax, names that must refer to ports and targets, duplicate
 * ids, contradictions inside a rule. Called by the config loader with the
 * defaulted (but possibly invalid) configuration; written defensively, so
 * a field of the wrong type is skipped here (the schema reports it).
 *
 * Every problem names its field path and what was expected.
 */
import { MAC_PATTERN } from './schema-helpers.js';
import { POLICY_LIMITS } from '../dataplane/native-types.js';
import {
  parseAddress,
  parseCidr,
  parseEthertype,
  parseHex,
  parsePortSpec,
  parseProtocol,
  parseVlan,
  PORT_PROTOCOLS,
  MAX_SIGNATURE_BYTES,
  ETHERTYPE_NAMES,
} from './fields.js';

export type Segment = string | number;
export type AddProblem = (segments: Segment[], message: string) => void;

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export interface PortView {
  name: string;
  role: unknown;
  egress: unknown;
}

function portsOf(cfg: Record<string, unknown>): PortView[] {
  const ports = Array.isArray(cfg['ports']) ? (cfg['ports'] as unknown[]) : [];
  return ports.filter(isObj).filter((p) => isStr(p['name'])).map((p) => ({ name: p['name'] as string, role: p['role'], egress: p['egress'] }));
}

/**
 * A tunnel endpoint the data plane can use (encap_ctl.c refuses the same):
 * never unspecified; the source, which the shadow side answers to, unicast.
 */
function endpointProblem(side: 'src' | 'dst', text: string, family: 4 | 6, b: Uint8Array): string | null {
  const who = side === 'src' ? "the local tunnel endpoint's" : "the remote tunnel endpoint's";
  if (b.every((x) => x === 0)) return `"${text}" is the unspecified address; expected ${who} unicast address`;
  if (side === 'dst') return null;
  if (family === 4 ? b[0]! >> 4 === 0xe : b[0] === 0xff) return `"${text}" is a multicast address; expected ${who} unicast address`;
  if (family === 4 && b.every((x) => x === 255)) return `"${text}" is the broadcast address; expected ${who} unicast address`;
  return null;
}

/** A unicast, non-zero MAC; syntax is the schema's. */
export function macProblem(value: unknown): string | null {
  if (!isStr(value) || !new RegExp(MAC_PATTERN).test(value)) return null;
  const octets = value.split(':').map((h) => parseInt(h, 16));
  if (octets[0]! & 1) return `"${value}" is a multicast/broadcast address; expected a unicast MAC (first octet even) such as "02:53:48:00:00:01"`;
  if (octets.every((o) => o === 0)) return `"${value}" is the all-zero address; expected a unicast MAC such as "02:53:48:00:00:01"`;
  return null;
}

/** Check an address-or-list field; returns the families seen (for conflict checks). */
function checkAddresses(value: unknown, at: Segment[], add: AddProblem): Set<4 | 6> {
  const families = new Set<4 | 6>();
  if (value === undefined) return families;
  const list = Array.isArray(value) ? value : [value];
  list.forEach((item, i) => {
    if (!isStr(item)) return;
    const r = parseCidr(item);
    if (!r.ok) add(Array.isArray(value) ? [...at, i] : at, r.message);
    else families.add(r.value.family);
  });
  return families;
}

function checkPorts(value: unknown, at: Segment[], add: AddProblem): void {
  if (value === undefined) return;
  const list = Array.isArray(value) ? value : [value];
  list.forEach((item, i) => {
    if (!isStr(item) && !isInt(item)) return;
    const r = parsePortSpec(item);
    if (!r.ok) add(Array.isArray(value) ? [...at, i] : at, r.message);
  });
}

/** Fields shared by filter rules and security rules. */
function checkFiveTuple(rule: Record<string, unknown>, at: Segment[], add: AddProblem): { proto: number | null; families: Set<4 | 6> } {
  let proto: number | null = null;
  const p = rule['protocol'];
  if (isStr(p) || isInt(p)) {
    const r = parseProtocol(p);
    if (!r.ok) add([...at, 'protocol'], r.message);
    else proto = r.value;
  }
  const srcF = checkAddresses(rule['src'], [...at, 'src'], add);
  const dstF = checkAddresses(rule['dst'], [...at, 'dst'], add);
  checkPorts(rule['src_ports'], [...at, 'src_ports'], add);
  checkPorts(rule['dst_ports'], [...at, 'dst_ports'], add);
  const families = new Set<4 | 6>();
  const ipv = rule['ip_version'];
  // A rule with one family on each side can never match: say so now.
  if (srcF.size === 1 && dstF.size === 1 && [...srcF][0] !== [...dstF][0]) {
    add([...at, 'dst'], `IPv${[...dstF][0]} destination with an IPv${[...srcF][0]} source never matches; expected addresses of the same family`);
  }
  for (const f of [...srcF, ...dstF]) families.add(f);
  if ((ipv === 4 || ipv === 6) && families.size > 0 && !families.has(ipv)) {
    add([...at, 'ip_version'], `ip_version ${ipv} contradicts the IPv${[...families][0]} addresses of this rule; expected ${[...families][0]} or no ip_version`);
  }
  if (proto !== null && !PORT_PROTOCOLS.has(proto) && (rule['src_ports'] !== undefined || rule['dst_ports'] !== undefined)) {
    add([...at, rule['dst_ports'] !== undefined ? 'dst_ports' : 'src_ports'], `ports need a protocol that carries them (tcp, udp, sctp, udplite); protocol ${String(p)} has none`);
  }
  return { proto, families };
}

function checkSignature(sig: unknown, at: Segment[], add: AddProblem): void {
  if (!isObj(sig)) return;
  const bytes = sig['bytes'];
  const text = sig['text'];
  if (bytes !== undefined && text !== undefined) {
    add([...at, 'text'], 'give the value either as bytes (hex) or as text, not both');
    return;
  }
  if (bytes === undefined && text === undefined) {
    add(at, 'missing the value; expected bytes (hex, such as "474554") or text (such as "GET ")');
    return;
  }
  let len = 0;
  let value: Uint8Array | null = null;
  if (isStr(bytes)) {
    const r = parseHex(bytes, 'bytes');
    if (!r.ok) {
      add([...at, 'bytes'], r.message);
      return;
    }
    value = r.value;
  } else if (isStr(text)) {
    if (!/^[\x20-\x7e]*$/.test(text)) {
      add([...at, 'text'], `"${text}" has non-printable or non-ASCII characters; expected printable ASCII, or use bytes (hex)`);
      return;
    }
    value = Uint8Array.from(Buffer.from(text, 'latin1'));
  }
  if (!value) return;
  len = value.length;
  const field = isStr(bytes) ? 'bytes' : 'text';
  if (len > MAX_SIGNATURE_BYTES) {
    add([...at, field], `${len} bytes is too long; expected 1 to ${MAX_SIGNATURE_BYTES} bytes`);
    return;
  }
  const mask = sig['mask'];
  if (isStr(mask)) {
    const m = parseHex(mask, 'mask');
    if (!m.ok) {
      add([...at, 'mask'], m.message);
      return;
    }
    if (m.value.length !== len) {
      add([...at, 'mask'], `${m.value.length} byte${m.value.length === 1 ? '' : 's'} of mask for ${len} byte${len === 1 ? '' : 's'} of value; expected a mask as long as the value`);
      return;
    }
    for (let i = 0; i < len; i++) {
      if ((value[i]! & ~m.value[i]!) !== 0) {
        add([...at, 'mask'], `value byte ${i} (0x${value[i]!.toString(16).padStart(2, '0')}) has bits the mask (0x${m.value[i]!.toString(16).padStart(2, '0')}) clears, so it can never match; expected value bits only where the mask has ones`);
        return;
      }
    }
  }
}

function checkFilter(rule: Record<string, unknown>, at: Segment[], add: AddProblem): void {
  const et = rule['ethertype'];
  let ethertype: number | null = null;
  if (isStr(et) || isInt(et)) {
    const r = parseEthertype(et);
    if (!r.ok) add([...at, 'ethertype'], r.message);
    else ethertype = r.value;
  }
  const vlan = rule['vlan'];
  if (isStr(vlan) || isInt(vlan)) {
    const r = parseVlan(vlan);
    if (!r.ok) add([...at, 'vlan'], r.message);
  }
  const { proto, families } = checkFiveTuple(rule, at, add);
  const ipv = rule['ip_version'];
  if (ethertype !== null) {
    const ipEt = ethertype === ETHERTYPE_NAMES['ipv4'] ? 4 : ethertype === ETHERTYPE_NAMES['ipv6'] ? 6 : null;
    if (ipEt === null) {
      const ipField = ['ip_version', 'protocol', 'src', 'dst', 'src_ports', 'dst_ports', 'tcp_flags'].find((k) => rule[k] !== undefined);
      if (ipField) add([...at, ipField], `${ipField} needs an IP packet, but ethertype ${String(et)} is not IPv4 or IPv6; expected no ${ipField}, or ethertype ipv4/ipv6`);
    } else {
      if ((ipv === 4 || ipv === 6) && ipv !== ipEt) add([...at, 'ip_version'], `ip_version ${ipv} contradicts ethertype ${String(et)}; expected ${ipEt}`);
      else if (families.size > 0 && !families.has(ipEt)) add([...at, 'ethertype'], `ethertype ${String(et)} contradicts the IPv${[...families][0]} addresses of this rule`);
    }
  }
  const flags = rule['tcp_flags'];
  if (isObj(flags)) {
    const set = Array.isArray(flags['set']) ? (flags['set'] as unknown[]) : [];
    const unset = Array.isArray(flags['unset']) ? (flags['unset'] as unknown[]) : [];
    const both = set.filter((f) => unset.includes(f));
    if (both.length > 0) add([...at, 'tcp_flags', 'unset'], `${both.join(', ')} cannot be both set and unset`);
    if (set.length === 0 && unset.length === 0) add([...at, 'tcp_flags'], 'empty; expected at least one flag under set or unset');
    if (proto !== null && proto !== 6) add([...at, 'tcp_flags'], `tcp_flags need protocol tcp; this rule has protocol ${String(rule['protocol'])}`);
  }
  if (rule['signature'] !== undefined) checkSignature(rule['signature'], [...at, 'signature'], add);
}

/** The policy checks; `add` records a problem at a field path. */
export function checkPolicySemantics(cfg: Record<string, unknown>, add: AddProblem): void {
  const ports = portsOf(cfg);
  const byName = new Map(ports.map((p) => [p.name, p]));
  const mode = cfg['mode'];
  const shadowNames = ports.filter((p) => p.role === 'shadow').map((p) => p.name);
  const sourceNames = ports.filter((p) => p.role !== 'shadow').map((p) => p.name);

  // ---- targets
  const targets = Array.isArray(cfg['targets']) ? (cfg['targets'] as unknown[]) : [];
  const targetNames = new Map<string, number>();
  targets.forEach((t, i) => {
    if (!isObj(t)) return;
    const at: Segment[] = ['targets', i];
    const name = t['name'];
    if (isStr(name)) {
      const first = targetNames.get(name);
      if (first !== undefined) add([...at, 'name'], `duplicate target name "${name}" (also targets[${first}].name); expected unique names`);
      else targetNames.set(name, i);
    }
    const tports = t['ports'];
    if (Array.isArray(tports)) {
      const seen = new Set<string>();
      tports.forEach((pn, j) => {
        if (!isStr(pn)) return;
        const port = byName.get(pn);
        if (!port) add([...at, 'ports', j], `unknown port "${pn}"; expected a shadow port (one of ${shadowNames.join(', ') || 'none defined'})`);
        else if (port.role !== 'shadow') add([...at, 'ports', j], `"${pn}" is a ${String(port.role)} port; expected a shadow port (one of ${shadowNames.join(', ') || 'none defined'}): copies never go to production`);
        else if (seen.has(pn)) add([...at, 'ports', j], `"${pn}" is listed twice`);
        seen.add(pn);
      });
    }
    const encap = t['encap'];
    if (isObj(encap)) {
      for (const kind of ['vxlan', 'geneve'] as const) {
        const tun = encap[kind];
        if (!isObj(tun) || !isObj(tun['outer'])) continue;
        const outer = tun['outer'];
        const oat: Segment[] = [...at, 'encap', kind, 'outer'];
        const fam: (4 | 6 | null)[] = [];
        for (const side of ['src', 'dst'] as const) {
          const v = outer[side];
          if (!isStr(v)) {
            fam.push(null);
            continue;
          }
          const r = parseAddress(v);
          if (!r.ok) {
            add([...oat, side], r.message);
            fam.push(null);
          } else {
            fam.push(r.value.family);
            const problem = endpointProblem(side, v, r.value.family, r.value.bytes);
            if (problem) add([...oat, side], problem);
          }
        }
        if (fam[0] && fam[1] && fam[0] !== fam[1]) add([...oat, 'dst'], `IPv${fam[1]} destination with an IPv${fam[0]} source; expected both IPv4 or both IPv6`);
        for (const m of ['src_mac', 'dst_mac'] as const) {
          const problem = macProblem(outer[m]);
          if (problem) add([...oat, m], problem);
        }
      }
    }
  });

  // ---- sessions
  const targetsNamed = Array.isArray(cfg['targets']) && (cfg['targets'] as unknown[]).every((t) => isObj(t) && isStr(t['name']));
  const sessions = cfg['sessions'];
  if (Array.isArray(sessions)) {
    const ids = new Map<number, number>();
    sessions.forEach((s, i) => {
      if (!isObj(s)) return;
      const at: Segment[] = ['sessions', i];
      const id = s['id'];
      if (isInt(id)) {
        const first = ids.get(id);
        if (first !== undefined) add([...at, 'id'], `duplicate session id ${id} (also sessions[${first}].id); expected unique ids`);
        else ids.set(id, i);
      }
      const sources = s['sources'];
      if (Array.isArray(sources)) {
        sources.forEach((src, j) => {
          if (!isObj(src) || !isStr(src['port'])) return;
          const pn = src['port'];
          const port = byName.get(pn);
          if (!port) {
            add([...at, 'sources', j, 'port'], `unknown port "${pn}"; expected a production or egress port (one of ${sourceNames.join(', ') || 'none defined'})`);
            return;
          }
          if (port.role === 'shadow') {
            add([...at, 'sources', j, 'port'], `"${pn}" is a shadow port; expected a production or egress port (one of ${sourceNames.join(', ')}): shadow traffic is never mirrored`);
            return;
          }
          if (src['direction'] === 'tx') {
            if (mode === 'tap') {
              add([...at, 'sources', j, 'direction'], 'tx: tap mode forwards nothing, so no packet leaves a port; expected rx');
            } else if (!ports.some((p) => p.egress === pn)) {
              add([...at, 'sources', j, 'direction'], `tx: no port forwards to "${pn}" (no port has egress: ${pn}); expected rx, or a port that is another port's egress`);
            }
          }
        });
      }
      const snaplen = s['snaplen'];
      if (isInt(snaplen) && snaplen > 0 && snaplen < 64) {
        add([...at, 'snaplen'], `${snaplen} bytes is too short; expected 0 (whole frame) or 64 to 65535`);
      }
      const target = s['target'];
      // Only when every target has a name: otherwise the targets' own problem says it all.
      if (isStr(target) && targetsNamed && !targetNames.has(target)) {
        add(
          [...at, 'target'],
          targetNames.size === 0
            ? `unknown target "${target}"; no targets are defined (add it under targets, or leave target out to send to every shadow port)`
            : `unknown target "${target}"; expected one of ${[...targetNames.keys()].join(', ')}`,
        );
      }
      const filters = s['filters'];
      if (Array.isArray(filters)) {
        const ruleIds = new Map<string, number>();
        filters.forEach((f, j) => {
          if (!isObj(f)) return;
          const fat: Segment[] = [...at, 'filters', j];
          const rid = f['id'];
          if (isStr(rid)) {
            const first = ruleIds.get(rid);
            if (first !== undefined) add([...fat, 'id'], `duplicate rule id "${rid}" in this session (also filters[${first}].id); expected unique ids`);
            else ruleIds.set(rid, j);
            // A default id is the 1-based position: an explicit numeric id could collide with one.
            if (/^[0-9]+$/.test(rid) && Number(rid) !== j + 1) add([...fat, 'id'], `"${rid}" looks like another rule's position; expected a non-numeric id such as "web-in"`);
          }
          checkFilter(f, fat, add);
        });
      }
    });
  }

  // ---- translate: host overrides, MAC maps, total map count
  const tr = cfg['translate'];
  if (isObj(tr)) {
    const hosts = Array.isArray(tr['hosts']) ? (tr['hosts'] as unknown[]) : [];
    const seen = new Map<string, number>();
    const count = { 4: 0, 6: 0 };
    hosts.forEach((h, i) => {
      if (!isObj(h)) return;
      const fam: (4 | 6 | null)[] = [];
      for (const side of ['from', 'to'] as const) {
        const v = h[side];
        if (!isStr(v)) {
          fam.push(null);
          continue;
        }
        const r = parseAddress(v);
        if (!r.ok) {
          add(['translate', 'hosts', i, side], v.includes('/') ? `"${v}" is a prefix; expected one address (prefixes go under translate.ipv4/ipv6)` : r.message);
          fam.push(null);
          continue;
        }
        fam.push(r.value.family);
        if (side === 'from') {
          const key = Buffer.from(r.value.bytes).toString('hex');
          const first = seen.get(key);
          if (first !== undefined) add(['translate', 'hosts', i, 'from'], `${v} is already overridden by translate.hosts[${first}]; expected each address once`);
          else seen.set(key, i);
          count[r.value.family]++;
        }
      }
      if (fam[0] && fam[1] && fam[0] !== fam[1]) add(['translate', 'hosts', i, 'to'], `IPv${fam[1]} address for an IPv${fam[0]} host; expected the same family`);
    });
    const maps4 = Array.isArray(tr['ipv4']) ? tr['ipv4'].length : 0;
    const maps6 = Array.isArray(tr['ipv6']) ? tr['ipv6'].length : 0;
    if (maps4 + count[4] > POLICY_LIMITS.maps) add(['translate', 'hosts'], `${maps4} IPv4 prefix maps and ${count[4]} IPv4 host overrides exceed ${POLICY_LIMITS.maps} IPv4 maps in all`);
    if (maps6 + count[6] > POLICY_LIMITS.maps) add(['translate', 'hosts'], `${maps6} IPv6 prefix maps and ${count[6]} IPv6 host overrides exceed ${POLICY_LIMITS.maps} IPv6 maps in all`);

    const macs = Array.isArray(tr['macs']) ? (tr['macs'] as unknown[]) : [];
    const seenMac = new Map<string, number>();
    macs.forEach((m, i) => {
      if (!isObj(m)) return;
      const from = m['from'];
      if (isStr(from) && new RegExp(MAC_PATTERN).test(from)) {
        const key = from.toLowerCase();
        const first = seenMac.get(key);
        if (first !== undefined) add(['translate', 'macs', i, 'from'], `${from} is already mapped by translate.macs[${first}]; expected each MAC once`);
        else seenMac.set(key, i);
        if (/^(00:){5}00$/.test(key)) add(['translate', 'macs', i, 'from'], `"${from}" is the all-zero address; expected a MAC seen in production`);
      }
      const problem = macProblem(m['to']);
      if (problem) add(['translate', 'macs', i, 'to'], problem);
    });
  }

  // ---- security rules
  const sec = cfg['security'];
  if (isObj(sec) && Array.isArray(sec['rules'])) {
    const ids = new Map<string, number>();
    (sec['rules'] as unknown[]).forEach((r, i) => {
      if (!isObj(r)) return;
      const rid = r['id'];
      if (isStr(rid)) {
        const first = ids.get(rid);
        if (first !== undefined) add(['security', 'rules', i, 'id'], `duplicate rule id "${rid}" (also security.rules[${first}].id); expected unique ids`);
        else ids.set(rid, i);
      }
      checkFiveTuple(r, ['security', 'rules', i], add);
    });
  }
}
