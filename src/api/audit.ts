/**
 * The audit log: one entry per request that tries to change something
 * (accepted or refused), as a JSON line in <run_dir>/audit.jsonl and a log
 * line. Who (the token's name; "local" when the API runs without tokens on
 * loopback), what (method, route, answer, error code), when, from where, and
 * the policy generation before and after.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';

export interface AuditEntry {
  at: string;
  actor: string;
  role: string;
  address: string;
  method: string;
  url: string;
  route: string;
  status: number;
  outcome: 'changed' | 'unchanged' | 'refused';
  code?: string;
  generationBefore: number | null;
  generationAfter: number | null;
}

export class AuditLog {
  private failed = false;

  constructor(
    private readonly file: string | null,
    private readonly logger: FastifyBaseLogger,
  ) {
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  record(entry: AuditEntry): void {
    this.logger.info(
      { audit: entry },
      `audit: ${entry.actor} ${entry.method} ${entry.url} -> ${entry.status}${entry.code ? ` ${entry.code}` : ''} (generation ${entry.generationBefore ?? '-'} -> ${entry.generationAfter ?? '-'})`,
    );
    if (!this.file) return;
    try {
      // appendFileSync opens with O_APPEND: concurrent lines never interleave.
      appendFileSync(this.file, `${JSON.stringify(entry)}\n`, { mode: 0o640 });
      this.failed = false;
    } catch (err) {
      // The change is made and acknowledged; losing its audit line must be loud, once per outage.
      if (!this.failed) this.logger.error({ err, file: this.file }, 'cannot append to the audit log');
      this.failed = true;
    }
  }
}
