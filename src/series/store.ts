/**
 * The supervisor's own time series: one sample a second per series, the
 * last hour and a bit, in memory, so an alert or an experiment's analysis
 * needs no Prometheus server.
 *
 * Series are whatever the prom-client registry holds (name + labels, the
 * same names /metrics shows): the store is generic, so a metric added by
 * another module appears here without a change to this file. Every series
 * is a fixed ring of Float64 slots, one per second (NaN: no sample that
 * second), so memory is bounded by capacity × maxSeries × 8 bytes; a series
 * past maxSeries is refused and counted, never grown into.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export interface StoredSeries {
  name: string;
  labels: Labels;
  /** [ms since the epoch (a whole second), value], oldest first */
  points: [number, number][];
}

export interface SeriesStoreOptions {
  /** seconds kept; default 3900 (an hour, plus room for a window that ends an hour back) */
  capacitySeconds?: number;
  /** series kept at most; default 2000 (≈ 62 MB at the default capacity) */
  maxSeries?: number;
}

interface Ring {
  name: string;
  labels: Labels;
  values: Float64Array;
  /** the last second that had a sample */
  lastSecond: number;
}

export function seriesKey(name: string, labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

export class SeriesStore {
  readonly capacity: number;
  readonly maxSeries: number;
  private readonly series = new Map<string, Ring>();
  private readonly byName = new Map<string, Set<string>>();
  /** the newest second written; slots (head - capacity, head] are valid */
  private head = -Infinity;
  /** samples refused because maxSeries was reached */
  refused = 0;
  /** samples older than the window, ignored */
  late = 0;

  constructor(options: SeriesStoreOptions = {}) {
    this.capacity = options.capacitySeconds ?? 3900;
    this.maxSeries = options.maxSeries ?? 2000;
    if (!Number.isInteger(this.capacity) || this.capacity < 60) throw new RangeError(`capacitySeconds: expected an integer of at least 60, got ${this.capacity}`);
    if (!Number.isInteger(this.maxSeries) || this.maxSeries < 1) throw new RangeError(`maxSeries: expected a positive integer, got ${this.maxSeries}`);
  }

  get size(): number {
    return this.series.size;
  }

  /** The newest second with data, in ms, or null before the first sample. */
  get latest(): number | null {
    return Number.isFinite(this.head) ? this.head * 1000 : null;
  }

  /**
   * Record one sample per series at time `atMs` (its second: a later write in
   * the same second replaces the earlier one). Non-finite values are kept as
   * missing.
   */
  record(atMs: number, samples: Iterable<Sample>): void {
    const second = Math.floor(atMs / 1000);
    if (Number.isFinite(this.head) && second <= this.head - this.capacity) {
      this.late++;
      return;
    }
    if (second > this.head) this.advance(second);
    const slot = second % this.capacity;
    for (const s of samples) {
      const key = seriesKey(s.name, s.labels);
      let ring = this.series.get(key);
      if (!ring) {
        if (this.series.size >= this.maxSeries) {
          this.refused++;
          continue;
        }
        ring = { name: s.name, labels: Object.freeze({ ...s.labels }), values: new Float64Array(this.capacity).fill(NaN), lastSecond: second };
        this.series.set(key, ring);
        let names = this.byName.get(s.name);
        if (!names) this.byName.set(s.name, (names = new Set()));
        names.add(key);
      }
      ring.values[slot] = Number.isFinite(s.value) ? s.value : NaN;
      if (second > ring.lastSecond) ring.lastSecond = second;
    }
  }

  /** Move the head to `second`, clearing the slots it passes and forgetting series silent for the whole window. */
  private advance(second: number): void {
    const from = Number.isFinite(this.head) ? this.head + 1 : second;
    const n = Math.min(second - from + 1, this.capacity);
    const wrapped = (second - n + 1) % this.capacity;
    for (const ring of this.series.values()) {
      for (let i = 0; i < n; i++) ring.values[(wrapped + i) % this.capacity] = NaN;
    }
    this.head = second;
    // A series with no sample in the window holds nothing: let it go.
    for (const [key, ring] of this.series) {
      if (ring.lastSecond <= second - this.capacity) {
        this.series.delete(key);
        const names = this.byName.get(ring.name);
        names?.delete(key);
        if (names?.size === 0) this.byName.delete(ring.name);
      }
    }
  }

  /** Metric names with at least one series, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Every series of `name` (filtered by `keep`), with their samples in [fromMs, toMs]. */
  select(name: string, fromMs: number, toMs: number, keep: (labels: Labels) => boolean = () => true): StoredSeries[] {
    const keys = this.byName.get(name);
    if (!keys || !Number.isFinite(this.head)) return [];
    const first = Math.max(Math.ceil(fromMs / 1000), this.head - this.capacity + 1);
    const last = Math.min(Math.floor(toMs / 1000), this.head);
    const out: StoredSeries[] = [];
    for (const key of keys) {
      const ring = this.series.get(key)!;
      if (!keep(ring.labels)) continue;
      const points: [number, number][] = [];
      for (let s = first; s <= last; s++) {
        const v = ring.values[s % this.capacity]!;
        if (!Number.isNaN(v)) points.push([s * 1000, v]);
      }
      out.push({ name: ring.name, labels: ring.labels, points });
    }
    return out;
  }

  /** Every series's labels for `name`, without samples. */
  labelSets(name: string): Labels[] {
    return [...(this.byName.get(name) ?? [])].map((k) => this.series.get(k)!.labels);
  }
}
