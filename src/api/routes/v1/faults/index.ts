/**
 * /v1/faults: create, list, show, replace, delete, start, stop, dry run and
 * the timeline, each one call of the fault service (src/services/faults.ts),
 * which checks bodies itself (every problem with its field, nothing
 * coerced, nothing changed on a problem) as the session routes do.
 *
 * Versions: a fault's ETag is "v<version>"; PUT and DELETE with If-Match are
 * refused (412) unless it names the version in force.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stError } from '../../../../errors.js';
import { faultEtag } from '../../../../services/faults.js';
import { expectedVersions } from '../../../etag.js';
import { ErrorResponse, ProblemErrorResponse } from '../../../schemas.js';
import { DeletedResponse, DryRunQuery, DryRunResponse, FaultBody, FaultListResponse, FaultViewSchema, IdParams, StartQuery, TimelineQuery, TimelineResponse } from '../../../schemas-faults.js';

export const passThrough = () => (data: unknown) => ({ value: data });
export const faultWriteErrors = { 400: ProblemErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 412: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse, 504: ErrorResponse };
const readErrors = { 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };
const own = { ifMatch: 'resource' as const };

/** Query values as given (routes here check their own input, naming the field). */
export function boolQuery(q: unknown, name: string): boolean {
  const v = (q as Record<string, unknown> | undefined)?.[name];
  if (v === undefined || v === 'false' || v === false) return false;
  if (v === 'true' || v === true || v === '') return true;
  throw stError('ST_ERR_BAD_REQUEST', `${name}: "${String(v)}" is not true or false`, { field: name });
}

function windowQuery(q: unknown): number {
  const v = (q as Record<string, unknown> | undefined)?.['window'];
  if (v === undefined) return 1000;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100 || n > 60_000) throw stError('ST_ERR_BAD_REQUEST', `window: "${String(v)}" is not a whole number of ms from 100 to 60000`, { field: 'window' });
  return n;
}

export function timelineQuery(q: unknown): { after?: number; fault?: string; experiment?: string; limit?: number } {
  const o = (q ?? {}) as Record<string, unknown>;
  const out: { after?: number; fault?: string; experiment?: string; limit?: number } = {};
  for (const k of Object.keys(o)) {
    if (!['after', 'fault', 'experiment', 'limit'].includes(k)) throw stError('ST_ERR_BAD_REQUEST', `${k}: unknown query parameter; expected after, fault, experiment or limit`, { field: k });
  }
  for (const k of ['after', 'limit'] as const) {
    if (o[k] === undefined) continue;
    const n = Number(o[k]);
    if (!Number.isInteger(n) || n < (k === 'limit' ? 1 : 0)) throw stError('ST_ERR_BAD_REQUEST', `${k}: "${String(o[k])}" is not a whole number${k === 'limit' ? ' from 1' : ''}`, { field: k });
    out[k] = n;
  }
  for (const k of ['fault', 'experiment'] as const) if (typeof o[k] === 'string') out[k] = o[k];
  return out;
}

/** If-Match on a resource with versions of its own ("v3"), for the service to compare. */
export function versions(request: FastifyRequest): { expectVersions?: number[] } {
  const v = expectedVersions(request);
  return v ? { expectVersions: v } : {};
}

/** A create names no version that could exist yet: any If-Match fails (RFC 9110). */
export function noIfMatch(request: FastifyRequest, what: string): void {
  if (request.headers['if-match'] !== undefined) throw stError('ST_ERR_PRECONDITION_FAILED', `If-Match names a version of a ${what} that does not exist yet; leave it out to create one`, { field: 'If-Match' });
}

export function tagged<T extends { version: number }>(reply: FastifyReply, view: T): T {
  reply.header('etag', faultEtag(view.version));
  return view;
}

