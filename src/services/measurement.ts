/**
 * Measurement and detection (docs/measurement.md, docs/detection.md): reads
 * the measure stage's counters and the data-plane detectors' findings from
 * every stats poll (the lifecycle's `stats` event, once a second), keeps the
 * counters monotonic across data-plane restarts (a dead child's last snapshot
 * is folded into a base, as CounterTotals does), runs the rate anomaly
 * detector (robust z-score per class against a moving baseline), and
 * publishes detections through a token bucket so a flood of findings cannot
 * flood the operator: every finding is counted, the ones over the budget are
 * counted as suppressed and not listed.
 *
 * Emits `detection` with each published detection. Reads; never drives the child.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { MeasureVmStats, NativeDetection, NativeMeasureStats, Severity, Detector } from '../dataplane/measure-types.js';
import { MEASURE_PROTOCOLS } from '../dataplane/measure-types.js';
import type { NativeStats } from '../dataplane/native-types.js';
import { MovingWindow, robustZ } from '../analytics/robust.js';

export interface Detection {
  /** increases by one per published detection, from 1 */
  id: number;
  /** ISO time the supervisor raised it */
  at: string;
  detector: Detector;
  severity: Severity;
  /** the side it was seen on (detectors watch mirrored production traffic) */
  side: 'production';
  /** one line for operators */
  summary: string;
  /** what was seen: addresses, counts, the window */
  evidence: Record<string, unknown>;
}

export interface MeasurementView {
  /** VM labels: the configured VMs, then "other" */
  vms: string[];
  /** application class labels: measurement.classes, then "other" */
  classes: string[];
  /** base (earlier children) plus the running child's counters; null before the first snapshot */
  stats: NativeMeasureStats | null;
}

export interface DetectionCounters {
  /** every finding, published or not, by detector and severity */
  total: { detector: string; severity: string; count: number }[];
  /** findings over the rate limit, by detector */
  suppressed: { detector: string; count: number }[];
  /** findings a data-plane worker overwrote before they were read */
  lost: number;
}

export interface MeasurementEvents {
  detection: [Detection];
}

export interface MeasurementOptions {
  config: () => Config;
  logger: Logger;
  /** ms clock, for tests */
  now?: () => number;
}

/** Add b into a, recursively (numbers and arrays of numbers; same shape). */
function addInto(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => addInto(x, b[i]));
  if (a !== null && typeof a === 'object' && b !== null && typeof b === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(a)) out[k] = k in (b as object) ? addInto(v, (b as Record<string, unknown>)[k]) : v;
    return out;
  }
  return a;
}

function sumMeasure(base: NativeMeasureStats | null, cur: NativeMeasureStats | null): NativeMeasureStats | null {
  if (base === null) return cur;
  if (cur === null) return base;
  // bucketsUs are bounds, not counters; flows.active and capacity are gauges.
  const s = addInto(base, cur) as NativeMeasureStats;
  return { ...s, bucketsUs: cur.bucketsUs, flows: { ...s.flows, active: cur.flows.active, capacity: cur.flows.capacity } };
}

function fmtWindow(us: number): string {
  return us >= 1e6 ? `${(us / 1e6).toFixed(1)} s` : `${Math.round(us / 1000)} ms`;
}

