/**
 * The policy service: every operation on the mirror policy, whoever asks
 * (PUT/GET /v1/policy and /v1/sessions, `shadowtap policy validate`, the
 * replay of the saved policy at start-up, a data-plane restart).
 *
 * - get: the policy in force, its compiled policy's plan (PolicyReport:
 *   counts, warnings, explanation) and per-session counters;
 * - validate: check a policy section against the rest of the configuration
 *   in force and compile it, once (checkPolicy); nothing changes;
 * - apply: validate, compile, install in the running data plane (RCU swap,
 *   traffic keeps flowing), and only then make it the configuration in
 *   force and persist it (<run_dir>/state/policy.json). Any failure leaves
 *   the running policy and the stored state as they were;
 * - replay: at start-up the saved policy replaces the file's (restorePolicy);
 *   after a restart the compiled policy in force is sent with 'start'
 *   (native()), so the new child runs what the old one ran.
 *
 * The result of one validation is the compiled policy that is installed,
 * reported and persisted: nothing compiles the same section twice.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { policySection } from '../config/load.js';
import { POLICY_KEYS, type Config, type PolicySection } from '../config/schema.js';
import type { NativePolicy } from '../dataplane/native-types.js';
import { isShadowtapError, PolicyError, stError } from '../errors.js';
import { compilePolicy, type CompiledPolicy, type PolicyReport } from '../policy/compile.js';
import { checkPolicy, type CheckedPolicy } from './policy-check.js';
import { PolicyCompileWorker } from './policy-worker.js';
import type { DataplaneChild, DataplaneHandle } from './dataplane.js';
import { PolicyCounters, type SessionCounterView } from './policy-counters.js';
import { discardStateFile, loadPolicyState, policyHash, preparePolicyState, removeStaleTemps, savePolicyState, statePath, type PreparedWrite } from './policy-state.js';

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
  plan: PolicyReport;
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

/** The policy operations the API and the CLI reach (a fake implements them in route tests). */
export interface PolicyOperations {
  policyView(): PolicyView;
  /** the configuration in force: the file's, with the policy keys as last applied */
  configInForce(): Config;
  sessionStats(): SessionsView;
  /** throws PolicyError (400, every problem) */
  validatePolicy(section: unknown): Promise<PolicyReport>;
  /** throws PolicyError, ST_ERR_PRECONDITION_FAILED (412), ST_ERR_BUSY (409) or a data-plane error; nothing changes on failure */
  applyPolicy(section: unknown, options?: ApplyOptions): Promise<PolicyView>;
}

export { checkPolicy, type CheckedPolicy, type CheckPolicyOptions } from './policy-check.js';

/** What a write may require of the policy it replaces (If-Match, through the API). */
export interface ApplyOptions {
  /** refuse (ST_ERR_PRECONDITION_FAILED) unless the generation in force is one of these */
  expectGenerations?: readonly number[];
}

export interface RestoredPolicy {
  config: Config;
  /** compiled from config at `generation`, by the check that accepted it; absent: the file's, not yet compiled here */
  policy?: CompiledPolicy;
  baseHash: string;
  generation: number;
  source: PolicySource;
}

export interface RestoreOptions {
  /** move an unusable (or any) saved state aside and start from the file, continuing its generation */
  discardState?: boolean;
}

/**
 * Start-up replay: the saved policy (<run_dir>/state/policy.json) replaces
 * the file's when it was derived from the file's present policy section;
 * otherwise the file is newer intent and wins, as the next generation (the
 * generation never goes backwards), saved at once so a second restart
 * agrees. A saved state that cannot be read, parsed or validated against
 * this configuration stops the start (ST_ERR_STATE_CORRUPT): silently
 * running the file's older policy instead would undo changes operators were
 * told were made. `discardState` moves it aside (kept as
 * policy.json.discarded-<time>) and starts from the file.
 * Temporary files a crash left mid-write are removed first.
 * `compiled`: config's own compiled policy (generation 1), when its check
 * made one; it is what the file's policy runs as at generation 1.
 */
