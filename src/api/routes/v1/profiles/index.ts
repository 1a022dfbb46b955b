/** GET /v1/profiles: the hw-profiles shadowtap matches ports against (hw-profiles/, docs/hw-profiles.md). */
import type { FastifyInstance } from 'fastify';
import { listProfiles } from '../../../../services/ports.js';
import { ErrorResponse } from '../../../schemas.js';
import { ProfilesResponse } from '../../../schemas-v1.js';

export default async function profileRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get(
    '/v1/profiles',
    { schema: { summary: 'The hw-profiles: per NIC family, its rte_flow items and actions, domains, limits', response: { 200: ProfilesResponse, 500: ErrorResponse } } },
    async () => listProfiles(),
  );
}
