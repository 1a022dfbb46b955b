/**
 * Schemas of the series queries and the alerts (same TypeBox source as every
 * other route; the rule itself is src/alerts/rule.ts's AlertRuleSchema).
 */
import { Type } from '@sinclair/typebox';
import { AlertRuleSchema, SEVERITIES } from '../alerts/rule.js';
import { bare } from './schemas-v1.js';

const LabelsSchema = Type.Record(Type.String(), Type.String(), { description: 'Label names and values.' });

export const SeriesOverviewResponse = Type.Object(
  {
    resolutionSeconds: Type.Integer(),
    capacitySeconds: Type.Integer({ description: 'Seconds kept per series.' }),
    maxSeries: Type.Integer(),
    series: Type.Integer({ description: 'Series held now.' }),
    refused: Type.Integer({ description: 'Samples refused because maxSeries series were held.' }),
    latest: Type.Union([Type.Integer(), Type.Null()], { description: 'ms since the epoch of the newest sample.' }),
    metrics: Type.Array(Type.Object({ name: Type.String(), series: Type.Integer(), labels: Type.Array(LabelsSchema, { description: 'The first 50 label sets.' }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const QueryParams = Type.Object(
  {
    expr: Type.String({ minLength: 1, maxLength: 2000, description: 'A PromQL-subset expression (docs/alerts.md).' }),
    at: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch; default: the newest sample.' })),
  },
  { additionalProperties: false },
);

export const QueryRangeParams = Type.Object(
  {
    expr: Type.String({ minLength: 1, maxLength: 2000, description: 'A PromQL-subset expression (docs/alerts.md).' }),
    start: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch; default: end − 10 min.' })),
    end: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch; default: the newest sample.' })),
    step: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000, description: 'ms between points; default 1000.' })),
  },
  { additionalProperties: false },
);

export const QueryResponse = Type.Object(
  {
    at: Type.Integer(),
    resultType: Type.Union([Type.Literal('scalar'), Type.Literal('vector')]),
    result: Type.Array(Type.Object({ metric: LabelsSchema, value: Type.Union([Type.Number(), Type.String()], { description: 'A number; "NaN", "+Inf" or "-Inf" as strings.' }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const QueryRangeResponse = Type.Object(
  {
    start: Type.Integer(),
    end: Type.Integer(),
    stepMs: Type.Integer(),
    series: Type.Array(Type.Object({ metric: LabelsSchema, points: Type.Array(Type.Tuple([Type.Integer(), Type.Number()]), { description: '[ms, value]; steps without a finite value are left out.' }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const AlertRuleBody = bare(AlertRuleSchema);

// Any name up to 64 characters reaches the service: an unknown one is a 404, a stale If-Match a 412 first.
export const RuleNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64, description: 'The rule\'s name.' }) }, { additionalProperties: false });

const RuleStatus = Type.Object(
  {
    pending: Type.Integer(),
    firing: Type.Integer(),
    lastError: Type.Union([Type.String(), Type.Null()], { description: 'Why the last evaluation failed, or null.' }),
    lastEvaluatedAt: Type.Union([Type.String(), Type.Null()]),
    evaluationFailures: Type.Integer(),
  },
  { additionalProperties: false },
);

export const RuleViewSchema = Type.Composite([Type.Omit(AlertRuleSchema, ['for']), Type.Object({ for: Type.String(), status: RuleStatus })], { additionalProperties: false });

export const RulesResponse = Type.Object(
  {
    revision: Type.Integer({ description: 'Bumped by every change; the ETag is "a<revision>".' }),
    rules: Type.Array(RuleViewSchema),
  },
  { additionalProperties: false },
);

export const RulesWriteResponse = Type.Object(
  {
    revision: Type.Integer(),
    rules: Type.Array(RuleViewSchema),
    changed: Type.Boolean(),
    warnings: Type.Array(Type.String(), { description: 'Metric names no series has yet (rules reading them stay quiet until one appears).' }),
  },
  { additionalProperties: false },
);

export const RulesBody = Type.Object({ rules: Type.Array(AlertRuleBody) }, { additionalProperties: false });

const Severity = Type.Union(SEVERITIES.map((s) => Type.Literal(s)));

export const AlertsResponse = Type.Object(
  {
    revision: Type.Integer(),
    alerts: Type.Array(
      Type.Object(
        {
          rule: Type.String(),
          severity: Severity,
          labels: LabelsSchema,
          state: Type.Union([Type.Literal('pending'), Type.Literal('firing')]),
          activeAt: Type.String(),
          firedAt: Type.Union([Type.String(), Type.Null()]),
          value: Type.Union([Type.Number(), Type.Null()], { description: 'null when not finite.' }),
        },
        { additionalProperties: false },
      ),
    ),
    recent: Type.Array(
      Type.Object(
        {
          rule: Type.String(),
          severity: Severity,
          state: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
          labels: LabelsSchema,
          value: Type.Union([Type.Number(), Type.Null()], { description: 'null when not finite.' }),
          activeAt: Type.String(),
          at: Type.String(),
          summary: Type.Union([Type.String(), Type.Null()]),
        },
        { additionalProperties: false },
      ),
      { description: 'The last 100 transitions, oldest first.' },
    ),
  },
  { additionalProperties: false },
);

export const RuleCheckResponse = Type.Object(
  {
    valid: Type.Boolean(),
    problems: Type.Array(Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false })),
    warnings: Type.Array(Type.String()),
    value: Type.Array(Type.Object({ labels: LabelsSchema, value: Type.Union([Type.Number(), Type.Null()]), holds: Type.Boolean() }, { additionalProperties: false }), { description: 'The expression now, and whether the condition holds for each series.' }),
  },
  { additionalProperties: false },
);
