/**
 * One data-plane child process: fork, request/response by id with timeouts,
 * the last lines it wrote (EAL writes its reasons there, not into our
 * structured errors), and a clean or forced end.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { fromWire, stError, type ShadowtapError } from '../errors.js';
import { answerProblem, ANSWER_TO, type FromHost, type ToHost } from '../dataplane/protocol.js';
import type { NativeStartPlan, NativePolicy, NativePolicyStats, NativePortInfo, NativeStats } from '../dataplane/native-types.js';
import type { NativeFaultTable, NativeFaultsInstalled } from '../faults/native-types.js';

export interface HostChildOptions {
  hostPath: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** lines of child output kept for error messages */
  tailLines?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type Request = ToHost extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

interface Pending {
  type: ToHost['type'];
  resolve: (msg: FromHost) => void;
  reject: (err: ShadowtapError) => void;
  timer: NodeJS.Timeout;
}

export class HostChild {
  readonly proc: ChildProcess;
  readonly pid: number;
  version: string | null = null;
  /** resolves once the process has exited and its output pipes are drained */
  readonly closed: Promise<ExitInfo>;
  exit: ExitInfo | null = null;

  private readonly logger: Logger;
  private readonly tail: string[] = [];
  private readonly tailMax: number;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** an error the child reported outside any request (id 0: e.g. the addon did not load) */
  private fatal: ShadowtapError | null = null;
  private helloWaiters: { resolve: () => void; reject: (e: ShadowtapError) => void }[] = [];
  private greeted = false;

  constructor(options: HostChildOptions) {
    this.logger = options.logger;
    // EAL's usage text alone is ~80 lines; keep enough to reach the reason before it.
    this.tailMax = options.tailLines ?? 200;
    this.proc = fork(options.hostPath, [], {
      serialization: 'advanced', // Uint8Array in the plan crosses as bytes
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [], // never inherit --inspect or test-runner flags
      env: options.env ?? process.env,
    });
    if (this.proc.pid === undefined) {
      // fork() reports spawn failures asynchronously via 'error'; pid is then unset.
      this.pid = -1;
    } else {
      this.pid = this.proc.pid;
    }
    this.watchOutput(this.proc.stdout, 'stdout');
    this.watchOutput(this.proc.stderr, 'stderr');
    this.proc.on('message', (msg: FromHost) => this.onMessage(msg));
    this.closed = new Promise((resolve) => {
      let settled = false;
      const done = (info: ExitInfo) => {
        if (settled) return;
        settled = true;
        this.exit = info;
        this.failPending();
        resolve(info);
      };
      // Not 'close': Node never emits it for a child whose IPC channel the
      // parent disconnected. After 'exit', give the output pipes a moment to
      // drain, so EAL's last lines are in the tail before anyone quotes it.
      this.proc.on('exit', (code, signal) => {
        const info = { code, signal };
        this.exit = info;
        const open = [this.proc.stdout, this.proc.stderr].filter(
          (st): st is Readable => st !== null && !st.readableEnded && !st.destroyed,
        );
        const drained = Promise.all(
          open.map((st) => new Promise<void>((r) => {
            st.once('end', r);
            st.once('close', r);
          })),
        );
        void Promise.race([drained, delay(500)]).then(() => done(info));
      });
      this.proc.on('error', (err) => {
        this.logger.error({ err }, 'data-plane host could not be started');
        this.pushTail(`spawn error: ${err.message}`);
        if (this.proc.pid === undefined) done({ code: null, signal: null });
      });
    });
  }

