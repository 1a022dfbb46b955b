/**
 * A supervisor process that applies policies in a loop, for the kill -9
 * test (test/services/state-crash.test.ts): it starts as `shadowtap run`
 * does (restorePolicy, then the Supervisor, data plane not started, so each
 * policy is checked, compiled and saved), says which generation it
 * restored, then applies policyFor(generation + 1) over and over and
 * acknowledges each generation only once applyPolicy has resolved (after
 * the state is on disk). The parent kills it with SIGKILL at random.
 */
import pino from 'pino';
import { restorePolicy } from '../../src/services/policy.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { policyFor, writerConfig } from './state-policies.js';

async function main(): Promise<void> {
  const runDir = process.argv[2]!;
  const logger = pino({ level: 'silent' });
  const config = writerConfig(runDir);
  let restored;
  try {
    restored = restorePolicy(config, logger);
  } catch (err) {
    process.send!({ error: (err as Error).message, code: (err as { code?: string }).code });
    return;
  }
  const sup = new Supervisor({
    config: restored.config,
    ...(restored.policy ? { policy: restored.policy } : {}),
    logger,
    nproc: 2,
    stateDir: `${runDir}/state`,
    stateBaseHash: restored.baseHash,
    policyGeneration: restored.generation,
    policySource: restored.source,
  });
  process.send!({ ready: restored.generation, source: restored.source });
  for (;;) {
    const current = sup.policyView().generation;
    const view = await sup.applyPolicy(policyFor(current + 1), { expectGenerations: [current] });
    process.send!({ ack: view.generation });
  }
}

void main();
