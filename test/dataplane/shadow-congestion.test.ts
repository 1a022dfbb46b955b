/**
 * Shadow congestion through the REAL data plane: a shadow port that refuses
 * sends, a shadow pool that runs dry, and copies that cannot be
 * encapsulated. Production must not notice any of it: its output is
 * compared with the input packet for packet, byte for byte.
 *
 * The refusing port is net_ring0: a ring PMD whose tx queue 0 and rx queue 0
 * are the same 1,024-entry ring (1,023 usable). The only consumer is the
 * worker's own shadow-rx poll, which takes at most one burst (32) per
 * round, while the same round's production burst (32 packets from a
 * capture, which net_pcap delivers in full bursts) makes 4 copies each
 * (4 sessions, match: all) = 128 enqueues: the ring is full after a few
 * dozen rounds, whatever the timing, and from then on rte_eth_tx_burst
 * returns less than it was given. net_ring counts what it refused in its
 * own rte_eth_stats (oerrors), an account independent of shadowtap's.
 */
import test from 'ava';
import { dirname, join } from 'node:path';
import { ether, ipv4, udp } from '../../src/pcap/build.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import { SESSION_DROP_REASONS } from '../../src/dataplane/native-types.js';
import { decodeFields, missingBuild, PROD_MAC, runConfig, sessionCounters, type ConfigRun } from '../helpers/policy-run.js';

const skip = missingBuild();
const M = PROD_MAC;
const SESSIONS = [1, 2, 3, 4];
const TRANSLATE = { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], unmapped: 'mirror' };

/** n distinct frames (IPv4 id and source port differ), so production can be compared packet for packet. */
function traffic(n: number, payload = 18): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    ether(M, ipv4({ src: `10.0.1.${1 + (i % 200)}`, dst: '10.0.2.2', id: i & 0xffff, payload: udp({ sport: 1024 + (i % 60000), dport: 5000, payload: Buffer.alloc(payload, i & 0xff) }) })));
}

/** prod-in (capture) → prod-out (capture); shadow0 is the given device. */
function ringPorts(shadow: string) {
  return (dir: string) => [
    { name: 'prod-in', device: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, egress: 'prod-out', rx_desc: 512, tx_desc: 512, promiscuous: false },
    { name: 'prod-out', device: `net_pcap1,tx_pcap=${join(dir, 'prod-out.pcap')}`, role: 'egress', rx_desc: 512, tx_desc: 512, promiscuous: false },
    { name: 'shadow0', device: shadow, role: 'shadow', rx_desc: 512, tx_desc: 512, promiscuous: false },
  ];
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Where two frame lists first differ (-1: nowhere), with what is there, for a short failure message. */
function firstDifference(got: readonly Buffer[], want: readonly Buffer[]): string {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w || !g.equals(w)) return `frame ${i}: got ${g ? `${g.length} bytes ${g.subarray(0, 48).toString('hex')}` : 'nothing'}, want ${w ? `${w.length} bytes ${w.subarray(0, 48).toString('hex')}` : 'nothing'}`;
  }
  return 'none';
}

function productionUntouched(t: { is: (a: unknown, b: unknown, m?: string) => void }, run: ConfigRun, frames: Buffer[]): void {
  t.is(run.production.length, frames.length, 'zero production loss');
  t.is(firstDifference(run.production, frames), 'none', 'production output is the input, packet for packet, byte for byte');
  t.is(run.stats.ports[1]?.txDropped, 0, 'the production egress refused nothing');
}

