/**
 * Errors of EAL's one-per-process life, caused for real with the addon in
 * this test's own process (one EAL per process: this file runs in its own ava
 * worker process): a second EAL init (ST_ERR_EAL_ALREADY), before and after
 * cleanup, a second start and a start after stop (ST_ERR_STATE), and a stop called from a thread that is not EAL's main lcore
 * (ST_ERR_NOT_MAIN_LCORE: a Node worker thread loading the same addon). The
 * data plane that is running must be untouched by each refusal: its workers
 * still run, and the rte_flow rule it created is still known.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { IDLE, MODE, ROLE, UNMAPPED, type NativeStartPlan } from '../../src/dataplane/native-types.js';
import { loadNative } from '../../src/native/loader.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { ADDON, missingBuild, withEal } from '../helpers/host.js';

const skip = missingBuild();

type Caught = { code?: string; field?: string; message: string } | null;

function caught(fn: () => unknown): Caught {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: string; field?: string };
    return { code: err.code, field: err.field, message: err.message };
  }
  return null;
}

const vdevs = ['net_null0', 'net_null1,no-rx=1', 'net_null2,no-rx=1'];

/** An emulated mlx5 (net_shadowsim, port 3, outside the plan): somewhere to create an rte_flow rule. */
function simVdev(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'st-err-sim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const profile = join(dir, 'mlx5.sim');
  writeFileSync(profile, renderSimProfile(defaultProfiles().byFamily('mlx5')!));
  return `net_shadowsim0,profile=${profile}`;
}

function plan(): NativeStartPlan {
  const port = (name: string, device: string, role: number, egress: number): NativeStartPlan['ports'][number] => ({
    name, device, role, egress, rxDesc: 256, txDesc: 256, promiscuous: false, rxPps: 1000,
  });
  return {
    mode: MODE.inline, unmapped: UNMAPPED.mirror, idle: IDLE.adaptive, burst: 32, workerLcores: [1],
    ports: [port('prod-in', 'net_null0', ROLE.production, 1), port('prod-out', 'net_null1', ROLE.egress, -1), port('shadow0', 'net_null2', ROLE.shadow, -1)],
    shadowPorts: [2],
    shadowSrcMac: new Uint8Array([2, 0x5a, 0, 0, 0, 1]), shadowDstMac: new Uint8Array([2, 0x5a, 0, 0, 0, 2]),
    map4: [], map6: [], prodPoolMbufs: 0, shadowPoolMbufs: 0,
  };
}

/** Production rx once it has moved past `base` (up to 10 s; the caller asserts it did). */
async function moved(native: ReturnType<typeof loadNative>, base: number): Promise<number> {
  let rx = native.stats().ports[0]!.rxPackets;
  for (let i = 0; i < 200 && rx <= base; i++) {
    await new Promise((r) => setTimeout(r, 50));
    rx = native.stats().ports[0]!.rxPackets;
  }
  return rx;
}

/** Call `method` of the addon from a Node worker thread (not EAL's main lcore); what it threw, or null. */
function fromWorkerThread(method: 'stop' | 'ealCleanup'): Promise<Caught> {
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const native = require(workerData.addon);
    try { native[workerData.method](); parentPort.postMessage(null); }
    catch (e) { parentPort.postMessage({ code: e.code, field: e.field, message: e.message }); }`;
  return new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true, workerData: { addon: ADDON, method } });
    w.once('message', (m: Caught) => resolve(m));
    w.once('error', reject);
  });
}

test('EAL twice: ST_ERR_EAL_ALREADY; stop or cleanup off the main lcore: ST_ERR_NOT_MAIN_LCORE; start twice or after stop: ST_ERR_STATE; nothing stopped or forgotten', async (t) => {
  if (skip) return t.fail(skip);
  const native = loadNative();
  const args = ['shadowtap', '--no-huge', '-m', '128', '--no-pci', '--file-prefix', `st-err-again-${process.pid}`];
  await withEal(native, { prefix: `st-err-eal-${process.pid}`, memoryMb: 256, vdevs: [...vdevs, simVdev(t)] }, async () => {
    const second = caught(() => native.ealInit(args));
    t.is(second?.code, 'ST_ERR_EAL_ALREADY');
    t.regex(second?.message ?? '', new RegExp(`EAL was already initialised in this process \\(pid ${process.pid}\\)`));
    t.regex(second?.message ?? '', /start a new data-plane process instead/);
    // The EAL that is up is the first one: its three vdevs are there.
    t.deepEqual(native.portList().map((p) => p.name), ['net_null0', 'net_null1', 'net_null2', 'net_shadowsim0']);

    // A stop from a thread that is not EAL's main lcore is refused and stops nothing.
    await native.start(plan());
    // One rte_flow rule the binding keeps track of: a refused cleanup must not forget it.
    const [created] = await native.flowCreate([{ port: 3, attr: { group: 0, priority: 0, ingress: true, egress: false, transfer: false }, pattern: [{ type: 'eth' }], actions: [{ type: 'drop' }] }]);
    t.true(created?.ok, `rule created: ${JSON.stringify(created)}`);
    const before = native.stats();
    for (const method of ['stop', 'ealCleanup'] as const) {
      const r = await fromWorkerThread(method);
      t.is(r?.code, 'ST_ERR_NOT_MAIN_LCORE', method);
      t.regex(r?.message ?? '', /st_dp_stop must be called from the thread that initialised EAL/, method);
    }
    const after = await moved(native, before.ports[0]!.rxPackets);
    t.true(after > before.ports[0]!.rxPackets, 'the workers still run after both refusals');
    const [rule] = await native.flowDestroy([created!.id]);
    t.true(rule?.ok, `the rule is still known after the refused cleanup: ${JSON.stringify(rule)}`);
    // A second start of a running data plane, and a start after a stop: ST_ERR_STATE, nothing touched.
    const again = await native.start(plan()).then(() => null, (e: unknown) => e as Error & { code?: string });
    t.is(again?.code, 'ST_ERR_STATE');
    t.regex(again?.message ?? '', /the data plane is already set up or running; stop it first/);
    t.true((await moved(native, after)) > after, 'the workers still run after the refused start');
    t.notThrows(() => native.stop(), 'the main thread can stop it');
    const afterStop = await native.start(plan()).then(() => null, (e: unknown) => e as Error & { code?: string });
    t.is(afterStop?.code, 'ST_ERR_STATE');
    t.regex(afterStop?.message ?? '', /ports were closed by the previous stop or failed start; a new plan needs a new data-plane process/);
  });
  // Cleaned up: the process's one EAL is spent, and says so.
  const spent = caught(() => native.ealInit(args));
  t.is(spent?.code, 'ST_ERR_EAL_ALREADY');
  t.regex(spent?.message ?? '', /already initialised in this process/);
});
