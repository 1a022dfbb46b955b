/**
 * The one harness for driving the real data plane from a test.
 *
 * - `missingBuild()`: why the real-host tests cannot run (they fail with it,
 *   never pass without checking); `HOST_JS`, `ADDON`: what they run.
 * - `HostChannel`: one forked data-plane host process (dist/src/dataplane/host.js,
 *   the real addon and DPDK) and its request/reply plumbing: the host's log
 *   lines and output collected for failure messages, replies queued until
 *   asked for, an 'error' reply thrown as an Error that carries the host's
 *   code and field, a clean stop that insists on exit code 0, and a kill by
 *   pid that also removes EAL's runtime directory.
 * - `TestHost`: a host under test with a scratch directory and an EAL file
 *   prefix of its own: EAL arguments (no hugepages, no PCI, the test's vdevs),
 *   hello → start → requests → stop, captures read back, and kill/dispose that
 *   always leave nothing behind. Every real-host helper is a TestHost with a
 *   port layout: dataplane.ts (runDataplane: plan-only runs), policy-host.ts
 *   (PolicyHost, runPolicy: native policies, live installs), policy-run.ts
 *   (runConfig: config → policy runs), errors/real-host.ts (HostUnderTest:
 *   refusals on a paced replay). supervised.ts starts the same host through
 *   the real Supervisor.
 * - `withEal`: EAL inside the test's own process, for tests that drive the
 *   addon directly (one EAL per process: each such file runs in its own ava
 *   worker).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding, NativeStartPlan, NativePolicy, NativePolicyStats, NativeStats } from '../../src/dataplane/native-types.js';
import type { FromHost, ToHost, WireError } from '../../src/dataplane/protocol.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import type { NativeFaultTable } from '../../src/faults/native-types.js';

export const HOST_JS = fileURLToPath(new URL('../../src/dataplane/host.js', import.meta.url));
export const ADDON = fileURLToPath(new URL('../../../build/Release/shadowtap.node', import.meta.url));

/** Why the real-host tests cannot run here, or null. */
export function missingBuild(): string | null {
  if (!existsSync(HOST_JS)) return `data-plane host not built: ${HOST_JS} is missing (node scripts/bootstrap.mjs --for=test)`;
  if (!existsSync(ADDON) && !process.env['SHADOWTAP_ADDON']) return `addon not built: ${ADDON} is missing (node scripts/bootstrap.mjs --for=test)`;
  return null;
}

