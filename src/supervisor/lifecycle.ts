/**
 * The data-plane child's lifecycle, in one place: fork, start, watch,
 * restart with exponential backoff, stop. A native fault therefore costs the
 * data plane a restart, never the admin API.
 *
 *   stopped ──start()──► starting ──ok──► running ──child died──► backoff
 *      ▲                    │                                      │
 *      │                 failed (first start only)      starting ◄─┘ (timer)
 *      └────────stop() from any state──────────────────────────────
 *
 * Every start forks a fresh host under a fresh EAL file prefix and sends it
 * the native start plan (src/dataplane/start-plan.ts) made from the
 * configuration in force, with the compiled policy in force and the last
 * fault table installed (setFaults): a restart re-applies all three, the
 * fault table armed before the workers launch. Neither is this module's: it asks for them (options
 * `config` and `policy`) each time it starts a child.
 *
 * It knows nothing of policies, sessions or rte_flow; it says what happens
 * through typed events: state changes, forks, ready, exits, restarts,
 * failures, and a `stats` snapshot from every poll of the running child.
 * Services (src/services/) and the counter totals (./counters.ts) listen;
 * services also add their own steps to each poll (pollAlso).
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { compileStartPlan, type StartPlan } from '../dataplane/start-plan.js';
import type { NativeStartPlan, NativePolicy, NativePortInfo, NativeStats } from '../dataplane/native-types.js';
import type { NativeFaultStats, NativeFaultTable, NativeFaultsInstalled } from '../faults/native-types.js';
import { isShadowtapError, stError, type ErrorCode, type ShadowtapError } from '../errors.js';
import type { DataplaneHandle, DataplaneState } from '../services/dataplane.js';
import { HostChild, type ExitInfo } from './host-child.js';
import { removeEalLeftovers } from './runtime-dir.js';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** a child that ran this long resets the delay to initialMs */
  resetAfterMs: number;
  /** each delay is spread by ± this share of it, so hosts that crashed together do not restart in step */
  jitter: number;
  /** uniform in [0, 1); Math.random by default (tests pass a seeded one) */
  random: () => number;
}

/**
 * Restart delays: initialMs doubling to maxMs (0.5, 1, 2, 4, 4 ... s by
 * default: a crash loop retries every few seconds, never slower), each
 * spread by ± jitter.
 */
export function backoffDelay(baseMs: number, jitter: number, random: () => number): number {
  return Math.max(0, Math.round(baseMs * (1 + jitter * (2 * random() - 1))));
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 4_000, resetAfterMs: 60_000, jitter: 0.2, random: Math.random };

export interface LifecycleOptions {
  logger: Logger;
  /** the configuration in force, read at every start (its policy keys follow applied policies) */
  config: () => Config;
  /** the compiled policy in force, sent with every start */
  policy: () => NativePolicy;
  /** true while a slow answer is expected (a big policy being installed): failed polls then do not count as a hang */
  busy?: () => boolean;
  /** compiled host entry; default dist/src/dataplane/host.js */
  hostPath?: string;
  nproc?: number;
  /** file prefixes are `${prefixBase}-${n}`; default shadowtap-<pid> */
  prefixBase?: string;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  requestTimeoutMs?: number;
  stopTimeoutMs?: number;
  pollIntervalMs?: number;
  /** consecutive failed stats polls after which a child is taken for hung and killed */
  maxMissedPolls?: number;
  backoff?: Partial<BackoffOptions>;
  /** what the start plan gets beyond the configuration, read at every start (flight recorder, quarantine, forward-only) */
  startExtras?: (filePrefix: string) => Partial<NativeStartPlan>;
  /** keep a prepared standby that takes over when the running child dies (read after every start) */
  standby?: () => boolean;
}

export interface PortStatus {
  name: string;
  role: string;
  device: string;
  /** from the running child; null before the first start */
  portId: number | null;
  driver: string | null;
  mac: string | null;
}

export interface LastError {
  code: string;
  message: string;
  field: string;
  at: string;
}

export interface DataplaneStatus {
  state: DataplaneState;
  pid: number | null;
  restarts: number;
  filePrefix: string | null;
  /** seconds the current child has been running, 0 when not running */
  uptimeSeconds: number;
  since: string;
  nativeVersion: string | null;
  ports: PortStatus[];
  lastError: LastError | null;
  /** when the next restart attempt is due, in backoff */
  nextRestartAt: string | null;
}

