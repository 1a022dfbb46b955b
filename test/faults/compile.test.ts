/**
 * Checked faults into the native table: ids from names (stable across runs),
 * slots that stay put, epochs, seeds.
 */
import test from 'ava';
import { checkFaults, type FaultContext } from '../../src/faults/check.js';
import { compileFaults, faultNumber } from '../../src/faults/compile.js';

const CTX: FaultContext = {
  ports: [{ name: 'shadow-a', role: 'shadow' }],
  sessions: new Map(),
  maps: [],
  line: { pps: 10_000, capacity: 65_536, wheelSpanMs: 1000 },
};

function checked(ids: string[]) {
  const r = checkFaults(ids.map((id) => ({ id, loss: { percent: 1 } })), CTX);
  if (!r.faults) throw new Error(JSON.stringify(r.problems));
  return r.faults;
}

test('fault numbers are FNV-1a of the name: the same in every run', (t) => {
  t.is(faultNumber(''), 0x811c9dc5);
  t.is(faultNumber('a'), 0xe40c292c);
  t.is(faultNumber('foobar'), 0xbf9cf968);
  const c = compileFaults(checked(['vm-down', 'wan-loss']), { seed: 7n, generation: 3, line: CTX.line });
  t.deepEqual(c.table.faults.map((f) => f.id), [faultNumber('vm-down'), faultNumber('wan-loss')]);
  t.deepEqual([c.table.seed, c.table.generation, c.table.linePps, c.table.lineCapacity, c.table.wheelSpanNs], [7n, 3, 10_000, 65_536, 1e9]);
});

test('slots stay put while a fault exists; freed ones are reused; epochs pass through', (t) => {
  const first = compileFaults(checked(['a', 'b', 'c']), { seed: 1n, generation: 1, line: CTX.line });
  t.deepEqual([...first.slots], [['a', 0], ['b', 1], ['c', 2]]);
  const second = compileFaults(checked(['c', 'd', 'a']), {
    seed: 1n, generation: 2, line: CTX.line, previousSlots: first.slots, epochs: new Map([['a', 4]]),
  });
  t.deepEqual([...second.slots].sort(), [['a', 0], ['c', 2], ['d', 1]]);
  t.deepEqual(second.table.faults.map((f) => [f.slot, f.epoch]), [[2, 0], [1, 0], [0, 4]], 'table order is evaluation order');
});

test('seeds: 1 to 2^64 - 1', (t) => {
  t.throws(() => compileFaults([], { seed: 0n, generation: 1, line: CTX.line }), { message: /seed/ });
  t.throws(() => compileFaults([], { seed: 2n ** 64n, generation: 1, line: CTX.line }), { message: /seed/ });
  const r = checkFaults([{ id: 'x', netem: 'loss 1% seed 18446744073709551615' }], CTX);
  t.is(r.faults?.[0]?.native.seed, 2n ** 64n - 1n);
  const bad = checkFaults([{ id: 'x', seed: '18446744073709551616' }], CTX);
  t.is(bad.problems[0]?.path, 'faults[0].seed');
});
