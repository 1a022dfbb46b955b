/**
 * The series store and the PromQL subset. Expected values are worked out by
 * hand in the comments (or follow from the series' construction), never by
 * the code under test.
 */
import test from 'ava';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { ExprError, formatDuration, parseDuration, parseExpr } from '../../src/series/expr.js';
import { bucketQuantile, query, queryRange, quantileOf, type Value } from '../../src/series/eval.js';
import { registrySamples } from '../../src/series/sampler.js';
import { SeriesStore } from '../../src/series/store.js';

const T0 = 1_700_000_000_000; // a whole second

function vec(v: Value): { metric: Record<string, string>; value: number }[] {
  if (v.type !== 'vector') throw new Error('expected a vector');
  return v.samples.map((s) => ({ metric: { ...s.metric }, value: s.value })).sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
}

test('the store keeps one sample a second for its capacity, newest write in a second wins, old seconds wrap away', (t) => {
  const s = new SeriesStore({ capacitySeconds: 60 });
  for (let i = 0; i < 100; i++) s.record(T0 + i * 1000 + 300, [{ name: 'm', labels: { a: '1' }, value: i }]);
  s.record(T0 + 99 * 1000 + 900, [{ name: 'm', labels: { a: '1' }, value: 1000 }]);
  const [only] = s.select('m', 0, T0 + 200_000);
  t.is(only!.points.length, 60);
  t.deepEqual(only!.points[0], [T0 + 40_000, 40]);
  t.deepEqual(only!.points[59], [T0 + 99_000, 1000]);
  // older than the window: ignored and counted
  s.record(T0 + 10_000, [{ name: 'm', labels: { a: '1' }, value: -1 }]);
  t.is(s.late, 1);
  // a gap leaves missing seconds, not stale values
  s.record(T0 + 105_000, [{ name: 'm', labels: { a: '1' }, value: 5 }]);
  const pts = s.select('m', T0 + 99_000, T0 + 105_000)[0]!.points;
  t.deepEqual(pts, [[T0 + 99_000, 1000], [T0 + 105_000, 5]]);
});

test('the store refuses series past maxSeries and forgets series silent for a whole window', (t) => {
  const s = new SeriesStore({ capacitySeconds: 60, maxSeries: 3 });
  s.record(T0, [0, 1, 2, 3, 4].map((i) => ({ name: 'm', labels: { i: String(i) }, value: i })));
  t.is(s.size, 3);
  t.is(s.refused, 2);
  s.record(T0 + 61_000, [{ name: 'other', labels: {}, value: 1 }]);
  t.deepEqual(s.names(), ['other']);
  t.is(s.size, 1);
});

test('property: the store returns exactly the samples of the last capacity seconds', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 80 }), fc.integer({ min: 60, max: 120 }), (seconds, cap) => {
      const s = new SeriesStore({ capacitySeconds: cap });
      const sorted = [...new Set(seconds)].sort((a, b) => a - b);
      for (const sec of sorted) s.record(T0 + sec * 1000, [{ name: 'm', labels: {}, value: sec }]);
      const head = sorted[sorted.length - 1]!;
      const want = sorted.filter((x) => x > head - cap).map((x) => [T0 + x * 1000, x]);
      const got = s.select('m', 0, T0 + 1e9)[0]?.points ?? [];
      return JSON.stringify(got) === JSON.stringify(want);
    }),
    { seed: 18, numRuns: 200 },
  );
  t.pass();
});

function counters(store: SeriesStore, seconds: number, f: (i: number) => { labels: Record<string, string>; value: number }[], name = 'x_total') {
  for (let i = 0; i < seconds; i++) store.record(T0 + i * 1000, f(i).map((x) => ({ name, ...x })));
}

