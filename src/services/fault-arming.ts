/**
 * The fault service's arming engine: what should be armed now (the
 * schedules of free-standing faults, the steps of running experiments, dry
 * runs), the one table that says so compiled and installed in the data plane
 * (reconcile), every activation and deactivation on the timeline, and the
 * timer that wakes it at the next boundary. Installs, and the changes that
 * lead to them, run one at a time (exclusive): the table in the data plane
 * is always the last one decided.
 *
 * The service is three layers, one job each: this one (state and arming),
 * ./fault-experiments.ts (experiments: steps, stop conditions, hooks, and
 * experimentEnded, the one place a run ends) and ./faults.ts (the
 * operations on faults, start-up replay, stats).
 */
import type { Logger } from 'pino';
import type { NativeStats } from '../dataplane/native-types.js';
import type { ArmedFault } from '../offload/plan-schema.js';
import { stError } from '../errors.js';
import { checkFaults, type CheckedFault } from '../faults/check.js';
import { compileFaults, faultNumber } from '../faults/compile.js';
import { scheduleState, stepState } from '../faults/schedule.js';
import { MAX_FAULTS } from '../faults/schema.js';
import type { DataplaneState } from './dataplane.js';
import { FaultCounterTotals } from './fault-counters.js';
import { FaultDryRuns } from './fault-dry-run.js';
import { prepareFaultState } from './fault-store.js';
import { FaultTimeline } from './fault-timeline.js';
import { policyHash } from './policy-state.js';
import type { ExperimentRecord, FaultRecord } from './fault-records.js';
import type { FaultDataplane, FaultServiceOptions } from './fault-options.js';

interface Want {
  due: number;
  reason: string;
  epoch: number;
  experiment?: string;
  step?: number;
}

/** Why a reconcile runs: when it was asked for and why (the timeline's dueMs and reason). */
export interface Cause {
  due: number;
  reason: string;
  type?: 'abort';
  experiment?: string;
}

export abstract class FaultArming {
  readonly timeline: FaultTimeline;
  readonly counters = new FaultCounterTotals();
  protected readonly faults = new Map<string, FaultRecord>();
  protected readonly experiments = new Map<string, ExperimentRecord>();
  protected readonly dp: FaultDataplane;
  protected readonly logger: Logger;
  protected readonly opts: FaultServiceOptions;
  protected readonly dry: FaultDryRuns;
  protected seed: bigint;
  protected baseHash: string | null;
  /** armed in the table the data plane has (or gets at its next start), with when */
  protected armed = new Map<string, { since: number; epoch: number; applied: boolean }>();
  protected generation = 0;
  protected chain: Promise<unknown> = Promise.resolve();
  protected timer: NodeJS.Timeout | null = null;
  /** the table must be sent again (a new child, a failed install) */
  protected dirty = false;
  /** a table with faults in it was handed to the data plane once */
  protected everInstalled = false;
  protected closed = false;
  /** native id -> name for every fault in the last tables */
  protected readonly names = new Map<number, string>();
  /** per running fault: the highest schedule window seen (armed or missed) */
  protected readonly seenWindow = new Map<string, number>();
  lastStats: { stats: NativeStats; at: number } | null = null;

  constructor(opts: FaultServiceOptions) {
    this.opts = opts;
    this.dp = opts.dataplane;
    this.logger = opts.logger;
    this.timeline = new FaultTimeline(opts.stateDir ? `${opts.stateDir}/faults-timeline.jsonl` : null, opts.logger);
    this.dry = new FaultDryRuns(this);
    this.baseHash = opts.configFaults !== undefined ? policyHash(opts.configFaults) : null;
    this.seed = BigInt(1 + Math.floor(Math.random() * 2 ** 52));
  }

  /** Experiments whose last step ended by `now`: marked completed, returned (./fault-experiments.ts). */
  protected abstract settleExperiments(now: number): ExperimentRecord[];

  /** The one place a run of an experiment ends (./fault-experiments.ts). */
  protected abstract experimentEnded(e: ExperimentRecord): void;

  /** For dry runs: the first stats snapshot read after `after` (./faults.ts). */
  abstract nextStats(after: number, timeoutMs: number): Promise<{ stats: NativeStats; at: number } | null>;

