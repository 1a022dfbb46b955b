/** Per-session metrics: names, labels and values from one snapshot (fake source). */
import test from 'ava';
import { SESSION_DROP_REASONS } from '../../src/dataplane/native-types.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
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

test('session and rule metrics follow the current policy', async (t) => {
  const dp = fakeDataplane();
  await dp.applyPolicy({
    sessions: [
      { id: 5, filters: [{ id: 'a', protocol: 'tcp' }, { id: 'b', protocol: 'udp' }] },
      { id: 9 },
    ],
  });
  const registry = createMetricsRegistry({ source: dp, defaultMetrics: false });
  const s = samples(await registry.metrics());
  t.is(s.get('shadowtap_policy_generation'), 2);
  t.is(s.get('shadowtap_session_matched_total{session="5"}'), 100);
  t.is(s.get('shadowtap_session_matched_total{session="9"}'), 200);
  t.is(s.get('shadowtap_session_sampled_total{session="5"}'), 90);
  t.is(s.get('shadowtap_session_mirrored_packets_total{session="9"}'), 160);
  t.is(s.get('shadowtap_session_mirrored_bytes_total{session="5"}'), 8000);
  t.is(s.get('shadowtap_session_truncated_total{session="9"}'), 1);
  t.is(s.get('shadowtap_session_unmapped_seen_total{session="5"}'), 0);
  for (const r of SESSION_DROP_REASONS) t.true(s.has(`shadowtap_session_dropped_total{session="5",reason="${r}"}`), r);
  t.is(s.get('shadowtap_session_dropped_total{session="9",reason="rate"}'), 10);
  t.is(s.get('shadowtap_session_dropped_total{session="9",reason="tx_full"}'), 3);
  t.is(s.get('shadowtap_rule_hits_total{session="5",rule="a"}'), 10);
  t.is(s.get('shadowtap_rule_hits_total{session="5",rule="b"}'), 20);
  t.is(s.get('shadowtap_rule_hits_total{session="9",rule="all"}'), 10);

  // A removed session's series go away with it.
  await dp.applyPolicy({ sessions: [{ id: 9 }] });
  await new Promise((r) => setTimeout(r, 150)); // past the collector's 100 ms snapshot cache
  const after = samples(await registry.metrics());
  t.is(after.get('shadowtap_policy_generation'), 3);
  t.false(after.has('shadowtap_session_matched_total{session="5"}'));
  t.false(after.has('shadowtap_rule_hits_total{session="5",rule="a"}'));
  t.is(after.get('shadowtap_session_matched_total{session="9"}'), 100);
});

test('a source without per-session counters exports no session series, and a failing one never breaks the scrape', async (t) => {
  const dp = fakeDataplane();
  await dp.applyPolicy({ sessions: [{ id: 5 }] });
  // The precondition: the data plane has a session, and a source that reads it exports its series.
  const full = samples(await createMetricsRegistry({ source: dp, defaultMetrics: false }).metrics());
  t.true(full.has('shadowtap_session_matched_total{session="5"}'), 'with sessionStats, session 5 is exported');
  const registry = createMetricsRegistry({ source: { status: () => dp.status(), stats: () => dp.stats() }, defaultMetrics: false });
  const s = samples(await registry.metrics());
  t.deepEqual([...s.keys()].filter((k) => k.startsWith('shadowtap_session_')), []);
  t.is(s.get('shadowtap_native_up'), 1);

  const errors: unknown[] = [];
  const broken = createMetricsRegistry({
    source: { status: () => dp.status(), stats: () => dp.stats(), sessionStats: () => { throw new Error('boom'); } },
    defaultMetrics: false,
    onError: (e) => errors.push(e),
  });
  const b = samples(await broken.metrics());
  t.is(b.get('shadowtap_native_up'), 1);
  t.deepEqual([...b.keys()].filter((k) => k.startsWith('shadowtap_session_')), []);
  t.true(errors.some((e) => e instanceof Error && e.message === 'boom'), 'the failure is reported to onError');
});