/** A data-plane finding in operator terms. */
export function describeNative(e: NativeDetection): { summary: string; evidence: Record<string, unknown> } {
  const packetTime = new Date(Math.floor(e.tsUs / 1000)).toISOString();
  const base = { packetTime, count: e.count, windowMs: Math.round(e.windowUs / 1000) };
  switch (e.detector) {
    case 'arp_spoof': {
      const what = e.kind === 'flip_flop' ? 'flipped back to' : e.kind === 'changed' ? 'changed to' : 'first seen at';
      const summary = e.kind === 'new_station' ? `new station ${e.subject} at ${e.mac}` : `ARP binding of ${e.subject} ${what} ${e.mac} (was ${e.previousMac})`;
      return { summary, evidence: { ...base, kind: e.kind, ip: e.subject, mac: e.mac, ...(e.kind !== 'new_station' ? { previousMac: e.previousMac } : {}) } };
    }
    case 'garp_storm':
      return { summary: `${e.count} gratuitous ARPs within ${fmtWindow(e.windowUs)} (threshold ${e.threshold}/s), last from ${e.subject} at ${e.mac}`, evidence: { ...base, threshold: e.threshold, lastIp: e.subject, lastMac: e.mac } };
    case 'rogue_dhcp':
    case 'rogue_dhcpv6':
    case 'rogue_ra': {
      const what = e.detector === 'rogue_ra' ? 'router advertisement' : e.detector === 'rogue_dhcp' ? (e.extra === 5 ? 'DHCP ack' : 'DHCP offer') : e.extra === 7 ? 'DHCPv6 reply' : 'DHCPv6 advertise';
      return { summary: `${what} from ${e.subject} (${e.mac}), not on the allow list`, evidence: { ...base, server: e.subject, mac: e.mac, to: e.target, message: what } };
    }
    case 'port_scan':
      return { summary: `${e.subject} tried ${e.count} ports on ${e.target} within ${fmtWindow(e.windowUs)} (threshold ${e.threshold})`, evidence: { ...base, threshold: e.threshold, source: e.subject, target: e.target, ports: e.values } };
    case 'host_scan':
      return { summary: `${e.subject} tried ${e.count} hosts on port ${e.port} within ${fmtWindow(e.windowUs)} (threshold ${e.threshold})`, evidence: { ...base, threshold: e.threshold, source: e.subject, port: e.port, lastTarget: e.target } };
    case 'syn_flood':
      return { summary: `${e.count} SYNs to ${e.target} port ${e.port} within ${fmtWindow(e.windowUs)}, ${e.extra} answered with a SYN/ACK`, evidence: { ...base, target: e.target, port: e.port, synacks: e.extra, threshold: e.threshold, lastSource: e.subject } };
    default:
      return { summary: `${String(e.detector)} from ${e.subject}`, evidence: base };
  }
}

/** What the API calls (GET /v1/detections). */
export interface DetectionOperations {
  list(filter?: { detector?: string; severity?: string; after?: number; limit?: number }): Detection[];
  counters(): DetectionCounters;
}

export class MeasurementService extends EventEmitter<MeasurementEvents> implements DetectionOperations {
  private base: NativeMeasureStats | null = null;
  private current: NativeMeasureStats | null = null;
  private readonly kept: Detection[] = [];
  private nextId = 1;
  private readonly totals = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();
  private lost = 0;
  private tokens: number | null = null;
  private tokensAt = 0;
  /** rate anomaly: per class, the last packet count, its time, the baseline and whether it is anomalous now */
  private readonly classes = new Map<string, { packets: number; at: number; window: MovingWindow; anomalous: boolean }>();
  private readonly now: () => number;

