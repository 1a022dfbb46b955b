/**
 * Evaluates an expression tree (./expr.ts) over the series store at one
 * instant, or at every step of a range (for charts). The arithmetic follows
 * Prometheus where it can; where it differs it says so here and in
 * docs/alerts.md:
 *
 * - an instant selector takes a series's newest sample within LOOKBACK_MS
 *   (5 s; Prometheus: 5 min), since samples here are one a second;
 * - rate() divides the counter's rise over the window (resets added back)
 *   by the time between its first and last samples in the window, without
 *   Prometheus's extrapolation to the window's edges; increase() is that
 *   rate times the window.
 */
import { ExprError, longestRange, parseExpr, type BinaryOp, type Matcher, type Node } from './expr.js';
import { seriesKey, type Labels, type SeriesStore, type StoredSeries } from './store.js';

export const LOOKBACK_MS = 5_000;

export interface VectorSample {
  /** labels; `__name__` while the metric name is kept */
  metric: Labels;
  value: number;
}
export type Value = { type: 'scalar'; value: number } | { type: 'vector'; samples: VectorSample[] };

type RangeValue = { metric: Labels; points: [number, number][] }[];

function matches(labels: Labels, ms: readonly Matcher[]): boolean {
  for (const m of ms) {
    const v = labels[m.label] ?? '';
    if (m.op === '=' && v !== m.value) return false;
    if (m.op === '!=' && v === m.value) return false;
    if (m.op === '=~' && !m.re!.test(v)) return false;
    if (m.op === '!~' && m.re!.test(v)) return false;
  }
  return true;
}

const withName = (s: StoredSeries): Labels => ({ __name__: s.name, ...s.labels });

function dropName(l: Labels): Labels {
  if (!('__name__' in l)) return l;
  const { __name__: _n, ...rest } = l;
  return rest;
}

/** Prometheus's quantile over sorted values: linear between the closest ranks. */
export function quantileOf(q: number, values: readonly number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const v = [...values].sort((a, b) => a - b);
  const rank = q * (v.length - 1);
  const lo = Math.max(0, Math.floor(rank));
  const hi = Math.min(v.length - 1, lo + 1);
  const w = rank - Math.floor(rank);
  return v[lo]! * (1 - w) + v[hi]! * w;
}

/** Prometheus's histogram_quantile over one series's buckets: [upper bound, cumulative count]. */
export function bucketQuantile(q: number, buckets: [number, number][]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const b = [...buckets].sort((x, y) => x[0] - y[0]);
  if (b.length < 2 || b[b.length - 1]![0] !== Infinity) return NaN;
  // Counts read at slightly different moments can dip: make them monotonic.
  for (let i = 1; i < b.length; i++) if (b[i]![1] < b[i - 1]![1]) b[i] = [b[i]![0], b[i - 1]![1]];
  const total = b[b.length - 1]![1];
  if (total === 0) return NaN;
  let rank = q * total;
  let i = b.findIndex(([, c]) => c >= rank);
  if (i < 0) i = b.length - 1;
  if (i === b.length - 1) return b[b.length - 2]![0];
  if (i === 0 && b[0]![0] <= 0) return b[0]![0];
  let start = 0;
  let count = b[i]![1];
  if (i > 0) {
    start = b[i - 1]![0];
    count -= b[i - 1]![1];
    rank -= b[i - 1]![1];
  }
  const end = b[i]![0];
  return count === 0 ? end : start + (end - start) * (rank / count);
}

function counterRise(points: readonly [number, number][]): number {
  let rise = 0;
  for (let i = 1; i < points.length; i++) {
    const d = points[i]![1] - points[i - 1]![1];
    // A drop is a reset (a restarted counter): it counted up from zero again.
    rise += d >= 0 ? d : points[i]![1];
  }
  return rise;
}

