/**
 * Policy changes refused for real, each leaving the running and the stored
 * state as they were:
 * - the data plane refuses an encapsulation (ST_ERR_ENCAP) and a classifier
 *   that does not fit in EAL memory (ST_ERR_NOMEM): the real host, driven
 *   over its protocol, keeps running the previous generation;
 * - through the supervisor, the same bad tunnel endpoint is a
 *   ST_ERR_POLICY_INVALID naming the config field (validated in TypeScript
 *   before anything reaches the data plane), and a data plane that does not
 *   answer the install in time (SIGSTOP) is ST_ERR_DATAPLANE_TIMEOUT: the
 *   configuration, the saved state and the policy the data plane runs all
 *   stay at the previous generation.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENCAP, type NativePolicy, type NativeTarget } from '../../src/dataplane/native-types.js';
import { PolicyError, type ShadowtapError } from '../../src/errors.js';
import { ip4, mac } from '../../src/pcap/build.js';
import { policy, rule, session, target } from '../helpers/policy-host.js';
import { makeSupervisor, processExists, scratch, until, vdevConfig } from '../helpers/supervised.js';
import { HostUnderTest, missingBuild } from './real-host.js';

const skip = missingBuild();

function vxlan(over: Partial<NativeTarget> = {}): NativeTarget {
  const v4 = (a: string): Uint8Array => {
    const out = new Uint8Array(16);
    out.set(ip4(a), 0);
    return out;
  };
  return {
    ...target([2]), encap: ENCAP.vxlan, vni: 42, outerSrc: v4('192.0.2.10'), outerDst: v4('192.0.2.1'),
    outerSrcMac: new Uint8Array(mac('02:5a:00:00:00:01')), outerDstMac: new Uint8Array(mac('02:aa:00:00:00:01')), ...over,
  };
}

const gen = (g: number, p: Partial<NativePolicy> = {}): NativePolicy => policy({ generation: g, sessions: [session({ slot: 0 })], rules: [rule(0, 0)], ...p });

async function runningGeneration(h: HostUnderTest): Promise<number> {
  const id = h.channel.id();
  h.channel.send({ type: 'policyStats', id });
  return (await h.channel.waitFor('policyStats', id, 10_000)).stats.generation;
}

test('an encapsulation the data plane refuses: ST_ERR_ENCAP naming the target field; the running policy stays', async (t) => {
  if (skip) return t.fail(skip);
  const h = new HostUnderTest('encap');
  t.teardown(() => h.kill());
  await h.hello();
  await h.start(h.startPlan(), gen(1));
  const before = await h.flowing();
  const cases: [Partial<NativeTarget>, string, RegExp][] = [
    [{ outerSrc: vxlan({ outerSrc: new Uint8Array(16) }).outerSrc.map((_, i) => (i === 0 ? 224 : i === 3 ? 1 : 0)) }, 'targets[0].outer_src', /outer source address is multicast: expected a unicast address/],
    [{ outerDst: new Uint8Array(16) }, 'targets[0].outer_dst', /outer destination address is unspecified/],
    [{ outerDstMac: new Uint8Array(6) }, 'targets[0].outer_dst_mac', /outer destination MAC is 00:00:00:00:00:00/],
    [{ encap: ENCAP.vlan, vlanId: 4095 }, 'targets[0].vlan_id', /VLAN id must be 0\.\.4094/],
  ];
  for (const [over, field, message] of cases) {
    const err = await h.refused({ type: 'policy', id: h.channel.id(), policy: gen(2, { targets: [vxlan(over)] }) }, 'policyInstalled');
    t.is(err.code, 'ST_ERR_ENCAP', field);
    t.is(err.field, field);
    t.regex(err.message, message);
    t.is(await runningGeneration(h), 1, `${field}: generation 1 still runs`);
  }
  await h.flowing(before);
  // Nothing half-installed: a good tunnel is accepted afterwards.
  const id = h.channel.id();
  h.channel.send({ type: 'policy', id, policy: gen(2, { targets: [vxlan()] }) });
  t.is((await h.channel.waitFor('policyInstalled', id, 60_000)).generation, 2);
  t.is(await runningGeneration(h), 2);
  await h.channel.stop();
});

test('a classifier larger than EAL memory: ST_ERR_NOMEM naming the session and memory_mb; the running policy stays', async (t) => {
  if (skip) return t.fail(skip);
  const h = new HostUnderTest('acl-nomem', { memoryMb: 168 });
  t.teardown(() => h.kill());
  await h.hello();
  await h.start(h.startPlan(), gen(1));
  const before = await h.flowing();
  // 8192 rules with arbitrary /16 sources and port ranges (seeded): far more
  // classifier than -m 168 leaves after the two map tables (64 MiB each), the
  // pools and the per-worker state, which is enough for generation 1's one rule.
  let seed = 0x5eed;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const rules = Array.from({ length: 8192 }, (_, i) => {
    const [a, b, c, d] = [rnd(65536), rnd(65536), rnd(65536), rnd(65536)];
    return rule(0, i, { proto: 6, src: `${1 + rnd(223)}.${rnd(256)}.0.0/16`, sport: [Math.min(a, b), Math.max(a, b)], dport: [Math.min(c, d), Math.max(c, d)] });
  });
  const err = await h.refused({ type: 'policy', id: h.channel.id(), policy: gen(2, { rules }) }, 'policyInstalled', 300_000);
  t.is(err.code, 'ST_ERR_NOMEM', err.message);
  t.is(err.field, 'policy.sessions[0]');
  t.regex(err.message, /not enough memory to build the classifier for 8192 rules/);
  t.regex(err.message, /dataplane\.eal\.memory_mb/);
  t.is(await runningGeneration(h), 1);
  await h.flowing(before);
  await h.channel.stop();
});

const remote = (src: string) => ({
  targets: [{ name: 'remote', ports: ['shadow0'], encap: { vxlan: { vni: 5, outer: { src, dst: '192.0.2.1', dst_mac: '02:aa:00:00:00:01' } } } }],
  sessions: [{ id: 1, target: 'remote' }],
});

/** The generation the live data plane runs, asked of the child itself (not the supervisor's bookkeeping). */
async function childGeneration(sup: ReturnType<typeof makeSupervisor>): Promise<number> {
  const child = sup.lifecycle.child;
  if (!child) throw new Error('no live child');
  return (await child.policyStats(10_000)).generation;
}

