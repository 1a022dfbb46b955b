/**
 * The data-plane process's own CPU time and memory, read from
 * /proc/<pid>/stat and /proc/<pid>/status (the supervisor's process
 * metrics describe Node, not the data plane). CPU time is carried across
 * restarts like the packet counters: a dead child's last reading goes into a
 * base, so the counter never goes backwards.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessUsage {
  /** user + system CPU seconds of every data-plane process so far */
  cpuSeconds: number;
  /** resident set size of the current data-plane process, bytes (0 when none runs) */
  residentBytes: number;
  /** whether the current process could be read */
  live: boolean;
}

let clockTicks: number | null = null;

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat. */
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100; // every Linux architecture Node runs on
    }
  }
  return clockTicks;
}

/** One reading of a process, or null when it is gone or unreadable. */
export function readProcess(pid: number): { cpuSeconds: number; residentBytes: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime 15.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return { cpuSeconds: (utime + stime) / ticksPerSecond(), residentBytes: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return null;
  }
}

export class ProcessUsageTotals {
  private base = 0;
  private last: { pid: number; cpuSeconds: number } | null = null;

  /** Read the current child (at every poll and scrape). */
  sample(pid: number | null): ProcessUsage {
    const r = pid === null ? null : readProcess(pid);
    if (r && pid !== null) {
      // A reading never goes backwards for one process; keep the larger.
      if (this.last && this.last.pid !== pid) this.childGone();
      this.last = { pid, cpuSeconds: Math.max(r.cpuSeconds, this.last?.pid === pid ? this.last.cpuSeconds : 0) };
    }
    return { cpuSeconds: this.base + (this.last?.cpuSeconds ?? 0), residentBytes: r?.residentBytes ?? 0, live: r !== null };
  }

  /** The child exited: its last reading becomes part of the base. */
  childGone(): void {
    if (this.last) this.base += this.last.cpuSeconds;
    this.last = null;
  }
}
