import test from 'ava';
import Fastify from 'fastify';
import app from '../../src/api/app.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { stError } from '../../src/errors.js';
import { fakeDataplane, type FakeDataplane } from '../helpers/fake-dataplane.js';

async function build(dp: FakeDataplane) {
  const fastify = Fastify({ logger: false });
  await fastify.register(app, { dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }) });
  return fastify;
}

test('GET /healthz is 200 whatever the data plane does', async (t) => {
  for (const state of ['running', 'failed', 'backoff'] as const) {
    const fastify = await build(fakeDataplane({ state }));
    const res = await fastify.inject({ method: 'GET', url: '/healthz' });
    t.is(res.statusCode, 200);
    t.deepEqual(res.json(), { status: 'ok' });
  }
});

test('GET /readyz is 200 only while running', async (t) => {
  const fastify = await build(fakeDataplane());
  const res = await fastify.inject({ method: 'GET', url: '/readyz' });
  t.is(res.statusCode, 200);
  t.deepEqual(res.json(), { status: 'ready', state: 'running' });
});

test('GET /readyz is 503 with the reason otherwise', async (t) => {
  const cases = [
    { over: { state: 'starting' as const, restarts: 0 }, reason: /^the data plane is starting$/ },
    {
      over: {
        state: 'backoff' as const,
        nextRestartAt: '2030-01-01T00:00:00.000Z',
        lastError: { code: 'ST_ERR_DATAPLANE_EXIT', message: 'data-plane process 7 killed by SIGKILL unexpectedly', field: '', at: '' },
      },
      reason: /^the data plane exited and restarts at 2030-01-01T00:00:00.000Z \(restarts so far: 2\); last error ST_ERR_DATAPLANE_EXIT: data-plane process 7 killed by SIGKILL/,
    },
    {
      over: { state: 'failed' as const, lastError: { code: 'ST_ERR_EAL_INIT', message: 'rte_eal_init failed\nEAL: more', field: '', at: '' } },
      reason: /^the data plane failed to start: ST_ERR_EAL_INIT: rte_eal_init failed$/,
    },
    { over: { state: 'stopped' as const }, reason: /^the data plane is stopped$/ },
  ];
  for (const c of cases) {
    const fastify = await build(fakeDataplane(c.over));
    const res = await fastify.inject({ method: 'GET', url: '/readyz' });
    t.is(res.statusCode, 503, c.over.state);
    const body = res.json<{ status: string; state: string; code: string; reason: string }>();
    t.is(body.status, 'not_ready');
    t.is(body.state, c.over.state);
    t.is(body.code, 'ST_ERR_NOT_READY');
    t.regex(body.reason, c.reason);
  }
});

test('GET /metrics is the text exposition', async (t) => {
  const fastify = await build(fakeDataplane());
  const res = await fastify.inject({ method: 'GET', url: '/metrics' });
  t.is(res.statusCode, 200);
  t.regex(res.headers['content-type'] as string, /^text\/plain; version=0.0.4/);
  t.regex(res.body, /^# TYPE shadowtap_mirror_packets_total counter$/m);
  t.regex(res.body, /^shadowtap_port_rx_packets_total\{port="prod-in"\} 1000$/m);
});

test('GET /v1/status: state, pid, restarts, uptime, ports, last error', async (t) => {
  const dp = fakeDataplane({ lastError: { code: 'ST_ERR_DATAPLANE_EXIT', message: 'gone', field: '', at: '2030-01-01T00:00:00.000Z' } });
  const fastify = await build(dp);
  const res = await fastify.inject({ method: 'GET', url: '/v1/status' });
  t.is(res.statusCode, 200);
  const body = res.json<Record<string, unknown>>();
  t.is(body['state'], 'running');
  t.is(body['pid'], 4242);
  t.is(body['restarts'], 2);
  t.is(body['uptimeSeconds'], 12);
  t.deepEqual(body['lastError'], { code: 'ST_ERR_DATAPLANE_EXIT', message: 'gone', field: '', at: '2030-01-01T00:00:00.000Z' });
  t.deepEqual((body['ports'] as { name: string; rxPackets: number }[]).map((p) => [p.name, p.rxPackets]), [
    ['prod-in', 1000],
    ['prod-out', 0],
    ['shadow0', 0],
  ]);
  t.deepEqual(body['mirror'], { packets: 900, bytes: 90000, translatedPackets: 850, live: true });
});

test('5xx messages are hidden from clients, 4xx are not', async (t) => {
  const dp = fakeDataplane();
  dp.status = () => {
    throw Object.assign(new Error('secret: /var/run/dpdk/x is broken'), { code: 'ST_ERR_INTERNAL' });
  };
  const fastify = await build(dp);
  const res = await fastify.inject({ method: 'GET', url: '/v1/status' });
  t.is(res.statusCode, 500);
  t.deepEqual(res.json(), { statusCode: 500, code: 'ST_ERR_INTERNAL', error: 'Internal Server Error', message: 'Internal Server Error' });
  t.notRegex(res.body, /secret/);

  const dp4 = fakeDataplane();
  dp4.status = () => {
    throw stError('ST_ERR_STATE', 'cannot start: the data plane is running');
  };
  const f4 = await build(dp4);
  const conflict = await f4.inject({ method: 'GET', url: '/v1/status' });
  t.is(conflict.statusCode, 409);
  t.deepEqual(conflict.json(), { statusCode: 409, code: 'ST_ERR_STATE', error: 'Conflict', message: 'cannot start: the data plane is running' });

  const missing = await fastify.inject({ method: 'GET', url: '/v1/nope' });
  t.is(missing.statusCode, 404);
  t.is(missing.json<{ code: string }>().code, 'ST_ERR_NOT_FOUND');
});
