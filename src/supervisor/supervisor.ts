/**
 * The supervisor owns the data-plane child: it starts it with a compiled
 * plan, polls its counters, and when it dies unexpectedly restarts it with
 * exponential backoff, re-applying the same plan under a fresh EAL file
 * prefix. A native fault therefore costs the data plane a restart, never the
 * admin API.
 *
 *   stopped ──start()──► starting ──ok──► running ──child died──► backoff
 *      ▲                    │                                      │
 *      │                 failed (first start only)      starting ◄─┘ (timer)
 *      └────────stop() from any state──────────────────────────────
 *
 * The mirror policy travels with the plan: compiled once per configuration
 * (src/policy/compile.ts) with counter slots kept in the supervisor, sent
 * with 'start' and so re-applied after every restart. applyPolicy() changes
 * it while traffic flows: validate, compile, send 'policy', await
 * 'policyInstalled'; only then do the configuration, the slots and the
 * saved state (<run_dir>/state/policy.json) move on. Any failure leaves the
 * running policy and the stored configuration as they were.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { checkPolicyUpdate, policySection } from '../config/load.js';
import type { Config, PolicySection } from '../config/schema.js';
import { compilePlan, type CompiledPlan } from '../dataplane/compile.js';
import type { NativePortInfo, NativeStats, NativePortStats, NativeWorkerStats } from '../dataplane/native-types.js';
import { isShadowtapError, PolicyError, stError, type ErrorCode, type ShadowtapError } from '../errors.js';
import type { PlanInput } from '../offload/port-facts.js';
import type { PlacementPlan } from '../offload/planner.js';
import { OffloadManager, type OffloadFallback } from './offload.js';
import { compilePolicy, type CompiledPolicy, type PolicyPlan } from '../policy/compile.js';
import { PolicyCounters, type SessionCounterView } from './policy-counters.js';
import { preparePolicyState, type PreparedWrite } from './state.js';
import { HostChild, type ExitInfo } from './host-child.js';
import { removeEalLeftovers } from './runtime-dir.js';
import { addStats, busyRatios, zeroStats } from './stats.js';

export type SupervisorState = 'stopped' | 'starting' | 'running' | 'backoff' | 'failed';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** a child that ran this long resets the delay to initialMs */
  resetAfterMs: number;
}

export interface SupervisorOptions {
  config: Config;
  logger: Logger;
  /** compiled host entry; default dist/src/dataplane/host.js next to this file */
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
  /** save the last good policy here (atomically); unset = not saved */
  stateDir?: string;
  /** policyHash() of the config file's policy section, recorded in the saved state */
  stateBaseHash?: string | null;
  /** generation of the initial policy (a restored state continues its numbering); default 1 */
  policyGeneration?: number;
  /** where the initial policy came from, for GET /v1/policy; default 'config' */
  policySource?: PolicySource;
  /** ms to wait for the data plane to install a policy; default 120 s */
  policyTimeoutMs?: number;
}

export type PolicySource = 'config' | 'state' | 'api';

export interface PolicyView {
  generation: number;
  /** installed in the running data plane; false while it is not running (applies at the next start) */
  applied: boolean;
  /** when this generation became current */
  since: string;
  /** ms the data plane took to install it (null: installed with 'start', or not yet) */
  applyMs: number | null;
  source: PolicySource;
  policy: PolicySection;
  plan: PolicyPlan;
}

export interface SessionView extends SessionCounterView {
  priority: number;
  target: string;
  description?: string;
}

