/**
 * /metrics for the measure stage and the detectors (docs/measurement.md,
 * docs/detection.md). Production and shadow series carry the same labels
 * (side, vm, ...), so "shadow handshake RTT against production for the same
 * VM" is one query. Read at scrape time from the measurement service's view
 * (the workers' counters summed in C, earlier children folded in); never
 * throws.
 *
 * The RTT histograms are filled by the data plane (fixed buckets, measure.h),
 * so they are exposed by a small metric object of our own rather than
 * prom-client's Histogram, which only observes single values.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { MEASURE_PROTOCOLS, MEASURE_RTTS, MEASURE_TCP, type MeasureHist } from '../dataplane/measure-types.js';
import type { DetectionCounters, MeasurementView } from '../services/measurement.js';

export interface MeasureMetricsSource {
  measurementView?(): MeasurementView | null;
  detectionCounters?(): DetectionCounters | null;
}

const SIDES = ['production', 'shadow'] as const;

interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** A histogram whose buckets are counted elsewhere. */
class ExternalHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => { labels: Record<string, string>; hist: MeasureHist; boundsS: number[] }[],
    private readonly onError: (err: unknown) => void,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: Value[] } {
    const values: Value[] = [];
    try {
      for (const { labels, hist, boundsS } of this.read()) {
        let cum = 0;
        boundsS.forEach((le, i) => {
          cum += hist.buckets[i] ?? 0;
          values.push({ value: cum, labels: { ...labels, le }, metricName: `${this.name}_bucket` });
        });
        values.push({ value: hist.count, labels: { ...labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
        values.push({ value: hist.sumNs / 1e9, labels, metricName: `${this.name}_sum` });
        values.push({ value: hist.count, labels, metricName: `${this.name}_count` });
      }
    } catch (err) {
      this.onError(err);
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

export function registerMeasureMetrics(registry: Registry, source: MeasureMetricsSource, onError: (err: unknown) => void): void {
  if (!source.measurementView) return;
  const view = (): MeasurementView | null => {
    try {
      return source.measurementView?.() ?? null;
    } catch (err) {
      onError(err);
      return null;
    }
  };
  /** Each (side, vm) with its counters. */
  const each = (fn: (side: string, vm: string, v: MeasurementView['stats'] extends infer S ? S extends { sides: { production: (infer V)[] } } ? V : never : never) => void): void => {
    const m = view();
    if (!m?.stats) return;
    for (const side of SIDES) m.stats.sides[side].forEach((v, i) => fn(side, m.vms[i] ?? `vm${i}`, v));
  };
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter) {
        try {
          this.reset();
          fill(this);
        } catch (err) {
          onError(err);
        }
      },
    });

  counter('shadowtap_measure_packets_total', 'Packets measured, by side (production as mirrored, shadow as it came back), VM and protocol.', ['side', 'vm', 'protocol'], (c) =>
    each((side, vm, v) => {
      for (const p of MEASURE_PROTOCOLS) c.inc({ side, vm, protocol: p }, v.packets[p]);
    }),
  );
  counter('shadowtap_measure_bytes_total', 'Bytes measured (frame lengths), by side, VM and protocol.', ['side', 'vm', 'protocol'], (c) =>
    each((side, vm, v) => {
      for (const p of MEASURE_PROTOCOLS) c.inc({ side, vm, protocol: p }, v.bytes[p]);
    }),
  );
  // Per application class: a (class, vm) pair is exposed on both sides once
  // either side has counted a packet of it, so "shadow against production for
  // the same class" always finds both series, and classes never seen cost no
  // series (at most classes x VMs x 2 sides).
  const eachClass = (fn: (side: string, vm: string, cls: string, packets: number, bytes: number) => void): void => {
    const m = view();
    if (!m?.stats) return;
    const prod = m.stats.sides.production, shadow = m.stats.sides.shadow;
    prod.forEach((pv, i) => {
      const sv = shadow[i];
      const vm = m.vms[i] ?? `vm${i}`;
      m.classes.forEach((cls, k) => {
        const pp = pv.classes?.packets[k] ?? 0, sp = sv?.classes?.packets[k] ?? 0;
        if (pp === 0 && sp === 0) return;
        fn('production', vm, cls, pp, pv.classes?.bytes[k] ?? 0);
        fn('shadow', vm, cls, sp, sv?.classes?.bytes[k] ?? 0);
      });
    });
  };
  counter('shadowtap_measure_class_packets_total', 'Packets measured, by side, application class (measurement.classes, the same definitions as a filter\'s app; "other": none of them) and VM.', ['side', 'class', 'vm'], (c) =>
    eachClass((side, vm, cls, packets) => c.inc({ side, class: cls, vm }, packets)),
  );
  counter('shadowtap_measure_class_bytes_total', 'Bytes measured (frame lengths), by side, application class and VM.', ['side', 'class', 'vm'], (c) =>
    eachClass((side, vm, cls, _p, bytes) => c.inc({ side, class: cls, vm }, bytes)),
  );
  const tcpHelp: Record<(typeof MEASURE_TCP)[number], string> = {
    syn: 'TCP SYNs (without ACK).',
    synack: 'TCP SYN/ACKs.',
    retransmissions: 'TCP segments whose data was seen before (docs/measurement.md).',
    out_of_order: 'TCP segments that filled a hole the flow had left.',
    resets: 'TCP segments with RST.',
    zero_windows: 'TCP segments advertising a zero window (RST excluded).',
    flows: 'TCP flows entered in the flow table.',
  };
  for (const k of MEASURE_TCP) {
    counter(`shadowtap_measure_tcp_${k}_total`, `${tcpHelp[k]} By side and VM.`, ['side', 'vm'], (c) => each((side, vm, v) => c.inc({ side, vm }, v.tcp[k])));
  }
  registry.registerMetric(
    new ExternalHistogram(
      'shadowtap_measure_rtt_seconds',
      'TCP RTT seen from the capture point, by side, VM and kind: syn_synack (SYN to SYN/ACK: the server side), synack_ack (SYN/ACK to ACK: the client side), timestamp (TSval to its echo, established flows).',
      () => {
        const m = view();
        if (!m?.stats) return [];
        const boundsS = m.stats.bucketsUs.map((us) => us / 1e6);
        const out: { labels: Record<string, string>; hist: MeasureHist; boundsS: number[] }[] = [];
        for (const side of SIDES) {
          m.stats.sides[side].forEach((v, i) => {
            for (const kind of MEASURE_RTTS) out.push({ labels: { side, vm: m.vms[i] ?? `vm${i}`, kind }, hist: v.rtt[kind], boundsS });
          });
        }
        return out;
      },
      onError,
    ) as unknown as Parameters<Registry['registerMetric']>[0],
  );
  const flows = (): NonNullable<MeasurementView['stats']>['flows'] | null => view()?.stats?.flows ?? null;
  counter('shadowtap_measure_flows_created_total', 'Flows entered in the flow tables.', [], (c) => c.inc(flows()?.created ?? 0));
  counter('shadowtap_measure_flow_evictions_total', 'Flows evicted from a full flow table set before they aged out.', [], (c) => c.inc(flows()?.evicted ?? 0));
  counter('shadowtap_measure_flows_expired_total', 'Flows replaced after flow_idle_s without a packet.', [], (c) => c.inc(flows()?.expired ?? 0));
  new Gauge({
    name: 'shadowtap_measure_flows',
    help: 'Flows in the flow tables now (state="active") and what they hold (state="capacity").',
    labelNames: ['state'],
    registers: [registry],
    collect(this: Gauge) {
      const f = flows();
      if (!f) return;
      this.set({ state: 'active' }, f.active);
      this.set({ state: 'capacity' }, f.capacity);
    },
  });
  counter('shadowtap_measure_timestamps_total', 'Packets timed by their rx timestamp (source="rx") or by the TSC (source="tsc").', ['source'], (c) => {
    const t = view()?.stats?.timestamps;
    if (!t) return;
    c.inc({ source: 'rx' }, t.rx);
    c.inc({ source: 'tsc' }, t.tsc);
  });
  counter('shadowtap_measure_malformed_total', 'Packets the measure stage could not parse past L2 or L3 (counted in other/other_ip).', [], (c) => c.inc(view()?.stats?.malformed ?? 0));

  if (!source.detectionCounters) return;
  const det = (): DetectionCounters | null => {
    try {
      return source.detectionCounters?.() ?? null;
    } catch (err) {
      onError(err);
      return null;
    }
  };
  counter('shadowtap_detections_total', 'Detections raised, by detector and severity (published or suppressed).', ['detector', 'severity'], (c) => {
    for (const t of det()?.total ?? []) c.inc({ detector: t.detector, severity: t.severity }, t.count);
  });
  counter('shadowtap_detections_suppressed_total', 'Detections over the rate limit (detectors.events_per_second): counted, not published.', ['detector'], (c) => {
    for (const t of det()?.suppressed ?? []) c.inc({ detector: t.detector }, t.count);
  });
  counter('shadowtap_detections_lost_total', 'Data-plane findings overwritten in a worker\'s ring before the supervisor read them.', [], (c) => c.inc(det()?.lost ?? 0));
}
