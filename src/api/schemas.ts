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
