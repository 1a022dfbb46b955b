/**
 * GET /v1/plan with app.inject and the fake supervisor (route tests only: the
 * real port facts, profiles and planner run over the fake's configuration and
 * compiled policy; the data plane's port report is faked).
 */
import test from 'ava';
import Fastify from 'fastify';
import { Value } from '@sinclair/typebox/value';
import pino from 'pino';
import app from '../../src/api/app.js';
import type { NativePortInfo } from '../../src/dataplane/native-types.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { PlacementPlanSchema, type PlacementPlan } from '../../src/offload/planner.js';
import { validateConfig } from '../../src/config/load.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { FAKE_CONFIG_INPUT, fakeDataplane, type FakeDataplane } from '../helpers/fake-dataplane.js';

async function build(dp: FakeDataplane) {
  const fastify = Fastify({ logger: false });
  await fastify.register(app, { dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }) });
  return fastify;
}

/**
 * The plan of FAKE_CONFIG_INPUT (net_pcap production port, net_null egress and shadow
 * ports, the default session, one IPv4 map), written out from docs/offload.md and
 * docs/api.md rather than computed: vdevs are matched by driver name; net_pcap and
 * net_null have no rte_flow, so everything is in software with that reason; nothing
 * has been probed; the default session (0, slot 0) listens on prod-in's rx; the control
 * plane (ARP, DHCP, ND) is rewritten in software with no punt rule; no rules, no MARKs.
 */
const notProbed = (profile: string) => `not probed: planned on profile ${profile}'s facts alone (no rte_flow_validate probe of the running port yet)`;
const vdevPort = (index: number, name: string, role: string, driver: string, placement: string, extraNotes: string[] = []) => ({
  index, name, role, driver, profile: driver, matchedBy: 'driver', matchReason: `driver ${driver} matches profile ${driver}`,
  probed: 0, disagreements: [], placement, rules: 0, ruleCapacity: 0, notes: [notProbed(driver), ...extraNotes],
});
const FAKE_PLAN = {
  version: 1,
  generation: 1,
  ports: [
    vdevPort(0, 'prod-in', 'production', 'net_pcap', 'software'),
    vdevPort(1, 'prod-out', 'egress', 'net_null', 'none'),
    vdevPort(2, 'shadow0', 'shadow', 'net_null', 'none', ['shadow port: it sends copies and takes no rule of its own']),
  ],
  sessions: [{
    session: 0, slot: 0, port: { index: 0, name: 'prod-in' }, direction: 'rx',
    placement: 'software', path: 'software', reason: 'software: net_pcap: no rte_flow', marks: {},
    pieces: [
      { kind: 'classification', placement: 'software', stage: 'classify', reason: 'classified in software: net_pcap: no rte_flow', rules: [] },
      { kind: 'mirroring', placement: 'software', stage: 'copy', reason: 'software copies to shadow0', rules: [] },
      { kind: 'translation', placement: 'software', stage: 'rewrite', reason: 'translated in software, with the rest of the copy', rules: [] },
    ],
    rules: [],
    notTaken: ['net_pcap: no rte_flow'],
  }],
  controlPlane: [{
    port: { index: 0, name: 'prod-in' }, classes: ['arp', 'dhcp', 'nd'], placement: 'software', rules: [],
    reason: 'ARP, DHCP, ND payloads are rewritten in software; no session is matched in hardware on prod-in, so every packet reaches the software classifier without a punt rule',
  }],
  rules: [],
  marks: [],
  summary: { hardware: 0, hybrid: 0, software: 1, rules: 0 },
  warnings: [],
};

const info = (portId: number, name: string, driver: string): NativePortInfo => ({ portId, name, driver, maxRxQueues: 16, maxTxQueues: 16, mac: `02:00:00:00:00:0${portId}` });

test('GET /v1/plan: the plan of the running configuration and policy, as PlacementPlanSchema describes it', async (t) => {
  const dp = fakeDataplane();
  const f = await build(dp);
  const res = await f.inject({ method: 'GET', url: '/v1/plan' });
  t.is(res.statusCode, 200, res.body);
  const body = res.json<PlacementPlan>();
  t.true(Value.Check(PlacementPlanSchema, body), [...Value.Errors(PlacementPlanSchema, body)].map((e) => `${e.path} ${e.message}`).join('; '));
  // Nothing lost or added by the response serializer, every field as documented.
  t.deepEqual(body, FAKE_PLAN);
  t.is(body.version, 1);
  t.is(body.generation, 1);
  t.deepEqual(body.ports.map((p) => [p.name, p.driver, p.profile, p.matchedBy]), [
    ['prod-in', 'net_pcap', 'net_pcap', 'driver'],
    ['prod-out', 'net_null', 'net_null', 'driver'],
    ['shadow0', 'net_null', 'net_null', 'driver'],
  ]);
  for (const p of body.ports) t.true(p.notes.some((n) => n.startsWith('not probed: ')), p.name);
  t.is(body.sessions.length, 1);
  t.is(body.sessions[0]!.placement, 'software');
  t.regex(body.sessions[0]!.reason, /net_pcap: no rte_flow/);
  t.deepEqual(body.rules, []);
});

