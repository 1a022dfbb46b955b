/**
 * The statistics library against values worked out by hand (shown in the
 * comments) or tabulated constants, never values the code produced; and
 * properties that must hold whatever the data (fast-check, seeded).
 */
import test from 'ava';
import fc from 'fast-check';
import { locateWindow } from '../../src/analysis/changepoint.js';
import { normal, seeded } from '../../src/analysis/random.js';
import { bootstrapInterval, cliffsDelta, cliffsMagnitude, erfc, hedgesG, mannWhitneyU, meanDifference, normalCdf } from '../../src/analysis/stats.js';

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

test('erfc and Φ match tabulated values', (t) => {
  // Abramowitz & Stegun table 7.1 / standard normal tables
  t.true(close(erfc(1), 0.157299207050285, 1e-14));
  t.true(close(erfc(2), 0.004677734981047266, 1e-15));
  t.true(close(erfc(0.5), 0.4795001221869535, 1e-14));
  t.true(close(erfc(3.5), 7.430983723414128e-7, 1e-18));
  t.true(close(erfc(5), 1.537459794428035e-12, 1e-24));
  t.true(close(normalCdf(1.959963984540054), 0.975, 1e-13));
  t.true(close(normalCdf(1), 0.8413447460685429, 1e-14));
  t.true(close(normalCdf(-3), 0.0013498980316301, 1e-15));
  t.is(erfc(0), 1);
});

test("Cliff's delta by hand", (t) => {
  t.is(cliffsDelta([1, 2, 3], [4, 5, 6]), -1);
  t.is(cliffsDelta([4, 5, 6], [1, 2, 3]), 1);
  // pairs: 1<2 1<4 | 3>2 3<4 | 5>2 5>4: 3 greater, 3 less
  t.is(cliffsDelta([1, 3, 5], [2, 4]), 0);
  // 3>1 3>2 3<4 | 4>1 4>2 4=4 | 5>1 5>2 5>4: (7 − 1)/9
  t.is(cliffsDelta([3, 4, 5], [1, 2, 4]), 6 / 9);
  t.is(cliffsMagnitude(0.1), 'negligible');
  t.is(cliffsMagnitude(-0.5), 'large');
  t.throws(() => cliffsDelta([], [1]), { message: 'a: expected at least 1 sample, got 0' });
  t.throws(() => cliffsDelta([1], [2, NaN]), { message: 'b[1]: expected a finite number, got NaN' });
});

test("Hedges' g by hand", (t) => {
  // means 4 and 3, both sample variances 4: pooled sd 2, d = 0.5; J = 1 − 3/(4·6 − 9) = 0.8: g = 0.4
  t.true(close(hedgesG([2, 4, 6], [1, 3, 5]), 0.4, 1e-15));
  // means 11 and 1, variances 10 and 10 (n 5 and 5): d = 10/√10 = 3.1623; J = 1 − 3/31
  t.true(close(hedgesG([7, 9, 11, 13, 15], [-3, -1, 1, 3, 5]), (10 / Math.sqrt(10)) * (1 - 3 / 31), 1e-14));
  t.is(hedgesG([1, 1], [2, 2]), -Infinity);
});

test('Mann–Whitney U by hand: no ties, and ties with the tie correction', (t) => {
  // [1,2,3] vs [4,5,6]: U = 0, mean 4.5, sd √(9·7/12) = √5.25; z = (0 − 4.5 + 0.5)/√5.25
  const a = mannWhitneyU([1, 2, 3], [4, 5, 6]);
  t.is(a.u, 0);
  t.is(a.mean, 4.5);
  t.true(close(a.sd, Math.sqrt(5.25), 1e-15));
  t.true(close(a.z, -4 / Math.sqrt(5.25), 1e-15));
  // ranks of 1,2,2,2,3,3 are 1,3,3,3,5.5,5.5; a = [1,2,2] has rank sum 7: U = 7 − 6 = 1.
  // ties 3 and 2: Σ(t³ − t) = 24 + 6 = 30, N(N − 1) = 30: σ² = 9/12 · (7 − 1) = 4.5.
  // z = (1 − 4.5 + 0.5)/√4.5 = −√2, so p = 2Φ(−√2) = erfc(1) = 0.157299207050285 (tabulated)
  const b = mannWhitneyU([1, 2, 2], [2, 3, 3]);
  t.is(b.u, 1);
  t.true(close(b.sd, Math.sqrt(4.5), 1e-15));
  t.true(close(b.z, -Math.SQRT2, 1e-15));
  t.true(close(b.p, 0.157299207050285, 1e-13));
  // all equal: no evidence at all
  t.is(mannWhitneyU([5, 5, 5], [5, 5]).p, 1);
});

