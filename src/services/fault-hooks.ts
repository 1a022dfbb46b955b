/**
 * The VM stop/start hook of an experiment step: a command (run without a
 * shell, its output kept short) or an HTTP webhook to a loopback address.
 * It really stops or starts a shadow VM; what it did is recorded on the
 * timeline (ok, exit status or HTTP status, how long, the start of its
 * output). A hook never throws: a failed hook is an outcome.
 */
import { execFile } from 'node:child_process';
import { isLoopbackUrl, type CheckedHook } from '../faults/experiment.js';

export interface HookOutcome {
  ok: boolean;
  ms: number;
  kind: 'command' | 'webhook';
  exitCode?: number | null;
  signal?: string | null;
  status?: number;
  output?: string;
  error?: string;
}

const clip = (s: string) => (s.length > 2000 ? `${s.slice(0, 2000)}...` : s);

export function runHook(hook: CheckedHook): Promise<HookOutcome> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  if (hook.command) {
    const [file, ...args] = hook.command;
    return new Promise((resolve) => {
      execFile(file!, args, { timeout: hook.timeoutMs, maxBuffer: 1 << 20, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        const output = clip(`${stdout}${stderr}`.trim());
        if (!err) return resolve({ ok: true, ms: ms(), kind: 'command', exitCode: 0, ...(output ? { output } : {}) });
        const e = err as NodeJS.ErrnoException & { code?: number | string; signal?: string | null; killed?: boolean };
        resolve({
          ok: false,
          ms: ms(),
          kind: 'command',
          exitCode: typeof e.code === 'number' ? e.code : null,
          signal: e.signal ?? null,
          ...(output ? { output } : {}),
          error: e.killed ? `timed out after ${hook.timeoutMs} ms` : typeof e.code === 'string' ? `${e.code}: ${e.message}` : `exited with status ${String(e.code)}`,
        });
      });
    });
  }
  const w = hook.webhook!;
  if (!isLoopbackUrl(w.url)) return Promise.resolve({ ok: false, ms: 0, kind: 'webhook', error: `${w.url} is not a loopback URL` });
  return (async (): Promise<HookOutcome> => {
    try {
      const res = await fetch(w.url, {
        method: w.method,
        redirect: 'manual',
        headers: w.body !== undefined ? { 'content-type': 'application/json' } : {},
        ...(w.body !== undefined && w.method !== 'GET' ? { body: JSON.stringify(w.body) } : {}),
        signal: AbortSignal.timeout(hook.timeoutMs),
      });
      const output = clip((await res.text()).trim());
      return { ok: res.status >= 200 && res.status < 300, ms: ms(), kind: 'webhook', status: res.status, ...(output ? { output } : {}), ...(res.status >= 300 ? { error: `HTTP ${res.status}` } : {}) };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return { ok: false, ms: ms(), kind: 'webhook', error: e.name === 'TimeoutError' ? `timed out after ${hook.timeoutMs} ms` : `${e.cause?.code ?? e.name}: ${e.message}` };
    }
  })();
}