test.serial('a shadow port that refuses sends: tx_full per session and globally, the port\'s tx drops, production untouched', async (t) => {
  if (skip) return t.fail(skip);
  const N = 4000;
  const frames = traffic(N);
  const run = await runConfig({
    frames,
    ports: ringPorts('net_ring0'),
    shadowPorts: 0,
    policy: { translate: TRANSLATE, match: 'all', sessions: SESSIONS.map((id) => ({ id })) },
  });
  t.teardown(run.dispose);
  productionUntouched(t, run, frames);

  const s = SESSIONS.map((id) => sessionCounters(run, id));
  const txFull = run.stats.dropped.tx_full;
  // The precondition the ring's size and the burst arithmetic above guarantee.
  t.true(txFull > 0, `precondition: the ring refused copies (global tx_full ${txFull})`);
  t.is(run.stats.dropped.nomem, 0, 'the default shadow pool (4,095 mbufs) outlasts a 1,023-entry ring');
  t.is(sum(s.map((c) => c.dropped.tx_full)), txFull, 'per-session tx_full adds up to the global count');
  for (const [i, c] of s.entries()) {
    t.is(c.matched, N, `session ${SESSIONS[i]}: matched`);
    t.is(c.sampled, N, `session ${SESSIONS[i]}: sampled`);
    t.is(c.mirroredPackets + c.dropped.tx_full, N, `session ${SESSIONS[i]}: every decision is a copy sent or a tx_full drop`);
    for (const r of SESSION_DROP_REASONS.filter((x) => x !== 'tx_full')) t.is(c.dropped[r], 0, `session ${SESSIONS[i]}: no ${r} drops`);
  }
  const shadow = run.stats.ports[2]!;
  const mirrored = sum(s.map((c) => c.mirroredPackets));
  t.is(shadow.txDropped, txFull, 'the shadow port\'s tx drops are the tx_full drops');
  t.is(shadow.txPackets, mirrored, 'what the port took is what the sessions count as mirrored');
  t.is(shadow.hwOpackets, mirrored, 'net_ring\'s own count of packets taken agrees');
  t.is(run.stats.mirrorPackets, mirrored);
  t.log(`${N} packets x ${SESSIONS.length} sessions: ${mirrored} copies sent, ${txFull} refused (tx_full)`);
  t.is(run.stats.shadowRxPackets, mirrored, 'the ring was drained by the shadow-rx poll (measured, never forwarded)');
});

test.serial('a shadow pool that runs dry: nomem per session and globally, production untouched', async (t) => {
  if (skip) return t.fail(skip);
  const N = 4000;
  const frames = traffic(N);
  const run = await runConfig({
    frames,
    ports: ringPorts('net_ring0'),
    shadowPorts: 0,
    // 255 mbufs, fewer than the ring holds: the copies waiting in it exhaust the pool first.
    dataplane: { mempool: { shadow_mbufs: 255 } },
    policy: { translate: TRANSLATE, match: 'all', sessions: SESSIONS.map((id) => ({ id })) },
  });
  t.teardown(run.dispose);
  productionUntouched(t, run, frames);

  const s = SESSIONS.map((id) => sessionCounters(run, id));
  const nomem = run.stats.dropped.nomem;
  t.true(nomem > 0, `precondition: copies found the shadow pool empty (global nomem ${nomem})`);
  t.is(sum(s.map((c) => c.dropped.nomem)), nomem, 'per-session nomem adds up to the global count');
  t.is(sum(s.map((c) => c.dropped.tx_full)), run.stats.dropped.tx_full);
  for (const [i, c] of s.entries()) {
    t.is(c.matched, N, `session ${SESSIONS[i]}: matched`);
    t.is(c.mirroredPackets + c.dropped.nomem + c.dropped.tx_full, N, `session ${SESSIONS[i]}: every decision is a copy sent or a counted drop`);
  }
  const mirrored = sum(s.map((c) => c.mirroredPackets));
  t.is(run.stats.ports[2]?.txPackets, mirrored);
  t.is(run.stats.ports[2]?.hwOpackets, mirrored, 'net_ring\'s own count agrees');
  t.is(run.stats.shadowRxPackets, mirrored);
  t.log(`${N} packets x ${SESSIONS.length} sessions: ${mirrored} copies sent, ${nomem} nomem, ${run.stats.dropped.tx_full} tx_full`);
});

/**
 * A 65,520-byte frame: VXLAN would make its outer UDP length 16 + 65,520 =
 * 65,536, more than the field holds. net_pcap reads it into a chain of
 * mbufs; writing, it keeps the first 16,128 bytes of a chained frame
 * (RTE_ETHER_MAX_JUMBO_FRAME_LEN) and records the whole length.
 */
const GIANT = 65520;
const PCAP_TX_KEEP = 16128;
function giant(id: number): Buffer {
  return ether(M, ipv4({ src: '10.0.1.9', dst: '10.0.2.2', id, payload: udp({ sport: 4000, dport: 5000, payload: Buffer.alloc(GIANT - 14 - 20 - 8, id & 0xff) }) }));
}

