/**
 * The data-plane host: a child process forked by the supervisor
 * (`node dist/src/dataplane/host.js`, serialization 'advanced') that owns EAL,
 * the ports and the worker lcores. EAL can be initialised once per process,
 * so one host runs one plan: start, stats..., stop, exit.
 *
 * Exit codes: 0 after a stop (asked for, SIGTERM, or supervisor gone);
 * 2 after a failed start (everything it had started is undone first);
 * 3 when the addon cannot be loaded; 1 when a stop itself failed.
 */
import { tryLoadNative } from '../native/loader.js';
import { removeEalLeftovers } from '../supervisor/runtime-dir.js';
import { FAULT_KIND } from '../faults/native-types.js';
import { performance } from 'node:perf_hooks';
import type { FlowAction, FlowItem, FlowRule } from '../offload/flow.js';
import type { NativeBinding, NativePortInfo } from './native-types.js';
import { requestProblem, type FromHost, type HostFlowCount, type HostFlowCreated, type HostFlowFlushed, type HostFlowRule, type ToHost, type WireError } from './protocol.js';

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where this process is in its one-plan life. */
type Phase = 'idle' | 'preparing' | 'prepared' | 'starting' | 'running' | 'stopping' | 'done';

let phase: Phase = 'idle';
let ealUp = false;
let filePrefix: string | null = null;
let binding: NativeBinding | null = null;
/** Requests run one at a time, in arrival order, so a stop waits for a start. */
let queue: Promise<void> = Promise.resolve();
/**
 * Policy installs run one at a time too, but beside the request queue: a
 * compile of thousands of rules must not hold up 'stats'. A stop waits for them.
 */
let installs: Promise<void> = Promise.resolve();
/** The ports as started, in plan order: plan index -> DPDK port id. */
let startedPorts: NativePortInfo[] = [];
/** Rules this process created (key = the plan's rule id), for COUNT and removal on stop. */
const flows = new Map<string, { id: number; port: number }>();

function send(msg: FromHost): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) {
      resolve();
      return;
    }
    try {
      process.send(msg, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}

function log(level: LogLevel, msg: string, data?: Record<string, unknown>): void {
  void send(data === undefined ? { type: 'log', level, msg } : { type: 'log', level, msg, data });
}

function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const rec = err as Error & { code?: unknown; field?: unknown; errnum?: unknown };
    return {
      code: typeof rec.code === 'string' ? rec.code : 'ST_ERR_INTERNAL',
      message: err.message,
      field: typeof rec.field === 'string' ? rec.field : '',
      errnum: typeof rec.errnum === 'number' ? rec.errnum : 0,
    };
  }
  return { code: 'ST_ERR_INTERNAL', message: String(err), field: '', errnum: 0 };
}

function stateError(message: string): WireError {
  return { code: 'ST_ERR_DATAPLANE_STATE', message, field: '', errnum: 0 };
}

/** The value of --file-prefix (either spelling), or null when EAL's default is used. */
export function filePrefixOf(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--file-prefix') return args[i + 1] ?? null;
    if (a.startsWith('--file-prefix=')) return a.slice('--file-prefix='.length);
  }
  return null;
}

async function exit(code: number): Promise<never> {
  phase = 'done';
  // Give queued IPC messages a chance to leave before the channel closes.
  await new Promise((r) => setImmediate(r));
  process.exit(code);
}

/**
 * Undo everything: workers, ports, pools, EAL, and EAL's runtime directory.
 * Never throws; returns the first error met.
 */
function teardown(): unknown {
  let first: unknown = null;
  if (binding && ealUp) {
    try {
      binding.stop();
    } catch (err) {
      first ??= err;
      log('error', 'data plane stop failed', { error: toWire(err) });
    }
    try {
      binding.ealCleanup();
    } catch (err) {
      first ??= err;
      log('error', 'EAL cleanup failed', { error: toWire(err) });
    }
    ealUp = false;
  }
  // EAL leaves its runtime directory behind even after rte_eal_cleanup.
  // Only a prefix of our own is removed: the default one may be shared.
  if (filePrefix !== null && filePrefix !== 'rte') {
    const removed = removeEalLeftovers(filePrefix);
    if (removed.length > 0) log('debug', 'removed EAL runtime files', { removed });
  }
  return first;
}