export interface SessionsView {
  generation: number;
  /** the live child answered the last policy poll */
  live: boolean;
  at: number;
  /**
   * The data plane's fast path for the policy in force: "short" for the common
   * shape (one session copying every packet whole to one target), "general"
   * otherwise; absent until the data plane has reported it.
   */
  path?: 'short' | 'general';
  sessions: SessionView[];
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

export interface SupervisorStatus {
  state: SupervisorState;
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

export interface PortCounters extends NativePortStats {
  name: string;
  role: string;
}

export interface WorkerCounters extends NativeWorkerStats {
  /** share of loops that found packets over the last poll interval */
  busyRatio: number;
}

/** Counters merged over every child so far: monotonic across restarts. */
export interface SupervisorStats extends Omit<NativeStats, 'ports' | 'workers'> {
  ports: PortCounters[];
  workers: WorkerCounters[];
  /** the live child answered the last poll (false: counters are the carried totals) */
  live: boolean;
  /** ms since the epoch of the newest snapshot in these totals */
  at: number;
}

export interface SupervisorEvents {
  /** a child process was forked */
  started: [{ pid: number; filePrefix: string }];
  /** the data plane is running (first start or after a restart) */
  ready: [{ pid: number; ports: NativePortInfo[]; restarts: number }];
  exited: [{ pid: number; code: number | null; signal: string | null; expected: boolean }];
  /** attempt: the number this restart will have in `restarts` */
  restarting: [{ attempt: number; delayMs: number; reason: string }];
  /** a start attempt failed (the first start rejects too; restarts retry) */
  failed: [{ error: ShadowtapError; restarting: boolean }];
  state: [{ state: SupervisorState; previous: SupervisorState }];
  /** a new policy became current (installed live, or stored for the next start) */
  policy: [{ generation: number; applied: boolean; applyMs: number | null; warnings: number }];
  /** a rule could not be created: its group moved to the software path (traffic untouched) */
  offloadFallback: [OffloadFallback];
  /** the offload plan was probed, planned and programmed in the running data plane */
  offload: [{ pid: number; rules: number; fallbacks: number }];
}

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

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private _config: Config;
  private readonly logger: Logger;
  private readonly hostPath: string;
  private readonly nproc: number;
  private readonly prefixBase: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly startTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly maxMissedPolls: number;
  private readonly backoff: BackoffOptions;
  private readonly stateDir: string | null;
  private readonly stateBaseHash: string | null;
  private readonly policyTimeoutMs: number;

  private _state: SupervisorState = 'stopped';
  private since = new Date();
  private generation = 0;
  private restarts = 0;
  private child: HostChild | null = null;
  /** a child between fork and 'started' */
  private starting: HostChild | null = null;
  private childPrefix: string | null = null;
  private runningSince: number | null = null;
  private ports: NativePortInfo[] = [];
  private nativeVersion: string | null = null;
  private lastError: LastError | null = null;
  private nextDelayMs: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private nextRestartAt: number | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private missedPolls = 0;
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private startPromise: Promise<void> | null = null;

  /** totals of children that are gone */
  private base: NativeStats;
  /** last snapshot of the live child */
  private latest: NativeStats | null = null;
  private latestAt = 0;
  private ratios: number[] = [];

  /** the current policy: compiled from _config, sent with every start */
  private policy: CompiledPolicy;
  private policySince = new Date();
  private policyApplied = false;
  private policyApplyMs: number | null = null;
  private policySource: PolicySource;
  private applying = false;
  private readonly counters = new PolicyCounters();
  /** cleared when a host answers that it does not know 'policyStats' */
  private policyStatsSupported = true;
  /** rte_flow: probe, plan, program, fall back (src/supervisor/offload.ts) */
  readonly offload = new OffloadManager((fb) => {
    this.logger.warn({ port: fb.port, group: fb.group, reason: fb.reason }, fb.message);
    this.emit('offloadFallback', fb);
  });
  private offloadWork: Promise<void> = Promise.resolve();
  /** why the supervisor itself killed a child, for the exit it then sees */
  private readonly killReasons = new WeakMap<HostChild, string>();

