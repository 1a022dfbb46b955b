/**
 * The plain-data fault table that crosses into the data plane: field for
 * field struct st_fault_table_conf / st_fault_conf in
 * native/dataplane/stages/impair.h (camelCase here). Times in nanoseconds,
 * probabilities as fractions 0..1, rates in bit/s, addresses as 16 bytes
 * (IPv4 as IPv4-mapped IPv6 with length + 96).
 */

export const FAULT_KIND = { impair: 0, blackhole: 1, link_down: 2 } as const;
export const LOSS_MODEL = { none: 0, random: 1, gemodel: 2, state: 3 } as const;
export const DIST = { uniform: 0, normal: 1, pareto: 2, paretonormal: 3, custom: 4 } as const;
export const RATE_MODE = { none: 0, shape: 1, police: 2 } as const;
export const IMP_DIR = { any: 0, rx: 1, tx: 2 } as const;
/** ST_IMP_ANY16: any session, any port. */
export const ANY16 = 0xffff;

export interface NativeImpPrefix {
  addr: Uint8Array;
  len: number;
  v4: boolean;
}

export interface NativeFaultMatch {
  src: NativeImpPrefix[];
  dst: NativeImpPrefix[];
  hosts: NativeImpPrefix[];
  ipVersion: 0 | 4 | 6;
  proto: number;
  sportLo: number;
  sportHi: number;
  dportLo: number;
  dportHi: number;
  /** policy session slot, ANY16 = any */
  session: number;
  /** plan port index of a shadow port, ANY16 = any */
  port: number;
  dir: number;
}

export interface NativeFaultConf {
  id: number;
  epoch: number;
  /** 0n = the table's seed */
  seed: bigint;
  slot: number;
  kind: number;
  match: NativeFaultMatch;
  lossModel: number;
  /** random: [p]; gemodel: [p, r, 1-h, 1-k]; state: [p13, p31, p32, p23, p14] */
  loss: [number, number, number, number, number];
  lossCorr: number;
  ecn: boolean;
  delayNs: number;
  jitterNs: number;
  delayCorr: number;
  dist: number;
  reorderJitter: boolean;
  /** custom distribution: standardised inverse CDF */
  table: Float64Array | null;
  corrupt: number;
  corruptCorr: number;
  corruptBits: number;
  corruptOffset: number;
  corruptFixCsum: boolean;
  duplicate: number;
  duplicateCorr: number;
  reorder: number;
  reorderCorr: number;
  gap: number;
  rateMode: number;
  rateBps: number;
  overhead: number;
  cellSize: number;
  cellOverhead: number;
  burstBytes: number;
  slotMinNs: number;
  slotMaxNs: number;
  slotPackets: number;
  slotBytes: number;
  /** 0 = sized by the data plane from the delay at linePps */
  limit: number;
}

export interface NativeFaultTable {
  seed: bigint;
  generation: number;
  faults: NativeFaultConf[];
  /** 0 = the data plane's TSC frequency */
  tscHz: number;
  linePps: number;
  lineCapacity: number;
  wheelSpanNs: number;
}

/**
 * The delay line each worker of the data plane has (native
 * ST_FAULT_LINE_CAPACITY / ST_FAULT_WHEEL_SPAN_NS in core/faults.h): a table
 * asking for more (lineCapacity, wheelSpanNs) is refused. `pps` is the
 * packet rate per worker the limits are sized for by default.
 */
export const FAULT_LINE = { pps: 1_000_000, capacity: 65_536, wheelSpanMs: 1000 } as const;

/** A log2 histogram of nanoseconds: counts[i] values below boundsNs[i] (and at least boundsNs[i - 1]). */
export interface NativeHist {
  boundsNs: number[];
  counts: number[];
  sumNs: number;
  count: number;
}

/** One fault's counters (summed over workers; by slot, monotonic across table swaps). */
export interface FaultCounters {
  /** the native id the compiler assigned (faultNumber of the fault's name) */
  id: number;
  slot: number;
  matched: number;
  dropped: number;
  delayed: number;
  corrupted: number;
  duplicated: number;
  reordered: number;
  rateLimited: number;
  overflowed: number;
  ecnMarked: number;
  /** no mbuf for a duplicate */
  nomem: number;
  /** left the delay line */
  released: number;
}

/** faultStats(): the installed table's faults and their counters. */
export interface NativeFaultStats {
  generation: number;
  faults: FaultCounters[];
  /** applied delay, per fault id (as a string key) */
  delayHist: Record<string, NativeHist>;
  /** release time - due time, over every fault */
  releaseErrorHist: NativeHist;
}

/** faultsInstall(): the table's generation, and what happened to link_down ports. */
export interface NativeFaultsInstalled {
  generation: number;
  warnings: string[];
}
