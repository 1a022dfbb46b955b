/**
 * The data plane's counters as the operator sees them: monotonic across
 * restarts. A new child counts from zero, so when a child exits its last
 * snapshot is folded into a base; what is reported is base + the live
 * child's latest snapshot (the arithmetic is in ./stats.ts). Packets a child
 * counted after its last poll are lost (at most one poll interval's worth).
 *
 * Fed by the lifecycle's events (`stats` each poll, `exited`), read by
 * /metrics, the status line and anything that wants totals.
 */
import type { Config } from '../config/schema.js';
import type { NativePortStats, NativeStats, NativeWorkerStats } from '../dataplane/native-types.js';
import { addStats, busyRatios, zeroStats } from './stats.js';

export interface PortCounters extends NativePortStats {
  name: string;
  role: string;
}

export interface WorkerCounters extends NativeWorkerStats {
  /** share of loops that found packets over the last poll interval */
  busyRatio: number;
}

/** Counters merged over every child so far: monotonic across restarts. */
export interface CounterTotalsView extends Omit<NativeStats, 'ports' | 'workers'> {
  ports: PortCounters[];
  workers: WorkerCounters[];
  /** the live child answered the last poll (false: counters are the carried totals) */
  live: boolean;
  /** ms since the epoch of the newest snapshot in these totals */
  at: number;
}

export class CounterTotals {
  /** totals of children that are gone */
  private base: NativeStats;
  /** last snapshot of the live child */
  private latest: NativeStats | null = null;
  private latestAt = 0;
  private ratios: number[] = [];

  constructor(shape: { ports: number; workerLcores: readonly number[] }) {
    this.base = zeroStats(shape.ports, shape.workerLcores);
  }

  /** A poll of the live child. */
  snapshot(stats: NativeStats, at: number): void {
    this.ratios = busyRatios(this.latest, stats);
    this.latest = stats;
    this.latestAt = at;
  }

  /** The live child is gone: what it counted becomes part of the base. */
  childGone(): void {
    if (this.latest) this.base = addStats(this.base, this.latest);
    this.latest = null;
    this.ratios = [];
  }

  /**
   * Totals named after the configured ports. `freshWithinMs`: a snapshot
   * older than this is no longer live; `running`: the data plane runs.
   */
  view(ports: Config['ports'], running: boolean, freshWithinMs: number): CounterTotalsView {
    const totals = this.latest ? addStats(this.base, this.latest) : this.base;
    const live = running && this.latest !== null && Date.now() - this.latestAt <= freshWithinMs;
    return {
      ...totals,
      ports: totals.ports.map((p, i) => ({ ...p, name: ports[i]?.name ?? `port${i}`, role: ports[i]?.role ?? 'unknown' })),
      workers: totals.workers.map((w, i) => ({ ...w, busyRatio: live ? (this.ratios[i] ?? 0) : 0 })),
      live,
      at: this.latestAt,
    };
  }
}