  constructor(options: SupervisorOptions) {
    super();
    this._config = options.config;
    this.logger = options.logger;
    this.hostPath = options.hostPath ?? defaultHostPath();
    this.nproc = options.nproc ?? availableParallelism();
    this.prefixBase = options.prefixBase ?? `shadowtap-${process.pid}`;
    this.env = options.env ?? process.env;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.maxMissedPolls = options.maxMissedPolls ?? 5;
    this.backoff = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000, ...options.backoff };
    this.nextDelayMs = this.backoff.initialMs;
    this.stateDir = options.stateDir ?? null;
    this.stateBaseHash = options.stateBaseHash ?? null;
    this.policyTimeoutMs = options.policyTimeoutMs ?? 120_000;
    this.policySource = options.policySource ?? 'config';
    // Compile once up front: a plan error is a config error, found before any fork.
    const probe = compilePlan(this.config, { filePrefix: `${this.prefixBase}-0`, nproc: this.nproc });
    this.base = zeroStats(probe.plan.ports.length, probe.plan.workerLcores);
    this.policy = compilePolicy(this.config, { generation: options.policyGeneration ?? 1 });
    this.counters.committed(this.policy.plan, [], []);
  }

  /** The configuration in force: the file's, with the policy keys as last applied. */
  get config(): Config {
    return this._config;
  }

  get state(): SupervisorState {
    return this._state;
  }

  private setState(state: SupervisorState): void {
    if (state === this._state) return;
    const previous = this._state;
    this._state = state;
    this.since = new Date();
    this.emit('state', { state, previous });
  }

  childPid(): number | null {
    return this.child?.pid ?? this.starting?.pid ?? null;
  }

