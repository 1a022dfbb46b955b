/**
 * The data-plane host: a child process forked by the supervisor
 * (`node dist/src/dataplane/host.js`, serialization 'advanced') that owns EAL,
 * the ports and the worker lcores. EAL can be initialised once per process,
 * so one host runs one plan: start, stats..., stop, exit.
 *
 * Exit codes: 0 after a stop (asked for, SIGTERM, or supervisor gone);
 * 2 after a failed start (everything it had started is undone first);
 * 3 when the addon cannot be loaded; 1 when a stop itself failed.
 */
import { tryLoadNative } from '../native/loader.js';
import { removeEalLeftovers } from '../supervisor/runtime-dir.js';
import { performance } from 'node:perf_hooks';
import type { NativeBinding } from './native-types.js';
import type { FromHost, ToHost, WireError } from './protocol.js';

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where this process is in its one-plan life. */
type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'done';

let phase: Phase = 'idle';
let ealUp = false;
let filePrefix: string | null = null;
let binding: NativeBinding | null = null;
/** Requests run one at a time, in arrival order, so a stop waits for a start. */
let queue: Promise<void> = Promise.resolve();
/**
 * Policy installs run one at a time too, but beside the request queue: a
 * compile of thousands of rules must not hold up 'stats'. A stop waits for them.
 */
let installs: Promise<void> = Promise.resolve();

function send(msg: FromHost): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) {
      resolve();
      return;
    }
    try {
      process.send(msg, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}

function log(level: LogLevel, msg: string, data?: Record<string, unknown>): void {
  void send(data === undefined ? { type: 'log', level, msg } : { type: 'log', level, msg, data });
}

function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const rec = err as Error & { code?: unknown; field?: unknown; errnum?: unknown };
    return {
      code: typeof rec.code === 'string' ? rec.code : 'ST_ERR_INTERNAL',
      message: err.message,
      field: typeof rec.field === 'string' ? rec.field : '',
      errnum: typeof rec.errnum === 'number' ? rec.errnum : 0,
    };
  }
  return { code: 'ST_ERR_INTERNAL', message: String(err), field: '', errnum: 0 };
}

function stateError(message: string): WireError {
  return { code: 'ST_ERR_DATAPLANE_STATE', message, field: '', errnum: 0 };
}

/** The value of --file-prefix (either spelling), or null when EAL's default is used. */
export function filePrefixOf(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--file-prefix') return args[i + 1] ?? null;
    if (a.startsWith('--file-prefix=')) return a.slice('--file-prefix='.length);
  }
  return null;
}

async function exit(code: number): Promise<never> {
  phase = 'done';
  // Give queued IPC messages a chance to leave before the channel closes.
  await new Promise((r) => setImmediate(r));
  process.exit(code);
}

/**
 * Undo everything: workers, ports, pools, EAL, and EAL's runtime directory.
 * Never throws; returns the first error met.
 */
function teardown(): unknown {
  let first: unknown = null;
  if (binding && ealUp) {
    try {
      binding.stop();
    } catch (err) {
      first ??= err;
      log('error', 'data plane stop failed', { error: toWire(err) });
    }
    try {
      binding.ealCleanup();
    } catch (err) {
      first ??= err;
      log('error', 'EAL cleanup failed', { error: toWire(err) });
    }
    ealUp = false;
  }
  // EAL leaves its runtime directory behind even after rte_eal_cleanup.
  // Only a prefix of our own is removed: the default one may be shared.
  if (filePrefix !== null && filePrefix !== 'rte') {
    const removed = removeEalLeftovers(filePrefix);
    if (removed.length > 0) log('debug', 'removed EAL runtime files', { removed });
  }
  return first;
}

async function onStart(msg: Extract<ToHost, { type: 'start' }>, b: NativeBinding): Promise<void> {
  if (phase !== 'idle') {
    await send({ type: 'error', id: msg.id, error: stateError(`cannot start: the data plane is ${phase}; one start per process`) });
    return;
  }
  phase = 'starting';
  filePrefix = filePrefixOf(msg.ealArgs);
  try {
    b.ealInit(msg.ealArgs);
    ealUp = true;
    log('info', 'EAL initialised', { ealArgs: msg.ealArgs });
    if (msg.policy !== undefined) {
      // Installed before setup: the workers start with it, never without it.
      const t0 = performance.now();
      await b.policyInstall(msg.policy);
      log('info', 'initial policy compiled', {
        generation: msg.policy.generation,
        sessions: msg.policy.sessions.length,
        rules: msg.policy.rules.length,
        applyMs: Math.round((performance.now() - t0) * 1000) / 1000,
      });
    }
    await b.start(msg.plan);
  } catch (err) {
    const error = toWire(err);
    log('error', 'data plane start failed; undoing what was started', { error });
    teardown();
    await send({ type: 'error', id: msg.id, error });
    return exit(2);
  }
  phase = 'running';
  const ports = b.portList();
  log('info', 'data plane running', {
    workers: msg.plan.workerLcores,
    ports: msg.plan.ports.map((p) => ({ name: p.name, device: p.device })),
  });
  await send({ type: 'started', id: msg.id, ports });
}

