/**
 * The supervisor puts the pieces together; it holds no logic of its own:
 *
 *   DataplaneLifecycle (./lifecycle.ts)  fork, start, watch, restart with backoff, stop;
 *                                        events: state, started, ready, exited,
 *                                        restarting, failed, stats (every poll)
 *   CounterTotals (./counters.ts)        counters monotonic across restarts (stats, exited)
 *   services (src/services/)             policy: get, validate, apply, persist, replay
 *                                        offload: plan, program, fall back, abandon
 *
 * The lifecycle asks the policy service for the configuration and the
 * compiled policy in force at every start, so a restart re-applies them;
 * the services learn of each child from the lifecycle's events and add their
 * own steps to every poll. The API and the CLI call the services
 * (`supervisor.services`); the methods below that forward to them keep the
 * supervisor usable as one data-plane source for /metrics and for tests.
 */
import { EventEmitter } from 'node:events';
import { EventFeed } from '../services/events.js';
import { AlertService } from '../services/alerts.js';
import { SeriesService } from '../services/series.js';
import { ReportService } from '../services/reports.js';
import { rotateCaptures } from './captures.js';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { PlacementPlan } from '../offload/planner.js';
import type { PlanInput } from '../offload/port-facts.js';
import type { CompiledPolicy, PolicyReport } from '../policy/compile.js';
import type { DataplaneState } from '../services/dataplane.js';
import { OffloadService, type OffloadCounters, type OffloadEvents } from '../services/offload.js';
import type { OffloadManager } from '../services/offload-manager.js';
import { PolicyService, type ApplyOptions, type PolicyEvents, type PolicySource, type PolicyView, type SessionsView } from '../services/policy.js';
import { ReliabilityService, type ReliabilityEvents, type ReliabilityStats } from '../services/reliability.js';
import { MeasurementService, type DetectionCounters, type MeasurementView } from '../services/measurement.js';
import { faultContext, FaultService } from '../services/faults.js';
import type { FaultMetricsView } from '../metrics/faults.js';
import { CounterTotals, type CounterTotalsView } from './counters.js';
import { ProcessUsageTotals, type ProcessUsage } from './process-usage.js';
import { DataplaneLifecycle, type BackoffOptions, type DataplaneStatus, type LifecycleEvents } from './lifecycle.js';

export { explanatoryLines, type BackoffOptions, type LastError, type PortStatus } from './lifecycle.js';
export type { PortCounters, WorkerCounters } from './counters.js';
export type { PolicySource, PolicyView, SessionView, SessionsView } from '../services/policy.js';

export type SupervisorState = DataplaneState;
export type SupervisorStatus = DataplaneStatus;
export type SupervisorStats = CounterTotalsView;

export interface SupervisorOptions {
  config: Config;
  logger: Logger;
  /** config's compiled policy, from the check that accepted it (restorePolicy, checkConfig); compiled here when absent */
  policy?: CompiledPolicy;
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
  /** save the last good policy here (atomically); unset = not saved */
  stateDir?: string;
  /** policyHash() of the config file's policy section, recorded in the saved state */
  stateBaseHash?: string | null;
  /** where the flight recorder (flight/) and saved crash packets (crashes/) go; unset: no recorder */
  runDir?: string;
  /** keep a prepared standby data plane (default: the config's reliability.standby) */
  standby?: boolean;
  /** generation of the initial policy when it is compiled here (a restored state continues its numbering); default 1 */
  policyGeneration?: number;
  /** where the initial policy came from, for GET /v1/policy; default 'config' */
  policySource?: PolicySource;
  /** ms to wait for the data plane to install a policy; default 120 s */
  policyTimeoutMs?: number;
  /** rotated capture files kept per tx_pcap file (captures.ts); 0 keeps all; default 10 */
  captureKeep?: number;
  /** move an unusable saved fault state aside instead of refusing to start */
  discardState?: boolean;
  /** faults defined at start (the demo's); a saved fault state made from the same list replaces them */
  faults?: unknown[];
}

export type SupervisorEvents = LifecycleEvents & PolicyEvents & OffloadEvents & ReliabilityEvents;

export interface Services {
  policy: PolicyService;
  offload: OffloadService;
  reliability: ReliabilityService;
  events: EventFeed;
  measurement: MeasurementService;
  faults: FaultService;
  series: SeriesService;
  alerts: AlertService;
  reports: ReportService;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly lifecycle: DataplaneLifecycle;
  readonly services: Services;
  private readonly totals: CounterTotals;
  private readonly usage = new ProcessUsageTotals();

