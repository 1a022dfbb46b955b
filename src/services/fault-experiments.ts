/**
 * Experiments, the fault service's middle layer: create, delete, start and
 * stop; the runtime of a running one (arming counts, the stop-condition
 * watch, VM hooks); completion when the last step ends and the abort when a
 * stop condition crosses. experimentEnded() is the one place a run ends.
 */
import { FaultError, stError } from '../errors.js';
import { checkFaults } from '../faults/check.js';
import { checkExperiment } from '../faults/experiment.js';
import { stepState } from '../faults/schedule.js';
import { MAX_FAULTS } from '../faults/schema.js';
import { FaultArming } from './fault-arming.js';
import { ConditionWatch, type Crossing } from './fault-conditions.js';
import { runHook } from './fault-hooks.js';
import type { AbortRecord } from './fault-store.js';
import { experimentView, type ExperimentView } from './fault-views.js';
import type { ExperimentRecord, FaultRecord } from './fault-records.js';
import { CONDITION_POLL_MS } from './fault-options.js';
import { checkVersion, notFound } from './fault-checks.js';

export abstract class FaultExperiments extends FaultArming {
  // ---- experiments ----------------------------------------------------------------------

  protected experiment(id: string, expect?: readonly number[]): ExperimentRecord {
    const e = this.experiments.get(id);
    if (!e && expect !== undefined) throw stError('ST_ERR_PRECONDITION_FAILED', `If-Match names a version of experiment ${id}, which does not exist`, { field: 'If-Match' });
    if (!e) throw notFound('experiment', id, [...this.experiments.keys()]);
    checkVersion(e.version, expect, `experiment ${id}`);
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

  protected async startExperimentNow(e: ExperimentRecord): Promise<ExperimentView> {
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
      this.experimentEnded(e);
      throw err;
    }
    return this.getExperiment(e.doc.id);
  }

  /** The runtime of a running experiment (after a start, or a restart of shadowtap). */
  protected resumeExperiment(e: ExperimentRecord): void {
    const conds = e.checked.stop;
    e.rt = {
      arms: new Map(),
      watch: conds.length > 0 ? new ConditionWatch(conds, e.run!.startedMs) : null,
      vmStopped: new Set(),
      vmRan: new Set(),
      releasePoll: conds.length > 0 ? this.pollFaster(CONDITION_POLL_MS) : null,
    };
  }

  protected endRuntime(e: ExperimentRecord): void {
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
      await this.reconcile({ due: now, reason: 'experiment stopped on request', experiment: id });
      this.experimentEnded(e);
      return this.getExperiment(id);
    });
  }

  /**
   * A stop condition crossed: the experiment ends as aborted and every fault
   * of it is disarmed in one install, ahead of anything queued after it.
   */
  protected abortExperiment(e: ExperimentRecord, c: Crossing, detectedMs: number): Promise<void> {
    if (e.run?.state !== 'running') return Promise.resolve();
    const reason = `stop condition ${c.condition.text}: ${c.condition.metric} was ${Number(c.value.toFixed(4))} over ${Math.round(c.overMs)} ms`;
    const abort: AbortRecord = { reason, condition: c.condition.text, value: c.value, crossedMs: c.at, detectedMs, disarmedMs: null };
    e.run = { ...e.run, state: 'aborted', endedMs: detectedMs, abort };
    this.endRuntime(e);
    return this.exclusive(async () => {
      await this.reconcile({ due: c.at, reason: `abort: ${reason}`, type: 'abort', experiment: e.doc.id });
      abort.disarmedMs = Date.now();
      this.timeline.record({ type: 'abort', experiment: e.doc.id, atMs: abort.disarmedMs, dueMs: c.at, reason, detail: { ...abort } });
      this.persistQuietly();
      this.experimentEnded(e);
    });
  }

  /** Experiments whose last step ended by `now`: marked completed, saved, returned. */
  protected settleExperiments(now: number): ExperimentRecord[] {
    const ended: ExperimentRecord[] = [];
    for (const e of this.experiments.values()) {
      if (e.run?.state !== 'running') continue;
      const st = stepState(e.checked.durationsMs, e.run.startedMs, now);
      this.stepHooks(e, st.index);
      if (!st.done) continue;
      e.run = { ...e.run, state: 'completed', endedMs: st.since };
      this.endRuntime(e);
      this.timeline.record({ type: 'complete', experiment: e.doc.id, dueMs: st.since, reason: `all ${e.doc.steps.length} steps ran` });
      this.persistQuietly();
      ended.push(e);
    }
    return ended;
  }

  /**
   * THE END OF AN EXPERIMENT: the one place every run of an experiment ends,
   * called once per run, after the install that disarmed its faults (or the
   * attempt): completed (its last step ran; from reconcile), stopped (on
   * request, or its start refused by the data plane) or aborted (a stop
   * condition crossed; the abort record has its crossing and disarm times).
   * By then e.run holds the outcome (state, endedMs, abort), the runtime and
   * its VM hooks are ended, the timeline has the entry and the state is
   * saved. What follows an experiment's end (its event, a report) goes here.
   */
  protected experimentEnded(e: ExperimentRecord): void {
    const run = e.run;
    if (!run) return;
    const abort = run.abort;
    if (run.state === 'aborted' && abort) {
      const disarmedMs = abort.disarmedMs ?? Date.now();
      this.opts.events?.publish('experiment', { id: e.doc.id, state: 'aborted', reason: abort.reason, crossedAt: new Date(abort.crossedMs).toISOString(), disarmedAt: new Date(disarmedMs).toISOString(), disarmMs: disarmedMs - abort.crossedMs });
      this.logger.warn({ experiment: e.doc.id, reason: abort.reason, disarmMs: disarmedMs - abort.crossedMs }, `experiment ${e.doc.id} aborted`);
      return;
    }
    this.opts.events?.publish('experiment', { id: e.doc.id, state: run.state });
  }

  /** The VM hooks of the step entered (stop) and of the steps left (start). */
  protected stepHooks(e: ExperimentRecord, index: number): void {
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

  protected hook(e: ExperimentRecord, step: number, which: 'stop' | 'start'): void {
    const h = e.checked.hooks[step]?.[which];
    if (!h) return;
    const dueMs = Date.now();
    void runHook(h).then((o) => {
      this.timeline.record({ type: 'hook', experiment: e.doc.id, step, dueMs, reason: `VM ${which} hook ${o.ok ? 'succeeded' : `failed: ${o.error ?? ''}`}`, detail: { which, ...o } });
    });
  }
}