test.serial('copies that cannot be encapsulated: encap drops per session, the rest sent, production untouched', async (t) => {
  if (skip) return t.fail(skip);
  const small = traffic(50);
  const frames = [...small.slice(0, 20), giant(60001), ...small.slice(20, 40), giant(60002), ...small.slice(40)];
  const run = await runConfig({
    frames,
    policy: {
      translate: TRANSLATE,
      targets: [{ name: 'vx', ports: ['shadow0'], encap: { vxlan: { vni: 77, outer: { src: '192.0.2.10', dst: '192.0.2.1' } } } }],
      sessions: [{ id: 1, target: 'vx' }],
    },
  });
  t.teardown(run.dispose);
  t.is(frames[20]!.length, GIANT, 'precondition: the giant frame is 65,520 bytes');
  // Production: every frame forwarded whole (its length on the wire), the
  // giant ones as far as net_pcap's writer keeps them.
  const written = readPcap(join(dirname(run.inputPath), 'prod-out.pcap')).packets;
  t.deepEqual(written.map((p) => p.origLen), frames.map((f) => f.length), 'every production frame forwarded at its full length');
  t.is(firstDifference(written.map((p) => p.data), frames.map((f) => f.subarray(0, PCAP_TX_KEEP))), 'none', 'production bytes unchanged');
  t.is(run.stats.ports[1]?.txDropped, 0);
  const c = sessionCounters(run, 1);
  t.is(c.matched, frames.length);
  t.is(c.dropped.encap, 2, 'the two giant copies: outer UDP length would exceed 65,535');
  t.is(c.mirroredPackets, small.length);
  const rows = await decodeFields(run.shadowPaths[0]!, ['vxlan.vni', 'ip.id']);
  t.is(rows.length, small.length);
  t.deepEqual(rows.map((r) => r['vxlan.vni']?.[0]), small.map(() => '77'));
  t.deepEqual(rows.map((r) => parseInt(r['ip.id']?.[1] ?? '', 16)), small.map((_, i) => i), 'the inner frames, in order (no giant among them)');
});

/**
 * The short path (one session copying every packet whole to one target) under
 * the same congestion: two production inputs feed one net_ring shadow port,
 * 64 copies a round against 32 drained.
 */
function twoInputs(second: Buffer[], shadow: string) {
  return (dir: string) => {
    writePcap(join(dir, 'in2.pcap'), second);
    return [
      { name: 'prod-in', device: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, egress: 'prod-out', rx_desc: 512, tx_desc: 512, promiscuous: false },
      { name: 'prod-out', device: `net_pcap1,tx_pcap=${join(dir, 'prod-out.pcap')}`, role: 'egress', rx_desc: 512, tx_desc: 512, promiscuous: false },
      { name: 'prod-in2', device: `net_pcap2,rx_pcap=${join(dir, 'in2.pcap')}`, egress: 'prod-out2', rx_desc: 512, tx_desc: 512, promiscuous: false },
      { name: 'prod-out2', device: `net_pcap3,tx_pcap=${join(dir, 'prod-out2.pcap')}`, role: 'egress', rx_desc: 512, tx_desc: 512, promiscuous: false },
      { name: 'shadow0', device: shadow, role: 'shadow', rx_desc: 512, tx_desc: 512, promiscuous: false },
    ];
  };
}

for (const kind of ['tx_full', 'nomem'] as const) {
  test.serial(`the short path under congestion (${kind}): counted per session and globally, both productions untouched`, async (t) => {
    if (skip) return t.fail(skip);
    const N = 4000;
    const first = traffic(N);
    const second = traffic(N, 30);
    const run = await runConfig({
      frames: first,
      ports: twoInputs(second, 'net_ring0'),
      shadowPorts: 0,
      ...(kind === 'nomem' ? { dataplane: { mempool: { shadow_mbufs: 255 } } } : {}),
      policy: { translate: TRANSLATE, sessions: [{ id: 1 }] },
    });
    t.teardown(run.dispose);
    t.is(run.policyStats.path, 'short', 'precondition: the policy takes the short path');
    productionUntouched(t, run, first);
    const out2 = readPcap(join(dirname(run.inputPath), 'prod-out2.pcap')).packets.map((p) => p.data);
    t.is(firstDifference(out2, second), 'none', 'the second production output is its input, packet for packet');
    t.is(run.stats.ports[3]?.txDropped, 0);
    const c = sessionCounters(run, 1);
    const drops = run.stats.dropped[kind];
    t.true(drops > 0, `precondition: ${kind} drops happened (${drops})`);
    t.is(c.matched, 2 * N);
    t.is(c.dropped[kind], drops, `per-session ${kind} = global ${kind}`);
    t.is(c.mirroredPackets + c.dropped.tx_full + c.dropped.nomem, 2 * N, 'every packet: a copy sent or a counted drop');
    t.is(run.stats.ports[4]?.txDropped, run.stats.dropped.tx_full, 'the shadow port\'s tx drops are the tx_full drops');
    t.is(run.stats.ports[4]?.hwOpackets, c.mirroredPackets, 'net_ring\'s own count of packets taken');
    t.is(run.stats.shadowRxPackets, c.mirroredPackets);
    t.log(`2 x ${N} packets, short path: ${c.mirroredPackets} copies sent, ${c.dropped.tx_full} tx_full, ${c.dropped.nomem} nomem`);
  });
}
