/**
 * The contract between TypeScript and the native addon (native/binding).
 * What crosses is a compiled, flat, defaulted plan of numbers, strings and
 * byte arrays, never the user's config. Field names mirror struct st_plan
 * in native/dataplane/st_dataplane.h.
 */

export const MODE = { inline: 0, tap: 1 } as const;
export const ROLE = { production: 0, egress: 1, shadow: 2 } as const;
export const UNMAPPED = { drop: 0, mirror: 1 } as const;
export const IDLE = { busy: 0, adaptive: 1 } as const;

/** Keep in step with ST_DROP_NAMES / ST_ANOM_NAMES in st_dataplane.h. */
export const DROP_REASONS = ['unmapped', 'not_ip', 'malformed', 'nomem', 'tx_full'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export const ANOMALIES = [
  'truncated_l2', 'truncated_l3', 'bad_ihl', 'truncated_l4', 'ipv4_options', 'fragment', 'vlan',
] as const;
export type Anomaly = (typeof ANOMALIES)[number];

export interface NativePortConf {
  name: string;
  /** ethdev name to look up after EAL init: "net_pcap0" or "0000:3b:00.0". */
  device: string;
  role: number;
  /** index into NativePlan.ports, -1 for none */
  egress: number;
  rxDesc: number;
  txDesc: number;
  promiscuous: boolean;
  /** pace rx to this many packets/s (replay sources); 0 or absent = unpaced */
  rxPps?: number;
}

export interface NativeMap4 {
  /** network prefix as an unsigned 32-bit integer (host order) */
  from: number;
  to: number;
  len: number;
}

export interface NativeMap6 {
  from: Uint8Array; // 16 bytes
  to: Uint8Array; // 16 bytes
  len: number;
}

export interface NativePlan {
  mode: number;
  unmapped: number;
  idle: number;
  burst: number;
  workerLcores: number[];
  ports: NativePortConf[];
  /** indexes into ports of the shadow egress ports */
  shadowPorts: number[];
  shadowSrcMac: Uint8Array; // 6 bytes
  shadowDstMac: Uint8Array; // 6 bytes
  map4: NativeMap4[];
  map6: NativeMap6[];
  prodPoolMbufs: number;
  shadowPoolMbufs: number;
}

export interface NativePortInfo {
  portId: number;
  name: string;
  driver: string;
  maxRxQueues: number;
  maxTxQueues: number;
  mac: string;
}

export interface NativePortStats {
  rxPackets: number; rxBytes: number;
  txPackets: number; txBytes: number;
  txDropped: number;
  hwIpackets: number; hwOpackets: number; hwIbytes: number; hwObytes: number;
  hwImissed: number; hwIerrors: number; hwOerrors: number; hwRxNombuf: number;
}

export interface NativeWorkerStats {
  lcore: number;
  loops: number; busyLoops: number;
  rxPackets: number;
  mirrorPackets: number; mirrorBytes: number;
}

export interface NativeStats {
  ports: NativePortStats[]; // same order as NativePlan.ports
  workers: NativeWorkerStats[];
  mirrorPackets: number;
  mirrorBytes: number;
  translatedPackets: number;
  dropped: Record<DropReason, number>;
  anomalies: Record<Anomaly, number>;
  shadowRxPackets: number;
}

/** Structured error thrown by every binding function (an Error with these fields). */
export interface NativeErrorFields {
  code: string; // catalogue code, e.g. ST_ERR_EAL_INIT
  field: string; // plan field, '' if none
  errnum: number;
}

/** What the addon exports. Sync functions run on the main thread (EAL main lcore). */
export interface NativeBinding {
  version(): string;
  ealInit(args: string[]): void;
  portList(): NativePortInfo[];
  /** configure ports, pools, tables (AsyncWorker), then launch workers */
  start(plan: NativePlan): Promise<void>;
  stats(): NativeStats;
  stop(): void;
  ealCleanup(): void;
}
