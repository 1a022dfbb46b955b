/**
 * The mirror policy: GET the current one (with its compiled plan, warnings
 * and explanation), PUT a whole new policy section (installed while traffic
 * flows; nothing changes on failure), POST /v1/policy/validate for a dry run.
 *
 * Bodies are checked by the config loader, not by fastify's ajv: it reports
 * every problem with its field path at once, and never strips or coerces a
 * field (a misspelt key is an error, not silently dropped). The TypeBox
 * schema stays on the route so the OpenAPI document shows it.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { PolicyView } from '../../../../services/policy.js';
import { Type } from '@sinclair/typebox';
import { PolicySchema } from '../../../../config/schema.js';
import { expectedGenerations, policyEtag } from '../../../etag.js';
import { ErrorResponse, PolicyReportSchema, ProblemErrorResponse, ValidateResponse } from '../../../schemas.js';

// One schema, no $id: the same object serves several routes.
const { $id: _id, ...PolicyBody } = PolicySchema;

export const PolicyViewResponse = Type.Object(
  {
    generation: Type.Integer({ description: 'Increases with every applied policy.' }),
    applied: Type.Boolean({ description: 'Installed in the running data plane (false: applies at the next start).' }),
    since: Type.String({ format: 'date-time' }),
    applyMs: Type.Union([Type.Number(), Type.Null()], { description: 'ms the data plane took to swap it in.' }),
    source: Type.Union([Type.Literal('config'), Type.Literal('state'), Type.Literal('api')], { description: 'config file, saved state, or the API.' }),
    policy: PolicyBody,
    plan: PolicyReportSchema,
  },
  { additionalProperties: false },
);

/**
 * The policy view of a thousand sessions is about a megabyte: fastify's
 * schema serializer checks every union in it with ajv, compiling those
 * checks on first use, which held the event loop for a second and more.
 * The view is built to the schema already; plain JSON.stringify takes a few
 * milliseconds. The schema stays on the route for the OpenAPI document.
 */
function sendView(reply: FastifyReply, view: PolicyView): FastifyReply {
  reply.header('etag', policyEtag(view.generation));
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(view));
}

/** Accept the body as it is; the service checks it and lists every problem. */
const passThrough = () => (data: unknown) => ({ value: data });

export default async function policyRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get('/v1/policy', { schema: { summary: 'The policy in force, with its compiled plan, warnings and explanation', response: { 200: PolicyViewResponse, 500: ErrorResponse } } }, async (_request, reply) => sendView(reply, fastify.services.policy.policyView()));

  fastify.put(
    '/v1/policy',
    {
      schema: {
        summary: 'Replace the whole policy: checked, installed while traffic flows, persisted; nothing changes on failure',
        body: PolicyBody,
        response: {
          200: PolicyViewResponse,
          400: ProblemErrorResponse,
          409: ErrorResponse,
          412: ErrorResponse,
          422: ErrorResponse,
          428: ErrorResponse,
          500: ErrorResponse,
          503: ErrorResponse,
          504: ErrorResponse,
        },
      },
      validatorCompiler: passThrough,
      // Replacing the whole policy must say which version it replaces (or '*').
      config: { ifMatch: 'required' },
    },
    async (request, reply) => {
      // A missing body stays missing: the service refuses it rather than resetting the policy.
      const expectGenerations = expectedGenerations(request, true);
      return sendView(reply, await fastify.services.policy.applyPolicy(request.body, expectGenerations ? { expectGenerations } : {}));
    },
  );

  fastify.post(
    '/v1/policy/validate',
    {
      schema: { summary: 'Dry run of PUT /v1/policy: the compiled plan; nothing changes', body: PolicyBody, response: { 200: ValidateResponse, 400: ProblemErrorResponse, 500: ErrorResponse } },
      validatorCompiler: passThrough,
      // A dry run changes nothing: a read token may call it.
      config: { access: 'read' },
    },
    async (request) => ({ valid: true as const, plan: await fastify.services.policy.validatePolicy(request.body ?? {}) }),
  );
}
