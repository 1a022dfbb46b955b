/**
 * The policy service's compile worker: checkPolicy() in a worker thread.
 * One thread, started on first use and kept (unref'd: it never holds the
 * process open), one request at a time in order. What crosses is plain
 * data: the configuration (frozen again on return), the policy section and
 * the counter slots as plain lists; the compiled policy's byte arrays cross
 * as they are.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { isErrorCode, stError, type ConfigProblem } from '../errors.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { SlotAllocator, type PolicySlots, type SlotAllocatorPlain } from '../policy/slots.js';
import type { CheckedPolicy, CheckPolicyOptions } from './policy-check.js';

interface PlainSlots {
  sessions: SlotAllocatorPlain;
  rules: SlotAllocatorPlain;
}

export interface WorkerRequest {
  id: number;
  config: Config;
  section: unknown;
  source: string;
  generation: number;
  slots?: PlainSlots;
}

export type WorkerReply =
  | { id: number; checked: { config: Config; policy: Omit<CompiledPolicy, 'slots'> & { slots: PlainSlots } } }
  | { id: number; problems: ConfigProblem[] }
  | { id: number; error: { message: string; code?: string; field?: string } };

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class PolicyCompileWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./policy-check-worker.js', import.meta.url));
    w.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      p?.resolve(reply);
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', (err) => fail(err));
    w.on('exit', (code) => fail(new Error(`the policy compile worker exited (code ${code})`)));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    w.unref();
    this.worker = w;
    return w;
  }

  /** checkPolicy(), off the event loop. */
  async check(config: Config, section: unknown, options: CheckPolicyOptions & { generation: number }): Promise<CheckedPolicy | { problems: ConfigProblem[] }> {
    const w = this.start();
    const id = this.nextId++;
    const slots = options.slots ? { sessions: options.slots.sessions.toPlain(), rules: options.slots.rules.toPlain() } : undefined;
    const req: WorkerRequest = { id, config, section, source: options.source ?? 'policy', generation: options.generation, ...(slots ? { slots } : {}) };
    // Held open while a compile is pending (a caller awaits it), let go when idle.
    w.ref();
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        w.postMessage(req);
      } catch (err) {
        // e.g. a body holding something structured clone cannot copy
        this.pending.delete(id);
        reject(err as Error);
      }
    }).finally(() => {
      if (this.pending.size === 0 && this.worker === w) w.unref();
    });
    if ('problems' in reply) return { problems: reply.problems };
    if ('error' in reply) {
      const { code, message, field } = reply.error;
      if (isErrorCode(code)) throw stError(code, message, { field: field ?? '' });
      throw new Error(message);
    }
    const p = reply.checked.policy;
    const slotsBack: PolicySlots = { sessions: SlotAllocator.fromPlain(p.slots.sessions), rules: SlotAllocator.fromPlain(p.slots.rules) };
    return { config: deepFreeze(reply.checked.config), policy: { ...p, slots: slotsBack } };
  }

  /** Stop the thread (tests, shutdown); a later check starts a new one. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
