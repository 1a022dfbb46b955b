/**
 * When a started fault is armed: pure functions of its checked schedule, the
 * time it was started (its anchor) and the time asked about. The fault
 * service keeps no countdowns of its own: after a restart of shadowtap, or a
 * late timer on a loaded machine, it asks again what should be armed now and
 * when that changes next, so a schedule stays in phase with its anchor.
 *
 *   no `every`:  one window [start, start + duration) (or until `end`, or forever)
 *   `every`:     windows [start + k·every, start + k·every + duration),
 *                k = 0 .. times - 1 (or forever), none starting at or after `end`
 */
import type { CheckedFault } from './check.js';

export type ScheduleSpec = CheckedFault['schedule'];

export interface ScheduleState {
  /** armed at the time asked about */
  armed: boolean;
  /** when the present state began (ms since the epoch): its window's start, or the end of the last one */
  since: number;
  /** when it changes next; null: never again (done, or armed until stopped) */
  next: number | null;
  /** no window is left: the schedule has run its course */
  done: boolean;
  /** index of the window armed, or of the last one that ended (-1: none yet) */
  index: number;
}

/** The schedule's first window start: its own start time, or when it was started. */
export function scheduleStart(spec: ScheduleSpec, anchorMs: number): number {
  return spec.startMs ?? anchorMs;
}

export function scheduleState(spec: ScheduleSpec, anchorMs: number, t: number): ScheduleState {
  const start = scheduleStart(spec, anchorMs);
  const end = spec.endMs ?? Infinity;
  const dur = spec.durationNs !== undefined ? spec.durationNs / 1e6 : Infinity;
  if (spec.everyNs === undefined) {
    const stop = Math.min(end, start + dur);
    if (t < start) return { armed: false, since: anchorMs, next: start, done: false, index: -1 };
    if (t < stop) return { armed: true, since: start, next: Number.isFinite(stop) ? stop : null, done: false, index: 0 };
    return { armed: false, since: stop, next: null, done: true, index: 0 };
  }
  const every = spec.everyNs / 1e6;
  const times = spec.times ?? Infinity;
  if (t < start) return { armed: false, since: anchorMs, next: start, done: false, index: -1 };
  const k = Math.floor((t - start) / every);
  const winStart = (i: number) => start + i * every;
  const exists = (i: number) => i < times && winStart(i) < end;
  if (!exists(k)) {
    // past the last window: it ended at its own end (cut at `end`)
    const last = Math.min(times - 1, Math.ceil((end - start) / every) - 1, k);
    const lastEnd = Math.min(winStart(last) + dur, end);
    return { armed: false, since: lastEnd, next: null, done: true, index: last };
  }
  const winEnd = Math.min(winStart(k) + dur, end);
  if (t < winEnd) return { armed: true, since: winStart(k), next: winEnd, done: false, index: k };
  if (!exists(k + 1)) return { armed: false, since: winEnd, next: null, done: true, index: k };
  return { armed: false, since: winEnd, next: winStart(k + 1), done: false, index: k };
}

/** An experiment's steps as consecutive windows from its start; the last may last until stopped. */
export interface StepState {
  /** the step running (-1 before the first; steps.length after the last) */
  index: number;
  since: number;
  next: number | null;
  done: boolean;
}

export function stepState(durationsMs: readonly (number | null)[], startMs: number, t: number): StepState {
  let from = startMs;
  if (t < startMs) return { index: -1, since: t, next: startMs, done: false };
  for (let i = 0; i < durationsMs.length; i++) {
    const d = durationsMs[i];
    if (d === null || d === undefined) return { index: i, since: from, next: null, done: false };
    if (t < from + d) return { index: i, since: from, next: from + d, done: false };
    from += d;
  }
  return { index: durationsMs.length, since: from, next: null, done: true };
}