  constructor(private readonly options: MeasurementOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  /** One stats poll of the running child. */
  onStats(stats: NativeStats, at: number): void {
    if (stats.measure === undefined || stats.measure === null) return;
    this.current = stats.measure;
    const d = stats.detections;
    if (d) {
      this.lost += d.lost;
      for (const e of d.events) this.raise(e.detector, e.severity, describeNative(e));
    }
    this.rateAnomalies(stats.measure, at);
  }

  /** The child is gone: keep what it counted. */
  childGone(): void {
    this.base = sumMeasure(this.base, this.current);
    this.current = null;
    // Rates restart with the next child; the baselines stay.
    for (const c of this.classes.values()) c.packets = NaN;
  }

  view(): MeasurementView {
    return { vms: this.vmLabels(), classes: [...this.options.config().measurement.classes, 'other'], stats: sumMeasure(this.base, this.current) };
  }

  counters(): DetectionCounters {
    const total = [...this.totals].map(([k, count]) => {
      const [detector, severity] = k.split('|') as [string, string];
      return { detector, severity, count };
    });
    const suppressed = [...this.suppressed].map(([detector, count]) => ({ detector, count }));
    return { total, suppressed, lost: this.lost };
  }

  /** Published detections, newest last; filtered by detector, severity and id. */
  list(filter: { detector?: string; severity?: string; after?: number; limit?: number } = {}): Detection[] {
    let out = this.kept.filter((d) => (filter.detector === undefined || d.detector === filter.detector) && (filter.severity === undefined || d.severity === filter.severity) && d.id > (filter.after ?? 0));
    if (filter.limit !== undefined && out.length > filter.limit) out = out.slice(out.length - filter.limit);
    return out;
  }

  private vmLabels(): string[] {
    return [...this.options.config().measurement.vms.map((v) => v.name), 'other'];
  }

  /** Count a finding; publish it if the token bucket allows. */
  raise(detector: Detector, severity: Severity, d: { summary: string; evidence: Record<string, unknown> }): Detection | null {
    const key = `${detector}|${severity}`;
    this.totals.set(key, (this.totals.get(key) ?? 0) + 1);
    const cfg = this.options.config().measurement.detectors;
    const now = this.now();
    if (this.tokens === null) {
      this.tokens = cfg.events_burst;
      this.tokensAt = now;
    }
    this.tokens = Math.min(cfg.events_burst, this.tokens + ((now - this.tokensAt) / 1000) * cfg.events_per_second);
    this.tokensAt = now;
    if (this.tokens < 1) {
      this.suppressed.set(detector, (this.suppressed.get(detector) ?? 0) + 1);
      return null;
    }
    this.tokens -= 1;
    const det: Detection = { id: this.nextId++, at: new Date(now).toISOString(), detector, severity, side: 'production', summary: d.summary, evidence: d.evidence };
    this.kept.push(det);
    if (this.kept.length > cfg.keep) this.kept.shift();
    this.options.logger.warn({ detection: det }, `detection: ${det.summary}`);
    this.emit('detection', det);
    return det;
  }

  /** The robust z-score of each production class's packet rate against its moving baseline. */
  private rateAnomalies(m: NativeMeasureStats, at: number): void {
    const cfg = this.options.config().measurement.detectors;
    if (!cfg.rate_anomaly) return;
    const labels = this.vmLabels();
    m.sides.production.forEach((v: MeasureVmStats, i: number) => {
      const vm = labels[i] ?? `vm${i}`;
      for (const proto of MEASURE_PROTOCOLS) {
        const key = `${vm}|${proto}`;
        const packets = v.packets[proto];
        let c = this.classes.get(key);
        if (!c) {
          c = { packets, at, window: new MovingWindow(cfg.rate_baseline_s), anomalous: false };
          this.classes.set(key, c);
          continue;
        }
        const dt = (at - c.at) / 1000;
        const prev = c.packets;
        c.packets = packets;
        c.at = at;
        if (!Number.isFinite(prev) || dt <= 0 || packets < prev) continue;
        const rate = (packets - prev) / dt;
        if (c.window.length >= cfg.rate_min_baseline_s) {
          const s = robustZ(rate, c.window.values());
          const big = Math.abs(s.z) > cfg.rate_z && (rate >= cfg.rate_min_pps || s.median >= cfg.rate_min_pps);
          if (big && !c.anomalous) {
            const dir = s.z > 0 ? 'above' : 'below';
            this.raise('rate_anomaly', Math.abs(s.z) > 2 * cfg.rate_z ? 'critical' : 'warning', {
              summary: `${proto} packets of vm ${vm} at ${Math.round(rate)}/s, ${dir} the baseline median ${Math.round(s.median)}/s (robust z ${s.z.toFixed(1)})`,
              evidence: { vm, protocol: proto, rate: Math.round(rate * 100) / 100, median: s.median, mad: s.mad, z: Math.round(s.z * 100) / 100, threshold: cfg.rate_z, baselineSamples: c.window.length },
            });
          }
          c.anomalous = big;
        }
        c.window.push(rate);
      }
    });
  }
}