  protected freeSlot(): number {
    const used = new Set([...this.faults.values()].map((f) => f.slot));
    for (let s = 0; s < MAX_FAULTS; s++) if (!used.has(s)) return s;
    throw stError('ST_ERR_CONFLICT', `${MAX_FAULTS} faults are defined (faults of experiments included), the most the data plane's table holds; delete one first`, { field: 'id' });
  }

  /** Stage the state file with the records as they would be after a change. */
  protected save(faults = [...this.faults.values()], experiments = [...this.experiments.values()]) {
    if (!this.opts.stateDir) return { commit: () => undefined, abort: () => undefined };
    return prepareFaultState(this.opts.stateDir, {
      baseHash: this.baseHash,
      seed: this.seed.toString(),
      faults: faults.map(({ doc, version, createdAt, updatedAt, owner, slot, run }) => ({ doc, version, createdAt, updatedAt, owner, slot, run })),
      experiments: experiments.map(({ doc, version, createdAt, updatedAt, run }) => ({ doc, version, createdAt, updatedAt, run })),
    });
  }

  /** Run `fn` when every earlier change and install has finished. */
  protected exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  // ---- what should be armed ------------------------------------------------------------

  protected desired(now: number): Map<string, Want> {
    const want = new Map<string, Want>();
    for (const f of this.faults.values()) {
      if (f.owner !== null || !f.run || f.error) continue;
      const st = scheduleState(f.checked.schedule, f.run.anchorMs, now);
      // A window that began and ended while the supervisor could not run (a stalled event loop) is said, not hidden.
      const seen = this.seenWindow.get(f.doc.id) ?? -1;
      const lastDue = st.armed ? st.index - 1 : st.index;
      if (lastDue > seen && (seen >= 0 || lastDue >= 0) && !(st.armed && st.index === 0)) {
        for (let k = seen + 1; k <= lastDue && k < seen + 4; k++) {
          this.timeline.record({ type: 'error', fault: f.doc.id, reason: `schedule: window ${k + 1} was missed (it ended before the supervisor could arm it)` });
        }
      }
      this.seenWindow.set(f.doc.id, Math.max(seen, st.armed ? st.index : lastDue));
      if (st.armed) want.set(f.doc.id, { due: st.since, epoch: Math.max(0, st.index), reason: f.checked.schedule.everyNs !== undefined ? `schedule: window ${st.index + 1}` : f.doc.schedule ? 'schedule: start' : 'started' });
    }
    for (const e of this.experiments.values()) {
      if (e.run?.state !== 'running' || !e.rt) continue;
      const st = stepState(e.checked.durationsMs, e.run.startedMs, now);
      const step = e.doc.steps[st.index];
      if (!step) continue;
      for (const id of step.faults) {
        const f = this.faults.get(id);
        if (!f || f.error) continue;
        const epoch = this.armed.has(id) ? this.armed.get(id)!.epoch : e.rt.arms.get(id) ?? 0;
        want.set(id, { due: st.since, epoch, experiment: e.doc.id, step: st.index, reason: `step ${st.index + 1}${step.name ? ` (${step.name})` : ''}` });
      }
    }
    return want;
  }

  /** Why a fault armed until now is not wanted any more: its due time and reason. */
  protected whyOff(id: string, now: number, cause?: Cause): { due: number; reason: string; experiment?: string; type: 'deactivate' | 'abort' } {
    const f = this.faults.get(id);
    const e = f?.owner ? this.experiments.get(f.owner) : undefined;
    if (cause && (!cause.experiment || cause.experiment === f?.owner)) return { due: cause.due, reason: cause.reason, type: cause.type ?? 'deactivate', ...(e ? { experiment: e.doc.id } : {}) };
    if (!f) return { due: now, reason: 'deleted', type: 'deactivate' };
    if (e) {
      if (e.run?.state === 'running') {
        const st = stepState(e.checked.durationsMs, e.run.startedMs, now);
        return { due: st.since, reason: `step ${st.index + 1} does not arm it`, experiment: e.doc.id, type: 'deactivate' };
      }
      return { due: e.run?.endedMs ?? now, reason: `experiment ${e.run?.state ?? 'stopped'}`, experiment: e.doc.id, type: 'deactivate' };
    }
    if (f.run) {
      const st = scheduleState(f.checked.schedule, f.run.anchorMs, now);
      return { due: st.since, reason: st.done ? 'schedule: ended' : `schedule: window ${st.index + 1} ended`, type: 'deactivate' };
    }
    return { due: now, reason: 'stopped', type: 'deactivate' };
  }