test('through the supervisor: a multicast or unspecified tunnel endpoint is ST_ERR_POLICY_INVALID naming the config field; nothing changes', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('encap-sup');
  const stateDir = join(s.dir, 'state');
  const sup = makeSupervisor(`st-err-encap-sup-${process.pid}`, vdevConfig(s.capture), { stateDir });
  t.teardown(async () => {
    await sup.stop();
    s.dispose();
  });
  await sup.start();
  await sup.applyPolicy(remote('192.0.2.10'));
  const saved = readFileSync(join(stateDir, 'policy.json'), 'utf8');
  const cases: [string, string, RegExp][] = [
    ['224.0.0.1', 'src', /"224\.0\.0\.1" is a multicast address; expected the local tunnel endpoint's unicast address/],
    ['255.255.255.255', 'src', /is the broadcast address/],
    ['0.0.0.0', 'src', /"0\.0\.0\.0" is the unspecified address/],
  ];
  for (const [src, side, message] of cases) {
    const err = await sup.applyPolicy(remote(src)).catch((e: unknown) => e as ShadowtapError);
    t.true(err instanceof PolicyError, `${src}: ${(err as Error).message}`);
    t.is((err as ShadowtapError).code, 'ST_ERR_POLICY_INVALID');
    const p = (err as PolicyError).problems.find((x) => x.path === `targets[0].encap.vxlan.outer.${side}`);
    t.truthy(p, `${src}: a problem at targets[0].encap.vxlan.outer.${side}; got ${JSON.stringify((err as PolicyError).problems)}`);
    t.regex(p?.message ?? '', message);
  }
  const dst = await sup.applyPolicy({ ...remote('192.0.2.10'), targets: [{ name: 'remote', ports: ['shadow0'], encap: { vxlan: { vni: 5, outer: { src: '192.0.2.10', dst: '::' } } } }] }).catch((e: unknown) => e as PolicyError);
  t.true(dst instanceof PolicyError);
  t.regex((dst as PolicyError).message, /targets\[0\]\.encap\.vxlan\.outer\.dst: "::" is the unspecified address; expected the remote tunnel endpoint's unicast address/);
  t.is(sup.policyView().generation, 2, 'the configuration in force is still generation 2');
  t.is(readFileSync(join(stateDir, 'policy.json'), 'utf8'), saved, 'the saved state is untouched');
  t.is(await childGeneration(sup), 2, 'the data plane still runs generation 2');
});

test('a data plane that does not answer an install in time: ST_ERR_DATAPLANE_TIMEOUT, and the policy it runs stays the one in force', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('timeout');
  const stateDir = join(s.dir, 'state');
  const sup = makeSupervisor(`st-err-timeout-${process.pid}`, vdevConfig(s.capture), { stateDir, policyTimeoutMs: 2000 });
  const stopped: number[] = [];
  t.teardown(async () => {
    for (const pid of stopped) if (processExists(pid)) process.kill(pid, 'SIGCONT');
    await sup.stop();
    s.dispose();
  });
  // No install before the one that times out: a short policyTimeoutMs must
  // not race a real compile on a loaded machine.
  await sup.start();
  const pid = sup.childPid()!;
  // The host stops answering: it gets the request, but only runs once continued.
  process.kill(pid, 'SIGSTOP');
  stopped.push(pid);
  const err = await sup.applyPolicy({ sessions: [{ id: 5, filters: [{ app: 'dns' }] }] }).catch((e: unknown) => e as ShadowtapError);
  t.is((err as ShadowtapError).code, 'ST_ERR_DATAPLANE_TIMEOUT', (err as Error).message);
  t.is((err as ShadowtapError).statusCode, 504);
  t.regex((err as Error).message, new RegExp(`data-plane process ${pid} did not answer "policy" within 2000 ms`));
  t.regex((err as Error).message, /restarted with policy generation 1, the one in force/);
  t.is(sup.policyView().generation, 1);
  t.is(sup.config.sessions, undefined, 'the configuration in force is unchanged');
  t.false(existsSync(join(stateDir, 'policy.json')), 'nothing was saved');
  // A late answer must not install generation 3 behind the supervisor's back.
  await until('the data plane runs again', () => sup.state === 'running' && sup.childPid() !== pid, 60_000);
  t.false(processExists(pid), 'the host that timed out is gone');
  t.is(await childGeneration(sup), 1, 'the data plane runs generation 1');
  t.is(sup.restartCount(), 1);
  t.regex(sup.status().lastError?.message ?? '', /did not answer a policy install in time/);
  t.false(existsSync(stateDir) && readdirSync(stateDir).length > 0, 'no temporary state file left');
});
