/**
 * Response schemas of the admin API, from the same TypeBox source as the
 * config schema, so the OpenAPI document can be derived rather than written.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ description: 'Catalogue code, e.g. ST_ERR_NOT_READY (docs/errors.md).' }),
    error: Type.String(),
    message: Type.String(),
  },
  { additionalProperties: false },
);

export const HealthResponse = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });

export const States = Type.Union(
  ['stopped', 'starting', 'running', 'backoff', 'failed'].map((s) => Type.Literal(s)),
  { description: 'Data-plane supervisor state.' },
);

export const ReadyResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    state: Type.String(),
    code: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const LastErrorSchema = Type.Object(
  { code: Type.String(), message: Type.String(), field: Type.String(), at: Type.String({ format: 'date-time' }) },
  { additionalProperties: false },
);

export const PortStatusSchema = Type.Object(
  {
    name: Type.String(),
    role: Type.String(),
    device: Type.String(),
    portId: Type.Union([Type.Integer(), Type.Null()]),
    driver: Type.Union([Type.String(), Type.Null()]),
    mac: Type.Union([Type.String(), Type.Null()]),
    rxPackets: Type.Number(),
    txPackets: Type.Number(),
    txDropped: Type.Number(),
  },
  { additionalProperties: false },
);

export const StatusResponse = Type.Object(
  {
    state: States,
    pid: Type.Union([Type.Integer(), Type.Null()], { description: 'Data-plane process id.' }),
    restarts: Type.Integer({ minimum: 0 }),
    uptimeSeconds: Type.Integer({ minimum: 0 }),
    since: Type.String({ format: 'date-time', description: 'When the current state was entered.' }),
    filePrefix: Type.Union([Type.String(), Type.Null()]),
    nativeVersion: Type.Union([Type.String(), Type.Null()]),
    nextRestartAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    ports: Type.Array(PortStatusSchema),
    mirror: Type.Object(
      { packets: Type.Number(), bytes: Type.Number(), translatedPackets: Type.Number(), live: Type.Boolean() },
      { additionalProperties: false },
    ),
    lastError: Type.Union([LastErrorSchema, Type.Null()]),
  },
  { additionalProperties: false },
);

export type StatusResponseT = Static<typeof StatusResponse>;
export type ReadyResponseT = Static<typeof ReadyResponse>;
export type ErrorResponseT = Static<typeof ErrorResponse>;

// ---- the mirror policy ---------------------------------------------------------

export const ProblemSchema = Type.Object(
  {
    path: Type.String({ description: 'Field path, as in the config file (sessions[0].filters[2].src).' }),
    message: Type.String({ description: 'What is wrong and what was expected.' }),
    line: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

/** Errors that list every problem (ST_ERR_POLICY_INVALID, ST_ERR_CONFIG_INVALID) carry `problems`. */
export const ProblemErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ description: 'Catalogue code (docs/errors.md).' }),
    error: Type.String(),
    message: Type.String(),
    problems: Type.Optional(Type.Array(ProblemSchema)),
  },
  { additionalProperties: false },
);

const WarningSchema = Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false });

const RuleSummarySchema = Type.Object(
  {
    id: Type.String({ description: 'Rule id (given, or the 1-based position).' }),
    index: Type.Integer({ description: '0-based position in the session.' }),
    action: Type.Union([Type.Literal('accept'), Type.Literal('reject')]),
    line: Type.String({ description: 'The rule in words.' }),
    classifierRules: Type.Integer({ description: 'Classifier rules it expanded into.' }),
    slots: Type.Array(Type.Integer(), { description: 'Counter slots of those classifier rules.' }),
  },
  { additionalProperties: false },
);

const SessionSummarySchema = Type.Object(
  {
    id: Type.Integer(),
    slot: Type.Integer({ description: 'Counter slot, stable across updates.' }),
    priority: Type.Integer(),
    description: Type.Optional(Type.String()),
    sources: Type.Array(Type.String(), { description: '"port direction" pairs.' }),
    target: Type.String(),
    sample: Type.Object(
      {
        percent: Type.Number(),
        mode: Type.Union([Type.Literal('all'), Type.Literal('flow'), Type.Literal('packet')]),
        threshold: Type.Integer({ description: 'Sampled when hash32 < threshold.' }),
      },
      { additionalProperties: false },
    ),
    snaplen: Type.Integer(),
    rate: Type.Object({ pps: Type.Number(), bps: Type.Number() }, { additionalProperties: false }),
    rules: Type.Array(RuleSummarySchema),
    implicit: Type.Boolean({ description: 'The default session of a config without sessions.' }),
  },
  { additionalProperties: false },
);

