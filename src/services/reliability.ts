/**
 * The reliability service (issue 10; docs/reliability.md): what happens when
 * the data plane dies on a packet.
 *
 * - flight recorder: every child gets a recorder file under
 *   run_dir/flight/<file-prefix>; after an unexpected exit the service reads
 *   it (src/reliability/flight.ts) and, when a worker took the signal, makes a
 *   crash report: when, signal, worker, stage, a summary of the packet, and
 *   the packet itself saved to run_dir/crashes/<time>-<stage>.pcap;
 * - quarantine: the crashed packet's signature (length and CRC32-C of its
 *   first 128 bytes) goes to the next data plane with the start plan, which
 *   forwards matching packets to production with no shadow work until the
 *   entry expires (reliability.quarantine_s);
 * - crash loop: reliability.crash_loop.crashes unexpected exits within
 *   window_s switch the data plane to forward-only (no shadow work at all),
 *   kept across restarts until an operator clears it (clearForwardOnly).
 * Events: 'crash' (the report), 'quarantine', 'forwardOnly'.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { NativeStartPlan, NativeQuarantine } from '../dataplane/native-types.js';
import { stError } from '../errors.js';
import { writePcap } from '../pcap/pcap.js';
import { readFlightCrash, summarizeFrame, type FlightCrash } from '../reliability/flight.js';
import type { DataplaneHandle } from './dataplane.js';

export interface CrashReport {
  id: number;
  at: string;
  pid: number;
  signal: string;
  stage: string;
  worker: number | null;
  lcore: number | null;
  faultAddress: string;
  /** one line about the packet the worker was on; null: it was between packets */
  packet: string | null;
  /** the saved packet (a pcap file), or null */
  capture: string | null;
  /** "len:crc" of the quarantined signature, or null */
  signature: string | null;
  /** the interruption of production it caused: crash to the next data plane's workers running, ms (null until known) */
  outageMs: number | null;
}

export interface QuarantineEntry {
  signature: string;
  len: number;
  crc: number;
  /** ms since the epoch */
  until: number;
  crash: number;
}

export interface ReliabilityView {
  forwardOnly: { on: boolean; since: string | null; reason: string | null };
  quarantine: Array<Omit<QuarantineEntry, 'until'> & { until: string }>;
  crashes: CrashReport[];
  /** unexpected exits in the crash-loop window now */
  recentCrashes: number;
  settings: Config['reliability'];
}

/** What the reliability service reports to /metrics. */
export interface ReliabilityStats {
  crashesByStage: Record<string, number>;
  quarantineEntries: number;
  forwardOnly: boolean;
  /** the last crash's interruption of production, ms; null: no crash yet */
  lastOutageMs: number | null;
}

/** What the API reaches (GET /v1/reliability, POST /v1/reliability/forward-only/clear). */
export interface ReliabilityOperations {
  view(): ReliabilityView;
  clearForwardOnly(): Promise<ReliabilityView>;
}

export interface ReliabilityEvents {
  crash: [CrashReport];
  quarantine: [QuarantineEntry];
  forwardOnly: [{ on: boolean; reason: string }];
}

export interface ReliabilityServiceOptions {
  dataplane: DataplaneHandle & { child: { alive: boolean; forwardOnly(on: boolean, timeoutMs: number): Promise<void> } | null };
  /** the configuration in force (its reliability section) */
  config: () => Config;
  /** where flight/ and crashes/ go; null: no recorder (tests that do not ask for one) */
  runDir: string | null;
  logger: Logger;
}

const MAX_REPORTS = 100;