/**
 * Become a standby: EAL up with no device, the plan's pools made, nothing
 * started. What a start costs is mostly this (EAL's memory set-up and the
 * pools' population: hundreds of ms), so a standby's start is short.
 */
async function onPrepare(msg: Extract<ToHost, { type: 'prepare' }>, b: NativeBinding): Promise<void> {
  if (phase !== 'idle') {
    await send({ type: 'error', id: msg.id, error: stateError(`cannot prepare: the data plane is ${phase}`) });
    return;
  }
  phase = 'preparing';
  filePrefix = filePrefixOf(msg.ealArgs);
  try {
    b.ealInit(msg.ealArgs);
    ealUp = true;
    await b.prepare(msg.plan);
  } catch (err) {
    const error = toWire(err);
    log('error', 'standby preparation failed; undoing it', { error });
    teardown();
    await send({ type: 'error', id: msg.id, error });
    return exit(2);
  }
  phase = 'prepared';
  log('info', 'standby prepared: EAL up, pools made, no device', { ealArgs: msg.ealArgs });
  await send({ type: 'prepared', id: msg.id });
}

async function onStart(msg: Extract<ToHost, { type: 'start' }>, b: NativeBinding): Promise<void> {
  if (phase !== 'idle' && phase !== 'prepared') {
    await send({ type: 'error', id: msg.id, error: stateError(`cannot start: the data plane is ${phase}; one start per process`) });
    return;
  }
  const prepared = phase === 'prepared';
  phase = 'starting';
  try {
    if (prepared) {
      // The devices the dead process held: taken over by hot-plug.
      for (const d of msg.devices ?? []) b.probeDevice(d);
      log('info', 'standby took the devices over', { devices: msg.devices ?? [] });
    } else {
      filePrefix = filePrefixOf(msg.ealArgs);
      b.ealInit(msg.ealArgs);
      ealUp = true;
      log('info', 'EAL initialised', { ealArgs: msg.ealArgs });
    }
    if (msg.policy !== undefined) {
      // Installed before setup: the workers start with it, never without it.
      const t0 = performance.now();
      await b.policyInstall(msg.policy);
      log('info', 'initial policy compiled', {
        generation: msg.policy.generation,
        sessions: msg.policy.sessions.length,
        rules: msg.policy.rules.length,
        applyMs: Math.round((performance.now() - t0) * 1000) / 1000,
      });
    }
    if (msg.faults !== undefined) {
      // Armed before the workers launch: no packet passes unimpaired.
      const r = b.faultsInstall(msg.faults);
      log('info', 'fault table armed before start', { generation: r.generation, faults: msg.faults.faults.length, warnings: r.warnings });
    }
    await b.start(msg.plan);
  } catch (err) {
    const error = toWire(err);
    log('error', 'data plane start failed; undoing what was started', { error });
    teardown();
    await send({ type: 'error', id: msg.id, error });
    return exit(2);
  }
  if (msg.faults !== undefined && msg.faults.faults.some((f) => f.kind === FAULT_KIND.link_down)) {
    // The links were set at setup: installing the same table again (same ids
    // and epochs: no fault restarts) reports per port what was done.
    try {
      const r = b.faultsInstall(msg.faults);
      log('info', 'link_down after start', { warnings: r.warnings });
    } catch (err) {
      log('warn', 'link_down report failed', { error: toWire(err) });
    }
  }
  const launchedAt = Date.now();
  phase = 'running';
  const ports = b.portList();
  startedPorts = ports;
  log('info', 'data plane running', {
    workers: msg.plan.workerLcores,
    ports: msg.plan.ports.map((p) => ({ name: p.name, device: p.device })),
  });
  await send({ type: 'started', id: msg.id, ports, launchedAt });
}

