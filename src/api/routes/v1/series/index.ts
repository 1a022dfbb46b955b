/**
 * The supervisor's in-memory series (src/services/series.ts): what it holds,
 * and PromQL-subset queries at one instant or over a range (what the
 * dashboard charts). A bad expression is a 400 naming the position and what
 * was expected.
 */
import type { FastifyInstance } from 'fastify';
import { stError } from '../../../../errors.js';
import type { SeriesOperations } from '../../../../services/series.js';
import { ErrorResponse } from '../../../schemas.js';
import { QueryParams, QueryRangeParams, QueryRangeResponse, QueryResponse, SeriesOverviewResponse } from '../../../schemas-alerts.js';

const errors = { 400: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };
const jsonNumber = (v: number): number | string => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');

export default async function seriesRoutes(fastify: FastifyInstance): Promise<void> {
  const series = (): SeriesOperations => {
    const s = fastify.services.series;
    if (!s) throw stError('ST_ERR_NOT_READY', 'this server keeps no series');
    return s;
  };

  fastify.get('/v1/series', { schema: { summary: 'The in-memory series: metric names, label sets, bounds', response: { 200: SeriesOverviewResponse, ...errors } } }, async () => series().overview());

  fastify.get(
    '/v1/series/query',
    { schema: { summary: 'Evaluate an expression at one instant', querystring: QueryParams, response: { 200: QueryResponse, ...errors } } },
    async (request) => {
      const q = request.query as { expr: string; at?: number };
      const { at, value } = series().instant(q.expr, q.at);
      if (value.type === 'scalar') return { at, resultType: 'scalar', result: [{ metric: {}, value: jsonNumber(value.value) }] };
      return { at, resultType: 'vector', result: value.samples.map((s) => ({ metric: s.metric, value: jsonNumber(s.value) })) };
    },
  );

  fastify.get(
    '/v1/series/query_range',
    { schema: { summary: 'Evaluate an expression at every step of a range (charts)', querystring: QueryRangeParams, response: { 200: QueryRangeResponse, ...errors } } },
    async (request) => {
      const q = request.query as { expr: string; start?: number; end?: number; step?: number };
      const s = series();
      const end = q.end ?? s.overview().latest ?? Date.now();
      const start = q.start ?? end - 600_000;
      return s.range(q.expr, start, end, q.step ?? 1000);
    },
  );
}
