/**
 * The flight recorder names the stages that run inside another's span: a
 * crash inside the measure stage (the rx step, production as mirrored) is
 * recorded as stage "measure", not "rx" or "rewrite", and counted in
 * shadowtap_dataplane_crashes_total{stage="measure"}; a crash inside the
 * fault stages likewise as "fault_key". The crash is real: the test-only
 * switch (SHADOWTAP_TEST_CRASH, moved into a stage by
 * SHADOWTAP_TEST_CRASH_STAGE) raises SIGSEGV in that stage on the marked
 * packet, as the reliability tests do for rewrite.
 */
import test from 'ava';
import { join } from 'node:path';
import { ether, ipv4, udp } from '../../src/pcap/build.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import type { CrashReport } from '../../src/services/reliability.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { makeSupervisor, missingBuild, scratch, until, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();
const MARK = 'ST-POISON-measure-42';
const E = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const frame = (n: number, payload: string) =>
  ether(E, ipv4({ src: '10.0.1.5', dst: '10.0.2.6', id: n, payload: udp({ sport: 40000, dport: 40001, payload: Buffer.from(payload) }) }));
const POISON = frame(999, `payload with ${MARK} inside`);

function capture(dir: string): string {
  const frames = Array.from({ length: 1500 }, (_, i) => frame(i, `ordinary datagram ${i}`));
  frames.splice(1000, 0, POISON);
  const p = join(dir, 'poison.pcap');
  writePcap(p, frames);
  return p;
}

async function crashIn(stage: string, extra: Record<string, unknown>, faults?: unknown[]): Promise<{ crash: CrashReport; metrics: string }> {
  const s = scratch(`crash-${stage}`);
  try {
    const c = vdevConfig(capture(s.dir), { reliability: { quarantine_s: 600 }, ...extra });
    const config = { ...c, ports: c.ports.map((p, i) => (i === 0 ? { ...p, rx_pps: 2000 } : p)) };
    const env = { ...process.env, SHADOWTAP_TEST_CRASH: MARK, SHADOWTAP_TEST_CRASH_STAGE: stage };
    const sup = makeSupervisor(`st-crst-${stage}-${process.pid}`, config, { env, runDir: s.dir, backoff: { initialMs: 100 }, ...(faults ? { faults } : {}) });
    const crashes: CrashReport[] = [];
    sup.on('crash', (x) => crashes.push(x));
    try {
      await sup.start();
      await until(`the crash report (${stage})`, () => crashes.length >= 1, 60_000);
      const registry = createMetricsRegistry({ source: sup as never, defaultMetrics: false });
      const metrics = await registry.metrics();
      const crash = crashes[0]!;
      if (crash.capture) crash.packet = `${crash.packet ?? ''}|saved:${readPcap(crash.capture).packets[0]?.data.equals(POISON) ? 'poison' : 'other'}`;
      return { crash, metrics };
    } finally {
      await sup.stop();
    }
  } finally {
    s.dispose();
  }
}

test.serial('a crash inside the measure stage is recorded under stage "measure", with the packet it died on', async (t) => {
  if (skip) return t.fail(skip);
  const { crash, metrics } = await crashIn('measure', { measurement: { enabled: true, classes: ['dns'] } });
  t.is(crash.stage, 'measure');
  t.is(crash.signal, 'SIGSEGV');
  t.regex(crash.packet ?? '', /IPv4 10\.0\.1\.5 > 10\.0\.2\.6 UDP 40000 > 40001/);
  t.regex(crash.packet ?? '', /saved:poison$/, 'the saved packet is the one the worker died on');
  t.regex(metrics, /shadowtap_dataplane_crashes_total\{stage="measure"\} 1\n/);
  t.notRegex(metrics, /shadowtap_dataplane_crashes_total\{stage="(rx|rewrite)"\} [1-9]/);
});

test.serial('a crash inside the fault_key stage is recorded under stage "fault_key"', async (t) => {
  if (skip) return t.fail(skip);
  // A fault armed from the start puts the fault stages in the loop.
  const { crash, metrics } = await crashIn('fault_key', {}, [
    { id: 'f1', match: { dst: '10.0.2.0/24' }, netem: 'loss 0.001%', schedule: { duration: '600s' } },
  ]);
  t.is(crash.stage, 'fault_key');
  t.regex(metrics, /shadowtap_dataplane_crashes_total\{stage="fault_key"\} 1\n/);
});
