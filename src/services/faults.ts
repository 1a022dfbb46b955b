/**
 * The fault service: every operation on faults and experiments, whoever
 * asks (/v1/faults and /v1/experiments, `shadowtap fault ...` and
 * `shadowtap experiment run` through them, the replay of the saved state at
 * start-up, a data-plane restart).
 *
 * - a fault or experiment is validated once (src/faults/check.ts,
 *   src/faults/experiment.ts), every problem naming its field; on any
 *   problem nothing changes. A fault that can match nothing is accepted and
 *   flagged;
 * - the desired state (definitions, versions, what runs since when) is
 *   saved atomically under <run_dir>/state/faults.json before a change is
 *   acknowledged, so faults and experiments survive a restart of shadowtap;
 * - what is armed follows from the schedules, the experiments' steps and
 *   the time (src/faults/schedule.ts): reconcile() works it out, compiles
 *   the armed faults into one table (src/faults/compile.ts) and installs it
 *   with lifecycle.setFaults (an RCU swap in the data plane, independent of
 *   the policy); a data plane that starts gets the table in force;
 * - every activation, deactivation, start, stop, abort and hook is on the
 *   timeline (./fault-timeline.ts) with its timestamps;
 * - stop conditions are checked on every stats snapshot (polled every
 *   100 ms while one is armed) and disarm the experiment's faults at once.
 *
 * Installs, and the changes that lead to them, run one at a time (a chain):
 * the table in the data plane is always the last one decided.
 */
import type { Logger } from 'pino';
import type { NativeStats } from '../dataplane/native-types.js';
import { FaultError, stError, type ConfigProblem } from '../errors.js';
import { checkFaults, type CheckedFault } from '../faults/check.js';
import { compileFaults, faultNumber } from '../faults/compile.js';
import { checkExperiment } from '../faults/experiment.js';
import { scheduleState, stepState } from '../faults/schedule.js';
import { MAX_FAULTS, type Fault } from '../faults/schema.js';
import type { FaultMetricsView } from '../metrics/faults.js';
import type { DataplaneState } from './dataplane.js';
import { ConditionWatch, sampleOf, type Crossing } from './fault-conditions.js';
import { FaultCounterTotals, type FaultCounterValues, type NativeFaultStats } from './fault-counters.js';
import { FaultDryRuns, type DryRunView } from './fault-dry-run.js';
import { runHook } from './fault-hooks.js';
import { discardFaultState, faultStatePath, loadFaultState, prepareFaultState, type AbortRecord, type StoredFault } from './fault-store.js';
import { FaultTimeline, type TimelineEntry } from './fault-timeline.js';
import { policyHash } from './policy-state.js';
import { experimentView, faultView, metricsViewOf, type ExperimentView, type FaultView } from './fault-views.js';
import type { ExperimentRecord, FaultRecord } from './fault-records.js';
import { checkFaultBody } from './fault-checks.js';
import { CONDITION_POLL_MS, type FaultDataplane, type FaultServiceOptions } from './fault-options.js';

export { CONDITION_POLL_MS, FAULT_LINE, faultContext, type FaultDataplane, type FaultEventSink, type FaultServiceOptions } from './fault-options.js';

export type { DryRunView } from './fault-dry-run.js';
export type { ExperimentView, FaultView } from './fault-views.js';

interface Want {
  due: number;
  reason: string;
  epoch: number;
  experiment?: string;
  step?: number;
}

interface Cause {
  due: number;
  reason: string;
  type?: 'abort';
  experiment?: string;
}

const notFound = (what: string, id: string, known: string[]) =>
  stError('ST_ERR_NOT_FOUND', `no ${what} "${id}"; ${known.length ? `expected one of ${known.slice(0, 20).join(', ')}` : `there are none`}`, { field: 'id' });

export const faultEtag = (version: number): string => `"v${version}"`;

