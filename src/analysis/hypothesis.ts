/**
 * The steady-state hypothesis of an experiment: each condition (an
 * expression over the series store with a comparison at its top) is
 * evaluated at every second of each observation window, and the window's
 * verdict is "held" when it failed in no more than `tolerance` of the
 * seconds that had data, "violated" otherwise, "no data" when no second
 * had a value.
 *
 * The top comparison is evaluated as `bool` (1 or 0 per series), so a
 * second holds only when every series the expression yields is true and it
 * yields at least one: a series that vanishes is not a pass.
 */
import type { CheckedCondition } from '../faults/experiment.js';
import { query } from '../series/eval.js';
import type { Node } from '../series/expr.js';
import type { SeriesStore } from '../series/store.js';

export type WindowName = 'before' | 'during' | 'after';

export interface WindowVerdict {
  window: WindowName;
  from: string;
  to: string;
  verdict: 'held' | 'violated' | 'no data';
  /** seconds evaluated with a value, and those where the condition failed */
  seconds: number;
  failed: number;
  /** first failing second, ISO */
  firstFailure: string | null;
}

export interface ConditionVerdict {
  name: string;
  expr: string;
  tolerance: number;
  steps: { step: number; name: string; windows: WindowVerdict[] }[];
}

function asBool(node: Node): Node {
  return node.kind === 'binary' ? { ...node, bool: true } : node;
}

/** 1: held, 0: failed, null: no value at that second. */
export function holdsAt(store: SeriesStore, node: Node, atMs: number): 1 | 0 | null {
  let v;
  try {
    v = query(store, asBool(node), atMs);
  } catch {
    return null;
  }
  if (v.type === 'scalar') return Number.isNaN(v.value) ? null : v.value === 1 ? 1 : 0;
  if (v.samples.length === 0) return null;
  return v.samples.every((s) => s.value === 1) ? 1 : 0;
}

export function windowVerdict(store: SeriesStore, c: CheckedCondition, window: WindowName, [from, to]: [number, number]): WindowVerdict {
  let seconds = 0;
  let failed = 0;
  let first: number | null = null;
  for (let t = Math.ceil(from / 1000) * 1000; t < to; t += 1000) {
    const h = holdsAt(store, c.node, t);
    if (h === null) continue;
    seconds++;
    if (h === 0) {
      failed++;
      first ??= t;
    }
  }
  const verdict = seconds === 0 ? 'no data' : failed <= c.tolerance * seconds ? 'held' : 'violated';
  return { window, from: new Date(from).toISOString(), to: new Date(to).toISOString(), verdict, seconds, failed, firstFailure: first === null ? null : new Date(first).toISOString() };
}

export function checkHypothesis(store: SeriesStore, conditions: readonly CheckedCondition[], steps: readonly { step: number; name: string; before: [number, number]; during: [number, number]; after: [number, number] }[]): ConditionVerdict[] {
  return conditions.map((c) => ({
    name: c.name,
    expr: c.expr,
    tolerance: c.tolerance,
    steps: steps.map((s) => ({
      step: s.step,
      name: s.name,
      windows: (['before', 'during', 'after'] as const).filter((w) => s[w][1] > s[w][0]).map((w) => windowVerdict(store, c, w, s[w])),
    })),
  }));
}
