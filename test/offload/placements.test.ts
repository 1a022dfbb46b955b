/**
 * One capture, one policy, four placements on net_shadowsim (issue 4, item 9):
 *
 * - mlx5-like with the shadow port on the same E-Switch: every session in
 *   hardware (transfer SAMPLE to the shadow port, second-stage rewrite);
 * - mlx5-like without a shared switch domain: hybrid-mirror (NIC Rx SAMPLE
 *   copies to the software path with a copy MARK; software translates);
 * - ice-like: hybrid-classify (the NIC matches and MARKs; software copies);
 * - net_null-like: everything in software.
 *
 * Each must send the same shadow packets, byte for byte, and forward
 * production byte for byte as it arrived. Order: production keeps its order
 * everywhere; on the shadow side each session's copies keep the arrival
 * order, while the interleaving of sessions depends on burst boundaries (and
 * the E-Switch sends its copies before the software path sends those of the
 * same burst), so the whole is compared as a multiset (docs/offload.md).
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { ETHERTYPE, arp, ether, ipv4, tcp, udp } from '../../src/pcap/build.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import type { PlacementPlan } from '../../src/offload/planner.js';
import { leftovers, makeSupervisor, missingBuild, scratch, until, untilReplayed } from '../helpers/supervised.js';
import { badChecksums, decodePcapFile } from '../helpers/tshark.js';

const skip = missingBuild();

const A = '10.0.1.10';
const B = '10.0.2.20';
const C = '10.0.3.30';

/** Frames of two mirrored conversations (UDP A->B, TCP B->A) among traffic no session takes. */
function frames(): Buffer[] {
  const out: Buffer[] = [];
  const e = (src: string, dst: string) => ({ src, dst });
  for (let i = 0; i < 120; i++) {
    const pad = Buffer.alloc(i % 40, i & 0xff);
    // (UDP to a port no payload translator owns: these pads are no DNS messages, and a malformed
    // DNS message is not sent by the software path's leak policy, while the NIC copies it)
    out.push(ether(e('02:00:00:00:00:0a', '02:00:00:00:00:0b'), ipv4({ src: A, dst: B, ttl: 64, id: i, payload: udp({ sport: 10000 + (i % 7), dport: 5300, payload: pad }) })));
    out.push(ether(e('02:00:00:00:00:0b', '02:00:00:00:00:0a'), ipv4({ src: B, dst: A, ttl: 63, id: 1000 + i, payload: tcp({ sport: 443, dport: 20000 + (i % 5), seq: i * 100, flags: 'PA', payload: pad }) })));
    // not mirrored: other hosts, the other protocol of each pair, ARP
    out.push(ether(e('02:00:00:00:00:0c', '02:00:00:00:00:0a'), ipv4({ src: C, dst: A, id: 2000 + i, payload: udp({ sport: 5300, dport: 5301 }) })));
    out.push(ether(e('02:00:00:00:00:0a', '02:00:00:00:00:0b'), ipv4({ src: A, dst: B, id: 3000 + i, payload: tcp({ sport: 30000, dport: 22, flags: 'A' }) })));
    if (i % 10 === 0) out.push(ether({ src: '02:00:00:00:00:0a', dst: 'ff:ff:ff:ff:ff:ff', type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: '02:00:00:00:00:0a', senderIp: A, targetIp: B })));
  }
  return out;
}

const MIRRORED_PER_ROUND = 240;
/** Paced so that most of the capture arrives after the rules are programmed. */
const RX_PPS = 3000;

/** Where a run's production and shadow ports write (net_shadowsim tx_pcap). */
function outputs(dir: string, family: string, switchDomain: boolean) {
  const tag = `${family}${switchDomain ? '-sw' : ''}`;
  return { prod: join(dir, `prod-${tag}.pcap`), shadow: join(dir, `shadow-${tag}.pcap`) };
}

