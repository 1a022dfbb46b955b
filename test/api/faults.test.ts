/**
 * /v1/faults and /v1/experiments: the contract (status codes, error codes
 * with the field named, ETags and If-Match, roles, audit, OpenAPI), through
 * app.inject with the real fault service over a data plane that is not
 * running: faults are defined, started and stopped, and the timeline says
 * the tables were decided without a data plane (applied: false). What armed
 * faults do to packets is tested on the real data plane elsewhere.
 */
import test from 'ava';
import Fastify from 'fastify';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import app from '../../src/api/app.js';
import { parseTokens } from '../../src/api/credentials.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { FaultService, FAULT_LINE } from '../../src/services/faults.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';

const ADMIN = 'admin-secret-0123456789';
const READER = 'reader-secret-0123456789';
const TOKENS = parseTokens(`ops:admin:${ADMIN}\nmonitor:read:${READER}\n`, 'test');
const admin = { authorization: `Bearer ${ADMIN}` };
const reader = { authorization: `Bearer ${READER}` };

async function build(t: { teardown(fn: () => void | Promise<void>): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'st-api-faults-'));
  const dp = fakeDataplane({ state: 'stopped' });
  const faults = new FaultService({
    dataplane: { state: 'stopped' },
    context: () => ({ ports: [{ name: 'prod-in', role: 'production' }, { name: 'prod-out', role: 'egress' }, { name: 'shadow0', role: 'shadow' }], sessions: new Map(), maps: [], line: FAULT_LINE }),
    shadowPorts: () => [2],
    logger: pino({ level: 'silent' }),
    stateDir: join(dir, 'state'),
  });
  const f = Fastify({ logger: false });
  await f.register(app, {
    dataplane: dp,
    services: { policy: dp, offload: dp, faults },
    registry: createMetricsRegistry({ source: dp, defaultMetrics: false }),
    security: { tokens: TOKENS, rateLimit: { perSecond: 1000, burst: 1000 }, auditFile: join(dir, 'audit.jsonl') },
  });
  t.teardown(async () => {
    await f.close();
    await faults.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { f, faults, dir };
}

const WAN = { id: 'wan', match: { dst: '10.0.2.0/24' }, netem: 'delay 20ms 5ms 25% distribution normal loss gemodel 1% 10% 70% 0.1%' };

test('create, show, list, start, stop, delete: status codes, Location, ETag and the timeline', async (t) => {
  const { f } = await build(t);
  const created = await f.inject({ method: 'POST', url: '/v1/faults', headers: admin, payload: WAN });
  t.is(created.statusCode, 201, created.body);
  t.is(created.headers['location'], '/v1/faults/wan');
  t.is(created.headers['etag'], '"v1"');
  const v = created.json();
  t.is(v.state, 'idle');
  t.is(v.fault.netem, WAN.netem);
  const shown = await f.inject({ method: 'GET', url: '/v1/faults/wan', headers: reader });
  t.is(shown.statusCode, 200);
  t.is(shown.headers['etag'], '"v1"');
  const list = await f.inject({ method: 'GET', url: '/v1/faults', headers: reader });
  t.deepEqual(list.json().faults.map((x: { id: string }) => x.id), ['wan']);
  const started = await f.inject({ method: 'POST', url: '/v1/faults/wan/start', headers: admin });
  t.is(started.statusCode, 200);
  t.is(started.json().state, 'scheduled', 'no data plane runs: decided, not armed');
  const stopped = await f.inject({ method: 'POST', url: '/v1/faults/wan/stop', headers: admin });
  t.is(stopped.json().state, 'idle');
  const tl = await f.inject({ method: 'GET', url: '/v1/faults/wan/timeline', headers: reader });
  const entries = tl.json().entries as { type: string; applied?: boolean }[];
  t.deepEqual(entries.map((e) => e.type), ['created', 'start', 'activate', 'stop', 'deactivate']);
  t.true(entries.filter((e) => e.type === 'activate' || e.type === 'deactivate').every((e) => e.applied === false), 'no data plane ran');
  const all = await f.inject({ method: 'GET', url: '/v1/faults/timeline?limit=2', headers: reader });
  t.is(all.json().entries.length, 2);
  const del = await f.inject({ method: 'DELETE', url: '/v1/faults/wan', headers: admin });
  t.deepEqual(del.json(), { id: 'wan', deleted: true });
  t.is((await f.inject({ method: 'GET', url: '/v1/faults/wan', headers: reader })).statusCode, 404);
});

test('bad input: 400 ST_ERR_FAULT_INVALID with every field named, nothing created', async (t) => {
  const { f } = await build(t);
  const cases: [unknown, string[]][] = [
    [{ id: 'a', match: {}, delay: { time: '-1ms' } }, ['delay.time']],
    [{ id: 'a', match: {}, loss: { percent: 150 } }, ['loss.percent']],
    [{ id: 'a', match: { port: 'no-such' }, kind: 'link_down' }, ['match.port']],
    [{ id: 'a', match: {}, netem: 'loss 1%', schedule: { start: '2031-01-01T00:00:00Z', end: '2030-01-01T00:00:00Z' } }, ['schedule.end']],
    [{ id: 'a', match: {}, delay: { time: '10ms', jitter: '1ms', distribution: { table: [1, 0, 2] } } }, ['delay.distribution.table']],
    [{ id: 'a', match: {}, delay: { time: '30s' } }, ['delay.time']],
    [{ id: 'a', match: {}, netem: 'delay 10ms', loss: { percent: 1 } }, ['netem']],
    [{ match: {} }, ['id']],
    [{ id: 'a', match: {}, colour: 'red' }, ['colour']],
  ];
  for (const [body, paths] of cases) {
    const res = await f.inject({ method: 'POST', url: '/v1/faults', headers: admin, payload: body as object });
    t.is(res.statusCode, 400, JSON.stringify(body));
    const b = res.json();
    t.is(b.code, 'ST_ERR_FAULT_INVALID', JSON.stringify(body));
    t.deepEqual(b.problems.map((p: { path: string }) => p.path), paths, JSON.stringify(body));
  }
  t.deepEqual((await f.inject({ method: 'GET', url: '/v1/faults', headers: admin })).json().faults, []);
  const flagged = await f.inject({ method: 'POST', url: '/v1/faults', headers: admin, payload: { id: 'never', match: { protocol: 'icmp', dport: 80 }, netem: 'loss 1%' } });
  t.is(flagged.statusCode, 201);
  t.regex(flagged.json().flags[0].message, /has no ports: this fault matches nothing/);
});

test('errors: 404 unknown, 409 duplicate, 412 stale If-Match, 400 bad query; roles: a read token cannot write (403)', async (t) => {
  const { f, dir } = await build(t);
  t.is((await f.inject({ method: 'POST', url: '/v1/faults', headers: admin, payload: WAN })).statusCode, 201);
  const dup = await f.inject({ method: 'POST', url: '/v1/faults', headers: admin, payload: WAN });
  t.is(dup.statusCode, 409);
  t.is(dup.json().code, 'ST_ERR_CONFLICT');
  const missing = await f.inject({ method: 'POST', url: '/v1/faults/nope/start', headers: admin });
  t.is(missing.statusCode, 404);
  t.is(missing.json().code, 'ST_ERR_NOT_FOUND');
  t.regex(missing.json().message, /no fault "nope"; expected one of wan/);
  const put = await f.inject({ method: 'PUT', url: '/v1/faults/wan', headers: { ...admin, 'if-match': '"v1"' }, payload: { match: {}, netem: 'loss 2%' } });
  t.is(put.statusCode, 200, put.body);
  t.is(put.headers['etag'], '"v2"');
  const stale = await f.inject({ method: 'PUT', url: '/v1/faults/wan', headers: { ...admin, 'if-match': '"v1"' }, payload: { match: {}, netem: 'loss 3%' } });
  t.is(stale.statusCode, 412);
  t.is(stale.json().code, 'ST_ERR_PRECONDITION_FAILED');
  t.is((await f.inject({ method: 'GET', url: '/v1/faults/wan', headers: admin })).json().fault.netem, 'loss 2%', 'nothing changed');
  const staleDel = await f.inject({ method: 'DELETE', url: '/v1/faults/wan', headers: { ...admin, 'if-match': '"v7"' } });
  t.is(staleDel.statusCode, 412);
  const other = await f.inject({ method: 'PUT', url: '/v1/faults/wan', headers: admin, payload: { id: 'other', match: {} } });
  t.is(other.statusCode, 400);
  t.is(other.json().problems[0].path, 'id');
  const q = await f.inject({ method: 'POST', url: '/v1/faults?start=maybe', headers: admin, payload: { ...WAN, id: 'x' } });
  t.is(q.statusCode, 400);
  t.is(q.json().code, 'ST_ERR_BAD_REQUEST');
  const w = await f.inject({ method: 'POST', url: '/v1/faults/wan/dry-run?window=5', headers: admin });
  t.is(w.statusCode, 400);
  t.regex(w.json().message, /window/);
  const ro = await f.inject({ method: 'POST', url: '/v1/faults/wan/start', headers: reader });
  t.is(ro.statusCode, 403);
  t.is(ro.json().code, 'ST_ERR_FORBIDDEN');
  const none = await f.inject({ method: 'GET', url: '/v1/faults' });
  t.is(none.statusCode, 401);
  const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { url: string; status: number; outcome: string });
  t.true(audit.some((a) => a.url === '/v1/faults/wan' && a.status === 412 && a.outcome === 'refused'));
  t.true(audit.some((a) => a.url === '/v1/faults/wan/start' && a.status === 403));
});

