/**
 * Errors the real data-plane host gives when it is asked for something it
 * cannot do, caused for real on DPDK vdevs: worker lcores EAL does not run
 * (ST_ERR_LCORE_UNAVAILABLE) and requests its phase does not allow
 * (ST_ERR_DATAPLANE_STATE). Each asserts the code, the field and that the
 * message names the cause; a refused start leaves nothing behind, a refused
 * request leaves the running data plane running.
 */
import test from 'ava';
import { HostUnderTest, missingBuild } from './real-host.js';
import { policy, rule, session } from '../helpers/policy-host.js';

const skip = missingBuild();

async function refusedStart(t: { teardown(fn: () => Promise<void>): void }, tag: string, lcores: string[], workerLcores: number[]) {
  const h = new HostUnderTest(tag, { lcores });
  t.teardown(() => h.kill());
  await h.hello();
  const err = await h.refused({ type: 'start', id: 1, ealArgs: h.ealArgs(), plan: h.startPlan({ workerLcores }) }, 'started');
  return { err, exit: await h.exitCode(), runtimeDirGone: h.runtimeDirGone() };
}

test('a worker lcore EAL does not run: ST_ERR_LCORE_UNAVAILABLE naming workerLcores[i] and the -l option', async (t) => {
  if (skip) return t.fail(skip);
  const r = await refusedStart(t, 'lc-off', ['-l', '0,1'], [1, 3]);
  t.is(r.err.code, 'ST_ERR_LCORE_UNAVAILABLE');
  t.is(r.err.field, 'workerLcores[1]');
  t.regex(r.err.message, /lcore 3 is not enabled in EAL/);
  t.regex(r.err.message, /-l\/--lcores/, 'says where lcores are enabled');
  t.is(r.exit, 2, 'a failed start ends the host with code 2');
  t.true(r.runtimeDirGone, 'EAL runtime directory removed');
});

test('the main lcore as a worker: ST_ERR_LCORE_UNAVAILABLE saying it is the main lcore', async (t) => {
  if (skip) return t.fail(skip);
  const r = await refusedStart(t, 'lc-main', ['-l', '0,1'], [0]);
  t.is(r.err.code, 'ST_ERR_LCORE_UNAVAILABLE');
  t.is(r.err.field, 'workerLcores[0]');
  t.regex(r.err.message, /lcore 0 is the EAL main lcore/);
  t.is(r.exit, 2);
  t.true(r.runtimeDirGone);
});

test('a service lcore as a worker: ST_ERR_LCORE_UNAVAILABLE saying it is a service lcore, not "not enabled"', async (t) => {
  if (skip) return t.fail(skip);
  // -s 0x2: EAL runs lcore 1 (given with -l) as a service core.
  const r = await refusedStart(t, 'lc-svc', ['-l', '0,1', '-s', '0x2'], [1]);
  t.is(r.err.code, 'ST_ERR_LCORE_UNAVAILABLE');
  t.is(r.err.field, 'workerLcores[0]');
  t.regex(r.err.message, /lcore 1 is an EAL service lcore/);
  t.notRegex(r.err.message, /not enabled/, 'the lcore is enabled: the message must not send the operator to -l');
  t.is(r.exit, 2);
  t.true(r.runtimeDirGone);
});

test('a second start in one host: ST_ERR_DATAPLANE_STATE, the running data plane keeps running', async (t) => {
  if (skip) return t.fail(skip);
  const h = new HostUnderTest('dp-twice');
  t.teardown(() => h.kill());
  await h.hello();
  await h.start();
  const before = await h.flowing();
  const err = await h.refused({ type: 'start', id: 7, ealArgs: h.ealArgs(), plan: h.startPlan() }, 'started');
  t.is(err.code, 'ST_ERR_DATAPLANE_STATE');
  t.regex(err.message, /cannot start: the data plane is running; one start per process/);
  // Still running: packets keep arriving and copies keep leaving (flowing() throws otherwise).
  const after = await h.flowing(before);
  t.true(after.ports[0]!.rxPackets > before.ports[0]!.rxPackets + 20, 'production rx still moves');
  t.true(after.mirrorPackets > before.mirrorPackets, 'copies still leave');
  t.false(h.channel.hasExited);
  await h.channel.stop();
  t.true(h.runtimeDirGone());
});

test('a policy or an rte_flow request before start: ST_ERR_DATAPLANE_STATE, and the start that follows still works', async (t) => {
  if (skip) return t.fail(skip);
  const h = new HostUnderTest('dp-early');
  t.teardown(() => h.kill());
  await h.hello();
  const p = policy({ sessions: [session({ slot: 0 })], rules: [rule(0, 0)] });
  const early = await h.refused({ type: 'policy', id: 5, policy: p }, 'policyInstalled');
  t.is(early.code, 'ST_ERR_DATAPLANE_STATE');
  t.regex(early.message, /cannot install a policy: the data plane is idle; give the first policy with 'start'/);
  const probe = await h.refused({ type: 'flowProbe', id: 6, port: 0, defs: [] }, 'flowProbed');
  t.is(probe.code, 'ST_ERR_DATAPLANE_STATE');
  t.regex(probe.message, /cannot probe rte_flow: the data plane is idle/);
  const flush = await h.refused({ type: 'flowFlush', id: 8, ports: [0] }, 'flowFlushed');
  t.is(flush.code, 'ST_ERR_DATAPLANE_STATE');
  t.regex(flush.message, /cannot flush rte_flow rules: the data plane is idle/);
  // The refusals consumed nothing: this process can still start, once.
  await h.start(h.startPlan(), p);
  const s = await h.flowing();
  t.true(s.mirrorPackets > 0);
  await h.channel.stop();
  t.true(h.runtimeDirGone());
});
