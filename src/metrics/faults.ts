/**
 * Fault metrics, pulled at scrape time from the fault service's view (one
 * read per scrape): per-fault counters (monotonic across table swaps and
 * data-plane restarts), the applied-delay histogram per fault and the
 * release-error histogram (when a copy left against when it was due), from
 * the data plane's log2 histograms of nanoseconds, in seconds; fault and
 * experiment state gauges. Never throws: a failed read keeps the last values.
 */
import { Gauge, type Registry } from 'prom-client';
import type { FaultCounterName, FaultCounterValues, FaultHistogram } from '../services/fault-counters.js';

export interface FaultMetricsView {
  generation: number;
  faults: { id: string; experiment: string | null; state: string; armed: boolean; counters: FaultCounterValues; delay?: FaultHistogram | undefined }[];
  releaseError?: FaultHistogram | undefined;
  experiments: { id: string; state: string; step: number | null; aborts: number }[];
}

const COUNTER_METRICS: readonly [string, FaultCounterName, string][] = [
  ['matched_total', 'matched', 'Shadow copies the fault matched (the first fault whose match holds takes a copy).'],
  ['dropped_total', 'dropped', 'Copies the fault dropped (loss, blackhole, link down).'],
  ['delayed_total', 'delayed', 'Copies the fault held in the delay line.'],
  ['corrupted_total', 'corrupted', 'Copies the fault flipped bits in.'],
  ['duplicated_total', 'duplicated', 'Extra copies the fault sent.'],
  ['reordered_total', 'reordered', 'Copies sent ahead of the delayed queue (netem reorder).'],
  ['rate_limited_total', 'rateLimited', 'Copies that waited for the shaper or were policed.'],
  ['overflowed_total', 'overflowed', 'Copies dropped because the fault\'s share of the delay line was full.'],
  ['ecn_marked_total', 'ecnMarked', 'Copies marked CE instead of dropped (loss with ecn).'],
];

export const FAULT_STATES = ['idle', 'scheduled', 'active', 'done', 'error'] as const;
export const EXPERIMENT_STATES = ['idle', 'running', 'completed', 'stopped', 'aborted'] as const;

/** A prom-client metric that exposes histograms it did not count itself. */
class ImportedHistogram {
  readonly type = 'histogram';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => { labels: Record<string, string>; h: FaultHistogram }[],
    private readonly onError: (err: unknown) => void,
  ) {}

  get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    let rows: { labels: Record<string, string>; h: FaultHistogram }[] = [];
    try {
      rows = this.read();
    } catch (err) {
      this.onError(err);
    }
    for (const { labels, h } of rows) {
      let cum = 0;
      h.boundsNs.forEach((b, i) => {
        cum += h.counts[i] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: b / 1e9 }, value: cum });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: h.sumNs / 1e9 });
      values.push({ metricName: `${this.name}_count`, labels, value: h.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' as const };
  }

  reset(): void {}
}

export function registerFaultMetrics(registry: Registry, read: () => FaultMetricsView | null, onError: (err: unknown) => void): void {
  let cached: FaultMetricsView | null = null;
  let cachedAt = -Infinity;
  const view = (): FaultMetricsView | null => {
    const now = performance.now();
    if (now - cachedAt < 100) return cached;
    try {
      cached = read() ?? cached;
    } catch (err) {
      onError(err);
    }
    cachedAt = now;
    return cached;
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, v: FaultMetricsView) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect: function (this: Gauge) {
        try {
          const v = view();
          if (!v) return;
          this.reset();
          fill(this, v);
        } catch (err) {
          onError(err);
        }
      },
    });
  // Counters in meaning; exposed as gauges set to the data plane's totals (a fault deleted disappears).
  for (const [suffix, key, help] of COUNTER_METRICS) {
    gauge(`shadowtap_fault_${suffix}`, `${help} Monotonic while the fault exists.`, ['fault', 'experiment'], (g, v) => {
      for (const f of v.faults) g.set({ fault: f.id, experiment: f.experiment ?? '' }, f.counters[key]);
    });
  }
  gauge('shadowtap_fault_armed', '1 while the fault is armed in the data plane.', ['fault', 'experiment'], (g, v) => {
    for (const f of v.faults) g.set({ fault: f.id, experiment: f.experiment ?? '' }, f.armed ? 1 : 0);
  });
  gauge('shadowtap_fault_state', 'Fault state (1 for the current one): idle, scheduled, active, done, error.', ['fault', 'state'], (g, v) => {
    for (const f of v.faults) for (const s of FAULT_STATES) g.set({ fault: f.id, state: s }, f.state === s ? 1 : 0);
  });
  gauge('shadowtap_fault_table_generation', 'Generation of the fault table last installed.', [], (g, v) => g.set(v.generation));
  gauge('shadowtap_experiment_state', 'Experiment state (1 for the current one): idle, running, completed, stopped, aborted.', ['experiment', 'state'], (g, v) => {
    for (const e of v.experiments) for (const s of EXPERIMENT_STATES) g.set({ experiment: e.id, state: s }, e.state === s ? 1 : 0);
  });
  gauge('shadowtap_experiment_step', 'The step a running experiment is in (0-based); -1 when not running.', ['experiment'], (g, v) => {
    for (const e of v.experiments) g.set({ experiment: e.id }, e.step ?? -1);
  });
  gauge('shadowtap_experiment_aborts', 'Times the experiment was aborted by a stop condition (its last run: 0 or 1).', ['experiment'], (g, v) => {
    for (const e of v.experiments) g.set({ experiment: e.id }, e.aborts);
  });
  registry.registerMetric(new ImportedHistogram('shadowtap_fault_applied_delay_seconds', 'Delay applied to each delayed copy, per fault (the data plane\'s log2 buckets).', () => {
    const v = view();
    return (v?.faults ?? []).filter((f) => f.delay).map((f) => ({ labels: { fault: f.id }, h: f.delay! }));
  }, onError) as never);
  registry.registerMetric(new ImportedHistogram('shadowtap_fault_release_error_seconds', 'When a delayed copy left minus when it was due, every fault (the data plane\'s log2 buckets).', () => {
    const h = view()?.releaseError;
    return h ? [{ labels: {}, h }] : [];
  }, onError) as never);
}
