/**
 * The fault table through the supervisor's lifecycle on the REAL host and
 * addon (net_pcap replaying the demo capture forever into net_null sinks): a
 * table set before the start is armed when the data plane starts, the stats
 * event carries the fault counters from the same poll, a data plane killed
 * with SIGKILL comes back with the same table armed, and a live setFaults
 * answers with the new generation and changes what the next polls see.
 */
import test from 'ava';
import type { NativeFaultStats } from '../../src/faults/native-types.js';
import { faultTable } from '../helpers/fault-run.js';
import { makeSupervisor, missingBuild, scratch, until, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();

test('faults survive a data-plane restart and are swapped live through lifecycle.setFaults', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('faults-lc');
  const sup = makeSupervisor(`st-faults-lc-${process.pid}`, vdevConfig(s.capture));
  const lc = sup.lifecycle;
  let last: { pid: number; faults?: NativeFaultStats; mirror: number } | null = null;
  lc.on('stats', (e) => {
    t.is(e.faults, e.stats.faults, 'the event carries the poll\'s fault counters');
    last = { pid: e.pid, ...(e.faults ? { faults: e.faults } : {}), mirror: e.stats.mirrorPackets };
  });
  const latest = () => last as { pid: number; faults?: NativeFaultStats; mirror: number } | null;
  try {
    const before = await lc.setFaults(faultTable([{ id: 'hole', kind: 'blackhole', match: {} }], 9n, 1));
    t.is(before.generation, 1);
    t.regex(before.warnings.join(' '), /armed when it starts/);
    await sup.start();
    const pid1 = lc.childPid()!;
    await until('copies blackholed by the first child', () => {
      const l = latest();
      return l?.pid === pid1 && (l.faults?.faults[0]?.dropped ?? 0) > 100;
    }, 60_000);
    t.is(latest()!.faults!.generation, 1);
    t.is(latest()!.mirror, 0, 'nothing reached the shadow port');

    process.kill(pid1, 'SIGKILL');
    await until('the restart', () => lc.state === 'running' && lc.childPid() !== pid1, 60_000);
    const pid2 = lc.childPid()!;
    await until('copies blackholed by the restarted child', () => {
      const l = latest();
      return l?.pid === pid2 && (l.faults?.faults[0]?.dropped ?? 0) > 100;
    }, 60_000);
    t.is(latest()!.faults!.generation, 1, 'the same table, re-armed at the start');
    t.is(latest()!.mirror, 0);

    const live = await lc.setFaults(faultTable([], 9n, 2));
    t.deepEqual(live, { generation: 2, warnings: [] });
    await until('copies flowing again', () => {
      const l = latest();
      return l?.pid === pid2 && l.faults?.generation === 2 && l.mirror > 100;
    }, 60_000);
    t.is(latest()!.faults!.faults.length, 0);
    const refused = await lc.setFaults({ ...faultTable([], 9n, 3), lineCapacity: 1e7 }).then(() => null, (e: unknown) => e as { code: string; field: string; message: string });
    t.is(refused?.code, 'ST_ERR_FAULT_INVALID');
    t.is(refused?.field, 'lineCapacity');
    t.regex(refused?.message ?? '', /each worker's delay line holds 65536/);
    t.is(lc.faults?.generation, 2, 'a refused table is not kept for the next start');
  } finally {
    await sup.stop();
    s.dispose();
  }
});
