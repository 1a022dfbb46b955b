/**
 * Garbage on the supervisor <-> data-plane channel (src/dataplane/protocol.ts),
 * caused for real in both directions:
 * - a child process that answers with garbage (fixtures/garbage-host.ts,
 *   forked by the real supervisor over the real IPC channel): the start
 *   fails at once with ST_ERR_PROTOCOL naming the field (not a timeout
 *   later), and the child is gone;
 * - garbage sent to the real data-plane host: each refused with
 *   ST_ERR_PROTOCOL naming the field, and the running data plane keeps
 *   running.
 */
import test from 'ava';
import { fileURLToPath } from 'node:url';
import type { ShadowtapError } from '../../src/errors.js';
import type { ToHost } from '../../src/dataplane/protocol.js';
import { makeSupervisor, processExists, scratch, until, vdevConfig } from '../helpers/supervised.js';
import { HostUnderTest, missingBuild } from './real-host.js';

const GARBAGE_HOST = fileURLToPath(new URL('./fixtures/garbage-host.js', import.meta.url));

function garbageSupervisor(tag: string, how: string) {
  const s = scratch(tag);
  // A start timeout far beyond the test's patience: a timeout would show up as a failed test, not as a pass.
  const sup = makeSupervisor(`st-err-${tag}-${process.pid}`, vdevConfig(s.capture), {
    hostPath: GARBAGE_HOST,
    env: { ...process.env, ST_GARBAGE: how },
    startTimeoutMs: 100_000,
    requestTimeoutMs: 100_000,
  });
  return { sup, dispose: async () => {
    await sup.stop();
    s.dispose();
  } };
}

const cases: [string, string, RegExp][] = [
  ['wrong-type', 'type', /expected "started" in answer to "start" \(id 1\), got "stats"/],
  ['not-object', '(message)', /expected an object with a type, got the string "garbage"/],
  ['bad-ports', 'ports', /ports: expected an array of ports, each with a portId, got the string "eth0"/],
  ['unknown-type', 'type', /type: expected one of hello, log, started, .*got the string "bogus"/],
  ['bad-hello', 'pid', /pid: expected a process id, got the string "me"/],
];

for (const [how, field, message] of cases) {
  test(`a child that answers the start with garbage (${how}): ST_ERR_PROTOCOL naming ${field}, the child is gone`, async (t) => {
    const g = garbageSupervisor(`proto-${how}`, how);
    t.teardown(g.dispose);
    const pids: number[] = [];
    g.sup.on('started', (e) => pids.push(e.pid));
    const err = await g.sup.start().then(() => undefined, (e: unknown) => e as ShadowtapError);
    t.is(err?.code, 'ST_ERR_PROTOCOL', err?.message);
    t.is(err?.statusCode, 500);
    t.is(err?.field, field);
    t.regex(err?.message ?? '', /sent a message the supervisor does not understand/);
    t.regex(err?.message ?? '', message);
    t.is(g.sup.status().state, 'failed');
    t.is(g.sup.status().lastError?.code, 'ST_ERR_PROTOCOL');
    t.is(pids.length, 1);
    t.false(processExists(pids[0]!), 'the child that spoke garbage is gone');
  });
}

test('a running child that answers a stats poll with garbage is killed and restarted, the reason recorded', async (t) => {
  const g = garbageSupervisor('proto-stats', 'bad-stats');
  t.teardown(g.dispose);
  const reasons: string[] = [];
  g.sup.on('restarting', (e) => reasons.push(e.reason));
  await g.sup.start();
  const first = g.sup.childPid()!;
  await until('a restart is scheduled', () => reasons.length > 0, 30_000);
  t.regex(reasons[0]!, new RegExp(`data-plane process ${first} killed by SIGKILL: data-plane process ${first} sent a message the supervisor does not understand: stats: expected counters with ports and workers arrays, got number 5`));
  t.false(processExists(first));
  t.regex(g.sup.status().lastError?.message ?? '', /does not understand: stats/);
});

const skip = missingBuild();

test('garbage sent to the real host: ST_ERR_PROTOCOL naming the field each time, and the data plane keeps running', async (t) => {
  if (skip) return t.fail(skip);
  const h = new HostUnderTest('proto-host');
  t.teardown(() => h.kill());
  await h.hello();
  await h.start();
  const before = await h.flowing();
  const bad: [unknown, string, RegExp][] = [
    ['garbage', '(message)', /expected an object with a type and an id, got the string "garbage"/],
    [{ type: 'bogus', id: 41 }, 'type', /unknown request type the string "bogus"; expected one of start, prepare, forwardOnly, policy/],
    [{ type: 'flowProgram', id: 42, flush: 'x', rules: 5 }, 'flush', /expected an array of plan port indexes, got the string "x"/],
    [{ type: 'flowProgram', id: 43, flush: [0], rules: 5 }, 'rules', /expected an array, got number 5/],
    [{ type: 'policy', id: 44 }, 'policy', /expected an object, got undefined/],
    [{ type: 'start', id: 45, ealArgs: 'x', plan: {} }, 'ealArgs', /expected an array of strings, got the string "x"/],
    [{ type: 'stats', id: -1 }, 'id', /expected a non-negative integer request id, got number -1/],
  ];
  for (const [msg, field, message] of bad) {
    const id = typeof (msg as { id?: unknown }).id === 'number' && (msg as { id: number }).id >= 0 ? (msg as { id: number }).id : 0;
    const err = await h.refused(msg as ToHost, 'stats', 30_000, id);
    t.is(err.code, 'ST_ERR_PROTOCOL', JSON.stringify(msg));
    t.is(err.field, field, JSON.stringify(msg));
    t.regex(err.message, message);
  }
  const after = await h.flowing(before);
  t.true(after.mirrorPackets > before.mirrorPackets, 'the data plane kept mirroring');
  t.false(h.channel.hasExited, 'a garbage start did not end the host');
  await h.channel.stop();
  t.true(h.runtimeDirGone());
});
