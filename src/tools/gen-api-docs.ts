/**
 * The route table of docs/api.md, generated from the OpenAPI document the
 * API serves (src/api/openapi.ts): every method and path with its summary,
 * its request body and parameters, and every status code it answers.
 * `node dist/src/tools/gen-api-docs.js` rewrites the part between the
 * markers; test/api/openapi.test.ts fails when it is out of step.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import app from '../api/app.js';
import type { DataplaneSource } from '../api/plugins/app/dataplane.js';
import { API_COMMANDS } from '../api/cli-commands.js';

export const API_DOCS_PATH = fileURLToPath(new URL('../../../docs/api.md', import.meta.url));
export const BEGIN = '<!-- generated from /v1/openapi.json by src/tools/gen-api-docs.ts: do not edit by hand -->';
export const END = '<!-- end of generated routes -->';

type Json = Record<string, unknown>;

/** The OpenAPI document as the app builds it (no data plane is touched: routes only register). */
export async function apiDocument(): Promise<Json> {
  const fastify = Fastify({ logger: false });
  await fastify.register(app, { dataplane: {} as DataplaneSource, registry: new Registry() });
  const r = await fastify.inject({ method: 'GET', url: '/v1/openapi.json' });
  await fastify.close();
  return JSON.parse(r.body) as Json;
}

function schemaName(s: Json | undefined): string {
  if (!s) return '';
  const props = s['properties'] as Json | undefined;
  return props ? `{${Object.keys(props).join(', ')}}` : String(s['type'] ?? 'any');
}

export function renderRoutes(doc: Json): string {
  const lines = ['| Route | What it does | Input | Answers | CLI |', '|---|---|---|---|---|'];
  for (const [path, ops] of Object.entries(doc['paths'] as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = ((op['parameters'] as Json[] | undefined) ?? []).map((p) => `${p['in'] === 'path' ? '' : '?'}${String(p['name'])}`);
      const body = (op['requestBody'] as { content: Record<string, { schema: Json }> } | undefined)?.content['application/json']?.schema;
      const input = [...params, ...(body ? [`body ${schemaName(body)}`] : [])].join(', ');
      const codes = Object.keys(op['responses'] as Json).join(', ');
      const cli = API_COMMANDS[`${method.toUpperCase()} ${path}`];
      lines.push(`| \`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}\` | ${String(op['summary']).replace(/\|/g, '\\|')} | ${input.replace(/\|/g, '\\|')} | ${codes} | ${cli ? `\`${cli.replace(/\|/g, '\\|')}\`` : ''} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** docs/api.md with the generated part replaced. */
export function withRoutes(text: string, table: string): string {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/api.md lacks the markers ${BEGIN} ... ${END}`);
  return `${text.slice(0, a + BEGIN.length)}\n${table}${text.slice(b)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = await apiDocument();
  writeFileSync(API_DOCS_PATH, withRoutes(readFileSync(API_DOCS_PATH, 'utf8'), renderRoutes(doc)));
  process.stdout.write(`wrote ${API_DOCS_PATH}\n`);
}
