/**
 * The offload service: where each piece of the policy in force runs
 * (hardware, hybrid, software), for whoever asks (GET /v1/plan, `shadowtap
 * plan --url`, /metrics) and whenever it must change (a data plane started
 * or restarted, a policy applied).
 *
 * - plan: what the placement plan is made from (planInput: the configuration
 *   in force, its compiled policy, the ports as the data plane reported
 *   them) and the plan in force once programmed (offloadPlan);
 * - program: probe (first time), plan and create the rte_flow rules in a
 *   fresh data plane, and again after every applied policy (serialised: one
 *   programming round at a time);
 * - fall back: a rule the NIC refuses moves its group to software without
 *   touching traffic (event `offloadFallback`, a metric);
 * - abandon: programming that failed part-way flushes what it created, and
 *   every piece runs in software.
 * The mechanics (probe, plan, program, MARK table) are OffloadManager's.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ArmedFault, PlacementPlan } from '../offload/planner.js';
import type { PlanInput } from '../offload/port-facts.js';
import type { DataplaneChild, DataplaneHandle } from './dataplane.js';
import { OffloadManager, type OffloadFallback, type ProbeReport } from './offload-manager.js';
import type { PolicyService } from './policy.js';

/** The offload operations the API reaches (a fake implements them in route tests). */
export interface OffloadOperations {
  /** what GET /v1/plan plans from; null: no configuration yet (503) */
  planInput(): PlanInput | null;
  /** the placement plan in force in the running data plane (probed, programmed, with fallbacks); null: none yet */
  offloadPlan(): PlacementPlan | null;
  /** the rte_flow_validate probe results per port index (absent or empty: nothing probed yet) */
  probeReports?(): ReadonlyMap<number, ProbeReport>;
}

/** rte_flow state for /metrics. */
export interface OffloadCounters {
  rules: { port: string; placement: string; rules: number }[];
  hits: { port: string; rule: string; hits: number }[];
  fallbacks: Record<string, number>;
  disagreements: { port: string; count: number }[];
}

export interface OffloadEvents {
  /** a rule could not be created: its group moved to the software path (traffic untouched) */
  offloadFallback: [OffloadFallback];
  /** the placement plan was probed, planned and programmed in the running data plane */
  offload: [{ pid: number; rules: number; fallbacks: number }];
}

export interface OffloadServiceOptions {
  dataplane: DataplaneHandle;
  /** the policy in force: what is placed */
  policy: PolicyService;
  logger: Logger;
}

export class OffloadService extends EventEmitter<OffloadEvents> implements OffloadOperations {
  /** rte_flow: probe, plan, program, fall back (probes and programming rounds are kept for inspection) */
  readonly manager: OffloadManager;
  private readonly dataplane: DataplaneHandle;
  private readonly policy: PolicyService;
  private readonly logger: Logger;
  private work: Promise<void> = Promise.resolve();
  /** faults armed now: sessions they may match are kept off the hardware path */
  private armedFaults: ArmedFault[] = [];

  /** rte_flow_validate results per port index, from the first start's probe */
  probeReports(): ReadonlyMap<number, ProbeReport> {
    return this.manager.probes;
  }

  constructor(options: OffloadServiceOptions) {
    super();
    this.dataplane = options.dataplane;
    this.policy = options.policy;
    this.logger = options.logger;
    this.manager = new OffloadManager((fb) => {
      this.logger.warn({ port: fb.port, group: fb.group, reason: fb.reason }, fb.message);
      this.emit('offloadFallback', fb);
    });
    // The placement follows the policy: re-plan and re-program the NIC (after
    // any programming in flight). Until the new rules exist the old ones only
    // mark; software honours the MARKs of the plan it was told.
    this.policy.on('policy', ({ applied }) => {
      const child = this.dataplane.child;
      if (!applied || !child) return;
      this.work = this.work.then(() => (this.dataplane.child === child ? this.program(child) : undefined));
    });
  }

