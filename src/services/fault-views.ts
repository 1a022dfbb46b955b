/**
 * What the API and the CLI show of a fault or an experiment: its definition
 * as given, its version, where its schedule or steps stand, whether it is
 * armed (and since when), its counters.
 */
import type { ConfigProblem } from '../errors.js';
import type { Experiment } from '../faults/experiment.js';
import { scheduleState, stepState } from '../faults/schedule.js';
import type { Fault } from '../faults/schema.js';
import type { FaultCounterTotals, FaultCounterValues } from './fault-counters.js';
import type { FaultMetricsView } from '../metrics/faults.js';
import type { ExperimentRecord, FaultRecord } from './fault-records.js';

export type FaultState = 'idle' | 'scheduled' | 'active' | 'done' | 'error';
export type ExperimentState = 'idle' | 'running' | 'completed' | 'stopped' | 'aborted';

export interface FaultView {
  id: string;
  version: number;
  /** the experiment it belongs to (its steps arm it), or null */
  experiment: string | null;
  /** idle: not started; scheduled: started, waiting for its next window; active: armed; done: its schedule ran out; error: the data plane refused it */
  state: FaultState;
  armed: boolean;
  /** when the data plane armed it (the install answered), ISO */
  armedSince: string | null;
  startedAt: string | null;
  /** when its schedule changes next (armed or disarmed), ISO; null: not by itself */
  next: string | null;
  /** its schedule's window (1-based) armed or last ended */
  window: number | null;
  error: string | null;
  /** accepted, worth a look: e.g. a match that can match nothing */
  flags: ConfigProblem[];
  createdAt: string;
  updatedAt: string;
  counters: FaultCounterValues;
  /** where it runs: today always the software impair stage (docs/faults.md, "Where a fault runs") */
  runsIn: { where: 'software'; stage: 'impair'; why: string };
  fault: Fault;
}

/** Every fault runs in the software impair stage; no fault is placed in hardware yet. */
export const RUNS_IN: FaultView['runsIn'] = {
  where: 'software',
  stage: 'impair',
  why: 'the software impair stage (after encapsulation, before shadow tx); while it is armed, the offload planner keeps every session it may match off the all-hardware path (placed hybrid-mirror: the NIC copies to software), whose NIC-made copies would bypass the impair stage',
};

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

export function faultView(f: FaultRecord, inTable: { since: number; applied: boolean } | undefined, counters: FaultCounterValues, now: number): FaultView {
  // armed: in the table the data plane runs; a table decided while none runs arms nothing yet
  const armed = inTable?.applied ? inTable : undefined;
  let state: FaultState = 'idle';
  let next: number | null = null;
  let window: number | null = null;
  if (f.error) state = 'error';
  else if (armed) state = 'active';
  if (f.owner === null && f.run && !f.error) {
    const st = scheduleState(f.checked.schedule, f.run.anchorMs, now);
    next = st.next;
    window = st.index >= 0 ? st.index + 1 : null;
    if (!armed) state = st.done ? 'done' : 'scheduled';
  }
  return {
    id: f.doc.id,
    version: f.version,
    experiment: f.owner,
    state,
    armed: armed !== undefined,
    armedSince: iso(armed?.since),
    startedAt: iso(f.run?.anchorMs),
    next: iso(next),
    window,
    error: f.error,
    flags: f.flags,
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
    counters,
    runsIn: RUNS_IN,
    fault: f.doc,
  };
}

export interface ExperimentView {
  id: string;
  version: number;
  state: ExperimentState;
  startedAt: string | null;
  endedAt: string | null;
  /** the step running (0-based), its name, since when and until when */
  step: { index: number; name: string | null; since: string; until: string | null } | null;
  steps: number;
  abort: { reason: string; condition: string; value: number; crossedAt: string; detectedAt: string; disarmedAt: string | null; disarmMs: number | null } | null;
  faults: { id: string; armed: boolean; counters: FaultCounterValues }[];
  createdAt: string;
  updatedAt: string;
  experiment: Experiment;
}

export function experimentView(e: ExperimentRecord, armed: ReadonlyMap<string, { applied: boolean }>, counters: (id: string) => FaultCounterValues, now: number): ExperimentView {
  const run = e.run;
  let step: ExperimentView['step'] = null;
  if (run?.state === 'running') {
    const st = stepState(e.checked.durationsMs, run.startedMs, now);
    const s = e.doc.steps[st.index];
    if (s) step = { index: st.index, name: s.name ?? null, since: iso(st.since)!, until: iso(st.next) };
  }
  const a = run?.abort ?? null;
  return {
    id: e.doc.id,
    version: e.version,
    state: run?.state ?? 'idle',
    startedAt: iso(run?.startedMs),
    endedAt: iso(run?.endedMs),
    step,
    steps: e.doc.steps.length,
    abort: a
      ? { reason: a.reason, condition: a.condition, value: a.value, crossedAt: iso(a.crossedMs)!, detectedAt: iso(a.detectedMs)!, disarmedAt: iso(a.disarmedMs), disarmMs: a.disarmedMs === null ? null : a.disarmedMs - a.crossedMs }
      : null,
    faults: e.doc.faults.map((f) => ({ id: f.id, armed: armed.get(f.id)?.applied === true, counters: counters(f.id) })),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    experiment: e.doc,
  };
}

/** What /metrics shows of faults and experiments (src/metrics/faults.ts). */
export function metricsViewOf(
  faults: Iterable<FaultRecord>,
  experiments: Iterable<ExperimentRecord>,
  armed: ReadonlyMap<string, { since: number; applied: boolean }>,
  totals: FaultCounterTotals,
  generation: number,
): FaultMetricsView {
  const now = Date.now();
  return {
    generation,
    faults: [...faults].map((f) => {
      const v = faultView(f, armed.get(f.doc.id), totals.counters(f.doc.id), now);
      return { id: v.id, experiment: v.experiment, state: v.state, armed: v.armed, counters: v.counters, delay: totals.delayHistogram(f.doc.id) };
    }),
    releaseError: totals.releaseErrorHistogram(),
    experiments: [...experiments].map((e) => {
      const v = experimentView(e, armed, (id) => totals.counters(id), now);
      return { id: v.id, state: v.state, step: v.step?.index ?? null, aborts: v.state === 'aborted' ? 1 : 0 };
    }),
  };
}
