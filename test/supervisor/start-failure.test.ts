/**
 * A first start that fails rejects with the structured error, quotes EAL,
 * and leaves nothing running: on the REAL host and addon.
 */
import test from 'ava';
import type { ShadowtapError } from '../../src/errors.js';
import { leftovers, makeSupervisor, missingBuild, processExists, scratch, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();

async function startError(sup: ReturnType<typeof makeSupervisor>): Promise<ShadowtapError | undefined> {
  const pids: number[] = [];
  sup.on('started', (e) => pids.push(e.pid));
  try {
    await sup.start();
  } catch (err) {
    // The child it forked must be gone by the time start() rejects.
    for (const pid of pids) if (processExists(pid)) return Object.assign(err as ShadowtapError, { leftPid: pid });
    return err as ShadowtapError;
  }
  return undefined;
}

test('a bad EAL argument: ST_ERR_EAL_INIT naming EAL\'s reason, nothing left running', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('ealfail');
  const prefixBase = `st-sup-ealfail-${process.pid}`;
  const sup = makeSupervisor(prefixBase, vdevConfig(s.capture, { dataplane: { eal: { extra_args: ['--no-such-eal-option'] } } }));
  const failed: string[] = [];
  sup.on('failed', (e) => failed.push(`${e.error.code}:${e.restarting}`));
  try {
    const err = await startError(sup);
    t.truthy(err, 'start() must reject');
    t.is(err?.code, 'ST_ERR_EAL_INIT');
    t.is(err?.statusCode, 500);
    t.regex(err?.message ?? '', /rte_eal_init failed/);
    t.regex(err?.message ?? '', /unrecognized option '--no-such-eal-option'/, 'EAL\'s own words are quoted');
    t.is((err as { leftPid?: number } | undefined)?.leftPid, undefined, 'the child has exited');
    const status = sup.status();
    t.is(status.state, 'failed');
    t.is(status.pid, null);
    t.is(status.restarts, 0, 'a failed first start is not retried');
    t.is(status.lastError?.code, 'ST_ERR_EAL_INIT');
    t.deepEqual(failed, ['ST_ERR_EAL_INIT:false']);
    t.deepEqual(leftovers(prefixBase), []);
    // Nothing is scheduled: it stays failed.
    await new Promise((r) => setTimeout(r, 800));
    t.is(sup.status().state, 'failed');
    t.is(sup.childPid(), null);
  } finally {
    await sup.stop();
    s.dispose();
  }
});

test('a vdev that cannot be probed: ST_ERR_PORT_NOT_FOUND naming the port, with the driver\'s reason', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('portfail');
  const prefixBase = `st-sup-portfail-${process.pid}`;
  const sup = makeSupervisor(prefixBase, vdevConfig(`${s.dir}/does-not-exist.pcap`));
  try {
    const err = await startError(sup);
    t.is(err?.code, 'ST_ERR_PORT_NOT_FOUND');
    t.is(err?.field, 'ports[0].device');
    t.regex(err?.message ?? '', /prod-in/);
    t.regex(err?.message ?? '', /Couldn't open .*does-not-exist\.pcap/, 'net_pcap\'s own reason is quoted');
    t.is((err as { leftPid?: number } | undefined)?.leftPid, undefined);
    t.is(sup.status().state, 'failed');
    t.deepEqual(leftovers(prefixBase), []);
  } finally {
    await sup.stop();
    s.dispose();
  }
});

test('a host that is not there: ST_ERR_DATAPLANE_EXIT, nothing left running', async (t) => {
  const s = scratch('nohost');
  const prefixBase = `st-sup-nohost-${process.pid}`;
  const sup = makeSupervisor(prefixBase, vdevConfig(s.capture), { hostPath: `${s.dir}/no-such-host.js` });
  try {
    const err = await startError(sup);
    t.is(err?.code, 'ST_ERR_DATAPLANE_EXIT');
    t.regex(err?.message ?? '', /exited with code 1 during start/);
    t.regex(err?.message ?? '', /Cannot find module/);
    t.is(sup.status().state, 'failed');
  } finally {
    await sup.stop();
    s.dispose();
  }
});