function onPolicy(msg: Extract<ToHost, { type: 'policy' }>, b: NativeBinding): void {
  if (phase !== 'running') {
    void send({ type: 'error', id: msg.id, error: stateError(`cannot install a policy: the data plane is ${phase}; give the first policy with 'start'`) });
    return;
  }
  installs = installs.then(async () => {
    if (phase !== 'running') {
      await send({ type: 'error', id: msg.id, error: stateError(`policy not installed: the data plane is ${phase}`) });
      return;
    }
    const t0 = performance.now();
    try {
      await b.policyInstall(msg.policy);
    } catch (err) {
      const error = toWire(err);
      log('warn', 'policy rejected; the running policy is unchanged', { generation: msg.policy?.generation, error });
      await send({ type: 'error', id: msg.id, error });
      return;
    }
    const applyMs = Math.round((performance.now() - t0) * 1000) / 1000;
    log('info', 'policy installed', { generation: msg.policy.generation, rules: msg.policy.rules.length, applyMs });
    await send({ type: 'policyInstalled', id: msg.id, generation: msg.policy.generation, applyMs });
  });
}

// ---- rte_flow -----------------------------------------------------------------------

/** DPDK port id of a plan index; throws naming the field when there is none. */
function dpdkPort(index: number, field: string): number {
  const p = startedPorts[index];
  if (!p) throw Object.assign(new Error(`${field}: plan port index ${index}; expected 0..${startedPorts.length - 1}`), { code: 'ST_ERR_PLAN_INVALID', field, errnum: 22 });
  return p.portId;
}

/** The rule with every port it names (plan indexes) turned into DPDK port ids. */
export function toDpdkRule(rule: FlowRule, map: (index: number, field: string) => number): FlowRule {
  const item = (it: FlowItem, f: string): FlowItem => {
    if (it.type === 'represented_port' && it.spec?.ethdev_port_id !== undefined) {
      return { ...it, spec: { ...it.spec, ethdev_port_id: map(it.spec.ethdev_port_id, `${f}.spec.ethdev_port_id`) } };
    }
    if (it.type === 'port_id' && it.spec?.id !== undefined) return { ...it, spec: { ...it.spec, id: map(it.spec.id, `${f}.spec.id`) } };
    return it;
  };
  const action = (a: FlowAction, f: string): FlowAction => {
    switch (a.type) {
      case 'port_id': return { ...a, id: map(a.id, `${f}.id`) };
      case 'represented_port': return { ...a, ethdev_port_id: map(a.ethdev_port_id, `${f}.ethdev_port_id`) };
      case 'sample': return { ...a, actions: a.actions.map((x, i) => action(x, `${f}.actions[${i}]`)) };
      default: return a;
    }
  };
  return {
    ...rule,
    port: map(rule.port, 'port'),
    pattern: rule.pattern.map((it, i) => item(it, `pattern[${i}]`)),
    actions: rule.actions.map((a, i) => action(a, `actions[${i}]`)),
  };
}

function notRunning(what: string): WireError {
  return stateError(`cannot ${what}: the data plane is ${phase}`);
}

async function flushPorts(b: NativeBinding, ports: readonly number[]): Promise<HostFlowFlushed[]> {
  const out: HostFlowFlushed[] = [];
  for (const port of ports) {
    const r = await b.flowFlush(dpdkPort(port, 'flush'));
    out.push({ ...r, port });
    if (r.ok) for (const [k, f] of flows) if (f.port === port) flows.delete(k);
  }
  return out;
}

async function onFlowProbe(msg: Extract<ToHost, { type: 'flowProbe' }>, b: NativeBinding): Promise<void> {
  if (phase !== 'running') return void (await send({ type: 'error', id: msg.id, error: notRunning('probe rte_flow') }));
  const defs = msg.defs.map((d, i) => ({ name: d.name, rule: toDpdkRule(d.rule, (x, f) => dpdkPort(x, `defs[${i}].rule.${f}`)) }));
  const results = await b.flowProbe(dpdkPort(msg.port, 'port'), defs);
  await send({ type: 'flowProbed', id: msg.id, port: msg.port, results });
}