  /**
   * Make the data plane's table what the schedules, steps and dry runs want
   * now. Runs inside exclusive(). Returns the install error, if any.
   */
  protected async reconcile(cause?: Cause): Promise<Error | null> {
    if (this.closed) return null;
    const ended = this.settleExperiments(Date.now());
    try {
      return await this.install(cause);
    } finally {
      for (const e of ended) this.experimentEnded(e);
    }
  }

  private async install(cause?: Cause): Promise<Error | null> {
    if (this.closed) return null;
    const now = Date.now();
    const want = this.desired(now);
    const on = [...want.keys()].filter((id) => !this.armed.has(id));
    const off = [...this.armed.keys()].filter((id) => !want.has(id));
    const dry = this.dry.active();
    if (on.length === 0 && off.length === 0 && !this.dirty && !this.dry.changed) {
      this.plan(now);
      return null;
    }
    // In definition order: the first fault whose match holds takes a copy; dry runs last.
    const records = [...this.faults.values()].filter((f) => want.has(f.doc.id));
    const ctx = this.opts.context();
    let check = checkFaults(records.map((r) => r.doc), ctx);
    if (check.problems.length > 0) {
      // The policy changed under an armed fault (a session or port it names is gone): it is left out.
      const bad = new Set(check.problems.map((p) => Number(/^faults\[(\d+)\]/.exec(p.path)?.[1] ?? -1)));
      bad.forEach((i) => {
        const r = records[i];
        if (!r) return;
        r.error = check.problems.filter((p) => p.path.startsWith(`faults[${i}]`)).map((p) => `${p.path.replace(/^faults\[\d+\]\.?/, '')}: ${p.message}`).join('; ');
        this.timeline.record({ type: 'error', fault: r.doc.id, reason: `no longer valid with the configuration in force: ${r.error}` });
        want.delete(r.doc.id);
      });
      return this.install(cause);
    }
    const checked: CheckedFault[] = check.faults!.map((c, i) => {
      const r = records[i]!;
      const owner = r.owner ? this.experiments.get(r.owner) : undefined;
      const seed = c.native.seed !== 0n ? c.native.seed : owner?.checked.seed ?? this.seed;
      return { ...c, native: { ...c.native, seed } };
    });
    const slots = new Map(records.map((r) => [r.doc.id, r.slot]));
    const epochs = new Map(records.map((r) => [r.doc.id, want.get(r.doc.id)!.epoch]));
    for (const d of dry) {
      checked.push(d.checked);
      slots.set(d.checked.id, d.slot);
      epochs.set(d.checked.id, 0);
    }
    const generation = this.generation + 1;
    const { table } = compileFaults(checked, { seed: this.seed, generation, previousSlots: slots, epochs, line: ctx.line });
    for (const c of checked) this.names.set(faultNumber(c.id), c.id);
    let applied = false;
    let warnings: string[] = [];
    let atMs = Date.now();
    if (table.faults.length === 0 && !this.everInstalled) {
      // Nothing armed and nothing ever was: a data plane without faults is never asked.
      this.dirty = false;
      this.generation = generation;
      this.plan(Date.now());
      return null;
    }
    if (table.faults.length > 0) this.everInstalled = true;
    // Sessions a fault may match leave the all-hardware path before the
    // fault is armed (and return only after it is disarmed, below).
    await this.hold([...new Set([...this.armed.keys(), ...want.keys()])], dry.length > 0);
    if (this.dp.setFaults) {
      // Also while no data plane runs: the lifecycle keeps the table and arms it at the next start.
      const running = this.dp.state === 'running';
      try {
        const answer = await this.dp.setFaults(table);
        atMs = Date.now();
        applied = running && this.dp.state === 'running';
        warnings = answer.warnings ?? [];
      } catch (err) {
        const e = err as Error & { code?: string; field?: string };
        this.dirty = true;
        const message = `the data plane refused fault table ${generation}: ${e.code ?? ''} ${e.message}${e.field ? ` (${e.field})` : ''}`.replace(/\s+/g, ' ');
        for (const id of on) {
          const r = this.faults.get(id);
          if (r) r.error = message;
          this.timeline.record({ type: 'error', fault: id, reason: message, dueMs: want.get(id)!.due, ...(want.get(id)!.experiment ? { experiment: want.get(id)!.experiment! } : {}) });
        }
        if (on.length === 0) this.timeline.record({ type: 'error', reason: message });
        this.plan(now, off.length > 0 ? 1000 : undefined);
        return e;
      }
    } else {
      this.dirty = true;
    }
    this.generation = generation;
    if (applied) {
      this.dirty = false;
      for (const a of this.armed.values()) a.applied = true;
    }
    this.dry.installed(atMs);
    for (const id of off) {
      const why = this.whyOff(id, now, cause);
      this.armed.delete(id);
      this.timeline.record({ type: why.type === 'abort' ? 'deactivate' : why.type, fault: id, atMs, dueMs: why.due, reason: why.reason, generation, applied, ...(why.experiment ? { experiment: why.experiment } : {}) });
    }
    for (const id of on) {
      const w = want.get(id)!;
      this.armed.set(id, { since: atMs, epoch: w.epoch, applied });
      if (w.experiment) {
        const rt = this.experiments.get(w.experiment)?.rt;
        if (rt) rt.arms.set(id, (rt.arms.get(id) ?? 0) + 1);
      }
      this.timeline.record({ type: 'activate', fault: id, atMs, dueMs: w.due, reason: w.reason, generation, applied, ...(w.experiment ? { experiment: w.experiment, step: w.step! } : {}) });
    }
    if (warnings.length > 0) this.logger.warn({ generation, warnings }, 'fault table installed with warnings');
    if (off.length > 0) await this.hold([...this.armed.keys()], dry.length > 0);
    this.plan(Date.now());
    return null;
  }

