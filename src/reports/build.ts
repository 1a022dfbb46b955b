/**
 * An experiment's report as data (the JSON a report is, and what the HTML
 * renders): its windows, the steady-state verdicts, the impact table, the
 * production baseline, the charts' per-second series, the timeline and the
 * alerts around it, and the seed that reproduces the intervals. Pure over
 * the series store and what the fault service says of the experiment.
 */
import { analyseImpact, METRICS, metricSeries, type ImpactRow, type PortRoles, type StepWindow } from '../analysis/impact.js';
import { checkHypothesis, type ConditionVerdict } from '../analysis/hypothesis.js';
import { mean } from '../analysis/stats.js';
import type { CheckedExperiment } from '../faults/experiment.js';
import type { SeriesStore } from '../series/store.js';
import type { ExperimentView } from '../services/fault-views.js';
import type { TimelineEntry } from '../services/fault-timeline.js';

export const REPORT_FORMAT = 1;

/** Metrics charted in a report (overall, both sides). */
export const CHARTED = ['delivery_ratio', 'loss_ratio', 'added_delay_ms', 'packets', 'rtt_timestamp_p50'] as const;

export interface AlertMark {
  at: string;
  rule: string;
  state: string;
  severity: string;
}

export interface ExperimentReport {
  format: typeof REPORT_FORMAT;
  id: string;
  experiment: string;
  description: string | null;
  generatedAt: string;
  state: 'completed' | 'stopped' | 'aborted' | 'running' | 'idle';
  startedAt: string;
  endedAt: string | null;
  abort: ExperimentView['abort'];
  /** the experiment's own seed (fault decisions), as written; null: none given */
  experimentSeed: string | null;
  /** the analysis's bootstrap seed: the same data and seed give the same intervals */
  seed: number;
  windows: { step: number; name: string; faults: string[]; before: [string, string]; during: [string, string]; after: [string, string] }[];
  hypothesis: ConditionVerdict[];
  impact: { alpha: number; tests: number; guardMs: number; rows: ImpactRow[] };
  /** per metric: production and shadow over the before windows, seconds of fault steps left out (the steady state) */
  baseline: { metric: string; label: string; unit: string; shadow: number | null; production: number | null }[];
  charts: { metric: string; label: string; unit: string; from: string; to: string; shadow: [number, number][]; production: [number, number][] }[];
  timeline: TimelineEntry[];
  alerts: AlertMark[];
  notes: string[];
  definition: ExperimentView['experiment'];
}

export interface ReportInput {
  view: ExperimentView;
  checked: CheckedExperiment;
  timeline: TimelineEntry[];
  alerts: AlertMark[];
  store: SeriesStore;
  roles: PortRoles;
  /** default: the experiment's seed folded to 32 bits, else 1 */
  seed?: number;
  iterations?: number;
  now?: number;
}

/** The bootstrap seed of an experiment: its own seed folded to 32 bits, else 1. */
export function analysisSeed(seed: string | number | undefined): number {
  if (seed === undefined) return 1;
  const b = BigInt(seed);
  return Number((b ^ (b >> 32n)) & 0xffffffffn) || 1;
}

/** Step windows as they ran: steps after the end (an abort, a stop) are left out; the last is cut at the end. */
export function stepWindows(view: ExperimentView, checked: CheckedExperiment): StepWindow[] {
  const started = Date.parse(view.startedAt ?? '');
  if (!Number.isFinite(started)) return [];
  const ended = view.endedAt ? Date.parse(view.endedAt) : Infinity;
  const out: StepWindow[] = [];
  let at = started;
  checked.doc.steps.forEach((s, i) => {
    if (at >= ended) return;
    const d = checked.durationsMs[i];
    const end = Math.min(d === null || d === undefined ? Infinity : at + d, ended);
    const o = checked.observe[i] ?? { beforeMs: 0, afterMs: 0 };
    out.push({ step: i, name: s.name ?? `step ${i + 1}`, faults: [...s.faults], before: [at - o.beforeMs, at], during: [at, end], after: [end, end + o.afterMs] });
    at = end;
  });
  return out;
}

