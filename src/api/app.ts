/**
 * The admin API as a fastify plugin (the fastify demo's layout): decorators
 * from plugins/app, routes from routes/. The caller supplies the data-plane
 * source and the metrics registry, so route tests can pass fakes.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import { isErrorCode, type ErrorCode } from '../errors.js';
import dataplanePlugin, { type DataplanePluginOptions } from './plugins/app/dataplane.js';
import securityPlugin, { type SecurityOptions } from './plugins/app/security.js';
import healthRoutes from './routes/health/index.js';
import metricsRoutes from './routes/metrics/index.js';
import { openapiRoutes, recordRoutes } from './openapi.js';
import configRoutes from './routes/v1/config/index.js';
import eventRoutes from './routes/v1/events/index.js';
import experimentRoutes from './routes/v1/experiments/index.js';
import faultRoutes from './routes/v1/faults/index.js';
import mapRoutes from './routes/v1/maps/index.js';
import planRoutes from './routes/v1/plan/index.js';
import portRoutes from './routes/v1/ports/index.js';
import profileRoutes from './routes/v1/profiles/index.js';
import policyRoutes from './routes/v1/policy/index.js';
import reliabilityRoutes from './routes/v1/reliability/index.js';
import detectionRoutes from './routes/v1/detections/index.js';
import sessionRoutes from './routes/v1/sessions/index.js';
import statusRoutes from './routes/v1/status/index.js';
import seriesRoutes from './routes/v1/series/index.js';
import alertRoutes from './routes/v1/alerts/index.js';
import reportRoutes from './routes/v1/reports/index.js';
import dashboardRoutes from '../web/dashboard.js';

export type AppOptions = DataplanePluginOptions & {
  /** tokens, limits, audit; default: no tokens (loopback only), default limits, audit to the log */
  security?: SecurityOptions;
};

/** fastify's own errors (FST_ERR_*) by status, onto catalogue codes. */
const BY_STATUS: Record<number, ErrorCode> = {
  401: 'ST_ERR_UNAUTHORIZED',
  403: 'ST_ERR_FORBIDDEN',
  404: 'ST_ERR_NOT_FOUND',
  412: 'ST_ERR_PRECONDITION_FAILED',
  413: 'ST_ERR_PAYLOAD_TOO_LARGE',
  415: 'ST_ERR_UNSUPPORTED_MEDIA_TYPE',
  428: 'ST_ERR_PRECONDITION_REQUIRED',
  429: 'ST_ERR_RATE_LIMITED',
};

export default async function app(fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  const { security, ...dataplane } = opts;
  const bodyLimit = security?.bodyLimit ?? 1048576;
  // Before any route: the OpenAPI document is made of what it records.
  const routes = recordRoutes(fastify);
  await fastify.register(dataplanePlugin, dataplane as DataplanePluginOptions);
  await fastify.register(securityPlugin, security ?? { tokens: [] });

  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    const statusCode = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const error = STATUS_CODES[statusCode] ?? 'Error';
    // Clients only ever see documented codes (docs/errors.md); fastify's own
    // FST_ERR_* codes are mapped onto them.
    const fallback = statusCode >= 500 ? 'ST_ERR_INTERNAL' : (BY_STATUS[statusCode] ?? 'ST_ERR_BAD_REQUEST');
    const code = isErrorCode(err.code) ? err.code : fallback;
    if (statusCode === 413) {
      return reply.code(413).send({ statusCode, code, error: STATUS_CODES[413]!, message: `the body is larger than the limit of ${bodyLimit} bytes (api.body_limit)` });
    }
    if (statusCode === 415) {
      return reply.code(415).send({ statusCode, code, error: STATUS_CODES[415]!, message: `content-type ${JSON.stringify(request.headers['content-type'] ?? '(none)')} is not accepted: send the body as application/json` });
    }
    if (statusCode >= 500) {
      // The details are for the log, not for clients.
      request.log.error({ err }, 'request failed');
      return reply.code(statusCode).send({ statusCode, code, error, message: error });
    }
    request.log.info({ err: { code: err.code, message: err.message } }, 'request rejected');
    // Validation errors list every problem, each with its field path.
    const problems = (err as { problems?: unknown }).problems;
    if (Array.isArray(problems)) return reply.code(statusCode).send({ statusCode, code, error, message: err.message, problems });
    return reply.code(statusCode).send({ statusCode, code, error, message: err.message });
  });

  fastify.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ statusCode: 404, code: 'ST_ERR_NOT_FOUND', error: 'Not Found', message: `no route ${request.method} ${request.url}` });
  });

  await fastify.register(healthRoutes);
  await fastify.register(metricsRoutes);
  await fastify.register(statusRoutes);
  await fastify.register(policyRoutes);
  await fastify.register(sessionRoutes);
  await fastify.register(planRoutes);
  await fastify.register(reliabilityRoutes);
  await fastify.register(detectionRoutes);
  await fastify.register(portRoutes);
  await fastify.register(profileRoutes);
  await fastify.register(mapRoutes);
  await fastify.register(configRoutes);
  await fastify.register(eventRoutes);
  await fastify.register(faultRoutes);
  await fastify.register(experimentRoutes);
  await fastify.register(seriesRoutes);
  await fastify.register(alertRoutes);
  await fastify.register(reportRoutes);
  await fastify.register(dashboardRoutes);
  openapiRoutes(fastify, routes);
}
