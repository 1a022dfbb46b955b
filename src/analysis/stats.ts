/**
 * The statistics of experiment analysis (docs/experiments.md): effect sizes
 * (Cliff's delta, Hedges' g), percentile bootstrap confidence intervals
 * (seeded), and the Mann–Whitney U test with the normal approximation, tie
 * and continuity corrections. Pure functions over per-second samples; no
 * input is trusted: an empty or non-finite sample is refused naming it.
 */
import { seeded, type Random } from './random.js';

function check(name: string, xs: readonly number[], min = 1): void {
  if (!Array.isArray(xs)) throw new TypeError(`${name}: expected an array of numbers`);
  if (xs.length < min) throw new RangeError(`${name}: expected at least ${min} sample${min === 1 ? '' : 's'}, got ${xs.length}`);
  const bad = xs.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new RangeError(`${name}[${bad}]: expected a finite number, got ${String(xs[bad])}`);
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample variance (n − 1). */
export function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/**
 * Cliff's delta: P(a > b) − P(a < b) over all pairs, in [−1, 1]. Rank-based,
 * so a few outliers (a burst, a retransmission storm) do not dominate it.
 * Counted with two sorted arrays: O((n + m) log(n + m)).
 */
export function cliffsDelta(a: readonly number[], b: readonly number[]): number {
  check('a', a);
  check('b', b);
  const sb = [...b].sort((x, y) => x - y);
  let greater = 0;
  let less = 0;
  for (const x of a) {
    greater += lowerBound(sb, x); // b values < x
    less += sb.length - upperBound(sb, x); // b values > x
  }
  return (greater - less) / (a.length * b.length);
}

function lowerBound(s: readonly number[], x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function upperBound(s: readonly number[], x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The usual reading of |delta| (Romano et al. 2006): negligible < 0.147 ≤ small < 0.33 ≤ medium < 0.474 ≤ large. */
export function cliffsMagnitude(delta: number): 'negligible' | 'small' | 'medium' | 'large' {
  const d = Math.abs(delta);
  return d < 0.147 ? 'negligible' : d < 0.33 ? 'small' : d < 0.474 ? 'medium' : 'large';
}

/**
 * Hedges' g: the standardised mean difference (a − b) over the pooled
 * standard deviation, times the small-sample correction J = 1 − 3/(4(n + m) − 9).
 * NaN when both samples are constant and equal; ±Infinity when constant and different.
 */
export function hedgesG(a: readonly number[], b: readonly number[]): number {
  check('a', a, 2);
  check('b', b, 2);
  const n = a.length;
  const m = b.length;
  const pooled = Math.sqrt(((n - 1) * variance(a) + (m - 1) * variance(b)) / (n + m - 2));
  const diff = mean(a) - mean(b);
  if (pooled === 0) return diff === 0 ? NaN : diff > 0 ? Infinity : -Infinity;
  return (diff / pooled) * (1 - 3 / (4 * (n + m) - 9));
}

/** erfc to about 1e-14 absolute: its Taylor series below 3, Lentz's continued fraction above. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 3) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (x > 27) return 0;
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const ak = k / 2;
    d = x + ak * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + ak / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Φ(z), the standard normal distribution function. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

export interface MannWhitney {
  /** U of a: the pairs (a_i, b_j) with a_i > b_j, ties counting ½ */
  u: number;
  /** n·m/2: U's mean under the null hypothesis */
  mean: number;
  /** U's standard deviation under the null, tie-corrected */
  sd: number;
  /** (U − mean ∓ ½) / sd, the continuity correction towards the mean */
  z: number;
  /** two-sided */
  p: number;
}

/**
 * The Mann–Whitney U test of a against b, two-sided, with the normal
 * approximation (ties: σ² = nm/12 · ((N + 1) − Σ(t³ − t)/(N(N − 1))); a ½
 * continuity correction), as scipy.stats.mannwhitneyu(method='asymptotic')
 * computes it. Per-second samples of a few minutes are well past the sizes
 * (about 20 each) where the approximation holds.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitney {
  check('a', a);
  check('b', b);
  const n = a.length;
  const m = b.length;
  const all = [...a.map((v) => ({ v, a: true })), ...b.map((v) => ({ v, a: false }))].sort((x, y) => x.v - y.v);
  const N = n + m;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < N; ) {
    let j = i;
    while (j + 1 < N && all[j + 1]!.v === all[i]!.v) j++;
    const t = j - i + 1;
    const rank = (i + j + 2) / 2; // ranks i+1..j+1, averaged
    for (let k = i; k <= j; k++) if (all[k]!.a) rankSumA += rank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumA - (n * (n + 1)) / 2;
  const mu = (n * m) / 2;
  const sd = Math.sqrt(((n * m) / 12) * (N + 1 - tieTerm / (N * (N - 1))));
  if (sd === 0) return { u, mean: mu, sd, z: 0, p: 1 };
  const diff = u - mu;
  const z = (diff - 0.5 * Math.sign(diff)) / sd;
  const p = Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
  return { u, mean: mu, sd, z, p };
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
  confidence: number;
  iterations: number;
  seed: number;
}

export interface BootstrapOptions {
  /** default 2000 */
  iterations?: number;
  /** default 0.95 */
  confidence?: number;
  /** default 1 (reports print the seed they used) */
  seed?: number;
}

/**
 * A percentile bootstrap interval for statistic(a, b): both samples are
 * resampled with replacement, independently, `iterations` times with a
 * seeded generator; the interval is the (1 − c)/2 and (1 + c)/2 quantiles
 * of the resampled statistics. Same seed, same data: same interval.
 */
export function bootstrapInterval(a: readonly number[], b: readonly number[], statistic: (a: readonly number[], b: readonly number[]) => number, options: BootstrapOptions = {}): Interval {
  check('a', a);
  check('b', b);
  const iterations = options.iterations ?? 2000;
  const confidence = options.confidence ?? 0.95;
  const seed = options.seed ?? 1;
  if (!Number.isInteger(iterations) || iterations < 100 || iterations > 1_000_000) throw new RangeError(`iterations: expected an integer from 100 to 1000000, got ${iterations}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence: expected a number between 0 and 1, got ${confidence}`);
  const random: Random = seeded(seed);
  const ra = new Array<number>(a.length);
  const rb = new Array<number>(b.length);
  const stats = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < a.length; k++) ra[k] = a[Math.floor(random() * a.length)]!;
    for (let k = 0; k < b.length; k++) rb[k] = b[Math.floor(random() * b.length)]!;
    stats[i] = statistic(ra, rb);
  }
  stats.sort();
  const at = (q: number) => {
    const r = q * (iterations - 1);
    const lo = Math.floor(r);
    const hi = Math.min(iterations - 1, lo + 1);
    return stats[lo]! + (stats[hi]! - stats[lo]!) * (r - lo);
  };
  return { estimate: statistic(a, b), low: at((1 - confidence) / 2), high: at((1 + confidence) / 2), confidence, iterations, seed };
}

export const meanDifference = (a: readonly number[], b: readonly number[]): number => mean(a) - mean(b);
export const medianDifference = (a: readonly number[], b: readonly number[]): number => median(a) - median(b);