export interface LifecycleEvents {
  /** a child process was forked */
  started: [{ pid: number; filePrefix: string }];
  /**
   * The data plane is running (first start or after a restart). launchedAt:
   * when its workers were launched (the host's clock); standby: a prepared
   * standby took over (no EAL start, no backoff wait).
   */
  ready: [{ pid: number; ports: NativePortInfo[]; restarts: number; launchedAt: number; standby: boolean; filePrefix: string }];
  /** a standby is prepared (EAL up, pools made, no device) */
  standby: [{ pid: number; filePrefix: string }];
  exited: [{ pid: number; code: number | null; signal: string | null; expected: boolean; filePrefix: string }];
  /** attempt: the number this restart will have in `restarts` */
  restarting: [{ attempt: number; delayMs: number; reason: string }];
  /** a start attempt failed (the first start rejects too; restarts retry) */
  failed: [{ error: ShadowtapError; restarting: boolean }];
  state: [{ state: DataplaneState; previous: DataplaneState }];
  /**
   * What the running child counted since it started, from one poll (at: ms
   * since the epoch). `faults` (also stats.faults) is the fault table's
   * counters read in the same poll.
   */
  stats: [{ pid: number; stats: NativeStats; at: number; faults?: NativeFaultStats }];
}

/** A service's own part of every poll of the running child, run after the stats snapshot. */
export type PollStep = (child: HostChild) => Promise<void>;

/**
 * The lines of a child's output that explain a failure. EAL follows a bad
 * argument with its whole usage text (indented option lines under headings):
 * that is dropped, the reason lines before it are kept.
 */
export function explanatoryLines(lines: readonly string[], max = 8): string[] {
  const usage = (l: string) => /^\s/.test(l) || /^Usage:/.test(l) || (/:$/.test(l) && !/^EAL: /.test(l));
  // EAL parses its arguments twice, so a complaint can appear twice: keep one.
  const kept = lines.filter((l) => l.trim() !== '' && !usage(l));
  return kept.filter((l, i) => kept.indexOf(l) === i).slice(-max);
}

const defaultHostPath = (): string => fileURLToPath(new URL('../dataplane/host.js', import.meta.url));

export class DataplaneLifecycle extends EventEmitter<LifecycleEvents> implements DataplaneHandle {
  readonly requestTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** the native start plan's shape: ports and worker lcores (what the counters are sized by) */
  readonly shape: { ports: number; workerLcores: number[] };

  private readonly logger: Logger;
  private readonly config: () => Config;
  private readonly policy: () => NativePolicy;
  private readonly busy: () => boolean;
  private readonly hostPath: string;
  private readonly nproc: number;
  private readonly prefixBase: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly maxMissedPolls: number;
  private readonly backoff: BackoffOptions;
  private readonly pollSteps: PollStep[] = [];
  private readonly startExtras: (filePrefix: string) => Partial<NativeStartPlan>;
  private readonly standbyWanted: () => boolean;
  /** a child prepared to take over (ready once 'prepared' arrived) */
  private standby: { child: HostChild; filePrefix: string; ready: boolean } | null = null;

  private _state: DataplaneState = 'stopped';
  private since = new Date();
  private generation = 0;
  private restarts = 0;
  private _child: HostChild | null = null;
  /** a child between fork and 'started' */
  private starting: HostChild | null = null;
  private childPrefix: string | null = null;
  private runningSince: number | null = null;
  private _ports: NativePortInfo[] = [];
  private nativeVersion: string | null = null;
  private lastError: LastError | null = null;
  private nextDelayMs: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private nextRestartAt: number | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private pollTimerMs = 0;
  private readonly pollRequests = new Map<symbol, number>();
  private polling = false;
  private missedPolls = 0;
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private startPromise: Promise<void> | null = null;
  /** the last fault table installed (null: none ever); sent with every start */
  private faultTable: NativeFaultTable | null = null;
  /** setFaults calls run one at a time, in order */
  private faultsQueue: Promise<unknown> = Promise.resolve();