  /**
   * What the placement plan is made from: the configuration in force, its
   * compiled policy, and the ports as the data plane last reported them
   * (kept across restarts: the ports cannot change without one of
   * shadowtap; null before the first start).
   */
  planInput(): PlanInput {
    const ports = this.dataplane.ports;
    return {
      config: this.policy.config, policy: this.policy.native(), ports: ports.length > 0 ? [...ports] : null,
      ...(this.armedFaults.length > 0 ? { faults: [...this.armedFaults] } : {}),
    };
  }

  /**
   * The faults armed (or about to be): a session placed `hardware` has its
   * copies sent by the NIC straight to the shadow port, past the software
   * impair stage, so a session a fault may match is re-planned on another
   * path (hybrid-mirror: the NIC copies to software, which impairs). The
   * fault service calls this before installing a table that arms more
   * faults, and after one that disarms some, so no copy ever bypasses an
   * armed fault. Resolves once the NIC is re-programmed (at once when
   * nothing changes or no data plane runs: the next start plans with it).
   */
  holdForFaults(faults: readonly ArmedFault[]): Promise<void> {
    const key = (l: readonly ArmedFault[]) => l.map((f) => `${f.fault}\u0000${f.session ?? '*'}`).sort().join('\u0001');
    if (key(faults) === key(this.armedFaults)) return this.work;
    const before = this.manager.current();
    this.armedFaults = [...faults];
    const child = this.dataplane.child;
    // Only a plan with a hardware session, or one a fault held back, can change
    // (none yet: a first programming may be in flight with the old list).
    const held = before === null || before.sessions.some((x) => x.path === 'hardware' || x.notTaken.some((n) => n.startsWith('hardware: armed fault')));
    if (!child || !held) return this.work;
    this.work = this.work.then(() => (this.dataplane.child === child ? this.program(child) : undefined));
    return this.work;
  }

  /** The plan in force in the running data plane (probe results, fallbacks), or null before the first one. */
  offloadPlan(): PlacementPlan | null {
    return this.manager.current();
  }

  /** rte_flow counters for /metrics. */
  counters(): OffloadCounters {
    return { rules: this.manager.ruleGauge(), hits: this.manager.ruleHits(), fallbacks: { ...this.manager.fallbackCounts }, disagreements: this.manager.disagreements() };
  }

  /** Resolves when the programming of the current data plane has settled. */
  settled(): Promise<void> {
    return this.work;
  }

  /** A data plane is running: program it. */
  childReady(): void {
    const child = this.dataplane.child;
    if (child) this.work = this.program(child);
  }

  /** The data plane is gone: its rule counters become carried totals. */
  childGone(): void {
    this.manager.childGone();
  }

  /** Rule hit counters, one step of every poll. */
  async pollRules(child: DataplaneChild): Promise<void> {
    await this.manager.poll(child, this.dataplane.requestTimeoutMs).catch((err: unknown) => {
      if (this.dataplane.child === child) this.logger.debug({ err: (err as Error).message }, 'rte_flow counter poll failed');
    });
  }

  /** Probe, plan and program rte_flow; a failure leaves everything in software. */
  private async program(child: DataplaneChild): Promise<void> {
    const timeoutMs = this.dataplane.requestTimeoutMs;
    try {
      const p = await this.manager.apply(child, this.planInput(), timeoutMs);
      if (this.dataplane.child !== child) return;
      this.logger.info({ dataplanePid: child.pid, rules: p.rules.length, fallbacks: this.manager.fallbacks.length }, 'offload plan programmed');
      this.emit('offload', { pid: child.pid, rules: p.rules.length, fallbacks: this.manager.fallbacks.length });
    } catch (err) {
      if (this.dataplane.child !== child || !child.alive) return;
      this.logger.warn({ dataplanePid: child.pid, err: (err as Error).message }, 'offload not programmed; every piece of the policy runs in software');
      await this.manager.abandon(child, timeoutMs).catch((e: unknown) => {
        this.logger.warn({ dataplanePid: child.pid, err: (e as Error).message }, 'rules of an abandoned offload plan could not be flushed');
      });
    }
  }
}