export class ReliabilityService extends EventEmitter<ReliabilityEvents> implements ReliabilityOperations {
  private readonly dataplane: ReliabilityServiceOptions['dataplane'];
  private readonly config: () => Config;
  private readonly runDir: string | null;
  private readonly logger: Logger;
  private readonly reports: CrashReport[] = [];
  private readonly quarantineList: QuarantineEntry[] = [];
  /** times (ms) of recent unexpected exits */
  private recent: number[] = [];
  private forward: { on: boolean; since: number | null; reason: string | null } = { on: false, since: null, reason: null };
  private nextId = 1;
  /** the crash whose outage the next ready closes */
  private pendingOutage: { report: CrashReport | null; crashedAt: number } | null = null;
  /** crashes per stage, for /metrics */
  readonly crashCounts = new Map<string, number>();
  private lastOutageMs: number | null = null;

  constructor(o: ReliabilityServiceOptions) {
    super();
    this.dataplane = o.dataplane;
    this.config = o.config;
    this.runDir = o.runDir;
    this.logger = o.logger;
  }

  private flightReady = false;

  private get settings(): Config['reliability'] {
    return this.config().reliability;
  }

  /** What a start plan gets: the recorder's file, the live quarantine, forward-only. */
  startExtras(filePrefix: string): Partial<NativeStartPlan> {
    const out: Partial<NativeStartPlan> = {};
    if (this.runDir && this.settings.flight_recorder) {
      const dir = join(this.runDir, 'flight');
      if (!this.flightReady) {
        // Recorders of an earlier run's children: nothing to report any more.
        // (The run directory is ours by now: the pid file was claimed.)
        rmSync(dir, { recursive: true, force: true });
        this.flightReady = true;
      }
      mkdirSync(dir, { recursive: true });
      out.flightPath = join(dir, filePrefix);
    }
    const now = Date.now();
    const live = this.quarantineList.filter((q) => q.until > now);
    if (live.length > 0) out.quarantine = live.map((q): NativeQuarantine => ({ len: q.len, crc: q.crc, ttlMs: q.until - now }));
    if (this.forward.on) out.forwardOnly = true;
    return out;
  }

  /** A child exited. Unexpected exits are crashes: read its recorder, quarantine, count. */
  childExited(e: { pid: number; code: number | null; signal: string | null; expected: boolean; filePrefix: string }): void {
    const path = this.runDir ? join(this.runDir, 'flight', e.filePrefix) : null;
    if (e.expected) {
      if (path) rmSync(path, { force: true });
      return;
    }
    const now = Date.now();
    const crash = path ? readFlightCrash(path) : null;
    if (path) rmSync(path, { force: true });
    const report = crash ? this.report(crash) : null;
    this.pendingOutage = { report, crashedAt: crash ? crash.time.getTime() : now };
    const s = this.settings;
    this.recent = [...this.recent.filter((t) => now - t < s.crash_loop.window_s * 1000), now];
    if (!this.forward.on && this.recent.length >= s.crash_loop.crashes) {
      const reason = `${this.recent.length} data-plane crashes within ${s.crash_loop.window_s} s (reliability.crash_loop)`;
      this.forward = { on: true, since: now, reason };
      this.logger.error({ crashes: this.recent.length }, `crash loop: the data plane runs forward-only (no shadow work) until an operator clears it: ${reason}`);
      this.emit('forwardOnly', { on: true, reason });
    }
  }

  /** The next data plane runs: the outage of the crash before it is known. */
  childReady(e: { launchedAt: number }): void {
    const p = this.pendingOutage;
    this.pendingOutage = null;
    if (!p) return;
    const ms = Math.max(0, e.launchedAt - p.crashedAt);
    this.lastOutageMs = ms;
    if (p.report) p.report.outageMs = ms;
    this.logger.info({ outageMs: ms }, `production forwarding resumed ${ms} ms after the crash`);
  }

