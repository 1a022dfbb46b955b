/**
 * Schemas of /v1/faults and /v1/experiments, from the fault schema source
 * (src/faults/schema.ts, src/faults/experiment.ts): bodies are the documents
 * themselves; answers are the service's views (src/services/fault-views.ts).
 */
import { Type } from '@sinclair/typebox';
import { ExperimentSchema } from '../faults/experiment.js';
import { FaultSchema } from '../faults/schema.js';
import { FAULT_COUNTERS } from '../services/fault-counters.js';
import { TIMELINE_TYPES } from '../services/fault-timeline.js';
import { bare } from './schemas-v1.js';

const Iso = (description?: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], description ? { description } : {});
const Problem = Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false });

export const FaultBody = bare(FaultSchema);
export const ExperimentBody = bare(ExperimentSchema);

export const IdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Fault or experiment id.' }) }, { additionalProperties: false });

export const StartQuery = Type.Object(
  { start: Type.Optional(Type.Boolean({ default: false, description: 'Start it at once (a fault with a schedule starts anyway).' })) },
  { additionalProperties: false },
);

export const DryRunQuery = Type.Object(
  { window: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000, default: 1000, description: 'How long to measure, ms.' })) },
  { additionalProperties: false },
);

export const TimelineQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'Only entries with a greater seq.' })),
    fault: Type.Optional(Type.String({ maxLength: 64 })),
    experiment: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'The last this many.' })),
  },
  { additionalProperties: false },
);

const Counters = Type.Object(Object.fromEntries(FAULT_COUNTERS.map((k) => [k, Type.Number()])), { additionalProperties: false, description: 'Monotonic across table swaps and data-plane restarts.' });

export const FaultViewSchema = Type.Object(
  {
    id: Type.String(),
    version: Type.Integer({ description: 'Increases with every change; the ETag is "v<version>".' }),
    experiment: Type.Union([Type.String(), Type.Null()], { description: 'The experiment it belongs to (its steps arm it).' }),
    state: Type.Union(['idle', 'scheduled', 'active', 'done', 'error'].map((s) => Type.Literal(s)), { description: 'idle: not started; scheduled: started, waiting for a window (or for a data plane); active: armed; done: its schedule ran out; error: refused (see error).' }),
    armed: Type.Boolean(),
    armedSince: Iso('When the data plane armed it.'),
    startedAt: Iso(),
    next: Iso('When its schedule changes next.'),
    window: Type.Union([Type.Integer(), Type.Null()], { description: 'Its schedule\'s window (1-based) armed or last ended.' }),
    error: Type.Union([Type.String(), Type.Null()]),
    flags: Type.Array(Problem, { description: 'Accepted but worth a look (a match that can match nothing).' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    counters: Counters,
    runsIn: Type.Object({
      where: Type.Literal('software'),
      stage: Type.Literal('impair'),
      why: Type.String(),
    }, { additionalProperties: false, description: 'Where the fault runs: the software impair stage (no fault is placed in NIC hardware yet); sessions it may match stay off the all-hardware path while it is armed.' }),
    fault: FaultBody,
  },
  { additionalProperties: false },
);

export const FaultListResponse = Type.Object(
  { generation: Type.Integer({ description: 'Fault-table generation last installed.' }), faults: Type.Array(FaultViewSchema) },
  { additionalProperties: false },
);

export const ExperimentViewSchema = Type.Object(
  {
    id: Type.String(),
    version: Type.Integer(),
    state: Type.Union(['idle', 'running', 'completed', 'stopped', 'aborted'].map((s) => Type.Literal(s))),
    startedAt: Iso(),
    endedAt: Iso(),
    step: Type.Union([
      Type.Object({ index: Type.Integer(), name: Type.Union([Type.String(), Type.Null()]), since: Type.String({ format: 'date-time' }), until: Iso() }, { additionalProperties: false }),
      Type.Null(),
    ]),
    steps: Type.Integer(),
    abort: Type.Union([
      Type.Object(
        {
          reason: Type.String(),
          condition: Type.String(),
          value: Type.Number(),
          crossedAt: Type.String({ format: 'date-time', description: 'The stats snapshot that crossed the threshold was read then.' }),
          detectedAt: Type.String({ format: 'date-time' }),
          disarmedAt: Iso('Every fault of the experiment was disarmed (the data plane answered the install).'),
          disarmMs: Type.Union([Type.Number(), Type.Null()], { description: 'disarmedAt - crossedAt, ms.' }),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    faults: Type.Array(Type.Object({ id: Type.String(), armed: Type.Boolean(), counters: Counters }, { additionalProperties: false })),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    experiment: ExperimentBody,
  },
  { additionalProperties: false },
);

export const ExperimentListResponse = Type.Object({ experiments: Type.Array(ExperimentViewSchema) }, { additionalProperties: false });

export const DryRunResponse = Type.Object(
  {
    fault: Type.String(),
    flags: Type.Array(Problem),
    basis: Type.String({ description: 'How the answer was measured.' }),
    live: Type.Union([
      Type.Object(
        {
          windowMs: Type.Number(),
          from: Type.String({ format: 'date-time' }),
          to: Type.String({ format: 'date-time' }),
          matched: Type.Number(),
          matchedPerSecond: Type.Number(),
          copies: Type.Number({ description: 'Copies the data plane made in the window.' }),
          share: Type.Union([Type.Number(), Type.Null()]),
          after: Type.Array(Type.String(), { description: 'Armed faults ahead of it: they take the copies they match first.' }),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    unavailable: Type.Union([Type.String(), Type.Null()], { description: 'Why nothing was measured.' }),
  },
  { additionalProperties: false },
);

export const TimelineEntrySchema = Type.Object(
  {
    seq: Type.Integer(),
    type: Type.Union(TIMELINE_TYPES.map((t) => Type.Literal(t))),
    at: Type.String({ format: 'date-time', description: 'When it took effect (the data plane answered the install).' }),
    atMs: Type.Number(),
    dueMs: Type.Number({ description: 'When it was asked for (schedule boundary, step, crossing, request), ms since the epoch.' }),
    fault: Type.Optional(Type.String()),
    experiment: Type.Optional(Type.String()),
    step: Type.Optional(Type.Integer()),
    generation: Type.Optional(Type.Integer()),
    applied: Type.Optional(Type.Boolean({ description: 'false: decided while no data plane ran.' })),
    reason: Type.String(),
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const TimelineResponse = Type.Object({ entries: Type.Array(TimelineEntrySchema) }, { additionalProperties: false });

export const DeletedResponse = Type.Object({ id: Type.String(), deleted: Type.Literal(true) }, { additionalProperties: false });
