/**
 * The OpenAPI document of the admin API, derived from the routes themselves:
 * an onRoute hook records every route's method, URL and schemas (TypeBox,
 * the one schema source) as it is added, and GET /v1/openapi.json renders
 * them as OpenAPI 3.1 (whose schema dialect is JSON Schema 2020-12, which
 * TypeBox emits). GET /v1/docs is a small HTML page of the same document,
 * served from here (no CDN, no script). docs/api.md's route table is
 * generated from it (src/tools/gen-api-docs.ts).
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CATALOGUE } from '../errors.js';
import { VERSION } from '../version.js';

declare module 'fastify' {
  interface FastifySchema {
    /** one line for the OpenAPI document and docs/api.md */
    summary?: string;
    /** content types of the success answer (default application/json) */
    produces?: string[];
  }
}

export interface RecordedRoute {
  method: string;
  url: string;
  schema: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** Plain JSON: drops TypeBox's symbol keys and anything undefined. */
const plain = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;

const openapiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function parameters(schema: Json | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const s = plain(schema);
  const props = (s['properties'] ?? {}) as Record<string, Json>;
  const required = new Set((s['required'] as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, p]) => ({
    name,
    in: where,
    required: where === 'path' ? true : required.has(name),
    ...(typeof p['description'] === 'string' ? { description: p['description'] } : {}),
    schema: p,
  }));
}

export function openapiDocument(routes: readonly RecordedRoute[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = openapiPath(r.url);
    const s = r.schema;
    const op: Json = {
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/\/([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '')}`,
      summary: typeof s['summary'] === 'string' ? s['summary'] : `${r.method} ${r.url}`,
    };
    const params = [...parameters(s['params'] as Json | undefined, 'path'), ...parameters(s['querystring'] as Json | undefined, 'query')];
    if (params.length > 0) op['parameters'] = params;
    if (s['body']) op['requestBody'] = { required: true, content: { 'application/json': { schema: plain(s['body']) } } };
    const produces = (s['produces'] as string[] | undefined) ?? ['application/json'];
    const responses: Record<string, Json> = {};
    for (const [code, schema] of Object.entries((s['response'] ?? {}) as Record<string, unknown>)) {
      const ok = Number(code) < 400;
      const type = ok ? produces[0]! : 'application/json';
      const described = CATALOGUE.filter((e) => String(e.status) === code).map((e) => e.code);
      responses[code] = {
        description: ok ? 'OK' : `Error (one shape: statusCode, code, error, message${code === '400' ? ', problems' : ''})${described.length ? `; codes: ${described.join(', ')}` : ''}`,
        content: { [type]: { schema: plain(schema) } },
      };
    }
    if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK' };
    op['responses'] = responses;
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'shadowtap admin API',
      version: VERSION,
      description: 'Traffic shadowing and failure rehearsal: the admin API of `shadowtap run` (docs/api.md). Errors share one shape; codes are in docs/errors.md.',
    },
    paths,
  };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The document as one HTML page: a table of routes, each with its schemas. */
export function docsPage(doc: Json): string {
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc['paths'] as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const codes = Object.keys(op['responses'] as Json).join(' ');
      const detail = esc(JSON.stringify({ parameters: op['parameters'], requestBody: op['requestBody'], responses: op['responses'] }, null, 2));
      rows.push(
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${esc(path)}</code></td><td>${esc(String(op['summary']))}</td><td>${codes}</td></tr>` +
          `<tr><td colspan="4"><details><summary>schemas</summary><pre>${detail}</pre></details></td></tr>`,
      );
    }
  }
  const info = doc['info'] as Json;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(String(info['title']))}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top}pre{font-size:12px;max-height:30em;overflow:auto}</style>
</head><body><h1>${esc(String(info['title']))} ${esc(String(info['version']))}</h1>
<p>${esc(String(info['description']))} The machine-readable document: <a href="/v1/openapi.json">/v1/openapi.json</a>.</p>
<table><tr><th>Method</th><th>Path</th><th>What it does</th><th>Answers</th></tr>
${rows.join('\n')}
</table></body></html>
`;
}

/** Register first: it records every route added after it, in this scope and below. */
export function recordRoutes(fastify: FastifyInstance): RecordedRoute[] {
  const routes: RecordedRoute[] = [];
  fastify.addHook('onRoute', (r: RouteOptions) => {
    for (const m of [r.method].flat()) {
      if (m === 'HEAD') continue;
      routes.push({ method: m, url: r.url, schema: (r.schema ?? {}) as Record<string, unknown> });
    }
  });
  return routes;
}

const OpenApiDocumentSchema = Type.Object(
  { openapi: Type.String(), info: Type.Object({}, { additionalProperties: true }), paths: Type.Record(Type.String(), Type.Unknown()) },
  { additionalProperties: false, description: 'OpenAPI 3.1.' },
);

export function openapiRoutes(fastify: FastifyInstance, routes: readonly RecordedRoute[]): void {
  let cached: Json | null = null;
  const doc = () => (cached ??= openapiDocument(routes));
  fastify.get('/v1/openapi.json', { schema: { summary: 'This OpenAPI document', response: { 200: OpenApiDocumentSchema } } }, async () => doc());
  fastify.get('/v1/docs', { schema: { summary: 'The OpenAPI document as an HTML page', produces: ['text/html'], response: { 200: Type.String({ description: 'HTML, no scripts, nothing fetched from elsewhere.' }) } } }, async (_req, reply) => {
    reply.type('text/html; charset=utf-8');
    return docsPage(doc());
  });
}
