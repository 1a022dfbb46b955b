/**
 * The desired state of fault injection, kept under <run_dir>/state/faults.json
 * so faults and experiments survive a restart of shadowtap: every fault and
 * experiment as it was given, its version, and whether (and since when) it
 * runs. What is armed is not stored: it follows from the schedules and the
 * time, and is worked out again at start-up. Written atomically like the
 * policy state (temporary file, fsync, rename).
 *
 * The file records a hash of the configuration file's `faults` section:
 * when the operator has since edited that section, the file wins (its
 * faults replace the saved ones), as for the policy.
 */
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { stError, sysReason } from '../errors.js';
import type { Experiment } from '../faults/experiment.js';
import type { Fault } from '../faults/schema.js';
import { prepareFileAtomic, type PreparedWrite } from './policy-state.js';

export const FAULT_STATE_KIND = 'shadowtap.faults-state/v1';
export const FAULT_STATE_FILE = 'faults.json';

export interface StoredFault {
  doc: Fault;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** the experiment it belongs to, or null */
  owner: string | null;
  slot: number;
  /** started: its schedule runs from anchorMs (ms since the epoch); null: idle */
  run: { anchorMs: number } | null;
}

export interface StoredExperiment {
  doc: Experiment;
  version: number;
  createdAt: string;
  updatedAt: string;
  run: {
    startedMs: number;
    state: 'running' | 'completed' | 'stopped' | 'aborted';
    endedMs: number | null;
    abort: AbortRecord | null;
  } | null;
}

export interface AbortRecord {
  reason: string;
  condition: string;
  value: number;
  /** the stats snapshot that crossed the threshold was read then (ms since the epoch) */
  crossedMs: number;
  /** the supervisor saw it */
  detectedMs: number;
  /** every fault of the experiment was disarmed (the data plane answered); null until then */
  disarmedMs: number | null;
}

export interface FaultState {
  kind: typeof FAULT_STATE_KIND;
  savedAt: string;
  baseHash: string | null;
  /** decimal: the seed of faults and experiments that give none */
  seed: string;
  faults: StoredFault[];
  experiments: StoredExperiment[];
}

export const faultStatePath = (stateDir: string): string => join(stateDir, FAULT_STATE_FILE);

export function prepareFaultState(stateDir: string, state: Omit<FaultState, 'kind' | 'savedAt'>): PreparedWrite {
  const full: FaultState = { kind: FAULT_STATE_KIND, savedAt: new Date().toISOString(), ...state };
  const path = faultStatePath(stateDir);
  const fail = (err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    return stError('ST_ERR_STATE_SAVE', `cannot save the faults to ${path}: ${sysReason(e)}; nothing was changed`, { errnum: typeof e.errno === 'number' ? -e.errno : 0, cause: err });
  };
  let prepared: PreparedWrite;
  try {
    prepared = prepareFileAtomic(path, `${JSON.stringify(full, null, 2)}\n`);
  } catch (err) {
    throw fail(err);
  }
  return {
    commit() {
      try {
        prepared.commit();
      } catch (err) {
        prepared.abort();
        throw fail(err);
      }
    },
    abort: () => prepared.abort(),
  };
}

/** The saved state, null when there is none; an unusable file is a problem (the caller decides). */
export function loadFaultState(stateDir: string): { state: FaultState | null; problem?: string } {
  const path = faultStatePath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: null };
    return { state: null, problem: `cannot read ${path}: ${sysReason(err)}` };
  }
  let v: FaultState;
  try {
    v = JSON.parse(text) as FaultState;
  } catch (err) {
    return { state: null, problem: `${path} is not valid JSON (${text.length} bytes): ${(err as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || v.kind !== FAULT_STATE_KIND || !Array.isArray(v.faults) || !Array.isArray(v.experiments) || typeof v.seed !== 'string' || !/^[0-9]{1,20}$/.test(v.seed)) {
    return { state: null, problem: `${path} is not a ${FAULT_STATE_KIND} file (expected "kind": "${FAULT_STATE_KIND}", a "seed", "faults" and "experiments")` };
  }
  return { state: v };
}

/** Move the state file aside (faults.json.discarded-<time>); returns where it went. */
export function discardFaultState(stateDir: string): string {
  const from = faultStatePath(stateDir);
  const to = `${from}.discarded-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '(no file)';
    throw stError('ST_ERR_STATE_CORRUPT', `cannot move ${from} aside to ${to}: ${sysReason(err)}`, { field: 'run_dir', cause: err });
  }
  return to;
}
