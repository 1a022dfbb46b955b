/**
 * Check a policy section against a configuration and compile it, once: the
 * one function behind validate and apply, whether it runs on the main thread
 * (`shadowtap policy validate`, start-up) or in the compile worker
 * (policy-worker.ts) for the running supervisor.
 */
import { checkPolicyUpdate, type Locator } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { ConfigProblem } from '../errors.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { PolicySlots } from '../policy/slots.js';

/** A policy that passed every check, with the configuration it makes and its compiled policy. */
export interface CheckedPolicy {
  config: Config;
  policy: CompiledPolicy;
}

export interface CheckPolicyOptions {
  /** shown in messages, e.g. the file name */
  source?: string;
  locate?: Locator;
  /** generation of the compiled policy; default 1 */
  generation?: number;
  /** the slots in force, so sessions and rules keep their counters; default fresh */
  slots?: PolicySlots;
}

/**
 * Check a policy section against the rest of a configuration (its ports,
 * shadow MACs, mode) and compile it, once. Never throws for bad input: the
 * problems carry the same paths as in a configuration file.
 */
export function checkPolicy(current: Config, section: unknown, options: CheckPolicyOptions = {}): CheckedPolicy | { problems: ConfigProblem[] } {
  const checked = checkPolicyUpdate(current, section, {
    source: options.source ?? 'policy',
    ...(options.locate ? { locate: options.locate } : {}),
    compile: { generation: options.generation ?? 1, ...(options.slots ? { slots: options.slots } : {}) },
  });
  if (!checked.config || !checked.policy) return { problems: checked.problems };
  return { config: checked.config, policy: checked.policy };
}
