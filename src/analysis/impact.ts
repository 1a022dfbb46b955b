/**
 * Impact analysis of an experiment (docs/experiments.md): per step window
 * and key metric, per-second samples read from the series store, compared
 *
 * - with the window before the step, on the shadow side (did the metric
 *   move when the step began?), and
 * - with the control: the production side at the same seconds. The
 *   per-second difference shadow − production during the step is compared
 *   with the same difference before it (a difference in differences), so a
 *   change of load that moves both sides cancels and only what the shadow
 *   side alone went through remains; production's own change is shown too
 *   (a fault acts on copies only: production should not move).
 *
 * Each comparison carries Cliff's delta, Hedges' g, a seeded percentile
 * bootstrap interval of the mean difference and the Mann–Whitney U test
 * (src/analysis/stats.ts). Pure over a SeriesStore: the same store, windows
 * and seed give the same table.
 */
import type { Labels, SeriesStore } from '../series/store.js';
import { bootstrapInterval, cliffsDelta, cliffsMagnitude, hedgesG, mannWhitneyU, mean, meanDifference } from './stats.js';

export type Side = 'shadow' | 'production';

/** A step of the experiment as it ran: its windows in ms since the epoch ([from, to)). */
export interface StepWindow {
  step: number;
  name: string;
  faults: string[];
  before: [number, number];
  during: [number, number];
  after: [number, number];
}

export interface PortRoles {
  production: string[];
  egress: string[];
  shadow: string[];
}

/** Per-second values keyed by the second (ms of the second's end). */
export type PerSecond = Map<number, number>;

export interface MetricDef {
  id: string;
  label: string;
  unit: string;
  /** per VM as well as overall */
  perVm: boolean;
  read(store: SeriesStore, side: Side, vm: string | null, from: number, to: number, roles: PortRoles): PerSecond;
}

/** Longest gap between two samples still read as one rate (a busy supervisor can miss a second). */
export const MAX_GAP_MS = 5000;

/**
 * Per-second increases of a counter (summed over the series `keep` selects),
 * keyed by the later sample's second; a drop is a reset. Across a gap of a
 * few missing seconds the increase is spread evenly (the rate over the gap),
 * so a missed sample costs one value, not two.
 */
export function counterIncreases(store: SeriesStore, name: string, from: number, to: number, keep: (l: Labels) => boolean): PerSecond {
  const out: PerSecond = new Map();
  // earlier: the first increase in the window needs the sample before it
  for (const s of store.select(name, from - MAX_GAP_MS, to, keep)) {
    for (let i = 1; i < s.points.length; i++) {
      const [t0, v0] = s.points[i - 1]!;
      const [t1, v1] = s.points[i]!;
      const gap = t1 - t0;
      if (gap > MAX_GAP_MS) continue;
      const inc = v1 >= v0 ? v1 - v0 : v1;
      out.set(t1, (out.get(t1) ?? 0) + (inc * 1000) / gap);
    }
  }
  return out;
}

function combine(a: PerSecond, b: PerSecond, fn: (x: number, y: number) => number | null): PerSecond {
  const out: PerSecond = new Map();
  for (const [t, x] of a) {
    const y = b.get(t);
    if (y === undefined) continue;
    const v = fn(x, y);
    if (v !== null && Number.isFinite(v)) out.set(t, v);
  }
  return out;
}

const inSet = (names: string[]) => (l: Labels) => names.includes(l['port'] ?? '');
const sideVm = (side: Side, vm: string | null, extra: (l: Labels) => boolean = () => true) => (l: Labels) => l['side'] === side && (vm === null || l['vm'] === vm) && extra(l);

/** Quantile per second from a histogram's bucket increases (Prometheus's histogram_quantile). */
function histogramQuantile(store: SeriesStore, name: string, q: number, from: number, to: number, keep: (l: Labels) => boolean): PerSecond {
  const byLe = new Map<string, PerSecond>();
  for (const s of store.labelSets(`${name}_bucket`)) {
    if (!keep(s)) continue;
    const le = s['le'] ?? '';
    if (!byLe.has(le)) byLe.set(le, counterIncreases(store, `${name}_bucket`, from, to, (l) => keep(l) && l['le'] === le));
  }
  const bounds = [...byLe.keys()].map((le) => ({ le, b: le === '+Inf' ? Infinity : Number(le) })).sort((x, y) => x.b - y.b);
  const out: PerSecond = new Map();
  const inf = byLe.get('+Inf');
  if (!inf) return out;
  for (const [t, total] of inf) {
    if (!(total > 0)) continue;
    const rank = q * total;
    let prevB = 0;
    let prevC = 0;
    for (const { le, b } of bounds) {
      const c = byLe.get(le)!.get(t) ?? 0;
      if (c >= rank) {
        // the highest finite bound when the rank falls in +Inf, as Prometheus does
        const v = b === Infinity ? prevB : c === prevC ? b : prevB + (b - prevB) * ((rank - prevC) / (c - prevC));
        out.set(t, v);
        break;
      }
      prevB = b;
      prevC = c;
    }
  }
  return out;
}

