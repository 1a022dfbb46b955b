/**
 * What stands between the network and the routes, for every route of the
 * instance (not encapsulated):
 *
 * - bodies: application/json only (415 otherwise), at most api.body_limit
 *   bytes (413), nested at most api.json_depth levels (400, checked on the
 *   text before parsing, so a deep body cannot overflow a recursive parser
 *   or checker), and never a "__proto__" or constructor.prototype key (400
 *   naming it and where it is);
 * - who: a bearer token on every /v1 route when tokens are configured (401);
 *   a read token may only read: GET, HEAD and routes marked
 *   `config: { access: 'read' }` (403 otherwise). /healthz, /readyz and
 *   /metrics are open to loopback clients, or to anyone with
 *   api.open_probes: anywhere;
 * - how often: a token bucket per token, or per address without one (429
 *   with Retry-After);
 * - versions: an ETag on every GET of /v1; a write with If-Match is refused
 *   (412) when the policy is no longer at that version, one marked
 *   `config: { ifMatch: 'required' }` without If-Match too (428);
 * - the audit log: every write, accepted or refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { stError } from '../../../errors.js';
import { AuditLog } from '../../audit.js';
import { findToken, isLoopbackAddress, type ApiToken } from '../../credentials.js';
import { expectedGenerations, policyEtag } from '../../etag.js';
import { RateLimiter, type RateLimit } from '../../rate-limit.js';

export interface SecurityOptions {
  /** empty: no authentication (only allowed on a loopback address: checkBind) */
  tokens: readonly ApiToken[];
  /** bytes; default 1 MiB */
  bodyLimit?: number;
  /** default 64 */
  jsonDepth?: number;
  /** default 20/s, burst 60 */
  rateLimit?: RateLimit;
  /** default loopback */
  openProbes?: 'loopback' | 'anywhere';
  /** JSON-lines audit file; null: the log only */
  auditFile?: string | null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'read': a read token may call this route although it is not a GET (a dry run) */
    access?: 'read' | 'admin';
    /** true: served without a token (static files that hold no data: the dashboard) */
    public?: boolean;
    /** 'required': a write without If-Match is refused with 428; 'resource': the route's resource has its own versions and compares If-Match itself */
    ifMatch?: 'required' | 'optional' | 'resource';
  }
  interface FastifyRequest {
    /** the token's name; "local" without authentication; "" before the check */
    actor: string;
    actorRole: string;
    /** the policy generation when a write began */
    generationBefore: number | null;
    errorCode: string | undefined;
    /** set by a route whose resource has its own versions: whether the write changed it (for the audit log) */
    resourceChanged: boolean | undefined;
  }
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Deepest nesting of objects and arrays in JSON text, stopping once past `max`. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** The path of the first key that could reach a prototype, or null (iterative: depth is already bounded). */
export function forbiddenKey(value: unknown): string | null {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: '' }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((e, i) => stack.push({ v: e, path: `${path}[${i}]` }));
      continue;
    }
    for (const key of Object.keys(v)) {
      const at = path ? `${path}.${key}` : key;
      const child = (v as Record<string, unknown>)[key];
      if (key === '__proto__') return at;
      if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) return `${at}.prototype`;
      stack.push({ v: child, path: at });
    }
  }
  return null;
}

export function parseJsonBody(text: string, maxDepth: number): unknown {
  if (text.trim() === '') throw stError('ST_ERR_BAD_REQUEST', 'the body is empty: expected a JSON document', { field: 'body' });
  if (jsonDepthExceeds(text, maxDepth)) {
    throw stError('ST_ERR_BAD_REQUEST', `the body nests objects and arrays more than ${maxDepth} levels deep (api.json_depth)`, { field: 'body' });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw stError('ST_ERR_BAD_REQUEST', `the body is not valid JSON: ${(err as Error).message}`, { field: 'body' });
  }
  const bad = forbiddenKey(value);
  if (bad !== null) {
    throw stError('ST_ERR_BAD_REQUEST', `forbidden key "${bad.endsWith('.prototype') ? 'constructor.prototype' : '__proto__'}" at ${bad}: keys that reach an object's prototype are refused`, { field: bad });
  }
  return value;
}