test('a dry run without a running data plane says why nothing was measured', async (t) => {
  const { f } = await build(t);
  const res = await f.inject({ method: 'POST', url: '/v1/faults/dry-run', headers: admin, payload: WAN });
  t.is(res.statusCode, 200, res.body);
  t.is(res.json().live, null);
  t.regex(res.json().unavailable, /no fault stage|stopped/);
  const bad = await f.inject({ method: 'POST', url: '/v1/faults/dry-run', headers: admin, payload: { id: 'x', match: { port: 'zz' } } });
  t.is(bad.statusCode, 400);
  t.is(bad.json().problems[0].path, 'match.port');
});

test('experiments: create (problems named), show, start, stop, delete, timeline; a running one cannot be deleted', async (t) => {
  const { f } = await build(t);
  const bad = await f.inject({ method: 'POST', url: '/v1/experiments', headers: admin, payload: { id: 'e', faults: [{ id: 'e1', match: {}, netem: 'loss 1%' }], steps: [{ faults: ['e2'] }], stop: [{ metric: 'drops', above: -1 }] } });
  t.is(bad.statusCode, 400);
  t.deepEqual(bad.json().problems.map((p: { path: string }) => p.path), ['steps[0].faults[0]', 'stop[0].above']);
  const hook = await f.inject({ method: 'POST', url: '/v1/experiments', headers: admin, payload: { id: 'e', faults: [{ id: 'e1', match: {}, netem: 'loss 1%' }], steps: [{ faults: ['e1'], duration: '1s', vm: { stop: { webhook: { url: 'http://10.1.2.3/stop' } }, start: { command: ['true'] } } }] } });
  t.is(hook.statusCode, 400);
  t.is(hook.json().problems[0].path, 'steps[0].vm.stop.webhook.url');
  const body = { id: 'e', faults: [{ id: 'e1', match: {}, netem: 'loss 1%' }, { id: 'e2', match: {}, kind: 'blackhole' }], steps: [{ faults: ['e1'], duration: '1h' }, { faults: ['e1', 'e2'] }], stop: [{ metric: 'shadow_delivery_ratio', below: '50%' }] };
  const created = await f.inject({ method: 'POST', url: '/v1/experiments', headers: admin, payload: body });
  t.is(created.statusCode, 201, created.body);
  t.is(created.json().state, 'idle');
  const clash = await f.inject({ method: 'POST', url: '/v1/faults', headers: admin, payload: { id: 'e1', match: {} } });
  t.is(clash.statusCode, 409);
  const own = await f.inject({ method: 'POST', url: '/v1/faults/e1/start', headers: admin });
  t.is(own.statusCode, 409);
  t.regex(own.json().message, /belongs to experiment e/);
  const started = await f.inject({ method: 'POST', url: '/v1/experiments/e/start', headers: admin });
  t.is(started.statusCode, 200);
  t.is(started.json().state, 'running');
  t.is(started.json().step.index, 0);
  const busy = await f.inject({ method: 'DELETE', url: '/v1/experiments/e', headers: admin });
  t.is(busy.statusCode, 409);
  const stopped = await f.inject({ method: 'POST', url: '/v1/experiments/e/stop', headers: admin });
  t.is(stopped.json().state, 'stopped');
  const tl = await f.inject({ method: 'GET', url: '/v1/experiments/e/timeline', headers: reader });
  const types = tl.json().entries.map((e: { type: string }) => e.type);
  t.deepEqual(types, ['created', 'start', 'activate', 'stop', 'deactivate']);
  t.true(tl.json().entries.filter((e: { type: string }) => e.type === 'activate').every((e: { applied: boolean }) => e.applied === false));
  t.is((await f.inject({ method: 'DELETE', url: '/v1/experiments/e', headers: admin })).statusCode, 200);
  t.deepEqual((await f.inject({ method: 'GET', url: '/v1/faults', headers: admin })).json().faults, [], 'its faults went with it');
  t.is((await f.inject({ method: 'GET', url: '/v1/experiments/nope', headers: admin })).statusCode, 404);
});

test('OpenAPI documents every fault and experiment route with its bodies', async (t) => {
  const { f } = await build(t);
  const doc = (await f.inject({ method: 'GET', url: '/v1/openapi.json', headers: admin })).json() as { paths: Record<string, Record<string, unknown>> };
  for (const [path, methods] of [
    ['/v1/faults', ['get', 'post']], ['/v1/faults/{id}', ['get', 'put', 'delete']], ['/v1/faults/{id}/start', ['post']], ['/v1/faults/{id}/stop', ['post']],
    ['/v1/faults/{id}/dry-run', ['post']], ['/v1/faults/dry-run', ['post']], ['/v1/faults/timeline', ['get']], ['/v1/experiments', ['get', 'post']],
    ['/v1/experiments/{id}', ['get', 'delete']], ['/v1/experiments/{id}/start', ['post']], ['/v1/experiments/{id}/stop', ['post']], ['/v1/experiments/{id}/timeline', ['get']],
  ] as const) {
    t.truthy(doc.paths[path], path);
    for (const m of methods) t.truthy(doc.paths[path]?.[m], `${m} ${path}`);
  }
});
