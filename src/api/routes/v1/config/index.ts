/**
 * GET /v1/config exports the configuration in force (the file's, defaults
 * filled, the policy as last applied); PUT /v1/config imports a whole
 * configuration: checked as a file would be, its policy keys applied live;
 * any other key that differs (ports, EAL, the API) needs a restart and is
 * refused with 409 naming it.
 */
import type { FastifyInstance } from 'fastify';
import { exportConfig, importConfig } from '../../../../services/sessions.js';
import { ErrorResponse, ProblemErrorResponse } from '../../../schemas.js';
import { ConfigBody, ConfigResponse } from '../../../schemas-v1.js';
import { PolicyViewResponse } from '../policy/index.js';

const passThrough = () => (data: unknown) => ({ value: data });

export default async function configRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get('/v1/config', { schema: { summary: 'Export the configuration in force', response: { 200: ConfigResponse, 500: ErrorResponse } } }, async () => exportConfig(fastify.services.policy));

  fastify.put(
    '/v1/config',
    {
      schema: {
        summary: 'Import a whole configuration: its policy applied live; other keys must match the running ones',
        body: ConfigBody,
        response: { 200: PolicyViewResponse, 400: ProblemErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse, 504: ErrorResponse },
      },
      validatorCompiler: passThrough,
    },
    async (request) => importConfig(fastify.services.policy, request.body),
  );
}