test('property: Mann–Whitney U of a plus U of b is n·m, and p is symmetric in the order of the samples', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 1, maxLength: 40 }), (a, b) => {
      const x = mannWhitneyU(a, b);
      const y = mannWhitneyU(b, a);
      // U of a counts pairs a > b (ties ½) directly: compare with the brute-force count
      let pairs = 0;
      for (const p of a) for (const q of b) pairs += p > q ? 1 : p === q ? 0.5 : 0;
      return x.u === pairs && x.u + y.u === a.length * b.length && close(x.p, y.p, 1e-12) && x.p > 0 && x.p <= 1;
    }),
    { seed: 7, numRuns: 300 },
  );
  t.pass();
});

test("property: Cliff's delta is the brute-force pair count, and antisymmetric", (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 1, maxLength: 30 }), (a, b) => {
      let s = 0;
      for (const p of a) for (const q of b) s += Math.sign(p - q);
      const d = cliffsDelta(a, b);
      return close(d, s / (a.length * b.length), 1e-12) && close(d, -cliffsDelta(b, a), 1e-12);
    }),
    { seed: 11, numRuns: 300 },
  );
  t.pass();
});

test('bootstrap: seeded (same seed, same interval), holds its estimate, and moves with the data', (t) => {
  const r = seeded(42);
  const a = Array.from({ length: 60 }, () => 100 + 5 * normal(r));
  const b = Array.from({ length: 60 }, () => 90 + 5 * normal(r));
  const x = bootstrapInterval(a, b, meanDifference, { seed: 9 });
  const y = bootstrapInterval(a, b, meanDifference, { seed: 9 });
  t.deepEqual(x, y);
  t.true(x.low <= x.estimate && x.estimate <= x.high);
  // shifting a by 3 shifts every resampled difference by 3 (same seed, same draws)
  const z = bootstrapInterval(a.map((v) => v + 3), b, meanDifference, { seed: 9 });
  t.true(close(z.low - x.low, 3, 1e-9) && close(z.high - x.high, 3, 1e-9));
  // The true difference is 10; the standard error of the difference is 5·√(2/60) = 0.913,
  // so a 95 % interval is about ±1.8 wide; it excludes 0 by more than 8 standard errors
  // (probability of missing below 1e-15 for any seed).
  t.true(x.low > 5 && x.high < 15, `${x.low} ${x.high}`);
  t.throws(() => bootstrapInterval(a, b, meanDifference, { iterations: 5 }), { message: 'iterations: expected an integer from 100 to 1000000, got 5' });
});

test('change point: an injected window is found to within 2 s (a 6σ shift: misplacing a boundary by 3 s or more has probability about Σ_k≥3 P(Z > 3√k) ≈ 1e-7)', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 20, max: 200 }), fc.integer({ min: 10, max: 60 }), fc.boolean(), (seed, start, length, down) => {
      const r = seeded(seed);
      const n = 300;
      const end = Math.min(n - 10, start + length);
      const series = Array.from({ length: n }, (_, i) => 1000 + 10 * normal(r) + (i >= start && i < end ? (down ? -60 : 60) : 0));
      const w = locateWindow(series)!;
      const robust = locateWindow(series, { robust: true })!;
      return Math.abs(w.start - start) <= 2 && Math.abs(w.end - end) <= 2 && Math.abs(robust.start - start) <= 2 && Math.abs(robust.end - end) <= 2 && Math.sign(w.shift) === (down ? -1 : 1);
    }),
    { seed: 18, numRuns: 60 },
  );
  t.pass();
});

test('change point: a 5 % loss window in a delivery-ratio series with Poisson-like noise, and heavy outliers with the robust form', (t) => {
  const r = seeded(5);
  // 1000 packets/s, ratio shadow/production ≈ 1 with binomial noise sd √(p(1−p)/1000) ≈ 0.0069 at p = 0.95
  const series = Array.from({ length: 240 }, (_, i) => {
    const p = i >= 100 && i < 130 ? 0.95 : 1;
    return p + Math.sqrt(Math.max(p * (1 - p), 1e-6) / 1000) * normal(r);
  });
  const w = locateWindow(series)!;
  t.true(Math.abs(w.start - 100) <= 2 && Math.abs(w.end - 130) <= 2, JSON.stringify(w));
  // an outlier far larger than the shift, outside the window: the robust form still finds it
  series[20] = 50;
  series[200] = -40;
  const rw = locateWindow(series, { robust: true })!;
  t.true(Math.abs(rw.start - 100) <= 2 && Math.abs(rw.end - 130) <= 2, JSON.stringify(rw));
  t.is(locateWindow([1, 2]), null);
  t.throws(() => locateWindow([1, 2, Infinity, 4, 5, 6]), { message: 'series[2]: expected a finite number, got Infinity' });
});
