/**
 * The supervisor restarts a data plane that dies, on the REAL host and addon:
 * net_pcap replaying the demo capture into a net_null sink, copies into a
 * net_null shadow sink. The child is SIGKILLed (what a native crash looks
 * like from outside); counters must stay monotonic across the restart.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { dpdkRuntimeDir } from '../../src/supervisor/runtime-dir.js';
import type { SupervisorStats } from '../../src/supervisor/supervisor.js';
import { PORT_COUNTERS } from '../../src/supervisor/stats.js';
import { EVENT_WAIT_MS, leftovers, makeSupervisor, missingBuild, processExists, scratch, START_WAIT_MS, until, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();

/** Every counter of b is >= the same counter of a. */
function monotonic(a: SupervisorStats, b: SupervisorStats): string[] {
  const bad: string[] = [];
  a.ports.forEach((pa, i) => {
    for (const k of PORT_COUNTERS) if (b.ports[i]![k] < pa[k]) bad.push(`ports[${i}].${k} ${pa[k]} -> ${b.ports[i]![k]}`);
  });
  for (const k of ['mirrorPackets', 'mirrorBytes', 'translatedPackets', 'shadowRxPackets'] as const) {
    if (b[k] < a[k]) bad.push(`${k} ${a[k]} -> ${b[k]}`);
  }
  for (const [r, v] of Object.entries(a.dropped)) if (b.dropped[r as keyof typeof a.dropped] < v) bad.push(`dropped.${r}`);
  for (const [k, v] of Object.entries(a.anomalies)) if (b.anomalies[k as keyof typeof a.anomalies] < v) bad.push(`anomalies.${k}`);
  return bad;
}

test('a killed data plane is restarted with backoff, counters stay monotonic, stop leaves nothing', async (t) => {
  if (skip) return t.fail(skip);
  t.timeout(EVENT_WAIT_MS + 60_000);
  const s = scratch('restart');
  const prefixBase = `st-sup-restart-${process.pid}`;
  const sup = makeSupervisor(prefixBase, vdevConfig(s.capture), { startTimeoutMs: START_WAIT_MS });
  const events: string[] = [];
  sup.on('exited', (e) => events.push(`exited:${e.signal ?? e.code}:${e.expected}`));
  sup.on('restarting', (e) => events.push(`restarting:${e.attempt}:${e.delayMs}`));
  sup.on('ready', (e) => events.push(`ready:${e.restarts}`));
  let sampler: NodeJS.Timeout | undefined;
  try {
    await sup.start();
    t.is(sup.status().state, 'running');
    const pid1 = sup.childPid()!;
    t.true(pid1 > 0 && processExists(pid1));
    const prefix1 = sup.status().filePrefix!;
    t.true(existsSync(dpdkRuntimeDir(prefix1)), 'EAL runtime dir of the live child');

    await until('packets mirrored by the first child', () => sup.stats().mirrorPackets > 0 && sup.stats().live, EVENT_WAIT_MS);

    // Sample the merged counters all the way through the crash and restart.
    const samples: SupervisorStats[] = [sup.stats()];
    sampler = setInterval(() => samples.push(sup.stats()), 25);

    const beforeKill = sup.stats();
    process.kill(pid1, 'SIGKILL');
    await until('the restart', () => sup.status().state === 'running' && sup.childPid() !== pid1, EVENT_WAIT_MS);

    const status = sup.status();
    t.is(status.restarts, 1);
    const pid2 = sup.childPid()!;
    t.not(pid2, pid1);
    t.true(processExists(pid2));
    t.false(processExists(pid1), 'the killed child is reaped');
    t.not(status.filePrefix, prefix1, 'a fresh file prefix');
    t.false(existsSync(dpdkRuntimeDir(prefix1)), 'the dead child\'s /var/run/dpdk/<prefix> is removed');
    t.is(status.lastError?.code, 'ST_ERR_DATAPLANE_EXIT');
    t.deepEqual(events.slice(0, 3), ['ready:0', 'exited:SIGKILL:false', 'restarting:1:300']);
    t.is(events[3], 'ready:1');

    // The new child counts on top of what the dead one had counted.
    const atRestart = sup.stats();
    await until('stats rising again after the restart', () => {
      const now = sup.stats();
      return now.live && now.mirrorPackets > atRestart.mirrorPackets && now.ports[0]!.rxPackets > atRestart.ports[0]!.rxPackets;
    }, EVENT_WAIT_MS);
    clearInterval(sampler);
    samples.push(sup.stats());
    t.true(samples[samples.length - 1]!.mirrorPackets > beforeKill.mirrorPackets);
    for (let i = 1; i < samples.length; i++) {
      const bad = monotonic(samples[i - 1]!, samples[i]!);
      if (bad.length) t.fail(`counters went backwards between samples ${i - 1} and ${i}: ${bad.join(', ')}`);
    }
    t.true(samples.length > 10);
    t.is(sup.stats().ports[0]!.name, 'prod-in');

    const prefix2 = sup.status().filePrefix!;
    await sup.stop();
    t.is(sup.status().state, 'stopped');
    t.is(sup.childPid(), null);
    t.false(processExists(pid2), 'no child process left');
    t.false(existsSync(dpdkRuntimeDir(prefix2)));
    t.deepEqual(leftovers(prefixBase), [], 'no /var/run/dpdk dir of ours');
    t.is(sup.status().restarts, 1, 'a requested stop is not a restart');
    t.true(events.includes('exited:0:true'), events.join(' '));
    // Counters survive the stop too.
    t.true(sup.stats().mirrorPackets >= samples[samples.length - 1]!.mirrorPackets);
    t.false(sup.stats().live);
  } finally {
    if (sampler) clearInterval(sampler);
    await sup.stop();
    s.dispose();
  }
});
