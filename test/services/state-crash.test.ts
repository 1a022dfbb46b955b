/**
 * Desired state survives kill -9 (issue 14, item 3): a supervisor process
 * writing policies in a loop (test/helpers/state-writer.ts) is SIGKILLed at
 * seeded random moments, by pid. After each kill the state file must load,
 * hold the last acknowledged generation (or the one whose write had reached
 * the disk but whose acknowledgement had not left the process yet), with
 * exactly that generation's policy; the next supervisor restores it, never
 * a generation back, and removes the temporary files the kill left.
 */
import test from 'ava';
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { policySection } from '../../src/config/load.js';
import { checkPolicy } from '../../src/services/policy-check.js';
import { loadPolicyState } from '../../src/services/policy-state.js';
import { policyFor, writerConfig } from '../helpers/state-policies.js';

const WRITER = fileURLToPath(new URL('../helpers/state-writer.js', import.meta.url));

/** mulberry32, seeded: the kill moments are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Msg = { ready?: number; source?: string; ack?: number; error?: string; code?: string };

test('kill -9 during writes leaves a loadable state equal to the last acknowledged version; the next start continues from it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-crash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const runDir = join(dir, 'run');
  const stateDir = join(runDir, 'state');
  const config = writerConfig(runDir);
  const random = seeded(14);
  let lastKnown = 1;
  const tmpSeen: number[] = [];
  for (let round = 0; round < 8; round++) {
    const child = fork(WRITER, [runDir], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const acks: number[] = [];
    let ready: Msg | null = null;
    const wantAcks = 1 + Math.floor(random() * 6);
    const reached = new Promise<void>((resolve, reject) => {
      child.on('message', (m: Msg) => {
        if (m.error) reject(new Error(`round ${round}: the writer could not start: ${m.code}: ${m.error}`));
        if (m.ready !== undefined) ready = m;
        if (m.ack !== undefined) {
          acks.push(m.ack);
          if (acks.length === wantAcks) resolve();
        }
      });
    });
    await reached;
    // Somewhere inside the next write: it takes tens of ms (check, compile, fsync, rename).
    await new Promise((r) => setTimeout(r, random() * 40));
    process.kill(child.pid!, 'SIGKILL');
    await exited;
    const r = ready as Msg | null;
    t.truthy(r, `round ${round}: ready`);
    t.is(r!.ready, lastKnown, `round ${round}: restored the generation the previous round left, never one back`);
    if (round > 0) t.is(r!.source, 'state');
    for (let i = 1; i < acks.length; i++) t.is(acks[i], acks[i - 1]! + 1, 'acknowledged generations follow each other');
    const lastAck = acks.at(-1)!;

    const loaded = loadPolicyState(stateDir);
    t.is(loaded.problem, undefined, `round ${round}: the state file loads`);
    const g = loaded.state!.generation;
    t.true(g === lastAck || g === lastAck + 1, `round ${round}: saved generation ${g}, last acknowledged ${lastAck}`);
    const expected = checkPolicy(config, policyFor(g), { generation: g });
    if ('problems' in expected) throw new Error('policyFor() must be valid');
    t.deepEqual(loaded.state!.policy, JSON.parse(JSON.stringify(policySection(expected.config))), `round ${round}: generation ${g}'s policy, whole`);
    tmpSeen.push(readdirSync(stateDir).filter((n) => n.endsWith('.tmp')).length);
    lastKnown = g;
  }
  t.log(`temporary files left by the kills, per round: ${tmpSeen.join(' ')}`);
  // One more start: it restores the last state and removes what the kills left.
  const child = fork(WRITER, [runDir], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const gone = new Promise<void>((r) => child.on('exit', () => r()));
  const first = await new Promise<Msg>((r) => child.once('message', (m: Msg) => r(m)));
  process.kill(child.pid!, 'SIGKILL');
  await gone;
  t.is(first.ready, lastKnown);
  t.deepEqual(readdirSync(stateDir).filter((n) => n.endsWith('.tmp') && !n.includes(`.${child.pid}.`)), [], 'leftover temporary files are removed at start');
});
