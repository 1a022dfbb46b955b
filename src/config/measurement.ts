/**
 * The `measurement` section of the configuration (docs/measurement.md,
 * docs/detection.md): the measure stage (flow table, VMs) and the detectors
 * with their thresholds and allow lists. The schema lives here, ConfigSchema
 * includes it; `measurementProblems` adds the checks JSON Schema cannot say
 * (a power of two, addresses and prefixes), with the field named.
 */
import { Type, type Static } from '@sinclair/typebox';
import { bool, expect, int, oneOf } from '../policy/schema-helpers.js';
import { parsePrefix4, parsePrefix6 } from '../policy/prefix.js';
import { parseAddress } from '../policy/fields.js';
import { APP_NAMES } from '../policy/apps.js';

type Segment = string | number;

const addrList = (what: string) =>
  expect(
    Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 32, description: `${what}; anything else seen answering is reported.` }),
    'a list of up to 32 IP addresses',
  );

export const MeasurementVmSchema = Type.Object(
  {
    name: expect(Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,62}$', description: 'The VM label on every series of this VM.' }), 'a name of 1 to 63 characters: lower-case letters, digits, "_", "-" or "."'),
    prefix: expect(Type.String({ minLength: 1, maxLength: 64, description: 'Its production address or prefix (10.1.0.5, 10.1.0.0/24); the shadow side is matched through the translate maps, so both sides share the label.' }), 'an IPv4 or IPv6 address or prefix, e.g. 10.1.0.5 or 10.1.0.0/24'),
  },
  { additionalProperties: false },
);

export const DetectorsSchema = Type.Object(
  {
    arp_spoof: bool(true, 'Report an IP address whose ARP binding changes to another MAC (changed, warning) or back to the MAC before (flip_flop, critical).'),
    arp_new_station: bool(false, 'Also report the first ARP sighting of each IP address (new_station, info).'),
    garp_storm: bool(true, 'Report gratuitous ARPs above garp_per_second.'),
    garp_per_second: int(1, 1000000, 50, 'Gratuitous ARPs within one second that make a storm.'),
    rogue_dhcp: bool(false, 'Report DHCP offers and acks from servers not in dhcp_allow.'),
    dhcp_allow: addrList('DHCP servers (server identifier or source address) allowed to offer'),
    rogue_dhcpv6: bool(false, 'Report DHCPv6 advertise and reply messages from servers not in dhcpv6_allow.'),
    dhcpv6_allow: addrList('DHCPv6 servers (source address) allowed to advertise'),
    rogue_ra: bool(false, 'Report IPv6 router advertisements from routers not in ra_allow.'),
    ra_allow: addrList('Routers (link-local source address) allowed to advertise'),
    port_scan: bool(true, 'Report a source that tries scan_ports distinct ports on one host within scan_window_s (TCP SYNs).'),
    host_scan: bool(true, 'Report a source that tries scan_hosts distinct hosts on one port within scan_window_s (TCP SYNs).'),
    scan_ports: int(1, 64, 15, 'Distinct ports for a port scan (Zeek: 15).'),
    scan_hosts: int(1, 64, 25, 'Distinct hosts for a host scan (Zeek: 25).'),
    scan_window_s: int(1, 86400, 300, 'The scan window in seconds (Zeek: 5 minutes).'),
    syn_flood: bool(true, 'Report a destination that gets syn_flood_min SYNs within syn_flood_window_ms while it answers fewer than syn_flood_answer_pct % of them with a SYN/ACK.'),
    syn_flood_min: int(1, 100000000, 200, 'SYNs to one destination within the window before a flood can be reported.'),
    syn_flood_answer_pct: int(0, 100, 50, 'A flood answers fewer than this percentage of its SYNs.'),
    syn_flood_window_ms: int(1, 86400000, 1000, 'The SYN flood window in milliseconds.'),
    rate_anomaly: bool(true, 'Report a class (protocol and VM) whose packet rate is far from its moving baseline (robust z-score: median and MAD).'),
    rate_z: expect(Type.Number({ minimum: 1, maximum: 1000, default: 6, description: 'The robust z-score (0.6745 (x - median) / MAD) beyond which a rate is anomalous.' }), 'a number from 1 to 1000'),
    rate_baseline_s: int(10, 86400, 300, 'Seconds of 1 s rates in the moving baseline.'),
    rate_min_baseline_s: int(5, 86400, 30, 'Seconds of baseline needed before a class is judged.'),
    rate_min_pps: int(0, 1000000000, 10, 'Rates below this (packets/s), in the sample and the baseline median, are never anomalous.'),
    repeat_s: int(0, 86400, 60, 'The same rogue server, or the same ARP binding change (IP, new MAC, old MAC), is reported again after this many seconds.'),
    events_per_second: int(1, 10000, 10, 'Detections published per second (token bucket) to the event feed and the list; the rest are counted as suppressed.'),
    events_burst: int(1, 100000, 50, 'The token bucket\'s size.'),
    keep: int(10, 100000, 1000, 'Detections kept for GET /v1/detections.'),
  },
  { additionalProperties: false, default: {}, description: 'The detectors (docs/detection.md).' },
);

