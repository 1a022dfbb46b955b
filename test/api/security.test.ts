/**
 * The admin API's guard, route by route: every route the app registers
 * (collected with onRoute, so routes added later are covered without
 * editing this file) is held to 401, 403, 412, 413, 415, 428, 429 and the
 * 400s for hostile bodies; plus token roles, probes, ETags and the audit
 * log. Route tests with app.inject and the fake data plane (the real
 * checks and compiler run; only the install is faked).
 */
import test from 'ava';
import Fastify, { type FastifyInstance, type HTTPMethods } from 'fastify';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import app from '../../src/api/app.js';
import { parseTokens, type ApiToken } from '../../src/api/credentials.js';
import type { SecurityOptions } from '../../src/api/plugins/app/security.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { AlertService } from '../../src/services/alerts.js';
import { SeriesService } from '../../src/services/series.js';
import { fakeDataplane, type FakeDataplane } from '../helpers/fake-dataplane.js';
import pino from 'pino';
import { FaultService, FAULT_LINE } from '../../src/services/faults.js';

const ADMIN = 'admin-secret-0123456789';
const READER = 'reader-secret-0123456789';
const TOKENS: ApiToken[] = parseTokens(`ops:admin:${ADMIN}\nmonitor:read:${READER}\n`, 'test');
const bearer = (s: string) => ({ authorization: `Bearer ${s}` });

interface Route {
  method: string;
  url: string;
  ifMatch: string | undefined;
  access: string | undefined;
}

async function build(dp: FakeDataplane, security: Partial<SecurityOptions> = {}): Promise<{ f: FastifyInstance; routes: Route[] }> {
  const f = Fastify({ logger: false });
  const routes: Route[] = [];
  f.addHook('onRoute', (r) => {
    const methods = (Array.isArray(r.method) ? r.method : [r.method]) as HTTPMethods[];
    const cfg = (r.config ?? {}) as { ifMatch?: string; access?: string };
    for (const m of methods) if (m !== 'HEAD') routes.push({ method: m, url: r.url, ifMatch: cfg.ifMatch, access: cfg.access });
  });
  // Faults and experiments are served by their own service (its versions are its own), here with no data plane running.
  const faults = new FaultService({
    dataplane: { state: 'stopped' },
    context: () => ({ ports: [], sessions: new Map(), maps: [], line: FAULT_LINE }),
    shadowPorts: () => [],
    logger: pino({ level: 'silent' }),
    stateDir: null,
  });
  f.addHook('onClose', () => faults.close());
  const series = new SeriesService();
  await f.register(app, {
    dataplane: dp,
    // Services with their own versions (alert rules) answer If-Match themselves: they are in the app.
    services: { policy: dp, offload: dp, faults, series, alerts: new AlertService({ series, stateDir: null }) },
    registry: createMetricsRegistry({ source: dp, defaultMetrics: false }),
    security: { tokens: TOKENS, rateLimit: { perSecond: 0, burst: 1 }, ...security },
  });
  await f.ready();
  return { f, routes };
}

