/**
 * net_shadowsim's switch_domain= devarg: the E-Switch a port is on, as
 * rte_eth_dev_info.switch_info.domain_id reports it. The data plane carries
 * it into NativePortInfo.switchDomain, port-facts into PlanPort.switchDomain,
 * and the planner can then mirror between two ports in hardware. The
 * emulated mlx5 refuses a transfer rule that sends outside its E-Switch, with
 * mlx5's own words (DPDK 22.11 flow_dv_validate_action_port_id()).
 *
 * The first test drives the addon directly (one EAL in this ava worker); the
 * others run the supervisor (each data plane in its own child process).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { NativeFlowProbeDef, NativeFlowProbeResult } from '../../src/dataplane/native-types.js';
import { loadNative } from '../../src/native/loader.js';
import type { FlowAction, FlowRule } from '../../src/offload/flow.js';
import type { PlacementPlan } from '../../src/offload/planner.js';
import { planFromFacts, portFacts } from '../../src/offload/port-facts.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { leftovers, makeSupervisor, missingBuild, scratch } from '../helpers/supervised.js';
import { withEal } from '../helpers/host.js';

const skip = missingBuild();
const EINVAL = 22;
/** enum rte_flow_error_type (DPDK 22.11) */
const ERROR_TYPE = { UNSPECIFIED: 1, ACTION_CONF: 15, ACTION: 16 };

const transfer = (port: number, actions: FlowAction[]): FlowRule => ({
  port,
  attr: { group: 0, priority: 0, ingress: false, egress: false, transfer: true },
  pattern: [{ type: 'eth' }, { type: 'ipv4' }],
  actions,
});

function byName(results: NativeFlowProbeResult[], name: string): NativeFlowProbeResult {
  const r = results.find((x) => x.probe === name);
  if (!r) throw new Error(`no result for ${name}`);
  return r;
}