export const MeasurementSchema = Type.Object(
  {
    enabled: bool(false, 'Run the measure stage on production rx (as mirrored) and shadow rx, and the detectors on production rx.'),
    flows: int(64, 4194304, 16384, 'Flow table entries per worker (a power of two); when full, the least recently seen flow of a set is evicted and counted.'),
    flow_idle_s: int(1, 86400, 120, 'A flow unseen for this long is expired.'),
    shadow_tx: bool(true, 'Also measure the copies as they leave for the replica (the shadow side\'s outgoing half: its SYNs and TSvals), so that what the replica answers on a shadow port gives shadow RTTs. Turn it off when a shadow port receives a full copy of the replica\'s traffic (a SPAN), which already holds the copies.'),
    vms: expect(
      Type.Array(MeasurementVmSchema, { default: [], maxItems: 64, description: 'VMs (hosts or prefixes) with their own series; the rest is vm="other".' }),
      'a list of up to 64 VMs (name, prefix)',
    ),
    classes: expect(
      Type.Array(oneOf(APP_NAMES, { description: 'An application class (src/policy/apps.ts, docs/policy.md).' }), {
        default: [...APP_NAMES],
        maxItems: 63,
        uniqueItems: true,
        description: 'Application classes with their own packet and byte series (class label), classified by the same definitions as a filter rule\'s app; a packet of none of them is class="other", and a packet of several counts under the first listed. Empty: no class series (and no per-packet classification). Default: every class.',
      }),
      `a list of up to 63 distinct application classes (${APP_NAMES.join(', ')})`,
    ),
    detectors: DetectorsSchema,
  },
  { additionalProperties: false, default: {}, description: 'Passive measurement and detection (docs/measurement.md, docs/detection.md).' },
);

export type MeasurementInput = Static<typeof MeasurementSchema>;

export interface ParsedVmPrefix {
  v6: boolean;
  bytes: Uint8Array;
  len: number;
}

/** "10.1.0.5" or "10.1.0.0/24" (v4 or v6) as bytes and length; a string says what is wrong. */
export function parseVmPrefix(text: string): ParsedVmPrefix | string {
  if (!text.includes('/')) {
    const a = parseAddress(text);
    if (!a.ok) return `"${text}" is not an IP address or prefix; expected e.g. 10.1.0.5 or 10.1.0.0/24`;
    return { v6: a.value.family === 6, bytes: a.value.bytes, len: a.value.family === 6 ? 128 : 32 };
  }
  const p4 = parsePrefix4(text);
  if (typeof p4 !== 'string') {
    const b = Uint8Array.from([p4.addr >>> 24, (p4.addr >>> 16) & 255, (p4.addr >>> 8) & 255, p4.addr & 255]);
    return { v6: false, bytes: b, len: p4.len };
  }
  const p6 = parsePrefix6(text);
  if (typeof p6 !== 'string') return { v6: true, bytes: p6.addr, len: p6.len };
  if (p4 === 'host_bits' || p6 === 'host_bits') return `"${text}" has host bits set past its length; expected a network prefix such as 10.1.0.0/24`;
  return `"${text}" is not an IP address or prefix; expected e.g. 10.1.0.5 or 10.1.0.0/24`;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What the schema cannot check, each problem with its path. */
export function measurementProblems(cfg: Record<string, unknown>, add: (segments: Segment[], message: string) => void): void {
  const m = cfg['measurement'];
  if (!isObj(m)) return;
  const flows = m['flows'];
  if (typeof flows === 'number' && Number.isInteger(flows) && (flows & (flows - 1)) !== 0) {
    add(['measurement', 'flows'], `${flows} is not a power of two; expected e.g. 16384`);
  }
  if (Array.isArray(m['vms'])) {
    const names = new Map<string, number>();
    m['vms'].forEach((v, i) => {
      if (!isObj(v)) return;
      if (typeof v['prefix'] === 'string') {
        const p = parseVmPrefix(v['prefix']);
        if (typeof p === 'string') add(['measurement', 'vms', i, 'prefix'], p);
      }
      if (typeof v['name'] === 'string') {
        const j = names.get(v['name']);
        if (j !== undefined) add(['measurement', 'vms', i, 'name'], `"${v['name']}" is already the name of measurement.vms[${j}]; expected a unique name`);
        else names.set(v['name'], i);
        if (v['name'] === 'other') add(['measurement', 'vms', i, 'name'], '"other" is the label of traffic outside every VM; expected another name');
      }
    });
  }
  const d = m['detectors'];
  if (isObj(d)) {
    for (const [key, family] of [['dhcp_allow', 4], ['dhcpv6_allow', 6], ['ra_allow', 6]] as const) {
      const list = d[key];
      if (!Array.isArray(list)) continue;
      list.forEach((x, i) => {
        if (typeof x !== 'string') return;
        const a = parseAddress(x);
        if (!a.ok || a.value.family !== family) add(['measurement', 'detectors', key, i], `"${x}" is not an IPv${family} address; expected e.g. ${family === 4 ? '10.0.0.1' : 'fe80::1'}`);
      });
    }
    const minB = d['rate_min_baseline_s'], base = d['rate_baseline_s'];
    if (typeof minB === 'number' && typeof base === 'number' && minB > base) {
      add(['measurement', 'detectors', 'rate_min_baseline_s'], `${minB} is longer than rate_baseline_s (${base}); expected at most ${base}`);
    }
  }
}
