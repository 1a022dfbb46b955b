/**
 * The report service: when an experiment ends (completed, stopped or
 * aborted: the `experiment` events of the feed), it waits until the
 * experiment's last observation window has passed, builds the report
 * (src/reports/build.ts) from the series store and the fault service's
 * view and timeline, and writes it as JSON and as one self-contained HTML
 * file under <run_dir>/reports, keeping the newest `reports.keep`.
 * GET /v1/reports, /v1/reports/:id and `shadowtap experiment report` read
 * them through here.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { PortRoles } from '../analysis/impact.js';
import { stError } from '../errors.js';
import { checkExperiment } from '../faults/experiment.js';
import { buildReport, readyAt, type AlertMark, type ExperimentReport } from '../reports/build.js';
import { renderReport } from '../reports/html.js';
import type { SeriesStore } from '../series/store.js';
import type { EventSource, FeedEvent } from './events.js';
import type { ExperimentView } from './fault-views.js';
import type { TimelineEntry } from './fault-timeline.js';

export const REPORTS_DIR = 'reports';
/** after the last window: the sample of its last second has landed */
export const REPORT_MARGIN_MS = 2500;

export interface ReportSummary {
  id: string;
  experiment: string;
  state: string;
  startedAt: string;
  endedAt: string | null;
  generatedAt: string;
  abort: string | null;
  /** impact rows with a significant change against the control */
  significant: number;
  /** steady-state verdicts that were violated */
  violated: number;
}

export interface ReportFaults {
  getExperiment(id: string): ExperimentView;
  timelineEntries(filter: { experiment: string }): TimelineEntry[];
}

export interface ReportServiceOptions {
  /** run_dir; null: reports kept in memory only */
  runDir: string | null;
  keep: () => number;
  enabled: () => boolean;
  faults: ReportFaults;
  store: SeriesStore;
  events: EventSource;
  roles: () => PortRoles;
  logger: Logger;
  /** bootstrap iterations (tests may lower it); default 2000 */
  iterations?: number;
}

export interface ReportOperations {
  list(filter?: { experiment?: string }): ReportSummary[];
  get(id: string): ExperimentReport;
  html(id: string): string;
}

export function summaryOf(r: ExperimentReport): ReportSummary {
  return {
    id: r.id,
    experiment: r.experiment,
    state: r.state,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    generatedAt: r.generatedAt,
    abort: r.abort?.reason ?? null,
    significant: r.impact.rows.filter((x) => x.vsControl?.significant).length,
    violated: r.hypothesis.reduce((n, c) => n + c.steps.reduce((m, s) => m + s.windows.filter((w) => w.verdict === 'violated').length, 0), 0),
  };
}

export class ReportService implements ReportOperations {
  private readonly dir: string | null;
  private readonly memory = new Map<string, { report: ExperimentReport; html: string }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters: { experiment: string; resolve: (s: ReportSummary) => void }[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: ReportServiceOptions) {
    this.dir = o.runDir ? join(o.runDir, REPORTS_DIR) : null;
    this.unsubscribe = o.events.subscribe((e) => this.onEvent(e));
  }

  private onEvent(e: FeedEvent): void {
    if (e.type !== 'experiment' || !this.o.enabled()) return;
    const state = e.data['state'];
    const id = e.data['id'];
    if (typeof id !== 'string' || (state !== 'completed' && state !== 'stopped' && state !== 'aborted')) return;
    this.schedule(id);
  }

  /** Write the experiment's report once its last window has passed. */
  schedule(experiment: string): void {
    let when: number;
    try {
      const view = this.o.faults.getExperiment(experiment);
      const c = checkExperiment(view.experiment);
      if (!c.experiment) return;
      when = readyAt(view, c.experiment) + REPORT_MARGIN_MS;
    } catch (err) {
      this.o.logger.warn({ err, experiment }, 'no report: the experiment cannot be read');
      return;
    }
    const old = this.timers.get(experiment);
    if (old) clearTimeout(old);
    const t = setTimeout(() => {
      this.timers.delete(experiment);
      try {
        this.generate(experiment);
      } catch (err) {
        this.o.logger.error({ err, experiment }, 'writing the experiment report failed');
      }
    }, Math.max(0, when - Date.now()));
    t.unref?.();
    this.timers.set(experiment, t);
  }

