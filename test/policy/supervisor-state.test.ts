/**
 * The supervisor's policy bookkeeping without a data plane: counter slots,
 * per-session counters across restarts and updates, and the saved state.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { NativePolicyStats, NativeSessionStats } from '../../src/dataplane/native-types.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { SlotAllocator } from '../../src/policy/slots.js';
import { PolicyCounters, zeroSessionCounters } from '../../src/services/policy-counters.js';
import { loadPolicyState, policyHash, preparePolicyState, savePolicyState, statePath } from '../../src/services/policy-state.js';

test('slot allocator: keys keep slots, freed slots go to the back, capacity enforced', (t) => {
  const a = new SlotAllocator(4);
  t.deepEqual([...a.assign(['a', 'b']).slots], [['a', 0], ['b', 1]]);
  const r = a.assign(['b', 'c']);
  t.deepEqual([...r.slots].sort(), [['b', 1], ['c', 2]]);
  t.deepEqual(r.fresh, [2]);
  t.deepEqual(a.assign(['b', 'c', 'd']).fresh, [3]);
  t.deepEqual(a.assign(['b', 'c', 'd', 'e']).fresh, [0], 'slot 0 (freed by a) only once every never-used slot is taken');
  t.throws(() => a.assign(['1', '2', '3', '4', '5']), { instanceOf: RangeError });
  const c = a.clone();
  c.assign(['z']);
  t.is(a.slotOf('b'), 1, 'a clone changes nothing in the original');
});

const cfg = (sessions: unknown) =>
  validateConfig({
    ports: [
      { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap', egress: 'prod-out' },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow' },
    ],
    sessions,
  });

function sess(matched: number, mirrored = matched): NativeSessionStats {
  const z = zeroSessionCounters();
  return { ...z, matched, sampled: matched, mirroredPackets: mirrored, mirroredBytes: mirrored * 100, dropped: { ...z.dropped, rate: 1 } };
}

function snap(generation: number, sessions: Record<number, NativeSessionStats>, hits: Record<number, number>): NativePolicyStats {
  const s: NativeSessionStats[] = [];
  for (const [k, v] of Object.entries(sessions)) s[Number(k)] = v;
  const h: number[] = [];
  for (const [k, v] of Object.entries(hits)) h[Number(k)] = v;
  return { generation, sessions: Array.from(s, (x) => x ?? zeroSessionCounters()), ruleHits: Array.from(h, (x) => x ?? 0) };
}

test('per-session counters: summed over classifier rules, monotonic across restarts, baselines for reused slots', (t) => {
  const c = new PolicyCounters();
  const p1 = compilePolicy(cfg([{ id: 1, filters: [{ id: 'dns', app: 'dns' }] }, { id: 2 }]));
  c.committed(p1.report, [], []);
  // session 1 slot 0 (rules 0..3), session 2 slot 1 (rule 4)
  c.snapshot(snap(1, { 0: sess(10), 1: sess(5) }, { 0: 4, 1: 3, 2: 2, 3: 1, 4: 5 }));
  let v = c.view(p1.report);
  t.deepEqual(v.map((s) => [s.id, s.matched, s.mirroredBytes, s.dropped.rate, s.rules.map((r) => [r.id, r.hits])]), [
    [1, 10, 1000, 1, [['dns', 10]]],
    [2, 5, 500, 1, [['all', 5]]],
  ]);
  // The child dies and a new one starts from zero: totals carry on.
  c.childGone(p1.report);
  c.snapshot(snap(1, { 0: sess(1), 1: sess(2) }, { 0: 1, 4: 2 }));
  v = c.view(p1.report);
  t.deepEqual(v.map((s) => [s.id, s.matched, s.dropped.rate, s.rules[0]!.hits]), [[1, 11, 2, 11], [2, 7, 2, 7]]);
  // Session 2 is removed; session 3 is added and takes a fresh slot that still holds old counts.
  const p2 = compilePolicy(cfg([{ id: 1, filters: [{ id: 'dns', app: 'dns' }] }, { id: 3 }]), { slots: p1.slots, generation: 2 });
  c.snapshot(snap(1, { 0: sess(1), 1: sess(2), 2: sess(40) }, { 0: 1, 4: 2, 5: 30 }));
  c.committed(p2.report, p2.freshSessionSlots, p2.freshRuleSlots);
  c.snapshot(snap(2, { 0: sess(3), 1: sess(2), 2: sess(45) }, { 0: 3, 4: 2, 5: 36 }));
  v = c.view(p2.report);
  t.deepEqual(v.map((s) => [s.id, s.slot, s.matched, s.rules[0]!.hits]), [[1, 0, 13, 13], [3, 2, 5, 6]]);
});

test('the saved state: written atomically, staged writes can be aborted, corrupt files reported', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  t.deepEqual(loadPolicyState(stateDir), { state: null });
  savePolicyState(stateDir, { generation: 3, baseHash: 'abc', policy: { match: 'all' } });
  const loaded = loadPolicyState(stateDir).state!;
  t.is(loaded.generation, 3);
  t.deepEqual(loaded.policy, { match: 'all' });
  // A staged write leaves the old file until commit, and nothing at all after abort.
  const staged = preparePolicyState(stateDir, { generation: 4, baseHash: 'abc', policy: { match: 'first' } });
  t.is(loadPolicyState(stateDir).state!.generation, 3);
  staged.abort();
  t.is(loadPolicyState(stateDir).state!.generation, 3);
  t.deepEqual(readdirSync(stateDir), ['policy.json'], 'no temporary file left behind');
  const committed = preparePolicyState(stateDir, { generation: 4, baseHash: 'abc', policy: { match: 'first' } });
  committed.commit();
  t.is(loadPolicyState(stateDir).state!.generation, 4);
  writeFileSync(statePath(stateDir), '{ not json');
  t.regex(loadPolicyState(stateDir).problem ?? '', /is not valid JSON/);
  writeFileSync(statePath(stateDir), '{"kind":"other"}');
  t.regex(loadPolicyState(stateDir).problem ?? '', /is not a shadowtap\.policy-state\/v1 file/);
});

test('a state that cannot be written is ST_ERR_STATE_SAVE before anything changes', (t) => {
  // A regular file where the state directory should be: fails for root too.
  const dir = mkdtempSync(join(tmpdir(), 'st-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'file'), '');
  let code: string | undefined;
  try {
    preparePolicyState(join(dir, 'file', 'state'), { generation: 1, baseHash: null, policy: {} });
  } catch (err) {
    code = (err as { code?: string }).code;
  }
  t.is(code, 'ST_ERR_STATE_SAVE');
  t.false(existsSync(join(dir, 'file', 'state')));
});

test('policyHash ignores key order', (t) => {
  t.is(policyHash({ a: 1, b: { c: 2, d: [1, 2] } }), policyHash({ b: { d: [1, 2], c: 2 }, a: 1 }));
  t.not(policyHash({ a: 1 }), policyHash({ a: 2 }));
});

test('a policy applied while the data plane is stopped is stored and saved, applied at the next start', async (t) => {
  const { Supervisor } = await import('../../src/supervisor/supervisor.js');
  const pino = (await import('pino')).default;
  const dir = mkdtempSync(join(tmpdir(), 'st-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = new Supervisor({ config: cfg(undefined), logger: pino({ level: 'silent' }), nproc: 2, stateDir: join(dir, 'state'), stateBaseHash: 'h' });
  t.is(s.policyView().generation, 1);
  t.is(s.policyView().source, 'config');
  const view = await s.applyPolicy({ sessions: [{ id: 5, filters: [{ app: 'dns' }] }] });
  t.false(view.applied);
  t.is(view.generation, 2);
  t.is(view.source, 'api');
  t.deepEqual(s.config.sessions!.map((x) => x.id), [5], 'the stored configuration moved on');
  t.deepEqual(s.sessionStats().sessions.map((x) => [x.id, x.matched, x.rules.map((r) => r.id)]), [[5, 0, ['1']]]);
  const saved = loadPolicyState(join(dir, 'state')).state!;
  t.is(saved.generation, 2);
  t.is(saved.baseHash, 'h');
  t.deepEqual((saved.policy['sessions'] as { id: number }[]).map((x) => x.id), [5]);
  // A refused update changes nothing.
  let code: string | undefined;
  try {
    await s.applyPolicy({ sessions: [{ id: 5, target: 'nowhere' }] });
  } catch (err) {
    code = (err as { code?: string }).code;
  }
  t.is(code, 'ST_ERR_POLICY_INVALID');
  t.is(s.policyView().generation, 2);
  t.is(loadPolicyState(join(dir, 'state')).state!.generation, 2);
  // validatePolicy is a dry run.
  t.is((await s.validatePolicy({ sessions: [{ id: 6 }] })).generation, 3);
  t.is(s.policyView().generation, 2);
});