async function onFlowProgram(msg: Extract<ToHost, { type: 'flowProgram' }>, b: NativeBinding): Promise<void> {
  if (phase !== 'running') return void (await send({ type: 'error', id: msg.id, error: notRunning('program rte_flow rules') }));
  // The software path honours the plan's MARKs before any rule sets them.
  if (msg.marks) b.marksInstall(msg.marks);
  const flushed = await flushPorts(b, msg.flush);
  const results: HostFlowCreated[] = [];
  const failedGroups = new Set<string>();
  // One at a time, in order: a later rule may rely on an earlier one (a group it jumps to).
  for (const r of msg.rules) {
    if (r.group !== undefined && failedGroups.has(r.group)) {
      results.push({ id: 0, ok: false, key: r.key, skipped: true, message: `not attempted: an earlier rule of group ${r.group} could not be created` });
      continue;
    }
    const [created] = await b.flowCreate([toDpdkRule(r.rule, (x, f) => dpdkPort(x, `rules[${r.key}].${f}`))]);
    const res = created ?? { id: 0, ok: false, errno: 5 };
    if (res.ok) flows.set(r.key, { id: res.id, port: r.rule.port });
    results.push({ ...res, key: r.key });
    if (!res.ok && r.group !== undefined) {
      failedGroups.add(r.group);
      await withdrawGroup(b, msg.rules, results, r.group, r.key);
    }
  }
  await send({ type: 'flowProgrammed', id: msg.id, flushed, results });
}

/**
 * A rule of `group` failed: destroy, newest first, the rules of that group this
 * request already created, so none of them keeps marking packets while the
 * supervisor re-plans (a stage 1 without its stage 2, or a reject rule without
 * its accepts, would change what the NIC decides).
 */
async function withdrawGroup(b: NativeBinding, rules: readonly HostFlowRule[], results: HostFlowCreated[], group: string, failedKey: string): Promise<void> {
  const keys = rules.filter((x) => x.group === group && x.key !== failedKey).map((x) => x.key);
  for (let i = results.length - 1; i >= 0; i--) {
    const res = results[i]!;
    if (!res.ok || !keys.includes(res.key)) continue;
    const f = flows.get(res.key);
    if (!f) continue;
    const [d] = await b.flowDestroy([f.id]);
    if (d?.ok) {
      flows.delete(res.key);
      results[i] = { ...res, ok: false, withdrawn: true, message: `destroyed: rule ${failedKey} of group ${group} could not be created` };
    } else {
      log('warn', 'a rule of a failed group could not be destroyed; it stays until the next flush', { key: res.key, group, errno: d?.errno, message: d?.message });
    }
  }
}

async function onFlowStats(id: number, b: NativeBinding): Promise<void> {
  if (phase !== 'running') return void (await send({ type: 'error', id, error: notRunning('query rte_flow counters') }));
  const entries = [...flows.entries()];
  const counts = entries.length > 0 ? await b.flowQuery(entries.map(([, f]) => f.id)) : [];
  const out: HostFlowCount[] = entries.map(([key, f], i) => ({ key, port: f.port, ok: counts[i]?.ok === true, hits: counts[i]?.hits ?? 0, bytes: counts[i]?.bytes ?? 0 }));
  await send({ type: 'flowStats', id, counts: out });
}

/** Remove this process's rules before the ports stop; never throws. */
async function removeFlows(b: NativeBinding): Promise<void> {
  if (flows.size === 0 || !ealUp) return;
  try {
    const res = await b.flowDestroy([...flows.values()].map((f) => f.id));
    const failed = res.filter((r) => !r.ok);
    if (failed.length > 0) log('warn', 'some rte_flow rules could not be removed', { failed });
    else log('info', 'rte_flow rules removed', { rules: res.length });
  } catch (err) {
    log('warn', 'rte_flow rules could not be removed', { error: toWire(err) });
  }
  flows.clear();
}

async function onStop(id: number): Promise<void> {
  phase = 'stopping';
  await installs;
  if (binding) await removeFlows(binding);
  const err = teardown();
  if (err !== null) {
    await send({ type: 'error', id, error: toWire(err) });
    return exit(1);
  }
  log('info', 'data plane stopped');
  await send({ type: 'stopped', id });
  return exit(0);
}

