/** Prometheus text exposition; values are read from the data plane at scrape time. */
import type { FastifyInstance } from 'fastify';

export default async function metricsRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get('/metrics', { schema: { summary: 'Prometheus text exposition, read from the data plane at scrape time', produces: ['text/plain'], response: { 200: { type: 'string', description: 'Prometheus text format 0.0.4.' } } } }, async (_request, reply) => {
    const registry = fastify.metricsRegistry;
    const body = await registry.metrics();
    reply.header('content-type', registry.contentType);
    return body;
  });
}
