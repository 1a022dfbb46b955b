/**
 * Experiments: a named set of faults run as ordered steps, guarded by stop
 * conditions on shadowtap's own metrics, with an optional hook that really
 * stops and starts a shadow VM. One schema source (TypeBox) for files, API
 * bodies and OpenAPI; checkExperiment names the field in every problem.
 *
 *   id: vm17-outage
 *   seed: 42
 *   faults:
 *     - { id: wan, match: { host: 10.0.5.0/24 }, netem: delay 40ms 8ms }
 *     - { id: vm17-down, kind: blackhole, match: { host: 10.0.5.17 } }
 *   steps:
 *     - { faults: [wan], duration: 10s }
 *     - { faults: [wan, vm17-down], duration: 5s, vm: { stop: {...}, start: {...} } }
 *   stop:
 *     - { metric: shadow_delivery_ratio, below: 50% }
 *     - { metric: drops_per_second, above: 5000, window: 1s }
 *   observe: { before: 10s, after: 10s }   # around every step (a step may override)
 *   hypothesis:                             # the steady state, over the series store
 *     - { name: delivery, expr: "sum(rate(shadowtap_port_tx_packets_total{port=\"shadow0\"}[5s])) > 100" }
 */
import { Type, type Static } from '@sinclair/typebox';
import { formatPath, schemaCheck, type Segment } from '../config/load.js';
import type { ConfigProblem } from '../errors.js';
import { expect } from '../policy/schema-helpers.js';
import { ID_PATTERN } from '../policy/schema.js';
import { COMPARISONS, ExprError, parseExpr, type Node } from '../series/expr.js';
import { FaultSchema, MAX_FAULTS } from './schema.js';
import { parsePercent, parseTime } from './units.js';

/** What a stop condition can watch (docs/faults.md, "Stop conditions"). */
export const STOP_METRICS = ['shadow_delivery_ratio', 'shadow_tx_pps', 'mirror_pps', 'drops_per_second', 'drops'] as const;
export type StopMetric = (typeof STOP_METRICS)[number];

const timeText = 'a time such as "500ms" or "10s" (a number is milliseconds)';
const timeField = (description: string) => expect(Type.Union([Type.Number(), Type.String({ maxLength: 32 })], { description }), timeText);
const threshold = (description: string) =>
  expect(Type.Optional(Type.Union([Type.Number(), Type.String({ maxLength: 32 })], { description })), 'a number, or a percentage such as "50%" for shadow_delivery_ratio');

export const StopConditionSchema = Type.Object(
  {
    metric: expect(Type.Union(STOP_METRICS.map((m) => Type.Literal(m)), { description: 'shadow_delivery_ratio: copies sent on shadow ports / copies made; shadow_tx_pps, mirror_pps: packets/s; drops_per_second: copies lost on the shadow path per second (dropped or overflowed by a fault, shadow tx queue full, no mbuf); drops: the same since the experiment started. Copies made = sent + lost.' }), `one of ${STOP_METRICS.join(', ')}`),
    below: threshold('Abort when the metric falls below this.'),
    above: threshold('Abort when the metric rises above this.'),
    window: Type.Optional(timeField('Rates and ratios over this window (default 500ms).')),
    after: Type.Optional(timeField('Not checked during the first this long of the experiment (default 0).')),
  },
  { additionalProperties: false, description: 'Abort the experiment (every fault of it disarmed) when the metric crosses the threshold.' },
);

export const HookActionSchema = Type.Object(
  {
    command: expect(Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64, description: 'A program and its arguments (no shell), run by the supervisor.' })), 'a list: the program and its arguments'),
    webhook: Type.Optional(
      Type.Object(
        {
          url: expect(Type.String({ maxLength: 2048, description: 'An http(s) URL on a loopback address (127.0.0.0/8, ::1, localhost).' }), 'an http URL on a loopback address'),
          method: Type.Optional(Type.Union([Type.Literal('POST'), Type.Literal('PUT'), Type.Literal('GET')], { default: 'POST' })),
          body: Type.Optional(Type.Unknown({ description: 'Sent as JSON.' })),
        },
        { additionalProperties: false },
      ),
    ),
    timeout: Type.Optional(timeField('How long it may take (default 10s); longer is a failed hook.')),
  },
  { additionalProperties: false, description: 'A command or an HTTP webhook to loopback; exactly one.' },
);

