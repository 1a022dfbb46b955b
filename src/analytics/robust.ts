/**
 * Robust statistics for the rate anomaly detector: median and MAD over a
 * moving window, and the robust z-score 0.6745 (x - median) / MAD (Iglewicz
 * and Hoaglin's modified z-score; 0.6745 makes MAD comparable to a standard
 * deviation for normal data).
 */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median absolute deviation from the median. */
export function mad(xs: readonly number[], med = median(xs)): number {
  return median(xs.map((x) => Math.abs(x - med)));
}

export interface RobustScore {
  median: number;
  mad: number;
  z: number;
}

/**
 * The robust z-score of x against xs. A MAD of 0 (a perfectly steady
 * baseline) is floored at 1 % of the median or 1 packet/s, whichever is
 * larger, so steady traffic is not infinitely sensitive.
 */
export function robustZ(x: number, xs: readonly number[]): RobustScore {
  const med = median(xs);
  const m = mad(xs, med);
  const floor = Math.max(1, Math.abs(med) * 0.01);
  const d = Math.max(m, floor);
  return { median: med, mad: m, z: (0.6745 * (x - med)) / d };
}

/** A fixed-length window of the most recent samples. */
export class MovingWindow {
  private readonly xs: number[] = [];
  constructor(private readonly size: number) {}

  push(x: number): void {
    this.xs.push(x);
    if (this.xs.length > this.size) this.xs.shift();
  }

  get length(): number {
    return this.xs.length;
  }

  values(): readonly number[] {
    return this.xs;
  }
}
