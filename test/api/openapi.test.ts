/**
 * The OpenAPI document holds every route the app serves, each with its
 * schemas (the routes' own TypeBox objects), docs/api.md's route table is
 * what the document generates, and the /v1 routes added for issue 14 answer
 * with the documented codes and the one error shape (route tests: a fake
 * data plane whose policy operations run the real checks and compiler).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import app from '../../src/api/app.js';
import { SessionBody } from '../../src/api/schemas-v1.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { EventFeed } from '../../src/services/events.js';
import { API_DOCS_PATH, renderRoutes } from '../../src/tools/gen-api-docs.js';
import { fakeDataplane, type FakeDataplane } from '../helpers/fake-dataplane.js';

type Json = Record<string, any>;

async function build(events?: EventFeed): Promise<{ fastify: FastifyInstance; dp: FakeDataplane; routes: { method: string; url: string }[] }> {
  const dp = fakeDataplane();
  const fastify = Fastify({ logger: false });
  const routes: { method: string; url: string }[] = [];
  fastify.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
  });
  await fastify.register(app, {
    dataplane: dp,
    services: { policy: dp, offload: dp, ...(events ? { events } : {}) },
    registry: createMetricsRegistry({ source: dp, defaultMetrics: false }),
  });
  await fastify.ready();
  return { fastify, dp, routes };
}

async function doc(fastify: FastifyInstance): Promise<Json> {
  const r = await fastify.inject({ method: 'GET', url: '/v1/openapi.json' });
  return r.json() as Json;
}

const oaPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

test('the OpenAPI document holds every route, each with a summary, its parameters, body and answers', async (t) => {
  const { fastify, routes } = await build();
  t.teardown(() => fastify.close());
  const d = await doc(fastify);
  t.is(d['openapi'], '3.1.0');
  t.true(routes.length >= 27, `${routes.length} routes`);
  for (const r of routes) {
    const op = d['paths'][oaPath(r.url)]?.[r.method.toLowerCase()];
    if (!op) {
      t.fail(`${r.method} ${r.url} is not in the document`);
      continue;
    }
    t.true(typeof op.summary === 'string' && op.summary !== `${r.method} ${r.url}`, `${r.method} ${r.url}: a summary`);
    const ok = Object.keys(op.responses).filter((c) => Number(c) < 300);
    t.true(ok.length > 0, `${r.method} ${r.url}: a success answer`);
    for (const c of ok) t.truthy(Object.values(op.responses[c].content as Json)[0].schema, `${r.method} ${r.url} ${c}: a schema`);
    if (r.url.includes(':id')) t.deepEqual(op.parameters?.filter((p: Json) => p.in === 'path').map((p: Json) => p.name), ['id'], `${r.method} ${r.url}: path parameter`);
    if (['PUT', 'POST'].includes(r.method) && !/enable|disable|forward-only\/clear|\/start$|\/stop$|:id\/dry-run$/.test(r.url)) t.truthy(op.requestBody?.content['application/json'].schema, `${r.method} ${r.url}: a body schema`);
    // Writes and reads of one resource name their errors, in the one error shape.
    for (const [code, ans] of Object.entries(op.responses as Record<string, Json>)) {
      if (Number(code) < 400 || r.url === '/readyz') continue;
      const props = Object.keys((Object.values(ans['content'] as Json)[0] as Json)['schema'].properties);
      t.deepEqual(props.slice(0, 4), ['statusCode', 'code', 'error', 'message'], `${r.method} ${r.url} ${code}: the error shape`);
    }
  }
  // The schemas are the routes' own: the session body is the policy schema's session.
  const put = d['paths']['/v1/sessions/{id}'].put;
  t.deepEqual(put.requestBody.content['application/json'].schema, JSON.parse(JSON.stringify(SessionBody)));
  t.deepEqual(Object.keys(d['paths']['/v1/sessions'].post.responses).sort(), ['201', '400', '404', '409', '422', '500', '503', '504']);
});

test('docs/api.md\'s route table is generated from the document (node dist/src/tools/gen-api-docs.js)', async (t) => {
  const { fastify } = await build();
  t.teardown(() => fastify.close());
  const table = renderRoutes(await doc(fastify));
  t.true(readFileSync(API_DOCS_PATH, 'utf8').includes(table), 'regenerate docs/api.md with `node dist/src/tools/gen-api-docs.js`');
});

test('/v1/docs: an HTML page of every path, with nothing fetched from elsewhere', async (t) => {
  const { fastify } = await build();
  t.teardown(() => fastify.close());
  const r = await fastify.inject({ method: 'GET', url: '/v1/docs' });
  t.is(r.statusCode, 200);
  t.regex(r.headers['content-type'] as string, /^text\/html/);
  t.true(r.body.startsWith('<!doctype html>'));
  for (const p of Object.keys((await doc(fastify))['paths'])) t.true(r.body.includes(`<code>${p}</code>`), p);
  t.notRegex(r.body, /<script|https?:\/\//i);
});

test('sessions one by one: add, conflict, disable keeps the definition out of the compiled policy, enable, update, remove', async (t) => {
  const { fastify, dp } = await build();
  t.teardown(() => fastify.close());
  const add = await fastify.inject({ method: 'POST', url: '/v1/sessions', payload: { id: 7, description: 'web', filters: [{ protocol: 'tcp', dst_ports: [80] }] } });
  t.is(add.statusCode, 201, add.body);
  t.is(add.headers['location'], '/v1/sessions/7');
  t.is(add.json().session.id, 7);
  t.is(dp.compiled.report.sessions.map((s) => s.id).join(), '7');

  const again = await fastify.inject({ method: 'POST', url: '/v1/sessions', payload: { id: 7 } });
  t.is(again.statusCode, 409);
  t.is(again.json().code, 'ST_ERR_CONFLICT');

  await fastify.inject({ method: 'POST', url: '/v1/sessions', payload: { id: 8 } });
  const off = await fastify.inject({ method: 'POST', url: '/v1/sessions/7/disable' });
  t.is(off.statusCode, 200, off.body);
  t.false(off.json().enabled);
  t.is(off.json().counters, null);
  // Kept in the policy, with its definition, and out of the compiled policy.
  const stored = (dp.policyView().policy as Json)['sessions'] as Json[];
  t.deepEqual(stored.map((s) => [s['id'], s['enabled']]), [[7, false], [8, undefined]]);
  t.is(stored[0]!['description'], 'web');
  t.like((stored[0]!['filters'] as Json[])[0], { protocol: 'tcp', dst_ports: [80], action: 'accept' });
  t.deepEqual(dp.compiled.report.sessions.map((s) => s.id), [8]);
  t.true(dp.compiled.report.explain.includes('disabled (kept in the policy, not compiled): session 7'));
  const list = await fastify.inject({ method: 'GET', url: '/v1/sessions' });
  t.deepEqual(list.json().disabled, [7]);
  // Idempotent: a second disable changes nothing (no new generation).
  const gen = dp.compiled.native.generation;
  t.is((await fastify.inject({ method: 'POST', url: '/v1/sessions/7/disable' })).statusCode, 200);
  t.is(dp.compiled.native.generation, gen);

  const on = await fastify.inject({ method: 'POST', url: '/v1/sessions/7/enable' });
  t.true(on.json().enabled);
  t.is(on.json().session.description, 'web');
  t.deepEqual(dp.compiled.report.sessions.map((s) => s.id).sort(), [7, 8]);

  const upd = await fastify.inject({ method: 'PUT', url: '/v1/sessions/8', payload: { priority: 5 } });
  t.is(upd.statusCode, 200, upd.body);
  t.is(upd.json().session.priority, 5);
  const mismatch = await fastify.inject({ method: 'PUT', url: '/v1/sessions/8', payload: { id: 9 } });
  t.is(mismatch.statusCode, 400);
  t.regex(mismatch.json().message, /^session\.id: 9 differs from the id in the path \(8\)/);
  const bad = await fastify.inject({ method: 'PUT', url: '/v1/sessions/8', payload: { priority: 'high' } });
  t.is(bad.statusCode, 400);
  t.is(bad.json().code, 'ST_ERR_POLICY_INVALID');
  t.is(bad.json().problems[0].path, 'sessions[1].priority');

  const missing = await fastify.inject({ method: 'DELETE', url: '/v1/sessions/99' });
  t.is(missing.statusCode, 404);
  t.is(missing.json().code, 'ST_ERR_NOT_FOUND');
  t.regex(missing.json().message, /no session 99; the policy has sessions 7, 8/);
  t.is((await fastify.inject({ method: 'GET', url: '/v1/sessions/x' })).statusCode, 400);
  t.is((await fastify.inject({ method: 'DELETE', url: '/v1/sessions/7' })).statusCode, 200);
  t.is((await fastify.inject({ method: 'DELETE', url: '/v1/sessions/8' })).statusCode, 200);
  t.deepEqual((dp.policyView().policy as Json)['sessions'], []);
  t.is(dp.compiled.report.sessions.length, 0);
});

test('maps, topology, config: export, import, and the refusals name the field', async (t) => {
  const { fastify, dp } = await build();
  t.teardown(() => fastify.close());
  const maps = (await fastify.inject({ method: 'GET', url: '/v1/maps' })).json();
  t.deepEqual(maps.translate.ipv4, [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }]);
  const identity = await fastify.inject({ method: 'PUT', url: '/v1/maps', payload: { ipv4: [{ from: '10.0.0.0/16', to: '10.0.0.0/16' }] } });
  t.is(identity.statusCode, 400);
  t.is(identity.json().problems[0].path, 'translate.ipv4[0].to');
  const nested = await fastify.inject({ method: 'PUT', url: '/v1/maps', payload: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.0.5.0/24', to: '10.98.5.0/24' }] } });
  t.is(nested.statusCode, 200, nested.body);
  t.is(dp.compiled.report.counts.map4, 2);

  const topo = { kind: 'shadowtap.topology/v1', subnets: [{ name: 'web', cidr: '10.0.1.0/24' }], instances: [], security: { rules: [{ action: 'allow', protocol: 'tcp', src: '10.0.1.0/24', dst: '10.0.2.0/24', dst_ports: [443] }] } };
  const exp = await fastify.inject({ method: 'POST', url: '/v1/topology/export', payload: topo });
  t.is(exp.statusCode, 200, exp.body);
  t.is(exp.json().subnets[0].cidr, '10.99.1.0/24');
  const imp = await fastify.inject({ method: 'POST', url: '/v1/topology/import?enforce=false', payload: topo });
  t.is(imp.statusCode, 200, imp.body);
  t.false(imp.json().policy.security.enforce);
  t.is(imp.json().policy.security.rules[0].src, '10.99.1.0/24');
  const badTopo = await fastify.inject({ method: 'POST', url: '/v1/topology/export', payload: { kind: 'nope' } });
  t.is(badTopo.statusCode, 400);

  const cfg = (await fastify.inject({ method: 'GET', url: '/v1/config' })).json();
  t.is(cfg.ports.length, 3);
  const same = await fastify.inject({ method: 'PUT', url: '/v1/config', payload: { ...cfg, sessions: [{ id: 3 }] } });
  t.is(same.statusCode, 200, same.body);
  t.deepEqual(dp.compiled.report.sessions.map((s) => s.id), [3]);
  const ports = structuredClone(cfg);
  ports.ports[0].rx_desc = 512;
  const conflict = await fastify.inject({ method: 'PUT', url: '/v1/config', payload: ports });
  t.is(conflict.statusCode, 409);
  t.is(conflict.json().code, 'ST_ERR_CONFLICT');
  t.regex(conflict.json().message, /^ports: differs from the running configuration/);
  const invalid = await fastify.inject({ method: 'PUT', url: '/v1/config', payload: { ports: [] } });
  t.is(invalid.statusCode, 400);
  t.is(invalid.json().code, 'ST_ERR_CONFIG_INVALID');
});

test('ports, profiles, plan explain', async (t) => {
  const { fastify } = await build();
  t.teardown(() => fastify.close());
  const ports = (await fastify.inject({ method: 'GET', url: '/v1/ports' })).json();
  t.deepEqual(ports.ports.map((p: Json) => p.name), ['prod-in', 'prod-out', 'shadow0']);
  t.is(ports.ports[0].counters.rxPackets, 1000);
  t.is(ports.ports[0].counters.hwImissed, 7);
  t.is(typeof ports.ports[0].offload.profile, 'string');
  t.deepEqual(ports.ports[0].offload.probes, [], 'nothing probed by the fake');
  const profiles = (await fastify.inject({ method: 'GET', url: '/v1/profiles' })).json();
  t.true(profiles.profiles.some((p: Json) => p.family === 'mlx5'));
  const ex = (await fastify.inject({ method: 'GET', url: '/v1/plan/explain' })).json();
  t.regex(ex.text, /^Placement plan for policy generation 1/);
});

test('events: server-sent, in order, replayed after Last-Event-ID, and 503 without a feed', async (t) => {
  const feed = new EventFeed();
  const { fastify } = await build(feed);
  t.teardown(() => fastify.close());
  feed.publish('restarting', { attempt: 1, delayMs: 500, reason: 'exit code 1' });
  feed.publish('policy', { generation: 2, applied: true, applyMs: 1, warnings: 0 });
  const replay = await fastify.inject({ method: 'GET', url: '/v1/events?after=0&follow=false' });
  t.regex(replay.headers['content-type'] as string, /^text\/event-stream/);
  t.is(replay.body, feed.since(0).map((e) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
  const fromHeader = await fastify.inject({ method: 'GET', url: '/v1/events?follow=false', headers: { 'last-event-id': '1' } });
  t.regex(fromHeader.body, /^id: 2\nevent: policy\n/);
  t.notRegex(fromHeader.body, /event: restarting/);

  // Following: a live stream over a real socket.
  const url = await fastify.listen({ host: '127.0.0.1', port: 0 });
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/events`, { signal: ac.signal });
  const reader = res.body!.getReader();
  let text = '';
  const readUntil = async (re: RegExp) => {
    while (!re.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
  };
  await readUntil(/: following/);
  feed.publish('fallback', { port: 'prod-in', group: 'prod-in/session-1', reason: 'table_full' });
  await readUntil(/event: fallback/);
  ac.abort();
  t.regex(text, /id: 3\nevent: fallback\ndata: \{"id":3,"type":"fallback","at":"[^"]+","data":\{"port":"prod-in"/);
  t.notRegex(text, /event: restarting/, 'without after/Last-Event-ID only new events');

  const { fastify: none } = await build();
  t.teardown(() => none.close());
  t.is((await none.inject({ method: 'GET', url: '/v1/events' })).statusCode, 503);
});
