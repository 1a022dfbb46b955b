/**
 * What the fault service keeps of each fault and experiment in memory: the
 * stored part (./fault-store.ts), the checked form, and for a running
 * experiment its runtime (arming counts, the stop-condition watch, VM hooks).
 */
import type { ConfigProblem } from '../errors.js';
import type { CheckedFault } from '../faults/check.js';
import type { CheckedExperiment } from '../faults/experiment.js';
import type { ConditionWatch } from './fault-conditions.js';
import type { StoredExperiment, StoredFault } from './fault-store.js';

export interface Runtime {
  /** times each fault was armed in this run (its arming epoch) */
  arms: Map<string, number>;
  watch: ConditionWatch | null;
  /** steps whose VM stop hook ran and whose start hook has not */
  vmStopped: Set<number>;
  /** steps whose VM stop hook ran in this run */
  vmRan: Set<number>;
  releasePoll: (() => void) | null;
}

export interface FaultRecord extends StoredFault {
  checked: CheckedFault;
  flags: ConfigProblem[];
  /** the last install that armed it failed: not armed again until started again */
  error: string | null;
}

export interface ExperimentRecord extends StoredExperiment {
  checked: CheckedExperiment;
  rt: Runtime | null;
}