/** The frames of a capture, or none when the file was never written. */
export function readFrames(path: string): Buffer[] {
  return existsSync(path) ? readPcap(path).packets.map((p) => p.data) : [];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A timeout for Promise.race that does not keep the process alive once the race is won. */
const timeoutAfter = (ms: number): Promise<'timeout'> => new Promise((r) => setTimeout(() => r('timeout'), ms).unref());

/** An 'error' reply as an Error; `wire` is the reply itself (its message without the host's context). */
export type HostError = Error & { code: string; field: string; wire: WireError };

/** Counters that must stop moving before a run counts as finished (no loop counters). */
export function settledView(s: NativeStats): string {
  return JSON.stringify({
    ports: s.ports.map((p) => [p.rxPackets, p.txPackets, p.txDropped, p.hwOpackets]),
    m: s.mirrorPackets,
    t: s.translatedPackets,
    d: s.dropped,
    a: s.anomalies,
  });
}

export class HostChannel {
  readonly logs: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly inbox: FromHost[] = [];
  private readonly waiters: Array<() => void> = [];
  private gone = false;
  private nextId = 100;

  /** Fork the host; `filePrefix` is the EAL --file-prefix the test gives it (its runtime directory is removed by kill()). */
  constructor(private readonly filePrefix: string) {
    const c = fork(HOST_JS, [], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    this.child = c;
    c.stdout?.on('data', (d: Buffer) => this.logs.push(`stdout: ${d.toString().trimEnd()}`));
    c.stderr?.on('data', (d: Buffer) => this.logs.push(`stderr: ${d.toString().trimEnd()}`));
    this.exited = new Promise((resolve) => {
      c.on('exit', (code, signal) => {
        this.gone = true;
        this.logs.push(`exit: code ${code} signal ${signal}`);
        this.wake();
        resolve(code);
      });
    });
    c.on('message', (m: FromHost) => {
      if (m.type === 'log') {
        this.logs.push(`${m.level}: ${m.msg}${m.data ? ` ${JSON.stringify(m.data)}` : ''}`);
        return;
      }
      this.inbox.push(m);
      this.wake();
    });
  }

  get hasExited(): boolean {
    return this.gone;
  }

  /** The host's last lines, for an assertion or error message. */
  context(): string {
    return `\n--- host output ---\n${this.logs.slice(-40).join('\n')}`;
  }

  send(m: ToHost): void {
    this.child.send(m);
  }

  /** A fresh request id (the fixed ids 1 and 2 are start and stop). */
  id(): number {
    return this.nextId++;
  }

  /**
   * The next reply of `type` (with `id`, when given); an 'error' reply to the
   * same id (or to none) is thrown as a HostError with the host's code and field.
   */
  async waitFor<T extends FromHost['type']>(type: T, id: number | null, ms: number): Promise<Extract<FromHost, { type: T }>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex((m) => (m.type === type || m.type === 'error') && (id === null || !('id' in m) || m.id === id || m.id === 0));
      if (i >= 0) {
        const m = this.inbox.splice(i, 1)[0] as FromHost;
        if (m.type === 'error') {
          const e = new Error(`host answered error while waiting for '${type}': ${m.error.code} ${m.error.message} (field "${m.error.field}")${this.context()}`) as HostError;
          e.code = m.error.code;
          e.field = m.error.field;
          e.wire = m.error;
          throw e;
        }
        return m as Extract<FromHost, { type: T }>;
      }
      if (this.gone) throw new Error(`host exited while waiting for '${type}'${this.context()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for '${type}' from the host${this.context()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stats(): Promise<NativeStats> {
    const id = this.id();
    this.send({ type: 'stats', id });
    return (await this.waitFor('stats', id, 10_000)).stats;
  }

  /**
   * Read the counters until port 0 has received `n` packets (exactly `n`
   * with `exact`) and three reads in a row see the same view.
   */
  async settle(n: number, opts: { timeoutMs?: number; exact?: boolean; view?: (s: NativeStats) => string } = {}): Promise<NativeStats> {
    const view = opts.view ?? settledView;
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    let prev = '';
    let stable = 0;
    for (;;) {
      const s = await this.stats();
      const got = s.ports[0]?.rxPackets ?? -1;
      const v = view(s);
      if ((opts.exact ? got === n : got >= n) && v === prev) stable++;
      else stable = 0;
      prev = v;
      if (stable >= 3) return s;
      if (Date.now() > deadline) throw new Error(`timed out: port 0 received ${got} of ${n} packets; last stats ${JSON.stringify(s)}${this.context()}`);
      await sleep(50);
    }
  }

  /** Stop the data plane and insist that the host exits with code 0. */
  async stop(): Promise<void> {
    if (this.gone) return;
    this.send({ type: 'stop', id: 2 });
    await this.waitFor('stopped', 2, 30_000);
    const code = await Promise.race([this.exited, timeoutAfter(30_000)]);
    if (code === 'timeout') throw new Error(`host did not exit within 30 s after 'stopped'${this.context()}`);
    if (code !== 0) throw new Error(`host exited with code ${String(code)} after stop${this.context()}`);
  }

  /** Kill the host by pid if it is still there, and remove EAL's runtime directory. */
  async kill(): Promise<void> {
    if (!this.gone && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await Promise.race([this.exited, timeoutAfter(5_000)]);
    }
    rmSync(join('/var/run/dpdk', this.filePrefix), { recursive: true, force: true });
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
}

// ---- a host under test -------------------------------------------------------------

export interface EalOptions {
  /** --vdev arguments, in port order */
  vdevs: string[];
  /** -m; default 256 */
  memoryMb?: number;
  /** lcore arguments; default -l 0,1 */
  lcores?: string[];
  /** --log-level lib.eal:error (default true): EAL's notices are noise in a test's output */
  quiet?: boolean;
}

let hosts = 0;

/**
 * One data-plane host under test: a scratch directory (`dir`, with `in.pcap`
 * when frames are given) and an EAL file prefix (`prefix`) of its own, both
 * named after `tag`. fork() starts the process; kill() ends it by pid and
 * removes EAL's runtime directory; dispose() removes the scratch directory.
 */
export class TestHost {
  readonly dir: string;
  readonly prefix: string;
  readonly inputPath: string;
  private host: HostChannel | undefined;

  constructor(tag: string, opts: { frames?: ReadonlyArray<Buffer>; prefix?: string } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), `st-${tag}-`));
    this.prefix = opts.prefix ?? `st-${tag}-${process.pid}-${hosts++}`;
    this.inputPath = join(this.dir, 'in.pcap');
    if (opts.frames) writePcap(this.inputPath, opts.frames);
  }

  /** A path in the scratch directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** EAL arguments for this host: no hugepages, no PCI, its own file prefix, the given vdevs. */
  eal(o: EalOptions): string[] {
    return [
      'shadowtap-test', '--no-huge', '-m', String(o.memoryMb ?? 256), '--no-pci',
      '--file-prefix', this.prefix, ...(o.lcores ?? ['-l', '0,1']),
      ...(o.quiet === false ? [] : ['--log-level', 'lib.eal:error']),
      ...o.vdevs.flatMap((v) => ['--vdev', v]),
    ];
  }

  /** Fork the host process (once); throws with what is missing when it is not built. */
  fork(): HostChannel {
    if (!this.host) {
      const missing = missingBuild();
      if (missing) throw new Error(missing);
      this.host = new HostChannel(this.prefix);
    }
    return this.host;
  }

  get forked(): boolean {
    return this.host !== undefined;
  }

  get channel(): HostChannel {
    if (!this.host) throw new Error('TestHost: fork() or launch() first');
    return this.host;
  }

  /** The host's log lines and output (empty before fork). */
  get logs(): string[] {
    return this.host?.logs ?? [];
  }

  async hello(): Promise<void> {
    await this.channel.waitFor('hello', null, 30_000);
  }

  /** Send 'start' (id 1) and wait for 'started'. */
  async startWith(ealArgs: string[], startPlan: NativeStartPlan, policy?: NativePolicy, faults?: NativeFaultTable): Promise<Extract<FromHost, { type: 'started' }>> {
    const msg: Extract<ToHost, { type: 'start' }> = { type: 'start', id: 1, ealArgs, plan: startPlan };
    if (policy) msg.policy = policy;
    if (faults) msg.faults = faults;
    this.channel.send(msg);
    return this.channel.waitFor('started', 1, 60_000);
  }

  /** fork, hello, start. */
  async launch(ealArgs: string[], startPlan: NativeStartPlan, policy?: NativePolicy): Promise<Extract<FromHost, { type: 'started' }>> {
    this.fork();
    await this.hello();
    return this.startWith(ealArgs, startPlan, policy);
  }

  stats(): Promise<NativeStats> {
    return this.channel.stats();
  }

  async policyStats(): Promise<NativePolicyStats> {
    const id = this.channel.id();
    this.channel.send({ type: 'policyStats', id });
    return (await this.channel.waitFor('policyStats', id, 10_000)).stats;
  }

  async install(p: NativePolicy, timeoutMs = 60_000): Promise<{ generation: number; applyMs: number }> {
    const id = this.channel.id();
    this.channel.send({ type: 'policy', id, policy: p });
    const r = await this.channel.waitFor('policyInstalled', id, timeoutMs);
    return { generation: r.generation, applyMs: r.applyMs };
  }

  /** Until port 0 has received `n` packets (exactly, with `exact`) and the counters stop moving. */
  settle(n: number, opts: { timeoutMs?: number; exact?: boolean } = {}): Promise<NativeStats> {
    return this.channel.settle(n, opts);
  }

  /**
   * Send `req` and return the 'error' it must be answered with (the wire
   * error itself); throws when it is answered with `expect` instead.
   */
  async refused<T extends FromHost['type']>(req: ToHost, expect: T, ms = 60_000, id: number = req.id): Promise<WireError> {
    this.channel.send(req);
    try {
      await this.channel.waitFor(expect, id, ms);
    } catch (err) {
      const e = err as HostError;
      if (e.wire) return e.wire;
      throw err;
    }
    throw new Error(`'${req.type}' was not refused${this.channel.context()}`);
  }

  /** The host's exit code (waits up to 30 s). */
  async exitCode(): Promise<number | null | 'still running'> {
    const timeout = new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000).unref());
    return Promise.race([this.channel.exited, timeout]);
  }

  /** EAL's runtime directory of this host is gone (the host removes it on every exit path it controls). */
  runtimeDirGone(): boolean {
    return !existsSync(join('/var/run/dpdk', this.prefix));
  }

  /** Stop the data plane and insist that the host exits with code 0 (nothing to do before fork). */
  async stop(): Promise<void> {
    await this.host?.stop();
  }

  /** Kill by pid if still there, and remove EAL's runtime directory. */
  async kill(): Promise<void> {
    if (this.host) await this.host.kill();
    else rmSync(join('/var/run/dpdk', this.prefix), { recursive: true, force: true });
  }

  /** Remove the scratch directory. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- EAL in the test's own process --------------------------------------------------

export interface InProcessEal {
  /** EAL --file-prefix; /var/run/dpdk/<prefix> is removed afterwards */
  prefix: string;
  memoryMb?: number;
  /** --vdev arguments, in port order */
  vdevs?: string[];
}

/** No hugepages, no PCI, a file prefix of the test's own; EAL is cleaned up and its runtime directory removed however `fn` ends. */
export async function withEal<T>(native: NativeBinding, o: InProcessEal, fn: () => T | Promise<T>): Promise<T> {
  try {
    native.ealInit(['shadowtap', '--no-huge', '-m', String(o.memoryMb ?? 256), '--no-pci', '--file-prefix', o.prefix,
      '--log-level=lib.eal:error', ...(o.vdevs ?? []).flatMap((v) => ['--vdev', v])]);
    try {
      return await fn();
    } finally {
      native.ealCleanup();
    }
  } finally {
    rmSync(join('/var/run/dpdk', o.prefix), { recursive: true, force: true });
  }
}
