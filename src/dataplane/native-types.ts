/**
 * The contract between TypeScript and the native addon (native/binding).
 * What crosses is a compiled, flat, defaulted plan of numbers, strings and
 * byte arrays, never the user's config. Field names mirror struct st_start_plan
 * in native/dataplane/st_dataplane.h.
 */

import type { FlowRule } from '../offload/flow.js';
import type { NativeFaultStats, NativeFaultTable, NativeFaultsInstalled } from '../faults/native-types.js';
import type { NativeRule } from './rule-types.js';
import type { MeasureBinding, NativeMeasure, NativeMeasureEvents, NativeMeasureStats } from './measure-types.js';

export const MODE = { inline: 0, tap: 1 } as const;
export const ROLE = { production: 0, egress: 1, shadow: 2 } as const;
export const UNMAPPED = { drop: 0, mirror: 1 } as const;
export const IDLE = { busy: 0, adaptive: 1 } as const;

/** Keep in step with ST_DROP_NAMES / ST_ANOM_NAMES in st_dataplane.h. */
export const DROP_REASONS = ['unmapped', 'not_ip', 'malformed', 'nomem', 'tx_full', 'nic_copy', 'leak'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export const ANOMALIES = [
  'truncated_l2', 'truncated_l3', 'bad_ihl', 'truncated_l4', 'ipv4_options', 'fragment', 'vlan', 'control_plane',
] as const;
export type Anomaly = (typeof ANOMALIES)[number];
/**
 * The leak policy (native/dataplane/stages/leak.h; keep in step with
 * ST_LEAK_KIND_NAMES, ST_LEAK_ACTION_NAMES and ST_LEAK_REASON_NAMES).
 */
export const LEAK_KINDS = ['arp', 'dhcp', 'nd', 'dns', 'mdns', 'llmnr', 'bgp', 'ospf', 'ra', 'tunnel', 'icmp_err'] as const;
export type LeakKind = (typeof LEAK_KINDS)[number];
export const LEAK_ACTIONS = ['translate', 'drop', 'pass'] as const;
export type LeakActionName = (typeof LEAK_ACTIONS)[number];
export const LEAK_ACTION = { translate: 0, drop: 1, pass: 2 } as const;
export const LEAK_REASONS = ['policy', 'malformed', 'truncated', 'name_length', 'prefix_length', 'segment', 'nested', 'unsupported'] as const;
export type LeakReason = (typeof LEAK_REASONS)[number];
/** Copies not translated, by kind and reason: how many were dropped and how many sent as they were. */
export type LeakCounts = Partial<Record<LeakKind, Partial<Record<LeakReason, { drop: number; pass: number }>>>>;

/** Keep in step with ST_RXBAD_NAMES in st_dataplane.h: why the rx check refused a driver's mbuf. */
export const RX_INVALID_REASONS = ['pkt_len', 'nb_segs', 'seg_overrun', 'chain'] as const;
export type RxInvalidReason = (typeof RX_INVALID_REASONS)[number];

export interface NativePortConf {
  name: string;
  /** ethdev name to look up after EAL init: "net_pcap0" or "0000:3b:00.0". */
  device: string;
  role: number;
  /** index into NativeStartPlan.ports, -1 for none */
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

export interface NativeStartPlan {
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
  /** the flight recorder's file (native/dataplane/flight.h); absent: none */
  flightPath?: string;
  /** packets forwarded without shadow work (quarantine.h): signature and how long from the start */
  quarantine?: NativeQuarantine[];
  /** start with no shadow work at all (a crash loop); forwardOnly() changes it while running */
  forwardOnly?: boolean;
  /** the measure stage and its detectors (absent: off); the host installs it before start */
  measure?: NativeMeasure;
}

/** A quarantined packet signature: its length and the CRC32-C of its first 128 bytes. */
export interface NativeQuarantine {
  len: number;
  crc: number;
  /** ms from the data plane's start until the entry expires */
  ttlMs: number;
}

export interface NativePortInfo {
  portId: number;
  name: string;
  driver: string;
  maxRxQueues: number;
  maxTxQueues: number;
  mac: string;
  /** rte_eth_dev_info.switch_info.domain_id: ports of one domain share an E-Switch; absent when the port is on none */
  switchDomain?: number;
}

export interface NativePortStats {
  rxPackets: number; rxBytes: number;
  txPackets: number; txBytes: number;
  txDropped: number;
  hwIpackets: number; hwOpackets: number; hwIbytes: number; hwObytes: number;
  hwImissed: number; hwIerrors: number; hwOerrors: number; hwRxNombuf: number;
  /** a capture port's writer (net_stcap, docs/captures.md); absent on other ports */
  capture?: NativeCaptureStats;
}

export const CAPTURE_COUNTERS = ['packets', 'bytes', 'rotations', 'filesRemoved', 'ringFull', 'nomem', 'writeErrors'] as const;
/** copies written and bytes (pcapng framing included), files rotated and removed, copies lost by cause */
export type NativeCaptureStats = Record<(typeof CAPTURE_COUNTERS)[number], number>;

export interface NativeWorkerStats {
  lcore: number;
  loops: number; busyLoops: number;
  rxPackets: number;
  mirrorPackets: number; mirrorBytes: number;
}

export interface NativeStats {
  /** the fault counters read in the same poll (the host adds them: faultStats()) */
  faults?: NativeFaultStats;
  ports: NativePortStats[]; // same order as NativeStartPlan.ports
  workers: NativeWorkerStats[];
  mirrorPackets: number;
  mirrorBytes: number;
  translatedPackets: number;
  dropped: Record<DropReason, number>;
  anomalies: Record<Anomaly, number>;
  /** copies whose payload was not translated (the leak policy); absent from older addons */
  leak?: LeakCounts;
  /** BGP flow states a worker evicted for new flows (their next segments resynchronise or are refused) */
  bgpFlowsEvicted?: number;
  /** DNS/LLMNR-over-TCP flow states evicted from their own table */
  dnsTcpFlowsEvicted?: number;
  /** received mbufs whose metadata disagree with their segment chain (never copied) */
  rxInvalid: Record<RxInvalidReason, number>;
  /** production packets forwarded without shadow work because their signature is quarantined */
  quarantined: number;
  /** the data plane does no shadow work at all (a crash loop, until an operator clears it) */
  forwardOnly: boolean;
  shadowRxPackets: number;
  /** NIC-made copies (MARK copy) finished in software */
  nicCopies: number;
  /** production packets the NIC decided and copied (MARK decided, kind nicDecided): software made no copy */
  nicDecided: number;
  /** the measure stage's counters (absent or null: measurement off), read with every stats request */
  measure?: NativeMeasureStats | null;
  /** the detectors' findings since the last stats request */
  detections?: NativeMeasureEvents;
}

/** MARK kinds the software path honours (enum st_mark_kind in policy.h). */
export const MARK_KIND = { nicDecided: 1, nicCopy: 2 } as const;

/** One NIC MARK the software path honours: on plan port `port`, for session counter slot `slot`. */
export interface NativeMark {
  port: number;
  slot: number;
  kind: number;
}

/** Structured error thrown by every binding function (an Error with these fields). */
export interface NativeErrorFields {
  code: string; // catalogue code, e.g. ST_ERR_EAL_INIT
  field: string; // plan field, '' if none
  errnum: number;
}

/** What the addon exports. Sync functions run on the main thread (EAL main lcore). */
export interface NativeBinding extends MeasureBinding {
  version(): string;
  ealInit(args: string[]): void;
  portList(): NativePortInfo[];
  /** configure ports, pools, tables (AsyncWorker), then launch workers */
  start(startPlan: NativeStartPlan): Promise<void>;
  stats(): NativeStats;
  stop(): void;
  ealCleanup(): void;
  /** compile and RCU-swap a policy (AsyncWorker); before start it becomes the initial policy */
  policyInstall(policy: NativePolicy): Promise<void>;
  /** Replace the NIC MARKs the software path honours ([] = none); synchronous (one RCU grace period). */
  marksInstall(marks: NativeMark[]): void;
  policyStats(): NativePolicyStats;
  /**
   * Build, check and RCU-swap the fault table (independently of the policy;
   * faults: [] disarms everything); synchronous. Before start it is kept and
   * the workers start with it. Throws ST_ERR_FAULT_INVALID naming the field.
   */
  faultsInstall(table: NativeFaultTable): NativeFaultsInstalled;
  /** The installed table's counters and histograms. */
  faultStats(): NativeFaultStats;
  /** Applied delays (ns) the workers recorded for one fault slot, oldest first per worker (the last 65,536 per worker). */
  faultDelaySamples(slot: number): Float64Array;
  /** Shadow work on or off while running (on: forward only); synchronous. */
  forwardOnly(on: boolean): void;
  /** A standby: after ealInit without devices, create the plan's mempools ahead of start (AsyncWorker). */
  prepare(startPlan: NativeStartPlan): Promise<void>;
  /** Hot-plug one device (rte_dev_probe) into a prepared standby before start. */
  probeDevice(devargs: string): void;
  /** rte_flow_validate of every probe rule on `port` (AsyncWorker); never rejects for a driver refusal */
  flowProbe(port: number, defs: readonly NativeFlowProbeDef[]): Promise<NativeFlowProbeResult[]>;
  /** rte_flow_create in order; each created rule is kept under a numeric id */
  flowCreate(rules: readonly FlowRule[]): Promise<NativeFlowCreateResult[]>;
  flowDestroy(ids: readonly number[]): Promise<NativeFlowCreateResult[]>;
  /** rte_flow_flush of one port (leftovers of an earlier run included) */
  flowFlush(port: number): Promise<NativeFlowOutcome>;
  /** COUNT of each kept rule */
  flowQuery(ids: readonly number[]): Promise<NativeFlowCount[]>;
}

// ---- rte_flow (native/dataplane/flow/flow.h) ------------------------------------

/** A probe definition as the binding reads it (src/offload/probe.ts ProbeDefinition). */
export interface NativeFlowProbeDef {
  name: string;
  rule: FlowRule;
}

/**
 * The outcome of one rte_flow call: errno is rte_errno (positive), errorType
 * enum rte_flow_error_type, message a printable copy of the driver's (absent
 * when the driver left struct rte_flow_error unset).
 */
export interface NativeFlowOutcome {
  ok: boolean;
  errno?: number;
  errorType?: number;
  message?: string;
}

export interface NativeFlowProbeResult extends NativeFlowOutcome {
  probe: string;
}

export interface NativeFlowCreateResult extends NativeFlowOutcome {
  /** the kept rule's id (0 when create failed) */
  id: number;
}

export interface NativeFlowCount {
  id: number;
  ok: boolean;
  hits: number;
  bytes: number;
  errno?: number;
}

// ---- mirror policy (native/dataplane/policy/policy.h) ----------------------------
// Field names mirror the C structs in camelCase. Byte arrays are Uint8Array.
// IPv4 addresses in rules are IPv4-mapped IPv6 (::ffff:a.b.c.d), len + 96.

export const RULE_ACTION = { accept: 0, reject: 1 } as const;
export const SIG_BASE = { l2: 0, l3: 1, l4: 2, payload: 3 } as const;
export const SAMPLE_MODE = { all: 0, packet: 1, flow: 2 } as const;
export const ENCAP = { none: 0, vlan: 1, vxlan: 2, geneve: 3 } as const;
export const UNMAPPED_RULE = { drop: 0, mirror: 1, count: 2 } as const;
export const CONTROL_PLANE = { arp: 1, dhcp: 2, nd: 4 } as const;
export const SESSION_DROP_REASONS = ['rate', 'nomem', 'tx_full', 'unmapped', 'malformed', 'firewall', 'encap', 'not_ip', 'leak'] as const;
export type SessionDropReason = (typeof SESSION_DROP_REASONS)[number];

export const POLICY_LIMITS = {
  sessions: 1024, rules: 16384, targets: 16, signatures: 32, signatureLength: 16, macMaps: 1024, fwRules: 4096, maps: 256,
} as const;

export interface NativeSignature {
  base: number; offset: number; value: Uint8Array; mask: Uint8Array; // value.length === mask.length, 1..16
}

/** A classifier rule (policy/compile.ts; also the measure stage's class rules): rule-types.ts. */
export type { NativeRule } from './rule-types.js';

export interface NativeSession {
  id: number; slot: number; target: number;
  /** bit (2 * portIndex + dir), dir 0 = rx, 1 = tx */
  sources: number;
  sampleMode: number; sampleThreshold: number; // uint32
  snaplen: number; ratePps: number; rateBps: number;
}

export interface NativeTarget {
  ports: number[]; encap: number; vlanId: number; vlanPcp: number; vni: number; udpDstPort: number;
  outerIpv6: boolean; outerSrc: Uint8Array; outerDst: Uint8Array; // 16 bytes; IPv4 in the first 4
  outerSrcMac: Uint8Array; outerDstMac: Uint8Array; outerTtl: number;
}

export interface NativeFwRule {
  action: number; ipVersion: number; proto: number; protoMask: number;
  src: Uint8Array; srcLen: number; dst: Uint8Array; dstLen: number;
  sportLo: number; sportHi: number; dportLo: number; dportHi: number;
}

export interface NativePolicy {
  generation: number;
  matchAll: boolean;
  /**
   * rte_acl for every session that needs a classifier, however few its rules
   * (tests and benchmarks compare it with the direct evaluator); absent: the
   * data plane chooses (direct up to 6 rules per group of 16 sessions).
   */
  forceAcl?: boolean;
  sessions: NativeSession[];
  rules: NativeRule[];
  targets: NativeTarget[];
  signatures: NativeSignature[];
  map4: NativeMap4[];
  map6: NativeMap6[];
  macMaps: { from: Uint8Array; to: Uint8Array }[];
  defaultSrcMac: Uint8Array; defaultDstMac: Uint8Array; // all zero = keep
  unmapped: number; // UNMAPPED_RULE
  controlPlane: number; // CONTROL_PLANE bits
  /** BGP identifiers and OSPF router ids: exact from -> to (host-order uint32) */
  routerIds?: { from: number; to: number }[];
  /** LEAK_ACTION per payload kind; absent (hand-built test policies): translate every kind */
  leak?: Record<LeakKind, number>;
  fwEnabled: boolean; fwDefault: number; fwRules: NativeFwRule[];
}

export interface NativeSessionStats {
  matched: number; sampled: number; mirroredPackets: number; mirroredBytes: number;
  truncated: number; unmappedSeen: number;
  dropped: Record<SessionDropReason, number>;
}

export type NativeClassifier = 'none' | 'direct' | 'acl';

export interface NativePolicyStats {
  generation: number;
  /**
   * The fast path the running policy takes: "short" for the common shape (one
   * session copying every packet whole to one target: no classifier,
   * sampling, rate cap, snaplen, encapsulation or firewall), "general"
   * otherwise; absent while no policy runs. Both give the same output.
   */
  path?: 'short' | 'general';
  /**
   * How each session finds its deciding rule, by session slot: "none" (no
   * rule, or a first rule that matches everything), "direct" (a few rules
   * tested on the parsed key) or "acl" (rte_acl); absent while no policy runs.
   */
  classifiers?: NativeClassifier[];
  /** indexed by session slot; only slots in use are meaningful */
  sessions: NativeSessionStats[];
  /** indexed by rule slot */
  ruleHits: number[];
}