async function handle(msg: ToHost, b: NativeBinding): Promise<void> {
  if (phase === 'done' || phase === 'stopping') return;
  const bad = requestProblem(msg);
  if (bad) {
    // Answered when there is an id to answer; a supervisor waiting on it learns why.
    const raw = msg as unknown as { id?: unknown } | null;
    const id = raw !== null && typeof raw === 'object' && Number.isSafeInteger(raw.id) && (raw.id as number) >= 0 ? (raw.id as number) : 0;
    log('warn', 'refused a request the data-plane host does not understand', { field: bad.field, problem: bad.message });
    await send({ type: 'error', id, error: { code: 'ST_ERR_PROTOCOL', message: bad.message, field: bad.field, errnum: 0 } });
    return;
  }
  try {
    switch (msg.type) {
      case 'start':
        return await onStart(msg, b);
      case 'prepare':
        return await onPrepare(msg, b);
      case 'forwardOnly':
        if (phase !== 'running') return void (await send({ type: 'error', id: msg.id, error: notRunning('switch forward-only') }));
        b.forwardOnly(msg.on);
        log('warn', msg.on ? 'forward-only: no shadow work until cleared' : 'forward-only cleared: shadow work resumes');
        await send({ type: 'forwardOnlySet', id: msg.id, on: msg.on });
        return;
      case 'stats': {
        // One poll, one snapshot: the fault counters ride with the others.
        const stats = b.stats();
        stats.faults = b.faultStats();
        await send({ type: 'stats', id: msg.id, stats, readAt: Date.now() });
        return;
      }
      case 'setFaults': {
        if (phase !== 'running') return void (await send({ type: 'error', id: msg.id, error: notRunning('install faults') }));
        const r = b.faultsInstall(msg.table);
        log('info', 'fault table installed', { generation: r.generation, faults: msg.table.faults.length, warnings: r.warnings });
        await send({ type: 'faultsSet', id: msg.id, generation: r.generation, warnings: r.warnings });
        return;
      }
      case 'faultSamples':
        await send({ type: 'faultSamples', id: msg.id, slot: msg.slot, samples: b.faultDelaySamples(msg.slot) });
        return;
      case 'policy':
        onPolicy(msg, b);
        return;
      case 'policyStats':
        await send({ type: 'policyStats', id: msg.id, stats: b.policyStats() });
        return;
      case 'stop':
        return await onStop(msg.id);
      case 'flowProbe':
        return await onFlowProbe(msg, b);
      case 'flowProgram':
        return await onFlowProgram(msg, b);
      case 'flowStats':
        return await onFlowStats(msg.id, b);
      case 'flowFlush': {
        if (phase !== 'running') return void (await send({ type: 'error', id: msg.id, error: notRunning('flush rte_flow rules') }));
        const flushed = await flushPorts(b, msg.ports);
        // No rule left to set a MARK: honour none (a failed flush keeps them honoured).
        if (msg.clearMarks && flushed.every((f) => f.ok)) b.marksInstall([]);
        await send({ type: 'flowFlushed', id: msg.id, flushed });
        return;
      }
      default:
        // requestProblem() knows every type: nothing else gets here.
        return;
    }
  } catch (err) {
    const id = typeof (msg as { id?: unknown }).id === 'number' ? msg.id : 0;
    await send({ type: 'error', id, error: toWire(err) });
  }
}

/** SIGTERM or the supervisor gone: stop cleanly once the current request is done. */
function shutdown(reason: string): void {
  if (phase === 'done' || phase === 'stopping') return;
  queue = queue.then(async () => {
    if (phase === 'done' || phase === 'stopping') return;
    phase = 'stopping';
    log('info', `stopping: ${reason}`);
    await installs;
    if (binding) await removeFlows(binding);
    const err = teardown();
    return exit(err === null ? 0 : 1);
  });
}

async function main(): Promise<void> {
  // A Ctrl-C reaches the whole process group; the supervisor decides when the
  // data plane stops, so SIGINT alone must not kill it.
  process.on('SIGINT', () => log('debug', 'SIGINT ignored: the supervisor drives shutdown'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('disconnect', () => shutdown('supervisor disconnected'));

  if (!process.send) {
    process.stderr.write('shadowtap data-plane host: must be started by the supervisor (child_process.fork)\n');
    process.exit(3);
  }

  const loaded = tryLoadNative();
  if ('error' in loaded) {
    await send({ type: 'error', id: 0, error: toWire(loaded.error) });
    return exit(3);
  }
  binding = loaded.binding;
  const b = binding;
  process.on('message', (msg: ToHost) => {
    queue = queue.then(() => handle(msg, b));
  });
  await send({ type: 'hello', pid: process.pid, version: b.version() });
  log('debug', 'native addon loaded', { path: loaded.path });
}

void main();