/** A concrete URL for a route pattern (":id" and the like become 1). */
const concrete = (url: string) => url.replace(/:[A-Za-z_]+/g, '1').replace(/\*$/, '');
const isV1 = (r: Route) => r.url.startsWith('/v1/');
const isWrite = (r: Route) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && r.access !== 'read';
const bodyOf = (r: Route) => (['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) ? { sessions: [{ id: 3 }] } : undefined);

test('the routes under test include every /v1 route, reads and writes', async (t) => {
  const { routes } = await build(fakeDataplane());
  const v1 = routes.filter(isV1).map((r) => `${r.method} ${r.url}`);
  for (const expected of ['GET /v1/status', 'GET /v1/policy', 'PUT /v1/policy', 'POST /v1/policy/validate', 'GET /v1/sessions', 'GET /v1/plan']) t.true(v1.includes(expected), expected);
});

test('401 ST_ERR_UNAUTHORIZED on every /v1 route without a token or with a wrong one; nothing changes', async (t) => {
  const dp = fakeDataplane();
  const { f, routes } = await build(dp);
  for (const r of routes.filter(isV1)) {
    for (const headers of [{}, bearer('not-a-configured-token-at-all'), { authorization: `Basic ${Buffer.from(`ops:${ADMIN}`).toString('base64')}` }]) {
      const body = bodyOf(r);
      const res = await f.inject({ method: r.method as HTTPMethods, url: concrete(r.url), headers: { ...headers, 'if-match': '*' }, ...(body ? { payload: body } : {}) });
      t.is(res.statusCode, 401, `${r.method} ${r.url} ${JSON.stringify(headers)}: ${res.body}`);
      t.is(res.json<{ code: string }>().code, 'ST_ERR_UNAUTHORIZED');
      t.is(res.headers['www-authenticate'], 'Bearer realm="shadowtap"');
    }
  }
  t.is(dp.installed.length, 0);
  t.is(dp.policyView().generation, 1);
});

test('403 ST_ERR_FORBIDDEN for a read token on every write; reads and dry runs are allowed', async (t) => {
  const dp = fakeDataplane();
  const { f, routes } = await build(dp);
  for (const r of routes.filter(isV1)) {
    const body = bodyOf(r);
    const res = await f.inject({ method: r.method as HTTPMethods, url: concrete(r.url), headers: { ...bearer(READER), 'if-match': '*' }, ...(body ? { payload: body } : {}) });
    if (isWrite(r)) {
      t.is(res.statusCode, 403, `${r.method} ${r.url}: ${res.body}`);
      t.is(res.json<{ code: string }>().code, 'ST_ERR_FORBIDDEN');
      t.regex(res.json<{ message: string }>().message, /token monitor has the read role/);
    } else {
      t.not(res.statusCode, 401, `${r.method} ${r.url}`);
      t.not(res.statusCode, 403, `${r.method} ${r.url}`);
    }
  }
  t.is(dp.installed.length, 0, 'no write got through');
  const validate = await f.inject({ method: 'POST', url: '/v1/policy/validate', headers: bearer(READER), payload: { sessions: [{ id: 3 }] } });
  t.is(validate.statusCode, 200, 'a dry run is a read');
  const put = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { ...bearer(ADMIN), 'if-match': '*' }, payload: { sessions: [{ id: 3 }] } });
  t.is(put.statusCode, 200, 'the admin token writes');
});