test("GET /v1/plan: the data plane's driver names are used once it has started (mlx5 by driver, rules rendered for testpmd)", async (t) => {
  const dp = fakeDataplane({}, {
    ...FAKE_CONFIG_INPUT,
    // An address no test host has, so only the data plane's report can identify it.
    ports: [{ name: 'prod-in', device: '0000:f3:00.1', egress: 'prod-out' }, ...FAKE_CONFIG_INPUT.ports.slice(1)],
  });
  const before = (await (await build(dp)).inject({ method: 'GET', url: '/v1/plan' })).json<PlacementPlan>();
  t.is(before.ports[0]!.profile, 'generic-software');
  t.regex(before.ports[0]!.matchReason, /^PCI device 0000:f3:00\.1 is not on this host/);

  dp.livePorts = [info(0, '0000:f3:00.1', 'mlx5_pci'), info(1, 'net_null0', 'net_null'), info(2, 'net_null1', 'net_null')];
  const res = await (await build(dp)).inject({ method: 'GET', url: '/v1/plan' });
  t.is(res.statusCode, 200, res.body);
  const body = res.json<PlacementPlan>();
  t.true(Value.Check(PlacementPlanSchema, body));
  t.deepEqual([body.ports[0]!.driver, body.ports[0]!.profile, body.ports[0]!.matchedBy], ['mlx5_pci', 'mlx5', 'driver']);
  const s = body.sessions[0]!;
  t.is(s.placement, 'hybrid');
  t.is(s.pieces.find((p) => p.kind === 'classification')!.placement, 'hardware');
  t.true(body.rules.length > 0);
  for (const r of body.rules) {
    t.true(r.testpmd.at(-1)!.startsWith('flow create 0 '), r.id);
    t.is(r.rule.port, 0);
  }
});

test('GET /v1/plan follows the policy in force', async (t) => {
  const dp = fakeDataplane();
  const f = await build(dp);
  const put = await f.inject({
    method: 'PUT',
    url: '/v1/policy',
    headers: { 'if-match': '"g1"' },
    payload: { translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] }, sessions: [{ id: 7, filters: [{ protocol: 'tcp', dst_ports: 5432 }] }] },
  });
  t.is(put.statusCode, 200, put.body);
  const body = (await f.inject({ method: 'GET', url: '/v1/plan' })).json<PlacementPlan>();
  t.is(body.generation, 2);
  t.deepEqual(body.sessions.map((s) => [s.session, s.port.name, s.direction]), [[7, 'prod-in', 'rx']]);
});

test('GET /v1/plan: 503 ST_ERR_NOT_READY while there is no configuration', async (t) => {
  const dp = fakeDataplane();
  dp.hasConfig = false;
  const res = await (await build(dp)).inject({ method: 'GET', url: '/v1/plan' });
  t.is(res.statusCode, 503);
  t.like(res.json(), { statusCode: 503, code: 'ST_ERR_NOT_READY', error: 'Service Unavailable' });
});

test('GET /v1/plan over the real Supervisor (not started): its configuration and compiled policy, no data-plane report yet', async (t) => {
  const config = validateConfig(FAKE_CONFIG_INPUT, { source: 'test config' });
  const sup = new Supervisor({ config, logger: pino({ level: 'silent' }), nproc: 2, prefixBase: `st-plan-${process.pid}` });
  const input = sup.planInput();
  t.is(input.config, config);
  t.is(input.ports, null);
  t.is(input.policy.generation, 1);
  const fastify = Fastify({ logger: false });
  await fastify.register(app, { dataplane: sup, registry: createMetricsRegistry({ source: sup, defaultMetrics: false }) });
  const res = await fastify.inject({ method: 'GET', url: '/v1/plan' });
  t.is(res.statusCode, 200, res.body);
  t.deepEqual(res.json(), FAKE_PLAN);
});