  /** Tell the offload planner which faults are armed (ids; `anyDry`: a dry run, which may match any session). */
  private async hold(ids: string[], anyDry: boolean): Promise<void> {
    if (!this.opts.placement) return;
    const list: ArmedFault[] = ids.map((id) => {
      const s = this.faults.get(id)?.doc.match?.session;
      return s !== undefined ? { fault: id, session: s } : { fault: id };
    });
    if (anyDry) list.push({ fault: 'dry run' });
    try {
      await this.opts.placement(list);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'the offload plan could not be re-made for the armed faults');
    }
  }

  protected persistQuietly(): void {
    try {
      this.save().commit();
    } catch (err) {
      this.logger.error({ err }, 'cannot save the fault state');
    }
  }

  /** Wake up at the next schedule or step boundary (or after `retryMs`). */
  protected plan(now: number, retryMs?: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed) return;
    let next = retryMs !== undefined ? now + retryMs : Infinity;
    for (const f of this.faults.values()) {
      if (f.owner !== null || !f.run || f.error) continue;
      const st = scheduleState(f.checked.schedule, f.run.anchorMs, now);
      if (st.next !== null) next = Math.min(next, st.next);
    }
    for (const e of this.experiments.values()) {
      if (e.run?.state !== 'running') continue;
      const st = stepState(e.checked.durationsMs, e.run.startedMs, now);
      if (st.next !== null) next = Math.min(next, st.next);
    }
    if (!Number.isFinite(next)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.exclusive(() => this.reconcile()).catch((err: unknown) => this.logger.error({ err }, 'fault reconcile failed'));
    }, Math.min(Math.max(0, next - Date.now()), 3_600_000));
    this.timer.unref?.();
  }

  /** Install the table again (dry runs). */
  refresh(): Promise<Error | null> {
    return this.exclusive(() => this.reconcile());
  }

  /** For dry runs: a slot no fault holds, the data plane's state, installs. */
  spareSlot(): number | null {
    const used = new Set([...this.faults.values()].map((f) => f.slot));
    for (let s = MAX_FAULTS - 1; s >= 0; s--) if (!used.has(s)) return s;
    return null;
  }

  get dataplaneState(): DataplaneState {
    return this.dp.state;
  }

  get canInstall(): boolean {
    return this.dp.setFaults !== undefined;
  }

  get tableGeneration(): number {
    return this.generation;
  }

  pollFaster(ms: number): (() => void) | null {
    return this.dp.pollEvery?.(ms) ?? null;
  }
}
