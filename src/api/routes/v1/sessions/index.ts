/** GET /v1/sessions: per-session and per-rule counters of the current policy. */
import type { FastifyInstance } from 'fastify';
import { ErrorResponse, SessionsResponse } from '../../../schemas.js';

export default async function sessionRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get('/v1/sessions', { schema: { response: { 200: SessionsResponse, 500: ErrorResponse } } }, async () => fastify.services.policy.sessionStats());
}