const RANGE_FNS: Record<string, (p: [number, number][], rangeMs: number) => number | null> = {
  rate: (p) => (p.length < 2 ? null : counterRise(p) / ((p[p.length - 1]![0] - p[0]![0]) / 1000)),
  increase: (p, r) => (p.length < 2 ? null : (counterRise(p) / ((p[p.length - 1]![0] - p[0]![0]) / 1000)) * (r / 1000)),
  delta: (p, r) => (p.length < 2 ? null : ((p[p.length - 1]![1] - p[0]![1]) / (p[p.length - 1]![0] - p[0]![0])) * r),
  avg_over_time: (p) => (p.length === 0 ? null : p.reduce((a, [, v]) => a + v, 0) / p.length),
  min_over_time: (p) => (p.length === 0 ? null : Math.min(...p.map(([, v]) => v))),
  max_over_time: (p) => (p.length === 0 ? null : Math.max(...p.map(([, v]) => v))),
  sum_over_time: (p) => (p.length === 0 ? null : p.reduce((a, [, v]) => a + v, 0)),
  count_over_time: (p) => (p.length === 0 ? null : p.length),
  last_over_time: (p) => (p.length === 0 ? null : p[p.length - 1]![1]),
  stddev_over_time: (p) => {
    if (p.length === 0) return null;
    const mean = p.reduce((a, [, v]) => a + v, 0) / p.length;
    return Math.sqrt(p.reduce((a, [, v]) => a + (v - mean) ** 2, 0) / p.length);
  },
};

function arith(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    default:
      return a <= b ? 1 : 0;
  }
}

const isComparison = (op: BinaryOp) => op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';

function keep(l: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const n of names) if (l[n] !== undefined) out[n] = l[n]!;
  return out;
}
function without(l: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(l)) if (!names.includes(k) && k !== '__name__') out[k] = v;
  return out;
}

export class Evaluator {
  constructor(private readonly store: SeriesStore) {}

  private range(n: Extract<Node, { kind: 'selector' }>, at: number): RangeValue {
    return this.store.select(n.name, at - n.rangeMs! + 1, at, (l) => matches(l, n.matchers)).map((s) => ({ metric: withName(s), points: s.points }));
  }

  private scalarArg(n: Node, at: number, what: string): number {
    const v = this.eval(n, at);
    if (v.type !== 'scalar') throw new ExprError(n.pos, `a number as ${what}`, 'a vector');
    return v.value;
  }

  eval(n: Node, at: number): Value {
    switch (n.kind) {
      case 'number':
        return { type: 'scalar', value: n.value };
      case 'negate': {
        const v = this.eval(n.expr, at);
        return v.type === 'scalar' ? { type: 'scalar', value: -v.value } : { type: 'vector', samples: v.samples.map((s) => ({ metric: dropName(s.metric), value: -s.value })) };
      }
      case 'selector': {
        if (n.rangeMs !== null) throw new ExprError(n.pos, 'an instant expression (a range selector only goes inside rate(...) or an *_over_time function)', 'a range selector');
        const samples: VectorSample[] = [];
        for (const s of this.store.select(n.name, at - LOOKBACK_MS + 1, at, (l) => matches(l, n.matchers))) {
          const last = s.points[s.points.length - 1];
          if (last) samples.push({ metric: withName(s), value: last[1] });
        }
        return { type: 'vector', samples };
      }
      case 'call':
        return this.call(n, at);
      case 'aggregate':
        return this.aggregate(n, at);
      case 'binary':
        return this.binary(n, at);
    }
  }