  constructor(options: SupervisorOptions) {
    super();
    const { logger } = options;
    // The lifecycle reads the policy service's state lazily, at every start and poll.
    let policy: PolicyService | null = null;
    let reliability: ReliabilityService | null = null;
    const configNow = (): Config => policy?.config ?? options.config;
    const lifecycle = new DataplaneLifecycle({
      logger,
      config: configNow,
      policy: () => policy!.native(),
      busy: () => policy?.applying ?? false,
      startExtras: (filePrefix) => reliability?.startExtras(filePrefix) ?? {},
      standby: () => options.standby ?? configNow().reliability.standby,
      ...pick(options, ['hostPath', 'nproc', 'prefixBase', 'env', 'startTimeoutMs', 'requestTimeoutMs', 'stopTimeoutMs', 'pollIntervalMs', 'maxMissedPolls', 'backoff']),
    });
    policy = new PolicyService({
      config: options.config,
      ...(options.policy ? { policy: options.policy } : {}),
      generation: options.policyGeneration ?? 1,
      source: options.policySource ?? 'config',
      stateDir: options.stateDir ?? null,
      stateBaseHash: options.stateBaseHash ?? null,
      ...(options.policyTimeoutMs !== undefined ? { installTimeoutMs: options.policyTimeoutMs } : {}),
      dataplane: lifecycle,
      logger,
    });
    const offload = new OffloadService({ dataplane: lifecycle, policy, logger });
    reliability = new ReliabilityService({ dataplane: lifecycle, config: configNow, runDir: options.runDir ?? null, logger });
    this.lifecycle = lifecycle;
    const events = new EventFeed();
    // Measurement and detection: fed by every poll, folded at every exit.
    const measurement = new MeasurementService({ config: configNow, logger });
    lifecycle.on('stats', ({ stats, at }) => measurement.onStats(stats, at));
    lifecycle.on('exited', () => measurement.childGone());
    measurement.on('detection', (d) => events.publish('detection', d as unknown as Record<string, unknown>));
    const faults = new FaultService({
      dataplane: lifecycle,
      context: () => faultContext(policy.config, policy.policyView().plan),
      shadowPorts: () => policy.config.ports.flatMap((p, i) => (p.role === 'shadow' ? [i] : [])),
      logger: logger.child({ component: 'faults' }),
      events,
      stateDir: options.stateDir ?? null,
      ...(options.faults ? { configFaults: options.faults } : {}),
      allowHookCommands: () => configNow().fault_hooks.commands,
      placement: (armed) => offload.holdForFaults(armed),
      ...(options.discardState ? { discardState: true } : {}),
    });
    // Sampled from the metrics registry once one is attached (series.readFrom); alerts evaluate after each sample.
    const series = new SeriesService({ onError: (err) => logger.warn({ err }, 'series sampling failed') });
    const alerts = new AlertService({ series, stateDir: options.stateDir ?? null, logger });
    // An experiment that ends gets its report once its last observation window has passed.
    const reports = new ReportService({
      runDir: options.runDir ?? null,
      keep: () => configNow().reports.keep,
      enabled: () => configNow().reports.enabled,
      faults,
      store: series.store,
      events,
      roles: () => {
        const ports = configNow().ports;
        const named = (role: string) => ports.filter((p) => p.role === role).map((p) => p.name);
        return { production: named('production'), egress: named('egress'), shadow: named('shadow') };
      },
      logger: logger.child({ component: 'reports' }),
    });
    this.services = { policy, offload, reliability, events, measurement, faults, series, alerts, reports };
    this.totals = new CounterTotals(lifecycle.shape);

    // What each child leaves behind is settled before anyone else hears of its exit.
    lifecycle.on('stats', ({ stats, at }) => this.totals.snapshot(stats, at));
    const rel = reliability;
    lifecycle.on('stats', () => this.usage.sample(lifecycle.childPid()));
    // After the totals took the snapshot: the series sample lands at the snapshot's time.
    lifecycle.on('stats', ({ at }) => void series.sampleAt(at));
    lifecycle.on('exited', (e) => {
      this.usage.childGone();
      this.totals.childGone();
      policy.childGone();
      offload.childGone();
      rel.childExited(e);
      faults.childGone();
    });
    lifecycle.on('ready', (e) => {
      rel.childReady(e);
      policy.childReady();
      offload.childReady();
      faults.childReady();
    });
    lifecycle.on('stats', ({ stats, at }) => faults.onStats(stats, at));
    lifecycle.pollAlso((child) => policy.pollSessions(child));
    lifecycle.pollAlso((child) => offload.pollRules(child));

    for (const name of ['started', 'ready', 'standby', 'exited', 'restarting', 'failed', 'state', 'stats'] as const) {
      lifecycle.on(name, (...args: unknown[]) => (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args));
    }
    policy.on('policy', (e) => this.emit('policy', e));
    offload.on('offloadFallback', (fb) => this.emit('offloadFallback', fb));
    offload.on('offload', (e) => this.emit('offload', e));
    rel.on('crash', (e) => this.emit('crash', e));
    rel.on('quarantine', (e) => this.emit('quarantine', e));
    rel.on('forwardOnly', (e) => this.emit('forwardOnly', e));

    // net_pcap truncates its tx_pcap file when a data plane opens it: the
    // previous capture is rotated aside first ('starting' is emitted before the fork).
    const keep = options.captureKeep ?? 10;
    lifecycle.on('state', ({ state }) => {
      if (state === 'starting') rotateCaptures(policy.config, keep, logger);
    });

    // The feed of GET /v1/events: small, JSON-safe summaries of each event.
    lifecycle.on('state', (e) => events.publish('state', e));
    lifecycle.on('ready', ({ pid, restarts }) => events.publish('ready', { pid, restarts }));
    lifecycle.on('exited', (e) => events.publish('exited', e));
    lifecycle.on('restarting', (e) => events.publish('restarting', e));
    lifecycle.on('failed', ({ error, restarting }) => {
      const err = error as { code?: string; message?: string };
      events.publish('failed', { code: err.code ?? 'ST_ERR_INTERNAL', message: String(err.message ?? error).split('\n')[0], restarting });
    });
    policy.on('policy', (e) => events.publish('policy', e));
    offload.on('offload', (e) => events.publish('offload', e));
    offload.on('offloadFallback', (fb) => events.publish('fallback', fb as unknown as Record<string, unknown>));
    rel.on('crash', (c) => events.publish('crash', c as unknown as Record<string, unknown>));
    rel.on('forwardOnly', (e) => events.publish('forwardOnly', e));
    alerts.on('alert', (a) => events.publish('alert', { ...a, activeAt: new Date(a.activeAt).toISOString(), at: new Date(a.at).toISOString() }));
  }

