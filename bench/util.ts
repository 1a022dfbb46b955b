/**
 * Small helpers shared by the benchmark: waiting, statistics, running
 * commands, and the registry of everything the harness started, so that a
 * finally block, a SIGINT or an uncaught error undoes exactly that and
 * nothing else (processes by pid, never by name).
 */
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** `nice -n N cmd args`, so the niceness is set before the program starts any thread. */
export function niced(nice: number, cmd: string, args: readonly string[]): [string, string[]] {
  return nice === 0 ? [cmd, [...args]] : ['nice', ['-n', String(nice), cmd, ...args]];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Monotonic milliseconds (float). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

export interface ExecResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (async, so signals are still handled meanwhile). */
export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      [...args],
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
        resolve({ ok: !err, code, stdout: stdout ?? '', stderr: stderr ?? (err ? err.message : '') });
      },
    );
  });
}

/** Like run(), but throws with the command and its stderr when it fails. */
export async function runOk(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (!r.ok) {
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed (exit ${r.code ?? 'signal/timeout'}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }
  return r.stdout;
}

export function capture(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout ?? '').trim() : '';
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Wait for a child to exit; send SIGKILL (to its pid only) when it has not
 * by the deadline.
 */
export async function reap(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (!isAlive(child)) return;
  const gone = await Promise.race([exited(child).then(() => true), sleep(timeoutMs).then(() => false)]);
  if (!gone && isAlive(child) && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await Promise.race([exited(child), sleep(2000)]);
  }
}

type Undo = { name: string; run: () => Promise<void> | void; sync?: () => void };

/**
 * Everything the harness must give back, newest first: started processes,
 * mounts, hugepages, temporary directories.
 */
export class Cleanup {
  private readonly stack: Undo[] = [];
  private readonly children = new Map<number, { name: string; child: ChildProcess }>();
  private running: Promise<void> | null = null;

  /** Register an undo step; `sync` is the best-effort version for process 'exit'. */
  push(name: string, run: () => Promise<void> | void, sync?: () => void): () => void {
    const entry: Undo = { name, run, sync };
    this.stack.push(entry);
    return () => {
      const i = this.stack.indexOf(entry);
      if (i >= 0) this.stack.splice(i, 1);
    };
  }

  /** Track a process we started; it is forgotten once it has exited. */
  track(name: string, child: ChildProcess): void {
    if (child.pid === undefined) return;
    const pid = child.pid;
    this.children.set(pid, { name, child });
    child.once('exit', () => this.children.delete(pid));
  }

  /** Kill every tracked process (by pid), then run every undo step. */
  runAll(): Promise<void> {
    this.running ??= (async () => {
      for (const { child } of this.children.values()) {
        if (isAlive(child) && child.pid !== undefined) {
          try {
            process.kill(child.pid, 'SIGTERM');
          } catch {
            // gone
          }
        }
      }
      await Promise.all([...this.children.values()].map(({ child }) => reap(child, 5000)));
      while (this.stack.length > 0) {
        const u = this.stack.pop()!;
        try {
          await u.run();
        } catch (err) {
          process.stderr.write(`[bench] cleanup "${u.name}" failed: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }

  /** Last resort from process.on('exit'): synchronous only. */
  runAllSync(): void {
    for (const { child } of this.children.values()) {
      if (isAlive(child) && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    while (this.stack.length > 0) {
      const u = this.stack.pop()!;
      try {
        u.sync?.();
      } catch {
        // nothing more can be done at exit
      }
    }
  }
}

/** Per-CPU jiffies from /proc/stat: [busy, total, steal] per cpu. */
export function cpuTimes(): Array<{ busy: number; total: number; steal: number }> {
  const out: Array<{ busy: number; total: number; steal: number }> = [];
  for (const line of readText('/proc/stat').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - idle, total, steal: f[7] ?? 0 };
  }
  return out;
}

/** Busy and steal shares (0..1) per CPU between two cpuTimes() readings. */
export function cpuShares(
  a: ReturnType<typeof cpuTimes>,
  b: ReturnType<typeof cpuTimes>,
): Array<{ busy: number; steal: number }> {
  return b.map((y, i) => {
    const x = a[i] ?? { busy: 0, total: 0, steal: 0 };
    const dt = y.total - x.total;
    return dt > 0 ? { busy: (y.busy - x.busy) / dt, steal: (y.steal - x.steal) / dt } : { busy: 0, steal: 0 };
  });
}
