/** Shapes shared by the contenders, the runner and the report. */
import type { Capture, CaptureName } from './captures.js';
import type { Cleanup } from './util.js';

/** Memory every contender gets, identically. */
export interface MemoryMode {
  hugepages: boolean;
  /** our own hugetlbfs mount when hugepages is true */
  hugeDir: string | null;
  /** 2 MiB pages reserved for the run (0 without hugepages) */
  pages: number;
  /** EAL memory for each process, MiB */
  memoryMb: number;
  /** the EAL arguments that say so (also given to Open vSwitch's dpdk-extra) */
  ealArgs: string[];
  describe: string;
}

export interface BenchEnv {
  root: string;
  tmp: string;
  mem: MemoryMode;
  captures: Record<CaptureName, Capture>;
  cleanup: Cleanup;
  nproc: number;
  /** distinct per process: EAL --file-prefix values */
  prefix(tag: string): string;
  log(msg: string): void;
  verbose: boolean;
  /** niceness every contender process runs at (0 = unchanged) */
  nice: number;
}

/** Cumulative counters of one contender at one instant. */
export interface Counters {
  /** monotonic ms at which the counters were read */
  atMs: number;
  /** production packets received (the offered load the contender kept up with) */
  inPkts: number;
  /** bytes of those packets as counted by the driver (no FCS) */
  inBytes: number;
  /** production packets sent on (forwarded) */
  outPkts: number;
  /** copies sent to the shadow port */
  shadowPkts: number;
  /** production packets lost by the contender (tx refused, etc.) */
  lostPkts: number;
  /** fault scenarios: the cumulative release error histogram (log2 ns) and copies overflowed */
  releaseErrCounts?: number[];
  faultOverflowed?: number;
}

export interface RunningContender {
  /** how it was set up, when that varies by build (e.g. which policy path) */
  readonly detail?: string;
  read(): Promise<Counters>;
  stop(): Promise<void>;
}

export type ContenderKind = 'testpmd' | 'shadowtap' | 'ovs';

export interface Contender {
  /** stable id, used by --only and in the JSON */
  id: string;
  label: string;
  kind: ContenderKind;
  capture: CaptureName;
  workers: number;
  /** what it does per packet, for the docs */
  describe: string;
  /** null when it can run in this build / on this machine, else why not */
  unavailable(env: BenchEnv): Promise<string | null>;
  start(env: BenchEnv, tag: string): Promise<RunningContender>;
}

/** One measured window. */
export interface Sample {
  round: number;
  seconds: number;
  mpps: number;
  /** wire rate of the input: (frame + 4 B FCS + 20 B preamble/IFG) × 8 */
  gbps: number;
  outMpps: number;
  shadowMpps: number;
  /** copies per input packet */
  shadowPerIn: number;
  lost: number;
  /** busy share of each CPU during the window (noise indicator) */
  cpuBusy: number[];
  cpuSteal: number[];
  detail?: string;
  /** fault scenarios: release error quantiles over the window (log2 bucket upper bounds, ns) */
  releaseErr?: { n: number; p50Ns: number; p99Ns: number; p999Ns: number };
  /** fault scenarios: copies the faults' limits refused during the window */
  faultOverflowed?: number;
}

export interface ContenderResult {
  id: string;
  label: string;
  kind: ContenderKind;
  capture: CaptureName;
  workers: number;
  describe: string;
  unavailable: string | null;
  errors: string[];
  samples: Sample[];
}
