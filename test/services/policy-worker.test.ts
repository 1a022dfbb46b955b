/**
 * Heavy work off the event loop (issue 14, item 5): a 1,024-session policy
 * is checked and compiled in a worker thread, so /healthz and /metrics keep
 * answering while it is applied. Over real sockets, with the real policy
 * service (the data plane is not started: the policy is checked, compiled
 * and saved, which is the work that blocked the loop).
 *
 * No speed target: the test compares the longest /healthz wait during the
 * apply with how long the compile takes, and runs the same apply on the
 * main thread as a control, which must show the loop blocked for about the
 * compile's duration (so the measurement can see a block).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildServer, listen } from '../../src/api/server.js';
import { validateConfig } from '../../src/config/load.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { PolicyService } from '../../src/services/policy.js';
import { checkPolicy } from '../../src/services/policy-check.js';
import type { DataplaneHandle } from '../../src/services/dataplane.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { FAKE_CONFIG_INPUT } from '../helpers/fake-dataplane.js';

/** n sessions of 2·k filters each (k ≤ 8: at most 16,384 rules, the policy's limit). */
const big = (n: number, k = 1) => ({
  translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] },
  sessions: Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    filters: Array.from({ length: k }, (_, j) => [
      { protocol: i % 2 ? 'tcp' : 'udp', src: `10.${j}.${i % 256}.0/24`, dst_ports: 1000 + i },
      { protocol: 'tcp', dst: `10.${j}.${(i * 7) % 256}.0/24`, dst_ports: `${2000 + i}-${2100 + i}` },
    ]).flat(),
  })),
});

/** Polls /healthz and /metrics in turn until stdin closes; prints "ready", then the longest wait. */
const PROBER = `
const url = process.argv[1];
let stop = false, max = 0, answers = 0;
process.stdin.on('end', () => { stop = true; });
process.stdin.resume();
(async () => {
  process.stdout.write('ready\\n');
  for (let i = 0; !stop; i++) {
    const t0 = performance.now();
    const r = await fetch(url + (i % 2 ? '/metrics' : '/healthz'));
    await r.text();
    if (r.status === 200) answers++;
    max = Math.max(max, performance.now() - t0);
    await new Promise((res) => setTimeout(res, 5));
  }
  process.stdout.write(JSON.stringify({ maxWaitMs: max, answers }));
})();
`;

interface Measure {
  applyMs: number;
  maxWaitMs: number;
  answers: number;
  generation: number;
}

async function measure(t: { teardown(fn: () => unknown): void }, compileInWorker: boolean, k: number): Promise<Measure> {
  const dir = mkdtempSync(join(tmpdir(), 'st-worker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = validateConfig({ ...FAKE_CONFIG_INPUT, run_dir: dir });
  const sup = new Supervisor({ config, logger: pino({ level: 'silent' }), nproc: 2, stateDir: join(dir, 'state') });
  // The same service, on the main thread, for the control.
  const policy = compileInWorker ? sup.services.policy : new PolicyService({ config, dataplane: sup.lifecycle as DataplaneHandle, logger: pino({ level: 'silent' }), stateDir: join(dir, 'state'), compileInWorker: false });
  const f = await buildServer({ logger: pino({ level: 'silent' }), dataplane: sup, services: { policy, offload: sup.services.offload }, registry: createMetricsRegistry({ source: sup, defaultMetrics: false }) });
  t.teardown(async () => {
    await f.close();
    await sup.stop();
  });
  const url = await listen(f, '127.0.0.1', 0);
  // Warm up: the worker thread and the first requests.
  await policy.validatePolicy({ sessions: [{ id: 1 }] });
  await fetch(`${url}/healthz`);
  // The prober is another process: a client on this event loop would be blocked along with the server.
  const prober = spawn(process.execPath, ['-e', PROBER, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  prober.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => prober.on('exit', () => r()));
  await new Promise<void>((r) => prober.stdout.once('data', () => r()));
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/json', 'if-match': '*' }, body: JSON.stringify(big(1024, k)) });
  const body = (await res.json()) as { generation: number };
  const applyMs = performance.now() - t0;
  prober.stdin.end();
  await exited;
  if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${JSON.stringify(body)}`);
  const { maxWaitMs, answers } = JSON.parse(out.slice(out.indexOf('{'))) as { maxWaitMs: number; answers: number };
  return { applyMs, maxWaitMs, answers, generation: body.generation };
}

test('a 1,024-session policy compiles in a worker: the event loop is not blocked for the compile\'s duration', async (t) => {
  const config = validateConfig(FAKE_CONFIG_INPUT);
  // The policy grows until its compile takes long enough on this machine for a block to show
  // (a fixed size took 357 ms on one CI machine and 433 on another): a precondition, not a speed bound.
  let k = 1;
  let mainThreadMs = 0;
  for (;; k *= 2) {
    const t0 = performance.now();
    const direct = checkPolicy(config, big(1024, k), { generation: 2 });
    mainThreadMs = performance.now() - t0;
    t.false('problems' in direct, JSON.stringify((direct as { problems?: unknown }).problems)?.slice(0, 500));
    if (mainThreadMs > 400 || k >= 8) break;
  }
  t.true(mainThreadMs > 400, `the compile of ${1024 * 2 * k} rules takes ${mainThreadMs.toFixed(0)} ms on the main thread: long enough for a block to show`);

  const worker = await measure(t, true, k);
  const blocked = await measure(t, false, k);
  t.log(`compile of ${1024 * 2 * k} rules on the main thread: ${mainThreadMs.toFixed(0)} ms`);
  t.log(`in the worker: apply ${worker.applyMs.toFixed(0)} ms, longest /healthz|/metrics wait ${worker.maxWaitMs.toFixed(1)} ms over ${worker.answers} answers`);
  t.log(`control, on the main thread: apply ${blocked.applyMs.toFixed(0)} ms, longest wait ${blocked.maxWaitMs.toFixed(1)} ms over ${blocked.answers} answers`);
  t.is(worker.generation, 2);
  t.is(blocked.generation, 2);
  // The control shows what a blocked loop looks like: one wait of about the compile.
  t.true(blocked.maxWaitMs > blocked.applyMs * 0.5, 'the measurement sees a blocked loop');
  // In the worker: the probes keep being answered, no wait anywhere near the compile's length.
  t.true(worker.maxWaitMs < Math.max(250, worker.applyMs / 3), `longest wait ${worker.maxWaitMs.toFixed(1)} ms during a ${worker.applyMs.toFixed(0)} ms apply`);
  t.true(worker.answers >= 5, 'probes answered all along');
});
