/**
 * Faults on the running data plane (issue 13): every run replays a capture
 * through the real host process (real addon, DPDK net_pcap vdevs) with a
 * fault table armed before the workers launch, and reads the production and
 * shadow captures back with tshark. Statistical bounds are 5 standard
 * deviations (or the chi-square quantile at 1e-6): a correct implementation
 * misses one with probability below one in a million; the seeds are fixed, so
 * a run is repeatable. Timing is never asserted (the machine is shared): the
 * delay statistics come from the applied delays the workers recorded
 * (faultDelaySamples), which do not depend on scheduling in reordering-jitter
 * mode.
 */
import test, { type ExecutionContext } from 'ava';
import { faultTable, indexedFrames, indexOf, PAYLOAD_AT, runFaults, within, type FaultRun } from '../helpers/fault-run.js';
import type { NativeStats } from '../../src/dataplane/native-types.js';
import { missingBuild, PolicyHost, policy, rule, session } from '../helpers/policy-host.js';

const skip = missingBuild();
const SHADOW_MACS = Buffer.from('025a00000002025a00000001', 'hex');

/** Production leaves byte for byte as it came in, faults or not. */
function productionIntact(t: ExecutionContext, r: FaultRun): void {
  t.is(r.production.length, r.input.length, 'every production frame forwarded');
  const bad = r.production.findIndex((f, i) => !f.equals(r.input[i]!));
  t.is(bad, -1, `production frame ${bad} differs from the input`);
}

/** A copy is the input frame with the shadow MACs (identity translation). */
function cleanCopy(t: ExecutionContext, copy: Buffer, input: Buffer): boolean {
  return copy.subarray(0, 12).equals(SHADOW_MACS) && copy.subarray(12).equals(input.subarray(12));
}

test.serial('random loss: 10 % of 20,000 copies within 5 sd, production untouched', async (t) => {
  if (skip) return t.fail(skip);
  const N = 20_000, P = 0.1;
  const r = await runFaults(indexedFrames(N), faultTable([{ id: 'loss', loss: { percent: 10 } }]));
  const f = r.faults.faults[0]!;
  t.is(f.matched, N);
  const lost = N - r.shadow.length;
  t.is(lost, f.dropped, 'what tshark does not see is what the fault dropped');
  t.true(within(lost, N * P, Math.sqrt(N * P * (1 - P))), `lost ${lost}, expected ${N * P} ± ${5 * Math.sqrt(N * P * (1 - P))}`);
  const idx = r.shadow.map(indexOf);
  t.true(idx.every((v, i) => i === 0 || v > idx[i - 1]!), 'survivors in order');
  t.true(r.shadow.every((c) => cleanCopy(t, c, r.input[indexOf(c)]!)), 'survivors unaltered');
  productionIntact(t, r);
});

test.serial('Gilbert-Elliott loss: rate within 5 sd and burst lengths geometric (chi-square at 1e-6)', async (t) => {
  if (skip) return t.fail(skip);
  const N = 40_000, p = 0.02, rr = 0.25;
  const r = await runFaults(indexedFrames(N), faultTable([{ id: 'ge', loss: { model: 'gemodel', p: '2%', r: '25%', '1-h': '100%', '1-k': '0%' } }]));
  const seen = new Uint8Array(N);
  for (const c of r.shadow) seen[indexOf(c)] = 1;
  const lost = N - r.shadow.length;
  t.is(lost, r.faults.faults[0]!.dropped);
  // The bad state's share, and the variance of a two-state chain's occupancy.
  const pi = p / (p + rr), lambda = 1 - p - rr;
  const sd = Math.sqrt(N * pi * (1 - pi) * (1 + lambda) / (1 - lambda));
  t.true(within(lost, N * pi, sd), `lost ${lost}, expected ${Math.round(N * pi)} ± ${Math.round(5 * sd)}`);
  // With 1-h = 100 % and 1-k = 0, a burst is a stay in the bad state: P(L = k) = r (1 - r)^(k - 1).
  const bursts: number[] = [];
  let run = 0;
  for (let i = 0; i < N; i++) {
    if (!seen[i]) run++;
    else if (run > 0) {
      bursts.push(run);
      run = 0;
    }
  }
  const K = 8; // bins 1..7 and >= 8
  const obs = new Array<number>(K).fill(0);
  for (const b of bursts) obs[Math.min(b, K) - 1]!++;
  let chi2 = 0;
  for (let k = 1; k <= K; k++) {
    const pk = k < K ? rr * (1 - rr) ** (k - 1) : (1 - rr) ** (K - 1);
    const e = bursts.length * pk;
    chi2 += (obs[k - 1]! - e) ** 2 / e;
  }
  t.log(`lost ${lost} (expected ${Math.round(N * pi)}), ${bursts.length} bursts, chi-square ${chi2.toFixed(2)}: ${obs.join(' ')}`);
  t.true(bursts.length > 500, `${bursts.length} bursts`);
  t.true(chi2 < 40.52, `chi-square ${chi2.toFixed(2)} over ${bursts.length} bursts (df 7, 1e-6 quantile 40.52): ${obs.join(' ')}`);
  productionIntact(t, r);
});

