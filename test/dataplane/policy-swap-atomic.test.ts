/**
 * Swap atomicity under load, through the REAL data plane: a finite capture
 * is replayed at a fixed rate while two policies are installed in turn, as
 * fast as the data plane takes them. They differ in everything a copy shows:
 *
 *   policy A: UDP dport 1000-2000 → shadow0 (port 2), VLAN 100, 10.0/16 → 10.1/16, source MAC 02:aa:..
 *   policy B: UDP dport 2000-3000 → shadow1 (port 3), VXLAN VNI 200, 10.0/16 → 10.2/16, source MAC 02:bb:..
 *
 * Frames cycle through dport 1000, 2000, 3000 (A only, both, B only). Every
 * copy must be wholly one generation (port, encapsulation, address space,
 * MAC and filter agree), every dport-2000 frame has exactly one copy, and so
 * every frame's generation is known (a dport-1000 frame without a copy saw B;
 * a dport-3000 frame without one saw A). Frames are handled in order by one
 * worker, so along the capture the generation may change at most once per
 * install. The copies are read by tshark; counters must add up.
 */
import test, { type ExecutionContext } from 'ava';
import { ENCAP } from '../../src/dataplane/native-types.js';
import { ether, ip4, ipv4, mac, udp } from '../../src/pcap/build.js';
import { decodeFrameFields } from '../helpers/policy-run.js';
import { missingBuild, policy, PolicyHost, rule, session, target } from '../helpers/policy-host.js';

const skip = missingBuild();
const M = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const N = 30_000;
const PPS = 6_000;
const DPORTS = [1000, 2000, 3000] as const;
const MAC_A = '02:aa:00:00:00:0a';
const MAC_B = '02:bb:00:00:00:0b';

const hostOf = (i: number): string => `${(i >> 8) & 255}.${i & 255}`;
const frames = Array.from({ length: N }, (_, i) =>
  ether(M, ipv4({ src: `10.0.${hostOf(i)}`, dst: '10.0.250.1', id: i, payload: udp({ sport: 40000, dport: DPORTS[i % 3]!, payload: Buffer.alloc(16) }) })));

const u32 = (a: string): number => ip4(a).readUInt32BE(0);
const v16 = (a: string): Uint8Array => {
  const b = new Uint8Array(16);
  b.set(ip4(a));
  return b;
};

function policyA(generation: number) {
  return policy({
    generation,
    sessions: [session({ slot: 0, target: 0 })],
    rules: [rule(0, 0, { proto: 17, dport: [1000, 2000] })],
    targets: [{ ...target([2]), encap: ENCAP.vlan, vlanId: 100 }],
    map4: [{ from: u32('10.0.0.0'), to: u32('10.1.0.0'), len: 16 }],
    defaultSrcMac: new Uint8Array(mac(MAC_A)),
  });
}

function policyB(generation: number) {
  return policy({
    generation,
    sessions: [session({ slot: 0, target: 0 })],
    rules: [rule(0, 0, { proto: 17, dport: [2000, 3000] })],
    targets: [{
      ...target([3]), encap: ENCAP.vxlan, vni: 200, outerSrc: v16('192.0.2.10'), outerDst: v16('192.0.2.1'),
      outerSrcMac: new Uint8Array(mac('02:cc:00:00:00:01')), outerDstMac: new Uint8Array(mac('02:cc:00:00:00:02')),
    }],
    map4: [{ from: u32('10.0.0.0'), to: u32('10.2.0.0'), len: 16 }],
    defaultSrcMac: new Uint8Array(mac(MAC_B)),
  });
}

const last = (r: Record<string, string[]>, f: string): string | undefined => r[f]?.[r[f]!.length - 1];

type Maker = (generation: number) => ReturnType<typeof policy>;

