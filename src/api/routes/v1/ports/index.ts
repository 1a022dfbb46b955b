/** GET /v1/ports: every port with its driver, hw-profile, probed capabilities and counters (src/services/ports.ts). */
import type { FastifyInstance } from 'fastify';
import { portsView } from '../../../../services/ports.js';
import { ErrorResponse } from '../../../schemas.js';
import { PortsResponse } from '../../../schemas-v1.js';

export default async function portRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get(
    '/v1/ports',
    { schema: { summary: 'Ports: driver, hw-profile, probed capabilities, counters', response: { 200: PortsResponse, 500: ErrorResponse } } },
    async () => portsView(fastify.dataplane, fastify.services.offload, (err) => fastify.log.warn({ err: err.message }, 'no placement plan for GET /v1/ports')),
  );
}