export function restorePolicy(config: Config, logger: Logger, compiled?: CompiledPolicy, options: RestoreOptions = {}): RestoredPolicy {
  const baseHash = policyHash(policySection(config));
  const stateDir = join(config.run_dir, 'state');
  const path = statePath(stateDir);
  for (const f of removeStaleTemps(stateDir)) logger.info({ file: f }, 'removed a temporary state file an interrupted write left');
  /** The file's policy at `generation`, saved so the numbering survives another restart. */
  const fromFile = (generation: number, why: string): RestoredPolicy => {
    let policy = compiled;
    if (generation !== 1 || !policy) {
      const checked = checkPolicy(config, policySection(config), { source: 'config', generation });
      // The file passed its own check before this: a failure here is a bug, not bad input.
      if ('problems' in checked) throw new PolicyError(checked.problems, 'config');
      policy = checked.policy;
    }
    if (generation > 1) {
      savePolicyState(stateDir, { generation, baseHash, policy: structuredClone(policySection(config)) as unknown as Record<string, unknown> });
      logger.info({ stateDir, generation }, `${why}: the configuration file's policy runs as generation ${generation}`);
    }
    return { config, policy, baseHash, generation, source: 'config' };
  };
  const discard = (generation: number, why: string): RestoredPolicy => {
    const kept = discardStateFile(stateDir);
    logger.warn({ kept, generation }, `--discard-state: ${why}; the saved state was moved to ${kept}`);
    return fromFile(generation + 1, 'saved state discarded');
  };
  const corrupt = (problem: string, generation: number | null): never | RestoredPolicy => {
    if (options.discardState) return discard(generation ?? 0, problem);
    throw stError(
      'ST_ERR_STATE_CORRUPT',
      `${problem}. Nothing was started: running the configuration file's policy instead would silently undo changes made through the API. ` +
        `Repair or inspect the file, or start with \`shadowtap run --discard-state\` to move it aside (kept as ${path}.discarded-<time>) and start from the configuration file's policy`,
      { field: 'run_dir' },
    );
  };

  const { state, problem, text } = loadPolicyState(stateDir);
  if (problem) {
    // The file may not say its generation any more; the audit log of the changes made does.
    const named = [generationIn(text), highestAuditedGeneration(config.run_dir)].filter((g): g is number => g !== null);
    return corrupt(problem, named.length > 0 ? Math.max(...named) : null);
  }
  if (!state) return fromFile(1, 'no saved state');
  if (!Number.isInteger(state.generation) || state.generation < 1) {
    return corrupt(`${path}: "generation" is ${JSON.stringify(state.generation)}; expected a whole number of at least 1`, null);
  }
  if (options.discardState) return discard(state.generation, 'asked to start from the configuration file');
  if (state.baseHash !== baseHash) {
    logger.info({ stateDir, savedAt: state.savedAt }, "the configuration file's policy changed since the policy was saved: the file wins");
    return fromFile(state.generation + 1, 'the configuration file changed');
  }
  const checked = checkPolicy(config, state.policy, { source: path, generation: state.generation });
  if ('problems' in checked) {
    const first = checked.problems.slice(0, 3).map((p) => `${p.path ? `${p.path}: ` : ''}${p.message}`).join('; ');
    return corrupt(`${path}: the saved policy (generation ${state.generation}) does not validate against this configuration (${checked.problems.length} problem${checked.problems.length === 1 ? '' : 's'}: ${first})`, state.generation);
  }
  logger.info({ stateDir, generation: state.generation, savedAt: state.savedAt }, 'restored the policy applied through the API');
  return { config: checked.config, policy: checked.policy, baseHash, generation: state.generation, source: 'state' };
}

/** The highest generation the audit log (<run_dir>/audit.jsonl, its last MiB) records, or null. */
function highestAuditedGeneration(runDir: string): number | null {
  let text: string;
  try {
    const buf = readFileSync(join(runDir, 'audit.jsonl'));
    text = buf.subarray(Math.max(0, buf.length - 1048576)).toString('utf8');
  } catch {
    return null;
  }
  let best: number | null = null;
  for (const m of text.matchAll(/"generationAfter":(\d{1,15})/g)) best = Math.max(best ?? 0, Number(m[1]));
  return best;
}

