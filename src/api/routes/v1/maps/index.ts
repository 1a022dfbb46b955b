/**
 * Address maps and topology. GET/PUT /v1/maps export and import the translate
 * section (every map checked: identity, chained and colliding maps refused,
 * docs/policy.md); POST /v1/topology/export turns a production topology into
 * its shadow replica with the maps in force; POST /v1/topology/import applies
 * its translated security rules as the policy's security section.
 */
import type { FastifyInstance } from 'fastify';
import { exportMaps, exportTopology, importMaps, importTopology } from '../../../../services/sessions.js';
import { ErrorResponse, ProblemErrorResponse } from '../../../schemas.js';
import { MapsBody, MapsResponse, ShadowTopologyResponse, TopologyBody, TopologyImportQuery } from '../../../schemas-v1.js';
import { PolicyViewResponse } from '../policy/index.js';

const passThrough = () => (data: unknown) => ({ value: data });
const writeErrors = { 400: ProblemErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse, 504: ErrorResponse };

export default async function mapRoutes(fastify: FastifyInstance): Promise<void> {
  const host = () => fastify.services.policy;

  fastify.get('/v1/maps', { schema: { summary: 'Export the address maps (the translate section in force)', response: { 200: MapsResponse, 500: ErrorResponse } } }, async () => exportMaps(host()));

  fastify.put(
    '/v1/maps',
    { schema: { summary: 'Import address maps: replace the translate section', body: MapsBody, response: { 200: PolicyViewResponse, ...writeErrors } }, validatorCompiler: passThrough },
    async (request) => importMaps(host(), request.body),
  );

  fastify.post(
    '/v1/topology/export',
    { schema: { summary: 'The shadow replica of a production topology, translated by the maps in force', body: TopologyBody, response: { 200: ShadowTopologyResponse, 400: ProblemErrorResponse, 500: ErrorResponse } }, validatorCompiler: passThrough },
    async (request) => exportTopology(host(), request.body),
  );

  fastify.post(
    '/v1/topology/import',
    {
      schema: { summary: 'Import a production topology\'s security rules, translated, as the policy\'s security section', querystring: TopologyImportQuery, body: TopologyBody, response: { 200: PolicyViewResponse, ...writeErrors } },
      validatorCompiler: ({ httpPart }) => (data: unknown) => {
        if (httpPart !== 'querystring') return { value: data };
        const q = (data ?? {}) as Record<string, unknown>;
        const extra = Object.keys(q).filter((k) => k !== 'enforce');
        if (extra.length > 0) return { error: new Error(`querystring/${extra[0]}: unknown parameter; expected enforce`) };
        if (q['enforce'] !== undefined && q['enforce'] !== 'true' && q['enforce'] !== 'false') return { error: new Error('querystring/enforce: expected true or false') };
        return { value: { enforce: q['enforce'] !== 'false' } };
      },
    },
    async (request) => importTopology(host(), request.body, (request.query as { enforce: boolean }).enforce),
  );
}