test('probes: open to loopback clients, a read token from elsewhere unless open_probes is anywhere', async (t) => {
  const { f } = await build(fakeDataplane());
  for (const url of ['/healthz', '/readyz', '/metrics']) {
    t.not((await f.inject({ method: 'GET', url, remoteAddress: '127.0.0.1' })).statusCode, 401, `${url} from loopback`);
    t.not((await f.inject({ method: 'GET', url, remoteAddress: '::1' })).statusCode, 401, `${url} from ::1`);
    t.is((await f.inject({ method: 'GET', url, remoteAddress: '192.0.2.7' })).statusCode, 401, `${url} from elsewhere`);
    t.not((await f.inject({ method: 'GET', url, remoteAddress: '192.0.2.7', headers: bearer(READER) })).statusCode, 401);
  }
  const open = await build(fakeDataplane(), { openProbes: 'anywhere' });
  t.is((await open.f.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.7' })).statusCode, 200);
  t.is((await open.f.inject({ method: 'GET', url: '/v1/status', remoteAddress: '192.0.2.7' })).statusCode, 401, 'open probes do not open /v1');
});

test('429 ST_ERR_RATE_LIMITED on every /v1 route past the burst, per client, with Retry-After', async (t) => {
  for (const r of (await build(fakeDataplane())).routes.filter(isV1)) {
    const { f } = await build(fakeDataplane(), { rateLimit: { perSecond: 0.001, burst: 2 } });
    const send = (secret: string) => {
      const body = bodyOf(r);
      return f.inject({ method: r.method as HTTPMethods, url: concrete(r.url), headers: { ...bearer(secret), 'if-match': '"g999"' }, ...(body ? { payload: body } : {}) });
    };
    t.not((await send(ADMIN)).statusCode, 429);
    t.not((await send(ADMIN)).statusCode, 429);
    const third = await send(ADMIN);
    t.is(third.statusCode, 429, `${r.method} ${r.url}`);
    t.is(third.json<{ code: string }>().code, 'ST_ERR_RATE_LIMITED');
    t.true(Number(third.headers['retry-after']) >= 1);
    t.not((await send(READER)).statusCode, 429, 'another token has its own bucket');
  }
  // Without a token, the bucket is the address's: a flood of bad tokens is limited too.
  const { f } = await build(fakeDataplane(), { rateLimit: { perSecond: 0.001, burst: 1 } });
  t.is((await f.inject({ method: 'GET', url: '/v1/status', remoteAddress: '192.0.2.9' })).statusCode, 401);
  t.is((await f.inject({ method: 'GET', url: '/v1/status', remoteAddress: '192.0.2.9', headers: bearer('guess-number-two-xxxxxxxx') })).statusCode, 429);
});

test('415, 413 and the 400s for hostile bodies on every write route; nothing changes', async (t) => {
  const dp = fakeDataplane();
  const { f, routes } = await build(dp, { bodyLimit: 4096 });
  const writes = routes.filter((r) => isV1(r) && ['POST', 'PUT', 'PATCH'].includes(r.method));
  t.true(writes.length >= 2);
  // Nested inside a session, where the checks recurse: without the depth limit, a 500 (stack overflow).
  const deep = `{"sessions":[{"id":1,"x":${'['.repeat(2000)}${']'.repeat(2000)}}]}`;
  t.true(deep.length < 4097, 'about 4 KB, under the body limit: the depth is what is refused');
  for (const r of writes) {
    const send = (headers: Record<string, string>, payload: string) =>
      f.inject({ method: r.method as HTTPMethods, url: concrete(r.url), headers: { ...bearer(ADMIN), 'if-match': '*', ...headers }, payload });
    const json = { 'content-type': 'application/json' };
    const cases: [Record<string, string>, string, number, string, RegExp][] = [
      [{ 'content-type': 'text/plain' }, '{"sessions": []}', 415, 'ST_ERR_UNSUPPORTED_MEDIA_TYPE', /content-type "text\/plain" is not accepted/],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 'a=1', 415, 'ST_ERR_UNSUPPORTED_MEDIA_TYPE', /application\/json/],
      [json, `{"translate": {"ipv4": [], "pad": "${'x'.repeat(5000)}"}}`, 413, 'ST_ERR_PAYLOAD_TOO_LARGE', /larger than the limit of 4096 bytes/],
      [json, deep, 400, 'ST_ERR_BAD_REQUEST', /more than 64 levels deep/],
      [json, `{"sessions": [{"id": 1, "__proto__": {"admin": true}}]}`, 400, 'ST_ERR_BAD_REQUEST', /forbidden key "__proto__" at sessions\[0\]\.__proto__/],
      [json, `{"constructor": {"prototype": {"x": 1}}}`, 400, 'ST_ERR_BAD_REQUEST', /forbidden key "constructor.prototype" at constructor.prototype/],
      [json, '{"sessions": [', 400, 'ST_ERR_BAD_REQUEST', /not valid JSON/],
    ];
    for (const [headers, payload, status, code, message] of cases) {
      const res = await send(headers, payload);
      t.is(res.statusCode, status, `${r.method} ${r.url} ${payload.slice(0, 40)}: ${res.body.slice(0, 200)}`);
      t.is(res.json<{ code: string }>().code, code);
      t.regex(res.json<{ message: string }>().message, message);
    }
  }
  t.is(dp.installed.length, 0);
  t.is(dp.policyView().generation, 1);
});

test('PUT /v1/policy: a missing body, null or {} is 400, never a reset', async (t) => {
  const dp = fakeDataplane();
  const { f } = await build(dp);
  const before = dp.policyView().policy;
  const h = { ...bearer(ADMIN), 'if-match': '*' };
  for (const [headers, payload] of [
    [h, undefined],
    [{ ...h, 'content-type': 'application/json' }, ''],
    [{ ...h, 'content-type': 'application/json' }, 'null'],
    [{ ...h, 'content-type': 'application/json' }, '{}'],
  ] as const) {
    const res = await f.inject({ method: 'PUT', url: '/v1/policy', headers, ...(payload !== undefined ? { payload } : {}) });
    t.is(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
    t.regex(res.json<{ message: string }>().message, /empty|no policy was sent/);
  }
  t.deepEqual(dp.policyView().policy, before, 'the maps are still there');
  t.is(dp.policyView().generation, 1);
});

test('ETags: 428 without If-Match, 412 on a stale one, the new ETag on success; weak ETags and 304 on reads', async (t) => {
  const dp = fakeDataplane();
  const { f, routes } = await build(dp);
  const h = bearer(ADMIN);
  for (const r of routes.filter((x) => isV1(x) && x.ifMatch === 'required')) {
    const res = await f.inject({ method: r.method as HTTPMethods, url: concrete(r.url), headers: h, payload: { sessions: [{ id: 3 }] } });
    t.is(res.statusCode, 428, `${r.method} ${r.url}`);
    t.is(res.json<{ code: string }>().code, 'ST_ERR_PRECONDITION_REQUIRED');
  }
  for (const r of routes.filter((x) => isV1(x) && isWrite(x))) {
    for (const tag of ['"g999"', '"nonsense"', 'W/"g1"', '"g1", "g0"'.replace('g1', 'g7')]) {
      const body = bodyOf(r);
      const res = await f.inject({ method: r.method as HTTPMethods, url: concrete(r.url), headers: { ...h, 'if-match': tag }, ...(body ? { payload: body } : {}) });
      t.is(res.statusCode, 412, `${r.method} ${r.url} If-Match ${tag}: ${res.body}`);
      t.is(res.json<{ code: string }>().code, 'ST_ERR_PRECONDITION_FAILED');
    }
  }
  t.is(dp.installed.length, 0);
  const get = await f.inject({ method: 'GET', url: '/v1/policy', headers: h });
  t.is(get.headers.etag, '"g1"');
  // Two operators read the same version; the second write is refused.
  const first = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { ...h, 'if-match': '"g1"' }, payload: { sessions: [{ id: 3 }] } });
  t.is(first.statusCode, 200, first.body);
  t.is(first.headers.etag, '"g2"');
  const second = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { ...h, 'if-match': '"g1"' }, payload: { sessions: [{ id: 4 }] } });
  t.is(second.statusCode, 412);
  t.regex(second.json<{ message: string }>().message, /current version "g2"/);
  t.deepEqual((dp.policyView().policy.sessions ?? []).map((s) => s.id), [3], 'the first write stands');
  const list = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { ...h, 'if-match': '"g9", "g2"' }, payload: { sessions: [{ id: 5 }] } });
  t.is(list.statusCode, 200, 'a list of tags matches any of them');
  for (const url of ['/v1/status', '/v1/sessions', '/v1/plan']) {
    const a = await f.inject({ method: 'GET', url, headers: h });
    t.regex(String(a.headers.etag), /^W\/"[A-Za-z0-9_-]{22}"$/, url);
    const b = await f.inject({ method: 'GET', url, headers: { ...h, 'if-none-match': String(a.headers.etag) } });
    t.is(b.statusCode, 304, url);
    t.is(b.body, '');
  }
});