  private call(n: Extract<Node, { kind: 'call' }>, at: number): Value {
    const rangeFn = RANGE_FNS[n.fn];
    if (rangeFn) {
      const sel = n.args[0] as Extract<Node, { kind: 'selector' }>;
      const samples: VectorSample[] = [];
      for (const s of this.range(sel, at)) {
        const v = rangeFn(s.points, sel.rangeMs!);
        if (v !== null) samples.push({ metric: dropName(s.metric), value: v });
      }
      return { type: 'vector', samples };
    }
    if (n.fn === 'quantile_over_time') {
      const q = this.scalarArg(n.args[0]!, at, 'the quantile');
      const sel = n.args[1] as Extract<Node, { kind: 'selector' }>;
      return { type: 'vector', samples: this.range(sel, at).filter((s) => s.points.length > 0).map((s) => ({ metric: dropName(s.metric), value: quantileOf(q, s.points.map(([, v]) => v)) })) };
    }
    if (n.fn === 'histogram_quantile') {
      const q = this.scalarArg(n.args[0]!, at, 'the quantile');
      const v = this.vector(n.args[1]!, at, 'histogram_quantile');
      const groups = new Map<string, { metric: Labels; buckets: [number, number][] }>();
      for (const s of v) {
        const le = s.metric['le'];
        if (le === undefined) continue;
        const metric = without(s.metric, ['le']);
        const key = seriesKey('', metric);
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { metric, buckets: [] }));
        g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
      }
      return { type: 'vector', samples: [...groups.values()].map((g) => ({ metric: g.metric, value: bucketQuantile(q, g.buckets) })) };
    }
    const v = this.vector(n.args[0]!, at, n.fn);
    if (n.fn === 'abs') return { type: 'vector', samples: v.map((s) => ({ metric: dropName(s.metric), value: Math.abs(s.value) })) };
    const bound = this.scalarArg(n.args[1]!, at, `the bound of ${n.fn}`);
    const f = n.fn === 'clamp_min' ? (x: number) => Math.max(x, bound) : (x: number) => Math.min(x, bound);
    return { type: 'vector', samples: v.map((s) => ({ metric: dropName(s.metric), value: f(s.value) })) };
  }

  private vector(n: Node, at: number, where: string): VectorSample[] {
    const v = this.eval(n, at);
    if (v.type !== 'vector') throw new ExprError(n.pos, `a vector (series) in ${where}`, 'a number');
    return v.samples;
  }

  private aggregate(n: Extract<Node, { kind: 'aggregate' }>, at: number): Value {
    const q = n.param ? this.scalarArg(n.param, at, 'the quantile') : NaN;
    const v = this.vector(n.expr, at, `${n.op}(...)`);
    const groups = new Map<string, { metric: Labels; values: number[] }>();
    for (const s of v) {
      const metric = n.by ? keep(s.metric, n.by) : n.without ? without(s.metric, n.without) : {};
      const key = seriesKey('', metric);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { metric, values: [] }));
      g.values.push(s.value);
    }
    const reduce = (vals: number[]): number => {
      switch (n.op) {
        case 'sum':
          return vals.reduce((a, b) => a + b, 0);
        case 'avg':
          return vals.reduce((a, b) => a + b, 0) / vals.length;
        case 'min':
          return Math.min(...vals);
        case 'max':
          return Math.max(...vals);
        case 'count':
          return vals.length;
        default:
          return quantileOf(q, vals);
      }
    };
    return { type: 'vector', samples: [...groups.values()].map((g) => ({ metric: g.metric, value: reduce(g.values) })) };
  }

  private binary(n: Extract<Node, { kind: 'binary' }>, at: number): Value {
    const l = this.eval(n.lhs, at);
    const r = this.eval(n.rhs, at);
    const cmp = isComparison(n.op);
    if (l.type === 'scalar' && r.type === 'scalar') {
      if (cmp && !n.bool) throw new ExprError(n.pos, `"bool" after ${n.op} (a comparison of two numbers must say bool)`, 'no bool');
      return { type: 'scalar', value: arith(n.op, l.value, r.value) };
    }
    // A comparison without bool filters: it keeps the vector side's value where it holds.
    const apply = (s: VectorSample, a: number, b: number, vectorValue: number): VectorSample | null => {
      const x = arith(n.op, a, b);
      if (cmp && !n.bool) return x === 1 ? { metric: s.metric, value: vectorValue } : null;
      return { metric: dropName(s.metric), value: x };
    };
    if (l.type === 'vector' && r.type === 'scalar') {
      return { type: 'vector', samples: l.samples.map((s) => apply(s, s.value, r.value, s.value)).filter((s): s is VectorSample => s !== null) };
    }
    if (l.type === 'scalar' && r.type === 'vector') {
      return { type: 'vector', samples: r.samples.map((s) => apply(s, l.value, s.value, s.value)).filter((s): s is VectorSample => s !== null) };
    }
    const ls = (l as { samples: VectorSample[] }).samples;
    const rs = (r as { samples: VectorSample[] }).samples;
    const sig = (m: Labels): Labels => (n.on ? keep(m, n.on) : without(m, n.ignoring ?? []));
    const right = new Map<string, VectorSample>();
    for (const s of rs) {
      const key = seriesKey('', sig(s.metric));
      if (right.has(key)) throw new ExprError(n.pos, `one series on the right of ${n.op} for each label set ${key.slice(1)} (aggregate it, e.g. sum by (...), or match on(...))`, 'several');
      right.set(key, s);
    }
    const seen = new Set<string>();
    const out: VectorSample[] = [];
    for (const s of ls) {
      const key = seriesKey('', sig(s.metric));
      const o = right.get(key);
      if (!o) continue;
      // group_left: many on the left may share one on the right (Prometheus's many-to-one).
      if (!n.groupLeft && seen.has(key)) throw new ExprError(n.pos, `one series on the left of ${n.op} for each label set ${key.slice(1)} (aggregate it, e.g. sum by (...), match on(...), or add group_left)`, 'several');
      seen.add(key);
      let metric: Labels;
      if (n.groupLeft) {
        const copied: Record<string, string> = { ...s.metric };
        for (const name of n.groupLeft) {
          if (o.metric[name] !== undefined) copied[name] = o.metric[name]!;
          else delete copied[name];
        }
        metric = copied;
      } else if (n.on) metric = { ...(cmp && !n.bool && s.metric['__name__'] ? { __name__: s.metric['__name__'] } : {}), ...keep(s.metric, n.on) };
      else metric = n.ignoring ? Object.fromEntries(Object.entries(s.metric).filter(([k]) => !n.ignoring!.includes(k))) : s.metric;
      const res = apply({ metric, value: s.value }, s.value, o.value, s.value);
      if (res) out.push(res);
    }
    return { type: 'vector', samples: out };
  }
}

