/**
 * GET /v1/events: server-sent events (text/event-stream) from the event feed
 * (src/services/events.ts): data-plane state changes, restarts, exits,
 * failures, offload programming and fallbacks, policy generations. Kept
 * events after Last-Event-ID (or ?after=N) are replayed first; ?follow=false
 * sends the kept events and ends. A comment line every 15 s keeps proxies
 * from closing an idle stream.
 */
import type { FastifyInstance } from 'fastify';
import { stError } from '../../../../errors.js';
import type { FeedEvent } from '../../../../services/events.js';
import { ErrorResponse } from '../../../schemas.js';
import { EventsQuery, FeedEventSchema } from '../../../schemas-v1.js';

const frame = (e: FeedEvent): string => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

export default async function eventRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get(
    '/v1/events',
    {
      schema: {
        summary: 'The event feed, as server-sent events (text/event-stream)',
        querystring: EventsQuery,
        produces: ['text/event-stream'],
        response: { 200: FeedEventSchema, 400: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const feed = fastify.services.events;
      if (!feed) throw stError('ST_ERR_NOT_READY', 'this server has no event feed');
      const q = request.query as { after?: number; follow?: boolean };
      const header = request.headers['last-event-id'];
      const fromHeader = typeof header === 'string' && /^[0-9]+$/.test(header) ? Number(header) : undefined;
      const after = q.after ?? fromHeader ?? Number.MAX_SAFE_INTEGER;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      // Replayed only when asked (after / Last-Event-ID); otherwise new events only.
      let last = 0;
      for (const e of after === Number.MAX_SAFE_INTEGER ? [] : feed.since(after)) {
        res.write(frame(e));
        last = e.id;
      }
      if (q.follow === false) {
        res.end();
        return;
      }
      res.write(': following\n\n');
      const off = feed.subscribe((e) => {
        if (e.id > last) res.write(frame(e));
      });
      const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      beat.unref();
      const close = () => {
        clearInterval(beat);
        off();
      };
      request.raw.on('close', close);
      res.on('close', close);
    },
  );
}
