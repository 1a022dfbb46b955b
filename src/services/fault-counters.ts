/**
 * Per-fault counters as operators read them (GET /v1/faults/:id, /metrics):
 * by fault name, monotonic across fault-table swaps and data-plane restarts.
 *
 * Each fault keeps one counter slot for as long as it exists (the service
 * hands them out), so the data plane's per-slot counters are that fault's
 * alone; a slot a deleted fault held starts its new owner from what the
 * slot had counted (a baseline). A restarted data plane counts from zero:
 * what the dead one counted is carried. Packets counted between the last
 * poll and a crash are lost (at most one poll interval's worth).
 */

export const FAULT_COUNTERS = ['matched', 'dropped', 'delayed', 'corrupted', 'duplicated', 'reordered', 'rateLimited', 'overflowed', 'ecnMarked'] as const;
export type FaultCounterName = (typeof FAULT_COUNTERS)[number];
export type FaultCounterValues = Record<FaultCounterName, number>;

export interface FaultHistogram {
  boundsNs: number[];
  counts: number[];
  sumNs: number;
  count: number;
}

/** faultStats() as the data plane answers it (the `faults` of a stats snapshot). */
export interface NativeFaultStats {
  generation: number;
  faults: ({ id: number; slot: number } & Partial<FaultCounterValues>)[];
  delayHist?: Record<string, FaultHistogram> | FaultHistogram[];
  releaseErrorHist?: FaultHistogram;
}

export const zeroCounters = (): FaultCounterValues => Object.fromEntries(FAULT_COUNTERS.map((k) => [k, 0])) as FaultCounterValues;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

function addHist(a: FaultHistogram | undefined, b: FaultHistogram | undefined): FaultHistogram | undefined {
  if (!b) return a;
  if (!a || a.boundsNs.length !== b.boundsNs.length) return { boundsNs: [...b.boundsNs], counts: [...b.counts], sumNs: b.sumNs, count: b.count };
  return { boundsNs: a.boundsNs, counts: a.counts.map((c, i) => c + num(b.counts[i])), sumNs: a.sumNs + num(b.sumNs), count: a.count + num(b.count) };
}

export class FaultCounterTotals {
  /** what dead children counted, by fault name */
  private readonly carried = new Map<string, FaultCounterValues>();
  private readonly carriedDelay = new Map<string, FaultHistogram>();
  private carriedRelease: FaultHistogram | undefined;
  /** the live child's counters by fault name, and the baseline its slot had when the fault got it */
  private readonly live = new Map<string, FaultCounterValues>();
  private readonly liveDelay = new Map<string, FaultHistogram>();
  private liveRelease: FaultHistogram | undefined;
  private readonly baseline = new Map<string, FaultCounterValues>();
  /** the live child's last counters per slot, whoever owned it */
  private readonly bySlot = new Map<number, FaultCounterValues>();
  generation = 0;

  /** A fault was given `slot`: it starts from what the slot counted so far. */
  assigned(name: string, slot: number): void {
    this.baseline.set(name, { ...(this.bySlot.get(slot) ?? zeroCounters()) });
    this.live.delete(name);
  }

  /** A fault was deleted: its counts go with it. */
  removed(name: string): void {
    for (const m of [this.carried, this.live, this.baseline, this.carriedDelay, this.liveDelay] as Map<string, unknown>[]) m.delete(name);
  }

  /** One snapshot of the live child; `names` maps native ids (and slots) to fault names. */
  snapshot(s: NativeFaultStats, names: ReadonlyMap<number, string>, slotOf: ReadonlyMap<string, number>): void {
    this.generation = num(s.generation);
    for (const f of s.faults ?? []) {
      const values = zeroCounters();
      for (const k of FAULT_COUNTERS) values[k] = num(f[k]);
      this.bySlot.set(f.slot, values);
      const name = names.get(f.id);
      if (name === undefined || slotOf.get(name) !== f.slot) continue;
      const base = this.baseline.get(name);
      // a data plane that zeroes a slot for its new owner: no baseline
      if (base && FAULT_COUNTERS.some((k) => values[k] < base[k])) this.baseline.set(name, zeroCounters());
      this.live.set(name, values);
    }
    const hists = s.delayHist;
    if (hists && !Array.isArray(hists)) {
      for (const [id, h] of Object.entries(hists)) {
        const name = names.get(Number(id));
        if (name !== undefined) this.liveDelay.set(name, h);
      }
    }
    if (s.releaseErrorHist) this.liveRelease = s.releaseErrorHist;
  }

  /** The child is gone: its counts become carried; the next one starts from zero. */
  childGone(): void {
    for (const [name, v] of this.live) this.carried.set(name, this.add(this.carried.get(name), v, this.baseline.get(name)));
    for (const [name, h] of this.liveDelay) this.carriedDelay.set(name, addHist(this.carriedDelay.get(name), h)!);
    this.carriedRelease = addHist(this.carriedRelease, this.liveRelease);
    this.live.clear();
    this.liveDelay.clear();
    this.liveRelease = undefined;
    this.bySlot.clear();
    for (const name of this.baseline.keys()) this.baseline.set(name, zeroCounters());
  }

  private add(a: FaultCounterValues | undefined, b: FaultCounterValues | undefined, minus?: FaultCounterValues): FaultCounterValues {
    const out = zeroCounters();
    for (const k of FAULT_COUNTERS) out[k] = num(a?.[k]) + Math.max(0, num(b?.[k]) - num(minus?.[k]));
    return out;
  }

  counters(name: string): FaultCounterValues {
    return this.add(this.carried.get(name), this.live.get(name), this.baseline.get(name));
  }

  delayHistogram(name: string): FaultHistogram | undefined {
    return addHist(addHist(undefined, this.carriedDelay.get(name)), this.liveDelay.get(name));
  }

  releaseErrorHistogram(): FaultHistogram | undefined {
    return addHist(addHist(undefined, this.carriedRelease), this.liveRelease);
  }
}