test.serial('addon: switch_domain reaches portList; a transfer rule sends only within its E-Switch, refused as mlx5 refuses', async (t) => {
  if (skip) return t.fail(skip);
  const native = loadNative();
  const dir = mkdtempSync(join(tmpdir(), 'shadowsim-domain-'));
  const set = defaultProfiles();
  const mlx5 = join(dir, 'mlx5.sim');
  const sink = join(dir, 'net_null.sim');
  writeFileSync(mlx5, renderSimProfile(set.byFamily('mlx5')!));
  writeFileSync(sink, renderSimProfile(set.byFamily('net_null')!));
  const prefix = `st_sim_domain_${process.pid}`;
  try {
    await withEal(native, { prefix, vdevs: [
      `net_shadowsim0,profile=${mlx5},switch_domain=7`,
      `net_shadowsim1,profile=${sink},switch_domain=7`,
      `net_shadowsim2,profile=${sink},switch_domain=8`,
      `net_shadowsim3,profile=${mlx5}`,
      'net_null0,no-rx=1',
    ] }, async () => {
    const ports = native.portList();
    t.deepEqual(ports.map((p) => [p.name, p.switchDomain]), [
      ['net_shadowsim0', 7], ['net_shadowsim1', 7], ['net_shadowsim2', 8], ['net_shadowsim3', undefined], ['net_null0', undefined],
    ]);
    t.false('switchDomain' in ports[3]!, 'a port on no E-Switch has no switchDomain at all');

    const defs: NativeFlowProbeDef[] = [
      { name: 'to itself', rule: transfer(0, [{ type: 'port_id', id: 0 }]) },
      { name: 'same domain', rule: transfer(0, [{ type: 'port_id', id: 1 }]) },
      { name: 'same domain, represented_port', rule: transfer(0, [{ type: 'represented_port', ethdev_port_id: 1 }]) },
      { name: 'mirror within the domain', rule: transfer(0, [{ type: 'sample', ratio: 1, actions: [{ type: 'port_id', id: 1 }] }, { type: 'port_id', id: 0 }]) },
      { name: 'other domain', rule: transfer(0, [{ type: 'port_id', id: 2 }]) },
      { name: 'other domain, represented_port', rule: transfer(0, [{ type: 'represented_port', ethdev_port_id: 2 }]) },
      { name: 'mirror to the other domain', rule: transfer(0, [{ type: 'sample', ratio: 1, actions: [{ type: 'port_id', id: 2 }] }, { type: 'port_id', id: 0 }]) },
      { name: 'to a port on no E-Switch', rule: transfer(0, [{ type: 'port_id', id: 4 }]) },
    ];
    const r = await native.flowProbe(0, defs);
    for (const name of ['to itself', 'same domain', 'same domain, represented_port', 'mirror within the domain']) {
      t.true(byName(r, name).ok, `${name}: ${byName(r, name).message ?? ''}`);
    }
    for (const name of ['other domain', 'other domain, represented_port', 'mirror to the other domain']) {
      const x = byName(r, name);
      t.false(x.ok, name);
      t.is(x.errno, EINVAL, name);
      t.is(x.errorType, ERROR_TYPE.ACTION, name);
      t.regex(x.message ?? '', /^port does not belong to E-Switch being configured \(mlx5 emulated by net_shadowsim: port 2 is on switch domain 8, port 0 on 7\)$/, name);
    }
    const none = byName(r, 'to a port on no E-Switch');
    t.like(none, { ok: false, errno: EINVAL, errorType: ERROR_TYPE.ACTION_CONF });
    t.is(none.message, 'failed to obtain E-Switch port id for port (mlx5 emulated by net_shadowsim: port 4 is on no E-Switch)');

    // A port on no E-Switch may still send to itself, and to nothing else.
    const alone = await native.flowProbe(3, [
      { name: 'to itself', rule: transfer(3, [{ type: 'port_id', id: 3 }]) },
      { name: 'to a port of domain 7', rule: transfer(3, [{ type: 'port_id', id: 1 }]) },
      { name: 'mirror to a port of domain 7', rule: transfer(3, [{ type: 'sample', ratio: 1, actions: [{ type: 'port_id', id: 1 }] }, { type: 'port_id', id: 3 }]) },
    ]);
    t.true(byName(alone, 'to itself').ok);
    for (const name of ['to a port of domain 7', 'mirror to a port of domain 7']) {
      const x = byName(alone, name);
      t.like(x, { ok: false, errno: EINVAL, errorType: ERROR_TYPE.UNSPECIFIED }, name);
      t.is(x.message, 'failed to obtain E-Switch info (mlx5 emulated by net_shadowsim: port 3 is on no E-Switch: no switch_domain devarg)', name);
    }

    // Bad arguments are refused naming the field, and leave no call behind:
    // withEal's ealCleanup refuses while a flow call is in flight.
    t.throws(() => native.flowCreate(42 as never), { message: /^rules: expected an array of FlowRule, got/ });
    t.throws(() => native.flowProbe(0, [{ name: 'bad', rule: { port: 0 } as never }]), { message: /^defs\[0\]\.rule/ });
    t.throws(() => native.flowProbe(0, 'x' as never), { message: /^defs: expected an array of probe definitions/ });
    t.throws(() => native.flowDestroy([0]), { message: /^ids\[0\]/ });
    t.throws(() => native.flowFlush(70000), { message: /^port/ });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.deepEqual(leftovers(prefix), []);
});

// ---- through the supervisor ---------------------------------------------------------

/** prod-in (mlx5, E-Switch 7) → prod-out; session 7, one exact TCP flow translated, mirrored to shadow0. */
function domainConfig(capture: string, profile: string, shadowDevargs: string) {
  return validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_shadowsim0,profile=${profile},rx_pcap=${capture},infinite_rx=1,switch_domain=7`, egress: 'prod-out', rx_desc: 256, tx_desc: 256 },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'shadow0', device: `net_shadowsim1,profile=${profile}${shadowDevargs}`, role: 'shadow', rx_desc: 256, tx_desc: 256 },
    ],
    // control-plane translation off: with it on, default MACs keep the translation in software
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], control_plane: { arp: false, dhcp: false, nd: false } },
    targets: [{ name: 'copy', ports: ['shadow0'] }],
    sessions: [{ id: 7, target: 'copy', filters: [{ protocol: 'tcp', src: '10.0.0.5/32', dst: '10.0.0.9/32', dst_ports: 5432 }] }],
  });
}

async function withSupervisor(tag: string, shadowDevargs: string, check: (sup: ReturnType<typeof makeSupervisor>) => Promise<void> | void): Promise<string[]> {
  const s = scratch(`domain-${tag}`);
  const profile = join(s.dir, 'mlx5.sim');
  writeFileSync(profile, renderSimProfile(defaultProfiles().byFamily('mlx5')!));
  const prefixBase = `st_domain_${tag}_${process.pid}`;
  const sup = makeSupervisor(prefixBase, domainConfig(s.capture, profile, shadowDevargs));
  try {
    await sup.start();
    await sup.offloadSettled();
    await check(sup);
  } finally {
    await sup.stop();
    s.dispose();
  }
  return leftovers(prefixBase);
}

const session7 = (p: PlacementPlan) => {
  const x = p.sessions.find((s) => s.session === 7 && s.port.name === 'prod-in');
  if (!x) throw new Error('no placement of session 7 on prod-in');
  return x;
};

test.serial('supervisor: two ports on E-Switch 7: NativePortInfo, port facts, the plan and the probe all see one E-Switch', async (t) => {
  if (skip) return t.fail(skip);
  const left = await withSupervisor('same', ',switch_domain=7', (sup) => {
    const input = sup.planInput();
    t.deepEqual(input.ports?.map((p) => p?.switchDomain), [7, undefined, 7]);

    // what the running manager planned and says about each port
    const plan = sup.offloadPlan()!;
    t.truthy(plan, 'an offload plan was made');
    const note = (name: string) => plan.ports.find((p) => p.name === name)!.notes.filter((n) => n.startsWith('E-Switch domain'));
    t.deepEqual(note('prod-in'), ['E-Switch domain 7 (rte_eth_dev_info.switch_info.domain_id, as the data plane reported it): a hardware mirror may send to a port of the same domain']);
    t.deepEqual(note('shadow0'), [note('prod-in')[0]]);
    t.deepEqual(note('prod-out'), [], 'net_null is on no E-Switch');
    const s7 = session7(plan);
    t.false([s7.reason, ...s7.notTaken].some((w) => /share an E-Switch|different E-Switches/.test(w)), [s7.reason, ...s7.notTaken].join('\n'));

    // the probe's transfer rules reach shadow0, in the same domain
    const probe = sup.offload.probes.get(0)!;
    for (const name of ['transfer/port_id', 'transfer/sample-mirror']) {
      const r = probe.results.find((x) => x.probe === name);
      t.true(r?.ok, `${name}: ${r?.message ?? 'no result'}`);
    }
    t.false(probe.disagreements.some((d) => /port_id|sample \(ratio 1, mirror\) in transfer/.test(d)), probe.disagreements.join('\n'));

    // the planner, free to choose every path, mirrors all in hardware
    const facts = portFacts(input.config.ports, { live: input.ports });
    t.deepEqual(facts.map((f) => f.port.switchDomain), [7, undefined, 7]);
    const free = planFromFacts(input.policy, facts);
    t.is(session7(free).path, 'hardware', session7(free).notTaken.join('\n'));
    t.true(free.rules.some((r) => r.rule.attr.transfer && r.rule.actions.some((a) => a.type === 'sample')), 'a transfer SAMPLE rule');

    // the same ports reported on two E-Switches: no hardware mirror, and the plan says why
    const apart = planFromFacts(input.policy, portFacts(input.config.ports, { live: input.ports!.map((p, i) => (i === 2 && p ? { ...p, switchDomain: 8 } : p)) }));
    t.not(session7(apart).path, 'hardware');
    t.true(session7(apart).notTaken.some((w) => w.includes('prod-in and shadow0 are on different E-Switches (switch domains 7 and 8)')), session7(apart).notTaken.join('\n'));
  });
  t.deepEqual(left, []);
});

test.serial('supervisor: a shadow port on no E-Switch: no switchDomain, no hardware mirror, and the probe is refused the mlx5 way', async (t) => {
  if (skip) return t.fail(skip);
  const left = await withSupervisor('none', '', (sup) => {
    const input = sup.planInput();
    t.deepEqual(input.ports?.map((p) => p?.switchDomain), [7, undefined, undefined]);
    t.false('switchDomain' in input.ports![2]!);

    const plan = sup.offloadPlan()!;
    t.false(plan.ports.find((p) => p.name === 'shadow0')!.notes.some((n) => n.startsWith('E-Switch domain')));
    t.not(session7(plan).path, 'hardware');

    // the probe's transfer rules to shadow0 are refused: it is on no E-Switch
    const probe = sup.offload.probes.get(0)!;
    for (const name of ['transfer/port_id', 'transfer/sample-mirror']) {
      const r = probe.results.find((x) => x.probe === name)!;
      t.like(r, { ok: false, errno: EINVAL, errorType: ERROR_TYPE.ACTION_CONF }, name);
      t.is(r.message, 'failed to obtain E-Switch port id for port (mlx5 emulated by net_shadowsim: port 2 is on no E-Switch)', name);
    }
    t.true(probe.disagreements.some((d) => d.startsWith('profile says mlx5 supports port_id in transfer; validate on prod-in (port 0) said: EINVAL')), probe.disagreements.join('\n'));

    // on the profile's facts alone, the planner names the missing domain
    const free = planFromFacts(input.policy, portFacts(input.config.ports, { live: input.ports }));
    t.not(session7(free).path, 'hardware');
    t.true(session7(free).notTaken.some((w) => w.includes('prod-in and shadow0 are not known to share an E-Switch (no switch domain reported)')), session7(free).notTaken.join('\n'));
  });
  t.deepEqual(left, []);
});