test('the audit log: every write, accepted or refused, with who, what, when and the generations', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'run', 'audit.jsonl');
  const dp = fakeDataplane();
  const { f } = await build(dp, { auditFile: file });
  await f.inject({ method: 'PUT', url: '/v1/policy', headers: { ...bearer(ADMIN), 'if-match': '"g1"' }, payload: { sessions: [{ id: 3 }] } });
  await f.inject({ method: 'PUT', url: '/v1/policy', headers: { ...bearer(ADMIN), 'if-match': '"g1"' }, payload: { sessions: [{ id: 4 }] } });
  await f.inject({ method: 'PUT', url: '/v1/policy', headers: { ...bearer(READER), 'if-match': '*' }, payload: { sessions: [{ id: 4 }] } });
  await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: { sessions: [{ id: 4 }] }, remoteAddress: '192.0.2.44' });
  await f.inject({ method: 'GET', url: '/v1/policy', headers: bearer(ADMIN) });
  await f.inject({ method: 'POST', url: '/v1/policy/validate', headers: bearer(ADMIN), payload: { sessions: [{ id: 4 }] } });
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(
    lines.map((l) => [l['actor'], l['method'], l['route'], l['status'], l['outcome'], l['code'] ?? null, l['generationBefore'], l['generationAfter']]),
    [
      ['ops', 'PUT', '/v1/policy', 200, 'changed', null, 1, 2],
      ['ops', 'PUT', '/v1/policy', 412, 'refused', 'ST_ERR_PRECONDITION_FAILED', 2, 2],
      ['monitor', 'PUT', '/v1/policy', 403, 'refused', 'ST_ERR_FORBIDDEN', 2, 2],
      ['(no valid token)', 'PUT', '/v1/policy', 401, 'refused', 'ST_ERR_UNAUTHORIZED', 2, 2],
    ],
    'reads and dry runs are not changes',
  );
  t.is(lines[3]!['address'], '192.0.2.44');
  for (const l of lines) t.true(Math.abs(Date.parse(String(l['at'])) - Date.now()) < 60_000);
});

test('without tokens (loopback only) every route is open and changes are audited as "local"', async (t) => {
  const dp = fakeDataplane();
  const { f } = await build(dp, { tokens: [] });
  const res = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: { sessions: [{ id: 3 }] } });
  t.is(res.statusCode, 200);
  t.is((await f.inject({ method: 'GET', url: '/v1/status' })).statusCode, 200);
});
