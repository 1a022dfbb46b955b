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
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  const tmp = join(dir, `.${STATE_FILE}.${process.pid}.${Date.now()}.tmp`);
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

/** The saved state, or null when there is none; a corrupt file is reported, not thrown. */
export function loadPolicyState(stateDir: string): { state: PolicyState | null; problem?: string } {
  let text: string;
  try {
    text = readFileSync(statePath(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: null };
    return { state: null, problem: `cannot read ${statePath(stateDir)}: ${(err as Error).message}` };
  }
  try {
    const v = JSON.parse(text) as PolicyState;
    if (v?.kind !== STATE_KIND || typeof v.policy !== 'object' || v.policy === null) {
      return { state: null, problem: `${statePath(stateDir)} is not a ${STATE_KIND} file` };
    }
    return { state: v };
  } catch (err) {
    return { state: null, problem: `${statePath(stateDir)} is not valid JSON: ${(err as Error).message}` };
  }
}
