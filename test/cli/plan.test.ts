/**
 * `shadowtap plan`: the real CLI entry in a child process for the embedded
 * demo, usage, bad configurations and --url (against an admin API served
 * here over the fake supervisor); planCommand() in-process for ports read
 * from a fake sysfs tree (a ConnectX-6 Dx, an E810), whose explanations must
 * carry the hardware and hybrid reasons.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { Value } from '@sinclair/typebox/value';
import app from '../../src/api/app.js';
import { planCommand } from '../../src/cli/plan.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { PlacementPlanSchema, type PlacementPlan } from '../../src/offload/planner.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';
import { CX6DX, E810, fakeSysfs } from '../helpers/fake-sysfs.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: root, encoding: 'utf8', timeout: 90_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

function tmp(t: { teardown(fn: () => unknown): void }, tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `st-plan-${tag}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One production port on PCI, a sink, a capture shadow; an exact translated flow and a sampled, truncated subnet. */
const SITE = (pci: string) => `mode: inline
ports:
  - { name: prod0, device: "${pci}", egress: prod-out }
  - { name: prod-out, device: "net_null0,no-rx=1", role: egress }
  - { name: shadow0, device: "net_pcap0,tx_pcap=s.pcap", role: shadow }
translate:
  ipv4: [{ from: 10.0.0.0/16, to: 10.99.0.0/16 }]
targets:
  - { name: vlan100, ports: [shadow0], encap: { vlan: { id: 100 } } }
sessions:
  - id: 7
    target: vlan100
    filters: [{ protocol: tcp, src: 10.0.0.5/32, dst: 10.0.0.9/32, dst_ports: 5432 }]
  - id: 9
    target: vlan100
    sample: { percent: 25, mode: packet }
    snaplen: 256
    filters: [{ protocol: udp, dst: 10.0.1.0/24, dst_ports: 53 }]
`;

test('plan --help, and plan in the command list', async (t) => {
  const h = await cli(['plan', '--help']);
  t.is(h.status, 0);
  t.regex(h.stdout, /^usage: shadowtap plan \[--config FILE\] \[--explain \| --json\]/);
  t.regex(h.stdout, /examples:\n  shadowtap plan\n  shadowtap plan --config site\.yaml --explain/);
  t.regex(h.stdout, /exit status: 0 ok, 1 invalid configuration/);
  t.is((await cli(['help', 'plan'])).stdout, h.stdout);
  t.regex((await cli(['--help'])).stdout, /\n {2}plan {11}show where each piece of the policy runs/);
});

test('plan: the embedded demo, offline, as a summary, --explain and --json', async (t) => {
  const r = await cli(['plan']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^embedded demo config: placement plan for policy generation 1: 1 session placement \(0 hardware, 0 hybrid, 1 software\), 0 hardware rules\n/);
  t.regex(r.stdout, /\n {2}prod-in {3}production driver net_pcap, profile net_pcap \(by driver\), not probed: software, 0 hardware rules\n/);
  t.regex(r.stdout, /\n {2}prod-out {2}egress {5}driver net_null, profile net_null \(by driver\), not probed\n/);
  t.regex(r.stdout, /\n {2}session 0 on prod-in rx: software: net_pcap: no rte_flow\n/);

  const e = await cli(['plan', '--explain']);
  t.is(e.status, 0, e.stderr);
  t.regex(e.stdout, /^embedded demo config: offline plan: drivers from the device names and this host's sysfs; nothing probed\n\nPlacement plan for policy generation 1/);
  t.regex(e.stdout, /Port prod-in \(index 0, production\): driver net_pcap, profile net_pcap \(by driver\)\n {2}driver net_pcap matches profile net_pcap\n/);
  t.regex(e.stdout, /note: not probed: planned on profile net_pcap's facts alone/);
  t.regex(e.stdout, /Session 0 on prod-in rx: software: net_pcap: no rte_flow\n {2}classification software classified in software: net_pcap: no rte_flow \[software stage: classify\]/);
  t.regex(e.stdout, /Control plane on prod-in: software/);

  const j = await cli(['plan', '--json']);
  t.is(j.status, 0, j.stderr);
  const body = JSON.parse(j.stdout) as PlacementPlan;
  t.true(Value.Check(PlacementPlanSchema, body));
  t.deepEqual(body.ports.slice(0, 3).map((p) => [p.name, p.profile]), [['prod-in', 'net_pcap'], ['prod-out', 'net_null'], ['shadow0', 'net_pcap']]);
});

test('plan: usage errors exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['plan', '--explain', '--json'], /--explain and --json: choose one/],
    [['plan', '--config', 'a.yaml', '--url', 'http://127.0.0.1:9'], /--config and --url: choose one/],
    [['plan', 'site.yaml'], /unexpected argument "site\.yaml"; use --config FILE/],
    [['plan', '--explian'], /--explian/],
  ];
  for (const [args, why] of cases) {
    const r = await cli(args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, why, args.join(' '));
    t.regex(r.stderr, /run `shadowtap plan --help` for usage/);
  }
});

