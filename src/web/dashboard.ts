/**
 * Serves the dashboard (src/web/static/, with uPlot from its npm package):
 * static files only, read once at start, nothing fetched from elsewhere
 * (Content-Security-Policy: 'self'). The files hold no data, so they are
 * served without a token (`config: { public: true }`); the page reads the
 * API with the bearer token the operator gives it, like any client.
 *
 * One answer is not a file: `session.json` says which token the request
 * carried and its role (the security hook has already identified it), so the
 * page can disable the controls a read token may not use instead of letting
 * the operator find out from a 403. It holds nothing but what the caller sent.
 */
import type { FastifyInstance } from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';

export const DASHBOARD_PATH = '/dashboard/';

const staticDir = (): string => fileURLToPath(new URL('../../../src/web/static/', import.meta.url));

interface Asset {
  body: Buffer;
  type: string;
}

/** name under /dashboard/ → the file's content and type. */
export function dashboardAssets(): Map<string, Asset> {
  const dir = staticDir();
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
  const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
  const own = readdirSync(dir)
    .filter((n) => /^[a-z0-9-]+\.(js|css)$/.test(n))
    .map((n): [string, string, string] => [n, join(dir, n), types[n.slice(n.lastIndexOf('.') + 1)]!]);
  const files: [string, string, string][] = [
    ['', join(dir, 'index.html'), 'text/html; charset=utf-8'],
    ...own,
    ['vendor/uPlot.iife.min.js', join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['vendor/uPlot.min.css', join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([name, path, type]) => [name, { body: readFileSync(path), type }]));
}

// Not imported from api/: the API registers this file, and areas never import each other.
const ErrorResponse = Type.Object({ statusCode: Type.Integer(), code: Type.String(), error: Type.String(), message: Type.String() }, { additionalProperties: false });

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export default async function dashboardRoutes(fastify: FastifyInstance): Promise<void> {
  const assets = dashboardAssets();
  fastify.get(
    '/dashboard/*',
    {
      schema: {
        summary: 'The dashboard page and its static files (no token needed: they hold no data; the page calls the API with the operator\'s token), and session.json: the name and role of the token sent',
        produces: ['text/html'],
        response: { 200: Type.String({ description: 'HTML, script or stylesheet.' }), 404: ErrorResponse },
      },
      config: { public: true },
    },
    async (request, reply) => {
      const name = (request.params as { '*': string })['*'];
      if (name === 'session.json') {
        // request.actorRole is '' when no valid token came (the route is public); 'admin' when the API has no tokens.
        const body = { actor: request.actor || null, role: request.actorRole || null };
        reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').type('application/json; charset=utf-8');
        return Buffer.from(JSON.stringify(body));
      }
      const a = assets.get(name);
      if (!a) return reply.code(404).send({ statusCode: 404, code: 'ST_ERR_NOT_FOUND', error: 'Not Found', message: `no dashboard file ${JSON.stringify(name)}` });
      reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').type(a.type);
      return a.body;
    },
  );
}
