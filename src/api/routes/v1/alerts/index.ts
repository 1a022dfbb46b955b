/**
 * Alert rules and alerts (src/services/alerts.ts). The rule set has its own
 * versions: every GET answers with ETag "a<revision>", and a write that
 * sends If-Match with another revision is refused (412) and changes nothing
 * (`config: { ifMatch: 'resource' }`: the security hook leaves the
 * comparison to these routes). Rule bodies are checked by checkRule, every
 * problem with its field path (ST_ERR_ALERT_INVALID).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stError } from '../../../../errors.js';
import { alertsEtag, type AlertOperations } from '../../../../services/alerts.js';
import { parseIfMatch } from '../../../etag.js';
import { ErrorResponse, ProblemErrorResponse } from '../../../schemas.js';
import { AlertRuleBody, AlertsResponse, RuleCheckResponse, RuleNameParams, RulesBody, RulesResponse, RulesWriteResponse, RuleViewSchema } from '../../../schemas-alerts.js';

const passThrough = () => (data: unknown) => ({ value: data });
const readErrors = { 404: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };
const writeErrors = { 400: ProblemErrorResponse, 404: ErrorResponse, 412: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };

/** The revisions If-Match names: undefined for none or '*'; a tag not of the form "a7" names none (412). */
function revisions(request: FastifyRequest): number[] | undefined {
  const m = parseIfMatch(request.headers['if-match']);
  if (m === null || m === '*') return undefined;
  return m.map((t) => {
    const x = /^"a([0-9]{1,15})"$/.exec(t);
    return x ? Number(x[1]) : -1;
  });
}

export default async function alertRoutes(fastify: FastifyInstance): Promise<void> {
  const alerts = (): AlertOperations => {
    const a = fastify.services.alerts;
    if (!a) throw stError('ST_ERR_NOT_READY', 'this server has no alert rules');
    return a;
  };
  const tag = (reply: FastifyReply, revision: number) => reply.header('etag', alertsEtag(revision));
  const own = { ifMatch: 'resource' as const };

  fastify.get('/v1/alerts', { schema: { summary: 'Alerts pending and firing now, and the last transitions', response: { 200: AlertsResponse, ...readErrors } } }, async () => alerts().alerts());

  fastify.get('/v1/alerts/rules', { schema: { summary: 'Every alert rule with its state (ETag: the rule set\'s revision)', response: { 200: RulesResponse, ...readErrors } } }, async (_request, reply) => {
    const v = alerts().rules();
    tag(reply, v.revision);
    return v;
  });

  fastify.put(
    '/v1/alerts/rules',
    { schema: { summary: 'Replace every alert rule', body: RulesBody, response: { 200: RulesWriteResponse, ...writeErrors } }, validatorCompiler: passThrough, config: own },
    async (request, reply) => {
      const r = alerts().replaceRules(request.body, revisions(request));
      request.resourceChanged = r.changed;
      tag(reply, r.view.revision);
      return { ...r.view, changed: r.changed, warnings: r.warnings };
    },
  );

  fastify.get(
    '/v1/alerts/rules.yaml',
    { schema: { summary: 'The alert rules as a Prometheus rule file', produces: ['application/yaml'], response: { 200: { type: 'string', description: 'A Prometheus rule file (groups:), for promtool and Prometheus.' }, ...readErrors } } },
    async (_request, reply) => {
      reply.type('application/yaml; charset=utf-8');
      return alerts().exportYaml();
    },
  );

  fastify.post(
    '/v1/alerts/rules/check',
    { schema: { summary: 'Check a rule and evaluate it now, changing nothing (a dry run)', body: AlertRuleBody, response: { 200: RuleCheckResponse, ...writeErrors } }, validatorCompiler: passThrough, config: { access: 'read', ifMatch: 'resource' } },
    async (request) => alerts().checkRule(request.body),
  );

  fastify.get('/v1/alerts/rules/:name', { schema: { summary: 'One alert rule with its state', params: RuleNameParams, response: { 200: RuleViewSchema, 400: ErrorResponse, ...readErrors } } }, async (request, reply) => {
    const a = alerts();
    const v = a.rule((request.params as { name: string }).name);
    tag(reply, a.rules().revision);
    return v;
  });

  fastify.put(
    '/v1/alerts/rules/:name',
    { schema: { summary: 'Add or replace one alert rule', params: RuleNameParams, body: AlertRuleBody, response: { 200: RulesWriteResponse, 201: RulesWriteResponse, ...writeErrors } }, validatorCompiler: passThrough, config: own },
    async (request, reply) => {
      const name = String((request.params as { name: unknown }).name);
      const r = alerts().putRule(name, request.body, revisions(request));
      request.resourceChanged = r.changed;
      tag(reply, r.view.revision);
      if (r.created) reply.code(201).header('location', `/v1/alerts/rules/${name}`);
      return { ...r.view, changed: r.changed, warnings: r.warnings };
    },
  );

  fastify.delete(
    '/v1/alerts/rules/:name',
    { schema: { summary: 'Remove one alert rule (its firing alerts resolve)', params: RuleNameParams, response: { 200: RulesResponse, ...writeErrors } }, config: own },
    async (request, reply) => {
      const v = alerts().removeRule((request.params as { name: string }).name, revisions(request));
      request.resourceChanged = true;
      tag(reply, v.revision);
      return v;
    },
  );
}
