/**
 * rte_flow programming through the real host and addon on net_shadowsim:
 * probe per family, plan, rules created with COUNT hits rising, run-time
 * fallback on a full rule table, rules removed on stop.
 */
import test from 'ava';
import pino from 'pino';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { fallbackReason, type OffloadFallback } from '../../src/services/offload-manager.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { leftovers, makeSupervisor, missingBuild, scratch, until, settledStats, untilReplayed } from '../helpers/supervised.js';

const skip = missingBuild();

function simConfig(capture: string, profileFile: string, devargs = '') {
  return validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_shadowsim0,profile=${profileFile},rx_pcap=${capture},infinite_rx=1${devargs}`, egress: 'prod-out', rx_desc: 256, tx_desc: 256 },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow', rx_desc: 256, tx_desc: 256 },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] },
  });
}

async function run(t: import('ava').ExecutionContext, family: string, devargs: string, check: (sup: ReturnType<typeof makeSupervisor>, fallbacks: OffloadFallback[]) => Promise<void>) {
  const s = scratch(`flow-${family}`);
  const profile = join(s.dir, `${family}.sim`);
  // A capacity in the profile file (not a devarg) is one the planner does not
  // know: the table fills at run time, as when another application uses it.
  const hidden = /capacity=(\d+)/.exec(devargs);
  writeFileSync(profile, renderSimProfile(defaultProfiles().byFamily(family)!, hidden ? { capacity: Number(hidden[1]) } : {}));
  devargs = devargs.replace(/,?capacity=\d+/, '');
  const prefixBase = `st_flow_${family}_${process.pid}`;
  const sup = makeSupervisor(prefixBase, simConfig(s.capture, profile, devargs));
  const fallbacks: OffloadFallback[] = [];
  sup.on('offloadFallback', (f) => fallbacks.push(f));
  try {
    await sup.start();
    await sup.offloadSettled();
    await check(sup, fallbacks);
  } finally {
    await sup.stop();
    s.dispose();
  }
  t.deepEqual(leftovers(prefixBase), []);
}

test.serial('mlx5-like: the probe accepts SAMPLE and SET actions; rules are programmed and COUNT hits rise', async (t) => {
  if (skip) return t.fail(skip);
  await run(t, 'mlx5', '', async (sup) => {
    const probe = sup.offload.probes.get(0)!;
    t.truthy(probe, 'port 0 was probed');
    const ok = (name: string) => probe.results.find((r) => r.probe === name)?.ok;
    t.true(ok('ingress/sample-mirror'));
    t.true(ok('ingress/set_ipv4_dst'));
    const plan = sup.offloadPlan()!;
    t.truthy(plan);
    t.log(plan.sessions.map((x) => `${x.session} ${x.path}: ${x.reason}`).join('\n'));
    t.log(plan.rules.map((r) => `${r.id} ${r.purpose}`).join('\n'));
    // The default session (every packet, prefix maps) is mirrored by the
    // NIC to the software path, which translates the copies: that takes rules,
    // and the replayed capture must make their COUNT rise.
    t.deepEqual(plan.sessions.map((x) => x.path), ['hybrid-mirror']);
    t.true(plan.rules.length > 0, 'a hybrid mirror is programmed as rte_flow rules');
    const mirror = plan.rules.filter((r) => r.session === 0).map((r) => r.id);
    t.is(mirror.length, 1, 'one rule matches every packet and SAMPLEs it to the software path');
    const hits = (): number => sup.offloadStats().hits.find((h) => h.rule === mirror[0])?.hits ?? 0;
    await until('COUNT hits on the session rule', () => hits() > 0, 15_000);
    t.true(hits() > 0, `rule ${mirror[0]} counted the replayed packets`);
    t.is(sup.offloadStats().rules.reduce((n, r) => n + r.rules, 0), plan.rules.length, 'every planned rule is installed');
    await until('NIC-made copies finished in software', () => sup.stats().nicCopies > 0, 15_000);
  });
});

test.serial('ice-like: the probe refuses SAMPLE and SET actions', async (t) => {
  if (skip) return t.fail(skip);
  await run(t, 'ice', '', async (sup) => {
    const probe = sup.offload.probes.get(0)!;
    const ok = (name: string) => probe.results.find((r) => r.probe === name)?.ok;
    t.false(ok('ingress/sample-mirror'));
    t.false(ok('ingress/set_ipv4_dst'));
    t.true(ok('ingress/mark'));
  });
});

test.serial('a capacity the planner knows (capacity=2): the plan fits the table, nothing falls back, production flows', async (t) => {
  if (skip) return t.fail(skip);
  await run(t, 'mlx5', ',capacity=2', async (sup, fallbacks) => {
    const plan = sup.offloadPlan()!;
    t.true(plan.rules.length <= 2);
    t.is(fallbacks.length, 0);
    await until('traffic', () => (sup.stats()?.ports[1]?.txPackets ?? 0) > 50, 15_000);
  });
});

test('fallback reasons come from errno', (t) => {
  t.is(fallbackReason(28), 'table_full');
  t.is(fallbackReason(12), 'no_memory');
  t.is(fallbackReason(95), 'unsupported');
  t.is(fallbackReason(5, 'rule table full, capacity 2'), 'table_full');
  t.is(fallbackReason(5), 'other');
});

// ---- the NIC's table fills behind the planner's back --------------------------------
//
// net_shadowsim's `reserved=N` devarg holds N entries of the table for
// "someone else" (firmware, another application): the planner sees the
// profile's capacity (64 here: every planned rule fits) and plans for it, but
// rte_flow_create starts failing after 64 - N rules, as on a shared NIC.

const CAPACITY = 64;

function tableConfig(dir: string, input: string, profileFile: string, opts: { infinite: boolean; reserved?: number; shadowPcap?: string }) {
  const extra = `${opts.infinite ? ',infinite_rx=1' : ''}${opts.reserved !== undefined ? `,reserved=${opts.reserved}` : ''}`;
  return validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_shadowsim0,profile=${profileFile},rx_pcap=${input}${extra}`, egress: 'prod-out', rx_desc: 256, tx_desc: 256 },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'shadow0', device: opts.shadowPcap ? `net_pcap0,tx_pcap=${opts.shadowPcap}` : 'net_null1,no-rx=1', role: 'shadow', rx_desc: 256, tx_desc: 256 },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] },
  });
}

