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
  const registry = createMetricsRegistry({ source: dp, defaultMetrics: false });
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  t.true(names.includes('shadowtap_rule_hits_total'));
  t.deepEqual(names.filter((n) => !DOC.includes(`| \`${n}\` |`)), []);
});