test('rate, increase and a ratio of two rates', (t) => {
  const s = new SeriesStore();
  // production: 100/s; shadow: 90/s, so the delivery ratio is 0.9
  counters(s, 60, (i) => [
    { labels: { role: 'production' }, value: 100 * i },
    { labels: { role: 'shadow' }, value: 90 * i },
  ]);
  const at = T0 + 59_000;
  t.deepEqual(vec(query(s, 'rate(x_total[10s])', at)), [
    { metric: { role: 'production' }, value: 100 },
    { metric: { role: 'shadow' }, value: 90 },
  ]);
  t.deepEqual(vec(query(s, 'increase(x_total{role="shadow"}[30s])', at)), [{ metric: { role: 'shadow' }, value: 2700 }]);
  const ratio = vec(query(s, 'sum(rate(x_total{role="shadow"}[10s])) / sum(rate(x_total{role="production"}[10s]))', at));
  t.is(ratio.length, 1);
  t.true(Math.abs(ratio[0]!.value - 0.9) < 1e-12);
  // ignoring(role) matches the two sides one to one
  const r2 = vec(query(s, 'rate(x_total{role="shadow"}[10s]) / ignoring(role) rate(x_total{role="production"}[10s])', at));
  t.true(Math.abs(r2[0]!.value - 0.9) < 1e-12);
});

test('rate adds a counter reset back: 0,10,20,30 then a restart at 5,15 is 45 over 5 s', (t) => {
  const s = new SeriesStore();
  [0, 10, 20, 30, 5, 15].forEach((v, i) => s.record(T0 + i * 1000, [{ name: 'c_total', labels: {}, value: v }]));
  // rises: 10 + 10 + 10 + 5 (from 0 after the reset) + 10 = 45 over 5 s
  t.deepEqual(vec(query(s, 'rate(c_total[1m])', T0 + 5000)), [{ metric: {}, value: 9 }]);
});

test('comparisons filter, bool gives 0/1, and scalars must say bool', (t) => {
  const s = new SeriesStore();
  s.record(T0, [
    { name: 'g', labels: { vm: 'a' }, value: 5 },
    { name: 'g', labels: { vm: 'b' }, value: 50 },
  ]);
  t.deepEqual(vec(query(s, 'g > 10', T0)), [{ metric: { __name__: 'g', vm: 'b' }, value: 50 }]);
  t.deepEqual(vec(query(s, 'g > bool 10', T0)), [
    { metric: { vm: 'a' }, value: 0 },
    { metric: { vm: 'b' }, value: 1 },
  ]);
  t.deepEqual(query(s, '2 > bool 1', T0), { type: 'scalar', value: 1 });
  const e = t.throws(() => query(s, '2 > 1', T0), { instanceOf: ExprError });
  t.regex(e!.message, /^at 3: expected "bool" after >/);
  // older than the 5 s lookback: gone
  t.deepEqual(vec(query(s, 'g', T0 + 5000)), []);
  t.is(vec(query(s, 'g', T0 + 4000)).length, 2);
});

test('aggregations by and without, and count', (t) => {
  const s = new SeriesStore();
  s.record(T0, [
    { name: 'g', labels: { vm: 'a', side: 'p' }, value: 1 },
    { name: 'g', labels: { vm: 'b', side: 'p' }, value: 2 },
    { name: 'g', labels: { vm: 'a', side: 's' }, value: 4 },
  ]);
  t.deepEqual(vec(query(s, 'sum by (side) (g)', T0)), [
    { metric: { side: 'p' }, value: 3 },
    { metric: { side: 's' }, value: 4 },
  ]);
  t.deepEqual(vec(query(s, 'max without (side) (g)', T0)), [
    { metric: { vm: 'a' }, value: 4 },
    { metric: { vm: 'b' }, value: 2 },
  ]);
  t.deepEqual(vec(query(s, 'count(g)', T0)), [{ metric: {}, value: 3 }]);
  // many series on one side of a one-to-one match: refused, naming where
  const e = t.throws(() => query(s, 'g / on(vm) g', T0), { instanceOf: ExprError });
  t.regex(e!.message, /^at 3: expected one series on the right of \/ for each label set/);
});

