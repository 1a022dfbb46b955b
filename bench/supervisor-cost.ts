/**
 * What the supervisor costs: the real `shadowtap run` (dist/src/cli.js) with
 * its admin API on a loopback port, the data plane forwarding and mirroring
 * the capture at a paced 1 Mpps on CPU 1, and
 *  - /metrics scraped sequentially (time to first byte to end, body size),
 *    with 1,000 mirror sessions configured when this build's config has
 *    sessions (otherwise said so, and measured without);
 *  - admin API latency (GET /v1/status) at the median and p99 under a small,
 *    fixed open-loop load (requests are timed from their scheduled start, so
 *    a stall is not hidden by the generator waiting for it).
 * The load generator is bounded in requests and time and only ever talks to
 * 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { checkConfig } from '../src/config/load.js';
import { BENCH_MAP4, SHADOW_MAC } from './captures.js';
import type { BenchEnv } from './types.js';
import { isAlive, nowMs, percentile, reap, sleep } from './util.js';

export interface LatencyStats {
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  ratePerS: number;
}

export interface SupervisorCostResult {
  error: string | null;
  sessions: number;
  sessionsNote: string | null;
  metricsBytes: number | null;
  metricsSeries: number | null;
  scrape: LatencyStats | null;
  api: LatencyStats | null;
  apiPath: string;
  apiTargetRate: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = addr && typeof addr === 'object' ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * 1,000 mirror sessions in the config's own spelling (src/policy/schema.ts),
 * one filter each. If this build's schema does not know sessions, the caller
 * falls back to no sessions and says so.
 */
export function sessionsSection(n: number): Record<string, unknown> {
  return {
    targets: [{ name: 'shadow', ports: ['shadow0'] }],
    sessions: Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      target: 'shadow',
      sources: [{ port: 'prod-in', direction: 'rx' }],
      filters: [{ action: 'accept', protocol: 'udp', dst: `10.0.${(i >> 2) & 255}.${(i & 3) * 64}/26` }],
    })),
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function get(url: string): Promise<{ status: number; bytes: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, bytes: body.length, body: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function stats(lat: number[], errors: number, seconds: number): LatencyStats {
  return {
    requests: lat.length + errors,
    errors,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    maxMs: lat.length ? Math.max(...lat) : NaN,
    ratePerS: lat.length / seconds,
  };
}

/** Fixed-rate open-loop load: `rate` requests/s for `ms`, at most 64 in flight. */
export async function openLoop(url: string, rate: number, ms: number): Promise<LatencyStats> {
  const lat: number[] = [];
  let errors = 0;
  let inFlight = 0;
  const t0 = nowMs();
  const total = Math.floor((rate * ms) / 1000);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    if (inFlight >= 64) {
      errors++; // the server is this far behind: count it, do not queue unboundedly
      continue;
    }
    inFlight++;
    pending.push(
      get(url)
        .then((r) => {
          if (r.status >= 200 && r.status < 300) lat.push(nowMs() - due);
          else errors++;
        })
        .catch(() => {
          errors++;
        })
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(pending);
  return stats(lat, errors, (nowMs() - t0) / 1000);
}

export async function supervisorCost(env: BenchEnv, opts: { scrapes: number; apiMs: number; apiRate: number }): Promise<SupervisorCostResult> {
  const result: SupervisorCostResult = {
    error: null,
    sessions: 0,
    sessionsNote: null,
    metricsBytes: null,
    metricsSeries: null,
    scrape: null,
    api: null,
    apiPath: '/v1/status',
    apiTargetRate: opts.apiRate,
  };
  const port = await freePort();
  const runDir = join(env.tmp, 'supervisor-run');
  mkdirSync(runDir, { recursive: true });
  const base: Record<string, unknown> = {
    mode: 'inline',
    dataplane: {
      workers: 1,
      cores: [1 % env.nproc],
      idle: 'busy',
      eal: {
        hugepages: env.mem.hugepages,
        memory_mb: env.mem.memoryMb,
        log_level: 'notice',
        // The supervisor picks (and cleans up) its own --file-prefix per child.
        extra_args: env.mem.hugeDir ? ['--huge-dir', env.mem.hugeDir, '--huge-unlink'] : [],
      },
    },
    ports: [
      { name: 'prod-in', device: `net_pcap0,rx_pcap=${env.captures.udp64.path},infinite_rx=1`, role: 'production', egress: 'prod-out', rx_pps: 1_000_000 },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow' },
    ],
    shadow: { mac: { ...SHADOW_MAC } },
    translate: { ipv4: [{ ...BENCH_MAP4 }], unmapped: 'drop' },
    api: { host: '127.0.0.1', port },
    run_dir: runDir,
    log: { level: 'warn' },
  };
  let config: Record<string, unknown> = { ...base, ...sessionsSection(1000) };
  const checked = checkConfig(config);
  if (checked.problems.length > 0) {
    result.sessionsNote = `1,000 sessions not expressible in this build's config (${checked.problems[0]!.path}: ${checked.problems[0]!.message.slice(0, 120)}); measured with the default session only`;
    config = base;
  } else {
    result.sessions = 1000;
  }
  const configPath = join(env.tmp, 'supervisor.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));

  const child = spawn(process.execPath, [join(env.root, 'dist', 'src', 'cli.js'), 'run', '--config', configPath, '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: env.tmp,
  });
  env.cleanup.track('shadowtap run (supervisor costs)', child);
  const tail: string[] = [];
  const keep = (d: Buffer) => {
    for (const l of d.toString('utf8').split('\n')) if (l.trim()) tail.push(l);
    if (tail.length > 20) tail.splice(0, tail.length - 20);
    if (env.verbose) process.stderr.write(d);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  try {
    // Ready once the data plane runs.
    const deadline = nowMs() + 90_000;
    for (;;) {
      if (!isAlive(child)) throw new Error(`shadowtap run exited: ${tail.slice(-4).join(' | ')}`);
      const r = await get(`${url}/readyz`).catch(() => null);
      if (r?.status === 200) break;
      if (nowMs() > deadline) throw new Error(`shadowtap run not ready within 90 s: ${r?.body ?? tail.slice(-3).join(' | ')}`);
      await sleep(200);
    }
    await sleep(1000);
    // /metrics, sequentially; the first few warm the JIT and are not counted.
    const lat: number[] = [];
    let errors = 0;
    const t0 = nowMs();
    for (let i = 0; i < opts.scrapes + 5; i++) {
      const s = nowMs();
      const r = await get(`${url}/metrics`).catch(() => null);
      if (i < 5) continue;
      if (r && r.status === 200) {
        lat.push(nowMs() - s);
        result.metricsBytes = r.bytes;
        result.metricsSeries = r.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
      } else errors++;
      // A scrape every 50 ms at most: Prometheus scrapes every few seconds; this only gathers samples.
      await sleep(50);
    }
    result.scrape = stats(lat, errors, (nowMs() - t0) / 1000);
    result.api = await openLoop(`${url}${result.apiPath}`, opts.apiRate, opts.apiMs);
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    if (isAlive(child) && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await reap(child, 20_000);
    agent.destroy();
  }
  return result;
}