const rate = (name: string, pick: (side: Side, vm: string | null) => (l: Labels) => boolean): MetricDef['read'] => (store, side, vm, from, to) => counterIncreases(store, name, from, to, pick(side, vm));

/**
 * The key metrics. Delivery, loss and added delay come from the port and
 * fault counters (every copy, delayed ones included); the TCP metrics from
 * passive measurement's side-labelled series (docs/measurement.md), overall
 * and per VM, where measurement is on.
 */
export const METRICS: readonly MetricDef[] = [
  {
    id: 'delivery_ratio',
    label: 'delivery (packets sent per production packet received)',
    unit: 'ratio',
    perVm: false,
    read(store, side, _vm, from, to, roles) {
      const rx = counterIncreases(store, 'shadowtap_port_rx_packets_total', from, to, inSet(roles.production));
      const tx = counterIncreases(store, 'shadowtap_port_tx_packets_total', from, to, inSet(side === 'shadow' ? roles.shadow : roles.egress));
      return combine(tx, rx, (x, y) => (y > 0 ? x / y : null));
    },
  },
  {
    id: 'loss_ratio',
    label: 'loss (share of packets lost on the way)',
    unit: 'ratio',
    perVm: false,
    read(store, side, _vm, from, to, roles) {
      if (side === 'production') {
        // Counted losses, not received − forwarded: a stats snapshot reads the rx and the tx
        // counters one after the other while the worker runs, so on a loaded host the packets
        // received between the two reads (a preempted reader: 100 at 2000 pps in 50 ms) showed
        // as a second's loss that the next second paid back, and the control moved with it.
        const rx = counterIncreases(store, 'shadowtap_port_rx_packets_total', from, to, inSet(roles.production));
        const missed = counterIncreases(store, 'shadowtap_port_hw_imissed_total', from, to, inSet(roles.production));
        const nombuf = counterIncreases(store, 'shadowtap_port_hw_rx_nombuf_total', from, to, inSet(roles.production));
        const full = counterIncreases(store, 'shadowtap_port_tx_dropped_total', from, to, inSet(roles.egress));
        return new Map([...rx].map(([t, r]) => {
          const before = (missed.get(t) ?? 0) + (nombuf.get(t) ?? 0);
          const lost = before + (full.get(t) ?? 0);
          return [t, r + before > 0 ? lost / (r + before) : 0];
        }));
      }
      const sent = counterIncreases(store, 'shadowtap_port_tx_packets_total', from, to, inSet(roles.shadow));
      const faultDrops = counterIncreases(store, 'shadowtap_fault_dropped_total', from, to, () => true);
      const overflow = counterIncreases(store, 'shadowtap_fault_overflowed_total', from, to, () => true);
      const full = counterIncreases(store, 'shadowtap_mirror_dropped_total', from, to, (l) => l['reason'] === 'tx_full' || l['reason'] === 'nomem');
      return new Map([...sent].map(([t, s]) => {
        const d = (faultDrops.get(t) ?? 0) + (overflow.get(t) ?? 0) + (full.get(t) ?? 0);
        return [t, s + d > 0 ? d / (s + d) : 0];
      }));
    },
  },
  {
    id: 'added_delay_ms',
    label: 'delay added to delayed copies (mean, the data plane\'s own measure)',
    unit: 'ms',
    perVm: false,
    read(store, side, _vm, from, to, roles) {
      // Seconds with traffic and no delayed copy added nothing: 0, not missing.
      const base = counterIncreases(store, 'shadowtap_port_tx_packets_total', from, to, inSet(side === 'shadow' ? roles.shadow : roles.egress));
      if (side === 'production') return new Map([...base.keys()].map((t) => [t, 0]));
      const sum = counterIncreases(store, 'shadowtap_fault_applied_delay_seconds_sum', from, to, () => true);
      const count = counterIncreases(store, 'shadowtap_fault_applied_delay_seconds_count', from, to, () => true);
      const delayed = counterIncreases(store, 'shadowtap_fault_delayed_total', from, to, () => true);
      const out: PerSecond = new Map();
      for (const t of base.keys()) {
        const c = count.get(t) ?? 0;
        if (c > 0) out.set(t, ((sum.get(t) ?? 0) / c) * 1000);
        // copies were delayed but their delays are not in this sample yet: unknown, not 0
        else if ((delayed.get(t) ?? 0) === 0) out.set(t, 0);
      }
      return out;
    },
  },
  { id: 'packets', label: 'packets measured per second', unit: 'pps', perVm: true, read: rate('shadowtap_measure_packets_total', (s, v) => sideVm(s, v)) },
  { id: 'retransmissions', label: 'TCP retransmissions per second', unit: '/s', perVm: true, read: rate('shadowtap_measure_tcp_retransmissions_total', (s, v) => sideVm(s, v)) },
  { id: 'resets', label: 'TCP resets per second', unit: '/s', perVm: true, read: rate('shadowtap_measure_tcp_resets_total', (s, v) => sideVm(s, v)) },
  ...(['syn_synack', 'timestamp'] as const).flatMap((kind) => ([0.5, 0.9] as const).map((q): MetricDef => ({
    id: `rtt_${kind}_p${q * 100}`,
    label: `${kind === 'syn_synack' ? 'handshake' : 'timestamp'} RTT, p${q * 100} of each second`,
    unit: 'ms',
    perVm: true,
    read: (store, side, vm, from, to) => {
      const per = histogramQuantile(store, 'shadowtap_measure_rtt_seconds', q, from, to, sideVm(side, vm, (l) => l['kind'] === kind));
      return new Map([...per].map(([t, v]) => [t, v * 1000]));
    },
  }))),
];