/** Start with a(1), then install b, a, b... while the paced capture is read; stop once it is all in. */
async function swapUnderTraffic(t: ExecutionContext, a: Maker, b: Maker, n: number) {
  const h = new PolicyHost({ frames: frames.slice(0, n), rxPps: PPS, policy: a(1), shadowPorts: 2 });
  t.teardown(async () => {
    await h.kill();
    h.dispose();
  });
  await h.start();
  // Swap while the capture is still being read; count the installs that
  // finished while traffic flowed (the only ones that can show in the copies).
  let generation = 1;
  let duringTraffic = 0;
  const applyMs: number[] = [];
  for (;;) {
    const rx = (await h.stats()).ports[0]?.rxPackets ?? 0;
    if (rx >= n) break;
    if (rx === 0) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    generation++;
    const r = await h.install(generation % 2 === 0 ? b(generation) : a(generation));
    t.is(r.generation, generation);
    applyMs.push(r.applyMs);
    duringTraffic++;
  }
  const stats = await h.settle(n);
  const pol = await h.policyStats();
  await h.stop();
  t.log(`${duringTraffic} installs during ${n} packets at ${PPS} pps; apply ${Math.min(...applyMs).toFixed(1)}..${Math.max(...applyMs).toFixed(1)} ms`);
  const prod = h.production();
  t.is(prod.length, n, 'zero production loss');
  t.is(prod.findIndex((x, i) => !x.equals(frames[i]!)), -1, 'production output is the input, byte for byte');
  t.is(stats.ports[1]?.txDropped, 0);
  const fields = ['vlan.id', 'vxlan.vni', 'eth.src', 'ip.src', 'ip.id', 'udp.dstport'];
  return { stats, pol, generation, duringTraffic, shadow: [await decodeFrameFields(h.shadow(0), fields), await decodeFrameFields(h.shadow(1), fields)] };
}

/** How often the generation changes along the capture (frames are handled in order by one worker). */
function changes(gen: ReadonlyArray<string | undefined>): number {
  let n = 0;
  for (let i = 1; i < gen.length; i++) if (gen[i] !== gen[i - 1]) n++;
  return n;
}

test.serial('every copy follows exactly one generation while policies swap under paced traffic; counters add up', async (t) => {
  if (skip) return t.fail(skip);
  const { stats, pol, generation, duringTraffic, shadow: [a, b] } = await swapUnderTraffic(t, policyA, policyB, N);
  if (!a || !b) throw new Error('two shadow captures expected');

  // Copies, decoded by tshark.
  const gen = new Array<'A' | 'B' | undefined>(N);
  const copies = new Array<number>(N).fill(0);
  const bad: string[] = [];
  for (const [which, rows] of [['A', a], ['B', b]] as const) {
    for (const r of rows) {
      const id = parseInt(last(r, 'ip.id') ?? '', 16);
      const dport = Number(last(r, 'udp.dstport'));
      const want = which === 'A'
        ? { vlan: '100', vni: undefined, mac: MAC_A, net: '10.1', dports: [1000, 2000] }
        : { vlan: undefined, vni: '200', mac: MAC_B, net: '10.2', dports: [2000, 3000] };
      const ok = Number.isInteger(id) && id >= 0 && id < N &&
        r['vlan.id']?.[0] === want.vlan && r['vxlan.vni']?.[0] === want.vni &&
        last(r, 'eth.src') === want.mac && last(r, 'ip.src') === `${want.net}.${hostOf(id)}` &&
        want.dports.includes(dport) && dport === DPORTS[id % 3];
      if (!ok) bad.push(`${which}: ${JSON.stringify(r)}`);
      if (Number.isInteger(id) && id >= 0 && id < N) {
        copies[id]!++;
        gen[id] = which;
      }
    }
  }
  t.deepEqual(bad.slice(0, 5), [], `${bad.length} copies mix generations or are not what their generation makes`);
  t.deepEqual(copies.map((c, i) => [i, c]).filter(([, c]) => c! > 1).slice(0, 5), [], 'no frame copied twice');
  const lost = copies.map((c, i) => [i, c]).filter(([i, c]) => DPORTS[i! % 3] === 2000 && c === 0);
  t.deepEqual(lost.slice(0, 5), [], 'every dport-2000 frame (both policies take it) has exactly one copy');
  for (let i = 0; i < N; i++) if (gen[i] === undefined) gen[i] = DPORTS[i % 3] === 1000 ? 'B' : 'A';
  const switches = changes(gen);
  t.log(`generation changes along the capture: ${switches}`);
  t.true(switches >= 1, `the copies show both generations: installs during traffic took effect (${switches} changes, ${duringTraffic} installs)`);
  t.true(switches <= duringTraffic, `at most one change per install (${switches} changes, ${duringTraffic} installs)`);
  t.is(gen[0], 'A', 'the first frames saw the initial policy');

  // Counters: one session slot across all generations.
  const s = pol.sessions[0]!;
  const sent = a.length + b.length;
  const drops = Object.values(s.dropped).reduce((x, y) => x + y, 0);
  t.is(pol.generation, generation);
  t.is(s.mirroredPackets, sent, 'mirrored = copies in the captures');
  t.is(s.matched, sent + drops, 'decisions = copies sent + drops');
  t.is(drops, 0, 'captures refuse nothing: no drops');
  t.is(s.matched, gen.filter((g, i) => (g === 'A' ? DPORTS[i % 3] !== 3000 : DPORTS[i % 3] !== 1000)).length, 'decisions = the frames each one\'s generation accepts');
  t.is(pol.ruleHits[0], s.matched, 'rule hits');
  t.is(stats.ports[2]?.txPackets, a.length);
  t.is(stats.ports[3]?.txPackets, b.length);
});

