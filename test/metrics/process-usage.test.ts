/**
 * The data plane's own CPU time and memory in /metrics, on the REAL host
 * and addon (net_pcap replaying the demo capture into net_null sinks),
 * checked against ps (procps: an independent reader of the same kernel
 * figures), and the lcore utilisation the workers report; CPU time never
 * goes backwards across a SIGKILL and restart.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { makeSupervisor, missingBuild, scratch, until, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in the exposition`);
  return Number(m[1]);
}

/** ps's view: resident KiB and CPU time ([[dd-]hh:]mm:ss) of one process. */
function ps(pid: number): { rssBytes: number; cpuSeconds: number } {
  const [rss, time] = execFileSync('ps', ['-o', 'rss=,cputime=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/);
  const parts = time!.split(/[-:]/).map(Number);
  const secs = parts.reduce((acc, v) => acc * 60 + v, 0);
  return { rssBytes: Number(rss) * 1024, cpuSeconds: secs };
}

test('data-plane CPU seconds and resident memory in /metrics match ps; CPU time is carried across a restart', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('usage');
  const sup = makeSupervisor(`st-usage-${process.pid}`, vdevConfig(s.capture));
  t.teardown(async () => {
    await sup.stop();
    s.dispose();
  });
  const registry = createMetricsRegistry({ source: sup, defaultMetrics: false });
  await sup.start();
  const pid1 = sup.childPid()!;
  // A polling worker lcore burns CPU: within a few seconds ps shows whole seconds of it.
  await until('two CPU seconds in the data plane', () => ps(pid1).cpuSeconds >= 2, 60_000, 200);
  const before = ps(pid1);
  const text = await registry.metrics();
  const after = ps(pid1);
  const cpu = sample(text, 'shadowtap_dataplane_cpu_seconds_total');
  const rss = sample(text, 'shadowtap_dataplane_resident_memory_bytes');
  // ps rounds CPU time down to whole seconds.
  t.true(cpu >= before.cpuSeconds && cpu < after.cpuSeconds + 1, `cpu ${cpu} s against ps ${before.cpuSeconds}..${after.cpuSeconds} s`);
  const lo = Math.min(before.rssBytes, after.rssBytes);
  const hi = Math.max(before.rssBytes, after.rssBytes);
  t.true(rss >= lo * 0.9 && rss <= hi * 1.1, `rss ${rss} against ps ${lo}..${hi}`);
  t.true(rss > 10 * 1024 * 1024, 'a DPDK process holds more than 10 MiB');
  // lcore utilisation: busy polls against all polls, per worker.
  await until('a busy ratio', () => sup.stats().workers.some((w) => w.loops > 0), 20_000);
  const w = sup.stats().workers[0]!;
  t.true(w.busyLoops <= w.loops && w.busyLoops > 0, `busy ${w.busyLoops} of ${w.loops} loops`);
  t.regex(await registry.metrics(), /^shadowtap_worker_busy_ratio\{lcore="\d+"\} (0(\.\d+)?|1)$/m);

  process.kill(pid1, 'SIGKILL');
  await until('the restart', () => sup.status().state === 'running' && sup.childPid() !== pid1, 30_000);
  const carried = sample(await registry.metrics(), 'shadowtap_dataplane_cpu_seconds_total');
  t.true(carried >= cpu, `after the restart ${carried} s, before ${cpu} s: never backwards`);
  t.true(carried >= before.cpuSeconds, 'the dead child\'s time is kept');
});