  status(): SupervisorStatus {
    const running = this._state === 'running' && this.runningSince !== null;
    return {
      state: this._state,
      pid: this.childPid(),
      restarts: this.restarts,
      filePrefix: this.childPrefix,
      uptimeSeconds: running ? Math.floor((Date.now() - this.runningSince!) / 1000) : 0,
      since: this.since.toISOString(),
      nativeVersion: this.nativeVersion,
      ports: this.config.ports.map((p, i) => {
        const info = this.ports[i];
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

  /** Latest merged counters; never null once constructed (zeros before the first poll). */
  stats(): SupervisorStats {
    const totals = this.latest ? addStats(this.base, this.latest) : this.base;
    const live = this._state === 'running' && this.latest !== null && Date.now() - this.latestAt <= 3 * this.pollIntervalMs + this.requestTimeoutMs;
    return {
      ...totals,
      ports: totals.ports.map((p, i) => ({ ...p, name: this.config.ports[i]?.name ?? `port${i}`, role: this.config.ports[i]?.role ?? 'unknown' })),
      workers: totals.workers.map((w, i) => ({ ...w, busyRatio: live ? (this.ratios[i] ?? 0) : 0 })),
      live,
      at: this.latestAt,
    };
  }

  restartCount(): number {
    return this.restarts;
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
      const child = this.child;
      if (child) {
        this.logger.info({ dataplanePid: child.pid }, 'stopping the data plane');
        await child.terminate(this.stopTimeoutMs);
        // The exit handler carries counters and removes EAL leftovers; wait for it.
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

  /** Fork a child under a fresh prefix and start the plan in it. Cleans up on failure. */
  private async launch(): Promise<void> {
    this.generation++;
    const filePrefix = `${this.prefixBase}-${this.generation}`;
    const compiled: CompiledPlan = compilePlan(this.config, { filePrefix, nproc: this.nproc });
    const child = new HostChild({ hostPath: this.hostPath, logger: this.logger, env: this.env });
    this.starting = child;
    this.childPrefix = filePrefix;
    this.logger.info({ dataplanePid: child.pid, filePrefix, eal: compiled.ealArgs.join(' ') }, 'starting the data plane');
    this.emit('started', { pid: child.pid, filePrefix });
    let ports: NativePortInfo[];
    try {
      if (this.stopping) throw stError('ST_ERR_STATE', 'stop requested during start');
      await child.hello(this.startTimeoutMs);
      if (this.stopping) throw stError('ST_ERR_STATE', 'stop requested during start');
      ports = await child.start(compiled.ealArgs, compiled.plan, this.startTimeoutMs, this.policy.native);
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
    this.child = child;
    this.ports = ports;
    this.nativeVersion = child.version ?? this.nativeVersion;
    this.runningSince = Date.now();
    this.latest = null;
    this.ratios = [];
    this.missedPolls = 0;
    this.policyApplied = true;
    this.policyStatsSupported = true;
    void child.closed.then((info) => this.onChildExit(child, filePrefix, info));
    this.setState('running');
    this.startPolling();
    this.logger.info({ dataplanePid: child.pid, filePrefix, restarts: this.restarts }, 'data plane ready');
    this.emit('ready', { pid: child.pid, ports, restarts: this.restarts });
    this.offloadWork = this.applyOffload(child);
  }

  /** Probe, plan and program rte_flow in a fresh data plane; a failure leaves everything in software. */
  private async applyOffload(child: HostChild): Promise<void> {
    try {
      const p = await this.offload.apply(child, this.planInput(), this.requestTimeoutMs);
      if (this.child !== child) return;
      this.logger.info({ dataplanePid: child.pid, rules: p.rules.length, fallbacks: this.offload.fallbacks.length }, 'offload plan programmed');
      this.emit('offload', { pid: child.pid, rules: p.rules.length, fallbacks: this.offload.fallbacks.length });
    } catch (err) {
      if (this.child !== child || !child.alive) return;
      this.logger.warn({ dataplanePid: child.pid, err: (err as Error).message }, 'offload not programmed; every piece of the policy runs in software');
      await this.offload.abandon(child, this.requestTimeoutMs).catch((e: unknown) => {
        this.logger.warn({ dataplanePid: child.pid, err: (e as Error).message }, 'rules of an abandoned offload plan could not be flushed');
      });
    }
  }

  /** Resolves when the offload work of the current data plane has settled. */
  offloadSettled(): Promise<void> {
    return this.offloadWork;
  }

  /** rte_flow offload counters for /metrics. */
  offloadStats(): { rules: { port: string; placement: string; rules: number }[]; hits: { port: string; rule: string; hits: number }[]; fallbacks: Record<string, number>; disagreements: { port: string; count: number }[] } {
    return { rules: this.offload.ruleGauge(), hits: this.offload.ruleHits(), fallbacks: { ...this.offload.fallbackCounts }, disagreements: this.offload.disagreements() };
  }

  /** The plan in force in the running data plane (probe results, fallbacks), or null before the first one. */
  offloadPlan(): PlacementPlan | null {
    return this.offload.current();
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
    const out = stError(code, message, { field: base.field, errnum: base.errnum, cause: base.cause });
    return out;
  }

  private childGone(child: HostChild): Promise<void> {
    return new Promise((resolve) => {
      if (this.child !== child) {
        resolve();
        return;
      }
      const check = () => {
        if (this.child !== child) {
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
    if (this.child !== child) return;
    this.stopPolling();
    // Keep counters monotonic: what this child counted becomes part of the base.
    if (this.latest) this.base = addStats(this.base, this.latest);
    this.latest = null;
    this.ratios = [];
    this.counters.childGone(this.policy.plan);
    this.offload.childGone();
    this.policyApplied = false;
    this.child = null;
    this.childPrefix = null;
    const ranMs = this.runningSince === null ? 0 : Date.now() - this.runningSince;
    this.runningSince = null;
    this.cleanup(filePrefix);
    const expected = this.stopping;
    this.emit('exited', { pid: child.pid, code: info.code, signal: info.signal, expected });
    if (expected) {
      this.logger.info({ dataplanePid: child.pid }, `data-plane process ${child.pid} ${child.describeExit(info)}`);
      return;
    }
    const killedFor = this.killReasons.get(child) ?? child.fatalError?.message;
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
    const delayMs = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.backoff.maxMs);
    this.setState('backoff');
    this.nextRestartAt = Date.now() + delayMs;
    this.logger.warn({ delayMs, restarts: this.restarts }, `restarting the data plane in ${delayMs} ms`);
    this.emit('restarting', { attempt: this.restarts + 1, delayMs, reason });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.nextRestartAt = null;
      // Tracked like a first start, so stop() waits for it to settle.
      this.startPromise = this.restart().finally(() => {
        this.startPromise = null;
      });
    }, delayMs);
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
    this.pollTimer = setInterval(() => void this.poll(), this.pollIntervalMs);
    void this.poll();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private async poll(): Promise<void> {
    const child = this.child;
    if (!child || this.polling || this._state !== 'running') return;
    this.polling = true;
    try {
      const snap = await child.stats(this.requestTimeoutMs);
      if (this.child !== child) return; // died while we waited; its base is settled
      this.ratios = busyRatios(this.latest, snap);
      this.latest = snap;
      this.latestAt = Date.now();
      this.missedPolls = 0;
      await this.pollPolicy(child);
      await this.offload.poll(child, this.requestTimeoutMs).catch((err: unknown) => {
        if (this.child === child) this.logger.debug({ err: (err as Error).message }, 'rte_flow counter poll failed');
      });
    } catch (err) {
      if (this.child !== child || !child.alive) return;
      // A host busy compiling a big policy may answer late: that is not a hang.
      if (this.applying) return;
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

  /**
   * A policy install the data plane did not answer in time is still queued
   * in it: answered late, it would install the new policy while the
   * configuration, the counters and the saved state keep the old one. The
   * child is killed instead, and the restart re-applies the policy in force.
   */
  private policyTimedOut(err: unknown, child: HostChild): unknown {
    if (!isShadowtapError(err) || err.code !== 'ST_ERR_DATAPLANE_TIMEOUT' || this.child !== child || !child.alive) return err;
    const generation = this.policy.native.generation;
    const why = `it did not answer a policy install in time and could still apply it later; restarted with generation ${generation}, the policy in force`;
    this.killReasons.set(child, why);
    this.logger.error({ dataplanePid: child.pid }, `killing data-plane process ${child.pid}: ${why}`);
    child.kill('SIGKILL');
    return stError('ST_ERR_DATAPLANE_TIMEOUT', `${err.message}; the data plane is restarted with policy generation ${generation}, the one in force, which stays`, { cause: err });
  }

  /** Per-session counters; a host that does not know 'policyStats' is asked once. */
  private async pollPolicy(child: HostChild): Promise<void> {
    if (!this.policyStatsSupported) return;
    try {
      const snap = await child.policyStats(this.requestTimeoutMs);
      if (this.child !== child) return;
      this.counters.snapshot(snap);
    } catch (err) {
      if (this.child !== child || !child.alive) return;
      if (/unknown request type/.test((err as Error).message)) {
        this.policyStatsSupported = false;
        this.logger.warn({ dataplanePid: child.pid }, 'the data-plane host does not report per-session counters (policyStats)');
        return;
      }
      this.logger.warn({ dataplanePid: child.pid, err: (err as Error).message }, 'policy stats poll failed');
    }
  }

  // ---- the mirror policy ---------------------------------------------------------

  /** The current policy, its compiled plan, warnings and explanations. */
  policyView(): PolicyView {
    return {
      generation: this.policy.native.generation,
      applied: this.policyApplied && this._state === 'running',
      since: this.policySince.toISOString(),
      applyMs: this.policyApplyMs,
      source: this.policySource,
      policy: policySection(this._config),
      plan: this.policy.plan,
    };
  }

  /**
   * What the placement plan (GET /v1/plan) is made from: the configuration in
   * force, its compiled policy, and the ports as the data plane last reported
   * them (kept across restarts: the ports cannot change without one of
   * shadowtap; null before the first start).
   */
  planInput(): PlanInput {
    return { config: this._config, policy: this.policy.native, ports: this.ports.length > 0 ? this.ports : null };
  }

  /** Per-session and per-rule counters of the current policy, monotonic across restarts. */
  sessionStats(): SessionsView {
    const plan = this.policy.plan;
    const views = this.counters.view(plan);
    const live = this._state === 'running' && this.counters.latestAt > 0 && Date.now() - this.counters.latestAt <= 3 * this.pollIntervalMs + this.requestTimeoutMs;
    return {
      generation: this.policy.native.generation,
      live,
      at: this.counters.latestAt,
      ...(this.counters.path !== undefined ? { path: this.counters.path } : {}),
      sessions: views.map((v, i) => {
        const s = plan.sessions[i]!;
        return { ...v, priority: s.priority, target: s.target, ...(s.description !== undefined ? { description: s.description } : {}) };
      }),
    };
  }

  /** Check a policy section against this configuration and compile it; nothing changes. Throws PolicyError. */
  validatePolicy(section: unknown): PolicyPlan {
    const checked = checkPolicyUpdate(this._config, section, { source: 'policy' });
    if (!checked.config) throw new PolicyError(checked.problems);
    return compilePolicy(checked.config, { generation: this.policy.native.generation + 1, slots: this.policy.slots }).plan;
  }

  /**
   * Replace the policy section: validate, compile, install in the running
   * data plane (RCU swap, traffic keeps flowing) and only then make it the
   * configuration in force and save it. While the data plane is stopped or
   * failed it is stored and applies at the next start; while it is starting
   * or restarting the call is refused (ST_ERR_BUSY), as is a second update
   * while one is in flight. On any failure nothing changes.
   */
  async applyPolicy(section: unknown): Promise<PolicyView> {
    if (this.applying) throw stError('ST_ERR_BUSY', 'another policy update is in progress; retry when it has finished');
    const checked = checkPolicyUpdate(this._config, section, { source: 'policy' });
    if (!checked.config) throw new PolicyError(checked.problems);
    if (this._state === 'starting' || this._state === 'backoff') {
      throw stError('ST_ERR_BUSY', `the data plane is ${this._state === 'starting' ? 'starting' : 'restarting after a crash'}; retry once it runs`);
    }
    this.applying = true;
    let staged: PreparedWrite | null = null;
    try {
      const generation = this.policy.native.generation + 1;
      const compiled = compilePolicy(checked.config, { generation, slots: this.policy.slots });
      // Make sure the state can be saved before anything changes.
      if (this.stateDir) {
        staged = preparePolicyState(this.stateDir, {
          generation,
          baseHash: this.stateBaseHash,
          policy: structuredClone(policySection(checked.config)) as unknown as Record<string, unknown>,
        });
      }
      let applied = false;
      let applyMs: number | null = null;
      const child = this.child;
      if (this._state === 'running' && child) {
        const t0 = performance.now();
        const answer = await child.policy(compiled.native, this.policyTimeoutMs).catch((err: unknown) => {
          throw this.policyTimedOut(err, child);
        });
        if (this.child !== child) {
          throw stError('ST_ERR_DATAPLANE_EXIT', 'the data plane restarted while the policy was being installed; the previous policy stays');
        }
        applied = true;
        applyMs = typeof answer.applyMs === 'number' ? answer.applyMs : performance.now() - t0;
      } else if (this._state === 'running') {
        throw stError('ST_ERR_NOT_READY', 'the data plane is not answering; retry');
      }
      staged?.commit();
      staged = null;
      this._config = checked.config;
      this.counters.committed(compiled.plan, compiled.freshSessionSlots, compiled.freshRuleSlots);
      this.policy = compiled;
      this.policySince = new Date();
      this.policyApplyMs = applyMs;
      this.policySource = 'api';
      this.policyApplied = applied;
      this.logger.info(
        { generation, applied, applyMs, sessions: compiled.plan.counts.sessions, classifierRules: compiled.plan.counts.classifierRules, warnings: compiled.plan.warnings.length },
        applied ? `policy generation ${generation} installed` : `policy generation ${generation} stored; it applies when the data plane starts`,
      );
      this.emit('policy', { generation, applied, applyMs, warnings: compiled.plan.warnings.length });
      // The placement follows the policy: re-plan and re-program the NIC
      // (after any offload work in flight). Until the new rules exist the old
      // ones only mark; software honours the MARKs of the plan it was told.
      if (applied && child && this.child === child) {
        const prev = this.offloadWork;
        this.offloadWork = prev.then(() => (this.child === child ? this.applyOffload(child) : undefined));
      }
      return this.policyView();
    } catch (err) {
      staged?.abort();
      if (isShadowtapError(err)) this.logger.warn({ err: { code: err.code, message: err.message.split('\n')[0] } }, 'policy update refused; the running policy is unchanged');
      throw err;
    } finally {
      this.applying = false;
    }
  }
}
