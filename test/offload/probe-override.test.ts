/**
 * Firmware that lacks what its profile claims: net_shadowsim's refuse= devarg
 * takes actions away from an emulated mlx5 whose profile file is exactly the
 * rendered mlx5 profile (so port-facts trusts it). The probe must find out,
 * the probe must win over the profile, the plan must say so and place no
 * SAMPLE, and production must not notice.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { loadNative } from '../../src/native/loader.js';
import type { FlowAction, FlowRule } from '../../src/offload/flow.js';
import type { PlacementPlan } from '../../src/offload/planner.js';
import { planFromFacts, portFacts } from '../../src/offload/port-facts.js';
import { probeDefinitions, reconcile } from '../../src/offload/probe.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { leftovers, makeSupervisor, missingBuild, scratch, until, settledStats } from '../helpers/supervised.js';
import { withEal } from '../helpers/host.js';

const skip = missingBuild();
const ENOTSUP = 95;
const ERROR_TYPE_ACTION = 16;

const hasSample = (actions: readonly FlowAction[]): boolean =>
  actions.some((a) => a.type === 'sample' || ('actions' in a && Array.isArray(a.actions) && hasSample(a.actions)));
const sampleRules = (p: PlacementPlan) => p.rules.filter((r) => hasSample(r.rule.actions));

test.serial('addon: refuse= makes validate fail like the driver lacking the action, though the profile allows it', async (t) => {
  if (skip) return t.fail(skip);
  const native = loadNative();
  const dir = mkdtempSync(join(tmpdir(), 'shadowsim-refuse-'));
  const profile = join(dir, 'mlx5.sim');
  writeFileSync(profile, renderSimProfile(defaultProfiles().byFamily('mlx5')!));
  const prefix = `st_sim_refuse_${process.pid}`;
  // Transfer rules ending on the port itself: no rx queue (and no E-Switch) needed on an unstarted port.
  const transfer = (actions: FlowAction[]): FlowRule => ({
    port: 0, attr: { group: 0, priority: 0, ingress: false, egress: false, transfer: true }, pattern: [{ type: 'eth' }, { type: 'ipv4' }], actions,
  });
  const back = (port: number): FlowAction => ({ type: 'port_id', id: port });
  const vxlan: FlowAction = { type: 'vxlan_encap', definition: [
    { type: 'eth', spec: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } },
    { type: 'ipv4', spec: { src: '192.0.2.10', dst: '192.0.2.20' } },
    { type: 'udp', spec: { src: 0, dst: 4789 } },
    { type: 'vxlan', spec: { vni: 1 } },
  ] };
  const defs = (port: number) => [
    { name: 'sample', rule: transfer([{ type: 'sample', ratio: 1, actions: [back(port)] }, back(port)]) },
    { name: 'set_ipv4_dst', rule: transfer([{ type: 'set_ipv4_dst', ipv4_addr: '192.0.2.1' }, back(port)]) },
    { name: 'mark', rule: transfer([{ type: 'mark', id: 1 }, back(port)]) },
    { name: 'encap on the copy', rule: transfer([{ type: 'sample', ratio: 1, actions: [vxlan, back(port)] }, back(port)]) },
    { name: 'encap', rule: transfer([vxlan, back(port)]) },
  ];
  try {
    await withEal(native, { prefix, vdevs: [
      `net_shadowsim0,profile=${profile},refuse=sample:SET_IPV4_DST`,
      `net_shadowsim1,profile=${profile},refuse=vxlan_encap`,
      `net_shadowsim2,profile=${profile}`,
    ] }, async () => {
    t.is(native.portList().length, 3);
    const byName = (rs: Awaited<ReturnType<typeof native.flowProbe>>, n: string) => rs.find((r) => r.probe === n)!;
    const r0 = await native.flowProbe(0, defs(0));
    for (const [name, action] of [['sample', 'SAMPLE'], ['encap on the copy', 'SAMPLE'], ['set_ipv4_dst', 'SET_IPV4_DST']] as const) {
      const x = byName(r0, name);
      t.like(x, { ok: false, errno: ENOTSUP, errorType: ERROR_TYPE_ACTION }, name);
      t.is(x.message, `action not supported (mlx5 emulated by net_shadowsim: refuse= devarg: this device lacks ${action}, the profile aside)`, name);
    }
    t.true(byName(r0, 'mark').ok, byName(r0, 'mark').message);
    t.true(byName(r0, 'encap').ok, byName(r0, 'encap').message);
    // refused inside a SAMPLE list too; SAMPLE itself is fine on this port
    const r1 = await native.flowProbe(1, defs(1));
    t.like(byName(r1, 'encap on the copy'), { ok: false, errno: ENOTSUP, errorType: ERROR_TYPE_ACTION });
    t.regex(byName(r1, 'encap on the copy').message ?? '', /this device lacks VXLAN_ENCAP,/);
    t.false(byName(r1, 'encap').ok);
    t.true(byName(r1, 'sample').ok, byName(r1, 'sample').message);
    t.true(byName(r1, 'set_ipv4_dst').ok, byName(r1, 'set_ipv4_dst').message);
    // without the devarg, the same profile accepts every one of them
    const r2 = await native.flowProbe(2, defs(2));
    t.deepEqual(r2.filter((x) => !x.ok).map((x) => `${x.probe}: ${x.message ?? ''}`), []);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.deepEqual(leftovers(prefix), []);
});

/** prod-in: emulated mlx5 without SAMPLE; session 7 mirrors an exact flow, session 9 samples 1 in 4. */
function refuseConfig(capture: string, profile: string) {
  return validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_shadowsim0,profile=${profile},rx_pcap=${capture},infinite_rx=1,refuse=sample`, egress: 'prod-out', rx_desc: 256, tx_desc: 256 },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow', rx_desc: 256, tx_desc: 256 },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] },
    targets: [{ name: 'copy', ports: ['shadow0'] }],
    sessions: [
      { id: 7, target: 'copy', filters: [{ protocol: 'tcp', src: '10.0.0.5/32', dst: '10.0.0.9/32', dst_ports: 5432 }] },
      { id: 9, target: 'copy', sample: { percent: 25, mode: 'packet' }, filters: [{ protocol: 'udp', dst: '10.0.1.0/24', dst_ports: 53 }] },
    ],
  });
}

test.serial('supervisor: mlx5 with refuse=sample: the probe disagrees with the profile, the plan places no SAMPLE and says why, production flows', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('refuse');
  const profile = join(s.dir, 'mlx5.sim');
  const mlx5 = defaultProfiles().byFamily('mlx5')!;
  writeFileSync(profile, renderSimProfile(mlx5));
  const prefixBase = `st_refuse_${process.pid}`;
  const sup = makeSupervisor(prefixBase, refuseConfig(s.capture, profile));
  try {
    await sup.start();
    await sup.offloadSettled();
    const input = sup.planInput();
    const facts = portFacts(input.config.ports, { live: input.ports });
    // port-facts trusts the file: the devarg is not in it
    t.is(facts[0]!.matchedBy, 'sim-profile');
    t.is(facts[0]!.profile.family, 'mlx5');
    t.true(facts[0]!.capabilities.domains.ingress.sample.mirror, 'the profile claims SAMPLE in ingress');

    // 1. the probe: every SAMPLE probe refused, the rest as the profile says
    const probe = sup.offload.probes.get(0)!;
    t.truthy(probe, 'port 0 was probed');
    const result = (name: string) => probe.results.find((r) => r.probe === name)!;
    for (const name of ['ingress/sample-mirror', 'ingress/sample-ratio', 'transfer/sample-mirror', 'transfer/sample-ratio']) {
      t.like(result(name), { ok: false, errno: ENOTSUP, errorType: ERROR_TYPE_ACTION }, name);
      t.regex(result(name).message ?? '', /^action not supported \(mlx5 emulated by net_shadowsim: refuse= devarg: this device lacks SAMPLE, the profile aside\)$/, name);
    }
    for (const name of ['ingress/mark', 'ingress/set_ipv4_dst', 'ingress/rss']) t.true(result(name).ok, `${name}: ${result(name).message ?? ''}`);
    const sampleSays = probe.disagreements.filter((d) => d.includes('sample'));
    t.deepEqual(sampleSays.map((d) => d.replace(/ said: .*; the probe wins/, ' said: ...; the probe wins')), [
      'profile says mlx5 supports sample (ratio 1, mirror) in ingress; validate on prod-in (port 0) said: ...; the probe wins, sample (ratio 1, mirror) is not used in ingress',
      'profile says mlx5 supports sample (ratio above 1) in ingress; validate on prod-in (port 0) said: ...; the probe wins, sample (ratio above 1) is not used in ingress',
      'profile says mlx5 supports sample (ratio 1, mirror) in transfer; validate on prod-in (port 0) said: ...; the probe wins, sample (ratio 1, mirror) is not used in transfer',
      'profile says mlx5 supports sample (ratio above 1) in transfer; validate on prod-in (port 0) said: ...; the probe wins, sample (ratio above 1) is not used in transfer',
    ]);
    t.true(sampleSays.every((d) => d.includes('said: ENOTSUP (Operation not supported): action not supported (mlx5 emulated by net_shadowsim: refuse= devarg: this device lacks SAMPLE, the profile aside) (error type ACTION)')), sampleSays.join('\n'));

    // 2. the plan in force: no SAMPLE anywhere, and the port says why
    const plan = sup.offloadPlan()!;
    t.truthy(plan);
    t.deepEqual(sampleRules(plan).map((r) => r.id), []);
    for (const x of plan.sessions.filter((x) => x.port.name === 'prod-in')) {
      t.false(['hybrid-mirror', 'hardware'].includes(x.path), `session ${x.session}: ${x.path}`);
    }
    const port = plan.ports.find((p) => p.name === 'prod-in')!;
    t.deepEqual(port.disagreements.filter((d) => d.includes('sample')), sampleSays, 'the disagreement is in the plan');
    t.true(port.notes.some((n) => /^probe ingress\/sample-mirror: ENOTSUP \(Operation not supported\): action not supported .*this device lacks SAMPLE/.test(n)), port.notes.join('\n'));

    // 3. the planner, free to choose every path: the profile alone would
    // mirror with SAMPLE; the probe's facts leave sessions without it.
    const defs = probeDefinitions(0, { family: 'mlx5', peerPort: 2 });
    const probed = facts.map((f, i) => (i === 0
      ? { ...f, capabilities: { ...reconcile(f.profile, probe.results, { definitions: defs, port: 'prod-in (port 0)' }), ruleCapacity: f.capabilities.ruleCapacity } }
      : f));
    const onProfile = planFromFacts(input.policy, facts);
    t.true(sampleRules(onProfile).length > 0, 'control: on the profile alone the plan uses SAMPLE');
    t.true(onProfile.sessions.some((x) => x.path === 'hybrid-mirror'), 'control: a hybrid-mirror session on the profile alone');
    const onProbe = planFromFacts(input.policy, probed);
    t.deepEqual(sampleRules(onProbe).map((r) => r.id), []);
    for (const x of onProbe.sessions.filter((x) => x.port.name === 'prod-in')) {
      t.is(x.path, 'hybrid-classify', `session ${x.session}: ${x.reason}`);
      t.true(x.notTaken.some((w) => /^no hardware copy: .*mlx5: no SAMPLE( at a ratio \(1 in 4\))? in ingress/.test(w)), x.notTaken.join('\n'));
    }

    // 4. production never notices
    await until('traffic', () => (sup.stats().ports[0]?.rxPackets ?? 0) > 2000, 20_000);
    const st = await settledStats(sup);
    t.true(st.ports[0]!.rxPackets > 2000);
    t.is(st.ports[1]!.txPackets, st.ports[0]!.rxPackets, 'production tx == production rx');
    t.is(st.ports[1]!.txDropped, 0);
  } finally {
    await sup.stop();
    s.dispose();
  }
  t.deepEqual(leftovers(prefixBase), []);
});
