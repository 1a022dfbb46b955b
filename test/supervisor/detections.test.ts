/**
 * A real supervisor with a real data plane replaying the demo capture (which
 * holds a port scan and an ARP flip) with measurement on: the detection reaches the event
 * feed and GET /v1/detections' service with its evidence, and /metrics shows
 * it and the RTT histograms with their labels.
 */
import test from 'ava';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { DEMO_ARP_IP, DEMO_ARP_SPOOF_MAC, DEMO_SCANNER, DEMO_SCAN_TARGET } from '../../src/tools/demo-detections.js';
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
    await until('the scan on the event feed', () => feed.since(0).some((e) => e.type === 'detection' && (e.data as { detector?: string }).detector === 'port_scan'), 30_000);
    const [d] = sup.services.measurement.list({ detector: 'port_scan' });
    tt.truthy(d);
    tt.like(d!.evidence, { source: DEMO_SCANNER, target: DEMO_SCAN_TARGET, count: 15, threshold: 15 });
    tt.is(d!.severity, 'warning');
    // The capture loops, but a scan is raised once per window, and the ARP
    // flip (changed, then flipped back) once per kind per repeat_s.
    await new Promise((r) => setTimeout(r, 1500));
    tt.is(sup.services.measurement.list({ detector: 'port_scan' }).length, 1);
    const arp = sup.services.measurement.list({ detector: 'arp_spoof' });
    tt.deepEqual(arp.map((a) => [a.severity, a.evidence['kind'], a.evidence['ip']]), [['warning', 'changed', DEMO_ARP_IP], ['critical', 'flip_flop', DEMO_ARP_IP]]);
    tt.is(arp[0]!.evidence['mac'], DEMO_ARP_SPOOF_MAC);
    const text = await createMetricsRegistry({ source: sup, defaultMetrics: false }).metrics();
    tt.regex(text, /^shadowtap_detections_total\{detector="port_scan",severity="warning"\} 1$/m);
    tt.regex(text, /^shadowtap_detections_total\{detector="arp_spoof",severity="critical"\} 1$/m);
    tt.regex(text, /^shadowtap_measure_class_packets_total\{side="production",class="dns",vm="other"\} [1-9]\d*$/m);
    tt.regex(text, /^shadowtap_measure_class_packets_total\{side="shadow",class="dns",vm="other"\} \d+$/m);
    tt.regex(text, /^shadowtap_measure_rtt_seconds_count\{side="production",vm="web",kind="synack_ack"\} [1-9]\d*$/m);
    tt.regex(text, /^shadowtap_measure_rtt_seconds_bucket\{side="shadow",vm="api",kind="syn_synack",le="\+Inf"\} \d+$/m);
    tt.regex(text, /^shadowtap_measure_packets_total\{side="production",vm="other",protocol="arp"\} [1-9]\d*$/m);
  } finally {
    await sup.stop();
    s.dispose();
  }
});
