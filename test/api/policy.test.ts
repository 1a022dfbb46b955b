/**
 * The policy routes with app.inject and a fake supervisor (route tests only:
 * the real checks and compiler run, the data-plane install is faked).
 */
import test from 'ava';
import Fastify from 'fastify';
import app from '../../src/api/app.js';
import { stError } from '../../src/errors.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { fakeDataplane, type FakeDataplane } from '../helpers/fake-dataplane.js';

async function build(dp: FakeDataplane) {
  const fastify = Fastify({ logger: false });
  await fastify.register(app, { dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }) });
  return fastify;
}

const GOOD = {
  translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] },
  targets: [{ name: 'remote', encap: { vxlan: { vni: 42, outer: { src: '192.0.2.10', dst: '192.0.2.1' } } } }],
  sessions: [
    {
      id: 7,
      target: 'remote',
      sample: { percent: 50 },
      filters: [
        { id: 'web', protocol: 'tcp', dst_ports: [80, 443] },
        { id: 'web-sub', action: 'reject', protocol: 'tcp', dst_ports: 80, src: '10.0.1.0/24' },
      ],
    },
  ],
};

interface PolicyBody {
  generation: number;
  applied: boolean;
  applyMs: number | null;
  source: string;
  policy: Record<string, unknown>;
  plan: { counts: Record<string, number>; sessions: { id: number; rules: { id: string; line: string }[] }[]; warnings: { path: string; message: string }[]; explain: string[] };
}

test('GET /v1/policy: the current policy, its plan, warnings and explanation', async (t) => {
  const f = await build(fakeDataplane());
  const res = await f.inject({ method: 'GET', url: '/v1/policy' });
  t.is(res.statusCode, 200);
  const body = res.json<PolicyBody>();
  t.is(body.generation, 1);
  t.true(body.applied);
  t.is(body.source, 'config');
  t.deepEqual(Object.keys(body.policy).sort(), ['match', 'security', 'targets', 'translate'], 'no sessions: the default session');
  t.is(body.plan.counts['sessions'], 1);
  t.regex(body.plan.explain[0]!, /^no sessions configured/);
});

test('PUT /v1/policy: applied, the new generation and plan returned, GET shows it', async (t) => {
  const dp = fakeDataplane();
  const f = await build(dp);
  const res = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: GOOD });
  t.is(res.statusCode, 200, res.body);
  const body = res.json<PolicyBody>();
  t.is(body.generation, 2);
  t.is(body.applyMs, 1.5);
  t.is(body.source, 'api');
  t.deepEqual(body.plan.sessions.map((s) => [s.id, s.rules.map((r) => r.id)]), [[7, ['web', 'web-sub']]]);
  t.deepEqual(body.plan.warnings.map((w) => w.path), ['sessions[0].filters[1]'], 'a shadowed rule is accepted, with a warning');
  t.regex(body.plan.warnings[0]!.message, /^rule web-sub .* is shadowed by earlier rule web/);
  t.deepEqual((body.policy['sessions'] as { id: number }[]).map((s) => s.id), [7]);
  t.deepEqual(dp.installed, [GOOD]);
  const again = await f.inject({ method: 'GET', url: '/v1/policy' });
  t.is(again.json<PolicyBody>().generation, 2);
});

test('PUT /v1/policy: 400 with every problem, each with its path; nothing changes', async (t) => {
  const dp = fakeDataplane();
  const f = await build(dp);
  const bad = structuredClone(GOOD) as typeof GOOD & Record<string, unknown>;
  bad.sessions[0]!.filters[0]!.dst_ports = [80, '9-1'] as never;
  (bad.sessions[0] as Record<string, unknown>)['target'] = 'nowhere';
  bad.sessions[0]!.sample.percent = 250;
  (bad.targets[0]!.encap.vxlan as Record<string, unknown>)['vni'] = 1 << 24;
  const res = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: bad });
  t.is(res.statusCode, 400);
  const body = res.json<{ code: string; problems: { path: string; message: string }[]; message: string }>();
  t.is(body.code, 'ST_ERR_POLICY_INVALID');
  t.deepEqual(body.problems.map((p) => p.path).sort(), [
    'sessions[0].filters[0].dst_ports[1]',
    'sessions[0].sample.percent',
    'sessions[0].target',
    'targets[0].encap.vxlan.vni',
  ]);
  t.true(body.problems.every((p) => p.message.length > 10));
  t.deepEqual(dp.installed, []);
  t.is((await f.inject({ method: 'GET', url: '/v1/policy' })).json<PolicyBody>().generation, 1);
});

