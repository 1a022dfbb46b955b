/**
 * What the fault service is given: the data plane (the lifecycle), the
 * configuration and policy in force, where to save, what to start with.
 */
import type { Config } from '../config/schema.js';
import type { FaultContext } from '../faults/check.js';
import { FAULT_LINE as NATIVE_FAULT_LINE, type NativeFaultTable } from '../faults/native-types.js';
import type { ArmedFault } from '../offload/plan-schema.js';
import type { PolicyReport } from '../policy/compile.js';
import type { DataplaneState } from './dataplane.js';
import type { Logger } from 'pino';

/**
 * The delay line the data plane gives each worker, as the checks size
 * faults against it: packets per second it is sized for, packets it holds,
 * the reordering wheel's reach.
 */
export const FAULT_LINE: FaultContext['line'] = NATIVE_FAULT_LINE;

/** Stop conditions are checked on snapshots at least this often while one is armed. */
export const CONDITION_POLL_MS = 100;

/** What the service needs of the data plane (the lifecycle). */
export interface FaultDataplane {
  readonly state: DataplaneState;
  /** install a fault table (RCU swap); absent in a data plane without the fault stage */
  setFaults?(table: NativeFaultTable): Promise<{ generation: number; warnings: string[] }>;
  /** poll stats at least every `ms` until the returned function is called */
  pollEvery?(ms: number): () => void;
}

export interface FaultEventSink {
  publish(type: 'fault' | 'experiment', data: Record<string, unknown>): unknown;
}

/** The checks' view of the configuration and policy in force. */
export function faultContext(config: Config, plan: Pick<PolicyReport, 'sessions'>): FaultContext {
  return {
    ports: config.ports.map((p) => ({ name: p.name, role: p.role })),
    sessions: new Map(plan.sessions.map((s) => [s.id, s.slot])),
    maps: [...config.translate.ipv4, ...config.translate.ipv6].map((m) => ({ from: m.from, to: m.to })),
    line: FAULT_LINE,
  };
}

export interface FaultServiceOptions {
  dataplane: FaultDataplane;
  /** ports, sessions, maps in force, read at every check */
  context: () => FaultContext;
  /** plan indexes of the shadow ports (stop conditions) */
  shadowPorts: () => number[];
  logger: Logger;
  events?: FaultEventSink;
  /** <run_dir>/state; null: nothing saved (tests) */
  stateDir: string | null;
  /** the configuration file's `faults` section */
  configFaults?: unknown[];
  /** move an unusable saved state aside instead of refusing to start */
  discardState?: boolean;
  /**
   * Told which faults are (about to be) armed, before a table that arms more
   * is installed and after one that disarms some: the offload planner keeps
   * the sessions they may match off the all-hardware path, whose copies
   * would bypass the impair stage (OffloadService.holdForFaults).
   */
  placement?: (faults: ArmedFault[]) => Promise<void>;
  /** experiments may run command hooks (config fault_hooks.commands); default false */
  allowHookCommands?: () => boolean;
}