function onPolicy(msg: Extract<ToHost, { type: 'policy' }>, b: NativeBinding): void {
  if (phase !== 'running') {
    void send({ type: 'error', id: msg.id, error: stateError(`cannot install a policy: the data plane is ${phase}; give the first policy with 'start'`) });
    return;
  }
  installs = installs.then(async () => {
    if (phase !== 'running') {
      await send({ type: 'error', id: msg.id, error: stateError(`policy not installed: the data plane is ${phase}`) });
      return;
    }
    const t0 = performance.now();
    try {
      await b.policyInstall(msg.policy);
    } catch (err) {
      const error = toWire(err);
      log('warn', 'policy rejected; the running policy is unchanged', { generation: msg.policy?.generation, error });
      await send({ type: 'error', id: msg.id, error });
      return;
    }
    const applyMs = Math.round((performance.now() - t0) * 1000) / 1000;
    log('info', 'policy installed', { generation: msg.policy.generation, rules: msg.policy.rules.length, applyMs });
    await send({ type: 'policyInstalled', id: msg.id, generation: msg.policy.generation, applyMs });
  });
}

async function onStop(id: number): Promise<void> {
  phase = 'stopping';
  await installs;
  const err = teardown();
  if (err !== null) {
    await send({ type: 'error', id, error: toWire(err) });
    return exit(1);
  }
  log('info', 'data plane stopped');
  await send({ type: 'stopped', id });
  return exit(0);
}

async function handle(msg: ToHost, b: NativeBinding): Promise<void> {
  if (phase === 'done' || phase === 'stopping') return;
  if (msg === null || typeof msg !== 'object') {
    log('warn', 'ignored a message that is not an object', { received: typeof msg });
    return;
  }
  try {
    switch (msg.type) {
      case 'start':
        return await onStart(msg, b);
      case 'stats':
        await send({ type: 'stats', id: msg.id, stats: b.stats() });
        return;
      case 'policy':
        onPolicy(msg, b);
        return;
      case 'policyStats':
        await send({ type: 'policyStats', id: msg.id, stats: b.policyStats() });
        return;
      case 'stop':
        return await onStop(msg.id);
      default: {
        const unknown = msg as { type?: unknown; id?: unknown };
        const id = typeof unknown.id === 'number' ? unknown.id : 0;
        await send({ type: 'error', id, error: { code: 'ST_ERR_INTERNAL', message: `unknown request type ${String(unknown.type)}`, field: 'type', errnum: 0 } });
      }
    }
  } catch (err) {
    const id = typeof (msg as { id?: unknown }).id === 'number' ? msg.id : 0;
    await send({ type: 'error', id, error: toWire(err) });
  }
}

/** SIGTERM or the supervisor gone: stop cleanly once the current request is done. */
function shutdown(reason: string): void {
  if (phase === 'done' || phase === 'stopping') return;
  queue = queue.then(async () => {
    if (phase === 'done' || phase === 'stopping') return;
    phase = 'stopping';
    log('info', `stopping: ${reason}`);
    await installs;
    const err = teardown();
    return exit(err === null ? 0 : 1);
  });
}

async function main(): Promise<void> {
  // A Ctrl-C reaches the whole process group; the supervisor decides when the
  // data plane stops, so SIGINT alone must not kill it.
  process.on('SIGINT', () => log('debug', 'SIGINT ignored: the supervisor drives shutdown'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('disconnect', () => shutdown('supervisor disconnected'));

  if (!process.send) {
    process.stderr.write('shadowtap data-plane host: must be started by the supervisor (child_process.fork)\n');
    process.exit(3);
  }

  const loaded = tryLoadNative();
  if ('error' in loaded) {
    await send({ type: 'error', id: 0, error: toWire(loaded.error) });
    return exit(3);
  }
  binding = loaded.binding;
  const b = binding;
  process.on('message', (msg: ToHost) => {
    queue = queue.then(() => handle(msg, b));
  });
  await send({ type: 'hello', pid: process.pid, version: b.version() });
  log('debug', 'native addon loaded', { path: loaded.path });
}

void main();