/** A generation the text of an unusable state file names, so a discarded state does not set it back. */
function generationIn(text: string | undefined): number | null {
  const m = text ? /"generation"\s*:\s*(\d{1,15})/.exec(text) : null;
  return m ? Number(m[1]) : null;
}

export interface PolicyServiceOptions {
  /** the configuration in force at start (the file's, or with a replayed policy) */
  config: Config;
  /** config's compiled policy, when its check compiled it; compiled here otherwise */
  policy?: CompiledPolicy;
  /** generation of the initial policy when it is compiled here; default 1 */
  generation?: number;
  /** where the initial policy came from; default 'config' */
  source?: PolicySource;
  /** save the last good policy here (atomically); unset = not saved */
  stateDir?: string | null;
  /** policyHash() of the config file's policy section, recorded in the saved state */
  stateBaseHash?: string | null;
  /** ms to wait for the data plane to install a policy; default 120 s */
  installTimeoutMs?: number;
  /** check and compile updates in a worker thread (default true) */
  compileInWorker?: boolean;
  dataplane: DataplaneHandle;
  logger: Logger;
}

export interface PolicyEvents {
  /** a new policy became current (installed live, or stored for the next start) */
  policy: [{ generation: number; applied: boolean; applyMs: number | null; warnings: number }];
}

/**
 * PUT /v1/policy replaces the whole section: a missing body, null or {} would
 * silently reset every key to its default (maps emptied), so they are refused.
 */
export function requireWholePolicy(section: unknown): void {
  const keys = POLICY_KEYS.join(', ');
  if (section === undefined || section === null) {
    throw new PolicyError([{ path: '', message: `no policy was sent (an empty body, or null): expected a mapping with the policy keys (${keys}); the whole policy is replaced, so nothing is taken as "reset to defaults"` }]);
  }
  if (typeof section === 'object' && !Array.isArray(section) && Object.keys(section).length === 0) {
    throw new PolicyError([{ path: '', message: `the policy is empty ({}): it would reset every key (${keys}) to its default and empty the address maps; send the keys you want, each one explicitly (e.g. "translate": {} to empty the maps)` }]);
  }
}

export class PolicyService extends EventEmitter<PolicyEvents> implements PolicyOperations {
  private _config: Config;
  /** the compiled policy in force: sent with every start, reported, planned from */
  private compiled: CompiledPolicy;
  private since = new Date();
  /** installed in the running child (with 'start' or live) */
  private installed = false;
  private applyMs: number | null = null;
  private source: PolicySource;
  private _applying = false;
  private readonly counters = new PolicyCounters();
  /** cleared when a host answers that it does not know 'policyStats' */
  private policyStatsSupported = true;
  private readonly dataplane: DataplaneHandle;
  private readonly logger: Logger;
  private readonly stateDir: string | null;
  private readonly stateBaseHash: string | null;
  private readonly installTimeoutMs: number;
  /** null: compile on the main thread (options.compileInWorker false) */
  private readonly worker: PolicyCompileWorker | null;

  constructor(options: PolicyServiceOptions) {
    super();
    this._config = options.config;
    this.compiled = options.policy ?? compilePolicy(options.config, { generation: options.generation ?? 1 });
    this.source = options.source ?? 'config';
    this.dataplane = options.dataplane;
    this.logger = options.logger;
    this.stateDir = options.stateDir ?? null;
    this.stateBaseHash = options.stateBaseHash ?? null;
    this.installTimeoutMs = options.installTimeoutMs ?? 120_000;
    this.worker = options.compileInWorker === false ? null : new PolicyCompileWorker();
    this.counters.committed(this.compiled.report, [], []);
  }

  /** The configuration in force: the file's, with the policy keys as last applied. */
  get config(): Config {
    return this._config;
  }

  configInForce(): Config {
    return this._config;
  }

  /** The compiled policy in force, as the data plane receives it (with every 'start'). */
  native(): NativePolicy {
    return this.compiled.native;
  }