  /** Build and store the report of an experiment that ran, now. */
  generate(experiment: string): ReportSummary {
    const view = this.o.faults.getExperiment(experiment);
    if (!view.startedAt) throw stError('ST_ERR_CONFLICT', `experiment ${experiment} never ran: there is nothing to report`, { field: 'id' });
    const c = checkExperiment(view.experiment);
    if (!c.experiment) throw stError('ST_ERR_INTERNAL', `experiment ${experiment} does not check: ${c.problems[0]?.path}: ${c.problems[0]?.message}`);
    const alerts: AlertMark[] = this.o.events.since(0).filter((e) => e.type === 'alert').map((e) => ({
      at: typeof e.data['at'] === 'string' ? e.data['at'] : e.at,
      rule: String(e.data['rule'] ?? ''),
      state: String(e.data['state'] ?? ''),
      severity: String(e.data['severity'] ?? ''),
    }));
    const report = buildReport({
      view,
      checked: c.experiment,
      timeline: this.o.faults.timelineEntries({ experiment }),
      alerts,
      store: this.o.store,
      roles: this.o.roles(),
      ...(this.o.iterations ? { iterations: this.o.iterations } : {}),
    });
    const html = renderReport(report);
    this.store(report, html);
    const summary = summaryOf(report);
    this.o.logger.info({ report: report.id, significant: summary.significant, violated: summary.violated }, `experiment report ${report.id} written`);
    const waiting = this.waiters.filter((w) => w.experiment === experiment);
    this.waiters.splice(0, this.waiters.length, ...this.waiters.filter((w) => w.experiment !== experiment));
    for (const w of waiting) w.resolve(summary);
    return summary;
  }

  /** The next report written for `experiment` (tests, CLI). */
  next(experiment: string): Promise<ReportSummary> {
    return new Promise((resolve) => this.waiters.push({ experiment, resolve }));
  }

  private store(report: ExperimentReport, html: string): void {
    if (!this.dir) {
      this.memory.set(report.id, { report, html });
      const ids = [...this.memory.values()].sort((a, b) => a.report.generatedAt.localeCompare(b.report.generatedAt)).map((x) => x.report.id);
      for (const id of ids.slice(0, Math.max(0, ids.length - this.o.keep()))) this.memory.delete(id);
      return;
    }
    mkdirSync(this.dir, { recursive: true });
    // atomically: a reader never sees half a report
    for (const [ext, text] of [['html', html], ['json', JSON.stringify(report)]] as const) {
      const path = join(this.dir, `${report.id}.${ext}`);
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
    }
    this.prune();
  }

  private files(): { id: string; mtime: number }[] {
    if (!this.dir) return [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.json')).map((n) => ({ id: n.slice(0, -5), mtime: statSync(join(this.dir!, n)).mtimeMs })).sort((a, b) => b.mtime - a.mtime || b.id.localeCompare(a.id));
  }

  private prune(): void {
    for (const f of this.files().slice(this.o.keep())) {
      for (const ext of ['json', 'html']) rmSync(join(this.dir!, `${f.id}.${ext}`), { force: true });
    }
  }

  private all(): ExperimentReport[] {
    if (!this.dir) return [...this.memory.values()].map((x) => x.report).sort((a, b) => b.generatedAt.localeCompare(a.generatedAt));
    return this.files().flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(join(this.dir!, `${f.id}.json`), 'utf8')) as ExperimentReport];
      } catch {
        return [];
      }
    });
  }

  list(filter: { experiment?: string } = {}): ReportSummary[] {
    return this.all().filter((r) => filter.experiment === undefined || r.experiment === filter.experiment).map(summaryOf);
  }

  /** A report by its id, or the newest of an experiment by the experiment's id. */
  get(id: string): ExperimentReport {
    const all = this.all();
    const r = all.find((x) => x.id === id) ?? all.find((x) => x.experiment === id);
    if (!r) throw stError('ST_ERR_NOT_FOUND', `no report "${id}"; ${all.length ? `expected a report id or an experiment id, e.g. ${all.slice(0, 5).map((x) => x.id).join(', ')}` : 'there are none yet (a report is written when an experiment ends)'}`, { field: 'id' });
    return r;
  }

  html(id: string): string {
    const r = this.get(id);
    if (!this.dir) return this.memory.get(r.id)?.html ?? renderReport(r);
    try {
      return readFileSync(join(this.dir, `${r.id}.html`), 'utf8');
    } catch {
      return renderReport(r);
    }
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
