/**
 * One measurement: start the contender, let it warm up, read its counters,
 * wait the window, read them again, stop it. The rate is the difference of
 * the contender's own counters over the time between the two reads, never
 * the wall-clock life of the process (start-up, EAL init and teardown are
 * excluded).
 */
import { releaseWindow } from './faults.js';
import type { BenchEnv, Contender, Counters, Sample } from './types.js';
import { cpuShares, cpuTimes, sleep } from './util.js';

/** Bytes added to each counted frame for the wire rate: 4 B FCS + 8 B preamble/SFD + 12 B inter-frame gap. */
export const WIRE_OVERHEAD = 24;

export function rateBetween(a: Counters, b: Counters): Omit<Sample, 'round' | 'cpuBusy' | 'cpuSteal'> {
  const seconds = (b.atMs - a.atMs) / 1000;
  const pkts = b.inPkts - a.inPkts;
  const bytes = b.inBytes - a.inBytes;
  const shadow = b.shadowPkts - a.shadowPkts;
  return {
    seconds,
    mpps: pkts / seconds / 1e6,
    gbps: ((bytes + WIRE_OVERHEAD * pkts) * 8) / seconds / 1e9,
    outMpps: (b.outPkts - a.outPkts) / seconds / 1e6,
    shadowMpps: shadow / seconds / 1e6,
    shadowPerIn: pkts > 0 ? shadow / pkts : 0,
    lost: b.lostPkts - a.lostPkts,
  };
}

export interface Windows {
  warmupMs: number;
  measureMs: number;
}

export async function measureOnce(env: BenchEnv, c: Contender, round: number, w: Windows): Promise<Sample> {
  const running = await c.start(env, `${c.id}-r${round}`);
  try {
    await sleep(w.warmupMs);
    const cpuA = cpuTimes();
    const a = await running.read();
    await sleep(w.measureMs);
    const b = await running.read();
    const shares = cpuShares(cpuA, cpuTimes());
    if (b.inPkts <= a.inPkts) throw new Error(`no packets received during the window (${a.inPkts} → ${b.inPkts})`);
    const sample: Sample = { round, ...rateBetween(a, b), cpuBusy: shares.map((s) => s.busy), cpuSteal: shares.map((s) => s.steal) };
    if (running.detail) sample.detail = running.detail;
    const rel = releaseWindow(a.releaseErrCounts, b.releaseErrCounts);
    if (rel) sample.releaseErr = rel;
    if (a.faultOverflowed !== undefined && b.faultOverflowed !== undefined) sample.faultOverflowed = b.faultOverflowed - a.faultOverflowed;
    return sample;
  } finally {
    await running.stop();
  }
}
