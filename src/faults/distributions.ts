/**
 * The delay distributions as the data plane draws them
 * (native/dataplane/stages/impair_ctl.c): standardised inverse CDF tables (mean 0,
 * sd 1) for pareto and paretonormal, a table made from measured samples, and
 * the largest standardised value of each (what sizes the delay line).
 */

export const TABLE_N = 4096;
/** Normal draws are kept within this many standard deviations (ST_IMP_Z_CLAMP). */
export const NORMAL_CLAMP = 6;

/** Standard normal quantile (Acklam's rational approximation). */
export function normQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

const pareto = (u: number) => (Math.pow(1 - u, -1 / 3) - 1.5) * (4 / 3);

function standardise(t: number[]): number[] {
  const mean = t.reduce((s, v) => s + v, 0) / t.length;
  const sd = Math.sqrt(t.reduce((s, v) => s + (v - mean) ** 2, 0) / t.length);
  return t.map((v) => (v - mean) / sd);
}

/** The data plane's built-in table for pareto or paretonormal. */
export function builtinTable(dist: 'pareto' | 'paretonormal'): number[] {
  const t: number[] = [];
  for (let i = 0; i < TABLE_N; i++) {
    const u = (i + 0.5) / TABLE_N;
    t.push(dist === 'pareto' ? pareto(u) : 0.25 * normQuantile(u) + 0.75 * pareto(u));
  }
  return standardise(t);
}

/**
 * A standardised table from measured samples (netem's maketable does the
 * same from a file of samples): their quantiles at (k + 0.5) / n, linearly
 * interpolated, then shifted and scaled to mean 0, sd 1. The delay's time and
 * jitter place it; the samples' own mean and sd are returned to be used as
 * defaults.
 */
export function tableFromSamples(samples: readonly number[]): { table: number[]; mean: number; sd: number } | string {
  if (samples.some((v) => !Number.isFinite(v))) return 'the samples must be finite numbers';
  const s = [...samples].sort((x, y) => x - y);
  const mean = s.reduce((a, v) => a + v, 0) / s.length;
  const sd = Math.sqrt(s.reduce((a, v) => a + (v - mean) ** 2, 0) / s.length);
  if (!(sd > 0)) return 'the samples are all equal: they describe no jitter';
  const n = Math.min(TABLE_N, s.length);
  const t: number[] = [];
  for (let k = 0; k < n; k++) {
    const x = ((k + 0.5) / n) * (s.length - 1);
    const lo = Math.floor(x);
    const hi = Math.min(lo + 1, s.length - 1);
    t.push(s[lo]! + (s[hi]! - s[lo]!) * (x - lo));
  }
  return { table: standardise(t), mean, sd };
}

/** Why a table is not a standardised inverse CDF, or null when it is. */
export function tableProblem(t: readonly number[]): string | null {
  if (t.length < 2) return 'a table needs at least 2 entries';
  for (let k = 0; k < t.length; k++) {
    if (!Number.isFinite(t[k]!)) return `entry ${k} is not a finite number`;
    if (k > 0 && t[k]! < t[k - 1]!) return `not a distribution: entry ${k} (${t[k]}) is below entry ${k - 1} (${t[k - 1]}); expected an inverse CDF, non-decreasing`;
  }
  const mean = t.reduce((a, v) => a + v, 0) / t.length;
  const sd = Math.sqrt(t.reduce((a, v) => a + (v - mean) ** 2, 0) / t.length);
  if (Math.abs(mean) > 0.01 || Math.abs(sd - 1) > 0.01) {
    return `not a standardised distribution: mean ${mean.toPrecision(3)}, sd ${sd.toPrecision(3)}; expected mean 0 and sd 1 (give measured delays as samples instead)`;
  }
  return null;
}

/** The largest standardised value a distribution draws (uniform: 1 half-width). */
export function distributionMax(dist: string, table?: readonly number[]): number {
  if (dist === 'normal') return NORMAL_CLAMP;
  if (dist === 'uniform') return 1;
  if (dist === 'pareto' || dist === 'paretonormal') return builtinTable(dist).at(-1)!;
  return table?.at(-1) ?? 0;
}