export class FaultService {
  readonly timeline: FaultTimeline;
  readonly counters = new FaultCounterTotals();
  private readonly faults = new Map<string, FaultRecord>();
  private readonly experiments = new Map<string, ExperimentRecord>();
  private readonly dp: FaultDataplane;
  private readonly logger: Logger;
  private readonly opts: FaultServiceOptions;
  private readonly dry: FaultDryRuns;
  private seed: bigint;
  private baseHash: string | null;
  /** armed in the table the data plane has (or gets at its next start), with when */
  private armed = new Map<string, { since: number; epoch: number; applied: boolean }>();
  private generation = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** the table must be sent again (a new child, a failed install) */
  private dirty = false;
  /** a table with faults in it was handed to the data plane once */
  private everInstalled = false;
  private closed = false;
  /** native id -> name for every fault in the last tables */
  private readonly names = new Map<number, string>();
  /** per running fault: the highest schedule window seen (armed or missed) */
  private readonly seenWindow = new Map<string, number>();
  lastStats: { stats: NativeStats; at: number } | null = null;
  private statsWaiters: { after: number; resolve: (s: { stats: NativeStats; at: number }) => void }[] = [];

  constructor(opts: FaultServiceOptions) {
    this.opts = opts;
    this.dp = opts.dataplane;
    this.logger = opts.logger;
    this.timeline = new FaultTimeline(opts.stateDir ? `${opts.stateDir}/faults-timeline.jsonl` : null, opts.logger);
    this.dry = new FaultDryRuns(this);
    this.baseHash = opts.configFaults !== undefined ? policyHash(opts.configFaults) : null;
    this.seed = BigInt(1 + Math.floor(Math.random() * 2 ** 52));
    this.restore();
  }

  // ---- start-up replay ------------------------------------------------------------

  private restore(): void {
    const { stateDir, configFaults } = this.opts;
    let loaded = stateDir ? loadFaultState(stateDir) : { state: null };
    if (loaded.problem) {
      if (!this.opts.discardState) {
        throw stError('ST_ERR_STATE_CORRUPT', `${loaded.problem}. Nothing was started: the faults and experiments saved there would be lost. Repair or inspect the file, or start with \`shadowtap run --discard-state\` to move it aside`, { field: 'run_dir' });
      }
      const kept = discardFaultState(stateDir!);
      this.logger.warn({ kept }, `--discard-state: the saved faults were moved to ${kept}`);
      loaded = { state: null };
    }
    const state = loaded.state;
    const fromFile = !state || (this.baseHash !== null && state.baseHash !== this.baseHash);
    if (state) this.seed = BigInt(state.seed);
    const where = stateDir ? faultStatePath(stateDir) : 'faults';
    if (!fromFile) {
      const ctx = this.opts.context();
      const all = state.faults.map((f) => f.doc);
      const check = checkFaults(all, ctx);
      if (check.problems.length > 0) {
        throw stError('ST_ERR_STATE_CORRUPT', `${where}: the saved faults do not validate against this configuration (${check.problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join('; ')}); start with \`shadowtap run --discard-state\` to move the file aside`, { field: 'run_dir' });
      }
      state.faults.forEach((f, i) => this.addRecord(f, check.faults![i]!, check.flags.filter((p) => p.path.startsWith(`faults[${i}]`))));
      for (const e of state.experiments) {
        const c = checkExperiment(e.doc);
        if (!c.experiment) throw stError('ST_ERR_STATE_CORRUPT', `${where}: experiment ${e.doc?.id}: ${c.problems[0]?.path}: ${c.problems[0]?.message}`, { field: 'run_dir' });
        this.experiments.set(e.doc.id, { ...e, checked: c.experiment, rt: null });
      }
      this.logger.info({ faults: this.faults.size, experiments: this.experiments.size }, 'restored the saved faults and experiments');
    } else {
      const docs = configFaults ?? [];
      const check = checkFaults(docs, this.opts.context());
      if (check.problems.length > 0) throw new FaultError(check.problems, 'config');
      const now = Date.now();
      check.faults!.forEach((cf, i) => {
        const doc = (docs as Fault[])[i]!;
        const stored: StoredFault = { doc, version: 1, createdAt: new Date(now).toISOString(), updatedAt: new Date(now).toISOString(), owner: null, slot: this.freeSlot(), run: doc.schedule ? { anchorMs: now } : null };
        this.addRecord(stored, cf, check.flags.filter((p) => p.path.startsWith(`faults[${i}]`)));
      });
      if (state) this.logger.info('the configuration file\'s faults changed since the faults were saved: the file wins');
      if (stateDir && (state || docs.length > 0)) this.save().commit();
    }
    for (const e of this.experiments.values()) if (e.run?.state === 'running') this.resumeExperiment(e);
    // windows that passed while shadowtap was down were not missed by a late timer
    const now = Date.now();
    for (const f of this.faults.values()) {
      if (!f.run || f.owner !== null) continue;
      const st = scheduleState(f.checked.schedule, f.run.anchorMs, now);
      this.seenWindow.set(f.doc.id, st.armed ? st.index - 1 : st.index);
    }
  }

