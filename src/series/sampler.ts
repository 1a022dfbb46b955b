/**
 * Feeds the series store from the prom-client registry: every value of every
 * metric, under the name /metrics shows (histograms as _bucket with `le`,
 * _sum and _count), so whatever another module registers is recorded
 * without a change here. Driven by the lifecycle's `stats` event (each poll
 * of the data plane: the sample lands at the snapshot's time) and by a 1 s
 * timer that keeps the series going while no data plane runs.
 */
import type { Registry } from 'prom-client';
import type { Sample, SeriesStore } from './store.js';

/** prom-client's JSON form, narrowed to what is read. */
interface MetricJson {
  name: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

export async function registrySamples(registry: Registry): Promise<Sample[]> {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const out: Sample[] = [];
  for (const m of metrics) {
    for (const v of m.values) {
      const labels: Record<string, string> = {};
      for (const [k, x] of Object.entries(v.labels)) labels[k] = k === 'le' && x === Infinity ? '+Inf' : String(x);
      out.push({ name: v.metricName ?? m.name, labels, value: v.value });
    }
  }
  return out;
}

export interface SamplerOptions {
  store: SeriesStore;
  registry: Registry;
  /** ms; default 1000 */
  intervalMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
  /** called after every recorded sample (alerts evaluate here) */
  after?: (atMs: number) => void;
}

export class Sampler {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private lastSecond = -1;

  constructor(private readonly o: SamplerOptions) {}

  /** Record the registry's values now (or at `atMs`); one at a time, a call during another is skipped. */
  async sample(atMs?: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const at = atMs ?? (this.o.now ?? Date.now)();
      const samples = await registrySamples(this.o.registry);
      this.o.store.record(at, samples);
      this.lastSecond = Math.floor(at / 1000);
      this.o.after?.(at);
    } catch (err) {
      this.o.onError?.(err);
    } finally {
      this.busy = false;
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      // A stats poll already filled this second: nothing to add.
      if (Math.floor((this.o.now ?? Date.now)() / 1000) === this.lastSecond) return;
      void this.sample();
    }, this.o.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