test('group_left: per-port rates joined with shadowtap_port_info to sum by role', (t) => {
  const s = new SeriesStore();
  // prod-a 100/s, prod-b 50/s (production), sh 140/s (shadow)
  counters(s, 20, (i) => [
    { labels: { port: 'prod-a' }, value: 100 * i },
    { labels: { port: 'prod-b' }, value: 50 * i },
    { labels: { port: 'sh' }, value: 140 * i },
  ], 'rx_total');
  for (let i = 0; i < 20; i++) {
    s.record(T0 + i * 1000, [
      { name: 'info', labels: { port: 'prod-a', role: 'production', driver: 'x' }, value: 1 },
      { name: 'info', labels: { port: 'prod-b', role: 'production', driver: 'x' }, value: 1 },
      { name: 'info', labels: { port: 'sh', role: 'shadow', driver: 'y' }, value: 1 },
    ]);
  }
  t.deepEqual(vec(query(s, 'sum by (role) (rate(rx_total[5s]) * on(port) group_left(role) info)', T0 + 19_000)), [
    { metric: { role: 'production' }, value: 150 },
    { metric: { role: 'shadow' }, value: 140 },
  ]);
  const e = t.throws(() => parseExpr('a * group_left b'), { instanceOf: ExprError });
  t.regex(e!.message, /^at 5: expected on\(\.\.\.\) or ignoring\(\.\.\.\) before group_left/);
});

test('quantile_over_time and quantile follow Prometheus: linear between closest ranks', (t) => {
  // values 1..10: rank 0.9 × 9 = 8.1 → v[8] + 0.1 × (v[9] − v[8]) = 9.1
  t.is(quantileOf(0.9, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]), 9.1);
  t.is(quantileOf(0.5, [1, 2, 3, 4]), 2.5);
  t.is(quantileOf(1.5, [1]), Infinity);
  const s = new SeriesStore();
  for (let i = 1; i <= 10; i++) s.record(T0 + i * 1000, [{ name: 'rtt', labels: {}, value: i }]);
  const v = vec(query(s, 'quantile_over_time(0.9, rtt[10s])', T0 + 10_000));
  t.true(Math.abs(v[0]!.value - 9.1) < 1e-12);
});

test('histogram_quantile interpolates inside the bucket, as Prometheus does', (t) => {
  // buckets ≤1: 10, ≤2: 30, ≤4: 40, +Inf: 40. q=0.5 → rank 20, in (1,2]: 1 + (2−1) × (20−10)/(30−10) = 1.5
  t.is(bucketQuantile(0.5, [[1, 10], [2, 30], [4, 40], [Infinity, 40]]), 1.5);
  // rank 40 × 0.99 = 39.6 in (2,4]: 2 + 2 × (39.6 − 30)/10 = 3.92
  t.true(Math.abs(bucketQuantile(0.99, [[1, 10], [2, 30], [4, 40], [Infinity, 40]]) - 3.92) < 1e-12);
  // in the +Inf bucket: the highest finite bound
  t.is(bucketQuantile(0.99, [[1, 10], [2, 30], [Infinity, 100]]), 2);
  t.true(Number.isNaN(bucketQuantile(0.5, [[1, 0], [Infinity, 0]])));
});

test('histogram_quantile over a real prom-client histogram, through the sampler', async (t) => {
  const registry = new Registry();
  const h = new Histogram({ name: 'lat_seconds', help: 'h', buckets: [0.01, 0.02, 0.04], labelNames: ['vm'], registers: [registry] });
  const c = new Counter({ name: 'pk_total', help: 'c', registers: [registry] });
  const s = new SeriesStore();
  h.zero({ vm: 'a' });
  // second 0: nothing observed; second 10: 10 in ≤0.01, 20 in (0.01,0.02], 10 in (0.02,0.04]
  s.record(T0, await registrySamples(registry));
  for (let i = 0; i < 10; i++) h.observe({ vm: 'a' }, 0.005);
  for (let i = 0; i < 20; i++) h.observe({ vm: 'a' }, 0.015);
  for (let i = 0; i < 10; i++) h.observe({ vm: 'a' }, 0.03);
  c.inc(50);
  s.record(T0 + 10_000, await registrySamples(registry));
  t.true(s.names().includes('lat_seconds_bucket'));
  t.deepEqual(s.labelSets('lat_seconds_bucket').map((l) => l['le']).sort(), ['+Inf', '0.01', '0.02', '0.04']);
  const v = vec(query(s, 'histogram_quantile(0.5, sum by (le) (rate(lat_seconds_bucket[20s])))', T0 + 10_000));
  // rank 20 of 40, in (0.01, 0.02]: 0.01 + 0.01 × (20 − 10)/20 = 0.015
  t.true(Math.abs(v[0]!.value - 0.015) < 1e-12, String(v[0]?.value));
  t.deepEqual(vec(query(s, 'rate(pk_total[20s])', T0 + 10_000)), [{ metric: {}, value: 5 }]);
});

