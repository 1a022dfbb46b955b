/**
 * Messages between the supervisor and the data-plane host child process
 * (child_process.fork with serialization: 'advanced', so Uint8Array crosses).
 */
import type { FlowRule } from '../offload/flow.js';
import type { NativeFaultTable } from '../faults/native-types.js';
import type { NativeFlowCreateResult, NativeFlowOutcome, NativeFlowProbeDef, NativeFlowProbeResult, NativeMark, NativeStartPlan, NativePolicy, NativePolicyStats, NativePortInfo, NativeStats } from './native-types.js';

export interface WireError {
  code: string;
  message: string;
  field: string;
  errnum: number;
}

export type ToHost =
  /**
   * Start the plan. A prepared host (EAL already up, no device) hot-plugs
   * `devices` first and ignores `ealArgs`; any other host initialises EAL
   * with `ealArgs` (devices included) and ignores `devices`.
   */
  | { type: 'start'; id: number; ealArgs: string[]; plan: NativeStartPlan; policy?: NativePolicy; devices?: string[]; faults?: NativeFaultTable }
  /**
   * Become a standby: EAL with no device (`ealArgs` from the standby
   * arguments) and the plan's mempools made ahead; answered by 'prepared'.
   * Its 'start' then only has to take the devices over.
   */
  | { type: 'prepare'; id: number; ealArgs: string[]; plan: NativeStartPlan }
  /** shadow work off (on: true) or back on, while running; answered by 'forwardOnlySet' */
  | { type: 'forwardOnly'; id: number; on: boolean }
  /** install a new policy while running (RCU swap); answered by 'policyInstalled' or 'error' */
  | { type: 'policy'; id: number; policy: NativePolicy }
  | { type: 'policyStats'; id: number }
  /**
   * Install a fault table (RCU swap, independent of the policy; faults: []
   * disarms); answered by 'faultsSet' or 'error' (ST_ERR_FAULT_INVALID
   * naming the field). A table given with 'start' is armed before the
   * workers launch.
   */
  | { type: 'setFaults'; id: number; table: NativeFaultTable }
  /** the applied delays one fault slot's copies were given (tests, diagnostics); answered by 'faultSamples' */
  | { type: 'faultSamples'; id: number; slot: number }
  /** counters; the answer's stats carry the fault counters (stats.faults) */
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
  /** launchedAt: the host's clock (ms since the epoch) right after the workers were launched */
  | { type: 'started'; id: number; ports: NativePortInfo[]; launchedAt?: number }
  | { type: 'prepared'; id: number }
  | { type: 'forwardOnlySet'; id: number; on: boolean }
  /** readAt: the host's clock (ms since the epoch) right after it read the counters */
  | { type: 'stats'; id: number; stats: NativeStats; readAt?: number }
  | { type: 'stopped'; id: number }
  | { type: 'policyInstalled'; id: number; generation: number; applyMs: number }
  | { type: 'policyStats'; id: number; stats: NativePolicyStats }
  | { type: 'faultsSet'; id: number; generation: number; warnings: string[] }
  | { type: 'faultSamples'; id: number; slot: number; samples: Float64Array }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'flowProbed'; id: number; port: number; results: NativeFlowProbeResult[] }
  | { type: 'flowProgrammed'; id: number; flushed: HostFlowFlushed[]; results: HostFlowCreated[] }
  | { type: 'flowStats'; id: number; counts: HostFlowCount[] }
  | { type: 'flowFlushed'; id: number; flushed: HostFlowFlushed[] }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; data?: Record<string, unknown> };

// ---- checking what arrives ---------------------------------------------------------
// Both ends check a message's envelope and the fields they use before acting on
// it: the channel carries what a process of another build (or a broken one)
// sent, and a garbage message must be refused naming the field, not fail
// somewhere later as a TypeError.

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const isId = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isStrList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isIndexList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** What is wrong with a message: the field and "expected ..., got ...". */
export interface MessageProblem {
  field: string;
  message: string;
}

const problem = (field: string, expected: string, got: unknown): MessageProblem => ({ field, message: `expected ${expected}, got ${describe(got)}` });

