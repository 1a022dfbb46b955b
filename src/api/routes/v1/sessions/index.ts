/**
 * Mirror sessions, one at a time. GET /v1/sessions lists every compiled
 * session's counters (and the ids of disabled ones); the others read or
 * change one session through the session service (src/services/sessions.ts),
 * which applies the whole resulting policy like PUT /v1/policy: checked,
 * installed while traffic flows, persisted, nothing changed on failure.
 *
 * Session bodies are checked by the policy checks, not by fastify's ajv (as
 * for PUT /v1/policy): every problem with its field path, nothing coerced.
 */
import type { FastifyInstance } from 'fastify';
import { addSession, getSession, removeSession, setSessionEnabled, updateSession } from '../../../../services/sessions.js';
import { ErrorResponse, ProblemErrorResponse, SessionsResponse } from '../../../schemas.js';
import { SessionBody, SessionDetailResponse, SessionIdParams } from '../../../schemas-v1.js';
import { PolicyViewResponse } from '../policy/index.js';

const passThrough = () => (data: unknown) => ({ value: data });
const writeErrors = { 400: ProblemErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse, 504: ErrorResponse };

export default async function sessionRoutes(fastify: FastifyInstance): Promise<void> {
  const host = () => fastify.services.policy;

  fastify.get(
    '/v1/sessions',
    { schema: { summary: 'Every compiled session with its counters', response: { 200: SessionsResponse, 500: ErrorResponse } } },
    async () => {
      const view = host().sessionStats();
      const defs = (host().policyView().policy as { sessions?: { id: number; enabled?: boolean }[] }).sessions ?? [];
      return { ...view, disabled: defs.filter((s) => s.enabled === false).map((s) => s.id) };
    },
  );

  fastify.post(
    '/v1/sessions',
    { schema: { summary: 'Add a session (its id must be new)', body: SessionBody, response: { 201: SessionDetailResponse, ...writeErrors } }, validatorCompiler: passThrough },
    async (request, reply) => {
      const detail = await addSession(host(), request.body);
      reply.code(201).header('location', `/v1/sessions/${detail.session['id'] as number}`);
      return detail;
    },
  );

  fastify.get(
    '/v1/sessions/:id',
    { schema: { summary: 'One session: its definition, whether it is enabled, its counters', params: SessionIdParams, response: { 200: SessionDetailResponse, 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse } } },
    async (request) => getSession(host(), (request.params as { id: number }).id),
  );

  fastify.put(
    '/v1/sessions/:id',
    {
      schema: { summary: 'Replace one session\'s definition', params: SessionIdParams, body: SessionBody, response: { 200: SessionDetailResponse, ...writeErrors } },
      // The id is checked by the service (a 400 naming it); the body by the policy checks.
      validatorCompiler: passThrough,
    },
    async (request) => updateSession(host(), (request.params as { id: number }).id, request.body),
  );

  fastify.delete(
    '/v1/sessions/:id',
    { schema: { summary: 'Remove one session (the last one leaves sessions: [], mirroring nothing)', params: SessionIdParams, response: { 200: PolicyViewResponse, ...writeErrors } } },
    async (request) => removeSession(host(), (request.params as { id: number }).id),
  );

  for (const action of ['enable', 'disable'] as const) {
    fastify.post(
      `/v1/sessions/:id/${action}`,
      {
        schema: {
          summary: action === 'enable' ? 'Enable a disabled session (idempotent)' : 'Disable a session: kept in the policy, left out of the compiled policy (idempotent)',
          params: SessionIdParams,
          response: { 200: SessionDetailResponse, ...writeErrors },
        },
      },
      async (request) => setSessionEnabled(host(), (request.params as { id: number }).id, action === 'enable'),
    );
  }
}
