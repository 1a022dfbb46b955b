/**
 * The measurement service (the supervisor's side of issue 16) with snapshots
 * shaped as the binding gives them: the rate anomaly detector (robust
 * z-score), the rate limit, counters kept across restarts, /metrics with the
 * same labels on both sides, GET /v1/detections, and the configuration's
 * errors naming the field.
 */
import test from 'ava';
import Fastify from 'fastify';
import pino from 'pino';
import app from '../../src/api/app.js';
import { checkConfig, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { MEASURE_PROTOCOLS, MEASURE_RTTS, MEASURE_TCP, type MeasureVmStats, type NativeDetection, type NativeMeasureStats } from '../../src/dataplane/measure-types.js';
import type { NativeStats } from '../../src/dataplane/native-types.js';
import { compileMeasure } from '../../src/dataplane/measure-compile.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { MeasurementService } from '../../src/services/measurement.js';
import { median, robustZ } from '../../src/analytics/robust.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';
import { testSeed } from '../helpers/seed.js';

const logger = pino({ level: 'silent' });

function config(measurement: Record<string, unknown>): Config {
  return validateConfig({
    ports: [
      { name: 'prod-in', device: 'net_null0', egress: 'prod-out' },
      { name: 'prod-out', device: 'net_null1', role: 'egress' },
      { name: 'shadow0', device: 'net_null2', role: 'shadow' },
    ],
    shadow: { mac: { src: '02:5a:00:00:00:01', dst: '02:5a:00:00:00:02' } },
    translate: { ipv4: [{ from: '10.1.0.0/16', to: '10.201.0.0/16' }] },
    measurement: { enabled: true, vms: [{ name: 'web', prefix: '10.1.0.20' }], ...measurement },
  });
}

function vm(tcpPackets = 0): MeasureVmStats {
  const zero = <K extends string>(ks: readonly K[]) => Object.fromEntries(ks.map((k) => [k, 0])) as Record<K, number>;
  const hist = () => ({ buckets: Array<number>(21).fill(0), count: 0, sumNs: 0 });
  return {
    packets: { ...zero(MEASURE_PROTOCOLS), tcp: tcpPackets },
    bytes: zero(MEASURE_PROTOCOLS),
    tcp: zero(MEASURE_TCP),
    rtt: Object.fromEntries(MEASURE_RTTS.map((k) => [k, hist()])) as MeasureVmStats['rtt'],
    classes: { packets: [0], bytes: [0] },
  };
}

function snapshot(webTcp: number, over: Partial<NativeMeasureStats> = {}): NativeMeasureStats {
  return {
    bucketsUs: [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000],
    sides: { production: [vm(webTcp), vm()], shadow: [vm(), vm()] },
    flows: { active: 3, created: 10, evicted: 1, expired: 2, capacity: 16384 },
    timestamps: { rx: 5, tsc: 6 },
    malformed: 0,
    events: 0,
    ...over,
  };
}

function stats(measure: NativeMeasureStats, events: NativeDetection[] = []): NativeStats {
  return { ports: [], workers: [], measure, detections: { events, lost: 0 } } as unknown as NativeStats;
}

/** A seeded generator (mulberry32) and normal deviates (Box-Muller). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('robust z-score: median, MAD and the floor for a steady baseline', (t) => {
  t.is(median([5, 1, 3]), 3);
  t.is(median([4, 1, 3, 2]), 2.5);
  const s = robustZ(20, [9, 10, 10, 11, 10]);
  t.is(s.median, 10);
  t.is(s.mad, 0);
  // MAD 0 floored at max(1, 1 % of 10) = 1.
  t.is(s.z, 0.6745 * 10);
});

test('rate anomaly: one detection when a class jumps, none on seeded noise around its baseline', (t) => {
  const seed = testSeed(16016);
  t.log(`seed ${seed}`);
  const r = rng(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const cfg = config({ detectors: { rate_min_baseline_s: 30, rate_baseline_s: 120, rate_z: 6 } });
  const svc = new MeasurementService({ config: () => cfg, logger, now: () => 0 });
  const seen: string[] = [];
  svc.on('detection', (d) => seen.push(d.detector));
  let packets = 0;
  let at = 1_000_000;
  // 200 seconds of about 1000 packets/s (sd 30): a z beyond 6 has probability about 2e-9 per sample.
  for (let i = 0; i < 200; i++) {
    packets += Math.max(0, Math.round(1000 + 30 * normal()));
    at += 1000;
    svc.onStats(stats(snapshot(packets)), at);
  }
  t.deepEqual(seen, [], 'quiet on noise');
  // A jump to 5000/s: one warning or critical detection, with its numbers.
  for (let i = 0; i < 3; i++) {
    packets += 5000;
    at += 1000;
    svc.onStats(stats(snapshot(packets)), at);
  }
  t.deepEqual(seen, ['rate_anomaly'], 'one detection for the whole anomalous stretch');
  const [d] = svc.list();
  t.is(d!.severity, 'critical');
  t.like(d!.evidence, { vm: 'web', protocol: 'tcp', rate: 5000, threshold: 6 });
  t.true(Math.abs((d!.evidence['median'] as number) - 1000) < 20);
  t.true((d!.evidence['z'] as number) > 12);
});

test('rate limit: every finding counted, only the token bucket\'s worth published', (t) => {
  const cfg = config({ detectors: { events_per_second: 2, events_burst: 3, rate_anomaly: false } });
  let now = 0;
  const svc = new MeasurementService({ config: () => cfg, logger, now: () => now });
  const scan = (i: number): NativeDetection => ({
    worker: 0, seq: i + 1, detector: 'port_scan', severity: 'warning', tsUs: 1_700_000_000_000_000, windowUs: 1_400_000, count: 15, threshold: 15,
    extra: 0, port: 0, subject: `10.1.0.${i + 1}`, target: '10.1.0.50', mac: '02:00:00:00:00:01', previousMac: '00:00:00:00:00:00', values: [1, 2, 3],
  });
  svc.onStats(stats(snapshot(0), Array.from({ length: 10 }, (_, i) => scan(i))), 1);
  t.is(svc.list().length, 3);
  t.deepEqual(svc.counters().total, [{ detector: 'port_scan', severity: 'warning', count: 10 }]);
  t.deepEqual(svc.counters().suppressed, [{ detector: 'port_scan', count: 7 }]);
  // One second later: two more tokens.
  now = 1000;
  svc.onStats(stats(snapshot(0), [scan(10), scan(11), scan(12)]), 2);
  t.is(svc.list().length, 5);
  t.like(svc.list()[0], { id: 1, detector: 'port_scan', summary: '10.1.0.1 tried 15 ports on 10.1.0.50 within 1.4 s (threshold 15)' });
  t.deepEqual(svc.list()[0]!.evidence['ports'], [1, 2, 3]);
  t.is(svc.list({ after: 4 }).length, 1);
});

test('counters survive a data-plane restart; /metrics has the same labels on both sides and the histogram', async (t) => {
  const cfg = config({ detectors: { rate_anomaly: false } });
  const svc = new MeasurementService({ config: () => cfg, logger });
  const first = snapshot(100);
  first.sides.shadow[0]!.rtt.syn_synack = { buckets: [0, 0, 0, 0, 0, 0, 0, 1, ...Array<number>(13).fill(0)], count: 1, sumNs: 1_234_000 };
  first.sides.production[0]!.rtt.syn_synack = { buckets: [0, 0, 0, 0, 0, 0, 1, 1, ...Array<number>(13).fill(0)], count: 2, sumNs: 3_000_000 };
  svc.onStats(stats(first), 1);
  svc.childGone();
  svc.onStats(stats(snapshot(7, { flows: { active: 1, created: 4, evicted: 0, expired: 0, capacity: 16384 } })), 2);
  const v = svc.view();
  t.deepEqual(v.vms, ['web', 'other']);
  t.is(v.stats!.sides.production[0]!.packets.tcp, 107);
  t.is(v.stats!.flows.created, 14);
  t.is(v.stats!.flows.active, 1, 'a gauge, not summed');
  const dp = Object.assign(fakeDataplane(), { measurementView: () => svc.view(), detectionCounters: () => svc.counters() });
  const text = await createMetricsRegistry({ source: dp, defaultMetrics: false }).metrics();
  t.regex(text, /^shadowtap_measure_packets_total\{side="production",vm="web",protocol="tcp"\} 107$/m);
  t.regex(text, /^shadowtap_measure_packets_total\{side="shadow",vm="web",protocol="tcp"\} 0$/m);
  t.regex(text, /^# TYPE shadowtap_measure_rtt_seconds histogram$/m);
  t.regex(text, /^shadowtap_measure_rtt_seconds_bucket\{side="shadow",vm="web",kind="syn_synack",le="0.001"\} 0$/m);
  t.regex(text, /^shadowtap_measure_rtt_seconds_bucket\{side="shadow",vm="web",kind="syn_synack",le="0.0025"\} 1$/m);
  t.regex(text, /^shadowtap_measure_rtt_seconds_bucket\{side="production",vm="web",kind="syn_synack",le="0.001"\} 1$/m);
  t.regex(text, /^shadowtap_measure_rtt_seconds_bucket\{side="production",vm="web",kind="syn_synack",le="\+Inf"\} 2$/m);
  t.regex(text, /^shadowtap_measure_rtt_seconds_sum\{side="shadow",vm="web",kind="syn_synack"\} 0.001234$/m);
  t.regex(text, /^shadowtap_measure_rtt_seconds_count\{side="production",vm="web",kind="syn_synack"\} 2$/m);
  t.regex(text, /^shadowtap_measure_flow_evictions_total 1$/m);
  t.regex(text, /^shadowtap_measure_flows\{state="capacity"\} 16384$/m);
  svc.raise('syn_flood', 'critical', { summary: 'x', evidence: {} });
  const text2 = await createMetricsRegistry({ source: dp, defaultMetrics: false }).metrics();
  t.regex(text2, /^shadowtap_detections_total\{detector="syn_flood",severity="critical"\} 1$/m);
});

test('GET /v1/detections: the list and counts, filters checked by the schema, 503 without the service', async (t) => {
  const cfg = config({});
  const svc = new MeasurementService({ config: () => cfg, logger });
  svc.raise('arp_spoof', 'critical', { summary: 'ARP binding of 10.1.0.1 flipped', evidence: { ip: '10.1.0.1' } });
  svc.raise('port_scan', 'warning', { summary: 'scan', evidence: {} });
  const dp = fakeDataplane();
  const make = async (withService: boolean) => {
    const f = Fastify({ logger: false });
    await f.register(app, { dataplane: dp, services: { policy: dp, offload: dp, ...(withService ? { measurement: svc } : {}) }, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }) });
    await f.ready();
    return f;
  };
  const f = await make(true);
  const all = await f.inject({ method: 'GET', url: '/v1/detections' });
  t.is(all.statusCode, 200);
  const body = all.json() as { detections: { detector: string; evidence: Record<string, unknown> }[]; counts: { total: unknown[] } };
  t.deepEqual(body.detections.map((d) => d.detector), ['arp_spoof', 'port_scan']);
  t.deepEqual(body.detections[0]!.evidence, { ip: '10.1.0.1' });
  t.is(body.counts.total.length, 2);
  const one = await f.inject({ method: 'GET', url: '/v1/detections?severity=warning' });
  t.deepEqual((one.json() as typeof body).detections.map((d) => d.detector), ['port_scan']);
  const bad = await f.inject({ method: 'GET', url: '/v1/detections?detector=nope' });
  t.is(bad.statusCode, 400);
  const none = await make(false);
  t.is((await none.inject({ method: 'GET', url: '/v1/detections' })).statusCode, 503);
});

const INVALID: { title: string; measurement: Record<string, unknown>; path: string; message: RegExp }[] = [
  { title: 'flows not a power of two', measurement: { flows: 1000 }, path: 'measurement.flows', message: /1000 is not a power of two/ },
  { title: 'flows too small', measurement: { flows: 8 }, path: 'measurement.flows', message: /from 64 to 4194304/ },
  { title: 'a VM prefix that is no address', measurement: { vms: [{ name: 'web', prefix: '10.1.0.300' }] }, path: 'measurement.vms[0].prefix', message: /not an IP address or prefix/ },
  { title: 'a VM prefix with host bits', measurement: { vms: [{ name: 'web', prefix: '10.1.0.1/24' }] }, path: 'measurement.vms[0].prefix', message: /host bits/ },
  { title: 'two VMs of one name', measurement: { vms: [{ name: 'web', prefix: '10.1.0.1' }, { name: 'web', prefix: '10.1.0.2' }] }, path: 'measurement.vms[1].name', message: /already the name of measurement.vms\[0\]/ },
  { title: 'a VM called other', measurement: { vms: [{ name: 'other', prefix: '10.1.0.1' }] }, path: 'measurement.vms[0].name', message: /label of traffic outside every VM/ },
  { title: 'an IPv6 DHCP server', measurement: { detectors: { dhcp_allow: ['fe80::1'] } }, path: 'measurement.detectors.dhcp_allow[0]', message: /not an IPv4 address/ },
  { title: 'an IPv4 router', measurement: { detectors: { ra_allow: ['10.0.0.1'] } }, path: 'measurement.detectors.ra_allow[0]', message: /not an IPv6 address/ },
  { title: 'a scan threshold past what an entry holds', measurement: { detectors: { scan_ports: 65 } }, path: 'measurement.detectors.scan_ports', message: /from 1 to 64/ },
  { title: 'a baseline shorter than its minimum', measurement: { detectors: { rate_baseline_s: 20, rate_min_baseline_s: 30 } }, path: 'measurement.detectors.rate_min_baseline_s', message: /longer than rate_baseline_s/ },
  { title: 'a misspelt key', measurement: { flow_idle: 5 }, path: 'measurement.flow_idle', message: /./ },
  { title: 'enabled not a boolean', measurement: { enabled: 'yes' }, path: 'measurement.enabled', message: /true or false/ },
];

for (const c of INVALID) {
  test(`invalid measurement config: ${c.title}`, (t) => {
    const { problems } = checkConfig({
      mode: 'tap',
      ports: [{ name: 'prod-in', device: 'net_null0' }, { name: 'shadow0', device: 'net_null1', role: 'shadow' }],
      shadow: { mac: { src: '02:5a:00:00:00:01', dst: '02:5a:00:00:00:02' } },
      measurement: c.measurement,
    });
    t.deepEqual(problems.map((p) => p.path), [c.path], JSON.stringify(problems));
    t.regex(problems[0]!.message, c.message);
  });
}

test('the native configuration: the VM\'s shadow prefix through the maps, detectors in native order', (t) => {
  const cfg = config({ vms: [{ name: 'web', prefix: '10.1.0.20' }, { name: 'lan', prefix: '10.1.4.0/22' }, { name: 'v6', prefix: 'fd00::/64' }], detectors: { rogue_ra: true, port_scan: false } });
  const n = compileMeasure(cfg)!;
  t.deepEqual([...n.vms[0]!.shadow.subarray(0, 4)], [10, 201, 0, 20]);
  t.is(n.vms[0]!.shadowLen, 32);
  t.deepEqual([...n.vms[1]!.shadow.subarray(0, 4)], [10, 201, 4, 0]);
  t.is(n.vms[1]!.productionLen, 22);
  // No v6 map: the shadow side is the production prefix.
  t.deepEqual([...n.vms[2]!.shadow], [...n.vms[2]!.production]);
  t.deepEqual(n.detectors, [1, 1, 0, 0, 1, 0, 1, 1]);
  t.is(n.scanWindowMs, 300_000);
  t.is(compileMeasure(config({ enabled: false })), null);
});