export const ObserveSchema = Type.Object(
  {
    before: Type.Optional(timeField('Observation window before the step (default 10s; 0: none).')),
    after: Type.Optional(timeField('Observation window after the step (default 10s; 0: none). The report waits for the last one.')),
  },
  { additionalProperties: false, description: 'Observation windows around a step: the steady state is checked in them and the step is compared with the window before it.' },
);

export const HypothesisSchema = Type.Object(
  {
    name: expect(Type.Optional(Type.String({ maxLength: 64 })), 'a short name'),
    expr: expect(Type.String({ minLength: 1, maxLength: 2000, description: 'An expression over the series store (docs/alerts.md) whose top is a comparison, e.g. `sum(rate(shadowtap_port_tx_packets_total{port="shadow0"}[10s])) / sum(rate(shadowtap_port_rx_packets_total{port="prod-in"}[10s])) > 0.9`. It holds at a second when the comparison is true for every series it yields (and it yields one).' }), 'an expression with a comparison at its top, such as "rate(x[10s]) > 0.9"'),
    tolerance: threshold('Share of a window\'s seconds the condition may fail and still be held (default 0: every second).'),
  },
  { additionalProperties: false, description: 'One condition of the steady-state hypothesis: a verdict per step and window (before, during, after).' },
);

export const StepSchema = Type.Object(
  {
    name: expect(Type.Optional(Type.String({ maxLength: 64 })), 'a short name'),
    observe: Type.Optional(ObserveSchema),
    faults: expect(Type.Array(Type.String({ pattern: ID_PATTERN }), { maxItems: MAX_FAULTS, description: 'Ids of the experiment\'s faults armed during the step (a fault in consecutive steps stays armed).' }), 'a list of fault ids of this experiment'),
    duration: Type.Optional(timeField('How long the step lasts; only the last step may leave it out (it then runs until stopped).')),
    vm: Type.Optional(
      Type.Object(
        { stop: HookActionSchema, start: HookActionSchema },
        { additionalProperties: false, description: 'Really stop a shadow VM when the step begins and start it when the step ends (or the experiment stops or aborts); outcomes are on the timeline.' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ExperimentSchema = Type.Object(
  {
    id: expect(Type.String({ pattern: ID_PATTERN, description: 'Experiment name, unique.' }), 'a name of 1 to 64 letters, digits, "_", "." or "-"'),
    description: expect(Type.Optional(Type.String({ maxLength: 200 })), 'a text of up to 200 characters'),
    seed: expect(Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]{1,20}$' })], { description: 'Seed of every fault without its own: the same seed replays the same random decisions.' })), 'a positive integer below 2^64'),
    faults: expect(Type.Array(FaultSchema, { minItems: 1, maxItems: MAX_FAULTS, description: 'The experiment\'s faults (their ids are unique among all faults; no schedule: the steps decide).' }), `a list of 1 to ${MAX_FAULTS} faults`),
    steps: expect(Type.Array(StepSchema, { minItems: 1, maxItems: 1000 }), 'a list of steps'),
    stop: expect(Type.Array(StopConditionSchema, { maxItems: 32, default: [] }), 'a list of stop conditions'),
    observe: Type.Optional(ObserveSchema),
    hypothesis: expect(Type.Optional(Type.Array(HypothesisSchema, { maxItems: 32, description: 'The steady-state hypothesis: conditions checked before, during and after every step.' })), 'a list of conditions'),
  },
  { additionalProperties: false, $id: 'ShadowtapExperiment' },
);

export type Experiment = Static<typeof ExperimentSchema>;
export type StopCondition = Static<typeof StopConditionSchema>;
export type HookAction = Static<typeof HookActionSchema>;

export interface CheckedStop {
  metric: StopMetric;
  op: 'below' | 'above';
  value: number;
  windowMs: number;
  afterMs: number;
  /** as written, for messages */
  text: string;
}

export interface CheckedHook {
  command?: string[];
  webhook?: { url: string; method: 'POST' | 'PUT' | 'GET'; body?: unknown };
  timeoutMs: number;
}

export interface CheckedCondition {
  name: string;
  expr: string;
  node: Node;
  /** share of seconds allowed to fail, 0..1 */
  tolerance: number;
}

export interface CheckedExperiment {
  doc: Experiment;
  /** per step: the observation windows around it, ms */
  observe: { beforeMs: number; afterMs: number }[];
  hypothesis: CheckedCondition[];
  seed: bigint | null;
  /** per step: duration in ms (null: until stopped) */
  durationsMs: (number | null)[];
  stop: CheckedStop[];
  hooks: ({ stop: CheckedHook; start: CheckedHook } | null)[];
}

export function isLoopbackUrl(text: string): boolean {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Schema and meaning of an experiment document, except its faults' own
 * fields (checkFaults checks those, with the faults already defined).
 * Problems name the field ("steps[1].duration").
 */
export function checkExperiment(raw: unknown): { experiment?: CheckedExperiment; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const { value, problems: sp } = schemaCheck(Type.Object({ experiment: ExperimentSchema }), { experiment: raw });
  // paths come back as experiment.steps[0]...: the body is the experiment
  if (sp.length > 0) return { problems: sp.map((p) => ({ path: p.path.replace(/^experiment\.?/, ''), message: p.message })) };
  const doc = value['experiment'] as Experiment;
  const add = (segs: Segment[], message: string) => problems.push({ path: formatPath(segs), message });
  const ms = (v: unknown, segs: Segment[], min: number): number => {
    const r = parseTime(v);
    if (!r.ok) {
      add(segs, r.message);
      return 0;
    }
    const t = r.value / 1e6;
    if (t < min) add(segs, `${String(v)} is below ${min} ms`);
    if (t > 366 * 86400e3) add(segs, `${String(v)} is over 366 days; expected a shorter time`);
    return t;
  };
  const ids = new Set(doc.faults.map((f) => f.id));
  doc.faults.forEach((f, i) => {
    if (f.schedule !== undefined) add(['faults', i, 'schedule'], 'an experiment\'s steps decide when its faults are armed: leave out schedule');
  });
  const durationsMs = doc.steps.map((s, i) => {
    s.faults.forEach((id, j) => {
      if (!ids.has(id)) add(['steps', i, 'faults', j], `"${id}" is not one of this experiment's faults (${[...ids].join(', ')})`);
    });
    if (s.duration === undefined) {
      if (i !== doc.steps.length - 1) add(['steps', i, 'duration'], 'only the last step may run until stopped: give this step a duration');
      return null;
    }
    return ms(s.duration, ['steps', i, 'duration'], 1);
  });
  const hook = (h: HookAction, segs: Segment[]): CheckedHook => {
    if ((h.command === undefined) === (h.webhook === undefined)) add(segs, 'give a command or a webhook (exactly one)');
    if (h.webhook && !isLoopbackUrl(h.webhook.url)) add([...segs, 'webhook', 'url'], `"${h.webhook.url}" is not an http(s) URL on a loopback address; hooks only reach 127.0.0.0/8, ::1 or localhost`);
    return {
      ...(h.command ? { command: [...h.command] } : {}),
      ...(h.webhook ? { webhook: { url: h.webhook.url, method: h.webhook.method ?? 'POST', ...(h.webhook.body !== undefined ? { body: h.webhook.body } : {}) } } : {}),
      timeoutMs: h.timeout === undefined ? 10_000 : ms(h.timeout, [...segs, 'timeout'], 1),
    };
  };
  const hooks = doc.steps.map((s, i) => (s.vm ? { stop: hook(s.vm.stop, ['steps', i, 'vm', 'stop']), start: hook(s.vm.start, ['steps', i, 'vm', 'start']) } : null));
  const stop: CheckedStop[] = doc.stop.map((c, i) => {
    const given = (c.below !== undefined ? 1 : 0) + (c.above !== undefined ? 1 : 0);
    if (given !== 1) add(['stop', i], 'give below or above (exactly one)');
    const op = c.below !== undefined ? 'below' : 'above';
    const raw = c.below ?? c.above ?? 0;
    let value = 0;
    if (c.metric === 'shadow_delivery_ratio') {
      const p = typeof raw === 'number' && raw <= 1 ? { ok: true as const, value: raw } : parsePercent(raw);
      if (!p.ok) add(['stop', i, op], p.message);
      else value = p.value;
    } else {
      value = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isFinite(value) || value < 0) add(['stop', i, op], `${JSON.stringify(raw)} is not a number of at least 0`);
    }
    return {
      metric: c.metric,
      op,
      value,
      windowMs: c.window === undefined ? 500 : ms(c.window, ['stop', i, 'window'], 100),
      afterMs: c.after === undefined ? 0 : ms(c.after, ['stop', i, 'after'], 0),
      text: `${c.metric} ${op} ${String(raw)}`,
    };
  });
  const observeOf = (o: Experiment['observe'], segs: Segment[], dflt: { beforeMs: number; afterMs: number }) => ({
    beforeMs: o?.before === undefined ? dflt.beforeMs : ms(o.before, [...segs, 'before'], 0),
    afterMs: o?.after === undefined ? dflt.afterMs : ms(o.after, [...segs, 'after'], 0),
  });
  const base = observeOf(doc.observe, ['observe'], { beforeMs: 10_000, afterMs: 10_000 });
  for (const [k, v] of Object.entries(base)) if (v > 3_600_000) add(['observe', k === 'beforeMs' ? 'before' : 'after'], 'is over an hour, longer than the series store keeps');
  const observe = doc.steps.map((s, i) => observeOf(s.observe, ['steps', i, 'observe'], base));
  const hypothesis: CheckedCondition[] = (doc.hypothesis ?? []).map((h, i) => {
    let node: Node = { kind: 'number', value: 0, pos: 0 } as Node;
    try {
      node = parseExpr(h.expr);
      if (node.kind !== 'binary' || !COMPARISONS.has(node.op)) add(['hypothesis', i, 'expr'], 'expected a comparison at the top of the expression, such as "... > 0.9"');
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      add(['hypothesis', i, 'expr'], err.message);
    }
    let tolerance = 0;
    if (h.tolerance !== undefined) {
      const p = typeof h.tolerance === 'number' && h.tolerance <= 1 ? { ok: true as const, value: h.tolerance } : parsePercent(h.tolerance);
      if (!p.ok) add(['hypothesis', i, 'tolerance'], p.message);
      else if (p.value < 0 || p.value > 1) add(['hypothesis', i, 'tolerance'], `${String(h.tolerance)} is outside 0 to 100%`);
      else tolerance = p.value;
    }
    return { name: h.name ?? `condition ${i + 1}`, expr: h.expr, node, tolerance };
  });
  let seed: bigint | null = null;
  if (doc.seed !== undefined) {
    seed = BigInt(doc.seed);
    if (seed <= 0n || seed >= 2n ** 64n) add(['seed'], `${String(doc.seed)} is outside 1 to 2^64 - 1`);
  }
  if (problems.length > 0) return { problems };
  return { experiment: { doc, seed, durationsMs, stop, hooks, observe, hypothesis }, problems };
}