function config(dir: string, input: string, family: string, opts: { switchDomain: boolean }) {
  const profile = join(dir, `${family}.sim`);
  writeFileSync(profile, renderSimProfile(defaultProfiles().byFamily(family)!));
  const sw = opts.switchDomain ? ',switch_domain=7' : '';
  const out = outputs(dir, family, opts.switchDomain);
  return validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_shadowsim0,profile=${profile},rx_pcap=${input}${sw}`, egress: 'prod-out', rx_desc: 512, tx_desc: 512, rx_pps: RX_PPS },
      { name: 'prod-out', device: `net_shadowsim1,profile=${profile},tx_pcap=${out.prod}`, role: 'egress', rx_desc: 512, tx_desc: 512 },
      { name: 'shadow0', device: `net_shadowsim2,profile=${profile},tx_pcap=${out.shadow}${sw}`, role: 'shadow', rx_desc: 512, tx_desc: 512 },
    ],
    // Control-plane translation keeps broadcast/multicast MACs as they are,
    // which a rule cannot tell apart: off, so the E-Switch can write the MACs.
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], control_plane: { arp: false, dhcp: false, nd: false } },
    sessions: [
      { id: 1, target: 'lab', filters: [{ protocol: 'udp', src: [`${A}/32`], dst: [`${B}/32`] }] },
      { id: 2, target: 'lab', filters: [{ protocol: 'tcp', src: [`${B}/32`], dst: [`${A}/32`] }] },
    ],
    targets: [{ name: 'lab', ports: ['shadow0'] }],
  });
}

interface Run {
  plan: PlacementPlan;
  prod: Buffer[];
  shadow: Buffer[];
  nicCopies: number;
  nicDecided: number;
  hwHits: number;
}

async function runOnce(dir: string, input: string, total: number, family: string, switchDomain: boolean): Promise<Run> {
  const tag = `${family}${switchDomain ? '_sw' : ''}`;
  const prefixBase = `st_place_${tag}_${process.pid}`;
  const sup = makeSupervisor(prefixBase, config(dir, input, family, { switchDomain }));
  try {
    await sup.start();
    await sup.offloadSettled();
    const plan = sup.offloadPlan()!;
    // Programmed before the capture has played out? Not guaranteed: the
    // replay starts with the data plane. Every packet is right whenever the
    // rules arrive (unmarked = software), so the output must not depend on it.
    await untilReplayed(sup, tag, total);
    const hits = () => sup.offloadStats().hits.reduce((a, h) => a + h.hits, 0);
    // COUNT is polled with the stats: wait for a poll after the last packet.
    if (plan.rules.length > 0) await until(`${tag}: rule counters polled`, () => hits() > 0, 10_000, 100).catch(() => undefined);
    const st = sup.stats();
    const hwHits = hits();
    await sup.stop();
    return {
      plan,
      prod: readPcap(outputs(dir, family, switchDomain).prod).packets.map((p) => p.data),
      shadow: readPcap(outputs(dir, family, switchDomain).shadow).packets.map((p) => p.data),
      nicCopies: st.nicCopies,
      nicDecided: st.nicDecided,
      hwHits,
    };
  } finally {
    await sup.stop();
  }
}

const sorted = (xs: Buffer[]) => xs.map((b) => b.toString('hex')).sort();

test.serial('four placements, one policy: identical shadow output, production forwarded byte for byte', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('placements');
  try {
    const round = frames();
    const input = join(s.dir, 'input.pcap');
    const rounds = 8;
    const all = Array.from({ length: rounds }, () => round).flat();
    writePcap(input, all);
    const total = all.length;

    const hw = await runOnce(s.dir, input, total, 'mlx5', true);
    const mirror = await runOnce(s.dir, input, total, 'mlx5', false);
    const classify = await runOnce(s.dir, input, total, 'ice', false);
    const soft = await runOnce(s.dir, input, total, 'net_null', false);

    const paths = (r: Run) => r.plan.sessions.filter((x) => x.port.name === 'prod-in').map((x) => `${x.session}:${x.path}`).sort();
    t.log('mlx5 + E-Switch:', paths(hw).join(' '), '| hw hits', hw.hwHits, '| nic decided', hw.nicDecided);
    t.log(hw.plan.sessions.map((x) => `${x.session}: ${x.reason} / not taken: ${x.notTaken.join(' | ')}`).join('\n'));
    t.log('mlx5:', paths(mirror).join(' '), '| nic copies', mirror.nicCopies);
    t.log('ice:', paths(classify).join(' '));
    t.log('net_null:', paths(soft).join(' '));
    t.deepEqual(paths(hw), ['1:hardware', '2:hardware']);
    t.deepEqual(paths(mirror), ['1:hybrid-mirror', '2:hybrid-mirror']);
    t.deepEqual(paths(classify), ['1:hybrid-classify', '2:hybrid-classify']);
    t.deepEqual(paths(soft), ['1:software', '2:software']);
    // mlx5 never gets a rewrite before SAMPLE (it would alter production).
    for (const r of hw.plan.rules) {
      const acts = r.rule.actions.map((a) => a.type);
      const si = acts.indexOf('sample');
      if (si >= 0) t.false(acts.slice(0, si).some((a) => a.startsWith('set_')), `${r.id}: no SET before SAMPLE`);
    }

    for (const [name, r] of [['hardware', hw], ['hybrid-mirror', mirror], ['hybrid-classify', classify], ['software', soft]] as const) {
      t.is(r.prod.length, total, `${name}: every production packet forwarded`);
      t.true(r.prod.every((b, i) => b.equals(all[i]!)), `${name}: production byte for byte, in order`);
      t.is(r.shadow.length, MIRRORED_PER_ROUND * rounds, `${name}: one copy per mirrored packet`);
    }
    t.deepEqual(sorted(hw.shadow), sorted(soft.shadow), 'hardware == software');
    t.deepEqual(sorted(mirror.shadow), sorted(soft.shadow), 'hybrid-mirror == software');
    t.deepEqual(sorted(classify.shadow), sorted(soft.shadow), 'hybrid-classify == software');
    // Within a session the order is the arrival order, whatever the
    // placement (across sessions it depends on burst boundaries).
    // (One exception: while the E-Switch rules are being created, part of
    // a burst is copied by the NIC during rx, ahead of the software copies
    // of earlier packets of the same burst: at most one burst out of place.)
    const bySession = (xs: Buffer[]) => [6, 17].map((proto) => xs.filter((b) => b[23] === proto).map((b) => b.toString('hex')));
    for (const [name, r] of [['hybrid-mirror', mirror], ['hybrid-classify', classify]] as const) {
      t.deepEqual(bySession(r.shadow), bySession(soft.shadow), `${name}: per-session order as in software`);
    }
    const hwSessions = bySession(hw.shadow);
    bySession(soft.shadow).forEach((want, k) => {
      const got = hwSessions[k]!;
      const moved = want.filter((x, i) => got[i] !== x).length;
      t.true(moved <= 64, `hardware: session ${k + 1} keeps its order but for one burst at the hand-over (${moved} copies out of place)`);
    });

    // What did the work: the NIC made the hybrid-mirror copies, and decided
    // the hardware ones; software copied nothing there.
    t.true(mirror.nicCopies > 0, 'hybrid-mirror: copies came from the NIC');
    t.true(hw.nicDecided > 0, 'hardware: the NIC decided');
    t.true(hw.hwHits > 0, 'hardware: rule counters rose');
    t.is(soft.nicCopies + soft.nicDecided, 0);

    // Independent decoder: every shadow packet lives in the shadow prefix.
    const dec = await decodePcapFile(outputs(s.dir, 'mlx5', true).shadow);
    t.is(dec.length, hw.shadow.length);
    t.deepEqual(badChecksums(dec), []);
    t.true(dec.every((d) => /^10\.99\./.test(d.ipSrc ?? '') && /^10\.99\./.test(d.ipDst ?? '')), 'every shadow address is in 10.99/16');
  } finally {
    s.dispose();
  }
  t.deepEqual(['mlx5_sw', 'mlx5', 'ice', 'net_null'].flatMap((tag) => leftovers(`st_place_${tag}_${process.pid}`)), []);
});

test.serial('a policy change re-plans the NIC: the new session is programmed, the old one withdrawn, nothing lost', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('placements-replan');
  const prefixBase = `st_place_replan_${process.pid}`;
  try {
    const round = frames();
    const input = join(s.dir, 'input.pcap');
    const all = Array.from({ length: 12 }, () => round).flat();
    writePcap(input, all);
    const cfg = config(s.dir, input, 'mlx5', { switchDomain: false });
    const sup = makeSupervisor(prefixBase, cfg);
    try {
      await sup.start();
      await sup.offloadSettled();
      const before = sup.offloadPlan()!;
      t.deepEqual(before.sessions.map((x) => `${x.session}:${x.path}`).sort(), ['1:hybrid-mirror', '2:hybrid-mirror']);
      await until('NIC copies flow', () => sup.stats().nicCopies > 0, 15_000);
      // Only the TCP session stays, as session 3.
      await sup.applyPolicy({
        translate: cfg.translate,
        targets: [{ name: 'lab', ports: ['shadow0'] }],
        sessions: [{ id: 3, target: 'lab', filters: [{ protocol: 'tcp', src: [`${B}/32`], dst: [`${A}/32`] }] }],
      });
      await sup.offloadSettled();
      const after = sup.offloadPlan()!;
      t.deepEqual(after.sessions.map((x) => `${x.session}:${x.path}`), ['3:hybrid-mirror']);
      t.true(after.rules.every((r) => r.session === undefined || r.session === 3), 'no rule of sessions 1 and 2 is planned');
      t.true(sup.offload.programs.length >= 2, 'programmed again');
      const copiesAt = sup.stats().nicCopies;
      await until('the capture replayed', () => sup.stats().ports[0]!.rxPackets === all.length, 30_000, 100);
      await until('production drained', () => sup.stats().ports[1]!.txPackets === all.length, 10_000, 50);
      const st = sup.stats();
      t.true(st.nicCopies > copiesAt, 'the new session is mirrored by the NIC');
      t.is(st.ports[1]!.txDropped, 0);
      // Copies the old rules made between the new MARK table and the flush are
      // vouched for by no MARK: whether any arrive in that window is timing, so
      // the next test holds the window open and checks that they are dropped and counted.
      t.log('copies of withdrawn rules dropped:', st.dropped.nic_copy);
      await sup.stop();
      const prod = readPcap(outputs(s.dir, 'mlx5', false).prod).packets.map((p) => p.data);
      t.is(prod.length, all.length);
      t.true(prod.every((b, i) => b.equals(all[i]!)), 'production byte for byte across the re-plan');
    } finally {
      await sup.stop();
    }
  } finally {
    s.dispose();
  }
  t.deepEqual(leftovers(prefixBase), []);
});

test.serial('rules of an older plan left in the NIC: their copies, vouched for by no MARK, are dropped and counted (nic_copy), never forwarded', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('placements-orphan');
  const prefixBase = `st_place_orphan_${process.pid}`;
  try {
    const round = frames();
    const input = join(s.dir, 'input.pcap');
    const all = Array.from({ length: 12 }, () => round).flat();
    writePcap(input, all);
    const sup = makeSupervisor(prefixBase, config(s.dir, input, 'mlx5', { switchDomain: false }));
    try {
      await sup.start();
      await sup.offloadSettled();
      t.deepEqual(sup.offloadPlan()!.sessions.map((x) => `${x.session}:${x.path}`).sort(), ['1:hybrid-mirror', '2:hybrid-mirror']);
      await until('NIC copies flow', () => sup.stats().nicCopies > 0, 15_000);
      t.is(sup.stats().dropped.nic_copy, 0, 'no copy is dropped while the MARK table matches the rules');
      // The precondition, made true on purpose: the state a re-plan passes through
      // between installing the new MARK table and flushing the old rules, held
      // open. The rules stay in the emulated NIC (still SAMPLE-ing with their copy
      // MARKs); the data plane's MARK table is emptied.
      const child = sup.lifecycle.child as unknown as { request(r: { type: 'flowProgram'; flush: number[]; rules: never[]; marks: never[] }, ms: number): Promise<{ type: string }> };
      t.is((await child.request({ type: 'flowProgram', flush: [], rules: [], marks: [] }, 10_000)).type, 'flowProgrammed');
      await until('the capture replayed', () => sup.stats().ports[0]!.rxPackets === all.length, 30_000, 100);
      await until('production drained', () => sup.stats().ports[1]!.txPackets === all.length, 10_000, 50);
      const st = sup.stats();
      t.log(`nicCopies ${st.nicCopies}, dropped nic_copy ${st.dropped.nic_copy}`);
      t.true(st.dropped.nic_copy > 0, 'copies with an uninstalled MARK are dropped and counted');
      t.is(st.ports[1]!.txDropped, 0);
      await sup.stop();
      const prod = readPcap(outputs(s.dir, 'mlx5', false).prod).packets.map((p) => p.data);
      t.is(prod.length, all.length, 'not one NIC-made copy reached production');
      t.true(prod.every((b, i) => b.equals(all[i]!)), 'production byte for byte');
    } finally {
      await sup.stop();
    }
  } finally {
    s.dispose();
  }
  t.deepEqual(leftovers(prefixBase), []);
});
