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
 *
 * Three layers, one job each: ./fault-arming.ts (the state, what is armed,
 * the install), ./fault-experiments.ts (experiments; experimentEnded() is the
 * one place a run ends) and this file (the operations on faults, start-up
 * replay, the data plane's stats).
 */
import type { NativeStats } from '../dataplane/native-types.js';
import { FaultError, stError, type ConfigProblem } from '../errors.js';
import { checkFaults, type CheckedFault } from '../faults/check.js';
import { checkExperiment } from '../faults/experiment.js';
import { scheduleState } from '../faults/schedule.js';
import type { Fault } from '../faults/schema.js';
import type { FaultMetricsView } from '../metrics/faults.js';
import { sampleOf } from './fault-conditions.js';
import type { FaultCounterValues, NativeFaultStats } from './fault-counters.js';
import type { DryRunView } from './fault-dry-run.js';
import { discardFaultState, faultStatePath, loadFaultState, type StoredFault } from './fault-store.js';
import type { TimelineEntry } from './fault-timeline.js';
import { faultView, metricsViewOf, type FaultView } from './fault-views.js';
import type { FaultRecord } from './fault-records.js';
import { checkFaultBody, checkVersion, notFound } from './fault-checks.js';
import type { FaultServiceOptions } from './fault-options.js';
import { FaultExperiments } from './fault-experiments.js';

export { CONDITION_POLL_MS, FAULT_LINE, faultContext, type FaultDataplane, type FaultEventSink, type FaultServiceOptions } from './fault-options.js';
export { faultEtag } from './fault-checks.js';

export type { DryRunView } from './fault-dry-run.js';
export type { ExperimentView, FaultView } from './fault-views.js';

export class FaultService extends FaultExperiments {
  private statsWaiters: { after: number; resolve: (s: { stats: NativeStats; at: number }) => void }[] = [];

  constructor(opts: FaultServiceOptions) {
    super(opts);
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

  // ---- faults ---------------------------------------------------------------------------

  /** The fault, or 404; with `expect` (If-Match), 412 unless it exists at one of those versions. */
  private fault(id: string, expect?: readonly number[]): FaultRecord {
    const f = this.faults.get(id);
    if (!f && expect !== undefined) throw stError('ST_ERR_PRECONDITION_FAILED', `If-Match names a version of fault ${id}, which does not exist`, { field: 'If-Match' });
    if (!f) throw notFound('fault', id, [...this.faults.keys()]);
    checkVersion(f.version, expect, `fault ${id}`);
    return f;
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