test('PUT /v1/policy: a misspelt or non-policy key is a problem, not silently dropped', async (t) => {
  const f = await build(fakeDataplane());
  const typo = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: { ...GOOD, sesions: [] } });
  t.is(typo.statusCode, 400);
  t.deepEqual(typo.json<{ problems: { path: string }[] }>().problems.map((p) => p.path), ['sesions']);
  const ports = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: { ports: [] } });
  t.is(ports.statusCode, 400);
  t.regex(ports.json<{ problems: { message: string }[] }>().problems[0]!.message, /the rest of the configuration changes with a restart/);
  const notJson = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'content-type': 'application/json', 'if-match': '*' }, payload: '{"sessions": [' });
  t.is(notJson.statusCode, 400);
  t.is(notJson.json<{ code: string }>().code, 'ST_ERR_BAD_REQUEST');
  const notObject = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: [1, 2] });
  t.is(notObject.statusCode, 400);
  t.is(notObject.json<{ code: string }>().code, 'ST_ERR_POLICY_INVALID');
  const filterTypo = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: { sessions: [{ id: 1, filters: [{ dport: 80 }] }] } });
  t.is(filterTypo.statusCode, 400);
  t.deepEqual(filterTypo.json<{ problems: { path: string }[] }>().problems.map((p) => p.path), ['sessions[0].filters[0].dport']);
});

test('PUT /v1/policy: data-plane refusals keep their catalogue status (409, 422, 500 hidden)', async (t) => {
  const cases = [
    { err: stError('ST_ERR_BUSY', 'another policy update is in progress; retry when it has finished'), status: 409, message: 'another policy update is in progress; retry when it has finished' },
    { err: stError('ST_ERR_POLICY_COMPILE', 'policy.rules: rte_acl_build failed'), status: 422, message: 'policy.rules: rte_acl_build failed' },
    { err: stError('ST_ERR_ENCAP', 'policy.targets[0]: cannot build the header'), status: 422, message: 'policy.targets[0]: cannot build the header' },
    { err: stError('ST_ERR_DATAPLANE_EXIT', 'data-plane process 9 exited'), status: 500, message: 'Internal Server Error' },
    { err: stError('ST_ERR_DATAPLANE_TIMEOUT', 'no answer'), status: 504, message: 'Gateway Timeout' },
  ];
  for (const c of cases) {
    const dp = fakeDataplane();
    dp.installError = c.err;
    const f = await build(dp);
    const res = await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: GOOD });
    t.is(res.statusCode, c.status, c.err.code);
    t.is(res.json<{ code: string }>().code, c.err.code);
    t.is(res.json<{ message: string }>().message, c.message);
    t.is((await f.inject({ method: 'GET', url: '/v1/policy' })).json<PolicyBody>().generation, 1, 'nothing changed');
  }
});

test('POST /v1/policy/validate: a dry run with the plan; 400 with problems; nothing changes', async (t) => {
  const dp = fakeDataplane();
  const f = await build(dp);
  const ok = await f.inject({ method: 'POST', url: '/v1/policy/validate', payload: GOOD });
  t.is(ok.statusCode, 200, ok.body);
  const body = ok.json<{ valid: boolean; plan: PolicyBody['plan'] & { generation: number } }>();
  t.true(body.valid);
  t.is(body.plan.generation, 2);
  t.is(body.plan.counts['classifierRules'], 3);
  t.is(body.plan.warnings.length, 1);
  t.true(body.plan.explain.some((l) => l.includes('rule web: accept tcp from any to any port 80,443')));
  t.deepEqual(dp.installed, []);
  const bad = await f.inject({ method: 'POST', url: '/v1/policy/validate', payload: { sessions: [{ id: 1, filters: [{ signature: { bytes: 'abc' } }] }] } });
  t.is(bad.statusCode, 400);
  t.deepEqual(bad.json<{ problems: unknown[] }>().problems, [{ path: 'sessions[0].filters[0].signature.bytes', message: '"abc" has an odd number of hex digits (3); expected two digits per byte' }]);
  t.is((await f.inject({ method: 'GET', url: '/v1/policy' })).json<PolicyBody>().generation, 1);
});

test('GET /v1/sessions: per-session and per-rule counters', async (t) => {
  const dp = fakeDataplane();
  const f = await build(dp);
  await f.inject({ method: 'PUT', url: '/v1/policy', headers: { 'if-match': '*' }, payload: GOOD });
  const res = await f.inject({ method: 'GET', url: '/v1/sessions' });
  t.is(res.statusCode, 200);
  const body = res.json<{ generation: number; live: boolean; path?: string; sessions: { id: number; target: string; matched: number; dropped: Record<string, number>; rules: { id: string; hits: number; line: string }[] }[] }>();
  t.is(body.generation, 2);
  t.true(body.live);
  t.is(body.path, 'short', 'the path the data plane reports is passed on');
  t.deepEqual(body.sessions.map((s) => [s.id, s.target, s.matched, s.dropped['rate'], s.rules.map((r) => [r.id, r.hits])]), [
    [7, 'remote', 100, 5, [['web', 10], ['web-sub', 20]]],
  ]);
  t.is(body.sessions[0]!.rules[0]!.line, 'accept tcp from any to any port 80,443');
});
