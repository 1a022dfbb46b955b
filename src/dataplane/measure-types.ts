/**
 * The measure stage's side of the native contract (native/binding/measure.cc,
 * native/dataplane/stages/measure.h): what measureInstall takes and what
 * measureStats and measureEvents give. Names in step with the C name lists.
 */
import type { NativeRule } from './rule-types.js';

/** Detector slots in native order (ST_DET_NAMES in measure.h). */
export const NATIVE_DETECTORS = ['arp_spoof', 'garp_storm', 'rogue_dhcp', 'rogue_dhcpv6', 'rogue_ra', 'port_scan', 'host_scan', 'syn_flood'] as const;
export type NativeDetector = (typeof NATIVE_DETECTORS)[number];
/** Every detector, the supervisor's rate_anomaly included. */
export const DETECTORS = [...NATIVE_DETECTORS, 'rate_anomaly'] as const;
export type Detector = (typeof DETECTORS)[number];
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const MEASURE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'arp', 'other_ip', 'other'] as const;
export const MEASURE_RTTS = ['syn_synack', 'synack_ack', 'timestamp'] as const;
export const MEASURE_TCP = ['syn', 'synack', 'retransmissions', 'out_of_order', 'resets', 'zero_windows', 'flows'] as const;

export interface NativeMeasureVm {
  v6: boolean;
  production: Uint8Array;
  productionLen: number;
  shadow: Uint8Array;
  shadowLen: number;
}

/** One classifier rule of an application class (session = the class's index in NativeMeasure.classes). */
export type NativeClassRule = NativeRule;

export interface NativeMeasure {
  workers: number;
  /** application classes with their own series (measurement.classes), in order: the first that matches wins */
  classes: string[];
  /** their classifier rules, class by class (policy/expand.ts: the same expansion as a filter's app) */
  classRules: NativeClassRule[];
  flows: number;
  flowIdleMs: number;
  /** measure the copies as they leave (the shadow stage list's measure stage) */
  shadowTx: boolean;
  vms: NativeMeasureVm[];
  /** 0/1 per NATIVE_DETECTORS slot */
  detectors: number[];
  arpNewStation: boolean;
  garpPerSecond: number;
  scanPorts: number;
  scanHosts: number;
  scanWindowMs: number;
  synMin: number;
  synRatioPct: number;
  synWindowMs: number;
  repeatMs: number;
  dhcpAllow: Uint8Array[];
  dhcp6Allow: Uint8Array[];
  raAllow: Uint8Array[];
}

export interface MeasureHist {
  buckets: number[];
  count: number;
  sumNs: number;
}

export interface MeasureVmStats {
  packets: Record<(typeof MEASURE_PROTOCOLS)[number], number>;
  bytes: Record<(typeof MEASURE_PROTOCOLS)[number], number>;
  tcp: Record<(typeof MEASURE_TCP)[number], number>;
  rtt: Record<(typeof MEASURE_RTTS)[number], MeasureHist>;
  /** per application class (NativeMeasure.classes, then "other"): packets and bytes */
  classes: { packets: number[]; bytes: number[] };
}

/** measureStats(): one entry per configured VM then "other", per side. */
export interface NativeMeasureStats {
  bucketsUs: number[];
  sides: { production: MeasureVmStats[]; shadow: MeasureVmStats[] };
  flows: { active: number; created: number; evicted: number; expired: number; capacity: number };
  timestamps: { rx: number; tsc: number };
  malformed: number;
  events: number;
}

/** One finding of a data-plane detector (measureEvents()). */
export interface NativeDetection {
  worker: number;
  seq: number;
  detector: NativeDetector;
  severity: Severity;
  /** packet time, µs since the epoch (the capture's time on net_pcap, else the TSC's) */
  tsUs: number;
  windowUs: number;
  count: number;
  threshold: number;
  extra: number;
  port: number;
  subject: string;
  target: string;
  mac: string;
  previousMac: string;
  kind?: string;
  values: number[];
}

export interface NativeMeasureEvents {
  events: NativeDetection[];
  lost: number;
}

/** What the binding adds for the measure stage (native/binding/measure.cc). */
export interface MeasureBinding {
  measureInstall(conf: NativeMeasure | null): void;
  measureStats(): NativeMeasureStats | null;
  measureEvents(): NativeMeasureEvents;
}