test('plan: a bad configuration exits 1 with every problem', async (t) => {
  const dir = tmp(t, 'bad');
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, SITE('0000:5e:00.0').replace('device: "net_null0,no-rx=1"', 'device: "net_nul0"').replace('    target: vlan100\n    sample', '    target: vlan10\n    sample'));
  const r = await cli(['plan', '--config', file, '--explain']);
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, new RegExp(`^${file}: 2 problems:\n`));
  t.regex(r.stderr, new RegExp(`${file}:4: ports\\[1\\]\\.device: "net_nul0" is neither a PCI address nor a supported vdev`));
  t.regex(r.stderr, new RegExp(`${file}:\\d+: sessions\\[1\\]\\.target: unknown target "vlan10"`));
  const missing = await cli(['plan', '-c', join(dir, 'nope.yaml')]);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /nope\.yaml: cannot read: ENOENT/);
});

test('plan --explain: a ConnectX-6 Dx from sysfs plans hardware classification and sampling, hybrid mirroring, with reasons', async (t) => {
  const sys = fakeSysfs([CX6DX]);
  t.teardown(sys.cleanup);
  const dir = tmp(t, 'mlx5');
  const file = join(dir, 'site.yaml');
  writeFileSync(file, SITE(CX6DX.pci));

  const r = await planCommand({ config: file, explain: true, root: sys.root });
  t.is(r.code, 0, r.stderr.join('\n'));
  const text = r.stdout.join('\n');
  t.regex(text, /Port prod0 \(index 0, production\): driver mlx5_core, PCI 15b3:101d, profile mlx5 \(by pci\)\n {2}no profile lists driver mlx5_core; PCI id 15b3:101d \(ConnectX-6 Dx\) matches profile mlx5\n/);
  t.regex(text, /note: driver mlx5_core is the kernel driver sysfs reports/);
  t.regex(text, /note: not probed: planned on profile mlx5's facts alone/);
  // Session 7: an exact flow, classified in hardware, copied by SAMPLE to the software path.
  t.regex(text, /Session 7 on prod0 rx: hybrid: mlx5 matches and copies to the software path \(MARK 4096\); software finishes the copy\n/);
  t.regex(text, /\n {2}classification hardware mlx5: \d+ rules match in ingress and MARK 256 /);
  t.regex(text, /\n {2}mirroring {6}hybrid {3}mlx5: SAMPLE ratio 1 in ingress copies to the software path with MARK 4096; software sends it to shadow0 \(not straight to shadow0: prod0 and shadow0 are not known to share an E-Switch \(no switch domain reported\)\)/);
  t.regex(text, /\n {2}encap {10}software VLAN 100 in software/);
  t.regex(text, /\n {2}not taken: not all in hardware: prod0 and shadow0 are not known to share an E-Switch/);
  // Session 9: per-packet 25 % is SAMPLE ratio 4 in hardware; truncation stays in software.
  t.regex(text, /\n {2}sampling {7}hardware mlx5: SAMPLE ratio 4 in ingress takes 1 packet in 4 \(25%\) at random, as the policy's per-packet sampling does/);
  t.regex(text, /\n {2}truncation {5}software copies cut to 256 bytes in software \(rte_flow cannot truncate\) \[software stage: copy\]/);
  t.regex(text, /not taken: not all in hardware: sampling 1 in 4: a transfer SAMPLE above ratio 1 carries nothing on the copy/);
  // Every hardware rule with its testpmd commands.
  t.regex(text, /Hardware rules \(dpdk-testpmd commands reproduce each one\)/);
  t.regex(text, /\n {9}set sample_actions 0 mark id 4097 \/ rss \/ end\n {9}flow create 0 ingress pattern .* sample ratio 4 index 0 \/ rss \/ end\n/);
  t.regex(text, /\n {2}4096 {3}copy {5}a copy made by the NIC for session 7/);

  const summary = await planCommand({ config: file, root: sys.root });
  t.is(summary.code, 0);
  t.regex(summary.stdout.join('\n'), /prod0 {5}production driver mlx5_core \(15b3:101d\), profile mlx5 \(by pci\), not probed: hybrid, \d+ hardware rules/);
  t.regex(summary.stdout.join('\n'), /session 7 on prod0 rx: hybrid: mlx5 matches and copies to the software path \(MARK 4096\); software finishes the copy \[hybrid-mirror\]/);

  const json = await planCommand({ config: file, json: true, root: sys.root });
  const body = JSON.parse(json.stdout.join('\n')) as PlacementPlan;
  t.true(Value.Check(PlacementPlanSchema, body));
  t.deepEqual(body.sessions.map((s) => [s.session, s.path]), [[7, 'hybrid-mirror'], [9, 'hybrid-mirror']]);
});

test('plan --explain: an E810 from sysfs classifies in hardware and copies in software (hybrid-classify)', async (t) => {
  const sys = fakeSysfs([E810]);
  t.teardown(sys.cleanup);
  const dir = tmp(t, 'ice');
  const file = join(dir, 'site.yaml');
  writeFileSync(file, SITE(E810.pci));
  const r = await planCommand({ config: file, explain: true, root: sys.root });
  t.is(r.code, 0, r.stderr.join('\n'));
  const text = r.stdout.join('\n');
  t.regex(text, /driver vfio-pci, PCI 8086:1592, profile ice \(by pci\)/);
  t.regex(text, /Session 7 on prod0 rx: hybrid: ice matches and MARKs 256; software copies\n/);
  t.regex(text, /\n {2}classification hardware ice: \d+ rules? match(es)? in ingress and MARK 256; software skips its classifier for marked packets/);
  t.regex(text, /\n {2}mirroring {6}software software copies the packets hardware MARKed 256 to shadow0: ice: no SAMPLE in ingress \[software stage: copy\]/);
  t.regex(text, /not taken: not all in hardware: ice: no transfer \(E-Switch\) rules/);
});

test('plan --url: the running shadowtap\'s plan; an unreachable API exits 3', async (t) => {
  const dp = fakeDataplane();
  const fastify = Fastify({ logger: false });
  await fastify.register(app, { dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }) });
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => fastify.close());
  const url = `http://127.0.0.1:${(fastify.server.address() as { port: number }).port}`;

  const s = await cli(['plan', '--url', url]);
  t.is(s.status, 0, s.stderr);
  t.regex(s.stdout, new RegExp(`^${url}: placement plan for policy generation 1: 1 session placement`));
  const e = await cli(['plan', '--url', url, '--explain']);
  t.is(e.status, 0, e.stderr);
  t.regex(e.stdout, /the running shadowtap's plan \(drivers as DPDK reported them\)\n\nPlacement plan for policy generation 1/);
  t.regex(e.stdout, /Session 0 on prod-in rx: software: net_pcap: no rte_flow/);
  const j = await cli(['plan', '--url', url, '--json']);
  t.is(j.status, 0, j.stderr);
  t.deepEqual(JSON.parse(j.stdout), (await fastify.inject({ method: 'GET', url: '/v1/plan' })).json());

  dp.hasConfig = false;
  const nr = await cli(['plan', '--url', url]);
  t.is(nr.status, 1);
  t.regex(nr.stderr, /: 503 ST_ERR_NOT_READY: Service Unavailable/);

  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closed = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise((resolve) => probe.close(resolve));
  const down = await cli(['plan', '--url', closed]);
  t.is(down.status, 3);
  t.regex(down.stderr, new RegExp(`^cannot reach the shadowtap API at ${closed} \\(from --url\\): ECONNREFUSED`));
  t.regex(down.stderr, /is `shadowtap run` running\? \(or plan offline with --config FILE\)/);
});
