/**
 * Config → the flat NativeMeasure the binding's measureInstall takes
 * (native/dataplane/stages/measure.h, struct st_meas_conf). Each VM's shadow
 * prefix is its production prefix through the translate maps (host overrides
 * first, then the longest map that covers it), so that production and shadow
 * series carry the same vm label.
 */
import type { Config } from '../config/schema.js';
import { parseVmPrefix, type ParsedVmPrefix } from '../config/measurement.js';
import { parseAddress } from '../policy/fields.js';
import { parsePrefix4, parsePrefix6 } from '../policy/prefix.js';
import { expandFilter, nativeMatch, problems } from '../policy/expand.js';
import { PolicyError, stError } from '../errors.js';
import { NATIVE_DETECTORS, type NativeClassRule, type NativeMeasure } from './measure-types.js';

export * from './measure-types.js';

function bytes16(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(b.subarray(0, 16));
  return out;
}

function maskBits(src: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(src);
  for (let bit = len; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

function covers(net: Uint8Array, netLen: number, addr: Uint8Array): boolean {
  for (let bit = 0; bit < netLen; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((net[bit >> 3]! & m) !== (addr[bit >> 3]! & m)) return false;
  }
  return true;
}

/** The shadow prefix of a VM's production prefix under the config's maps. */
export function shadowPrefix(config: Config, p: ParsedVmPrefix): ParsedVmPrefix {
  for (const h of config.translate.hosts) {
    const from = parseAddress(h.from);
    const to = parseAddress(h.to);
    if (!from.ok || !to.ok || (from.value.family === 6) !== p.v6) continue;
    if (p.len === from.value.bytes.length * 8 && covers(from.value.bytes, p.len, p.bytes)) return { v6: p.v6, bytes: to.value.bytes, len: p.len };
  }
  let best: { from: Uint8Array; to: Uint8Array; len: number } | null = null;
  for (const m of p.v6 ? config.translate.ipv6 : config.translate.ipv4) {
    const from = p.v6 ? parsePrefix6(m.from) : parsePrefix4(m.from);
    const to = p.v6 ? parsePrefix6(m.to) : parsePrefix4(m.to);
    if (typeof from === 'string' || typeof to === 'string') continue;
    const fb = from.family === 6 ? from.addr : Uint8Array.from([from.addr >>> 24, (from.addr >>> 16) & 255, (from.addr >>> 8) & 255, from.addr & 255]);
    const tb = to.family === 6 ? to.addr : Uint8Array.from([to.addr >>> 24, (to.addr >>> 16) & 255, (to.addr >>> 8) & 255, to.addr & 255]);
    if (from.len <= p.len && covers(fb, from.len, p.bytes) && (best === null || from.len > best.len)) best = { from: fb, to: tb, len: from.len };
  }
  if (best === null) return p;
  const out = new Uint8Array(p.bytes);
  for (let bit = 0; bit < best.len; bit++) {
    const m = 0x80 >> (bit & 7);
    out[bit >> 3] = (out[bit >> 3]! & ~m) | (best.to[bit >> 3]! & m);
  }
  return { v6: p.v6, bytes: maskBits(out, p.len), len: p.len };
}

function addrBytes(list: readonly string[], field: string): Uint8Array[] {
  return list.map((x, i) => {
    const a = parseAddress(x);
    if (!a.ok) throw stError('ST_ERR_PLAN_INVALID', `"${x}" is not an IP address`, { field: `${field}[${i}]` });
    return bytes16(a.value.bytes);
  });
}

/**
 * The measure stage's class table: each class expanded exactly as a filter
 * rule `app: <class>` is (policy/expand.ts), so "dns" means the same packets
 * to the classifier and to the measure stage. Rules go class by class; the
 * session field carries the class's index.
 */
export function classRules(classes: readonly string[]): NativeClassRule[] {
  const found = problems();
  const out: NativeClassRule[] = [];
  classes.forEach((name, i) => {
    const flats = expandFilter({ action: 'accept', app: name } as Parameters<typeof expandFilter>[0], `measurement.classes[${i}]`, found, () => -1);
    for (const f of flats) out.push({ session: i, ruleSlot: 0, action: 0, ...nativeMatch(f) });
  });
  if (found.list.length > 0) throw new PolicyError(found.list);
  return out;
}

/** The native measure configuration, or null when measurement is off. */
export function compileMeasure(config: Config): NativeMeasure | null {
  const m = config.measurement;
  if (!m.enabled) return null;
  const d = m.detectors;
  const vms = m.vms.map((v, i) => {
    const p = parseVmPrefix(v.prefix);
    // load.ts refuses these; a Config built another way must not reach C.
    if (typeof p === 'string') throw stError('ST_ERR_PLAN_INVALID', p, { field: `measurement.vms[${i}].prefix` });
    const s = shadowPrefix(config, p);
    return { v6: p.v6, production: bytes16(maskBits(p.bytes, p.len)), productionLen: p.len, shadow: bytes16(s.bytes), shadowLen: s.len };
  });
  return {
    workers: config.dataplane.workers,
    classes: [...m.classes],
    classRules: classRules(m.classes),
    flows: m.flows,
    flowIdleMs: m.flow_idle_s * 1000,
    shadowTx: m.shadow_tx,
    vms,
    detectors: NATIVE_DETECTORS.map((k) => (d[k] ? 1 : 0)),
    arpNewStation: d.arp_new_station,
    garpPerSecond: d.garp_per_second,
    scanPorts: d.scan_ports,
    scanHosts: d.scan_hosts,
    scanWindowMs: d.scan_window_s * 1000,
    synMin: d.syn_flood_min,
    synRatioPct: d.syn_flood_answer_pct,
    synWindowMs: d.syn_flood_window_ms,
    repeatMs: d.repeat_s * 1000,
    dhcpAllow: addrBytes(d.dhcp_allow, 'measurement.detectors.dhcp_allow'),
    dhcp6Allow: addrBytes(d.dhcpv6_allow, 'measurement.detectors.dhcpv6_allow'),
    raAllow: addrBytes(d.ra_allow, 'measurement.detectors.ra_allow'),
  };
}

/** The class labels of a configuration's series: each class listed, then "other". */
export function classLabels(config: Config): string[] {
  return [...config.measurement.classes, 'other'];
}

/** The VM labels of a configuration's series: each VM's name, then "other". */
export function vmLabels(config: Config): string[] {
  return [...config.measurement.vms.map((v) => v.name), 'other'];
}