  /** An update is in flight (the host may answer slowly while it installs). */
  get applying(): boolean {
    return this._applying;
  }

  /** A child started with native() in it. */
  childReady(): void {
    this.installed = true;
    this.policyStatsSupported = true;
  }

  /** The child is gone: its session counters become carried totals. */
  childGone(): void {
    this.counters.childGone(this.compiled.report);
    this.installed = false;
  }

  /** Per-session counters, one step of every poll; a host that does not know 'policyStats' is asked once. */
  async pollSessions(child: DataplaneChild): Promise<void> {
    if (!this.policyStatsSupported) return;
    try {
      const snap = await child.policyStats(this.dataplane.requestTimeoutMs);
      if (this.dataplane.child !== child) return;
      this.counters.snapshot(snap);
    } catch (err) {
      if (this.dataplane.child !== child || !child.alive) return;
      if (/unknown request type/.test((err as Error).message)) {
        this.policyStatsSupported = false;
        this.logger.warn({ dataplanePid: child.pid }, 'the data-plane host does not report per-session counters (policyStats)');
        return;
      }
      this.logger.warn({ dataplanePid: child.pid, err: (err as Error).message }, 'policy stats poll failed');
    }
  }

  /** The current policy, its compiled plan, warnings and explanations. */
  policyView(): PolicyView {
    return {
      generation: this.compiled.native.generation,
      applied: this.installed && this.dataplane.state === 'running',
      since: this.since.toISOString(),
      applyMs: this.applyMs,
      source: this.source,
      policy: policySection(this._config),
      plan: this.compiled.report,
    };
  }

  /** Per-session and per-rule counters of the current policy, monotonic across restarts. */
  sessionStats(): SessionsView {
    const plan = this.compiled.report;
    const views = this.counters.view(plan);
    const fresh = 3 * this.dataplane.pollIntervalMs + this.dataplane.requestTimeoutMs;
    const live = this.dataplane.state === 'running' && this.counters.latestAt > 0 && Date.now() - this.counters.latestAt <= fresh;
    return {
      generation: this.compiled.native.generation,
      live,
      at: this.counters.latestAt,
      ...(this.counters.path !== undefined ? { path: this.counters.path } : {}),
      sessions: views.map((v, i) => {
        const s = plan.sessions[i]!;
        return { ...v, priority: s.priority, target: s.target, ...(s.description !== undefined ? { description: s.description } : {}) };
      }),
    };
  }

  /**
   * Check a section against the configuration in force and compile it as
   * the next generation, in the compile worker (a large policy takes
   * seconds; the event loop keeps answering /healthz, /metrics and polls).
   */
  private async check(section: unknown): Promise<CheckedPolicy> {
    const options = { source: 'policy', generation: this.compiled.native.generation + 1, slots: this.compiled.slots };
    const checked = this.worker ? await this.worker.check(this._config, section, options) : checkPolicy(this._config, section, options);
    if ('problems' in checked) throw new PolicyError(checked.problems);
    return checked;
  }

  /** Check a policy section against this configuration and compile it; nothing changes. Throws PolicyError. */
  async validatePolicy(section: unknown): Promise<PolicyReport> {
    return (await this.check(section)).policy.report;
  }

  /** Stop the compile worker's thread (shutdown, tests). */
  async close(): Promise<void> {
    await this.worker?.close();
  }

  /**
   * Replace the policy section: validate and compile (once), install in the
   * running data plane and only then make it the configuration in force and
   * save it. While the data plane is stopped or failed it is stored and
   * applies at the next start; while it is starting or restarting the call
   * is refused (ST_ERR_BUSY), as is a second update while one is in flight.
   * On any failure nothing changes.
   */
  /**
   * A policy install the data plane did not answer in time is still queued
   * in it: answered late, it would install the new policy while the
   * configuration, the counters and the saved state keep the old one. The
   * child is killed instead, and the restart re-applies the policy in force.
   */
  private installTimedOut(err: unknown, child: DataplaneChild): unknown {
    if (!isShadowtapError(err) || err.code !== 'ST_ERR_DATAPLANE_TIMEOUT' || this.dataplane.child !== child || !child.alive) return err;
    const generation = this.compiled.native.generation;
    const why = `it did not answer a policy install in time and could still apply it later; restarted with generation ${generation}, the policy in force`;
    this.logger.error({ dataplanePid: child.pid }, `killing data-plane process ${child.pid}: ${why}`);
    child.killFor(why);
    return stError('ST_ERR_DATAPLANE_TIMEOUT', `${err.message}; the data plane is restarted with policy generation ${generation}, the one in force, which stays`, { cause: err });
  }