function simFile(dir: string, family: string, capacity?: number): string {
  const file = join(dir, `${family}.sim`);
  writeFileSync(file, renderSimProfile(defaultProfiles().byFamily(family)!, capacity !== undefined ? { capacity } : {}));
  return file;
}

test.serial('capacity exhaustion the planner did not foresee: the punt group falls back whole (table_full), production loses nothing', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('flow-full');
  const prefixBase = `st_flow_full_${process.pid}`;
  const profile = simFile(s.dir, 'mlx5', CAPACITY);
  const sup = makeSupervisor(prefixBase, tableConfig(s.dir, s.capture, profile, { infinite: true, reserved: CAPACITY - 10 }));
  const events: OffloadFallback[] = [];
  sup.on('offloadFallback', (f) => events.push(f));
  try {
    await sup.start();
    await sup.offloadSettled();
    const plan = sup.offloadPlan()!;
    // The first round: 10 rules fit, the 11th (a punt) fails; the host
    // withdrew the 10 punts it had created and skipped the rest of the group.
    const first = sup.offload.programs[0]!;
    t.true(first.flushed.every((f) => f.ok) && first.flushed.length === 1, 'leftovers flushed before programming');
    t.is(first.failed, 1);
    t.is(first.withdrawn, 10, 'the punt rules already created were destroyed right away');
    t.is(events.length, 1);
    t.is(events[0]!.reason, 'table_full');
    t.is(events[0]!.group, 'prod-in/punt');
    t.regex(events[0]!.message, /rule table full/);
    t.is(sup.offloadStats().fallbacks['table_full'], 1);
    // The settled plan: punts in software, so every session of the port is too, and says why.
    t.is(plan.rules.length, 0);
    t.is(sup.offloadStats().rules.length, 0, 'no rule left in hardware');
    for (const x of plan.sessions.filter((x) => x.port.name === 'prod-in')) {
      t.is(x.path, 'software');
      t.regex(x.reason, /rte_flow_create of r\d+ failed \(table_full\)/);
    }
    t.true(plan.warnings.some((w) => /offload fallback \(table_full\) on prod-in/.test(w)));
    await until('traffic', () => (sup.stats().ports[0]?.rxPackets ?? 0) > 2000, 20_000);
    const st = await settledStats(sup);
    t.is(st.ports[1]!.txPackets, st.ports[0]!.rxPackets, 'production tx == production rx across the whole run');
    t.is(st.ports[1]!.txDropped, 0);
  } finally {
    await sup.stop();
    s.dispose();
  }
  t.deepEqual(leftovers(prefixBase), []);
});