/** Bits set in a ^ b, with their positions (byte, bit). */
function flips(a: Buffer, b: Buffer): { byte: number; bit: number }[] {
  const out: { byte: number; bit: number }[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! ^ b[i]!;
    for (let k = 0; k < 8; k++) if (x >> k & 1) out.push({ byte: i, bit: k });
  }
  return out;
}

test.serial('corruption: copies differ from the original in exactly the 3 flipped bits after the offset, counted', async (t) => {
  if (skip) return t.fail(skip);
  const N = 4_000, P = 0.5;
  const r = await runFaults(indexedFrames(N), faultTable([{ id: 'cor', corrupt: { percent: 50, bits: 3, offset: PAYLOAD_AT + 4 } }]));
  t.is(r.shadow.length, N);
  let corrupted = 0, badSum = 0, cancelling = 0;
  r.shadow.forEach((c, i) => {
    const orig = r.input[i]!;
    const expect = Buffer.concat([SHADOW_MACS, orig.subarray(12)]);
    const d = flips(c, expect);
    if (d.length === 0) {
      if (r.shadowUdp[i] !== 1) t.fail(`clean copy ${i} has UDP checksum status ${r.shadowUdp[i]}`);
      return;
    }
    corrupted++;
    if (d.length !== 3 || d.some((x) => x.byte < PAYLOAD_AT + 4)) t.fail(`copy ${i}: flips ${JSON.stringify(d)}`);
    // Not fixed: the UDP checksum now fails, unless the flips cancel in the ones' complement sum.
    const delta = d.reduce((s, x) => s + ((expect[x.byte]! >> x.bit & 1) ? -1 : 1) * 2 ** (x.bit + ((x.byte - PAYLOAD_AT) % 2 === 0 ? 8 : 0)), 0);
    if (((delta % 0xffff) + 0xffff) % 0xffff === 0) cancelling++;
    else if (r.shadowUdp[i] === 0) badSum++;
  });
  t.is(corrupted, r.faults.faults[0]!.corrupted, 'tshark sees as many corrupted copies as were counted');
  t.true(within(corrupted, N * P, Math.sqrt(N * P * (1 - P))), `corrupted ${corrupted}`);
  t.log(`corrupted ${corrupted}, UDP checksum bad ${badSum}, flips cancelling ${cancelling}`);
  t.is(badSum + cancelling, corrupted, 'every corrupted copy fails its UDP checksum (unless its flips cancel)');
  productionIntact(t, r);
});

test.serial('duplication and reordering: counts within 5 sd, every copy once or twice, two increasing streams', async (t) => {
  if (skip) return t.fail(skip);
  const N = 10_000;
  const r = await runFaults(indexedFrames(N), faultTable([
    { id: 'dupre', duplicate: { percent: 5 }, delay: { time: '5ms' }, reorder: { percent: 25, gap: 1 }, limit: 60_000 },
  ]));
  const f = r.faults.faults[0]!;
  t.is(f.overflowed, 0);
  const count = new Uint16Array(N);
  for (const c of r.shadow) count[indexOf(c)]!++;
  t.true(count.every((c) => c === 1 || c === 2), 'every copy leaves once or twice');
  const twice = count.reduce((s, c) => s + (c === 2 ? 1 : 0), 0);
  t.is(twice, f.duplicated);
  t.is(r.shadow.length, N + f.duplicated);
  t.true(within(twice, N * 0.05, Math.sqrt(N * 0.05 * 0.95)), `duplicated ${twice}`);
  t.true(within(f.reordered, N * 0.25, Math.sqrt(N * 0.25 * 0.75)), `reordered ${f.reordered}`);
  // Sent at once or after the delay: the output merges two increasing
  // streams (no decreasing run of 3), and some copy overtook another.
  const idx = r.shadow.map(indexOf);
  const tops: number[] = [];
  let inversions = 0;
  for (const v of idx) {
    const pile = tops.findIndex((top) => top <= v);
    if (pile < 0) tops.push(v);
    else tops[pile] = v;
    if (idx.length && v < Math.max(...tops)) inversions++;
  }
  t.true(tops.length <= 2, `${tops.length} decreasing piles: not two increasing streams`);
  t.log(`duplicated ${twice}, reordered ${f.reordered}, ${inversions} copies behind a later one`);
  t.true(inversions > 0, 'no copy overtook another');
  productionIntact(t, r);
});

