/**
 * The alerts service: threshold rules over the series store, evaluated after
 * every sample (src/alerts/engine.ts). Its operations (list, put, remove,
 * replace all, export) are what the API and the CLI call. The rule set is
 * desired state: saved atomically to run_dir/state/alerts.json before a
 * change is answered, and read back at start. Every change bumps the
 * revision, which is the rule set's ETag ("a7"); a write that names another
 * revision in If-Match is refused and changes nothing.
 *
 * Firing and resolved transitions go to the event feed (type `alert`) and to
 * the metrics (registerAlertMetrics).
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { AlertError, stError, sysReason, type ConfigProblem } from '../errors.js';
import { AlertEngine, holds as holdsOp, type AlertInstance, type AlertTransition } from '../alerts/engine.js';
import { prometheusRules } from '../alerts/export.js';
import { checkRule, MAX_RULES, SEVERITIES, type AlertRule, type CheckedRule } from '../alerts/rule.js';
import { writeFileAtomic } from './policy-state.js';
import type { SeriesService } from './series.js';

export const ALERTS_FILE = 'alerts.json';
export const ALERTS_KIND = 'shadowtap.alert-rules/v1';

export const alertsEtag = (revision: number): string => `"a${revision}"`;

export interface RuleView extends AlertRule {
  for: string;
  status: { pending: number; firing: number; lastError: string | null; lastEvaluatedAt: string | null; evaluationFailures: number };
}

export interface RulesView {
  revision: number;
  rules: RuleView[];
}

export interface AlertsView {
  revision: number;
  alerts: (Omit<AlertInstance, 'activeAt' | 'firedAt' | 'value'> & { activeAt: string; firedAt: string | null; value: number | null })[];
  /** the last transitions, newest last */
  recent: (Omit<AlertTransition, 'activeAt' | 'at' | 'value'> & { activeAt: string; at: string; value: number | null })[];
}

export interface PutResult {
  view: RulesView;
  created: boolean;
  changed: boolean;
  /** metric names the rule reads that no series has yet */
  warnings: string[];
}

/** What routes call. */
export interface AlertOperations {
  rules(): RulesView;
  rule(name: string): RuleView;
  alerts(): AlertsView;
  /** add or replace one rule; `ifMatch`: the revisions the caller read ('*' or absent: any) */
  putRule(name: string, body: unknown, ifMatch?: number[]): PutResult;
  removeRule(name: string, ifMatch?: number[]): RulesView;
  replaceRules(body: unknown, ifMatch?: number[]): PutResult;
  /** dry run: check one rule and evaluate it now */
  checkRule(body: unknown): { valid: boolean; problems: ConfigProblem[]; warnings: string[]; value: { labels: Record<string, string>; value: number | null; holds: boolean }[] };
  exportYaml(): string;
}

export interface AlertEvents {
  alert: [AlertTransition];
}

const KEEP_RECENT = 100;

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

export class AlertService extends EventEmitter<AlertEvents> implements AlertOperations {
  private checked: CheckedRule[] = [];
  private revision = 0;
  private readonly engine: AlertEngine;
  private readonly recent: AlertTransition[] = [];
  private readonly file: string | null;

