/**
 * The last good policy, kept under <run_dir>/state/ so a policy changed
 * through the API survives a restart of shadowtap. Written atomically
 * (temporary file, fsync, rename, fsync of the directory): a crash leaves
 * the old file or the new one, never half of one.
 *
 * The file records a hash of the policy section of the configuration file
 * it was derived from: when the operator has since edited that section in
 * the file, the file wins (it is newer intent) and the saved state is
 * ignored.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stError, sysReason } from '../errors.js';

export const STATE_KIND = 'shadowtap.policy-state/v1';
export const STATE_FILE = 'policy.json';

export interface PolicyState {
  kind: typeof STATE_KIND;
  savedAt: string;
  generation: number;
  /** hash of the config file's policy section this state replaced (policyHash) */
  baseHash: string | null;
  policy: Record<string, unknown>;
}

/** Stable hash of a policy section: key order does not matter. */
export function policyHash(section: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canon(section))).digest('hex');
}

export interface PreparedWrite {
  /** make the new content current (rename) */
  commit(): void;
  /** forget it; the old content stays */
  abort(): void;
}

/**
 * First half of an atomic write: the new content is on disk (fsync'ed) next
 * to the file, and becomes the file only on commit(). Lets a caller make
 * sure the state can be saved before it changes anything, and keep the old
 * file if the change then fails.
 */
export function prepareFileAtomic(path: string, data: string): PreparedWrite {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w', 0o644);
    writeSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
  } catch (err) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  return {
    commit() {
      renameSync(tmp, path);
      // The rename is durable once the directory is.
      try {
        const dfd = openSync(dir, 'r');
        try {
          fsyncSync(dfd);
        } finally {
          closeSync(dfd);
        }
      } catch {
        // some filesystems refuse fsync on a directory; the rename is still atomic
      }
    },
    abort() {
      rmSync(tmp, { force: true });
    },
  };
}

/** Write `data` to `path` so that readers see the old or the new content, never a mix. */
export function writeFileAtomic(path: string, data: string): void {
  prepareFileAtomic(path, data).commit();
}

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

function saveError(stateDir: string, err: unknown) {
  const e = err as NodeJS.ErrnoException;
  return stError('ST_ERR_STATE_SAVE', `cannot save the policy to ${statePath(stateDir)}: ${sysReason(e)}`, {
    errnum: typeof e.errno === 'number' ? -e.errno : 0,
    cause: err,
  });
}

/** Stage the state file; throws ST_ERR_STATE_SAVE when it cannot be written. */
export function preparePolicyState(stateDir: string, state: Omit<PolicyState, 'kind' | 'savedAt'>): PreparedWrite {
  const full: PolicyState = { kind: STATE_KIND, savedAt: new Date().toISOString(), ...state };
  let prepared: PreparedWrite;
  try {
    prepared = prepareFileAtomic(statePath(stateDir), `${JSON.stringify(full, null, 2)}\n`);
  } catch (err) {
    throw saveError(stateDir, err);
  }
  return {
    commit() {
      try {
        prepared.commit();
      } catch (err) {
        prepared.abort();
        throw saveError(stateDir, err);
      }
    },
    abort: () => prepared.abort(),
  };
}

export function savePolicyState(stateDir: string, state: Omit<PolicyState, 'kind' | 'savedAt'>): void {
  preparePolicyState(stateDir, state).commit();
}

/**
 * The saved state, or null when there is none; a file that cannot be read,
 * parsed or is not a state file is reported (problem, with its text when it
 * could be read), not thrown: the caller decides (restorePolicy stops).
 */
export function loadPolicyState(stateDir: string): { state: PolicyState | null; problem?: string; text?: string } {
  let text: string;
  try {
    text = readFileSync(statePath(stateDir), 'utf8');
  } catch (err) {
    // ENOTDIR: run_dir is not a directory, so no state can be there (the run directory check says so).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: null };
    return { state: null, problem: `cannot read ${statePath(stateDir)}: ${sysReason(err)}` };
  }
  let v: PolicyState;
  try {
    v = JSON.parse(text) as PolicyState;
  } catch (err) {
    return { state: null, problem: `${statePath(stateDir)} is not valid JSON (${text.length} bytes): ${(err as Error).message}`, text };
  }
  if (v === null || typeof v !== 'object' || v.kind !== STATE_KIND || typeof v.policy !== 'object' || v.policy === null || Array.isArray(v.policy)) {
    return { state: null, problem: `${statePath(stateDir)} is not a ${STATE_KIND} file (expected "kind": "${STATE_KIND}" and a "policy" mapping)`, text };
  }
  return { state: v };
}

const TEMP = new RegExp(`^\\.${STATE_FILE.replace('.', '\\.')}\\.(\\d+)\\.\\d+\\.tmp$`);

/**
 * Remove temporary files that writes interrupted by a crash left behind
 * (never one of a process still alive, which may be about to rename it).
 * Returns the removed paths.
 */
export function removeStaleTemps(stateDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && pidAlive(pid)) continue;
    rmSync(join(stateDir, name), { force: true });
    removed.push(join(stateDir, name));
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Move the state file aside (policy.json.discarded-<time>); returns where it went. */
export function discardStateFile(stateDir: string): string {
  const from = statePath(stateDir);
  const to = `${from}.discarded-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '(no file)';
    throw stError('ST_ERR_STATE_CORRUPT', `cannot move ${from} aside to ${to}: ${sysReason(err)}`, { field: 'run_dir', cause: err });
  }
  return to;
}
