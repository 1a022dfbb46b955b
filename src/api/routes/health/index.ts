/**
 * Liveness and readiness. /healthz answers while the process lives (the admin
 * API outlives data-plane crashes by design); /readyz is 200 only while the
 * data plane runs, and otherwise says why.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorResponse, HealthResponse, ReadyResponse, type ReadyResponseT } from '../../schemas.js';
import type { SupervisorStatus } from '../../../supervisor/supervisor.js';

export function notReadyReason(status: SupervisorStatus): string {
  const last = status.lastError ? `${status.lastError.code}: ${status.lastError.message.split('\n')[0]}` : '';
  switch (status.state) {
    case 'starting':
      return status.restarts > 0 ? `the data plane is restarting (restart ${status.restarts})` : 'the data plane is starting';
    case 'backoff':
      return `the data plane exited and restarts${status.nextRestartAt ? ` at ${status.nextRestartAt}` : ' soon'} (restarts so far: ${status.restarts})${last ? `; last error ${last}` : ''}`;
    case 'failed':
      return `the data plane failed to start${last ? `: ${last}` : ''}`;
    case 'stopped':
      return 'the data plane is stopped';
    default:
      return `the data plane is ${status.state}`;
  }
}

export default async function healthRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get('/healthz', { schema: { summary: 'Liveness: the process answers (it outlives data-plane crashes)', response: { 200: HealthResponse } } }, async () => ({ status: 'ok' as const }));

  fastify.get(
    '/readyz',
    { schema: { summary: 'Readiness: 200 only while the data plane runs; otherwise why not', response: { 200: ReadyResponse, 503: ReadyResponse, 500: ErrorResponse } } },
    async (_request, reply): Promise<ReadyResponseT> => {
      const status = fastify.dataplane.status();
      if (status.state === 'running') return { status: 'ready', state: status.state };
      reply.code(503);
      return { status: 'not_ready', state: status.state, code: 'ST_ERR_NOT_READY', reason: notReadyReason(status) };
    },
  );
}
