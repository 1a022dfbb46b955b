/**
 * The fault stages' short forms (impair_stage.c): a simple policy keeps the
 * short path while a fault that does not duplicate is armed. They must be
 * indistinguishable from the general forms: the same capture, with the same
 * fault table and seed, goes through the simple policy and through the same
 * policy made general by a second session that takes nothing; both runs must
 * give the same copies (tshark's bytes; compared as sets, since a delay's
 * due time follows the arrival clock, and reordered copies overtake by how
 * much), the same per-fault counters, copies of an order-kept fault in
 * their input order, and production untouched.
 */
import test from 'ava';
import { indexOf, indexedFrames, PAYLOAD_AT, faultTable, runFaults, type FaultRun } from '../helpers/fault-run.js';
import { missingBuild, policy, rule, session } from '../helpers/policy-host.js';

const skip = missingBuild();
const N = 3_000;

const table = () => faultTable([
  // sport 4000..4007 (indexedFrames: 4000 + i % 16): loss, corruption, order-kept normal jitter
  { id: 'a', match: { protocol: 'udp', sport: '4000-4007' }, loss: { percent: 20 }, corrupt: { percent: 10, bits: 2, offset: PAYLOAD_AT + 4 }, delay: { time: '2ms', jitter: '1ms', distribution: 'normal' }, limit: 20_000 },
  // the rest, by destination port: loss, a constant delay and netem's reordering
  { id: 'b', match: { dport: 5000 }, loss: { percent: 5 }, delay: { time: '1ms' }, reorder: { percent: 10, gap: 2 }, limit: 20_000 },
], 99n);

const simple = () => policy({ sessions: [session({ slot: 0 })], rules: [rule(0, 0)] });
/** The same policy made general: a second session with no rule takes nothing. */
const general = () => {
  const p = simple();
  return { ...p, sessions: [...p.sessions, session({ slot: 1 })] };
};

const counters = (r: FaultRun) => r.faults.faults.map((f) => [f.id, f.matched, f.dropped, f.delayed, f.corrupted, f.reordered, f.released, f.overflowed]);
const sortedHex = (fs: Buffer[]) => fs.map((f) => f.toString('hex')).sort();

test.serial('a fault armed on a simple policy: the short path gives the general path\'s copies and counters', async (t) => {
  if (skip) return t.fail(skip);
  const input = indexedFrames(N);
  const short = await runFaults(input, table(), { policy: simple() });
  const gen = await runFaults(input, table(), { policy: general() });

  const [a, b] = short.faults.faults;
  const fromA = input.filter((_, i) => i % 16 < 8).length;
  t.is(a!.matched, fromA, 'fault a took the copies from sports 4000..4007');
  t.is(b!.matched, N - fromA, 'fault b the rest');
  t.true(a!.dropped > 0 && a!.corrupted > 0 && b!.reordered > 0, 'every impairment acted');
  t.deepEqual(counters(short), counters(gen), 'the same decisions');
  t.is(short.shadow.length, gen.shadow.length);
  t.deepEqual(sortedHex(short.shadow), sortedHex(gen.shadow), 'the same copies, byte for byte');
  for (const r of [short, gen]) {
    const ofA = r.shadow.map(indexOf).filter((i) => i % 16 < 8);
    t.true(ofA.every((v, k) => k === 0 || v > ofA[k - 1]!), 'fault a keeps its copies in order');
    t.deepEqual(r.production.map((f) => f.toString('hex')), r.input.map((f) => f.toString('hex')), 'production byte-identical');
  }
});
