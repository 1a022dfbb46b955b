/**
 * The supervisor's restart policy, driven by a stand-in host process that
 * speaks the protocol but has no data plane (it makes no claim about
 * packets: only about when the supervisor restarts what).
 *
 * The delays asserted are the ones the supervisor announces (its
 * `restarting` events), never measured ones; the waits for restarts to
 * happen are EVENT_WAIT_MS, long enough for a machine at load 30, where a
 * fork of the stand-in can take seconds.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { validateConfig } from '../../src/config/load.js';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/supervisor/lifecycle.js';
import { Supervisor, type SupervisorOptions } from '../../src/supervisor/supervisor.js';
import { EVENT_WAIT_MS, processExists, until } from '../helpers/supervised.js';

const STAND_IN = `
const crashAfter = Number(process.env.FAKE_CRASH_AFTER_MS ?? -1);
const hangStats = process.env.FAKE_HANG_STATS === '1';
const zero = () => ({
  ports: [0, 1, 2].map(() => ({ rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0, hwIpackets: 0, hwOpackets: 0,
    hwIbytes: 0, hwObytes: 0, hwImissed: 0, hwIerrors: 0, hwOerrors: 0, hwRxNombuf: 0 })),
  workers: [{ lcore: 1, loops: 0, busyLoops: 0, rxPackets: 0, mirrorPackets: 0, mirrorBytes: 0 }],
  mirrorPackets: 0, mirrorBytes: 0, translatedPackets: 0,
  dropped: { unmapped: 0, not_ip: 0, malformed: 0, nomem: 0, tx_full: 0, nic_copy: 0 },
  anomalies: { truncated_l2: 0, truncated_l3: 0, bad_ihl: 0, truncated_l4: 0, ipv4_options: 0, fragment: 0, vlan: 0, control_plane: 0 },
  shadowRxPackets: 0,
  nicCopies: 0,
  nicDecided: 0,
});
let packets = 0;
process.on('message', (m) => {
  if (m.type === 'start') {
    process.send({ type: 'started', id: m.id, ports: [] });
    if (crashAfter >= 0) setTimeout(() => process.exit(1), crashAfter);
  } else if (m.type === 'stats') {
    if (hangStats) return;
    packets += 10;
    const s = zero(); s.mirrorPackets = packets; s.ports[0].rxPackets = packets;
    process.send({ type: 'stats', id: m.id, stats: s });
  } else if (m.type === 'stop') {
    process.send({ type: 'stopped', id: m.id }, () => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'hello', pid: process.pid, version: 'stand-in' });
`;

const config = validateConfig({
  ports: [
    { name: 'prod-in', device: 'net_null0', egress: 'prod-out' },
    { name: 'prod-out', device: 'net_null1,no-rx=1', role: 'egress' },
    { name: 'shadow0', device: 'net_null2,no-rx=1', role: 'shadow' },
  ],
});

function standIn(t: { teardown(fn: () => void): void; timeout(ms: number): void }, env: Record<string, string>, over: Partial<SupervisorOptions> = {}) {
  t.timeout(EVENT_WAIT_MS + 30_000);
  const dir = mkdtempSync(join(tmpdir(), 'st-standin-'));
  const hostPath = join(dir, 'host.mjs');
  writeFileSync(hostPath, STAND_IN);
  const sup = new Supervisor({
    config,
    logger: pino({ level: 'silent' }),
    hostPath,
    nproc: 2,
    prefixBase: `st-standin-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    env: { ...process.env, ...env },
    pollIntervalMs: 50,
    requestTimeoutMs: 200,
    ...over,
  });
  t.teardown(async () => {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return sup;
}

test('restart delays double up to the maximum', async (t) => {
  const sup = standIn(t, { FAKE_CRASH_AFTER_MS: '20' }, { backoff: { initialMs: 40, maxMs: 250, resetAfterMs: 60_000, jitter: 0 } });
  const delays: number[] = [];
  sup.on('restarting', (e) => delays.push(e.delayMs));
  await sup.start();
  await until('five restarts', () => delays.length >= 5, EVENT_WAIT_MS, 10);
  await sup.stop();
  t.deepEqual(delays.slice(0, 5), [40, 80, 160, 250, 250]);
  t.true(sup.status().restarts >= 4);
  t.is(sup.status().state, 'stopped');
});

/** mulberry32: a seeded uniform [0, 1) source, so the jittered delays are known in advance. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('the default backoff: 0.5 s doubling, capped at 4 s, ±20 % jitter; five quick crashes never wait more than 4.8 s', (t) => {
  t.is(DEFAULT_BACKOFF.initialMs, 500);
  t.is(DEFAULT_BACKOFF.maxMs, 4000);
  t.is(DEFAULT_BACKOFF.jitter, 0.2);
  // The extremes of the random source give the extremes of the spread.
  t.is(backoffDelay(4000, 0.2, () => 0), 3200);
  t.is(backoffDelay(4000, 0.2, () => 0.999999999), 4800);
  t.is(backoffDelay(500, 0.2, () => 0.5), 500);
});

test('restart delays are jittered around the doubling schedule (seeded)', async (t) => {
  const sup = standIn(t, { FAKE_CRASH_AFTER_MS: '20' }, { backoff: { initialMs: 40, maxMs: 160, resetAfterMs: 60_000, jitter: 0.2, random: seeded(7) } });
  const delays: number[] = [];
  sup.on('restarting', (e) => delays.push(e.delayMs));
  await sup.start();
  await until('five restarts', () => delays.length >= 5, EVENT_WAIT_MS, 10);
  await sup.stop();
  // The same seed, drawn independently: base * (1 + 0.2 * (2r - 1)), rounded.
  const r = seeded(7);
  const expected = [40, 80, 160, 160, 160].map((b) => Math.round(b * (1 + 0.2 * (2 * r() - 1))));
  t.deepEqual(delays.slice(0, 5), expected);
  t.true(expected.some((d, i) => d !== [40, 80, 160, 160, 160][i]), 'the seed moves at least one delay off the schedule');
  for (const [i, d] of delays.slice(0, 5).entries()) {
    const base = [40, 80, 160, 160, 160][i]!;
    t.true(d >= base * 0.8 && d <= base * 1.2, `delay ${i}: ${d} ms within ±20 % of ${base}`);
  }
});

test('a child that ran long enough resets the delay', async (t) => {
  // Each child runs 2 s against a 100 ms reset threshold: a loaded machine that handles the
  // start answer and the exit late (in one turn of the event loop, at worst) cannot make it look short.
  const sup = standIn(t, { FAKE_CRASH_AFTER_MS: '2000' }, { backoff: { initialMs: 30, maxMs: 1000, resetAfterMs: 100, jitter: 0 } });
  const delays: number[] = [];
  sup.on('restarting', (e) => delays.push(e.delayMs));
  await sup.start();
  await until('three restarts', () => delays.length >= 3, EVENT_WAIT_MS, 10);
  await sup.stop();
  t.deepEqual(delays.slice(0, 3), [30, 30, 30]);
});

test('stop() during backoff cancels the restart and leaves nothing running', async (t) => {
  const sup = standIn(t, { FAKE_CRASH_AFTER_MS: '30' }, { backoff: { initialMs: 2000 } });
  let pid = 0;
  sup.on('ready', (e) => (pid = e.pid));
  await sup.start();
  await until('backoff', () => sup.status().state === 'backoff', EVENT_WAIT_MS, 10);
  const due = sup.status().nextRestartAt;
  t.truthy(due);
  await sup.stop();
  t.is(sup.status().state, 'stopped');
  t.is(sup.childPid(), null);
  t.false(processExists(pid));
  // past the time the restart was due, and then some
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(due!) - Date.now()) + 500));
  t.is(sup.status().restarts, 0, 'the scheduled restart never ran');
  t.is(sup.status().state, 'stopped');
});

test('a child that stops answering stats polls is killed and restarted', async (t) => {
  const sup = standIn(t, { FAKE_HANG_STATS: '1' }, { maxMissedPolls: 3, backoff: { initialMs: 20 } });
  const exits: string[] = [];
  sup.on('exited', (e) => exits.push(`${e.signal}:${e.expected}`));
  await sup.start();
  await until('a restart of the hung child', () => sup.status().restarts === 1 && sup.status().state === 'running', EVENT_WAIT_MS, 10);
  t.is(exits[0], 'SIGKILL:false');
});

test('counters carried over restarts never go backwards', async (t) => {
  const sup = standIn(t, { FAKE_CRASH_AFTER_MS: '300' }, { backoff: { initialMs: 20 } });
  await sup.start();
  let last = 0;
  let backwards = false;
  const timer = setInterval(() => {
    const now = sup.stats().mirrorPackets;
    if (now < last) backwards = true;
    last = now;
  }, 5);
  await until('two restarts', () => sup.status().restarts >= 2 && sup.stats().mirrorPackets > 0, EVENT_WAIT_MS, 10);
  clearInterval(timer);
  t.false(backwards);
  t.true(last > 0);
});