/** When every window has passed (the report may be written), ms. */
export function readyAt(view: ExperimentView, checked: CheckedExperiment): number {
  const w = stepWindows(view, checked);
  return Math.max(view.endedAt ? Date.parse(view.endedAt) : 0, ...w.map((x) => x.after[1]));
}

export function reportId(experiment: string, startedAt: string): string {
  return `${experiment}-${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function buildReport(input: ReportInput): ExperimentReport {
  const { view, checked, store, roles } = input;
  const seed = input.seed ?? analysisSeed(checked.doc.seed);
  const windows = stepWindows(view, checked);
  const guardMs = 1000;
  const impact = analyseImpact(store, windows, roles, { seed, guardMs, ...(input.iterations ? { iterations: input.iterations } : {}) });
  const hypothesis = checkHypothesis(store, checked.hypothesis, windows);
  const from = windows.length ? Math.min(...windows.map((w) => w.before[0])) : Date.parse(view.startedAt ?? '');
  const to = windows.length ? Math.max(...windows.map((w) => w.after[1])) : from;
  // the steady state: before windows, less any second a fault step covers (a step's before
  // window is often the end of the step ahead of it)
  const before = windows.map((w) => w.before).filter(([a, b]) => b - a >= 3000);
  const faulted = windows.filter((w) => w.faults.length > 0).map((w) => w.during);
  const baseline = METRICS.map((m) => {
    const s = metricSeries(store, m.id, roles, from, to);
    const inBefore = (pts: [number, number][]) => pts.filter(([t]) => before.some(([a, b]) => t - 1000 >= a && t <= b) && !faulted.some(([a, b]) => t + 1000 > a && t - 1000 < b + 1000)).map(([, v]) => v);
    const sv = inBefore(s.shadow);
    const pv = inBefore(s.production);
    return { metric: m.id, label: m.label, unit: m.unit, shadow: sv.length ? mean(sv) : null, production: pv.length ? mean(pv) : null };
  });
  const charts = CHARTED.map((id) => {
    const m = METRICS.find((x) => x.id === id)!;
    const s = metricSeries(store, id, roles, from, to);
    return { metric: id, label: m.label, unit: m.unit, from: iso(from), to: iso(to), shadow: s.shadow, production: s.production };
  });
  const notes: string[] = [];
  if (view.state === 'aborted' && view.abort) notes.push(`The experiment was ABORTED: ${view.abort.reason}. Steps after the abort did not run; the last step's window ends at the abort.`);
  if (view.state === 'stopped') notes.push('The experiment was stopped on request before its last step ended; the last step\'s window ends at the stop.');
  const t0 = from - 5000;
  return {
    format: REPORT_FORMAT,
    id: reportId(view.id, view.startedAt ?? iso(input.now ?? Date.now())),
    experiment: view.id,
    description: checked.doc.description ?? null,
    generatedAt: iso(input.now ?? Date.now()),
    state: view.state as ExperimentReport['state'],
    startedAt: view.startedAt ?? '',
    endedAt: view.endedAt,
    abort: view.abort,
    experimentSeed: checked.doc.seed === undefined ? null : String(checked.doc.seed),
    seed,
    windows: windows.map((w) => ({ step: w.step, name: w.name, faults: w.faults, before: [iso(w.before[0]), iso(w.before[1])], during: [iso(w.during[0]), iso(w.during[1])], after: [iso(w.after[0]), iso(w.after[1])] })),
    hypothesis,
    impact: { ...impact, guardMs },
    baseline,
    charts,
    timeline: input.timeline,
    alerts: input.alerts.filter((a) => Date.parse(a.at) >= t0 && Date.parse(a.at) <= to + 5000),
    notes,
    definition: view.experiment,
  };
}