/** [field, check, what is expected] for the fields a request carries, by type. */
const REQUEST_FIELDS: Record<ToHost['type'], [string, (v: unknown) => boolean, string][]> = {
  start: [
    ['ealArgs', isStrList, 'an array of strings'], ['plan', isRec, 'an object'], ['policy', (v) => v === undefined || isRec(v), 'an object or nothing'],
    ['devices', (v) => v === undefined || isStrList(v), 'an array of device strings or nothing'],
    ['faults', (v) => v === undefined || isRec(v), 'a fault table or nothing'],
  ],
  prepare: [['ealArgs', isStrList, 'an array of strings'], ['plan', isRec, 'an object']],
  forwardOnly: [['on', (v) => typeof v === 'boolean', 'a boolean']],
  policy: [['policy', isRec, 'an object']],
  policyStats: [],
  setFaults: [['table', isRec, 'a fault table']],
  faultSamples: [['slot', isId, 'a fault slot']],
  stats: [],
  stop: [],
  flowProbe: [['port', isId, 'a plan port index'], ['defs', Array.isArray, 'an array']],
  flowProgram: [['flush', isIndexList, 'an array of plan port indexes'], ['rules', Array.isArray, 'an array'], ['marks', (v) => v === undefined || Array.isArray(v), 'an array or nothing']],
  flowStats: [],
  flowFlush: [['ports', isIndexList, 'an array of plan port indexes'], ['clearMarks', (v) => v === undefined || typeof v === 'boolean', 'a boolean or nothing']],
};

/** Check a request the data-plane host received; null when it can be acted on. */
export function requestProblem(msg: unknown): MessageProblem | null {
  if (!isRec(msg)) return problem('(message)', 'an object with a type and an id', msg);
  if (typeof msg['type'] !== 'string' || !Object.hasOwn(REQUEST_FIELDS, msg['type'])) {
    // "unknown request type": what a supervisor looks for to tell an older host.
    return { field: 'type', message: `unknown request type ${describe(msg['type'])}; expected one of ${Object.keys(REQUEST_FIELDS).join(', ')}` };
  }
  if (!isId(msg['id'])) return problem('id', 'a non-negative integer request id', msg['id']);
  for (const [field, ok, expected] of REQUEST_FIELDS[msg['type'] as ToHost['type']]) {
    if (!ok(msg[field])) return problem(field, expected, msg[field]);
  }
  return null;
}

/** [field, check, what is expected] for the fields the supervisor uses, by type. */
const ANSWER_FIELDS: Record<FromHost['type'], [string, (v: unknown) => boolean, string][]> = {
  hello: [['pid', isId, 'a process id'], ['version', (v) => typeof v === 'string', 'a string']],
  log: [['msg', (v) => typeof v === 'string', 'a string']],
  started: [['ports', (v) => Array.isArray(v) && v.every((p) => isRec(p) && isId(p['portId'])), 'an array of ports, each with a portId']],
  stats: [['stats', (v) => isRec(v) && Array.isArray(v['ports']) && Array.isArray(v['workers']), 'counters with ports and workers arrays']],
  stopped: [],
  prepared: [],
  forwardOnlySet: [['on', (v) => typeof v === 'boolean', 'a boolean']],
  policyInstalled: [['generation', isId, 'a policy generation']],
  policyStats: [['stats', (v) => isRec(v) && isId(v['generation']) && Array.isArray(v['sessions']), 'counters with a generation and a sessions array']],
  faultsSet: [['generation', isId, 'a fault table generation'], ['warnings', isStrList, 'an array of strings']],
  faultSamples: [['slot', isId, 'a fault slot'], ['samples', (v) => v instanceof Float64Array, 'a Float64Array']],
  error: [['error', (v) => isRec(v) && typeof v['code'] === 'string' && typeof v['message'] === 'string', 'an error with a code and a message']],
  flowProbed: [['results', Array.isArray, 'an array']],
  flowProgrammed: [['flushed', Array.isArray, 'an array'], ['results', Array.isArray, 'an array']],
  flowStats: [['counts', Array.isArray, 'an array']],
  flowFlushed: [['flushed', Array.isArray, 'an array']],
};

/** The answer each request is given when it succeeds ('error' otherwise). */
export const ANSWER_TO: Record<ToHost['type'], FromHost['type']> = {
  start: 'started', prepare: 'prepared', forwardOnly: 'forwardOnlySet', policy: 'policyInstalled', policyStats: 'policyStats', stats: 'stats', stop: 'stopped',
  setFaults: 'faultsSet', faultSamples: 'faultSamples',
  flowProbe: 'flowProbed', flowProgram: 'flowProgrammed', flowStats: 'flowStats', flowFlush: 'flowFlushed',
};

/** Check a message from the data-plane host; null when it can be acted on. */
export function answerProblem(msg: unknown): MessageProblem | null {
  if (!isRec(msg)) return problem('(message)', 'an object with a type', msg);
  if (typeof msg['type'] !== 'string' || !Object.hasOwn(ANSWER_FIELDS, msg['type'])) {
    return problem('type', `one of ${Object.keys(ANSWER_FIELDS).join(', ')}`, msg['type']);
  }
  const type = msg['type'] as FromHost['type'];
  // An 'error' about no request in particular (the addon did not load) has id 0.
  if (type !== 'hello' && type !== 'log' && !isId(msg['id'])) return problem('id', 'the id of the request answered', msg['id']);
  for (const [field, ok, expected] of ANSWER_FIELDS[type]) {
    if (!ok(msg[field])) return problem(field, expected, msg[field]);
  }
  return null;
}