export default async function faultRoutes(fastify: FastifyInstance): Promise<void> {
  const svc = () => {
    const f = fastify.services.faults;
    if (!f) throw stError('ST_ERR_NOT_READY', 'this server has no fault service');
    return f;
  };
  const id = (request: { params: unknown }) => (request.params as { id: string }).id;

  fastify.get(
    '/v1/faults',
    { schema: { summary: 'Every fault (experiments\' faults too) with its state and counters', response: { 200: FaultListResponse, ...readErrors } } },
    async () => ({ generation: svc().tableGeneration, faults: svc().listFaults() }),
  );

  fastify.post(
    '/v1/faults',
    {
      schema: { summary: 'Define a fault (with a schedule it starts at once; ?start=true starts one without)', querystring: StartQuery, body: FaultBody, response: { 201: FaultViewSchema, ...faultWriteErrors } },
      validatorCompiler: passThrough,
      config: own,
    },
    async (request, reply) => {
      noIfMatch(request, 'fault');
      const view = await svc().createFault(request.body, { start: boolQuery(request.query, 'start') });
      reply.code(201).header('location', `/v1/faults/${view.id}`);
      return tagged(reply, view);
    },
  );

  fastify.post(
    '/v1/faults/dry-run',
    { schema: { summary: 'What a fault not yet defined would match, measured on live traffic', querystring: DryRunQuery, body: FaultBody, response: { 200: DryRunResponse, ...faultWriteErrors } }, validatorCompiler: passThrough, config: { access: 'read' as const, ifMatch: 'resource' as const } },
    async (request) => svc().dryRun({ body: request.body }, windowQuery(request.query)),
  );

  fastify.get(
    '/v1/faults/timeline',
    { schema: { summary: 'The timeline: every activation, deactivation, start, stop, abort and hook, oldest first', querystring: TimelineQuery, response: { 200: TimelineResponse, ...readErrors } } },
    async (request) => {
      return { entries: svc().timelineEntries(timelineQuery(request.query)) };
    },
  );

  fastify.get(
    '/v1/faults/:id',
    { schema: { summary: 'One fault: its definition, state, schedule and counters', params: IdParams, response: { 200: FaultViewSchema, ...readErrors } } },
    async (request, reply) => tagged(reply, svc().getFault(id(request))),
  );

  fastify.put(
    '/v1/faults/:id',
    {
      schema: { summary: 'Replace a fault\'s definition (an armed fault takes it at once)', params: IdParams, body: FaultBody, response: { 200: FaultViewSchema, ...faultWriteErrors } },
      validatorCompiler: passThrough,
      config: own,
    },
    async (request, reply) => {
      return tagged(reply, await svc().replaceFault(id(request), request.body, versions(request)));
    },
  );

  fastify.delete(
    '/v1/faults/:id',
    { schema: { summary: 'Delete a fault (disarmed first when armed)', params: IdParams, response: { 200: DeletedResponse, ...faultWriteErrors } }, config: own },
    async (request) => {
      return svc().deleteFault(id(request), versions(request));
    },
  );

  fastify.post(
    '/v1/faults/:id/start',
    { schema: { summary: 'Start a fault: its schedule runs from now (without one it is armed until stopped); idempotent', params: IdParams, response: { 200: FaultViewSchema, ...faultWriteErrors } }, config: own },
    async (request, reply) => tagged(reply, await svc().startFault(id(request), versions(request))),
  );

  fastify.post(
    '/v1/faults/:id/stop',
    { schema: { summary: 'Stop a fault: disarmed now, its schedule ends; idempotent', params: IdParams, response: { 200: FaultViewSchema, ...faultWriteErrors } }, config: own },
    async (request, reply) => tagged(reply, await svc().stopFault(id(request), versions(request))),
  );

  fastify.post(
    '/v1/faults/:id/dry-run',
    { schema: { summary: 'What the fault would match, measured on live traffic before it is armed', params: IdParams, querystring: DryRunQuery, response: { 200: DryRunResponse, ...faultWriteErrors } }, config: { access: 'read' as const, ifMatch: 'resource' as const } },
    async (request) => svc().dryRun({ id: id(request) }, windowQuery(request.query)),
  );

  fastify.get(
    '/v1/faults/:id/timeline',
    { schema: { summary: 'The fault\'s part of the timeline', params: IdParams, querystring: TimelineQuery, response: { 200: TimelineResponse, ...readErrors } } },
    async (request) => ({ entries: svc().timelineEntries({ ...timelineQuery(request.query), fault: id(request) }) }),
  );
}
