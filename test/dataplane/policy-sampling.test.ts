/**
 * Sampling and truncation through the REAL data plane, the policy written
 * as an operator would.
 *
 * Statistical bound: a session sampling p of n independent units mirrors
 * Binomial(n, p) of them; the tests accept the mean ± 5 standard deviations
 * (sqrt(n p (1 - p))), which a correct sampler misses with probability below
 * 6e-7 per check. Per-flow sampling must also be consistent: a flow is
 * mirrored whole, both directions, or not at all.
 */
import test from 'ava';
import { dhcp, ether, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { decodeFields, missingBuild, PROD_MAC, runConfig, sessionCounters } from '../helpers/policy-run.js';

const skip = missingBuild();
const M = PROD_MAC;
const TRANSLATE = { ipv4: [{ from: '10.0.0.0/8', to: '11.0.0.0/8' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }], unmapped: 'drop' };

function bound(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.floor(n * p - 5 * sd), Math.ceil(n * p + 5 * sd)];
}

/** Flow i: client 10.(i>>8).(i&255).1:(10000+i) <-> server 10.200.0.1:80, 2 packets each way, interleaved. */
function flows(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < n; i++) {
      const c = `10.${i >> 8}.${i & 255}.1`;
      out.push(ether(M, ipv4({ src: c, dst: '10.200.0.1', id: round, payload: tcp({ sport: 10000 + i, dport: 80, flags: 'PA', seq: round }) })));
      out.push(ether(M, ipv4({ src: '10.200.0.1', dst: c, id: round, payload: tcp({ sport: 80, dport: 10000 + i, flags: 'PA', seq: round }) })));
    }
  }
  return out;
}

test.serial('per-flow sampling: 25 % of flows within 5 sigma, each sampled flow whole and in both directions', async (t) => {
  if (skip) return t.fail(skip);
  const n = 2000;
  const frames = flows(n);
  const run = await runConfig({ frames, policy: { translate: TRANSLATE, sessions: [{ id: 1, sample: { percent: 25, mode: 'flow' } }] } });
  t.teardown(run.dispose);
  t.is(run.production.length, frames.length, 'production is never sampled');
  const rows = await decodeFields(run.shadowPaths[0]!, ['tcp.srcport', 'tcp.dstport']);
  const perFlow = new Map<number, { fwd: number; rev: number }>();
  for (const r of rows) {
    const sp = Number(r['tcp.srcport']![0]);
    const dp = Number(r['tcp.dstport']![0]);
    const flow = sp === 80 ? dp : sp;
    const e = perFlow.get(flow) ?? { fwd: 0, rev: 0 };
    if (sp === 80) e.rev++;
    else e.fwd++;
    perFlow.set(flow, e);
  }
  const [lo, hi] = bound(n, 0.25);
  t.log(`flows mirrored: ${perFlow.size} of ${n} (bound ${lo}..${hi}, expected ${n * 0.25})`);
  t.true(perFlow.size >= lo && perFlow.size <= hi, `${perFlow.size} flows sampled; expected ${lo}..${hi}`);
  const partial = [...perFlow].filter(([, e]) => e.fwd !== 2 || e.rev !== 2);
  t.deepEqual(partial, [], 'every sampled flow has all its packets, both directions');
  const c = sessionCounters(run, 1);
  t.is(c.matched, frames.length);
  t.is(c.sampled, perFlow.size * 4);
  t.is(c.mirroredPackets, perFlow.size * 4);
  t.is(run.stats.ports[1]?.txPackets, frames.length);
});

test.serial('per-packet sampling: 30 % of packets within 5 sigma; 0 % and 100 % exact', async (t) => {
  if (skip) return t.fail(skip);
  const frames = flows(2000); // 8,000 packets
  const run = await runConfig({
    frames,
    shadowPorts: 3,
    policy: {
      translate: TRANSLATE,
      match: 'all',
      targets: [0, 1, 2].map((i) => ({ name: `t${i}`, ports: [`shadow${i}`] })),
      sessions: [
        { id: 1, target: 't0', sample: { percent: 30, mode: 'packet' } },
        { id: 2, target: 't1', sample: { percent: 0, mode: 'packet' } },
        { id: 3, target: 't2', sample: { percent: 100, mode: 'packet' } },
      ],
    },
  });
  t.teardown(run.dispose);
  const [lo, hi] = bound(frames.length, 0.3);
  const got = run.shadow[0]!.length;
  t.log(`packets mirrored at 30 %: ${got} of ${frames.length} (bound ${lo}..${hi})`);
  t.true(got >= lo && got <= hi, `${got} packets sampled; expected ${lo}..${hi}`);
  t.is(run.shadow[1]!.length, 0);
  t.is(run.shadow[2]!.length, frames.length);
  t.is(sessionCounters(run, 1).sampled, got);
  t.is(sessionCounters(run, 2).matched, frames.length, 'matched counts before sampling');
  t.is(sessionCounters(run, 2).sampled, 0);
});