export interface Comparison {
  /** samples compared (a: the step's, b: the reference's) */
  n: [number, number];
  meanA: number;
  meanB: number;
  /** mean(a) − mean(b), with its bootstrap interval */
  difference: { estimate: number; low: number; high: number };
  /** relative to |mean(b)|, null when mean(b) is 0 */
  relative: number | null;
  cliffsDelta: number;
  magnitude: 'negligible' | 'small' | 'medium' | 'large';
  hedgesG: number | null;
  p: number;
  significant: boolean;
}

export interface ImpactRow {
  step: number;
  stepName: string;
  faults: string[];
  metric: string;
  label: string;
  unit: string;
  /** "overall" or the VM's name */
  scope: string;
  /** shadow during the step against shadow before it */
  vsBefore: Comparison | null;
  /** (shadow − production) during against the same before: the control */
  vsControl: Comparison | null;
  /** production during against production before: should not move */
  production: Comparison | null;
  /** why a comparison is missing */
  note: string | null;
  /** the level each of this step's tests is held to (alpha over the step's tests with data) */
  alphaEach: number;
}

export interface ImpactOptions {
  seed: number;
  /** two-sided level over each step's tests (Bonferroni within the step); default 0.05 */
  alpha?: number;
  /** bootstrap iterations; default 2000 */
  iterations?: number;
  /** left out at each edge of every window (samples that may straddle a boundary); default 1000 */
  guardMs?: number;
}

/** Fewer per-second samples than this on a side: no comparison. */
export const MIN_SAMPLES = 5;

function seconds(ps: PerSecond, [from, to]: [number, number], guard: number): [number, number][] {
  // the increase at t covers about (t − 1 s, t]: wholly inside [from + guard, to − guard]
  // (after a gap it covers more: the guard of a second absorbs a one-second gap at the edge)
  return [...ps].filter(([t]) => t - 1000 >= from + guard && t <= to - guard).sort((a, b) => a[0] - b[0]);
}