  // ---- the lifecycle -------------------------------------------------------------

  /** The configuration in force: the file's, with the policy keys as last applied. */
  get config(): Config {
    return this.services.policy.config;
  }

  get state(): SupervisorState {
    return this.lifecycle.state;
  }

  childPid(): number | null {
    return this.lifecycle.childPid();
  }

  restartCount(): number {
    return this.lifecycle.restartCount();
  }

  status(): SupervisorStatus {
    return this.lifecycle.status();
  }

  /**
   * First start. Rejects with the structured error (EAL's own last lines in
   * the message) and leaves nothing running if the data plane cannot start.
   */
  start(): Promise<void> {
    return this.lifecycle.start();
  }

  /** Stop the data plane; resolves when no child is left. Safe in any state. */
  async stop(): Promise<void> {
    await this.services.faults.close();
    await this.lifecycle.stop();
    this.services.series.stop();
    this.services.reports.close();
    await this.services.policy.close();
  }

  /** Latest merged counters; never null once constructed (zeros before the first poll). */
  stats(): SupervisorStats {
    const lc = this.lifecycle;
    return this.totals.view(this.config.ports, lc.state === 'running', 3 * lc.pollIntervalMs + lc.requestTimeoutMs);
  }

  /** The data-plane process's CPU seconds (carried across restarts) and resident memory, read now. */
  dataplaneUsage(): ProcessUsage {
    return this.usage.sample(this.lifecycle.state === 'running' ? this.lifecycle.childPid() : null);
  }

  // ---- forwarded to the services (one data-plane source for /metrics and tests) ----

  policyView(): PolicyView {
    return this.services.policy.policyView();
  }

  sessionStats(): SessionsView {
    return this.services.policy.sessionStats();
  }

  configInForce(): Config {
    return this.services.policy.configInForce();
  }

  validatePolicy(section: unknown): Promise<PolicyReport> {
    return this.services.policy.validatePolicy(section);
  }

  applyPolicy(section: unknown, options?: ApplyOptions): Promise<PolicyView> {
    return this.services.policy.applyPolicy(section, options);
  }

  planInput(): PlanInput {
    return this.services.offload.planInput();
  }

  offloadPlan(): PlacementPlan | null {
    return this.services.offload.offloadPlan();
  }

  offloadStats(): OffloadCounters {
    return this.services.offload.counters();
  }

  reliabilityStats(): ReliabilityStats {
    const r = this.services.reliability;
    return {
      crashesByStage: Object.fromEntries(r.crashCounts),
      quarantineEntries: r.view().quarantine.length,
      forwardOnly: r.forwardOnly,
      lastOutageMs: r.outageMs,
    };
  }

  measurementView(): MeasurementView {
    return this.services.measurement.view();
  }

  detectionCounters(): DetectionCounters {
    return this.services.measurement.counters();
  }

  faultMetrics(): FaultMetricsView {
    return this.services.faults.metricsView();
  }

  offloadSettled(): Promise<void> {
    return this.services.offload.settled();
  }

  /** rte_flow probes and programming rounds, for inspection */
  get offload(): OffloadManager {
    return this.services.offload.manager;
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
