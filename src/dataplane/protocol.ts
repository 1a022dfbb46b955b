/**
 * Messages between the supervisor and the data-plane host child process
 * (child_process.fork with serialization: 'advanced', so Uint8Array crosses).
 */
import type { NativePlan, NativePortInfo, NativeStats } from './native-types.js';

export interface WireError {
  code: string;
  message: string;
  field: string;
  errnum: number;
}

export type ToHost =
  | { type: 'start'; id: number; ealArgs: string[]; plan: NativePlan }
  | { type: 'stats'; id: number }
  | { type: 'stop'; id: number };

export type FromHost =
  | { type: 'hello'; pid: number; version: string }
  | { type: 'started'; id: number; ports: NativePortInfo[] }
  | { type: 'stats'; id: number; stats: NativeStats }
  | { type: 'stopped'; id: number }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; data?: Record<string, unknown> };