async function securityPlugin(fastify: FastifyInstance, opts: SecurityOptions): Promise<void> {
  const tokens = opts.tokens;
  const auth = tokens.length > 0;
  const jsonDepth = opts.jsonDepth ?? 64;
  const limiter = new RateLimiter(opts.rateLimit ?? { perSecond: 20, burst: 60 });
  const openProbes = opts.openProbes ?? 'loopback';
  const audit = new AuditLog(opts.auditFile ?? null, fastify.log);
  const generation = (): number | null => {
    try {
      return fastify.services.policy.policyView().generation;
    } catch {
      return null;
    }
  };

  fastify.decorateRequest('actor', '');
  fastify.decorateRequest('actorRole', '');
  fastify.decorateRequest('generationBefore', null);
  fastify.decorateRequest('errorCode', undefined);
  fastify.decorateRequest('resourceChanged', undefined);

  // Only JSON: fastify's text/plain parser would hand a string to routes
  // that expect an object (400 for the wrong reason instead of 415).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: opts.bodyLimit ?? 1048576 }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string, jsonDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const bearer = (request: FastifyRequest): { given: boolean; token: ApiToken | null } => {
    const h = request.headers.authorization;
    if (h === undefined) return { given: false, token: null };
    const m = /^Bearer +(\S+) *$/i.exec(h);
    return { given: true, token: m ? findToken(tokens, m[1]!) : null };
  };

  const unauthorized = (reply: FastifyReply, message: string) => {
    reply.header('www-authenticate', 'Bearer realm="shadowtap"');
    throw stError('ST_ERR_UNAUTHORIZED', message, { field: 'Authorization' });
  };

  fastify.addHook('onRequest', async (request, reply) => {
    const path = pathOf(request.url);
    const loopback = isLoopbackAddress(request.socket.remoteAddress);
    const { given, token } = auth ? bearer(request) : { given: false, token: null };
    request.actor = auth ? (token?.name ?? '') : 'local';
    request.actorRole = auth ? (token?.role ?? '') : 'admin';
    if (PROBES.has(path)) {
      if (!auth || token || openProbes === 'anywhere' || loopback) return;
      unauthorized(reply, `${path} answers without a token only to loopback clients (api.open_probes: loopback); send a read token`);
    }
    const retryAfter = limiter.take(token ? `token:${token.name}` : `addr:${request.socket.remoteAddress ?? '?'}`);
    if (retryAfter > 0) {
      reply.header('retry-after', String(retryAfter));
      throw stError('ST_ERR_RATE_LIMITED', `too many requests from ${token ? `token ${token.name}` : `address ${request.socket.remoteAddress ?? '?'}`}; retry in ${retryAfter} s (api.rate_limit)`);
    }
    if (!auth || request.routeOptions.config?.public === true) return;
    if (!token) unauthorized(reply, given ? 'the bearer token is not one of the configured tokens' : 'this route needs a bearer token: Authorization: Bearer TOKEN');
    const needs = READ_METHODS.has(request.method) || request.routeOptions.config?.access === 'read' ? 'read' : 'admin';
    if (needs === 'admin' && token!.role !== 'admin') {
      throw stError('ST_ERR_FORBIDDEN', `token ${token!.name} has the read role; ${request.method} ${request.routeOptions.url ?? path} changes state and needs an admin token`, { field: 'Authorization' });
    }
  });

  const isWrite = (request: FastifyRequest) => !READ_METHODS.has(request.method) && request.routeOptions.config?.access !== 'read' && pathOf(request.url).startsWith('/v1/');

  fastify.addHook('preHandler', async (request) => {
    if (!isWrite(request)) return;
    request.generationBefore = generation();
    if (request.routeOptions.config?.ifMatch === 'resource') return;
    // The service compares again, atomically with the change; this answers early for every write.
    const expected = expectedGenerations(request, request.routeOptions.config?.ifMatch === 'required');
    const current = request.generationBefore;
    if (expected !== undefined && current !== null && !expected.includes(current)) {
      throw stError(
        'ST_ERR_PRECONDITION_FAILED',
        `If-Match ${request.headers['if-match']} does not name the current version ${policyEtag(current)}: the policy changed since you read it; GET it again, redo the change and send the new ETag`,
        { field: 'If-Match' },
      );
    }
  });

  fastify.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      try {
        request.errorCode = (JSON.parse(payload) as { code?: string }).code;
      } catch {
        // not JSON
      }
    }
    if (request.method !== 'GET' || reply.statusCode !== 200 || !pathOf(request.url).startsWith('/v1/') || reply.hasHeader('etag')) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const tag = `W/"${createHash('sha256').update(payload).digest('base64url').slice(0, 22)}"`;
    reply.header('etag', tag);
    const none = request.headers['if-none-match'];
    if (none !== undefined && none.split(',').some((t) => t.trim() === tag || t.trim() === '*')) {
      reply.code(304);
      return '';
    }
    return payload;
  });

  fastify.addHook('onResponse', async (request, reply) => {
    if (!isWrite(request)) return;
    const status = reply.statusCode;
    // A flood of refused requests would flood the log; the limiter is their record.
    if (status === 429) return;
    const after = generation();
    audit.record({
      at: new Date().toISOString(),
      actor: request.actor || '(no valid token)',
      role: request.actorRole,
      address: request.socket.remoteAddress ?? '',
      method: request.method,
      url: request.url,
      route: request.routeOptions.url ?? '',
      status,
      outcome: status >= 400 ? 'refused' : after !== request.generationBefore || request.resourceChanged === true ? 'changed' : 'unchanged',
      ...(request.errorCode ? { code: request.errorCode } : {}),
      generationBefore: request.generationBefore ?? after,
      generationAfter: after,
    });
  });
}

(securityPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
(securityPlugin as unknown as Record<symbol, string>)[Symbol.for('fastify.display-name')] = 'shadowtap-security';

export default securityPlugin;
