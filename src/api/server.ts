/** Build and start the admin HTTP server around the app plugin. */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { stError, sysReason } from '../errors.js';
import app, { type AppOptions } from './app.js';
import type { ApiTls } from './credentials.js';

export type ServerOptions = AppOptions & {
  logger: Logger;
  /** serve HTTPS (api.tls); null or absent: plain HTTP */
  tls?: ApiTls | null;
};

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { logger: _logger, tls, ...appOptions } = options;
  const common = {
    loggerInstance: options.logger.child({ component: 'api' }) as FastifyBaseLogger,
    // Scrapes every few seconds would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
  };
  const fastify = (tls
    ? Fastify({
        ...common,
        https: {
          cert: tls.cert,
          key: tls.key,
          ...(tls.ca ? { ca: tls.ca } : {}),
          // requestCert with rejectUnauthorized: a client without a certificate the CA signed never reaches a route.
          requestCert: tls.requestCert,
          rejectUnauthorized: tls.requestCert,
        },
      })
    : Fastify(common)) as unknown as FastifyInstance;
  await fastify.register(app, appOptions);
  return fastify;
}

/** Listen, turning bind failures into ST_ERR_API_LISTEN; returns the base URL. */
export async function listen(fastify: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    await fastify.listen({ host, port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw stError('ST_ERR_API_LISTEN', `cannot listen on ${host}:${port}: ${sysReason(e)}`, {
      field: 'api',
      errnum: typeof e.errno === 'number' ? -e.errno : 0,
      cause: err,
    });
  }
  const addr = fastify.server.address();
  const actualPort = addr && typeof addr === 'object' ? addr.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  const scheme = 'setSecureContext' in fastify.server ? 'https' : 'http';
  return `${scheme}://${shown}:${actualPort}`;
}