test.serial('a session group that does not fit falls back alone; shadow output equals an all-software run packet for packet', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('flow-same');
  // A finite capture long enough to be flowing while rules are created.
  const frames = buildDemoFrames();
  const input = join(s.dir, 'long.pcap');
  writePcap(input, Array.from({ length: 40 }, () => frames).flat());
  const total = frames.length * 40;
  const runOnce = async (tag: string, family: string, reserved?: number) => {
    const prefixBase = `st_flow_same_${tag}_${process.pid}`;
    const out = join(s.dir, `shadow-${tag}.pcap`);
    const sup = makeSupervisor(prefixBase, tableConfig(s.dir, input, simFile(s.dir, family, family === 'mlx5' ? CAPACITY : undefined), { infinite: false, ...(reserved !== undefined ? { reserved } : {}), shadowPcap: out }));
    const events: OffloadFallback[] = [];
    sup.on('offloadFallback', (f) => events.push(f));
    try {
      await sup.start();
      await sup.offloadSettled();
      await untilReplayed(sup, tag, total, { txPorts: [2] });
      const st = sup.stats();
      const plan = sup.offloadPlan();
      await sup.stop();
      t.deepEqual(leftovers(prefixBase), []);
      return { st, plan, events, shadow: readPcap(out).packets.map((p) => p.data) };
    } finally {
      await sup.stop();
    }
  };
  try {
    // Every punt fits (27), the session rule (the 28th) does not.
    const off = await runOnce('offload', 'mlx5', CAPACITY - 27);
    const soft = await runOnce('software', 'net_null');
    t.is(off.events.length, 1);
    t.is(off.events[0]!.reason, 'table_full');
    t.regex(off.events[0]!.group, /^prod-in\/session-/);
    const sess = off.plan!.sessions.find((x) => x.port.name === 'prod-in')!;
    t.is(sess.path, 'software');
    t.regex(sess.reason, /table_full/);
    t.is(soft.plan!.rules.length, 0);
    for (const r of [off, soft]) {
      t.is(r.st.ports[0]!.rxPackets, total);
      t.is(r.st.ports[1]!.txPackets, total, 'production tx == production rx');
      t.is(r.st.ports[1]!.txDropped, 0);
    }
    t.true(off.shadow.length > 0);
    t.is(off.shadow.length, soft.shadow.length);
    // One worker, one rx queue: same order too.
    t.true(off.shadow.every((b, i) => b.equals(soft.shadow[i]!)), 'the shadow captures are identical packet for packet');
  } finally {
    s.dispose();
  }
});

test.serial('an automatic restart re-applies the plan: the new data plane is flushed, programmed again, and COUNT hits rise', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('flow-restart');
  const prefixBase = `st_flow_restart_${process.pid}`;
  const sup = makeSupervisor(prefixBase, tableConfig(s.dir, s.capture, simFile(s.dir, 'mlx5'), { infinite: true }));
  const programmed: { pid: number; rules: number }[] = [];
  sup.on('offload', (e) => programmed.push(e));
  const total = () => sup.offloadStats().hits.reduce((a, h) => a + h.hits, 0);
  try {
    await sup.start();
    await sup.offloadSettled();
    const rules = sup.offloadPlan()!.rules.length;
    t.true(rules > 0);
    await until('COUNT hits', () => total() > 0, 15_000);
    const pid = sup.childPid()!;
    process.kill(pid, 'SIGKILL');
    await until('programmed again by the restarted data plane', () => programmed.some((e) => e.pid !== pid), 30_000);
    t.is(sup.restartCount(), 1);
    t.is(sup.offload.programs.length, 2, 'one programming round per data plane');
    const again = sup.offload.programs[1]!;
    t.deepEqual(again.flushed, [{ port: 0, ok: true }], 'leftovers flushed before programming');
    t.is(again.created, rules);
    t.is(sup.offloadStats().rules.reduce((a, r) => a + r.rules, 0), rules, 'every rule is in hardware again');
    const carried = total();
    await until('COUNT hits rising in the new data plane', () => total() > carried, 15_000);
  } finally {
    await sup.stop();
    s.dispose();
  }
  t.deepEqual(leftovers(prefixBase), []);
});

test.serial('rules are destroyed on stop: the host destroys every rule it created before the ports stop', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('flow-stop');
  const prefixBase = `st_flow_stop_${process.pid}`;
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const sup = makeSupervisor(prefixBase, tableConfig(s.dir, s.capture, simFile(s.dir, 'ice'), { infinite: true }), { logger });
  try {
    await sup.start();
    await sup.offloadSettled();
    const rules = sup.offloadPlan()!.rules.length;
    t.true(rules > 0);
    await sup.stop();
    const removed = lines.find((l) => l['msg'] === 'rte_flow rules removed');
    t.truthy(removed, 'the host reported removing its rules');
    t.is(removed?.['rules'], rules);
    t.false(lines.some((l) => /could not be removed/.test(String(l['msg']))));
  } finally {
    await sup.stop();
    s.dispose();
  }
  t.deepEqual(leftovers(prefixBase), []);
});