  private report(c: FlightCrash): CrashReport {
    const id = this.nextId++;
    let capture: string | null = null;
    let signature: string | null = null;
    if (c.packet) {
      signature = `${c.packet.signature.len}:${c.packet.signature.crc.toString(16).padStart(8, '0')}`;
      if (this.runDir) {
        const dir = join(this.runDir, 'crashes');
        mkdirSync(dir, { recursive: true });
        capture = join(dir, `${c.time.toISOString().replace(/[:.]/g, '-')}-${c.stage}-${id}.pcap`);
        writePcap(capture, [{ data: c.packet.data, origLen: Math.max(c.packet.pktLen, c.packet.data.length), tsSec: Math.floor(c.time.getTime() / 1000), tsUsec: (c.time.getTime() % 1000) * 1000 }]);
        this.pruneCaptures(dir);
      }
      const q = this.settings.quarantine_s;
      if (q > 0) {
        const entry: QuarantineEntry = { signature, len: c.packet.signature.len, crc: c.packet.signature.crc, until: Date.now() + q * 1000, crash: id };
        const same = this.quarantineList.findIndex((e) => e.signature === signature);
        if (same >= 0) this.quarantineList.splice(same, 1);
        this.quarantineList.push(entry);
        // The native table holds 64; the oldest go first.
        while (this.quarantineList.length > 64) this.quarantineList.shift();
        this.logger.warn({ signature, seconds: q }, 'packets with the crashed packet\'s signature skip all shadow work (quarantine)');
        this.emit('quarantine', entry);
      }
    }
    const report: CrashReport = {
      id,
      at: c.time.toISOString(),
      pid: c.pid,
      signal: c.signalName,
      stage: c.stage,
      worker: c.worker,
      lcore: c.lcore,
      faultAddress: c.faultAddress,
      packet: c.packet ? summarizeFrame(c.packet.data, c.packet.pktLen) : null,
      capture,
      signature,
      outageMs: null,
    };
    this.reports.push(report);
    while (this.reports.length > MAX_REPORTS) this.reports.shift();
    this.crashCounts.set(c.stage, (this.crashCounts.get(c.stage) ?? 0) + 1);
    this.logger.error({ crash: report }, `the data plane died on ${report.signal} in stage ${report.stage}${report.packet ? ` working on: ${report.packet}` : ''}${capture ? ` (saved to ${capture})` : ''}`);
    this.emit('crash', report);
    return report;
  }

  /** Keep the newest 100 saved packets. */
  private pruneCaptures(dir: string): void {
    const files = readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort();
    for (const f of files.slice(0, Math.max(0, files.length - MAX_REPORTS))) rmSync(join(dir, f), { force: true });
  }

  /** Clear forward-only: shadow work resumes in the running data plane (and in every later start). */
  async clearForwardOnly(): Promise<ReliabilityView> {
    if (!this.forward.on) return this.view();
    if (this.dataplane.state === 'starting') throw stError('ST_ERR_BUSY', 'the data plane is starting; retry once it runs');
    // Cleared first: every later start is without it, whatever the running
    // data plane does with the news.
    this.forward = { on: false, since: null, reason: null };
    this.recent = [];
    this.logger.warn('forward-only cleared by an operator: shadow work resumes');
    this.emit('forwardOnly', { on: false, reason: 'cleared by an operator' });
    const child = this.dataplane.child;
    if (this.dataplane.state === 'running' && child) {
      try {
        await child.forwardOnly(false, this.dataplane.requestTimeoutMs);
      } catch (err) {
        // A data plane that died meanwhile restarts without forward-only.
        if (child.alive) throw err;
      }
    }
    return this.view();
  }

  get forwardOnly(): boolean {
    return this.forward.on;
  }

  get outageMs(): number | null {
    return this.lastOutageMs;
  }

  view(): ReliabilityView {
    const now = Date.now();
    return {
      forwardOnly: { on: this.forward.on, since: this.forward.since ? new Date(this.forward.since).toISOString() : null, reason: this.forward.reason },
      quarantine: this.quarantineList.filter((q) => q.until > now).map((q) => ({ ...q, until: new Date(q.until).toISOString() })),
      crashes: [...this.reports],
      recentCrashes: this.recent.filter((t) => now - t < this.settings.crash_loop.window_s * 1000).length,
      settings: this.settings,
    };
  }
}