  constructor(options: LifecycleOptions) {
    super();
    this.logger = options.logger;
    this.config = options.config;
    this.policy = options.policy;
    this.busy = options.busy ?? (() => false);
    this.hostPath = options.hostPath ?? defaultHostPath();
    this.nproc = options.nproc ?? availableParallelism();
    this.prefixBase = options.prefixBase ?? `shadowtap-${process.pid}`;
    this.env = options.env ?? process.env;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.maxMissedPolls = options.maxMissedPolls ?? 5;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.startExtras = options.startExtras ?? (() => ({}));
    this.standbyWanted = options.standby ?? (() => false);
    this.nextDelayMs = this.backoff.initialMs;
    // Made once up front: a start-plan error is a config error, found before any fork.
    const probe = compileStartPlan(this.config(), { filePrefix: `${this.prefixBase}-0`, nproc: this.nproc });
    this.shape = { ports: probe.native.ports.length, workerLcores: probe.native.workerLcores };
  }

  get state(): DataplaneState {
    return this._state;
  }

  /** The running child; null unless running. */
  get child(): HostChild | null {
    return this._child;
  }

  /** The ports as the data plane last reported them (kept across restarts). */
  get ports(): readonly NativePortInfo[] {
    return this._ports;
  }

  /**
   * Install a fault table (src/faults/compile.ts) in the data plane: an RCU
   * swap independent of the policy; `faults: []` disarms everything. Kept
   * and re-applied at every start, so faults survive a data-plane restart.
   * When no data plane runs it is only kept (armed at the next start).
   * Rejects with ST_ERR_FAULT_INVALID naming the field, and then the table
   * in force is unchanged. Warnings say per port whether link_down set the
   * link down (rte_eth_dev_set_link_down) or drops in software.
   */
  setFaults(table: NativeFaultTable): Promise<NativeFaultsInstalled> {
    const run = this.faultsQueue.then(async (): Promise<NativeFaultsInstalled> => {
      const child = this._child;
      if (!child || this._state !== 'running') {
        this.faultTable = table;
        return { generation: table.generation, warnings: [`the data plane is ${this._state}: the fault table is armed when it starts`] };
      }
      const r = await child.setFaults(table, this.requestTimeoutMs);
      this.faultTable = table;
      return r;
    });
    this.faultsQueue = run.catch(() => undefined);
    return run;
  }

  /** The last fault table installed (what the next start arms), or null. */
  get faults(): NativeFaultTable | null {
    return this.faultTable;
  }

  /** Run `step` in every poll of the running child, after the stats snapshot, in the order added. */
  pollAlso(step: PollStep): void {
    this.pollSteps.push(step);
  }

  /**
   * Poll at least every `ms` (a stop condition needs fresh snapshots) until
   * the returned function is called; the fastest request wins.
   */
  pollEvery(ms: number): () => void {
    const token = Symbol('poll');
    this.pollRequests.set(token, Math.max(10, ms));
    this.repoll();
    return () => {
      if (this.pollRequests.delete(token)) this.repoll();
    };
  }

  /** The interval polls run at now: pollIntervalMs, or faster while asked. */
  get effectivePollMs(): number {
    return Math.min(this.pollIntervalMs, ...this.pollRequests.values());
  }

  private repoll(): void {
    if (this.pollTimer && this.effectivePollMs !== this.pollTimerMs) this.startPolling();
  }

  private setState(state: DataplaneState): void {
    if (state === this._state) return;
    const previous = this._state;
    this._state = state;
    this.since = new Date();
    this.emit('state', { state, previous });
  }

  childPid(): number | null {
    return this._child?.pid ?? this.starting?.pid ?? null;
  }

  restartCount(): number {
    return this.restarts;
  }

  status(): DataplaneStatus {
    const running = this._state === 'running' && this.runningSince !== null;
    return {
      state: this._state,
      pid: this.childPid(),
      restarts: this.restarts,
      filePrefix: this.childPrefix,
      uptimeSeconds: running ? Math.floor((Date.now() - this.runningSince!) / 1000) : 0,
      since: this.since.toISOString(),
      nativeVersion: this.nativeVersion,
      ports: this.config().ports.map((p, i) => {
        const info = this._ports[i];
        return {
          name: p.name,
          role: p.role,
          device: p.device,
          portId: info?.portId ?? null,
          driver: info?.driver ?? null,
          mac: info?.mac ?? null,
        };
      }),
      lastError: this.lastError,
      nextRestartAt: this._state === 'backoff' && this.nextRestartAt ? new Date(this.nextRestartAt).toISOString() : null,
    };
  }