  private addRecord(s: StoredFault, checked: CheckedFault, flags: ConfigProblem[]): FaultRecord {
    const rec: FaultRecord = { ...s, checked, flags: flags.map((f) => ({ path: f.path.replace(/^faults\[\d+\]\.?/, ''), message: f.message })), error: null };
    this.faults.set(s.doc.id, rec);
    this.counters.assigned(s.doc.id, s.slot);
    return rec;
  }

  private freeSlot(): number {
    const used = new Set([...this.faults.values()].map((f) => f.slot));
    for (let s = 0; s < MAX_FAULTS; s++) if (!used.has(s)) return s;
    throw stError('ST_ERR_CONFLICT', `${MAX_FAULTS} faults are defined (faults of experiments included), the most the data plane's table holds; delete one first`, { field: 'id' });
  }

  /** Stage the state file with the records as they would be after a change. */
  private save(faults = [...this.faults.values()], experiments = [...this.experiments.values()]) {
    if (!this.opts.stateDir) return { commit: () => undefined, abort: () => undefined };
    return prepareFaultState(this.opts.stateDir, {
      baseHash: this.baseHash,
      seed: this.seed.toString(),
      faults: faults.map(({ doc, version, createdAt, updatedAt, owner, slot, run }) => ({ doc, version, createdAt, updatedAt, owner, slot, run })),
      experiments: experiments.map(({ doc, version, createdAt, updatedAt, run }) => ({ doc, version, createdAt, updatedAt, run })),
    });
  }

  /** Run `fn` when every earlier change and install has finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  // ---- the data plane's side --------------------------------------------------------

  /** A data plane started: it gets the table in force (and the schedules move on). */
  childReady(): void {
    this.closed = false;
    this.dirty = true;
    void this.exclusive(() => this.reconcile()).catch((err: unknown) => this.logger.error({ err }, 'installing the faults in the new data plane failed'));
  }

  childGone(): void {
    this.counters.childGone();
    this.dirty = true;
  }

  /** One stats snapshot (every poll): counters, stop conditions, dry runs. */
  onStats(stats: NativeStats, at: number): void {
    this.lastStats = { stats, at };
    const fs = (stats as NativeStats & { faults?: NativeFaultStats }).faults;
    if (fs && Array.isArray(fs.faults)) {
      const slotOf = new Map([...this.faults.values()].map((f) => [f.doc.id, f.slot]));
      this.counters.snapshot(fs, this.names, slotOf);
    }
    const waiting = this.statsWaiters;
    this.statsWaiters = [];
    for (const w of waiting) {
      if (at > w.after) w.resolve({ stats, at });
      else this.statsWaiters.push(w);
    }
    const sample = sampleOf(stats, this.opts.shadowPorts(), at);
    for (const e of this.experiments.values()) {
      if (e.run?.state !== 'running' || !e.rt?.watch) continue;
      const crossing = e.rt.watch.push(sample);
      if (crossing) void this.abortExperiment(e, crossing, Date.now());
    }
  }

