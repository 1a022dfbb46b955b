/**
 * Alert rules: a threshold on an expression over the supervisor's series
 * (src/series/), held for a while before it fires. One TypeBox schema serves
 * the API body, the OpenAPI document and the saved state
 * (run_dir/state/alerts.json); checkRule adds what a schema cannot say (the
 * expression parses, the duration is a duration), each problem with its
 * field path.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ConfigProblem } from '../errors.js';
import { COMPARISONS, ExprError, longestRange, metricNames, parseDuration, parseExpr, type Node } from '../series/expr.js';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const CONDITION_OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

/** Longest for-duration and range a rule may use: what the store holds (an hour). */
export const MAX_RULE_WINDOW_MS = 3_600_000;
export const MAX_RULES = 200;

export const AlertRuleSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', description: 'The rule\'s name (a Prometheus alertname: letters, digits, _; at most 64).' }),
    expr: Type.String({ minLength: 1, maxLength: 2000, description: 'A PromQL-subset expression over the supervisor\'s series, without the comparison (docs/alerts.md), e.g. sum(rate(shadowtap_port_tx_dropped_total[30s])).' }),
    condition: Type.Object(
      {
        op: Type.Union(CONDITION_OPS.map((o) => Type.Literal(o)), { description: 'How the expression\'s value compares with the threshold when the alert should fire.' }),
        threshold: Type.Number({ description: 'The threshold (a finite number).' }),
      },
      { additionalProperties: false },
    ),
    for: Type.Optional(Type.String({ pattern: '^(?:[0-9]+(?:ms|s|m|h))+$', default: '0s', description: 'How long the condition must hold before the alert fires (e.g. 30s, 2m); default 0s: at once.' })),
    severity: Type.Union(SEVERITIES.map((s) => Type.Literal(s)), { description: 'info, warning or critical (a label of the exported rule too).' }),
    summary: Type.Optional(Type.String({ maxLength: 300, description: 'One line for operators (the exported rule\'s summary annotation).' })),
  },
  { additionalProperties: false },
);
export type AlertRule = Static<typeof AlertRuleSchema>;

export interface CheckedRule {
  rule: AlertRule & { for: string };
  node: Node;
  forMs: number;
  /** metric names the expression reads that no series has yet (a warning: faults and measurements may add them later) */
  unknownMetrics: string[];
}

/** Check one rule; problems carry paths under `at` (e.g. "rules[2].expr"). */
export function checkRule(input: unknown, at = '', knownMetrics?: ReadonlySet<string>): { checked: CheckedRule | null; problems: ConfigProblem[] } {
  const path = (p: string) => (at ? `${at}.${p}` : p);
  const problems: ConfigProblem[] = [];
  if (!Value.Check(AlertRuleSchema, input)) {
    for (const e of Value.Errors(AlertRuleSchema, input)) {
      const field = e.path.replace(/^\//, '').replace(/\//g, '.');
      problems.push({ path: at ? (field ? `${at}.${field}` : at) : field, message: `${e.message}${e.schema.description ? ` (${e.schema.description})` : ''}` });
      if (problems.length >= 10) break;
    }
    // A union's members each add an error: keep the first per path.
    return { checked: null, problems: problems.filter((p, i) => problems.findIndex((q) => q.path === p.path) === i) };
  }
  const rule = { ...input, for: input.for ?? '0s' };
  let node: Node | null = null;
  try {
    node = parseExpr(rule.expr);
  } catch (err) {
    if (!(err instanceof ExprError)) throw err;
    problems.push({ path: path('expr'), message: err.message });
  }
  if (node && node.kind === 'binary' && COMPARISONS.has(node.op)) {
    problems.push({ path: path('expr'), message: `at ${node.pos}: expected an expression without a comparison (the condition holds the threshold), found ${node.op}` });
  }
  if (node && node.kind === 'number') problems.push({ path: path('expr'), message: 'at 1: expected an expression that reads a series, found a number alone (it could never change)' });
  if (node && longestRange(node) > MAX_RULE_WINDOW_MS) problems.push({ path: path('expr'), message: `expected windows of at most 1h (the series store holds an hour), found one of ${longestRange(node) / 1000} s` });
  const forMs = parseDuration(rule.for);
  if (forMs === null) problems.push({ path: path('for'), message: `expected a duration such as 30s or 2m, got ${JSON.stringify(rule.for)}` });
  else if (forMs > MAX_RULE_WINDOW_MS) problems.push({ path: path('for'), message: `expected at most 1h, got ${rule.for}` });
  if (!Number.isFinite(rule.condition.threshold)) problems.push({ path: path('condition.threshold'), message: 'expected a finite number' });
  if (problems.length > 0 || !node || forMs === null) return { checked: null, problems };
  const unknownMetrics = knownMetrics ? metricNames(node).filter((m) => !knownMetrics.has(m)) : [];
  return { checked: { rule, node, forMs, unknownMetrics }, problems };
}

/** A rule's whole condition as PromQL: "(expr) > threshold". */
export function ruleExpression(rule: AlertRule): string {
  return `(${rule.expr}) ${rule.condition.op} ${formatNumber(rule.condition.threshold)}`;
}

export function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(n);
}
