/**
 * The CLI's pino logger: JSON lines by default (for journald and log
 * shippers), or a small human format with --log-format pretty. Writes are
 * synchronous so nothing is lost when the process exits right after a log.
 */
import { writeSync } from 'node:fs';
import { format } from 'node:util';
import pino, { type Level, type Logger } from 'pino';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

function renderValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v instanceof Object) return JSON.stringify(v);
  return String(v);
}

/** One JSON log line → "12:00:01.123 INFO  message key=value ...". */
export function prettyLine(line: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof rec['time'] === 'number' ? new Date(rec['time']).toISOString().slice(11, 23) : '';
  const levelNum = typeof rec['level'] === 'number' ? rec['level'] : 30;
  let level = (LEVEL_NAMES[levelNum] ?? String(levelNum)).padEnd(5);
  if (color) {
    const code = levelNum >= 50 ? 31 : levelNum >= 40 ? 33 : levelNum >= 30 ? 32 : 90;
    level = `\u001b[${code}m${level}\u001b[0m`;
  }
  const extras: string[] = [];
  let errText = '';
  for (const [k, v] of Object.entries(rec)) {
    if (HIDDEN.has(k)) continue;
    if (k === 'err' && v && typeof v === 'object') {
      const e = v as { type?: string; code?: string; message?: string; stack?: string };
      errText = `\n    ${e.code ?? e.type ?? 'Error'}: ${(e.message ?? '').replace(/\n/g, '\n    ')}`;
      continue;
    }
    extras.push(`${k}=${renderValue(v)}`);
  }
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  return `${time} ${level} ${msg}${extras.length ? `  ${extras.join(' ')}` : ''}${errText}`;
}

class PrettyStream {
  private buffered = '';
  constructor(
    private readonly fd: number,
    private readonly color: boolean,
  ) {}
  write(chunk: string): boolean {
    this.buffered += chunk;
    let nl: number;
    let out = '';
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      out += `${prettyLine(this.buffered.slice(0, nl), this.color)}\n`;
      this.buffered = this.buffered.slice(nl + 1);
    }
    if (out) writeSync(this.fd, out);
    return true;
  }
}

export function createLogger(opts: { format: LogFormat; level: Level | 'silent'; fd?: number }): Logger {
  const fd = opts.fd ?? 1;
  const base = { level: opts.level, base: { pid: process.pid } };
  if (opts.format === 'pretty') {
    const color = fd === 1 ? process.stdout.isTTY === true : process.stderr.isTTY === true;
    return pino(base, new PrettyStream(fd, color));
  }
  return pino(base, pino.destination({ dest: fd, sync: true }));
}

/** Plain text for the operator (stderr), never mixed into JSON logs on stdout. */
export function say(...args: unknown[]): void {
  process.stderr.write(`${format(...args)}\n`);
}