  /** The first snapshot read after `after` (ms since the epoch), or null after `timeoutMs`. */
  nextStats(after: number, timeoutMs: number): Promise<{ stats: NativeStats; at: number } | null> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.statsWaiters = this.statsWaiters.filter((w) => w !== waiter);
        resolve(null);
      }, timeoutMs);
      const waiter = { after, resolve: (s: { stats: NativeStats; at: number }) => {
        clearTimeout(t);
        resolve(s);
      } };
      this.statsWaiters.push(waiter);
    });
  }

  // ---- what should be armed ------------------------------------------------------------

  private desired(now: number): Map<string, Want> {
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
  private whyOff(id: string, now: number, cause?: Cause): { due: number; reason: string; experiment?: string; type: 'deactivate' | 'abort' } {
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
  private async reconcile(cause?: Cause): Promise<Error | null> {
    if (this.closed) return null;
    const now = Date.now();
    this.settleExperiments(now);
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
      return this.reconcile(cause);
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
    this.plan(Date.now());
    return null;
  }

  /** Experiments whose last step ended: completed. */
  private settleExperiments(now: number): void {
    for (const e of this.experiments.values()) {
      if (e.run?.state !== 'running') continue;
      const st = stepState(e.checked.durationsMs, e.run.startedMs, now);
      this.stepHooks(e, st.index);
      if (!st.done) continue;
      e.run = { ...e.run, state: 'completed', endedMs: st.since };
      this.endRuntime(e);
      this.timeline.record({ type: 'complete', experiment: e.doc.id, dueMs: st.since, reason: `all ${e.doc.steps.length} steps ran` });
      this.opts.events?.publish('experiment', { id: e.doc.id, state: 'completed' });
      this.persistQuietly();
    }
  }

  private persistQuietly(): void {
    try {
      this.save().commit();
    } catch (err) {
      this.logger.error({ err }, 'cannot save the fault state');
    }
  }

  /** The VM hooks of the step entered (stop) and of the steps left (start). */
  private stepHooks(e: ExperimentRecord, index: number): void {
    const rt = e.rt;
    if (!rt) return;
    for (const s of [...rt.vmStopped]) {
      if (s !== index || e.run?.state !== 'running') {
        rt.vmStopped.delete(s);
        this.hook(e, s, 'start');
      }
    }
    if (e.run?.state === 'running' && e.checked.hooks[index] && !rt.vmRan.has(index)) {
      rt.vmStopped.add(index);
      rt.vmRan.add(index);
      this.hook(e, index, 'stop');
    }
  }

  private hook(e: ExperimentRecord, step: number, which: 'stop' | 'start'): void {
    const h = e.checked.hooks[step]?.[which];
    if (!h) return;
    const dueMs = Date.now();
    void runHook(h).then((o) => {
      this.timeline.record({ type: 'hook', experiment: e.doc.id, step, dueMs, reason: `VM ${which} hook ${o.ok ? 'succeeded' : `failed: ${o.error ?? ''}`}`, detail: { which, ...o } });
    });
  }

  /** Wake up at the next schedule or step boundary (or after `retryMs`). */
  private plan(now: number, retryMs?: number): void {
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

  // ---- faults ---------------------------------------------------------------------------

  /** The fault, or 404; with `expect` (If-Match), 412 unless it exists at one of those versions. */
  private fault(id: string, expect?: readonly number[]): FaultRecord {
    const f = this.faults.get(id);
    if (!f && expect !== undefined) throw stError('ST_ERR_PRECONDITION_FAILED', `If-Match names a version of fault ${id}, which does not exist`, { field: 'If-Match' });
    if (!f) throw notFound('fault', id, [...this.faults.keys()]);
    this.checkVersion(f.version, expect, `fault ${id}`);
    return f;
  }

  private checkVersion(v: number, expect: readonly number[] | undefined, what: string): void {
    if (expect !== undefined && !expect.includes(v)) {
      throw stError('ST_ERR_PRECONDITION_FAILED', `${what} is at version ${v} (ETag ${faultEtag(v)}), not ${expect.join(' or ')}: it changed since it was read; read it again and redo the change`, { field: 'If-Match' });
    }
  }

  /** Check `doc` as a fault with every other fault defined; problems name the body's fields. */
  private checkOne(doc: unknown, replacing?: string): { checked: CheckedFault; flags: ConfigProblem[]; doc: Fault } {
    return checkFaultBody([...this.faults.values()].filter((f) => f.doc.id !== replacing).map((f) => f.doc), doc, this.opts.context());
  }

  listFaults(): FaultView[] {
    const now = Date.now();
    return [...this.faults.values()].map((f) => faultView(f, this.armed.get(f.doc.id), this.counters.counters(f.doc.id), now));
  }

  getFault(id: string): FaultView {
    const f = this.fault(id);
    return faultView(f, this.armed.get(id), this.counters.counters(id), Date.now());
  }

  faultCounters(id: string): FaultCounterValues {
    return this.counters.counters(id);
  }

  createFault(body: unknown, options: { start?: boolean } = {}): Promise<FaultView> {
    return this.exclusive(async () => {
      if (this.faults.has((body as Fault)?.id)) throw stError('ST_ERR_CONFLICT', `a fault "${(body as Fault).id}" exists already; replace it (PUT /v1/faults/${(body as Fault).id}) or choose another id`, { field: 'id' });
      const { checked, flags, doc } = this.checkOne(body);
      const now = Date.now();
      const stored: StoredFault = { doc, version: 1, createdAt: new Date(now).toISOString(), updatedAt: new Date(now).toISOString(), owner: null, slot: this.freeSlot(), run: doc.schedule || options.start ? { anchorMs: now } : null };
      const rec = { ...stored, checked, flags, error: null };
      const write = this.save([...this.faults.values(), rec]);
      write.commit();
      this.addRecord(stored, checked, []).flags = flags;
      this.timeline.record({ type: 'created', fault: doc.id, reason: flags.length ? `created; flagged: ${flags.map((f) => f.message).join('; ')}` : 'created' });
      if (stored.run) this.timeline.record({ type: 'start', fault: doc.id, dueMs: now, reason: doc.schedule ? 'created with a schedule' : 'created and started' });
      this.opts.events?.publish('fault', { id: doc.id, change: 'created', flagged: flags.length > 0 });
      const err = await this.reconcile({ due: now, reason: 'created' });
      if (err && stored.run) return this.failStart(doc.id, err);
      return this.getFault(doc.id);
    });
  }

  /** A start the data plane refused: the fault stays defined, idle, with the error. */
  private async failStart(id: string, err: Error): Promise<never> {
    const f = this.faults.get(id)!;
    f.run = null;
    this.persistQuietly();
    await this.reconcile({ due: Date.now(), reason: 'start refused by the data plane' });
    throw err;
  }

  replaceFault(id: string, body: unknown, options: { expectVersions?: readonly number[] } = {}): Promise<FaultView> {
    return this.exclusive(async () => {
      const f = this.fault(id, options.expectVersions);
      if (f.owner) throw stError('ST_ERR_CONFLICT', `fault ${id} belongs to experiment ${f.owner}; replace the experiment instead`, { field: 'id' });
      const given = (body as Fault | null)?.id;
      if (given !== undefined && given !== id) throw new FaultError([{ path: 'id', message: `"${String(given)}" is not the fault being replaced ("${id}"); leave id out or give the same one` }], 'fault');
      const withId = body !== null && typeof body === 'object' && !Array.isArray(body) ? { ...(body as object), id } : body;
      const { checked, flags, doc } = this.checkOne(withId, id);
      const now = Date.now();
      const next: FaultRecord = { ...f, doc, checked, flags, version: f.version + 1, updatedAt: new Date(now).toISOString(), error: null };
      this.save([...this.faults.values()].map((r) => (r.doc.id === id ? next : r))).commit();
      this.faults.set(id, next);
      this.timeline.record({ type: 'updated', fault: id, reason: `version ${next.version}` });
      this.opts.events?.publish('fault', { id, change: 'updated', version: next.version });
      // an armed fault takes its new parameters now (and restarts its random sequence)
      if (this.armed.has(id)) this.dirty = true;
      await this.reconcile({ due: now, reason: 'updated' });
      return this.getFault(id);
    });
  }

  deleteFault(id: string, options: { expectVersions?: readonly number[] } = {}): Promise<{ id: string; deleted: true }> {
    return this.exclusive(async () => {
      const f = this.fault(id, options.expectVersions);
      if (f.owner) throw stError('ST_ERR_CONFLICT', `fault ${id} belongs to experiment ${f.owner}; delete the experiment instead`, { field: 'id' });
      this.save([...this.faults.values()].filter((r) => r.doc.id !== id)).commit();
      this.faults.delete(id);
      await this.reconcile({ due: Date.now(), reason: 'deleted' });
      this.counters.removed(id);
      this.timeline.record({ type: 'deleted', fault: id, reason: 'deleted' });
      this.opts.events?.publish('fault', { id, change: 'deleted' });
      return { id, deleted: true as const };
    });
  }

  /** Start a fault's schedule now (armed at once without one); idempotent while it runs. */
  startFault(id: string, options: { expectVersions?: readonly number[] } = {}): Promise<FaultView> {
    return this.exclusive(async () => {
      const f = this.fault(id, options.expectVersions);
      if (f.owner) throw stError('ST_ERR_CONFLICT', `fault ${id} belongs to experiment ${f.owner}: its steps arm it; start the experiment`, { field: 'id' });
      const now = Date.now();
      const running = f.run !== null && !f.error && !scheduleState(f.checked.schedule, f.run.anchorMs, now).done;
      if (running) return this.getFault(id);
      const run = { anchorMs: now };
      this.save([...this.faults.values()].map((r) => (r.doc.id === id ? { ...r, run } : r))).commit();
      f.run = run;
      f.error = null;
      this.seenWindow.delete(id);
      this.timeline.record({ type: 'start', fault: id, dueMs: now, reason: f.doc.schedule ? 'started: its schedule runs' : 'started: armed until stopped' });
      this.opts.events?.publish('fault', { id, change: 'started' });
      const err = await this.reconcile({ due: now, reason: 'started' });
      if (err) return this.failStart(id, err);
      return this.getFault(id);
    });
  }

  /** Stop a fault: disarmed now, its schedule ends. Idempotent. */
  stopFault(id: string, options: { expectVersions?: readonly number[] } = {}): Promise<FaultView> {
    return this.exclusive(async () => {
      const f = this.fault(id, options.expectVersions);
      if (f.owner) throw stError('ST_ERR_CONFLICT', `fault ${id} belongs to experiment ${f.owner}: stop the experiment`, { field: 'id' });
      if (f.run === null) return this.getFault(id);
      const now = Date.now();
      this.save([...this.faults.values()].map((r) => (r.doc.id === id ? { ...r, run: null } : r))).commit();
      f.run = null;
      this.timeline.record({ type: 'stop', fault: id, dueMs: now, reason: 'stopped on request' });
      this.opts.events?.publish('fault', { id, change: 'stopped' });
      await this.reconcile({ due: now, reason: 'stopped on request' });
      return this.getFault(id);
    });
  }

  /** What a fault (by id, or a body not yet created) would match, from live traffic. */
  dryRun(target: { id: string } | { body: unknown }, windowMs: number): Promise<DryRunView> {
    const doc = 'id' in target ? this.fault(target.id).doc : target.body;
    const { checked, flags } = this.checkOne({ ...(doc as object), id: `dry-run.${String((doc as Fault)?.id ?? 'fault').slice(0, 40)}` }, 'id' in target ? target.id : undefined);
    return this.dry.run(checked, flags, windowMs, [...this.armed.keys()]);
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

  // ---- experiments ----------------------------------------------------------------------

  private experiment(id: string, expect?: readonly number[]): ExperimentRecord {
    const e = this.experiments.get(id);
    if (!e && expect !== undefined) throw stError('ST_ERR_PRECONDITION_FAILED', `If-Match names a version of experiment ${id}, which does not exist`, { field: 'If-Match' });
    if (!e) throw notFound('experiment', id, [...this.experiments.keys()]);
    this.checkVersion(e.version, expect, `experiment ${id}`);
    return e;
  }

  listExperiments(): ExperimentView[] {
    const now = Date.now();
    return [...this.experiments.values()].map((e) => experimentView(e, this.armed, (id) => this.counters.counters(id), now));
  }

  getExperiment(id: string): ExperimentView {
    return experimentView(this.experiment(id), this.armed, (f) => this.counters.counters(f), Date.now());
  }

  createExperiment(body: unknown, options: { start?: boolean } = {}): Promise<ExperimentView> {
    return this.exclusive(async () => {
      const c = checkExperiment(body);
      if (!c.experiment) throw new FaultError(c.problems, 'experiment');
      const doc = c.experiment.doc;
      if (!(this.opts.allowHookCommands?.() ?? false)) {
        const withCommand = doc.steps.flatMap((s, i) => (['stop', 'start'] as const).filter((w) => s.vm?.[w].command !== undefined).map((w) => `steps[${i}].vm.${w}.command`));
        if (withCommand.length > 0) throw new FaultError(withCommand.map((path) => ({ path, message: 'command hooks are off in this shadowtap (fault_hooks.commands: false in its configuration); use a webhook to a loopback address, or ask its operator to allow commands' })), 'experiment');
      }
      if (this.experiments.has(doc.id)) throw stError('ST_ERR_CONFLICT', `an experiment "${doc.id}" exists already; delete it first or choose another id`, { field: 'id' });
      for (const [i, f] of doc.faults.entries()) {
        if (this.faults.has(f.id)) throw new FaultError([{ path: `faults[${i}].id`, message: `"${f.id}" is already a fault${this.faults.get(f.id)!.owner ? ` of experiment ${this.faults.get(f.id)!.owner}` : ''}; fault ids are unique among all faults` }], 'experiment');
      }
      const others = [...this.faults.values()].map((f) => f.doc);
      const check = checkFaults([...others, ...doc.faults], this.opts.context());
      if (check.problems.length > 0) {
        throw new FaultError(check.problems.map((p) => {
          const m = /^faults\[(\d+)\]/.exec(p.path);
          const i = m ? Number(m[1]) - others.length : -1;
          return i >= 0 ? { path: p.path.replace(/^faults\[\d+\]/, `faults[${i}]`), message: p.message } : p;
        }), 'experiment');
      }
      const now = Date.now();
      const iso = new Date(now).toISOString();
      const used = new Set([...this.faults.values()].map((f) => f.slot));
      const fresh: FaultRecord[] = doc.faults.map((f, i) => {
        let slot = 0;
        while (used.has(slot)) slot++;
        if (slot >= MAX_FAULTS) throw stError('ST_ERR_CONFLICT', `the experiment's ${doc.faults.length} faults do not fit: ${MAX_FAULTS} faults at most are defined at once`, { field: 'faults' });
        used.add(slot);
        const k = others.length + i;
        const flags = check.flags.filter((p) => p.path.startsWith(`faults[${k}]`)).map((p) => ({ path: p.path.replace(/^faults\[\d+\]/, `faults[${i}]`), message: p.message }));
        return { doc: f, version: 1, createdAt: iso, updatedAt: iso, owner: doc.id, slot, run: null, checked: check.faults![k]!, flags, error: null };
      });
      const rec: ExperimentRecord = { doc, version: 1, createdAt: iso, updatedAt: iso, run: null, checked: c.experiment, rt: null };
      this.save([...this.faults.values(), ...fresh], [...this.experiments.values(), rec]).commit();
      for (const f of fresh) {
        this.faults.set(f.doc.id, f);
        this.counters.assigned(f.doc.id, f.slot);
      }
      this.experiments.set(doc.id, rec);
      this.timeline.record({ type: 'created', experiment: doc.id, reason: `created: ${doc.faults.length} faults, ${doc.steps.length} steps, ${doc.stop.length} stop conditions` });
      this.opts.events?.publish('experiment', { id: doc.id, state: 'idle', change: 'created' });
      if (options.start) return this.startExperimentNow(rec);
      return this.getExperiment(doc.id);
    });
  }

  deleteExperiment(id: string, options: { expectVersions?: readonly number[] } = {}): Promise<{ id: string; deleted: true }> {
    return this.exclusive(async () => {
      const e = this.experiment(id, options.expectVersions);
      if (e.run?.state === 'running') throw stError('ST_ERR_CONFLICT', `experiment ${id} is running; stop it first`, { field: 'id' });
      this.save([...this.faults.values()].filter((f) => f.owner !== id), [...this.experiments.values()].filter((x) => x !== e)).commit();
      for (const f of [...this.faults.values()]) {
        if (f.owner !== id) continue;
        this.faults.delete(f.doc.id);
        this.counters.removed(f.doc.id);
      }
      this.experiments.delete(id);
      this.timeline.record({ type: 'deleted', experiment: id, reason: 'deleted' });
      this.opts.events?.publish('experiment', { id, change: 'deleted' });
      return { id, deleted: true as const };
    });
  }

  startExperiment(id: string, options: { expectVersions?: readonly number[] } = {}): Promise<ExperimentView> {
    return this.exclusive(async () => {
      const e = this.experiment(id, options.expectVersions);
      if (e.run?.state === 'running') return this.getExperiment(id);
      return this.startExperimentNow(e);
    });
  }

  private async startExperimentNow(e: ExperimentRecord): Promise<ExperimentView> {
    const now = Date.now();
    const run = { startedMs: now, state: 'running' as const, endedMs: null, abort: null };
    this.save(undefined, [...this.experiments.values()].map((x) => (x === e ? { ...x, run } : x))).commit();
    e.run = run;
    for (const f of this.faults.values()) if (f.owner === e.doc.id) f.error = null;
    this.resumeExperiment(e);
    this.timeline.record({ type: 'start', experiment: e.doc.id, dueMs: now, reason: `started (${e.doc.steps.length} steps)` });
    this.opts.events?.publish('experiment', { id: e.doc.id, state: 'running' });
    const err = await this.reconcile({ due: now, reason: 'experiment started' });
    if (err) {
      e.run = { ...run, state: 'stopped', endedMs: Date.now() };
      this.endRuntime(e);
      this.persistQuietly();
      await this.reconcile({ due: Date.now(), reason: 'experiment start refused by the data plane', experiment: e.doc.id });
      throw err;
    }
    return this.getExperiment(e.doc.id);
  }

  /** The runtime of a running experiment (after a start, or a restart of shadowtap). */
  private resumeExperiment(e: ExperimentRecord): void {
    const conds = e.checked.stop;
    e.rt = {
      arms: new Map(),
      watch: conds.length > 0 ? new ConditionWatch(conds, e.run!.startedMs) : null,
      vmStopped: new Set(),
      vmRan: new Set(),
      releasePoll: conds.length > 0 ? this.pollFaster(CONDITION_POLL_MS) : null,
    };
  }

  private endRuntime(e: ExperimentRecord): void {
    if (!e.rt) return;
    this.stepHooks(e, -1);
    e.rt.releasePoll?.();
    e.rt = null;
  }

  stopExperiment(id: string, options: { expectVersions?: readonly number[] } = {}): Promise<ExperimentView> {
    return this.exclusive(async () => {
      const e = this.experiment(id, options.expectVersions);
      if (e.run?.state !== 'running') return this.getExperiment(id);
      const now = Date.now();
      const run = { ...e.run, state: 'stopped' as const, endedMs: now };
      this.save(undefined, [...this.experiments.values()].map((x) => (x === e ? { ...x, run } : x))).commit();
      e.run = run;
      this.endRuntime(e);
      this.timeline.record({ type: 'stop', experiment: id, dueMs: now, reason: 'stopped on request' });
      this.opts.events?.publish('experiment', { id, state: 'stopped' });
      await this.reconcile({ due: now, reason: 'experiment stopped on request', experiment: id });
      return this.getExperiment(id);
    });
  }

  /**
   * A stop condition crossed: the experiment ends as aborted and every fault
   * of it is disarmed in one install, ahead of anything queued after it.
   */
  private abortExperiment(e: ExperimentRecord, c: Crossing, detectedMs: number): Promise<void> {
    if (e.run?.state !== 'running') return Promise.resolve();
    const reason = `stop condition ${c.condition.text}: ${c.condition.metric} was ${Number(c.value.toFixed(4))} over ${Math.round(c.overMs)} ms`;
    const abort: AbortRecord = { reason, condition: c.condition.text, value: c.value, crossedMs: c.at, detectedMs, disarmedMs: null };
    e.run = { ...e.run, state: 'aborted', endedMs: detectedMs, abort };
    this.endRuntime(e);
    return this.exclusive(async () => {
      await this.reconcile({ due: c.at, reason: `abort: ${reason}`, type: 'abort', experiment: e.doc.id });
      abort.disarmedMs = Date.now();
      this.timeline.record({ type: 'abort', experiment: e.doc.id, atMs: abort.disarmedMs, dueMs: c.at, reason, detail: { ...abort } });
      this.opts.events?.publish('experiment', { id: e.doc.id, state: 'aborted', reason, crossedAt: new Date(c.at).toISOString(), disarmedAt: new Date(abort.disarmedMs).toISOString(), disarmMs: abort.disarmedMs - c.at });
      this.logger.warn({ experiment: e.doc.id, reason, disarmMs: abort.disarmedMs - c.at }, `experiment ${e.doc.id} aborted`);
      this.persistQuietly();
    });
  }

  /** What /metrics shows of faults and experiments. */
  metricsView(): FaultMetricsView {
    return metricsViewOf(this.faults.values(), this.experiments.values(), this.armed, this.counters, this.generation);
  }

  timelineEntries(filter: { after?: number; fault?: string; experiment?: string; limit?: number } = {}): TimelineEntry[] {
    if (filter.fault !== undefined) this.fault(filter.fault);
    if (filter.experiment !== undefined) {
      this.experiment(filter.experiment);
      const own = new Set([...this.faults.values()].filter((f) => f.owner === filter.experiment).map((f) => f.doc.id));
      return this.timeline.list({ ...filter, experiment: undefined }).filter((t) => t.experiment === filter.experiment || (t.fault !== undefined && own.has(t.fault)));
    }
    return this.timeline.list(filter);
  }

  /** Stop timers and runtimes (shutdown, tests); the saved state stays. */
  async close(): Promise<void> {
    await this.chain;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const e of this.experiments.values()) e.rt?.releasePoll?.();
  }
}