export interface RangeSeries {
  metric: Labels;
  /** [ms, value]; steps without a value are left out */
  points: [number, number][];
}

/** An instant query: parse (ExprError on a bad expression) and evaluate at `at`. */
export function query(store: SeriesStore, expr: string | Node, at: number): Value {
  const node = typeof expr === 'string' ? parseExpr(expr) : expr;
  return new Evaluator(store).eval(node, at);
}

/** A range query: the expression at every step from start to end (a scalar is one series with no labels). */
export function queryRange(store: SeriesStore, expr: string | Node, start: number, end: number, stepMs: number): RangeSeries[] {
  const node = typeof expr === 'string' ? parseExpr(expr) : expr;
  const ev = new Evaluator(store);
  const out = new Map<string, RangeSeries>();
  for (let t = start; t <= end; t += stepMs) {
    const v = ev.eval(node, t);
    const samples = v.type === 'scalar' ? [{ metric: {}, value: v.value }] : v.samples;
    for (const s of samples) {
      const key = seriesKey('', s.metric);
      let r = out.get(key);
      if (!r) out.set(key, (r = { metric: s.metric, points: [] }));
      if (Number.isFinite(s.value)) r.points.push([t, s.value]);
    }
  }
  return [...out.values()];
}

export { longestRange };