const MIX = [{ id: 'mix', loss: { percent: 5 }, corrupt: { percent: 10 }, duplicate: { percent: 5 }, delay: { time: '2ms' }, limit: 60_000 }];

test.serial('the same seed twice gives byte-identical shadow output; another seed does not', async (t) => {
  if (skip) return t.fail(skip);
  const frames = indexedFrames(5_000);
  const a = await runFaults(frames, faultTable(MIX, 42n));
  const b = await runFaults(frames, faultTable(MIX, 42n));
  const c = await runFaults(frames, faultTable(MIX, 43n));
  t.is(a.shadow.length, b.shadow.length);
  t.true(a.shadow.every((x, i) => x.equals(b.shadow[i]!)), 'seed 42 twice: the same bytes in the same order');
  t.deepEqual(a.faults.faults, b.faults.faults);
  t.false(a.shadow.length === c.shadow.length && a.shadow.every((x, i) => x.equals(c.shadow[i]!)), 'seed 43 gives other decisions');
  for (const r of [a, b, c]) productionIntact(t, r);
});

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

test.serial('delay 10 ms ± 2 ms normal, correlation 25 %: applied delays recorded by the workers within tolerance', async (t) => {
  if (skip) return t.fail(skip);
  const N = 20_000, mu = 10e6, sigma = 2e6, rho = 0.25;
  const r = await runFaults(indexedFrames(N), faultTable([
    { id: 'jit', delay: { time: '10ms', jitter: '2ms', distribution: 'normal', correlation: '25%', reorder: true }, limit: 60_000 },
  ]), { samples: true });
  const s = r.samples!;
  const f = r.faults.faults[0]!;
  t.is(f.delayed, N);
  t.is(f.released, N);
  t.is(s.length, N, 'one applied delay per copy');
  const hist = r.faults.delayHist[String(f.id)]!;
  t.is(hist.count, N);
  t.is(hist.sumNs, s.reduce((a, b) => a + b, 0), 'the histogram sums the recorded delays');
  t.is(r.faults.releaseErrorHist.count, N);
  const mean = s.reduce((a, b) => a + b, 0) / N;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1));
  let c1 = 0;
  for (let i = 1; i < N; i++) c1 += (s[i]! - mean) * (s[i - 1]! - mean);
  const lag1 = c1 / ((N - 1) * sd * sd);
  const sorted = Float64Array.from(s).sort();
  // Sampling sd of each estimate, inflated for the correlation ((1 + rho) / (1 - rho)).
  const infl = Math.sqrt((1 + rho) / (1 - rho));
  const medSd = 1.2533 * sigma / Math.sqrt(N) * infl;
  const p99Sd = Math.sqrt(0.99 * 0.01 / N) / (0.02665 / sigma) * infl;
  t.true(within(quantile(sorted, 0.5), mu, medSd), `median ${quantile(sorted, 0.5)}`);
  t.true(within(quantile(sorted, 0.99), mu + 2.3263 * sigma, p99Sd), `p99 ${quantile(sorted, 0.99)}`);
  t.log(`median ${quantile(sorted, 0.5)} p99 ${quantile(sorted, 0.99)} sd ${sd.toFixed(0)} lag-1 ${lag1.toFixed(4)}`);
  t.true(Math.abs(sd / sigma - 1) <= 0.05, `jitter sd ${sd} against ${sigma}`);
  t.true(Math.abs(lag1 - rho) <= 0.05, `lag-1 autocorrelation ${lag1.toFixed(4)}`);
  t.is(r.shadow.length, N);
  productionIntact(t, r);
});