/**
 * Narrower pairs: the same filter, target and encapsulation, only one
 * topology field differs, so only that field can tell the generations apart
 * (the data plane shares rewrite tables between policies of the same
 * topology; a pair that differs in one field alone must never share them).
 */
const N_NARROW = 12_000;
const plain = (generation: number, to: string, srcMac: string) => policy({
  generation,
  sessions: [session({ slot: 0, target: 0 })],
  rules: [rule(0, 0, { proto: 17, dport: [1000, 2000] })],
  targets: [{ ...target([2]), encap: ENCAP.vlan, vlanId: 100 }],
  map4: [{ from: u32('10.0.0.0'), to: u32(to), len: 16 }],
  defaultSrcMac: new Uint8Array(mac(srcMac)),
});
const NARROW: Array<{ what: string; a: Maker; b: Maker; tell: (r: Record<string, string[]>, id: number) => string }> = [
  {
    what: 'only the prefix map differs (10.0/16 → 10.1/16 or → 10.2/16)',
    a: (g) => plain(g, '10.1.0.0', MAC_A), b: (g) => plain(g, '10.2.0.0', MAC_A),
    tell: (r, id) => ({ [`10.1.${hostOf(id)}`]: 'A', [`10.2.${hostOf(id)}`]: 'B' })[last(r, 'ip.src') ?? ''] ?? `? ${last(r, 'ip.src')}`,
  },
  {
    what: 'only the default source MAC differs',
    a: (g) => plain(g, '10.1.0.0', MAC_A), b: (g) => plain(g, '10.1.0.0', MAC_B),
    tell: (r) => ({ [MAC_A]: 'A', [MAC_B]: 'B' })[last(r, 'eth.src') ?? ''] ?? `? ${last(r, 'eth.src')}`,
  },
];

for (const c of NARROW) {
  test.serial(`swaps under traffic where ${c.what}: every copy is one generation's`, async (t) => {
    if (skip) return t.fail(skip);
    const { pol, duringTraffic, shadow: [a, b] } = await swapUnderTraffic(t, c.a, c.b, N_NARROW);
    if (!a || !b) throw new Error('two shadow captures expected');
    t.is(b.length, 0, 'nothing on the other shadow port');
    const want = frames.slice(0, N_NARROW).flatMap((_, i) => (DPORTS[i % 3] === 3000 ? [] : [i]));
    const ids = a.map((r) => parseInt(last(r, 'ip.id') ?? '', 16));
    t.deepEqual(ids.filter((id, k) => id !== want[k]).slice(0, 5), [], 'one copy of every frame the filter takes, in order');
    t.is(ids.length, want.length);
    const gen = a.map((r, k) => c.tell(r, ids[k]!));
    t.deepEqual(gen.filter((g) => g !== 'A' && g !== 'B').slice(0, 5), [], 'every copy wholly one generation\'s');
    const switches = changes(gen);
    t.log(`generation changes along the copies: ${switches}`);
    t.true(switches >= 1, `the copies show both generations: installs during traffic took effect (${switches} changes, ${duringTraffic} installs)`);
    t.true(switches <= duringTraffic, `at most one change per install (${switches} changes, ${duringTraffic} installs)`);
    t.is(pol.sessions[0]!.mirroredPackets, want.length);
  });
}
