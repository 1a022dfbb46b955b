/**
 * GET /v1/detections: what the detectors found (docs/detection.md), newest
 * last, with the counts behind the rate limit. Each detection also goes to
 * the event feed (GET /v1/events, type "detection") as it is raised.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorResponse } from '../../../schemas.js';
import { stError } from '../../../../errors.js';
import { DETECTORS, SEVERITIES } from '../../../../dataplane/measure-types.js';

const lit = (xs: readonly string[]) => Type.Union(xs.map((x) => Type.Literal(x)));

const DetectionSchema = Type.Object({
  id: Type.Integer({ description: 'increases by one per published detection' }),
  at: Type.String({ description: 'when the supervisor raised it (ISO time)' }),
  detector: lit(DETECTORS),
  severity: lit(SEVERITIES),
  side: Type.Literal('production'),
  summary: Type.String(),
  evidence: Type.Record(Type.String(), Type.Unknown(), { description: 'addresses, counts, the window, the packet time' }),
});

export const DetectionsQuery = Type.Object(
  {
    detector: Type.Optional(lit(DETECTORS)),
    severity: Type.Optional(lit(SEVERITIES)),
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'only detections with a larger id' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'at most this many, the newest' })),
  },
  { additionalProperties: false },
);

export const DetectionsResponse = Type.Object({
  detections: Type.Array(DetectionSchema),
  counts: Type.Object({
    total: Type.Array(Type.Object({ detector: Type.String(), severity: Type.String(), count: Type.Integer() }), { description: 'every finding, published or suppressed' }),
    suppressed: Type.Array(Type.Object({ detector: Type.String(), count: Type.Integer() }), { description: 'findings over detectors.events_per_second' }),
    lost: Type.Integer({ description: 'findings a worker overwrote before they were read' }),
  }),
});
export type DetectionsResponseT = Static<typeof DetectionsResponse>;

export default async function detectionRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get<{ Querystring: Static<typeof DetectionsQuery> }>(
    '/v1/detections',
    { schema: { summary: 'What the detectors found, with the counts behind the rate limit', querystring: DetectionsQuery, response: { 200: DetectionsResponse, 400: ErrorResponse, 503: ErrorResponse } } },
    async (req) => {
      const m = fastify.services.measurement;
      if (!m) throw stError('ST_ERR_NOT_READY', 'this server has no measurement service');
      return { detections: m.list(req.query), counts: m.counters() };
    },
  );
}