  async applyPolicy(section: unknown, options: ApplyOptions = {}): Promise<PolicyView> {
    if (this._applying) throw stError('ST_ERR_BUSY', 'another policy update is in progress; retry when it has finished');
    requireWholePolicy(section);
    // Compared while no other update can run: the check and the change are one step.
    const current = this.compiled.native.generation;
    if (options.expectGenerations !== undefined && !options.expectGenerations.includes(current)) {
      throw stError(
        'ST_ERR_PRECONDITION_FAILED',
        `the policy is at generation ${current}, not ${options.expectGenerations.join(' or ')}: it changed since it was read; read it again (its ETag is "g${current}"), redo the change and send that`,
        { field: 'If-Match' },
      );
    }
    const state = this.dataplane.state;
    if (state === 'starting' || state === 'backoff') {
      throw stError('ST_ERR_BUSY', `the data plane is ${state === 'starting' ? 'starting' : 'restarting after a crash'}; retry once it runs`);
    }
    this._applying = true;
    let staged: PreparedWrite | null = null;
    try {
      // Problems go back to the caller as they are (the API logs the rejection).
      const next = await this.check(section);
      if (this.dataplane.state === 'starting' || this.dataplane.state === 'backoff') {
        throw stError('ST_ERR_BUSY', 'the data plane restarted while the policy was being checked; retry once it runs');
      }
      const compiled = next.policy;
      const generation = compiled.native.generation;
      // Make sure the state can be saved before anything changes.
      if (this.stateDir) {
        staged = preparePolicyState(this.stateDir, {
          generation,
          baseHash: this.stateBaseHash,
          policy: structuredClone(policySection(next.config)) as unknown as Record<string, unknown>,
        });
      }
      let applied = false;
      let applyMs: number | null = null;
      const child = this.dataplane.child;
      if (this.dataplane.state === 'running' && child) {
        const t0 = performance.now();
        const answer = await child.policy(compiled.native, this.installTimeoutMs).catch((err: unknown) => {
          throw this.installTimedOut(err, child);
        });
        if (this.dataplane.child !== child) {
          throw stError('ST_ERR_DATAPLANE_EXIT', 'the data plane restarted while the policy was being installed; the previous policy stays');
        }
        applied = true;
        applyMs = typeof answer.applyMs === 'number' ? answer.applyMs : performance.now() - t0;
      } else if (this.dataplane.state === 'running') {
        throw stError('ST_ERR_NOT_READY', 'the data plane is not answering; retry');
      }
      staged?.commit();
      staged = null;
      this._config = next.config;
      this.counters.committed(compiled.report, compiled.freshSessionSlots, compiled.freshRuleSlots);
      this.compiled = compiled;
      this.since = new Date();
      this.applyMs = applyMs;
      this.source = 'api';
      this.installed = applied;
      this.logger.info(
        { generation, applied, applyMs, sessions: compiled.report.counts.sessions, classifierRules: compiled.report.counts.classifierRules, warnings: compiled.report.warnings.length },
        applied ? `policy generation ${generation} installed` : `policy generation ${generation} stored; it applies when the data plane starts`,
      );
      this.emit('policy', { generation, applied, applyMs, warnings: compiled.report.warnings.length });
      return this.policyView();
    } catch (err) {
      staged?.abort();
      if (isShadowtapError(err)) this.logger.warn({ err: { code: err.code, message: err.message.split('\n')[0] } }, 'policy update refused; the running policy is unchanged');
      throw err;
    } finally {
      this._applying = false;
    }
  }
}

