/** GET /v1/status: what the data plane is doing, for operators and scripts. */
import type { FastifyInstance } from 'fastify';
import { ErrorResponse, StatusResponse, type StatusResponseT } from '../../../schemas.js';

export default async function statusRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get(
    '/v1/status',
    { schema: { summary: 'Data-plane state, pid, restarts, uptime, ports with counters, mirror totals, last error', response: { 200: StatusResponse, 500: ErrorResponse } } },
    async (): Promise<StatusResponseT> => {
      const status = fastify.dataplane.status();
      const stats = fastify.dataplane.stats();
      return {
        state: status.state,
        pid: status.pid,
        restarts: status.restarts,
        uptimeSeconds: status.uptimeSeconds,
        since: status.since,
        filePrefix: status.filePrefix,
        nativeVersion: status.nativeVersion,
        nextRestartAt: status.nextRestartAt,
        ports: status.ports.map((p, i) => {
          const c = stats?.ports[i];
          return { ...p, rxPackets: c?.rxPackets ?? 0, txPackets: c?.txPackets ?? 0, txDropped: c?.txDropped ?? 0 };
        }),
        mirror: {
          packets: stats?.mirrorPackets ?? 0,
          bytes: stats?.mirrorBytes ?? 0,
          translatedPackets: stats?.translatedPackets ?? 0,
          live: stats?.live ?? false,
        },
        lastError: status.lastError,
      };
    },
  );
}