  /**
   * First start. Rejects with the structured error (EAL's own last lines in
   * the message) and leaves nothing running if the data plane cannot start.
   */
  start(): Promise<void> {
    if (this._state !== 'stopped' && this._state !== 'failed') {
      return Promise.reject(stError('ST_ERR_STATE', `cannot start: the data plane is ${this._state}`));
    }
    this.stopping = false;
    this.lastError = null;
    this.nextDelayMs = this.backoff.initialMs;
    const run = (async () => {
      this.setState('starting');
      try {
        await this.launch();
      } catch (err) {
        const error = this.remember(err);
        this.emit('failed', { error, restarting: false });
        this.setState(this.stopping ? 'stopped' : 'failed');
        throw error;
      }
    })();
    this.startPromise = run.finally(() => {
      this.startPromise = null;
    });
    return this.startPromise;
  }

  /** Stop the data plane; resolves when no child is left. Safe in any state. */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.stopping = true;
    this.stopPromise = (async () => {
      if (this.restartTimer) {
        clearTimeout(this.restartTimer);
        this.restartTimer = null;
        this.nextRestartAt = null;
      }
      this.stopPolling();
      // A start in flight is ended through its child; its own handler then settles.
      const pending = this.starting;
      if (pending) await pending.terminate(this.stopTimeoutMs);
      if (this.startPromise) await this.startPromise.catch(() => undefined);
      const sb = this.standby;
      this.standby = null;
      if (sb) {
        await sb.child.terminate(this.stopTimeoutMs);
        this.cleanup(sb.filePrefix);
      }
      const child = this._child;
      if (child) {
        this.logger.info({ dataplanePid: child.pid }, 'stopping the data plane');
        await child.terminate(this.stopTimeoutMs);
        // The exit handler settles counters and removes EAL leftovers; wait for it.
        await this.childGone(child);
      }
      this.setState('stopped');
    })().finally(() => {
      this.stopPromise = null;
    });
    return this.stopPromise;
  }

  private remember(err: unknown): ShadowtapError {
    const error = isShadowtapError(err)
      ? err
      : stError('ST_ERR_INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
    this.lastError = { code: error.code, message: error.message, field: error.field, at: new Date().toISOString() };
    return error;
  }

  /**
   * Start the plan: in the prepared standby when there is one (it only has to
   * take the devices over), else in a child forked under a fresh prefix.
   * Cleans up on failure.
   */
  private async launch(): Promise<void> {
    const sb = this.standby !== null && this.standby.ready && this.standby.child.alive ? this.standby : null;
    let child: HostChild;
    let filePrefix: string;
    if (sb) {
      this.standby = null;
      child = sb.child;
      filePrefix = sb.filePrefix;
    } else {
      this.generation++;
      filePrefix = `${this.prefixBase}-${this.generation}`;
      child = new HostChild({ hostPath: this.hostPath, logger: this.logger, env: this.env });
    }
    const start: StartPlan = compileStartPlan(this.config(), { filePrefix, nproc: this.nproc });
    const startPlan: NativeStartPlan = { ...start.native, ...this.startExtras(filePrefix) };
    this.starting = child;
    this.childPrefix = filePrefix;
    if (sb) this.logger.info({ dataplanePid: child.pid, filePrefix, devices: start.devices }, 'the standby takes over the data plane');
    else this.logger.info({ dataplanePid: child.pid, filePrefix, eal: start.ealArgs.join(' ') }, 'starting the data plane');
    this.emit('started', { pid: child.pid, filePrefix });
    let ports: NativePortInfo[];
    let launchedAt: number;
    const faultsSent = this.faultTable;
    try {
      if (this.stopping) throw stError('ST_ERR_STATE', 'stop requested during start');
      if (!sb) await child.hello(this.startTimeoutMs);
      if (this.stopping) throw stError('ST_ERR_STATE', 'stop requested during start');
      ({ ports, launchedAt } = await child.startAt(start.ealArgs, startPlan, this.startTimeoutMs, this.policy(), sb ? start.devices : undefined, faultsSent ?? undefined));
      if (!child.alive) throw stError('ST_ERR_DATAPLANE_EXIT', `data-plane process ${child.pid} ${child.describeExit()} right after starting`);
      if (this.stopping) throw stError('ST_ERR_STATE', 'stop requested during start');
    } catch (err) {
      // Leave nothing running: end the child, then quote what EAL said.
      await child.terminate(this.stopTimeoutMs);
      this.starting = null;
      this.childPrefix = null;
      this.cleanup(filePrefix);
      throw this.withOutput(err, child);
    }
    this.starting = null;
    this._child = child;
    this._ports = ports;
    this.nativeVersion = child.version ?? this.nativeVersion;
    this.runningSince = Date.now();
    this.missedPolls = 0;
    void child.closed.then((info) => this.onChildExit(child, filePrefix, info));
    this.setState('running');
    // A table installed while this child was starting: armed now.
    if (this.faultTable !== faultsSent && this.faultTable !== null) void this.setFaults(this.faultTable).catch((err: Error) => this.logger.warn({ err: err.message }, 'the fault table installed during the start was refused'));
    this.startPolling();
    this.logger.info({ dataplanePid: child.pid, filePrefix, restarts: this.restarts, standby: sb !== null }, 'data plane ready');
    this.emit('ready', { pid: child.pid, ports, restarts: this.restarts, launchedAt, standby: sb !== null, filePrefix });
    this.prepareStandby();
  }

  /**
   * Fork a standby and prepare it: EAL up with no device (PCI devices
   * block-listed, so the running child keeps them), the plan's pools made.
   * A standby that fails or dies is dropped; the next restart is then a
   * full start.
   */
  private prepareStandby(): void {
    if (this.standby !== null || this.stopping || !this.standbyWanted()) return;
    this.generation++;
    const filePrefix = `${this.prefixBase}-${this.generation}`;
    const start = compileStartPlan(this.config(), { filePrefix, nproc: this.nproc });
    const child = new HostChild({ hostPath: this.hostPath, logger: this.logger, env: this.env });
    const sb = { child, filePrefix, ready: false };
    this.standby = sb;
    void child.closed.then(() => {
      if (this.standby !== sb) return;
      this.standby = null;
      this.cleanup(filePrefix);
      this.logger.warn({ dataplanePid: child.pid, filePrefix }, 'the standby data plane exited; the next restart is a full start');
    });
    void (async () => {
      try {
        await child.hello(this.startTimeoutMs);
        await child.prepare(start.standbyEalArgs, start.native, this.startTimeoutMs);
        if (this.standby !== sb) return;
        sb.ready = true;
        this.logger.info({ dataplanePid: child.pid, filePrefix }, 'standby data plane prepared');
        this.emit('standby', { pid: child.pid, filePrefix });
      } catch (err) {
        if (this.standby === sb) this.standby = null;
        this.logger.warn({ dataplanePid: child.pid, err: { message: (err as Error).message } }, 'the standby data plane could not be prepared; restarts take a full start');
        await child.terminate(this.stopTimeoutMs);
        this.cleanup(filePrefix);
      }
    })();
  }

  /** Add the child's last output lines to a start error: EAL explains itself there. */
  private withOutput(err: unknown, child: HostChild): ShadowtapError {
    const base = isShadowtapError(err) ? err : stError('ST_ERR_INTERNAL', String(err), { cause: err });
    let code: ErrorCode = base.code;
    let message = base.message;
    if (code === 'ST_ERR_DATAPLANE_EXIT' && child.exit) {
      message = `data-plane process ${child.pid} ${child.describeExit(child.exit)} during start`;
    }
    const tail = explanatoryLines(child.outputTail(200)).filter((l) => !message.includes(l.trim()));
    if (tail.length > 0) message = `${message}\ndata-plane output (last ${tail.length} lines):\n${tail.map((l) => `  ${l}`).join('\n')}`;
    if (message === base.message) return base;
    // A child that died in EAL init says so on its output; keep that code if it gave one.
    if (code === 'ST_ERR_DATAPLANE_EXIT' && tail.some((l) => /^EAL: .*(error|invalid|cannot|fail)/i.test(l))) code = 'ST_ERR_EAL_INIT';
    return stError(code, message, { field: base.field, errnum: base.errnum, cause: base.cause });
  }

  private childGone(child: HostChild): Promise<void> {
    return new Promise((resolve) => {
      if (this._child !== child) {
        resolve();
        return;
      }
      const check = () => {
        if (this._child !== child) {
          this.off('exited', check);
          resolve();
        }
      };
      this.on('exited', check);
    });
  }

  private cleanup(filePrefix: string): void {
    const removed = removeEalLeftovers(filePrefix, this.env);
    if (removed.length > 0) this.logger.debug({ removed }, 'removed EAL leftovers');
  }

  private onChildExit(child: HostChild, filePrefix: string, info: ExitInfo): void {
    if (this._child !== child) return;
    this.stopPolling();
    this._child = null;
    this.childPrefix = null;
    const ranMs = this.runningSince === null ? 0 : Date.now() - this.runningSince;
    this.runningSince = null;
    this.cleanup(filePrefix);
    const expected = this.stopping;
    // Listeners settle what the child leaves behind (counter totals, session
    // counters, rte_flow state) before anything else happens.
    this.emit('exited', { pid: child.pid, code: info.code, signal: info.signal, expected, filePrefix });
    if (expected) {
      this.logger.info({ dataplanePid: child.pid }, `data-plane process ${child.pid} ${child.describeExit(info)}`);
      return;
    }
    const killedFor = child.killReason ?? child.fatalError?.message;
    const reason = killedFor
      ? `data-plane process ${child.pid} ${child.describeExit(info)}: ${killedFor}`
      : `data-plane process ${child.pid} ${child.describeExit(info)} unexpectedly`;
    // A native crash (rte_panic, assertion) explains itself on stderr, if at all.
    const tail = explanatoryLines(child.outputTail(200), 5);
    this.logger.error({ dataplanePid: child.pid, code: info.code, signal: info.signal, output: tail }, reason);
    const message = tail.length ? `${reason}\nlast output:\n${tail.map((l) => `  ${l}`).join('\n')}` : reason;
    this.lastError = { code: 'ST_ERR_DATAPLANE_EXIT', message, field: '', at: new Date().toISOString() };
    if (ranMs >= this.backoff.resetAfterMs) this.nextDelayMs = this.backoff.initialMs;
    this.scheduleRestart(reason);
  }

  private scheduleRestart(reason: string): void {
    if (this.stopping) return;
    // The first crash after a stable run takes a prepared standby at once;
    // crashes in quick succession wait as before (with jitter).
    const delayMs = this.standby?.ready === true && this.nextDelayMs === this.backoff.initialMs
      ? 0
      : backoffDelay(this.nextDelayMs, this.backoff.jitter, this.backoff.random);
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.backoff.maxMs);
    this.setState('backoff');
    this.nextRestartAt = Date.now() + delayMs;
    this.logger.warn({ delayMs, restarts: this.restarts }, `restarting the data plane in ${delayMs} ms`);
    this.emit('restarting', { attempt: this.restarts + 1, delayMs, reason });
    const go = (): void => {
      this.restartTimer = null;
      this.nextRestartAt = null;
      // Tracked like a first start, so stop() waits for it to settle.
      this.startPromise = this.restart().finally(() => {
        this.startPromise = null;
      });
    };
    if (delayMs === 0) go();
    else this.restartTimer = setTimeout(go, delayMs);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    this.restarts++;
    this.setState('starting');
    try {
      await this.launch();
    } catch (err) {
      const error = this.remember(err);
      if (this.stopping) {
        this.setState('stopped');
        return;
      }
      this.logger.error({ err: { code: error.code, message: error.message } }, 'data-plane restart failed');
      this.emit('failed', { error, restarting: true });
      this.scheduleRestart(error.message);
    }
  }

  private startPolling(): void {
    this.stopPolling();
    this.pollTimerMs = this.effectivePollMs;
    this.pollTimer = setInterval(() => void this.poll(), this.pollTimerMs);
    void this.poll();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private async poll(): Promise<void> {
    const child = this._child;
    if (!child || this.polling || this._state !== 'running') return;
    this.polling = true;
    try {
      // When the host read them, not when the answer arrived: a loaded
      // machine delays answers unevenly, and rates are counter deltas over
      // these times.
      const { stats, readAt } = await child.statsAt(this.requestTimeoutMs);
      if (this._child !== child) return; // died while we waited; what it counted is settled
      this.missedPolls = 0;
      this.emit('stats', { pid: child.pid, stats, at: readAt, ...(stats.faults ? { faults: stats.faults } : {}) });
      for (const step of this.pollSteps) await step(child);
    } catch (err) {
      if (this._child !== child || !child.alive) return;
      // A host busy installing a big policy may answer late: that is not a hang.
      if (this.busy()) return;
      this.missedPolls++;
      this.logger.warn({ dataplanePid: child.pid, err: (err as Error).message, missed: this.missedPolls }, 'stats poll failed');
      if (this.missedPolls >= this.maxMissedPolls) {
        // A child that answers nothing is hung: kill it and let the restart path take over.
        this.logger.error({ dataplanePid: child.pid }, `data plane missed ${this.missedPolls} stats polls; killing it`);
        child.kill('SIGKILL');
      }
    } finally {
      this.polling = false;
    }
  }
}
