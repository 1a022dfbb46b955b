/**
 * dpdk-testpmd drives net_shadowsim (loaded with -d) through rte_flow, per
 * emulated family: what the profile allows is validated and created, the rest
 * is refused with the PMD's error. It also shows that testpmd parses each
 * command, the check the planner's rendered rules reuse.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runTestpmd, SIM_PLUGIN, type CommandResult } from './testpmd.js';

const RTE_FLOW_ERROR_TYPE_ACTION = 16;
const RTE_FLOW_ERROR_TYPE_ITEM = 13;
const RTE_FLOW_ERROR_TYPE_HANDLE = 2;

function haveTestpmd(): boolean {
  try {
    execFileSync('dpdk-testpmd', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return existsSync('/usr/bin/dpdk-testpmd');
  }
}

function byCommand(results: CommandResult[], prefix: string): CommandResult {
  const r = results.find((x) => x.command.startsWith(prefix));
  if (!r) throw new Error(`no result for ${prefix}`);
  return r;
}

function summary(results: CommandResult[]): string {
  return results.map((r) => `${r.outcome.padEnd(8)} ${r.command}${r.message ? `\n         -> ${r.message}` : ''}`).join('\n');
}

test.before((t) => {
  if (!existsSync(SIM_PLUGIN)) t.log(`${SIM_PLUGIN} missing`);
});

test('testpmd + mlx5-like: SAMPLE with set_ipv4_dst, E-Switch mirror, VXLAN encap of the copy, COUNT', async (t) => {
  t.true(haveTestpmd(), 'dpdk-testpmd not found (Debian package dpdk-dev)');
  t.true(existsSync(SIM_PLUGIN), `${SIM_PLUGIN} is missing: the CMake build did not produce it`);
  const commands = [
    'flow validate 0 ingress pattern eth / ipv4 / end actions set_ipv4_dst ipv4_addr 10.9.9.9 / queue index 0 / end',
    'set sample_actions 0 mark id 8 / queue index 1 / end',
    'flow validate 0 ingress pattern eth / ipv4 / end actions sample ratio 1 index 0 / set_ipv4_dst ipv4_addr 10.9.9.9 / queue index 0 / end',
    'flow validate 0 ingress pattern eth / ipv4 / end actions set_ipv4_dst ipv4_addr 10.9.9.9 / sample ratio 4 index 0 / queue index 0 / end',
    'set sample_actions 1 port_id id 1 / end',
    'flow validate 0 transfer pattern eth / ipv4 / end actions sample ratio 1 index 1 / port_id id 0 / end',
    'set vxlan ip-version ipv4 vni 4660 udp-src 49152 udp-dst 4789 ip-src 198.51.100.1 ip-dst 198.51.100.2 eth-src 02:00:00:00:00:01 eth-dst 02:00:00:00:00:02',
    'set sample_actions 2 vxlan_encap / port_id id 1 / end',
    'flow validate 0 transfer pattern eth / ipv4 / udp / end actions sample ratio 1 index 2 / port_id id 0 / end',
    'flow validate 0 transfer pattern eth / ipv4 / end actions sample ratio 2 index 1 / port_id id 0 / end',
    'set sample_actions 3 queue index 1 / end',
    'flow validate 0 transfer pattern eth / ipv4 / end actions sample ratio 1 index 3 / port_id id 0 / end',
    'flow validate 0 egress pattern eth / ipv4 / end actions sample ratio 1 index 0 / end',
    'flow create 0 ingress pattern eth / ipv4 dst is 10.0.0.2 / udp / end actions count / set_ipv4_dst ipv4_addr 10.9.9.9 / set_tp_dst port 8080 / queue index 0 / end',
    'flow create 0 transfer pattern eth / ipv6 / end actions of_push_vlan ethertype 0x8100 / of_set_vlan_vid vlan_vid 100 / port_id id 1 / end',
    'flow list 0',
    'flow query 0 0 count',
    'flow destroy 0 rule 1',
    'flow flush 0',
  ];
  // one E-Switch: a transfer rule may send only to a port of its own switch domain
  const r = await runTestpmd({ ports: [{ family: 'mlx5', devargs: 'switch_domain=1' }, { family: 'net_null', devargs: 'switch_domain=1' }], commands });
  const s = summary(r.results);
  t.is(r.code, 0, `testpmd exited ${r.code ?? r.signal}\n${r.output.slice(-3000)}`);
  t.is(r.results[0]!.outcome, 'ok', s);
  t.is(byCommand(r.results, 'flow validate 0 ingress pattern eth / ipv4 / end actions sample ratio 1 index 0').outcome, 'ok', s);
  t.is(byCommand(r.results, 'flow validate 0 ingress pattern eth / ipv4 / end actions set_ipv4_dst ipv4_addr 10.9.9.9 / sample ratio 4').outcome, 'ok', s);
  t.is(byCommand(r.results, 'flow validate 0 transfer pattern eth / ipv4 / end actions sample ratio 1 index 1').outcome, 'ok', s);
  t.is(byCommand(r.results, 'flow validate 0 transfer pattern eth / ipv4 / udp / end actions sample ratio 1 index 2').outcome, 'ok', s);
  // transfer, ratio above 1: nothing extra on the copy
  const ratio2 = byCommand(r.results, 'flow validate 0 transfer pattern eth / ipv4 / end actions sample ratio 2');
  t.is(ratio2.outcome, 'error', s);
  t.is(ratio2.errorType, RTE_FLOW_ERROR_TYPE_ACTION);
  // the E-Switch copy cannot go to a queue (testpmd cannot even write a rewrite in a sample list; native/test covers that)
  const copyRewrite = byCommand(r.results, 'flow validate 0 transfer pattern eth / ipv4 / end actions sample ratio 1 index 3');
  t.is(copyRewrite.outcome, 'error', s);
  t.regex(copyRewrite.message ?? '', /Doesn't support optional action/);
  t.is(byCommand(r.results, 'flow validate 0 egress').outcome, 'error', s);
  t.is(byCommand(r.results, 'flow create 0 ingress').outcome, 'ok', s);
  t.is(byCommand(r.results, 'flow create 0 transfer').outcome, 'ok', s);
  t.regex(byCommand(r.results, 'flow list 0').output, /ETH IPV4 UDP => COUNT SET_IPV4_DST SET_TP_DST QUEUE/);
  t.regex(byCommand(r.results, 'flow query 0 0 count').output, /hits_set: 1/);
  t.is(byCommand(r.results, 'flow destroy 0 rule 1').outcome, 'ok', s);
  for (const res of r.results) t.not(res.outcome, 'unparsed', `testpmd did not parse: ${res.command}\n${res.output}`);
});

test('testpmd + ice-like: no SAMPLE, no rewrite, ingress only; classify, mark, queue, drop', async (t) => {
  t.true(existsSync(SIM_PLUGIN), `${SIM_PLUGIN} is missing`);
  const commands = [
    'set sample_actions 0 mark id 8 / queue index 1 / end',
    'flow validate 0 ingress pattern eth / ipv4 / end actions sample ratio 1 index 0 / queue index 0 / end',
    'flow validate 0 ingress pattern eth / ipv4 / end actions set_ipv4_dst ipv4_addr 10.9.9.9 / queue index 0 / end',
    'flow validate 0 ingress pattern eth / ipv4 / udp dst is 53 / end actions mark id 1 / queue index 1 / end',
    'flow validate 0 ingress pattern eth / ipv6 / tcp / end actions drop / end',
    'flow validate 0 ingress pattern eth / ipv4 / end actions count / rss queues 0 1 end / end',
    'flow validate 0 egress pattern eth / end actions drop / end',
    'flow create 0 ingress pattern eth / ipv4 / udp dst is 53 / end actions mark id 1 / queue index 1 / end',
  ];
  const r = await runTestpmd({ ports: [{ family: 'ice' }], commands });
  const s = summary(r.results);
  t.is(r.code, 0, r.output.slice(-3000));
  const sample = byCommand(r.results, 'flow validate 0 ingress pattern eth / ipv4 / end actions sample');
  t.is(sample.outcome, 'error', s);
  t.is(sample.errorType, RTE_FLOW_ERROR_TYPE_ACTION);
  t.regex(sample.message ?? '', /^Invalid action\./);
  t.is(byCommand(r.results, 'flow validate 0 ingress pattern eth / ipv4 / end actions set_ipv4_dst').outcome, 'error', s);
  t.is(byCommand(r.results, 'flow validate 0 ingress pattern eth / ipv4 / udp dst is 53').outcome, 'ok', s);
  t.is(byCommand(r.results, 'flow validate 0 ingress pattern eth / ipv6 / tcp').outcome, 'ok', s);
  t.is(byCommand(r.results, 'flow validate 0 ingress pattern eth / ipv4 / end actions count / rss').outcome, 'ok', s);
  t.is(byCommand(r.results, 'flow validate 0 egress').outcome, 'error', s);
  t.is(byCommand(r.results, 'flow create 0').outcome, 'ok', s);
});

test('testpmd + net_tap-like: validate accepts only drop, queue, passthru; create fails', async (t) => {
  t.true(existsSync(SIM_PLUGIN), `${SIM_PLUGIN} is missing`);
  const commands = [
    'flow validate 0 ingress pattern eth / ipv4 / end actions drop / end',
    'flow validate 0 ingress pattern eth / ipv4 / tcp / end actions queue index 1 / end',
    'flow validate 0 ingress pattern eth / end actions passthru / end',
    'flow validate 0 ingress pattern eth / ipv4 / end actions mark id 1 / queue index 0 / end',
    'flow validate 0 ingress pattern eth / ipv4 / end actions rss queues 0 1 end / end',
    'flow validate 0 ingress pattern eth / ipv4 / end actions set_ipv4_dst ipv4_addr 10.9.9.9 / queue index 0 / end',
    'flow validate 0 ingress pattern eth / ipv4 / udp / vxlan / end actions drop / end',
    'flow create 0 ingress pattern eth / ipv4 / end actions drop / end',
  ];
  const r = await runTestpmd({ ports: [{ family: 'net_tap' }], commands });
  const s = summary(r.results);
  t.is(r.code, 0, r.output.slice(-3000));
  t.deepEqual(
    r.results.slice(0, 7).map((x) => x.outcome),
    ['ok', 'ok', 'ok', 'error', 'error', 'error', 'error'],
    s,
  );
  t.is(r.results[6]!.errorType, RTE_FLOW_ERROR_TYPE_ITEM, s);
  const create = r.results[7]!;
  t.is(create.outcome, 'error', s);
  t.is(create.errorType, RTE_FLOW_ERROR_TYPE_HANDLE);
  t.regex(create.message ?? '', /Kernel too old for flower support/);
});

test('testpmd + capacity devarg: the table fills and create fails the mlx5 way', async (t) => {
  t.true(existsSync(SIM_PLUGIN), `${SIM_PLUGIN} is missing`);
  const rule = 'flow create 0 ingress pattern eth / ipv4 / end actions queue index 0 / end';
  const r = await runTestpmd({ ports: [{ family: 'mlx5', devargs: 'capacity=2' }], commands: [rule, `${rule} `, `${rule}  `] });
  const s = summary(r.results);
  t.deepEqual(r.results.map((x) => x.outcome), ['ok', 'ok', 'error'], s);
  t.regex(r.results[2]!.message ?? '', /table full, capacity 2/);
});
