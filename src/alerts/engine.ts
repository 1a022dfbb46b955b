/**
 * Alert states, Prometheus's way: each label set an expression yields is an
 * alert instance; while the condition holds it is pending, and once it has
 * held for the rule's for-duration it fires; when it stops holding, a firing
 * instance is resolved (a pending one is just forgotten). Evaluated after
 * every sample of the series store, so time here is the samples' time.
 */
import { Evaluator } from '../series/eval.js';
import { seriesKey, type Labels, type SeriesStore } from '../series/store.js';
import type { CheckedRule, ConditionOp, Severity } from './rule.js';

export interface AlertInstance {
  rule: string;
  severity: Severity;
  labels: Labels;
  state: 'pending' | 'firing';
  /** ms when the condition began to hold */
  activeAt: number;
  /** ms when it fired, null while pending */
  firedAt: number | null;
  value: number;
}

export interface AlertTransition {
  rule: string;
  severity: Severity;
  state: 'firing' | 'resolved';
  labels: Labels;
  value: number;
  activeAt: number;
  at: number;
  summary: string | null;
}

export function holds(op: ConditionOp, value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    default:
      return value !== threshold;
  }
}

interface RuleState {
  checked: CheckedRule;
  active: Map<string, AlertInstance>;
  lastError: string | null;
  lastEvaluatedAt: number | null;
  evaluationFailures: number;
}

export class AlertEngine {
  private readonly rules = new Map<string, RuleState>();
  private readonly evaluator: Evaluator;

  constructor(store: SeriesStore, private readonly onTransition: (t: AlertTransition) => void) {
    this.evaluator = new Evaluator(store);
  }

  /**
   * Replace the rule set. A rule whose definition is unchanged keeps its
   * alerts; a removed or changed one resolves its firing alerts first.
   */
  setRules(rules: readonly CheckedRule[], at: number): void {
    const next = new Map<string, RuleState>();
    for (const c of rules) {
      const old = this.rules.get(c.rule.name);
      if (old && JSON.stringify(old.checked.rule) === JSON.stringify(c.rule)) next.set(c.rule.name, old);
      else next.set(c.rule.name, { checked: c, active: new Map(), lastError: null, lastEvaluatedAt: null, evaluationFailures: 0 });
    }
    for (const [name, st] of this.rules) {
      if (next.get(name) !== st) for (const inst of st.active.values()) if (inst.state === 'firing') this.resolve(st, inst, at);
    }
    this.rules.clear();
    for (const [k, v] of next) this.rules.set(k, v);
  }

  private resolve(st: RuleState, inst: AlertInstance, at: number): void {
    this.onTransition({ rule: inst.rule, severity: inst.severity, state: 'resolved', labels: inst.labels, value: inst.value, activeAt: inst.activeAt, at, summary: st.checked.rule.summary ?? null });
  }

  /** Evaluate every rule at `at` (ms). */
  evaluate(at: number): void {
    for (const st of this.rules.values()) {
      const { rule, node, forMs } = st.checked;
      let samples: { metric: Labels; value: number }[];
      try {
        const v = this.evaluator.eval(node, at);
        samples = v.type === 'scalar' ? [{ metric: {}, value: v.value }] : v.samples;
        st.lastError = null;
      } catch (err) {
        // The last states stand: a rule that cannot be evaluated neither fires nor resolves.
        st.lastError = (err as Error).message;
        st.evaluationFailures++;
        continue;
      }
      st.lastEvaluatedAt = at;
      const seen = new Set<string>();
      for (const s of samples) {
        if (!holds(rule.condition.op, s.value, rule.condition.threshold)) continue;
        const labels: Labels = Object.fromEntries(Object.entries(s.metric).filter(([k]) => k !== '__name__'));
        const key = seriesKey('', labels);
        seen.add(key);
        let inst = st.active.get(key);
        if (!inst) st.active.set(key, (inst = { rule: rule.name, severity: rule.severity, labels, state: 'pending', activeAt: at, firedAt: null, value: s.value }));
        inst.value = s.value;
        if (inst.state === 'pending' && at - inst.activeAt >= forMs) {
          inst.state = 'firing';
          inst.firedAt = at;
          this.onTransition({ rule: rule.name, severity: rule.severity, state: 'firing', labels, value: s.value, activeAt: inst.activeAt, at, summary: rule.summary ?? null });
        }
      }
      for (const [key, inst] of st.active) {
        if (seen.has(key)) continue;
        st.active.delete(key);
        if (inst.state === 'firing') this.resolve(st, inst, at);
      }
    }
  }

  alerts(): AlertInstance[] {
    return [...this.rules.values()].flatMap((st) => [...st.active.values()].map((a) => ({ ...a })));
  }

  ruleStatus(name: string): { lastError: string | null; lastEvaluatedAt: number | null; evaluationFailures: number; pending: number; firing: number } | null {
    const st = this.rules.get(name);
    if (!st) return null;
    const all = [...st.active.values()];
    return {
      lastError: st.lastError,
      lastEvaluatedAt: st.lastEvaluatedAt,
      evaluationFailures: st.evaluationFailures,
      pending: all.filter((a) => a.state === 'pending').length,
      firing: all.filter((a) => a.state === 'firing').length,
    };
  }
}
