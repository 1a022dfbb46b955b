/**
 * Counters that stay monotonic across data-plane restarts. A new child starts
 * from zero, so the last snapshot of each dead child is added into a base;
 * what the operator sees is base + the live child's snapshot. Packets counted
 * by a child after its last poll and before it died are lost (at most one
 * poll interval's worth).
 */
import {
  ANOMALIES,
  CAPTURE_COUNTERS,
  DROP_REASONS,
  RX_INVALID_REASONS,
  type Anomaly,
  type NativeCaptureStats,
  type DropReason,
  type LeakCounts,
  type LeakKind,
  type LeakReason,
  type RxInvalidReason,
  type NativePortStats,
  type NativeStats,
  type NativeWorkerStats,
} from '../dataplane/native-types.js';

export const PORT_COUNTERS = [
  'rxPackets', 'rxBytes', 'txPackets', 'txBytes', 'txDropped',
  'hwIpackets', 'hwOpackets', 'hwIbytes', 'hwObytes', 'hwImissed', 'hwIerrors', 'hwOerrors', 'hwRxNombuf',
] as const satisfies readonly (keyof NativePortStats)[];

export const WORKER_COUNTERS = [
  'loops', 'busyLoops', 'rxPackets', 'mirrorPackets', 'mirrorBytes',
] as const satisfies readonly (keyof Omit<NativeWorkerStats, 'lcore'>)[];

export function zeroPort(): NativePortStats {
  return Object.fromEntries(PORT_COUNTERS.map((k) => [k, 0])) as unknown as NativePortStats;
}

export function zeroWorker(lcore: number): NativeWorkerStats {
  return { lcore, ...(Object.fromEntries(WORKER_COUNTERS.map((k) => [k, 0])) as Omit<NativeWorkerStats, 'lcore'>) };
}

export function zeroStats(nbPorts: number, lcores: readonly number[]): NativeStats {
  return {
    ports: Array.from({ length: nbPorts }, zeroPort),
    workers: lcores.map(zeroWorker),
    mirrorPackets: 0,
    mirrorBytes: 0,
    translatedPackets: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    anomalies: Object.fromEntries(ANOMALIES.map((a) => [a, 0])) as Record<Anomaly, number>,
    rxInvalid: Object.fromEntries(RX_INVALID_REASONS.map((r) => [r, 0])) as Record<RxInvalidReason, number>,
    shadowRxPackets: 0,
    nicCopies: 0,
    nicDecided: 0,
    quarantined: 0,
    forwardOnly: false,
  };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

function addLeak(a: LeakCounts | undefined, b: LeakCounts | undefined): LeakCounts {
  const out: LeakCounts = {};
  for (const src of [a, b]) {
    for (const [kind, byReason] of Object.entries(src ?? {}) as [LeakKind, NonNullable<LeakCounts[LeakKind]>][]) {
      const o = (out[kind] ??= {});
      for (const [reason, n] of Object.entries(byReason ?? {}) as [LeakReason, { drop: number; pass: number }][]) {
        const cur = o[reason] ?? { drop: 0, pass: 0 };
        o[reason] = { drop: cur.drop + num(n?.drop), pass: cur.pass + num(n?.pass) };
      }
    }
  }
  return out;
}

/** a + b, field by field; tolerant of missing fields in b (an older or partial snapshot). */
export function addStats(a: NativeStats, b: NativeStats): NativeStats {
  const ports = a.ports.map((pa, i) => {
    const pb = b.ports[i];
    const out = { ...pa };
    if (pb) for (const k of PORT_COUNTERS) out[k] = pa[k] + num(pb[k]);
    if (pa.capture || pb?.capture) {
      const ca = pa.capture;
      const cb = pb?.capture;
      out.capture = Object.fromEntries(CAPTURE_COUNTERS.map((k) => [k, num(ca?.[k]) + num(cb?.[k])])) as NativeCaptureStats;
    }
    return out;
  });
  const workers = a.workers.map((wa, i) => {
    const wb = b.workers[i];
    const out = { ...wa };
    if (wb) for (const k of WORKER_COUNTERS) out[k] = wa[k] + num(wb[k]);
    return out;
  });
  const dropped = { ...a.dropped };
  for (const r of DROP_REASONS) dropped[r] = a.dropped[r] + num(b.dropped?.[r]);
  const anomalies = { ...a.anomalies };
  for (const k of ANOMALIES) anomalies[k] = a.anomalies[k] + num(b.anomalies?.[k]);
  const rxInvalid = { ...a.rxInvalid };
  for (const r of RX_INVALID_REASONS) rxInvalid[r] = a.rxInvalid[r] + num(b.rxInvalid?.[r]);
  // optional counters (older addons leave them out): carried over restarts too, or a
  // restart would send them backwards
  const optional: Pick<NativeStats, 'leak' | 'bgpFlowsEvicted' | 'dnsTcpFlowsEvicted'> = {};
  if (a.leak !== undefined || b.leak !== undefined) optional.leak = addLeak(a.leak, b.leak);
  if (a.bgpFlowsEvicted !== undefined || b.bgpFlowsEvicted !== undefined) optional.bgpFlowsEvicted = num(a.bgpFlowsEvicted) + num(b.bgpFlowsEvicted);
  if (a.dnsTcpFlowsEvicted !== undefined || b.dnsTcpFlowsEvicted !== undefined) optional.dnsTcpFlowsEvicted = num(a.dnsTcpFlowsEvicted) + num(b.dnsTcpFlowsEvicted);
  return {
    ...optional,
    ports,
    workers,
    mirrorPackets: a.mirrorPackets + num(b.mirrorPackets),
    mirrorBytes: a.mirrorBytes + num(b.mirrorBytes),
    translatedPackets: a.translatedPackets + num(b.translatedPackets),
    dropped,
    anomalies,
    rxInvalid,
    shadowRxPackets: a.shadowRxPackets + num(b.shadowRxPackets),
    nicCopies: a.nicCopies + num(b.nicCopies),
    nicDecided: a.nicDecided + num(b.nicDecided),
    quarantined: a.quarantined + num(b.quarantined),
    // a state, not a counter: the newer snapshot's
    forwardOnly: b.forwardOnly === true,
  };
}

/** Share of loops that found packets, per worker, between two snapshots of one child. */
export function busyRatios(prev: NativeStats | null, cur: NativeStats): number[] {
  return cur.workers.map((w, i) => {
    const p = prev?.workers[i];
    const loops = num(w.loops) - (p ? num(p.loops) : 0);
    const busy = num(w.busyLoops) - (p ? num(p.busyLoops) : 0);
    return loops > 0 ? Math.min(1, Math.max(0, busy / loops)) : 0;
  });
}
