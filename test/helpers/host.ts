/**
 * One forked data-plane host process (dist/src/dataplane/host.js, the real
 * addon and DPDK) and the request/reply plumbing every real-host test helper
 * needs: the host's log lines and output collected for failure messages,
 * replies queued until asked for, an 'error' reply thrown as an Error that
 * carries the host's code and field, a clean stop that insists on exit code
 * 0, and a kill by pid that also removes EAL's runtime directory.
 *
 * Used by dataplane.ts (plan-only runs), policy-run.ts (config → policy runs)
 * and policy-host.ts (native policy runs, live installs).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeStats } from '../../src/dataplane/native-types.js';
import type { FromHost, ToHost, WireError } from '../../src/dataplane/protocol.js';

export const HOST_JS = fileURLToPath(new URL('../../src/dataplane/host.js', import.meta.url));

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