/** significant is decided by the caller, once the step's tests are counted */
function compare(a: number[], b: number[], seed: number, iterations: number): Comparison | null {
  if (a.length < MIN_SAMPLES || b.length < MIN_SAMPLES) return null;
  const ci = bootstrapInterval(a, b, meanDifference, { seed, iterations });
  const mw = mannWhitneyU(a, b);
  const g = hedgesG(a, b);
  const d = cliffsDelta(a, b);
  const mb = mean(b);
  return {
    n: [a.length, b.length],
    meanA: mean(a),
    meanB: mb,
    difference: { estimate: ci.estimate, low: ci.low, high: ci.high },
    relative: mb !== 0 ? ci.estimate / Math.abs(mb) : null,
    cliffsDelta: d,
    magnitude: cliffsMagnitude(d),
    hedgesG: Number.isFinite(g) ? g : null,
    p: mw.p,
    significant: false,
  };
}

/** VM names that have measurement series in the store. */
export function vmsIn(store: SeriesStore): string[] {
  return [...new Set(store.labelSets('shadowtap_measure_packets_total').map((l) => l['vm'] ?? '').filter((v) => v !== ''))].sort();
}

/**
 * The impact table: a row per step, metric and scope. Significance is
 * Bonferroni-corrected within each step (a step asks one question: what did
 * it do?): alpha over the number of that step's comparisons that had data,
 * so a step's "significant" holds for all of its rows at level alpha.
 */
export function analyseImpact(store: SeriesStore, windows: readonly StepWindow[], roles: PortRoles, options: ImpactOptions): { rows: ImpactRow[]; alpha: number; tests: number } {
  const alpha = options.alpha ?? 0.05;
  const iterations = options.iterations ?? 2000;
  const guard = options.guardMs ?? 1000;
  const vms = vmsIn(store);
  const plan: { w: StepWindow; m: MetricDef; vm: string | null }[] = [];
  for (const w of windows) for (const m of METRICS) for (const vm of [null, ...(m.perVm ? vms : [])]) plan.push({ w, m, vm });
  const rows = plan.map(({ w, m, vm }, k): ImpactRow => {
    const from = w.before[0];
    const to = w.during[1];
    const s = m.read(store, 'shadow', vm, from, to, roles);
    const p = m.read(store, 'production', vm, from, to, roles);
    const sB = seconds(s, w.before, guard);
    const sD = seconds(s, w.during, guard);
    const pB = seconds(p, w.before, guard);
    const pD = seconds(p, w.during, guard);
    const diff = (xs: [number, number][], ys: [number, number][]) => {
      const py = new Map(ys);
      return xs.filter(([t]) => py.has(t)).map(([t, v]) => v - py.get(t)!);
    };
    const seed = (options.seed + k * 7919) >>> 0;
    const vals = (xs: [number, number][]) => xs.map(([, v]) => v);
    const vsBefore = compare(vals(sD), vals(sB), seed, iterations);
    const vsControl = compare(diff(sD, pD), diff(sB, pB), seed + 1, iterations);
    const production = compare(vals(pD), vals(pB), seed + 2, iterations);
    const note = vsBefore && vsControl ? null : s.size === 0 && p.size === 0 ? 'no series' : `fewer than ${MIN_SAMPLES} seconds with samples (shadow before ${sB.length}, during ${sD.length}; production before ${pB.length}, during ${pD.length})`;
    return { step: w.step, stepName: w.name, faults: w.faults, metric: m.id, label: m.label, unit: m.unit, scope: vm ?? 'overall', vsBefore, vsControl, production, note, alphaEach: alpha };
  });
  let tests = 0;
  for (const w of windows) {
    const mine = rows.filter((r) => r.step === w.step);
    const n = mine.reduce((a, r) => a + [r.vsBefore, r.vsControl, r.production].filter((c) => c !== null).length, 0);
    tests += n;
    for (const r of mine) {
      r.alphaEach = alpha / Math.max(1, n);
      for (const c of [r.vsBefore, r.vsControl, r.production]) if (c) c.significant = c.p < r.alphaEach;
    }
  }
  return { rows, alpha, tests };
}

/** Per-second values of a metric on both sides over [from, to), for charts. */
export function metricSeries(store: SeriesStore, id: string, roles: PortRoles, from: number, to: number): { shadow: [number, number][]; production: [number, number][] } {
  const m = METRICS.find((x) => x.id === id);
  if (!m) throw new RangeError(`metric: expected one of ${METRICS.map((x) => x.id).join(', ')}, got ${id}`);
  const pick = (side: Side) => [...m.read(store, side, null, from, to, roles)].filter(([t]) => t > from && t <= to).sort((a, b) => a[0] - b[0]);
  return { shadow: pick('shadow'), production: pick('production') };
}
