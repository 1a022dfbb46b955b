/**
 * Finds an injected window in a series without being told when it was: the
 * "epidemic" change-point model (the series sits at one level, moves to
 * another for a while, and comes back). Every window [start, end) of at
 * least minLength samples is scored by how much of the variance the
 * two-level fit explains, S_in²/n_in + S_out²/n_out − S²/n (prefix sums make
 * each score O(1), the search O(n²): 3600 samples in well under a second);
 * the best wins. Optionally robust: samples further than 8 robust standard
 * deviations (1.4826 × the median absolute deviation) from the median are
 * clipped to that distance first, so a few extreme samples cannot pull the
 * window towards them while ordinary noise keeps its scale (ranks would
 * not: they flatten the shift against the noise).
 */

export interface LocatedWindow {
  /** index of the window's first sample */
  start: number;
  /** index after its last sample */
  end: number;
  /** mean inside minus mean outside (of the clipped values when robust) */
  shift: number;
  /** share of the total sum of squares the two-level fit explains, 0..1 */
  explained: number;
}

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

function clipped(xs: readonly number[]): number[] {
  const m = medianOf(xs);
  const scale = 1.4826 * medianOf(xs.map((v) => Math.abs(v - m)));
  if (scale === 0) return [...xs];
  const lo = m - 8 * scale;
  const hi = m + 8 * scale;
  return xs.map((v) => Math.min(hi, Math.max(lo, v)));
}

export function locateWindow(series: readonly number[], options: { minLength?: number; robust?: boolean } = {}): LocatedWindow | null {
  const minLength = options.minLength ?? 3;
  if (!Number.isInteger(minLength) || minLength < 1) throw new RangeError(`minLength: expected a positive integer, got ${minLength}`);
  const bad = series.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new RangeError(`series[${bad}]: expected a finite number, got ${String(series[bad])}`);
  const n = series.length;
  if (n < minLength + 2) return null;
  const x = options.robust ? clipped(series) : [...series];
  // Centre first: the scores then do not lose precision to a large level.
  const m0 = x.reduce((a, b) => a + b, 0) / n;
  const c = x.map((v) => v - m0);
  const prefix = new Float64Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    prefix[i + 1] = prefix[i]! + c[i]!;
    total += c[i]! * c[i]!;
  }
  const S = prefix[n]!;
  let best = -Infinity;
  let bs = -1;
  let be = -1;
  for (let s = 0; s < n; s++) {
    for (let e = s + minLength; e <= n; e++) {
      const nin = e - s;
      const nout = n - nin;
      if (nout < 1) continue;
      const sin = prefix[e]! - prefix[s]!;
      const sout = S - sin;
      const score = (sin * sin) / nin + (sout * sout) / nout;
      if (score > best) {
        best = score;
        bs = s;
        be = e;
      }
    }
  }
  if (bs < 0) return null;
  const nin = be - bs;
  const sin = prefix[be]! - prefix[bs]!;
  const shift = sin / nin - (S - sin) / (n - nin);
  const explained = total === 0 ? 0 : (best - (S * S) / n) / total;
  return { start: bs, end: be, shift, explained };
}