test('queryRange evaluates at every step', (t) => {
  const s = new SeriesStore();
  counters(s, 30, (i) => [{ labels: {}, value: i * i }]);
  const r = queryRange(s, 'rate(x_total[2s])', T0 + 10_000, T0 + 12_000, 1000);
  // (i² − (i−1)²)/1 = 2i − 1 for the two samples in a 2 s window
  t.deepEqual(r, [{ metric: {}, points: [[T0 + 10_000, 19], [T0 + 11_000, 21], [T0 + 12_000, 23]] }]);
});

test('durations parse and print', (t) => {
  t.is(parseDuration('1m30s'), 90_000);
  t.is(parseDuration('500ms'), 500);
  t.is(parseDuration('5'), null);
  t.is(formatDuration(90_000), '1m30s');
  t.is(formatDuration(3_600_000), '1h');
});

const BAD: [string, RegExp][] = [
  ['', /^at 1: expected an expression, found nothing$/],
  ['rate(x[5m]', /^at 11: expected "," or "\)", found the end of the expression$/],
  ['rate(x)', /^at 6: expected a range selector such as metric\[1m\] as argument 1 of rate, found an instant expression$/],
  ['x[5]', /^at 3: expected a duration such as 30s, 5m or 1h, found "5"$/],
  ['x{a="b"', /^at 8: expected "," or "}", found the end of the expression$/],
  ['x{a~"b"}', /^at 4: expected a name, a number, a string or an operator, found "~"$/],
  ['x{a=b}', /^at 5: expected a quoted label value, found "b"$/],
  ['foo(x)', /^at 1: expected a known function \(rate, /],
  ['x > 1 > 2', /^at 7: expected the end of the expression \(one comparison/],
  ['sum(x[1m])', /^at 5: expected an instant expression inside sum/],
  ['x{a=~"("}', /^at 6: expected a valid regular expression, found "\("/],
  ['x +', /^at 4: expected a number, a metric name, a function or "\(", found the end of the expression$/],
  ['"abc', /^at 1: expected a closing " for the string/],
  ['5x', /^at 1: expected a number or a duration/],
  ['x y', /^at 3: expected an operator or the end of the expression, found "y"$/],
  ['histogram_quantile(0.5)', /^at 1: expected 2 arguments to histogram_quantile \(scalar, vector\), found 1$/],
];

test('bad expressions: each error names the position and what was expected', (t) => {
  for (const [src, re] of BAD) {
    const e = t.throws(() => parseExpr(src), { instanceOf: ExprError }, src);
    t.regex(e!.message, re, src);
  }
});

test('property: the rate of a counter rising k per second is k, whatever the window', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 2, max: 300 }), fc.integer({ min: 0, max: 1e9 }), (k, w, base) => {
      const s = new SeriesStore();
      for (let i = 0; i <= w; i++) s.record(T0 + i * 1000, [{ name: 'c', labels: {}, value: base + k * i }]);
      const v = query(s, `rate(c[${w}s])`, T0 + w * 1000);
      return v.type === 'vector' && Math.abs(v.samples[0]!.value - k) <= 1e-9 * Math.max(1, k);
    }),
    { seed: 1818, numRuns: 200 },
  );
  t.pass();
});
