/**
 * The compile worker's thread (node:worker_threads): checks and compiles
 * policies for the policy service, so a large one (a thousand sessions take
 * seconds) never blocks the event loop that answers /healthz, /metrics and
 * the data plane's polls. Messages: policy-worker.ts.
 */
import { parentPort } from 'node:worker_threads';
import { isShadowtapError } from '../errors.js';
import { SlotAllocator } from '../policy/slots.js';
import { checkPolicy } from './policy-check.js';
import type { WorkerReply, WorkerRequest } from './policy-worker.js';

parentPort!.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const slots = req.slots ? { sessions: SlotAllocator.fromPlain(req.slots.sessions), rules: SlotAllocator.fromPlain(req.slots.rules) } : undefined;
    const r = checkPolicy(req.config, req.section, { source: req.source, generation: req.generation, ...(slots ? { slots } : {}) });
    if ('problems' in r) reply = { id: req.id, problems: r.problems };
    else {
      const s = r.policy.slots;
      reply = { id: req.id, checked: { config: r.config, policy: { ...r.policy, slots: { sessions: s.sessions.toPlain(), rules: s.rules.toPlain() } } } };
    }
  } catch (err) {
    const e = err as Error;
    reply = { id: req.id, error: { message: e.message, ...(isShadowtapError(err) ? { code: err.code, field: err.field } : {}) } };
  }
  parentPort!.postMessage(reply);
});
