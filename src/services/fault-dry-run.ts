/**
 * Dry run: what a fault would match, measured on live traffic before it is
 * armed. A count-only copy of the fault (the same match, no impairment: it
 * counts the copies it matches and lets them pass untouched) is installed
 * after the faults armed now, for a window; its `matched` counter, read from
 * two stats snapshots, is the answer, with the copies made in the same
 * window for scale. Copies an armed fault ahead of it takes are not counted
 * (the first fault that matches handles a copy): the answer names them.
 * Nothing else changes; the copy is removed at the end.
 */
import type { NativeStats } from '../dataplane/native-types.js';
import { stError, type ConfigProblem } from '../errors.js';
import type { CheckedFault } from '../faults/check.js';
import { faultNumber } from '../faults/compile.js';
import { FAULT_KIND, LOSS_MODEL, RATE_MODE } from '../faults/native-types.js';
import type { NativeFaultStats } from './fault-counters.js';

export interface DryRunView {
  /** the fault's id (or, for a body, the id it gave) */
  fault: string;
  flags: ConfigProblem[];
  /** how the answer was obtained */
  basis: string;
  /** null: not measured (unavailable says why) */
  live: {
    windowMs: number;
    from: string;
    to: string;
    matched: number;
    matchedPerSecond: number;
    /** copies the data plane made in the window */
    copies: number;
    /** matched / copies; null when no copy was made */
    share: number | null;
    /** armed faults ahead of it, which take the copies they match first */
    after: string[];
  } | null;
  unavailable: string | null;
}

export interface DryRunHost {
  readonly dataplaneState: string;
  readonly canInstall: boolean;
  spareSlot(): number | null;
  refresh(): Promise<Error | null>;
  nextStats(after: number, timeoutMs: number): Promise<{ stats: NativeStats; at: number } | null>;
  pollFaster(ms: number): (() => void) | null;
}

/** The same match with no impairment: it only counts. */
function countOnly(c: CheckedFault): CheckedFault {
  return {
    ...c,
    limit: 0,
    schedule: {},
    native: {
      ...c.native,
      kind: FAULT_KIND.impair,
      lossModel: LOSS_MODEL.none, loss: [0, 0, 0, 0, 0], lossCorr: 0, ecn: false,
      delayNs: 0, jitterNs: 0, delayCorr: 0, dist: 0, reorderJitter: false, table: null,
      corrupt: 0, corruptCorr: 0, corruptBits: 1, corruptOffset: 0, corruptFixCsum: false,
      duplicate: 0, duplicateCorr: 0, reorder: 0, reorderCorr: 0, gap: 0,
      rateMode: RATE_MODE.none, rateBps: 0, overhead: 0, cellSize: 0, cellOverhead: 0, burstBytes: 0,
      slotMinNs: 0, slotMaxNs: 0, slotPackets: 0, slotBytes: 0, limit: 0,
    },
  };
}

function matchedIn(stats: NativeStats, id: number): number | null {
  const fs = (stats as NativeStats & { faults?: NativeFaultStats }).faults;
  const f = fs?.faults?.find((x) => x.id === id);
  return f && typeof f.matched === 'number' ? f.matched : null;
}

export class FaultDryRuns {
  private list: { checked: CheckedFault; slot: number }[] = [];
  /** the list changed since the last install */
  changed = false;

  constructor(private readonly host: DryRunHost) {}

  active(): readonly { checked: CheckedFault; slot: number }[] {
    return this.list;
  }

  installed(_atMs: number): void {
    this.changed = false;
  }

  async run(checked: CheckedFault, flags: ConfigProblem[], windowMs: number, after: string[]): Promise<DryRunView> {
    const name = checked.id.replace(/^dry-run\./, '');
    const basis = 'a count-only copy of the fault (same match, no impairment) installed after the armed faults for the window; its matched counter from two stats snapshots';
    const none = (why: string): DryRunView => ({ fault: name, flags, basis, live: null, unavailable: why });
    if (!this.host.canInstall) return none('this data plane has no fault stage (faultsInstall): nothing can be measured');
    if (this.host.dataplaneState !== 'running') return none(`the data plane is ${this.host.dataplaneState}: there is no live traffic to measure`);
    if (this.list.length > 0) throw stError('ST_ERR_BUSY', 'another dry run is measuring; retry when it has finished');
    const slot = this.host.spareSlot();
    if (slot === null) return none('every fault slot is taken: delete a fault to measure');
    const entry = { checked: countOnly(checked), slot };
    this.list = [entry];
    this.changed = true;
    const release = this.host.pollFaster(100);
    try {
      const err = await this.host.refresh();
      if (err) throw err;
      const id = faultNumber(checked.id);
      const start = Date.now();
      const limit = windowMs + 10_000;
      const first = await this.host.nextStats(start, limit);
      if (!first || matchedIn(first.stats, id) === null) return none('the data plane did not report the count-only fault\'s counters in time');
      let last = first;
      while (last.at < first.at + windowMs) {
        const s = await this.host.nextStats(last.at, limit);
        if (!s) return none('no stats snapshot arrived in time to close the window');
        last = s;
      }
      const m0 = matchedIn(first.stats, id)!;
      const m1 = matchedIn(last.stats, id) ?? m0;
      const span = last.at - first.at;
      const copies = Math.max(0, last.stats.mirrorPackets - first.stats.mirrorPackets);
      return {
        fault: name,
        flags,
        basis,
        unavailable: null,
        live: {
          windowMs: span,
          from: new Date(first.at).toISOString(),
          to: new Date(last.at).toISOString(),
          matched: m1 - m0,
          matchedPerSecond: span > 0 ? ((m1 - m0) * 1000) / span : 0,
          copies,
          share: copies > 0 ? (m1 - m0) / copies : null,
          after,
        },
      };
    } finally {
      release?.();
      this.list = [];
      this.changed = true;
      await this.host.refresh();
    }
  }
}
