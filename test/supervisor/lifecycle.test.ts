/**
 * The lifecycle's events, on the REAL data-plane host (net_pcap replay into
 * net_null sinks): state changes in order across a crash and a restart, a
 * `stats` snapshot from every poll of the child that is running, and
 * counter totals that are exactly the sum of each child's last snapshot.
 */
import test from 'ava';
import type { NativeStats } from '../../src/dataplane/native-types.js';
import { makeSupervisor, missingBuild, scratch, until, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();

(skip ? test.skip : test)('state, ready, stats and exited events across a restart; totals are the sum of each child\'s last snapshot', async (t) => {
  const s = scratch('lifecycle');
  t.teardown(() => s.dispose());
  const prefixBase = `st-lifecycle-${process.pid}`;
  const sup = makeSupervisor(prefixBase, vdevConfig(s.capture));
  t.teardown(() => sup.stop());
  const states: string[] = [];
  const readyPids: number[] = [];
  /** per child pid, the snapshots its polls produced, in order */
  const snaps = new Map<number, NativeStats[]>();
  const seenAtExit: number[] = [];
  sup.on('state', (e) => states.push(`${e.previous}>${e.state}`));
  sup.on('ready', (e) => readyPids.push(e.pid));
  sup.on('stats', (e) => snaps.set(e.pid, [...(snaps.get(e.pid) ?? []), e.stats]));
  sup.on('exited', () => seenAtExit.push(sup.stats().mirrorPackets));

  await sup.start();
  const first = sup.childPid()!;
  await until('three polls with copies', () => (snaps.get(first) ?? []).filter((x) => x.mirrorPackets > 0).length >= 3);
  process.kill(first, 'SIGKILL');
  await until('a restarted data plane', () => sup.status().restarts === 1 && sup.state === 'running');
  const second = sup.childPid()!;
  await until('two polls of the restarted child', () => (snaps.get(second) ?? []).length >= 2);
  await sup.stop();

  t.deepEqual(states, ['stopped>starting', 'starting>running', 'running>backoff', 'backoff>starting', 'starting>running', 'running>stopped']);
  t.deepEqual(readyPids, [first, second]);
  t.deepEqual([...snaps.keys()], [first, second], 'snapshots come only from the child that is running');
  for (const [pid, list] of snaps) {
    const counts = list.map((x) => x.mirrorPackets);
    t.deepEqual(counts, [...counts].sort((a, b) => a - b), `child ${pid}: each poll counts from its own start, never backwards`);
  }
  const last = (pid: number) => snaps.get(pid)!.at(-1)!.mirrorPackets;
  t.true(last(first) > 0);
  t.deepEqual(seenAtExit, [last(first), last(first) + last(second)], 'at each exit the totals hold every child so far');
  t.is(sup.stats().mirrorPackets, last(first) + last(second));
  t.false(sup.stats().live);
});
