/**
 * The fault service's own logic: validation (fields named, nothing changed),
 * persistence across a restart of the service, schedules and stop conditions
 * driving installs. The data plane here is an in-process stand-in that
 * records the tables it is given: these tests are about the scheduler's
 * timing and bookkeeping; what the tables do to packets is tested on the
 * real data plane (test/faults/e2e-*.test.ts).
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { NativeStats } from '../../src/dataplane/native-types.js';
import type { NativeFaultTable } from '../../src/faults/native-types.js';
import { faultNumber } from '../../src/faults/compile.js';
import { FaultService, FAULT_LINE, type FaultDataplane } from '../../src/services/faults.js';
import { zeroStats } from '../../src/supervisor/stats.js';

const logger = pino({ level: 'silent' });
const CTX = () => ({
  ports: [{ name: 'prod', role: 'production' }, { name: 'shadow-a', role: 'shadow' }],
  sessions: new Map([[10, 0]]),
  maps: [{ from: '10.0.0.0/16', to: '10.200.0.0/16' }],
  line: FAULT_LINE,
});

class Recorder implements FaultDataplane {
  state: FaultDataplane['state'] = 'running';
  tables: { at: number; ids: string[]; table: NativeFaultTable }[] = [];
  names = new Map<number, string>();
  polls: number[] = [];
  async setFaults(table: NativeFaultTable) {
    this.tables.push({ at: Date.now(), ids: table.faults.map((f) => this.names.get(f.id) ?? String(f.id)), table });
    return { generation: table.generation, warnings: [] };
  }
  pollEvery(ms: number) {
    this.polls.push(ms);
    return () => this.polls.push(-ms);
  }
}

function service(dp: FaultDataplane, stateDir: string | null = null, configFaults?: unknown[]) {
  const svc = new FaultService({ dataplane: dp, context: CTX, shadowPorts: () => [1], logger, stateDir, ...(configFaults ? { configFaults } : {}) });
  return svc;
}

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'st-faults-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a bad fault is refused with every problem naming its field; nothing is created or saved', async (t) => {
  const dir = tmp(t);
  const dp = new Recorder();
  const svc = service(dp, dir);
  t.teardown(() => svc.close());
  const err = await t.throwsAsync(svc.createFault({ id: 'bad', match: { port: 'nope' }, delay: { time: '-5ms' }, loss: { percent: 120 } }), { any: true });
  const problems = (err as unknown as { problems: { path: string; message: string }[] }).problems;
  t.is((err as { code?: string }).code, 'ST_ERR_FAULT_INVALID');
  t.deepEqual(problems.map((p) => p.path).sort(), ['delay.time', 'loss.percent', 'match.port']);
  t.deepEqual(svc.listFaults(), []);
  t.false(existsSync(join(dir, 'faults.json')));
  t.is(dp.tables.length, 0);
  const end = await t.throwsAsync(svc.createFault({ id: 'late', match: {}, netem: 'loss 1%', schedule: { start: '2030-01-01T00:00:00Z', end: '2029-01-01T00:00:00Z' } }), { any: true });
  t.is((end as unknown as { problems: { path: string }[] }).problems[0]!.path, 'schedule.end');
});

test('a fault that matches nothing is accepted and flagged; a duplicate id is a conflict', async (t) => {
  const svc = service(new Recorder());
  t.teardown(() => svc.close());
  const v = await svc.createFault({ id: 'odd', match: { src: '10.0.0.0/8', dst: '2001:db8::/32' }, netem: 'loss 1%' });
  t.is(v.state, 'idle');
  t.is(v.flags.length, 1);
  t.is(v.flags[0]!.path, 'match');
  t.regex(v.flags[0]!.message, /matches nothing/);
  const dup = await t.throwsAsync(svc.createFault({ id: 'odd', match: {}, netem: 'loss 2%' }), { any: true });
  t.is((dup as { code?: string }).code, 'ST_ERR_CONFLICT');
});

test('started and stopped on demand: each install is the armed set; the timeline records both with the install\'s time', async (t) => {
  const dp = new Recorder();
  const svc = service(dp);
  t.teardown(() => svc.close());
  for (const id of ['a', 'b']) dp.names.set(faultNumber(id), id);
  await svc.createFault({ id: 'a', match: { host: '10.0.5.17' }, kind: 'blackhole' });
  await svc.createFault({ id: 'b', match: {}, netem: 'delay 10ms' });
  t.is(dp.tables.length, 0, 'defining faults installs nothing');
  await svc.startFault('b');
  await svc.startFault('a');
  t.deepEqual(dp.tables.map((x) => x.ids), [['b'], ['a', 'b']], 'definition order: a before b');
  t.is(svc.getFault('a').state, 'active');
  await svc.stopFault('a');
  t.deepEqual(dp.tables.at(-1)!.ids, ['b']);
  const tl = svc.timelineEntries({ fault: 'a' }).filter((e) => e.type === 'activate' || e.type === 'deactivate');
  t.deepEqual(tl.map((e) => e.type), ['activate', 'deactivate']);
  t.true(tl.every((e) => e.applied === true && e.generation !== undefined && e.atMs >= e.dueMs));
  t.is(tl[1]!.reason, 'stopped on request');
});

test('every 1.2 s for 500 ms, 3 times: three activations and deactivations at the schedule\'s boundaries', async (t) => {
  const dp = new Recorder();
  const svc = service(dp);
  t.teardown(() => svc.close());
  const v = await svc.createFault({ id: 'rep', match: {}, netem: 'loss 5%', schedule: { duration: '500ms', every: '1200ms', times: 3 } });
  const anchor = Date.parse(v.startedAt!);
  const deadline = Date.now() + 20_000;
  while (svc.getFault('rep').state !== 'done' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.is(svc.getFault('rep').state, 'done');
  const tl = svc.timelineEntries({ fault: 'rep' }).filter((e) => e.type === 'activate' || e.type === 'deactivate');
  t.deepEqual(tl.map((e) => e.type), ['activate', 'deactivate', 'activate', 'deactivate', 'activate', 'deactivate']);
  // due times are exact (the schedule's own boundaries); the install follows them, late by what the load allows
  t.deepEqual(tl.map((e) => e.dueMs - anchor), [0, 500, 1200, 1700, 2400, 2900]);
  t.deepEqual(svc.timelineEntries({ fault: 'rep' }).filter((e) => e.type === 'error'), [], 'no window missed');
  for (const e of tl) {
    t.true(e.atMs >= e.dueMs, `${e.type} before it was due`);
    t.true(e.atMs - e.dueMs < 5000, `${e.type} ${e.atMs - e.dueMs} ms late`);
  }
  // each re-arming is a new epoch: the window index
  t.deepEqual(dp.tables.filter((x) => x.ids.length === 1).map((x) => x.table.faults[0]!.epoch), [0, 1, 2]);
});

function stats(mirror: number, shadowTx: number): NativeStats {
  const s = zeroStats(2, [1]);
  s.mirrorPackets = shadowTx;
  s.ports[1]!.txPackets = shadowTx;
  // what was not delivered was lost on the shadow path (here: tx queue full)
  s.ports[1]!.txDropped = mirror - shadowTx;
  return s;
}

test('a stop condition aborts the experiment: every fault of it disarmed, the crossing and the disarm recorded', async (t) => {
  const dp = new Recorder();
  const svc = service(dp);
  t.teardown(() => svc.close());
  await svc.createFault({ id: 'other', match: { port: 'shadow-a' }, netem: 'delay 1ms' });
  await svc.startFault('other');
  const ex = await svc.createExperiment({
    id: 'exp',
    faults: [{ id: 'x1', match: {}, netem: 'loss 50%' }, { id: 'x2', match: { protocol: 'udp' }, netem: 'delay 5ms' }],
    steps: [{ faults: ['x1', 'x2'], duration: '1h' }],
    stop: [{ metric: 'shadow_delivery_ratio', below: '60%', window: '200ms' }],
  }, { start: true });
  t.is(ex.state, 'running');
  t.true(dp.polls.includes(100), 'polls every 100 ms while a stop condition is armed');
  t.deepEqual(dp.tables.at(-1)!.table.faults.length, 3);
  // healthy traffic, then delivery collapses to 40 %
  let mirror = 0;
  let tx = 0;
  let at = Date.now();
  for (let i = 0; i < 30 && svc.getExperiment('exp').state === 'running'; i++) {
    mirror += 100;
    tx += i < 10 ? 100 : 40;
    at += 100;
    svc.onStats(stats(mirror, tx), Date.now());
    await new Promise((r) => setTimeout(r, 100));
  }
  const v = svc.getExperiment('exp');
  t.is(v.state, 'aborted');
  t.regex(v.abort!.reason, /shadow_delivery_ratio below 60%/);
  t.true(v.abort!.value < 0.6);
  t.not(v.abort!.disarmedAt, null);
  t.true(v.abort!.disarmMs! >= 0 && v.abort!.disarmMs! <= 200, `disarmed ${v.abort!.disarmMs} ms after the crossing`);
  t.deepEqual(dp.tables.at(-1)!.ids, [String(faultNumber('other'))].map(() => dp.tables.at(-1)!.ids[0]));
  t.is(dp.tables.at(-1)!.table.faults.length, 1, 'only the fault outside the experiment stays');
  t.true(dp.polls.includes(-100), 'the fast poll is released');
  const tl = svc.timelineEntries({ experiment: 'exp' });
  t.deepEqual(tl.filter((e) => e.type === 'deactivate').map((e) => e.fault).sort(), ['x1', 'x2']);
  t.true(tl.filter((e) => e.type === 'deactivate').every((e) => e.dueMs === Date.parse(v.abort!.crossedAt)));
  t.is(tl.filter((e) => e.type === 'abort').length, 1);
});

test('faults and experiments survive a restart of the service; a fault that was running is armed again', async (t) => {
  const dir = tmp(t);
  const dp = new Recorder();
  const a = service(dp, dir);
  await a.createFault({ id: 'keep', match: { host: '10.200.5.17', addressSpace: 'shadow' }, kind: 'blackhole' });
  await a.startFault('keep');
  await a.createFault({ id: 'idle', match: {}, netem: 'loss 1%' });
  await a.createExperiment({ id: 'e', faults: [{ id: 'e1', match: {}, netem: 'loss 1%' }], steps: [{ faults: ['e1'] }] });
  await a.close();
  const saved = JSON.parse(readFileSync(join(dir, 'faults.json'), 'utf8')) as { faults: unknown[] };
  t.is(saved.faults.length, 3);
  const dp2 = new Recorder();
  const b = service(dp2, dir);
  t.teardown(() => b.close());
  // started, not yet armed: no data plane has answered yet
  t.deepEqual(b.listFaults().map((f) => [f.id, f.state]), [['keep', 'scheduled'], ['idle', 'idle'], ['e1', 'idle']]);
  b.childReady();
  await b.refresh();
  t.is(b.getFault('keep').state, 'active');
  t.deepEqual(dp2.tables.at(-1)!.table.faults.map((f) => f.id), [faultNumber('keep')]);
  t.is(b.getExperiment('e').state, 'idle');
  // the timeline file carried over too
  t.true(b.timelineEntries({ fault: 'keep' }).some((e) => e.type === 'activate'));
});

test('the configuration file\'s faults: a scheduled one starts; an unusable state file stops the start unless discarded', async (t) => {
  const dir = tmp(t);
  const dp = new Recorder();
  const svc = service(dp, dir, [{ id: 'cfg', match: {}, netem: 'loss 1%', schedule: { duration: '1h' } }]);
  svc.childReady();
  await svc.refresh();
  t.is(svc.getFault('cfg').state, 'active');
  await svc.close();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'faults.json'), '{ not json');
  const err = t.throws(() => service(new Recorder(), dir), { any: true });
  t.is((err as { code?: string }).code, 'ST_ERR_STATE_CORRUPT');
  const again = new FaultService({ dataplane: new Recorder(), context: CTX, shadowPorts: () => [1], logger, stateDir: dir, discardState: true, configFaults: [] });
  t.teardown(() => again.close());
  t.deepEqual(again.listFaults(), []);
});

test('VM hooks: the stop hook when the step begins, the start hook when it ends; outcomes on the timeline; commands only when allowed', async (t) => {
  const { createServer } = await import('node:http');
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end('stopped vm17');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const body = {
    id: 'vm',
    faults: [{ id: 'v1', kind: 'blackhole', match: { host: '10.0.5.17' } }],
    steps: [{ faults: ['v1'], duration: '600ms', vm: { stop: { webhook: { url: `http://127.0.0.1:${port}/vm17/stop` } }, start: { command: ['sh', '-c', 'echo starting; exit 3'] } } }],
  };
  const locked = service(new Recorder());
  t.teardown(() => locked.close());
  const refused = await t.throwsAsync(locked.createExperiment(body), { any: true });
  t.is((refused as unknown as { problems: { path: string }[] }).problems[0]!.path, 'steps[0].vm.start.command');
  const svc = new FaultService({ dataplane: new Recorder(), context: CTX, shadowPorts: () => [1], logger, stateDir: null, allowHookCommands: () => true });
  t.teardown(() => svc.close());
  await svc.createExperiment(body, { start: true });
  const end = Date.now() + 15_000;
  while (svc.timelineEntries({ experiment: 'vm' }).filter((e) => e.type === 'hook').length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const hooks = svc.timelineEntries({ experiment: 'vm' }).filter((e) => e.type === 'hook');
  t.deepEqual(hits, ['POST /vm17/stop']);
  t.is(hooks.length, 2);
  t.like(hooks[0]!.detail, { which: 'stop', ok: true, kind: 'webhook', status: 200, output: 'stopped vm17' });
  t.like(hooks[1]!.detail, { which: 'start', ok: false, kind: 'command', exitCode: 3, output: 'starting' });
  t.regex(hooks[1]!.reason, /VM start hook failed: exited with status 3/);
  t.is(svc.getExperiment('vm').state, 'completed');
});
