/**
 * The exact timeline of fault injection: every activation, deactivation,
 * start, stop, abort and VM hook, with its timestamps, kept by the
 * supervisor (GET /v1/faults/timeline, GET /v1/experiments/:id/timeline).
 *
 * `at` is when the change took effect: when the data plane answered the
 * fault-table install that made it (or, when no data plane was running,
 * when it was decided: `applied` false). `due` is when the schedule, the
 * step or the stop condition asked for it; `at - due` is the supervisor's
 * own lateness, there for anyone to check.
 *
 * Entries are appended to <run_dir>/state/faults-timeline.jsonl (one JSON
 * line each, O_APPEND), so the timeline survives a restart of shadowtap; the
 * last `keep` are held in memory.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export const TIMELINE_TYPES = ['created', 'updated', 'deleted', 'start', 'stop', 'activate', 'deactivate', 'abort', 'complete', 'hook', 'error'] as const;
export type TimelineType = (typeof TIMELINE_TYPES)[number];

export interface TimelineEntry {
  /** increases by one per entry (continues across restarts) */
  seq: number;
  type: TimelineType;
  /** ISO time with milliseconds; atMs the same in ms since the epoch */
  at: string;
  atMs: number;
  /** when it was asked for (schedule boundary, stop-condition crossing, request), ms since the epoch */
  dueMs: number;
  fault?: string;
  experiment?: string;
  /** the experiment step (0-based) */
  step?: number;
  /** the fault-table generation installed, when the entry came with an install */
  generation?: number;
  /** false: decided while no data plane ran (it gets the table when it starts) */
  applied?: boolean;
  reason: string;
  /** hook outcome, abort details */
  detail?: Record<string, unknown>;
}

export class FaultTimeline {
  private readonly entries: TimelineEntry[] = [];
  private next = 1;
  private failed = false;

  constructor(
    private readonly file: string | null,
    private readonly logger: Logger,
    private readonly keep = 10_000,
  ) {
    if (!file) return;
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err, file }, 'cannot read the fault timeline; it starts empty');
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const e = JSON.parse(line) as TimelineEntry;
        if (typeof e.seq !== 'number' || typeof e.type !== 'string' || typeof e.atMs !== 'number') continue;
        this.entries.push(e);
        this.next = Math.max(this.next, e.seq + 1);
      } catch {
        // a line cut by a crash mid-write: skipped
      }
    }
    if (this.entries.length > keep) this.entries.splice(0, this.entries.length - keep);
  }

  record(e: Omit<TimelineEntry, 'seq' | 'at' | 'atMs' | 'dueMs'> & { atMs?: number; dueMs?: number }): TimelineEntry {
    const atMs = e.atMs ?? Date.now();
    const entry: TimelineEntry = { seq: this.next++, ...e, atMs, at: new Date(atMs).toISOString(), dueMs: e.dueMs ?? atMs };
    this.entries.push(entry);
    if (this.entries.length > this.keep) this.entries.shift();
    this.logger.info({ timeline: entry }, `fault timeline: ${entry.type}${entry.fault ? ` ${entry.fault}` : ''}${entry.experiment ? ` (experiment ${entry.experiment})` : ''}: ${entry.reason}`);
    if (this.file) {
      try {
        mkdirSync(dirname(this.file), { recursive: true });
        appendFileSync(this.file, `${JSON.stringify(entry)}\n`, { mode: 0o640 });
        this.failed = false;
      } catch (err) {
        if (!this.failed) this.logger.error({ err, file: this.file }, 'cannot append to the fault timeline file; entries are kept in memory only');
        this.failed = true;
      }
    }
    return entry;
  }

  /** Entries oldest first, optionally only those after `afterSeq` and of one fault or experiment. */
  list(filter: { after?: number; fault?: string; experiment?: string; limit?: number } = {}): TimelineEntry[] {
    let out = this.entries.filter(
      (e) => e.seq > (filter.after ?? 0) && (filter.fault === undefined || e.fault === filter.fault) && (filter.experiment === undefined || e.experiment === filter.experiment),
    );
    if (filter.limit !== undefined && out.length > filter.limit) out = out.slice(out.length - filter.limit);
    return out;
  }
}
