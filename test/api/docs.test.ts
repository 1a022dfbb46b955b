/** docs/api.md names every route the app serves and every metric it exports. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import app from '../../src/api/app.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/api.md', import.meta.url)), 'utf8');

test('every route is documented', async (t) => {
  const dp = fakeDataplane();
  const fastify = Fastify({ logger: false });
  const routes: string[] = [];
  fastify.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push(`${m} ${r.url}`);
  });
  await fastify.register(app, { dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }) });
  await fastify.ready();
  t.true(routes.length >= 8);
  t.deepEqual(routes.filter((r) => !DOC.includes(`\`${r}\``)), []);
});

test('every metric is documented', async (t) => {
  const dp = fakeDataplane();
  // with a fault service: its metrics are documented too
  const zero = { matched: 1, dropped: 0, delayed: 0, corrupted: 0, duplicated: 0, reordered: 0, rateLimited: 0, overflowed: 0, ecnMarked: 0 };
  const hist = { boundsNs: [1024, 2048], counts: [1, 0], sumNs: 900, count: 1 };
  const source = Object.assign(Object.create(dp) as typeof dp, {
    faultMetrics: () => ({ generation: 1, faults: [{ id: 'f', experiment: null, state: 'active', armed: true, counters: zero, delay: hist }], releaseError: hist, experiments: [{ id: 'e', state: 'idle', step: null, aborts: 0 }] }),
  });
  const registry = createMetricsRegistry({ source, defaultMetrics: false });
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  t.true(names.includes('shadowtap_fault_applied_delay_seconds'));
  const text = await registry.metrics();
  t.regex(text, /shadowtap_fault_applied_delay_seconds_bucket\{fault="f",le="0.000001024"\} 1/);
  t.regex(text, /shadowtap_fault_applied_delay_seconds_count\{fault="f"\} 1/);
  t.regex(text, /shadowtap_fault_matched_total\{fault="f",experiment=""\} 1/);
  t.true(names.includes('shadowtap_rule_hits_total'));
  t.deepEqual(names.filter((n) => !DOC.includes(`| \`${n}\` |`)), []);
});