  get alive(): boolean {
    return this.exit === null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Last lines the child wrote to stdout/stderr (EAL logs to both). */
  outputTail(n = 12): string[] {
    return this.tail.slice(-n);
  }

  describeExit(info: ExitInfo | null = this.exit): string {
    if (!info) return 'still running';
    if (info.signal) return `killed by ${info.signal}`;
    return `exited with code ${info.code}`;
  }

  private pushTail(line: string): void {
    this.tail.push(line);
    if (this.tail.length > this.tailMax) this.tail.shift();
  }

  private watchOutput(stream: Readable | null, name: 'stdout' | 'stderr'): void {
    if (!stream) return;
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (line.trim() === '') return;
      this.pushTail(line);
      // EAL's usage text (indented) is not a warning, whatever words it uses.
      const level = /^\S/.test(line) && /error|fail|cannot|invalid|unable|unrecognized/i.test(line) ? 'warn' : 'debug';
      this.logger[level]({ dataplanePid: this.pid, stream: name }, line);
    });
  }

  private onMessage(msg: FromHost): void {
    const bad = answerProblem(msg);
    if (bad) {
      this.protocolFailure(bad.field, bad.message);
      return;
    }
    switch (msg.type) {
      case 'hello':
        this.version = msg.version;
        this.greeted = true;
        for (const w of this.helloWaiters.splice(0)) w.resolve();
        this.logger.debug({ dataplanePid: msg.pid, version: msg.version }, 'data-plane host is up');
        return;
      case 'log': {
        const level = ['debug', 'info', 'warn', 'error'].includes(msg.level) ? msg.level : 'info';
        this.logger[level]({ dataplanePid: this.pid, ...(msg.data ?? {}) }, msg.msg);
        return;
      }
      case 'started':
      case 'prepared':
      case 'forwardOnlySet':
      case 'stats':
      case 'stopped':
      case 'policyInstalled':
      case 'policyStats':
      case 'faultsSet':
      case 'faultSamples':
      case 'flowProbed':
      case 'flowProgrammed':
      case 'flowStats':
      case 'flowFlushed':
      case 'error': {
        const p = this.pending.get(msg.id);
        if (!p) {
          if (msg.type === 'error') {
            // Reported before any request could fail (the host exits next): it
            // explains the exit better than "exited with code 3" would.
            this.fatal = fromWire(msg.error);
            this.logger.error({ dataplanePid: this.pid, code: msg.error.code }, msg.error.message);
          } else {
            this.logger.warn({ dataplanePid: this.pid, type: msg.type, id: msg.id }, 'answer to no pending request');
          }
          return;
        }
        if (msg.type !== 'error' && msg.type !== ANSWER_TO[p.type]) {
          this.protocolFailure('type', `expected "${ANSWER_TO[p.type]}" in answer to "${p.type}" (id ${msg.id}), got "${msg.type}"`);
          return;
        }
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.type === 'error') p.reject(fromWire(msg.error));
        else p.resolve(msg);
        return;
      }
      default:
        // answerProblem() knows every type: nothing else gets here.
        return;
    }
  }

  /**
   * The child sent something that is not the protocol: whatever else it says
   * cannot be trusted either. Every waiting request fails with
   * ST_ERR_PROTOCOL naming the field, and the child is killed (the
   * supervisor's restart path takes over from there).
   */
  private protocolFailure(field: string, problem: string): void {
    const err = stError('ST_ERR_PROTOCOL', `data-plane process ${this.pid} sent a message the supervisor does not understand: ${field}: ${problem}`, { field });
    this.logger.error({ dataplanePid: this.pid, field }, err.message);
    this.fatal ??= err;
    for (const w of this.helloWaiters.splice(0)) w.reject(err);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
    this.kill('SIGKILL');
  }

  /** The error the child reported on its own before exiting, if any. */
  get fatalError(): ShadowtapError | null {
    return this.fatal;
  }

  /**
   * Wait for the host's hello: it is sent once its message listener is in
   * place. A request sent before that could be lost while the child is still
   * loading its modules.
   */
  hello(timeoutMs: number): Promise<void> {
    if (this.greeted) return Promise.resolve();
    if (!this.alive) return Promise.reject(this.exitError('hello'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.helloWaiters = this.helloWaiters.filter((w) => w !== waiter);
        reject(stError('ST_ERR_DATAPLANE_TIMEOUT', `data-plane process ${this.pid} did not say hello within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: ShadowtapError) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.helloWaiters.push(waiter);
    });
  }

  private exitError(what: string): ShadowtapError {
    return this.fatal ?? stError('ST_ERR_DATAPLANE_EXIT', `data-plane process ${this.pid} ${this.describeExit()} before answering "${what}"`);
  }

  private failPending(): void {
    for (const w of this.helloWaiters.splice(0)) w.reject(this.exitError('hello'));
    const why = this.describeExit();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(
        this.fatal ?? stError('ST_ERR_DATAPLANE_EXIT', `data-plane process ${this.pid} ${why} before answering "${p.type}"`),
      );
      this.pending.delete(id);
    }
  }

  /** Send a request and wait for the answer with the same id. */
  request(req: Request, timeoutMs: number): Promise<FromHost> {
    return new Promise((resolve, reject) => {
      if (!this.alive || !this.proc.connected) {
        reject(stError('ST_ERR_DATAPLANE_EXIT', `data-plane process ${this.pid} ${this.describeExit()}; cannot send "${req.type}"`));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(stError('ST_ERR_DATAPLANE_TIMEOUT', `data-plane process ${this.pid} did not answer "${req.type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { type: req.type, resolve, reject, timer });
      this.proc.send({ ...req, id } as ToHost, (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        reject(stError('ST_ERR_DATAPLANE_EXIT', `cannot send "${req.type}" to data-plane process ${this.pid}: ${err.message}`));
      });
    });
  }

  async start(ealArgs: string[], startPlan: NativeStartPlan, timeoutMs: number, policy?: NativePolicy): Promise<NativePortInfo[]> {
    return (await this.startAt(ealArgs, startPlan, timeoutMs, policy)).ports;
  }

  /**
   * Start, and when the workers were launched (the host's clock). `devices`
   * is for a prepared standby: it hot-plugs them instead of initialising EAL.
   */
  async startAt(ealArgs: string[], startPlan: NativeStartPlan, timeoutMs: number, policy?: NativePolicy, devices?: string[], faults?: NativeFaultTable): Promise<{ ports: NativePortInfo[]; launchedAt: number }> {
    const msg = await this.request({ type: 'start', ealArgs, plan: startPlan, ...(policy ? { policy } : {}), ...(devices ? { devices } : {}), ...(faults ? { faults } : {}) }, timeoutMs);
    if (msg.type !== 'started') throw stError('ST_ERR_PROTOCOL', `expected "started", got "${msg.type}"`);
    return { ports: msg.ports, launchedAt: typeof msg.launchedAt === 'number' ? msg.launchedAt : Date.now() };
  }

  /** Become a standby: EAL with no device, the plan's pools made ahead. */
  async prepare(ealArgs: string[], startPlan: NativeStartPlan, timeoutMs: number): Promise<void> {
    const msg = await this.request({ type: 'prepare', ealArgs, plan: startPlan }, timeoutMs);
    if (msg.type !== 'prepared') throw stError('ST_ERR_PROTOCOL', `expected "prepared", got "${msg.type}"`);
  }

  /** Shadow work off (on) or back on, while running. */
  async forwardOnly(on: boolean, timeoutMs: number): Promise<void> {
    const msg = await this.request({ type: 'forwardOnly', on }, timeoutMs);
    if (msg.type !== 'forwardOnlySet') throw stError('ST_ERR_PROTOCOL', `expected "forwardOnlySet", got "${msg.type}"`);
  }

  /** Install a policy in the running data plane (RCU swap); resolves once it is current. */
  async policy(policy: NativePolicy, timeoutMs: number): Promise<{ generation: number; applyMs: number }> {
    const msg = await this.request({ type: 'policy', policy }, timeoutMs);
    if (msg.type !== 'policyInstalled') throw stError('ST_ERR_PROTOCOL', `expected "policyInstalled", got "${msg.type}"`);
    return { generation: msg.generation, applyMs: msg.applyMs };
  }

  /** Install a fault table in the running data plane (RCU swap, independent of the policy). */
  async setFaults(table: NativeFaultTable, timeoutMs: number): Promise<NativeFaultsInstalled> {
    const msg = await this.request({ type: 'setFaults', table }, timeoutMs);
    if (msg.type !== 'faultsSet') throw stError('ST_ERR_PROTOCOL', `expected "faultsSet", got "${msg.type}"`);
    return { generation: msg.generation, warnings: msg.warnings };
  }

  /** The applied delays (ns) the workers recorded for one fault slot. */
  async faultSamples(slot: number, timeoutMs: number): Promise<Float64Array> {
    const msg = await this.request({ type: 'faultSamples', slot }, timeoutMs);
    if (msg.type !== 'faultSamples') throw stError('ST_ERR_PROTOCOL', `expected "faultSamples", got "${msg.type}"`);
    return msg.samples;
  }

  async policyStats(timeoutMs: number): Promise<NativePolicyStats> {
    const msg = await this.request({ type: 'policyStats' }, timeoutMs);
    if (msg.type !== 'policyStats') throw stError('ST_ERR_PROTOCOL', `expected "policyStats", got "${msg.type}"`);
    return msg.stats;
  }

  async stats(timeoutMs: number): Promise<NativeStats> {
    return (await this.statsAt(timeoutMs)).stats;
  }

  /** The counters and when the host read them (its clock; the time of the answer if it does not say). */
  async statsAt(timeoutMs: number): Promise<{ stats: NativeStats; readAt: number }> {
    const msg = await this.request({ type: 'stats' }, timeoutMs);
    if (msg.type !== 'stats') throw stError('ST_ERR_PROTOCOL', `expected "stats", got "${msg.type}"`);
    const readAt = typeof msg.readAt === 'number' && Number.isFinite(msg.readAt) ? msg.readAt : Date.now();
    return { stats: msg.stats, readAt };
  }

  /**
   * End the process: ask it to stop (workers, ports, EAL cleanup), let it exit
   * by closing the channel, and SIGKILL it if it has not gone by the deadline.
   * Resolves once it has exited; never rejects.
   */
  async terminate(timeoutMs: number, polite = true): Promise<ExitInfo> {
    if (this.alive && polite && this.proc.connected) {
      try {
        await this.request({ type: 'stop' }, timeoutMs);
      } catch (err) {
        // A host that is already on its way out (it exits by itself after a
        // failed start) cannot answer; only a live one that fails to is news.
        const gone = (err as { code?: string }).code === 'ST_ERR_DATAPLANE_EXIT' || !this.alive;
        this.logger[gone ? 'debug' : 'warn']({ dataplanePid: this.pid, err: (err as Error).message }, 'data-plane process did not answer "stop"');
      }
    }
    if (this.proc.connected) this.proc.disconnect();
    if (this.alive) {
      const gone = await Promise.race([this.closed.then(() => true), delay(polite ? timeoutMs : 0).then(() => false)]);
      if (!gone && this.alive) {
        this.logger.warn({ dataplanePid: this.pid }, 'data-plane process still running; sending SIGKILL');
        this.kill('SIGKILL');
      }
    }
    return this.closed;
  }

  /** why the supervisor itself killed this child, for the exit it then sees */
  killReason: string | null = null;

  /** Kill the child for a reason the exit report will give. */
  killFor(why: string): void {
    this.killReason ??= why;
    this.kill('SIGKILL');
  }

  kill(signal: NodeJS.Signals): void {
    try {
      this.proc.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** A wait that does not keep the process alive on its own (the child's handle does). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
