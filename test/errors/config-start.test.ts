/**
 * Start-up errors an operator causes with a configuration the host cannot
 * run, caused for real through the supervisor, the real host and addon on
 * DPDK vdevs: more workers than the production port has queues
 * (ST_ERR_PORT_QUEUES) and memory too small for the pools or the map tables
 * (ST_ERR_NOMEM, --no-huge with -m); and a second start of a running
 * supervisor (ST_ERR_STATE). Each asserts the code, the field, that
 * the message names the cause and the setting to change, and that nothing is
 * left running or behind.
 */
import test from 'ava';
import type { ShadowtapError } from '../../src/errors.js';
import { leftovers, makeSupervisor, missingBuild, processExists, scratch, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();

async function refusedStart(tag: string, extra: Record<string, unknown>) {
  const s = scratch(tag);
  const prefixBase = `st-err-${tag}-${process.pid}`;
  const sup = makeSupervisor(prefixBase, vdevConfig(s.capture, extra));
  const pids: number[] = [];
  sup.on('started', (e) => pids.push(e.pid));
  let err: ShadowtapError | undefined;
  try {
    await sup.start();
  } catch (e) {
    err = e as ShadowtapError;
  }
  const alive = pids.filter(processExists);
  const status = sup.status();
  await sup.stop();
  s.dispose();
  return { err, alive, status, left: leftovers(prefixBase) };
}

test('more workers than the production port has rx queues: ST_ERR_PORT_QUEUES naming the port and the numbers', async (t) => {
  if (skip) return t.fail(skip);
  // net_pcap with one rx_pcap has one rx queue; two workers need one each.
  const r = await refusedStart('queues', { dataplane: { workers: 2, idle: 'adaptive' } });
  t.is(r.err?.code, 'ST_ERR_PORT_QUEUES');
  t.is(r.err?.statusCode, 422);
  t.is(r.err?.field, 'ports[0].device');
  t.regex(r.err?.message ?? '', /production port 'prod-in' \(net_pcap0\) has at most 1 rx queue\(s\) but the plan has 2 workers/);
  t.regex(r.err?.message ?? '', /use at most 1 worker/);
  t.is(r.status.state, 'failed');
  t.is(r.status.lastError?.code, 'ST_ERR_PORT_QUEUES');
  t.deepEqual(r.alive, [], 'the child has exited');
  t.deepEqual(r.left, [], 'no EAL runtime directory left');
});

test('a production pool larger than EAL memory: ST_ERR_NOMEM naming the pool and both settings', async (t) => {
  if (skip) return t.fail(skip);
  // 400000 mbufs of ~2.3 KiB each cannot fit in -m 256 (--no-huge).
  const r = await refusedStart('nomem-pool', { dataplane: { workers: 1, idle: 'adaptive', eal: { memory_mb: 256 }, mempool: { production_mbufs: 400000 } } });
  t.is(r.err?.code, 'ST_ERR_NOMEM');
  t.is(r.err?.statusCode, 500);
  t.is(r.err?.field, 'prodPoolMbufs');
  t.regex(r.err?.message ?? '', /cannot create the production mempool of 400000 mbufs \(about \d+ MiB\)/);
  t.regex(r.err?.message ?? '', /raise dataplane\.eal\.memory_mb or set dataplane\.mempool\.production_mbufs lower/);
  t.is(r.status.state, 'failed');
  t.deepEqual(r.alive, []);
  t.deepEqual(r.left, []);
});

test('the smallest memory_mb the schema allows: ST_ERR_NOMEM for the map table, not a map error', async (t) => {
  if (skip) return t.fail(skip);
  // -m 64 cannot hold an IPv4 LPM table (64 MiB of tbl24 alone).
  const r = await refusedStart('nomem-map', { dataplane: { workers: 1, idle: 'adaptive', eal: { memory_mb: 64 } } });
  t.is(r.err?.code, 'ST_ERR_NOMEM', r.err?.message);
  t.is(r.err?.field, 'map4');
  t.regex(r.err?.message ?? '', /cannot create the IPv4 map table: out of EAL memory/);
  t.regex(r.err?.message ?? '', /raise dataplane\.eal\.memory_mb/);
  t.is(r.status.state, 'failed');
  t.deepEqual(r.alive, []);
  t.deepEqual(r.left, []);
});

test('start() on a running supervisor: ST_ERR_STATE (409), the running data plane untouched', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('state');
  const sup = makeSupervisor(`st-err-state-${process.pid}`, vdevConfig(s.capture));
  t.teardown(async () => {
    await sup.stop();
    s.dispose();
  });
  await sup.start();
  const pid = sup.childPid();
  const err = await sup.start().then(() => undefined, (e: unknown) => e as ShadowtapError);
  t.is(err?.code, 'ST_ERR_STATE');
  t.is(err?.statusCode, 409);
  t.is(err?.message, 'cannot start: the data plane is running');
  t.is(sup.state, 'running');
  t.is(sup.childPid(), pid, 'the same data-plane process');
  t.true(pid !== null && processExists(pid));
  t.is(sup.status().lastError, null, 'a refused call is not a data-plane error');
});
