/**
 * Shared set-up for supervisor tests that run the REAL data-plane host
 * (dist/src/dataplane/host.js + build/Release/shadowtap.node) on DPDK vdevs,
 * started by the real Supervisor. What it runs and the build check are the
 * harness's (host.ts).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { validateConfig } from '../../src/config/load.js';
import { writePcap } from '../../src/pcap/pcap.js';
import { dpdkRuntimeBase } from '../../src/supervisor/runtime-dir.js';
import { Supervisor, type SupervisorOptions } from '../../src/supervisor/supervisor.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';

import { HOST_JS } from './host.js';

export { missingBuild } from './host.js';

export interface Scratch {
  dir: string;
  capture: string;
  dispose(): void;
}

/** A temp dir with the demo capture in it. */
export function scratch(tag: string): Scratch {
  const dir = mkdtempSync(join(tmpdir(), `st-${tag}-`));
  const capture = join(dir, 'in.pcap');
  writePcap(capture, buildDemoFrames());
  return { dir, capture, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** prod-in replays a capture forever → prod-out sink; copies → a sink shadow port. */
export function vdevConfig(capture: string, extra: Record<string, unknown> = {}) {
  return validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_pcap0,rx_pcap=${capture},infinite_rx=1`, egress: 'prod-out', rx_desc: 256, tx_desc: 256 },
      // no-rx=1: a sink; net_null otherwise generates packets of its own
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow', rx_desc: 256, tx_desc: 256 },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] },
    ...extra,
  });
}

export function makeSupervisor(prefixBase: string, config: SupervisorOptions['config'], over: Partial<SupervisorOptions> = {}) {
  return new Supervisor({
    config,
    logger: pino({ level: process.env['ST_TEST_LOG'] ?? 'silent' }),
    hostPath: HOST_JS,
    nproc: availableParallelism(),
    prefixBase,
    pollIntervalMs: 200,
    startTimeoutMs: 30_000,
    stopTimeoutMs: 10_000,
    backoff: { initialMs: 300, jitter: 0 },
    // A standby doubles EAL start-up work per test: the reliability tests
    // turn it on (the product's default is on: reliability.standby).
    standby: false,
    ...over,
  });
}

/** EAL runtime dirs left with this prefix base. */
export function leftovers(prefixBase: string): string[] {
  try {
    return readdirSync(dpdkRuntimeBase()).filter((n) => n.startsWith(prefixBase));
  } catch {
    return [];
  }
}

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * How long a test waits for something that will happen (a start, a restart,
 * a standby taking over, copies written): long enough for this 2-core
 * machine at load 30, where one data-plane start can take tens of seconds.
 * Such a wait is not a speed assertion; a test that bounds a time asserts
 * that bound separately and generously. A test that waits this long raises
 * its own ava timeout past it (t.timeout(EVENT_WAIT_MS + ...)).
 */
export const EVENT_WAIT_MS = 300_000;

/** The supervisor's start timeout (hello, start, standby prepare) for tests that wait with EVENT_WAIT_MS. */
export const START_WAIT_MS = 180_000;

export async function until(what: string, cond: () => boolean, timeoutMs = 20_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Waits until a finite capture has played out: production rx (port 0) has
 * taken all `total` frames and the tx count of `txPorts` (summed; default
 * 1 and 2, production out and the shadow port) has not changed for five
 * checks in a row, 100 ms apart. The tx side trails the last rx (buffered
 * tx, copies in flight), so a test that read the output pcaps at the rx
 * count alone could miss frames still being written. `label` names the run
 * in the timeout message. Used by the offload tests that compare the output
 * of several runs over one capture.
 */
export async function untilReplayed(
  sup: ReturnType<typeof makeSupervisor>,
  label: string,
  total: number,
  opts: { txPorts?: readonly number[]; timeoutMs?: number } = {},
): Promise<void> {
  const txPorts = opts.txPorts ?? [1, 2];
  let last = -1;
  let stable = 0;
  await until(`${label}: the capture replayed`, () => {
    const st = sup.stats();
    const now = txPorts.reduce((a, p) => a + st.ports[p]!.txPackets, 0);
    stable = now === last && st.ports[0]!.rxPackets === total ? stable + 1 : 0;
    last = now;
    return stable >= 5;
  }, opts.timeoutMs ?? 30_000, 100);
}

/**
 * Stats once a snapshot falls between bursts: production tx (port 1) has
 * caught up with production rx (port 0), or about 2 s have passed.
 */
export async function settledStats(sup: ReturnType<typeof makeSupervisor>) {
  let s = sup.stats();
  for (let i = 0; i < 100 && s.ports[1]!.txPackets !== s.ports[0]!.rxPackets; i++) {
    await new Promise((r) => setTimeout(r, 20));
    s = sup.stats();
  }
  return s;
}
