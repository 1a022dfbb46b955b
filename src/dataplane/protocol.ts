/**
 * Messages between the supervisor and the data-plane host child process
 * (child_process.fork with serialization: 'advanced', so Uint8Array crosses).
 */
import type { FlowRule } from '../offload/flow.js';
import type { NativeFlowCreateResult, NativeFlowOutcome, NativeFlowProbeDef, NativeFlowProbeResult, NativeMark, NativePlan, NativePolicy, NativePolicyStats, NativePortInfo, NativeStats } from './native-types.js';

export interface WireError {
  code: string;
  message: string;
  field: string;
  errnum: number;
}

export type ToHost =
  | { type: 'start'; id: number; ealArgs: string[]; plan: NativePlan; policy?: NativePolicy }
  /** install a new policy while running (RCU swap); answered by 'policyInstalled' or 'error' */
  | { type: 'policy'; id: number; policy: NativePolicy }
  | { type: 'policyStats'; id: number }
  | { type: 'stats'; id: number }
  | { type: 'stop'; id: number }
  /** rte_flow_validate of probe rules on one port (plan index; rules name plan indexes too) */
  | { type: 'flowProbe'; id: number; port: number; defs: NativeFlowProbeDef[] }
  /**
   * Install `marks` (the NIC MARKs the software path honours for this plan,
   * before any rule that sets them exists), flush `flush` ports (leftovers
   * included), then create `rules` in order; answered by 'flowProgrammed'.
   */
  | { type: 'flowProgram'; id: number; flush: number[]; rules: HostFlowRule[]; marks?: NativeMark[] }
  /** COUNT of every rule created by 'flowProgram' */
  | { type: 'flowStats'; id: number }
  /** remove every rule of these ports (plan indexes); with clearMarks, honour no MARK once every port is flushed */
  | { type: 'flowFlush'; id: number; ports: number[]; clearMarks?: boolean };

/** A rule to create, under the caller's key (the plan's rule id); ports are plan indexes. */
export interface HostFlowRule {
  key: string;
  rule: FlowRule;
  /**
   * The plan's fallback unit (`<port>/session-<id>`, `<port>/punt`). When one
   * rule of a group cannot be created, the host destroys the rules of that
   * group it already created in this request (newest first) and does not
   * attempt the rest of the group: a group is in hardware whole or not at all.
   */
  group?: string;
}

export interface HostFlowCreated extends NativeFlowCreateResult {
  key: string;
  /** created, then destroyed again because a later rule of its group failed (ok is false) */
  withdrawn?: boolean;
  /** not attempted: an earlier rule of its group failed (ok is false) */
  skipped?: boolean;
}

export interface HostFlowCount {
  key: string;
  port: number;
  ok: boolean;
  hits: number;
  bytes: number;
}

export interface HostFlowFlushed extends NativeFlowOutcome {
  port: number;
}

export type FromHost =
  | { type: 'hello'; pid: number; version: string }
  | { type: 'started'; id: number; ports: NativePortInfo[] }
  | { type: 'stats'; id: number; stats: NativeStats }
  | { type: 'stopped'; id: number }
  | { type: 'policyInstalled'; id: number; generation: number; applyMs: number }
  | { type: 'policyStats'; id: number; stats: NativePolicyStats }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'flowProbed'; id: number; port: number; results: NativeFlowProbeResult[] }
  | { type: 'flowProgrammed'; id: number; flushed: HostFlowFlushed[]; results: HostFlowCreated[] }
  | { type: 'flowStats'; id: number; counts: HostFlowCount[] }
  | { type: 'flowFlushed'; id: number; flushed: HostFlowFlushed[] }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; data?: Record<string, unknown> };
