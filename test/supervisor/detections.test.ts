/**
 * A real supervisor with a real data plane replaying the demo capture (which
 * holds a port scan) with measurement on: the detection reaches the event
 * feed and GET /v1/detections' service with its evidence, and /metrics shows
 * it and the RTT histograms with their labels.
 */
import test from 'ava';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { DEMO_SCANNER, DEMO_SCAN_TARGET } from '../../src/tools/demo-detections.js';
import { makeSupervisor, missingBuild, scratch, until, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();
const t = skip ? test.skip : test.serial;

t('the demo\'s port scan: a detection on the event feed and in /metrics, RTT histograms per VM', async (tt) => {
  const s = scratch('meas-sup');
  const sup = makeSupervisor(`st-meas-sup-${process.pid}`, vdevConfig(s.capture, {
    measurement: { enabled: true, vms: [{ name: 'web', prefix: '10.0.2.20' }, { name: 'api', prefix: '10.0.2.21' }] },
  }));
  try {
    await sup.start();
    const feed = sup.services.events;
    await until('a detection on the event feed', () => feed.since(0).some((e) => e.type === 'detection'), 30_000);
    const [d] = sup.services.measurement.list({ detector: 'port_scan' });
    tt.truthy(d);
    tt.like(d!.evidence, { source: DEMO_SCANNER, target: DEMO_SCAN_TARGET, count: 15, threshold: 15 });
    tt.is(d!.severity, 'warning');
    const ev = feed.since(0).find((e) => e.type === 'detection')!;
    tt.is((ev.data as { detector?: string }).detector, 'port_scan');
    // The capture loops, but a scan is raised once per window.
    await new Promise((r) => setTimeout(r, 1500));
    tt.is(sup.services.measurement.list({ detector: 'port_scan' }).length, 1);
    const text = await createMetricsRegistry({ source: sup, defaultMetrics: false }).metrics();
    tt.regex(text, /^shadowtap_detections_total\{detector="port_scan",severity="warning"\} 1$/m);
    tt.regex(text, /^shadowtap_measure_rtt_seconds_count\{side="production",vm="web",kind="synack_ack"\} [1-9]\d*$/m);
    tt.regex(text, /^shadowtap_measure_rtt_seconds_bucket\{side="shadow",vm="api",kind="syn_synack",le="\+Inf"\} \d+$/m);
    tt.regex(text, /^shadowtap_measure_packets_total\{side="production",vm="other",protocol="arp"\} [1-9]\d*$/m);
  } finally {
    await sup.stop();
    s.dispose();
  }
});
