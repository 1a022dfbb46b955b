/**
 * Messages between the supervisor and the data-plane host child process
 * (child_process.fork with serialization: 'advanced', so Uint8Array crosses).
 */
import type { NativePlan, NativePolicy, NativePolicyStats, NativePortInfo, NativeStats } from './native-types.js';

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
  | { type: 'stop'; id: number };

export type FromHost =
  | { type: 'hello'; pid: number; version: string }
  | { type: 'started'; id: number; ports: NativePortInfo[] }
  | { type: 'stats'; id: number; stats: NativeStats }
  | { type: 'stopped'; id: number }
  | { type: 'policyInstalled'; id: number; generation: number; applyMs: number }
  | { type: 'policyStats'; id: number; stats: NativePolicyStats }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; data?: Record<string, unknown> };
