/**
 * /v1/reports: the experiment reports the report service wrote
 * (src/services/reports.ts), listed, and one as JSON or as its
 * self-contained HTML (`/v1/reports/ID.html` or `?format=html`). Read
 * routes: the read role is enough.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { stError } from '../../../../errors.js';
import type { ReportOperations } from '../../../../services/reports.js';
import { ErrorResponse } from '../../../schemas.js';

const errors = { 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };

export const ReportSummarySchema = Type.Object(
  {
    id: Type.String(),
    experiment: Type.String(),
    state: Type.String({ description: 'completed, stopped or aborted' }),
    startedAt: Type.String(),
    endedAt: Type.Union([Type.String(), Type.Null()]),
    generatedAt: Type.String(),
    abort: Type.Union([Type.String(), Type.Null()], { description: 'why it was aborted' }),
    significant: Type.Integer({ description: 'impact rows with a significant change against the control' }),
    violated: Type.Integer({ description: 'steady-state verdicts violated' }),
  },
  { additionalProperties: false },
);

const ReportListResponse = Type.Object({ reports: Type.Array(ReportSummarySchema) }, { additionalProperties: false });
const ReportResponse = Type.Object(
  {
    id: Type.String(),
    experiment: Type.String(),
    state: Type.String(),
    seed: Type.Integer({ description: 'bootstrap seed: the same series and seed give the same intervals' }),
  },
  { additionalProperties: true, description: 'The whole report (docs/experiments.md, "Reports"): windows, hypothesis verdicts, impact rows, baseline, chart series, timeline, alerts.' },
);
const ListQuery = Type.Object({ experiment: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Only this experiment\'s reports.' })) }, { additionalProperties: false });
const ReportParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,100}$', description: 'A report id, or an experiment id (its newest report); ".html" at the end: the HTML.' }) }, { additionalProperties: false });
const FormatQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')], { default: 'json' })) }, { additionalProperties: false });

export default async function reportRoutes(fastify: FastifyInstance): Promise<void> {
  const svc = (): ReportOperations => {
    const r = fastify.services.reports;
    if (!r) throw stError('ST_ERR_NOT_READY', 'this server writes no reports');
    return r;
  };

  fastify.get(
    '/v1/reports',
    { schema: { summary: 'Experiment reports, newest first', querystring: ListQuery, response: { 200: ReportListResponse, ...errors } } },
    async (request) => ({ reports: svc().list((request.query as { experiment?: string }).experiment !== undefined ? { experiment: (request.query as { experiment: string }).experiment } : {}) }),
  );

  fastify.get(
    '/v1/reports/:id',
    {
      schema: {
        summary: 'One report as JSON, or as one self-contained HTML file (ID.html or ?format=html)',
        params: ReportParams,
        querystring: FormatQuery,
        response: { 200: ReportResponse, ...errors },
      },
    },
    async (request, reply) => {
      let id = (request.params as { id: string }).id;
      let html = (request.query as { format?: string }).format === 'html';
      if (id.endsWith('.html')) {
        id = id.slice(0, -5);
        html = true;
      } else if (id.endsWith('.json')) {
        id = id.slice(0, -5);
      }
      if (html) {
        const text = svc().html(id);
        return reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:").send(text);
      }
      return svc().get(id);
    },
  );
}
