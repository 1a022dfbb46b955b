/**
 * /v1/experiments: create, list, show, start, stop, delete and the
 * timeline of an experiment (a named set of faults run as ordered steps,
 * guarded by stop conditions), each one call of the fault service.
 */
import type { FastifyInstance } from 'fastify';
import { stError } from '../../../../errors.js';
import { ErrorResponse } from '../../../schemas.js';
import { DeletedResponse, ExperimentBody, ExperimentListResponse, ExperimentViewSchema, IdParams, StartQuery, TimelineQuery, TimelineResponse } from '../../../schemas-faults.js';
import { boolQuery, faultWriteErrors, noIfMatch, passThrough, tagged, timelineQuery, versions } from '../faults/index.js';

const readErrors = { 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };
const own = { ifMatch: 'resource' as const };

export default async function experimentRoutes(fastify: FastifyInstance): Promise<void> {
  const svc = () => {
    const f = fastify.services.faults;
    if (!f) throw stError('ST_ERR_NOT_READY', 'this server has no fault service');
    return f;
  };
  const id = (request: { params: unknown }) => (request.params as { id: string }).id;

  fastify.get(
    '/v1/experiments',
    { schema: { summary: 'Every experiment with its state', response: { 200: ExperimentListResponse, ...readErrors } } },
    async () => ({ experiments: svc().listExperiments() }),
  );

  fastify.post(
    '/v1/experiments',
    {
      schema: { summary: 'Define an experiment (?start=true runs it at once)', querystring: StartQuery, body: ExperimentBody, response: { 201: ExperimentViewSchema, ...faultWriteErrors } },
      validatorCompiler: passThrough,
      config: own,
    },
    async (request, reply) => {
      noIfMatch(request, 'experiment');
      const view = await svc().createExperiment(request.body, { start: boolQuery(request.query, 'start') });
      reply.code(201).header('location', `/v1/experiments/${view.id}`);
      return tagged(reply, view);
    },
  );

  fastify.get(
    '/v1/experiments/:id',
    { schema: { summary: 'One experiment: its definition, state, step, abort and its faults\' counters', params: IdParams, response: { 200: ExperimentViewSchema, ...readErrors } } },
    async (request, reply) => tagged(reply, svc().getExperiment(id(request))),
  );

  fastify.delete(
    '/v1/experiments/:id',
    { schema: { summary: 'Delete an experiment that is not running, and its faults', params: IdParams, response: { 200: DeletedResponse, ...faultWriteErrors } }, config: own },
    async (request) => {
      return svc().deleteExperiment(id(request), versions(request));
    },
  );

  fastify.post(
    '/v1/experiments/:id/start',
    { schema: { summary: 'Run the experiment from its first step (idempotent while it runs)', params: IdParams, response: { 200: ExperimentViewSchema, ...faultWriteErrors } }, config: own },
    async (request, reply) => tagged(reply, await svc().startExperiment(id(request), versions(request))),
  );

  fastify.post(
    '/v1/experiments/:id/stop',
    { schema: { summary: 'Stop the experiment: every fault of it disarmed (idempotent)', params: IdParams, response: { 200: ExperimentViewSchema, ...faultWriteErrors } }, config: own },
    async (request, reply) => tagged(reply, await svc().stopExperiment(id(request), versions(request))),
  );

  fastify.get(
    '/v1/experiments/:id/timeline',
    { schema: { summary: 'The experiment\'s timeline: its starts, steps, activations, deactivations, hooks, abort', params: IdParams, querystring: TimelineQuery, response: { 200: TimelineResponse, ...readErrors } } },
    async (request) => ({ entries: svc().timelineEntries({ ...timelineQuery(request.query), experiment: id(request) }) }),
  );
}
