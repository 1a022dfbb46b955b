/**
 * The series service: the supervisor's in-memory series store (1 s
 * resolution, an hour and more: src/series/store.ts), fed from the metrics
 * registry at every stats poll and every second, and the queries over it
 * that alerts, the dashboard and experiment analysis use
 * (GET /v1/series/query, /v1/series/query_range).
 *
 * The registry is attached after construction (`readFrom`): it is made by
 * whoever builds the API, from the supervisor itself.
 */
import type { Registry } from 'prom-client';
import { stError } from '../errors.js';
import { query, queryRange, type RangeSeries, type Value } from '../series/eval.js';
import { ExprError, parseExpr, type Node } from '../series/expr.js';
import { Sampler } from '../series/sampler.js';
import { SeriesStore, type Labels, type SeriesStoreOptions } from '../series/store.js';

/** What routes and other services call. */
export interface SeriesOperations {
  /** metric names held, with their series counts, and the store's bounds */
  overview(): SeriesOverview;
  /** evaluate at `at` ms (default: the newest sample); ST_ERR_BAD_REQUEST naming the position on a bad expression */
  instant(expr: string, at?: number): { at: number; value: Value };
  /** evaluate at every step over [start, end] */
  range(expr: string, start: number, end: number, stepMs: number): { start: number; end: number; stepMs: number; series: RangeSeries[] };
}

export interface SeriesOverview {
  resolutionSeconds: 1;
  capacitySeconds: number;
  maxSeries: number;
  series: number;
  refused: number;
  /** ms of the newest sample, null before the first */
  latest: number | null;
  metrics: { name: string; series: number; labels: Labels[] }[];
}

/** Points a range query may return per series; a longer range needs a longer step. */
export const MAX_RANGE_POINTS = 11_000;

/** Parse for an API caller: a bad expression is a 400 naming the field and the position. */
export function parseForApi(expr: string, field = 'expr'): Node {
  try {
    return parseExpr(expr);
  } catch (err) {
    if (err instanceof ExprError) throw stError('ST_ERR_BAD_REQUEST', `${field}: ${err.message}`, { field });
    throw err;
  }
}

function evalForApi<T>(fn: () => T, field = 'expr'): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ExprError) throw stError('ST_ERR_BAD_REQUEST', `${field}: ${err.message}`, { field });
    throw err;
  }
}

export class SeriesService implements SeriesOperations {
  readonly store: SeriesStore;
  private sampler: Sampler | null = null;
  private readonly afterSample: ((at: number) => void)[] = [];

  constructor(options: SeriesStoreOptions & { onError?: (err: unknown) => void } = {}) {
    this.store = new SeriesStore(options);
    this.onError = options.onError ?? (() => undefined);
  }

  private readonly onError: (err: unknown) => void;

  /** Start sampling `registry` every second; idempotent for the same registry. */
  readFrom(registry: Registry, intervalMs = 1000): void {
    this.sampler?.stop();
    this.sampler = new Sampler({ store: this.store, registry, intervalMs, onError: this.onError, after: (at) => this.afterSample.forEach((f) => f(at)) });
    this.sampler.start();
  }

  /** A stats poll arrived: sample now, at the snapshot's time. */
  sampleAt(atMs: number): Promise<void> {
    return this.sampler?.sample(atMs) ?? Promise.resolve();
  }

  /** Run fn after every recorded sample (alerts evaluate here). */
  onSample(fn: (atMs: number) => void): void {
    this.afterSample.push(fn);
  }

  stop(): void {
    this.sampler?.stop();
  }

  overview(): SeriesOverview {
    const s = this.store;
    return {
      resolutionSeconds: 1,
      capacitySeconds: s.capacity,
      maxSeries: s.maxSeries,
      series: s.size,
      refused: s.refused,
      latest: s.latest,
      metrics: s.names().map((name) => {
        const labels = s.labelSets(name);
        return { name, series: labels.length, labels: labels.slice(0, 50) };
      }),
    };
  }

  instant(expr: string, at?: number): { at: number; value: Value } {
    const node = parseForApi(expr);
    const when = at ?? this.store.latest ?? Date.now();
    return { at: when, value: evalForApi(() => query(this.store, node, when)) };
  }

  range(expr: string, start: number, end: number, stepMs: number) {
    const node = parseForApi(expr);
    if (!(end >= start)) throw stError('ST_ERR_BAD_REQUEST', `end: expected a time at or after start (${start}), got ${end}`, { field: 'end' });
    if ((end - start) / stepMs > MAX_RANGE_POINTS) {
      throw stError('ST_ERR_BAD_REQUEST', `step: ${stepMs} ms gives more than ${MAX_RANGE_POINTS} points over ${end - start} ms; expected a step of at least ${Math.ceil((end - start) / MAX_RANGE_POINTS)} ms`, { field: 'step' });
    }
    return { start, end, stepMs, series: evalForApi(() => queryRange(this.store, node, start, end, stepMs)) };
  }
}
