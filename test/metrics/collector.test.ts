import test from 'ava';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { ANOMALIES, DROP_REASONS } from '../../src/dataplane/native-types.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';

function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

test('metric names, labels and values from one snapshot', async (t) => {
  const dp = fakeDataplane();
  const registry = createMetricsRegistry({ source: dp, version: '9.9.9', defaultMetrics: false });
  const s = samples(await registry.metrics());
  t.is(s.get('shadowtap_native_up'), 1);
  t.is(s.get('shadowtap_dataplane_restarts_total'), 2);
  t.is(s.get('shadowtap_dataplane_state{state="running"}'), 1);
  t.is(s.get('shadowtap_dataplane_state{state="backoff"}'), 0);
  t.is(s.get('shadowtap_dataplane_uptime_seconds'), 12);
  t.is(s.get('shadowtap_port_info{port="shadow0",role="shadow",driver="net_null"}'), 1);
  t.is(s.get('shadowtap_port_rx_packets_total{port="prod-in"}'), 1000);
  t.is(s.get('shadowtap_port_rx_bytes_total{port="prod-in"}'), 100000);
  t.is(s.get('shadowtap_port_tx_packets_total{port="prod-out"}'), 1000);
  t.is(s.get('shadowtap_port_tx_bytes_total{port="shadow0"}'), 90000);
  t.is(s.get('shadowtap_port_tx_dropped_total{port="shadow0"}'), 2);
  t.is(s.get('shadowtap_port_hw_imissed_total{port="prod-in"}'), 7);
  t.is(s.get('shadowtap_port_hw_ipackets_total{port="prod-in"}'), 1007);
  for (const hw of ['hw_opackets', 'hw_ibytes', 'hw_obytes', 'hw_ierrors', 'hw_oerrors', 'hw_rx_nombuf']) {
    t.is(s.get(`shadowtap_port_${hw}_total{port="prod-out"}`), 0, hw);
  }
  t.is(s.get('shadowtap_mirror_packets_total'), 900);
  t.is(s.get('shadowtap_mirror_bytes_total'), 90000);
  t.is(s.get('shadowtap_mirror_translated_packets_total'), 850);
  for (const r of DROP_REASONS) t.true(s.has(`shadowtap_mirror_dropped_total{reason="${r}"}`), r);
  t.is(s.get('shadowtap_mirror_dropped_total{reason="unmapped"}'), 40);
  t.is(s.get('shadowtap_mirror_dropped_total{reason="not_ip"}'), 60);
  for (const k of ANOMALIES) t.true(s.has(`shadowtap_packet_anomalies_total{kind="${k}"}`), k);
  t.is(s.get('shadowtap_packet_anomalies_total{kind="vlan"}'), 5);
  t.is(s.get('shadowtap_shadow_rx_packets_total'), 3);
  t.is(s.get('shadowtap_worker_busy_ratio{lcore="1"}'), 0.25);
  t.is(s.get('shadowtap_worker_loops_total{lcore="1"}'), 1000);
  t.is(s.get('shadowtap_worker_busy_loops_total{lcore="1"}'), 250);
  t.is(s.get('shadowtap_build_info{version="9.9.9",native="shadowtap-dataplane 0.1.0 (DPDK 22.11.11)"}'), 1);
});

test('counters are read at scrape time, not pushed', async (t) => {
  const dp = fakeDataplane();
  const registry = createMetricsRegistry({ source: dp, defaultMetrics: false });
  t.is(samples(await registry.metrics()).get('shadowtap_mirror_packets_total'), 900);
  dp.statsValue = { ...dp.statsValue!, mirrorPackets: 1900 };
  await new Promise((r) => setTimeout(r, 120)); // past the per-scrape cache
  t.is(samples(await registry.metrics()).get('shadowtap_mirror_packets_total'), 1900);
});

test('native_up is 0 when the data plane is not live; counters keep their totals', async (t) => {
  const dp = fakeDataplane({ state: 'backoff' });
  dp.statsValue = { ...dp.statsValue!, live: false };
  const registry = createMetricsRegistry({ source: dp, defaultMetrics: false });
  const s = samples(await registry.metrics());
  t.is(s.get('shadowtap_native_up'), 0);
  t.is(s.get('shadowtap_dataplane_state{state="backoff"}'), 1);
  t.is(s.get('shadowtap_mirror_packets_total'), 900);
});

test('collect() never throws: a failing source gives native_up 0 and a scrape', async (t) => {
  const errors: unknown[] = [];
  const registry = createMetricsRegistry({
    source: {
      status() {
        throw new Error('status broke');
      },
      stats() {
        throw new Error('stats broke');
      },
    },
    defaultMetrics: false,
    onError: (e) => errors.push(e),
  });
  const text = await registry.metrics();
  t.is(samples(text).get('shadowtap_native_up'), 0);
  t.true(errors.length >= 2);
});

test('default process metrics carry the shadowtap_ prefix', async (t) => {
  const registry = createMetricsRegistry({ source: fakeDataplane() });
  const text = await registry.metrics();
  t.regex(text, /^shadowtap_process_cpu_seconds_total /m);
  t.regex(text, /^shadowtap_nodejs_heap_size_used_bytes /m);
  t.notRegex(text, /^process_cpu_seconds_total/m);
});

test('shadowtap_leak_total: one series per protocol, reason and action with a count', async (t) => {
  const dp = fakeDataplane();
  dp.statsValue = { ...dp.statsValue!, leak: { dns: { malformed: { drop: 3, pass: 0 }, policy: { drop: 0, pass: 2 } }, tunnel: { nested: { drop: 1, pass: 0 } } } };
  const registry = createMetricsRegistry({ source: dp, defaultMetrics: false });
  const s = samples(await registry.metrics());
  const leak = [...s].filter(([k]) => k.startsWith('shadowtap_leak_total'));
  t.deepEqual(new Map(leak), new Map([
    ['shadowtap_leak_total{protocol="dns",reason="malformed",action="drop"}', 3],
    ['shadowtap_leak_total{protocol="dns",reason="policy",action="pass"}', 2],
    ['shadowtap_leak_total{protocol="tunnel",reason="nested",action="drop"}', 1],
  ]));
});