test.serial('truncation: copies cut to snaplen, headers translated and their checksums right, counted', async (t) => {
  if (skip) return t.fail(skip);
  const sizes = [0, 10, 40, 60, 100, 400, 1400];
  const frames = sizes.flatMap((n, i) => [
    ether(M, ipv4({ src: '10.0.1.5', dst: '10.0.2.7', id: 100 + i, payload: udp({ sport: 5000, dport: 6000, payload: Buffer.alloc(n, i) }) })),
    ether(M, ipv6({ src: 'fd00:1::5', dst: 'fd00:2::7', hopLimit: 100 + i, payload: tcp({ sport: 5000, dport: 6000, flags: 'PA', payload: Buffer.alloc(n, i) }) })),
  ]);
  const snaplen = 96;
  const run = await runConfig({ frames, policy: { translate: TRANSLATE, sessions: [{ id: 1, snaplen }] } });
  t.teardown(run.dispose);
  t.deepEqual(run.shadow[0]!.map((b) => b.length), frames.map((f) => Math.min(f.length, snaplen)), 'each copy is min(length, snaplen) bytes');
  t.deepEqual(run.production.map((b) => b.length), frames.map((f) => f.length), 'production keeps its length');
  const rows = await decodeFields(run.shadowPaths[0]!, ['frame.len', 'ip.src', 'ip.dst', 'ip.len', 'ip.checksum.status', 'ipv6.src', 'ipv6.dst', 'ipv6.plen']);
  rows.forEach((r, i) => {
    const orig = frames[i]!;
    if (i % 2 === 0) {
      t.deepEqual([r['ip.src']![0], r['ip.dst']![0]], ['11.0.1.5', '11.0.2.7']);
      t.is(Number(r['ip.len']![0]), orig.length - 14, 'the IP length still says the whole packet');
      t.is(r['ip.checksum.status']![0], '1', 'IPv4 header checksum good');
    } else {
      t.deepEqual([r['ipv6.src']![0], r['ipv6.dst']![0]], ['fd99:1::5', 'fd99:2::7']);
      t.is(Number(r['ipv6.plen']![0]), orig.length - 54);
    }
  });
  const c = sessionCounters(run, 1);
  t.is(c.truncated, frames.filter((f) => f.length > snaplen).length);
  t.is(c.mirroredPackets, frames.length);
  t.is(c.mirroredBytes, frames.reduce((n, f) => n + Math.min(f.length, snaplen), 0), 'mirrored bytes are the truncated lengths');
});

test.serial('truncation never cuts a header: the copy keeps every header it translates (and DHCP whole), however short the snaplen', async (t) => {
  if (skip) return t.fail(skip);
  const payload = Buffer.alloc(300, 7);
  const frames = [
    // 14 + 4 (VLAN) + 40 + 32 (TCP with options) = 90 bytes of headers > 64
    ether({ ...M, vlans: [100] }, ipv6({ src: 'fd00:1::5', dst: 'fd00:2::7', payload: tcp({ sport: 5000, dport: 6000, flags: 'PA', options: Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]), payload }) })),
    // 14 + 20 + 8 = 42 bytes of headers < 64: cut at 64 as asked
    ether(M, ipv4({ src: '10.0.1.5', dst: '10.0.2.7', payload: udp({ sport: 5000, dport: 6000, payload }) })),
    // DHCP: the addresses inside the message are translated, so it is copied whole
    ether(M, ipv4({ src: '10.0.1.1', dst: '10.0.1.9', payload: udp({ sport: 67, dport: 68, payload: dhcp({ messageType: 'ack', xid: 7, chaddr: '02:00:00:00:00:09', yiaddr: '10.0.1.9', serverId: '10.0.1.1' }) }) })),
  ];
  const snaplen = 64;
  const run = await runConfig({ frames, policy: { translate: TRANSLATE, sessions: [{ id: 1, snaplen }] } });
  t.teardown(run.dispose);
  t.deepEqual(run.shadow[0]!.map((b) => b.length), [90, 64, frames[2]!.length], 'headers kept whole; the rest cut at snaplen');
  const c = sessionCounters(run, 1);
  t.is(c.mirroredPackets, 3, 'no copy dropped for a cut header');
  t.is(c.dropped.malformed, 0);
  t.is(c.truncated, 2, 'the TCP and UDP copies are truncated; DHCP is not');
  const rows = await decodeFields(run.shadowPaths[0]!, ['ipv6.src', 'ipv6.dst', 'tcp.srcport', 'ip.src', 'ip.dst', 'ip.checksum.status', 'dhcp.ip.your', 'dhcp.option.dhcp_server_id']);
  t.deepEqual([rows[0]!['ipv6.src']![0], rows[0]!['ipv6.dst']![0], rows[0]!['tcp.srcport']![0]], ['fd99:1::5', 'fd99:2::7', '5000']);
  t.deepEqual([rows[1]!['ip.src']![0], rows[1]!['ip.dst']![0], rows[1]!['ip.checksum.status']![0]], ['11.0.1.5', '11.0.2.7', '1']);
  t.deepEqual([rows[2]!['dhcp.ip.your']![0], rows[2]!['dhcp.option.dhcp_server_id']![0]], ['11.0.1.9', '11.0.1.1'], 'DHCP payload translated');
});

test.serial('rate cap: copies over the session\'s packets/s are dropped and counted (reason rate), production untouched', async (t) => {
  if (skip) return t.fail(skip);
  const frames = flows(1000); // 4,000 packets, replayed as fast as the worker reads
  const run = await runConfig({ frames, policy: { translate: TRANSLATE, sessions: [{ id: 1, rate: { pps: 100 } }] } });
  t.teardown(run.dispose);
  const c = sessionCounters(run, 1);
  t.is(run.production.length, frames.length);
  t.is(c.matched, frames.length);
  t.is(c.mirroredPackets + c.dropped.rate, c.sampled, 'every sampled copy is sent or dropped for the rate');
  t.true(c.dropped.rate > 0, `${c.dropped.rate} dropped for the rate`);
  t.true(c.mirroredPackets < frames.length / 2, `${c.mirroredPackets} copies sent under a 100 pps cap`);
  t.is(run.shadow[0]!.length, c.mirroredPackets);
});