  constructor(private readonly o: { series: SeriesService; stateDir: string | null; logger?: Logger; now?: () => number }) {
    super();
    this.engine = new AlertEngine(o.series.store, (t) => {
      this.recent.push(t);
      if (this.recent.length > KEEP_RECENT) this.recent.shift();
      this.emit('alert', t);
    });
    this.file = o.stateDir ? join(o.stateDir, ALERTS_FILE) : null;
    this.load();
    o.series.onSample((at) => this.engine.evaluate(at));
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Read the saved rules; a file that cannot be used is refused with its reason (ST_ERR_STATE_CORRUPT): starting without the operator's alerts would hide problems. */
  private load(): void {
    if (!this.file || !existsSync(this.file)) return;
    let doc: { kind?: unknown; revision?: unknown; rules?: unknown };
    try {
      doc = JSON.parse(readFileSync(this.file, 'utf8')) as typeof doc;
    } catch (err) {
      throw stError('ST_ERR_STATE_CORRUPT', `${this.file}: cannot read the saved alert rules: ${sysReason(err)}; fix or remove the file`, { field: 'alerts' });
    }
    if (doc.kind !== ALERTS_KIND || !Number.isInteger(doc.revision) || !Array.isArray(doc.rules)) {
      throw stError('ST_ERR_STATE_CORRUPT', `${this.file}: expected {kind: "${ALERTS_KIND}", revision, rules: [...]}; fix or remove the file`, { field: 'alerts' });
    }
    const { checked, problems } = this.checkAll(doc.rules, 'rules');
    if (problems.length > 0) throw stError('ST_ERR_STATE_CORRUPT', `${this.file}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { field: 'alerts' });
    this.checked = checked;
    this.revision = doc.revision as number;
    this.engine.setRules(checked, this.now());
  }

  private save(rules: readonly CheckedRule[], revision: number): void {
    if (!this.file) return;
    try {
      writeFileAtomic(this.file, `${JSON.stringify({ kind: ALERTS_KIND, revision, savedAt: new Date().toISOString(), rules: rules.map((c) => c.rule) }, null, 2)}\n`);
    } catch (err) {
      throw stError('ST_ERR_STATE_SAVE', `cannot save the alert rules to ${this.file}: ${sysReason(err)}; nothing changed`, { cause: err });
    }
  }

  private known(): Set<string> {
    return new Set(this.o.series.store.names());
  }

  private checkAll(rules: unknown[], at: string, known?: ReadonlySet<string>): { checked: CheckedRule[]; problems: ConfigProblem[] } {
    const problems: ConfigProblem[] = [];
    const checked: CheckedRule[] = [];
    if (rules.length > MAX_RULES) problems.push({ path: at, message: `expected at most ${MAX_RULES} rules, got ${rules.length}` });
    const names = new Map<string, number>();
    rules.forEach((r, i) => {
      const res = checkRule(r, `${at}[${i}]`, known);
      problems.push(...res.problems);
      if (!res.checked) return;
      const first = names.get(res.checked.rule.name);
      if (first !== undefined) problems.push({ path: `${at}[${i}].name`, message: `expected a unique name; ${JSON.stringify(res.checked.rule.name)} is also ${at}[${first}]` });
      names.set(res.checked.rule.name, i);
      checked.push(res.checked);
    });
    return { checked, problems };
  }

  private precondition(ifMatch: number[] | undefined): void {
    if (ifMatch !== undefined && !ifMatch.includes(this.revision)) {
      throw stError('ST_ERR_PRECONDITION_FAILED', `If-Match does not name the current revision of the alert rules ${alertsEtag(this.revision)}: they changed since you read them; GET them again, redo the change and send the new ETag`, { field: 'If-Match' });
    }
  }

  /** Save, then commit: a rule set that cannot be saved changes nothing. */
  private commit(next: CheckedRule[]): void {
    const revision = this.revision + 1;
    this.save(next, revision);
    this.checked = next;
    this.revision = revision;
    this.engine.setRules(next, this.now());
    this.o.logger?.info({ revision, rules: next.length }, 'alert rules changed');
  }

  private view(c: CheckedRule): RuleView {
    const st = this.engine.ruleStatus(c.rule.name);
    return {
      ...c.rule,
      status: {
        pending: st?.pending ?? 0,
        firing: st?.firing ?? 0,
        lastError: st?.lastError ?? null,
        lastEvaluatedAt: st?.lastEvaluatedAt ? new Date(st.lastEvaluatedAt).toISOString() : null,
        evaluationFailures: st?.evaluationFailures ?? 0,
      },
    };
  }

  get currentRevision(): number {
    return this.revision;
  }

  rules(): RulesView {
    return { revision: this.revision, rules: this.checked.map((c) => this.view(c)) };
  }

  rule(name: string): RuleView {
    const c = this.checked.find((x) => x.rule.name === name);
    if (!c) throw stError('ST_ERR_NOT_FOUND', `no alert rule ${JSON.stringify(name)}; the rules are: ${this.checked.map((x) => x.rule.name).join(', ') || '(none)'}`, { field: 'name' });
    return this.view(c);
  }

  alerts(): AlertsView {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      revision: this.revision,
      alerts: this.engine.alerts().map((a) => ({ ...a, value: finite(a.value), activeAt: iso(a.activeAt), firedAt: a.firedAt === null ? null : iso(a.firedAt) })),
      recent: this.recent.map((t) => ({ ...t, value: finite(t.value), activeAt: iso(t.activeAt), at: iso(t.at) })),
    };
  }

  putRule(name: string, body: unknown, ifMatch?: number[]): PutResult {
    // As for the policy: a stale If-Match is answered before the body is looked at.
    this.precondition(ifMatch);
    const res = checkRule(body, '', this.known());
    if (!res.checked) throw new AlertError(res.problems);
    if (res.checked.rule.name !== name) throw new AlertError([{ path: 'name', message: `expected the name in the path, ${JSON.stringify(name)}, got ${JSON.stringify(res.checked.rule.name)}` }]);
    const i = this.checked.findIndex((c) => c.rule.name === name);
    const created = i < 0;
    const changed = created || JSON.stringify(this.checked[i]!.rule) !== JSON.stringify(res.checked.rule);
    if (created && this.checked.length >= MAX_RULES) throw new AlertError([{ path: 'name', message: `expected at most ${MAX_RULES} rules; remove one first` }]);
    if (changed) {
      const next = [...this.checked];
      if (created) next.push(res.checked);
      else next[i] = res.checked;
      this.commit(next);
    }
    return { view: this.rules(), created, changed, warnings: res.checked.unknownMetrics.map((m) => `no series named ${m} yet: the rule stays quiet until one appears`) };
  }

  removeRule(name: string, ifMatch?: number[]): RulesView {
    this.precondition(ifMatch);
    this.rule(name);
    this.commit(this.checked.filter((c) => c.rule.name !== name));
    return this.rules();
  }

  replaceRules(body: unknown, ifMatch?: number[]): PutResult {
    this.precondition(ifMatch);
    const rules = (body as { rules?: unknown })?.rules;
    if (typeof body !== 'object' || body === null || !Array.isArray(rules)) throw new AlertError([{ path: 'rules', message: 'expected {"rules": [...]}, a list of rules' }]);
    const { checked, problems } = this.checkAll(rules, 'rules', this.known());
    if (problems.length > 0) throw new AlertError(problems);
    const changed = JSON.stringify(checked.map((c) => c.rule)) !== JSON.stringify(this.checked.map((c) => c.rule));
    if (changed) this.commit(checked);
    const warnings = [...new Set(checked.flatMap((c) => c.unknownMetrics))].map((m) => `no series named ${m} yet: rules reading it stay quiet until one appears`);
    return { view: this.rules(), created: false, changed, warnings };
  }

  checkRule(body: unknown) {
    const res = checkRule(body, '', this.known());
    if (!res.checked) return { valid: false, problems: res.problems, warnings: [], value: [] };
    const { rule } = res.checked;
    let value: { labels: Record<string, string>; value: number | null; holds: boolean }[] = [];
    const problems: ConfigProblem[] = [];
    try {
      const v = this.o.series.instant(rule.expr).value;
      const samples = v.type === 'scalar' ? [{ metric: {}, value: v.value }] : v.samples;
      value = samples.map((s) => ({ labels: Object.fromEntries(Object.entries(s.metric).filter(([k]) => k !== '__name__')), value: finite(s.value), holds: holdsOp(rule.condition.op, s.value, rule.condition.threshold) }));
    } catch (err) {
      problems.push({ path: 'expr', message: (err as Error).message.replace(/^expr: /, '') });
    }
    return { valid: problems.length === 0, problems, warnings: res.checked.unknownMetrics.map((m) => `no series named ${m} yet`), value };
  }

  exportYaml(): string {
    return prometheusRules(this.checked.map((c) => c.rule));
  }
}

/** shadowtap_alerts_firing, shadowtap_alert_transitions_total, shadowtap_alert_rules, shadowtap_series_* in `registry`. */
export function registerAlertMetrics(registry: Registry, alerts: AlertService, series: SeriesService): void {
  new Gauge({
    name: 'shadowtap_alerts_firing',
    help: 'Alert instances firing now, per rule (0 when none).',
    labelNames: ['rule', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      const firing = alerts.alerts().alerts.filter((a) => a.state === 'firing');
      for (const r of alerts.rules().rules) this.set({ rule: r.name, severity: r.severity }, firing.filter((a) => a.rule === r.name).length);
    },
  });
  const transitions = new Counter({
    name: 'shadowtap_alert_transitions_total',
    help: 'Alerts that fired or resolved, per rule.',
    labelNames: ['rule', 'severity', 'state'],
    registers: [registry],
  });
  alerts.on('alert', (t) => transitions.inc({ rule: t.rule, severity: t.severity, state: t.state }));
  new Gauge({
    name: 'shadowtap_alert_rules',
    help: 'Alert rules configured, per severity.',
    labelNames: ['severity'],
    registers: [registry],
    collect() {
      const rules = alerts.rules().rules;
      for (const s of SEVERITIES) this.set({ severity: s }, rules.filter((r) => r.severity === s).length);
    },
  });
  new Gauge({
    name: 'shadowtap_series_stored',
    help: 'Series in the supervisor\'s in-memory series store.',
    registers: [registry],
    collect() {
      this.set(series.store.size);
    },
  });
  new Gauge({
    name: 'shadowtap_series_refused',
    help: 'Samples the series store refused because it holds its maximum number of series.',
    registers: [registry],
    collect() {
      this.set(series.store.refused);
    },
  });
}