test.serial('order-preserving jitter: every copy leaves in order, applied delays counted in both histograms', async (t) => {
  if (skip) return t.fail(skip);
  const N = 5_000;
  const r = await runFaults(indexedFrames(N), faultTable([
    { id: 'ord', delay: { time: '10ms', jitter: '2ms', distribution: 'normal' }, limit: 60_000 },
  ]));
  const f = r.faults.faults[0]!;
  const idx = r.shadow.map(indexOf);
  t.is(idx.length, N);
  t.true(idx.every((v, i) => v === i), 'copies leave in the order they came');
  t.is(r.faults.delayHist[String(f.id)]!.count, N);
  t.is(r.faults.releaseErrorHist.count, N);
  // Order kept: a copy never leaves before the one before it, so the applied mean is at least the drawn one's lower bound.
  t.true(r.faults.delayHist[String(f.id)]!.sumNs / N >= 9.5e6, 'applied delays at least the configured mean');
  productionIntact(t, r);
});

test.serial('link_down: the shadow port receives nothing, the warnings say how, production untouched', async (t) => {
  if (skip) return t.fail(skip);
  const N = 2_000;
  const r = await runFaults(indexedFrames(N), faultTable([{ id: 'down', kind: 'link_down', match: { port: 'shadow0' } }]));
  t.is(r.shadow.length, 0);
  t.is(r.faults.faults[0]!.dropped, N);
  t.true(r.logs.some((l) => /link_down after start.*port 'shadow0': link_down: (link set down \(rte_eth_dev_set_link_down\)|rte_eth_dev_set_link_down not supported)/.test(l)), r.logs.join('\n'));
  productionIntact(t, r);
});

test.serial('live: a table swapped in while traffic flows takes effect, [] disarms, a bad table is refused naming the field and changes nothing', async (t) => {
  if (skip) return t.fail(skip);
  const h = new PolicyHost({
    frames: indexedFrames(64), infinite: true, rxPps: 20_000, sink: 'null', shadowPorts: 1,
    policy: policy({ sessions: [session({ slot: 0 })], rules: [rule(0, 0)] }),
  });
  const until = async (ok: (s: NativeStats) => boolean, what: string): Promise<NativeStats> => {
    const end = Date.now() + 60_000;
    for (;;) {
      const s = await h.stats();
      if (ok(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s.faults)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await h.start();
    const s0 = await until((s) => s.mirrorPackets > 1000, 'copies');
    t.is(s0.faults!.faults.length, 0, 'nothing armed');
    const hole = faultTable([{ id: 'hole', kind: 'blackhole', match: {} }], 7n, 2);
    t.deepEqual(await h.setFaults(hole), { generation: 2, warnings: [] });
    const s1 = await until((s) => (s.faults!.faults[0]?.dropped ?? 0) > 1000, 'the blackhole');
    const s2 = await until((s) => s.faults!.faults[0]!.dropped > s1.faults!.faults[0]!.dropped + 500, 'more drops');
    t.is(s2.faults!.generation, 2);
    t.true(s2.mirrorPackets - s1.mirrorPackets <= 64, `copies still sent under the blackhole: ${s2.mirrorPackets - s1.mirrorPackets}`);
    // Refused tables: nothing changes.
    const big = { ...hole, generation: 3, lineCapacity: 1_000_000 };
    const e1 = await t.throwsAsync(h.setFaults(big));
    t.is((e1 as Error & { code: string }).code, 'ST_ERR_FAULT_INVALID');
    t.is((e1 as Error & { field: string }).field, 'lineCapacity');
    const lossy = faultTable([{ id: 'x', loss: { percent: 1 } }], 7n, 4);
    lossy.faults[0]!.loss = [1.5, 0, 0, 0, 0];
    const e2 = await t.throwsAsync(h.setFaults(lossy));
    t.is((e2 as Error & { code: string }).code, 'ST_ERR_FAULT_INVALID');
    t.regex((e2 as Error & { field: string }).field, /^faults\[0\]\.loss/);
    const notype = { ...hole, generation: 5, faults: [{ ...hole.faults[0]!, delayNs: -1 }] };
    const e3 = await t.throwsAsync(h.setFaults(notype));
    t.is((e3 as Error & { field: string }).field, 'faults[0].delayNs');
    t.is((await h.stats()).faults!.generation, 2, 'the refused tables changed nothing');
    // Disarm: copies flow again.
    t.deepEqual(await h.setFaults(faultTable([], 7n, 6)), { generation: 6, warnings: [] });
    const s3 = await h.stats();
    await until((s) => s.mirrorPackets > s3.mirrorPackets + 500, 'copies after disarming');
    await h.stop();
  } finally {
    await h.kill();
    h.dispose();
  }
});