export const PolicyReportSchema = Type.Object(
  {
    generation: Type.Integer(),
    match: Type.Union([Type.Literal('first'), Type.Literal('all')]),
    counts: Type.Object(
      {
        sessions: Type.Integer(),
        filterRules: Type.Integer(),
        classifierRules: Type.Integer(),
        targets: Type.Integer(),
        signatures: Type.Integer(),
        map4: Type.Integer(),
        map6: Type.Integer(),
        macMaps: Type.Integer(),
        securityRules: Type.Integer(),
      },
      { additionalProperties: false },
    ),
    sessions: Type.Array(SessionSummarySchema, { description: 'In evaluation order.' }),
    targets: Type.Array(
      Type.Object({ name: Type.String(), index: Type.Integer(), ports: Type.Array(Type.String()), encap: Type.String() }, { additionalProperties: false }),
    ),
    security: Type.Object(
      { enforce: Type.Boolean(), default: Type.Union([Type.Literal('allow'), Type.Literal('deny')]), rules: Type.Integer(), lines: Type.Array(Type.String()) },
      { additionalProperties: false },
    ),
    translate: Type.Object({ unmapped: Type.String(), controlPlane: Type.Array(Type.String()) }, { additionalProperties: false }),
    warnings: Type.Array(WarningSchema, { description: 'Shadowed and overlapping rules; never stop a policy.' }),
    explain: Type.Array(Type.String(), { description: 'The policy in words, one line per session, target and rule.' }),
  },
  { additionalProperties: false },
);

export const ValidateResponse = Type.Object(
  { valid: Type.Literal(true), plan: PolicyReportSchema },
  { additionalProperties: false },
);

const SessionCountersSchema = {
  matched: Type.Number({ description: 'Accepted by a filter rule.' }),
  sampled: Type.Number({ description: 'Passed sampling.' }),
  mirroredPackets: Type.Number({ description: 'Copies handed to shadow tx.' }),
  mirroredBytes: Type.Number(),
  truncated: Type.Number({ description: 'Copies cut to snaplen.' }),
  unmappedSeen: Type.Number({ description: 'Counted by the unmapped rule "count".' }),
  dropped: Type.Record(Type.String(), Type.Number(), { description: 'Copies not sent, by reason (rate, nomem, tx_full, unmapped, malformed, firewall, encap).' }),
};

export const SessionsResponse = Type.Object(
  {
    generation: Type.Integer(),
    disabled: Type.Optional(Type.Array(Type.Integer(), { description: 'Ids of sessions kept in the policy but disabled (not compiled, no counters here).' })),
    live: Type.Boolean({ description: 'The data plane answered the last poll.' }),
    at: Type.Number({ description: 'ms since the epoch of the newest snapshot.' }),
    path: Type.Optional(
      Type.Union([Type.Literal('short'), Type.Literal('general')], {
        description: 'The data plane\'s fast path for the policy in force: "short" for one session copying every packet whole to one target (no classifier, sampling, rate cap, snaplen, encapsulation or firewall), "general" otherwise. Both give the same copies and counters.',
      }),
    ),
    sessions: Type.Array(
      Type.Object(
        {
          id: Type.Integer(),
          slot: Type.Integer(),
          priority: Type.Integer(),
          target: Type.String(),
          description: Type.Optional(Type.String()),
          classifier: Type.Optional(
            Type.Union([Type.Literal('none'), Type.Literal('direct'), Type.Literal('acl')], {
              description: 'How the data plane finds the session\'s deciding rule, chosen when the policy compiles: "none" (no rule, or a first rule that matches everything), "direct" (up to 6 rules per group of 16 sessions, tested on the parsed packet key), "acl" (rte_acl, for larger rule sets). The decisions are the same either way.',
            }),
          ),
          ...SessionCountersSchema,
          rules: Type.Array(
            Type.Object({ id: Type.String(), index: Type.Integer(), line: Type.String(), hits: Type.Number() }, { additionalProperties: false }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
