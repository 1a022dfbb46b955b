/**
 * `shadowtap policy` and `shadowtap topology` as an operator meets them: the
 * real CLI entry in a child process. apply/show talk to an admin API served
 * here, over a fake supervisor (route behaviour is test/api's business; this
 * checks what the CLI sends and prints).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { parse } from 'yaml';
import app from '../../src/api/app.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { writePcap } from '../../src/pcap/pcap.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: root, encoding: 'utf8', timeout: 90_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

function tmp(tag: string): string {
  return mkdtempSync(join(tmpdir(), `st-pcli-${tag}-`));
}

const CONFIG = `ports:
  - { name: prod-in, device: "net_pcap0,rx_pcap=in.pcap", egress: prod-out }
  - { name: prod-out, device: "net_null0,no-rx=1", role: egress }
  - { name: shadow0, device: "net_null1,no-rx=1", role: shadow }
translate:
  ipv4: [{ from: 10.0.0.0/16, to: 10.99.0.0/16 }]
  hosts: [{ from: 10.0.1.1, to: 10.98.0.1 }]
`;

const POLICY = `targets:
  - name: remote
    encap: { vxlan: { vni: 42, outer: { src: 192.0.2.10, dst: 192.0.2.1 } } }
sessions:
  - id: 7
    target: remote
    filters:
      - { id: web, protocol: tcp, dst_ports: [80, 443] }
      - { id: web-sub, action: reject, protocol: tcp, dst_ports: 80, src: 10.0.1.0/24 }
`;

test('policy validate: a whole config file, checked locally, plan and warnings printed', async (t) => {
  const dir = tmp('whole');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'site.yaml');
  writeFileSync(file, CONFIG + POLICY);
  const r = await cli(['policy', 'validate', file]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /: OK: generation 1, 1 session, 2 filter rules -> 3 classifier rules, 1 target, 0 signatures, 0 security rules/);
  t.regex(r.stdout, /warnings \(1\):\n  sessions\[0\]\.filters\[1\]: rule web-sub .* is shadowed by earlier rule web/);
  t.regex(r.stdout, /plan:\n  1 session, evaluated by priority then id/);
  t.regex(r.stdout, /  target remote: shadow0, vxlan vni 42 192\.0\.2\.10 -> 192\.0\.2\.1 udp\/4789 ttl 64/);
  const json = await cli(['policy', 'validate', file, '--json']);
  t.is(json.status, 0);
  t.is(JSON.parse(json.stdout).plan.counts.classifierRules, 3);
  // check-config summarises the policy and its warnings too.
  writePcap(join(dir, 'in.pcap'), []);
  writeFileSync(file, (CONFIG + POLICY).replace('rx_pcap=in.pcap', `rx_pcap=${join(dir, 'in.pcap')}`));
  const check = await cli(['check-config', file]);
  t.is(check.status, 0, check.stderr);
  t.regex(check.stdout, /: policy: 1 session, 3 classifier rules, 1 target, 1 warning:\n {2}sessions\[0\]\.filters\[1\]: rule web-sub/);
});

test('policy validate: a policy-only file needs --config (or --url); problems carry lines', async (t) => {
  const dir = tmp('section');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'site.yaml'), CONFIG);
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, POLICY);
  const usage = await cli(['policy', 'validate', file]);
  t.is(usage.status, 2);
  t.regex(usage.stderr, /holds only policy keys; give --config FILE \(for its ports\) or --url URL/);
  const ok = await cli(['policy', 'validate', file, '--config', join(dir, 'site.yaml')]);
  t.is(ok.status, 0, ok.stderr);
  writeFileSync(file, POLICY.replace('dst_ports: 80,', 'dst_ports: 80-70,').replace('target: remote', 'target: remot'));
  const bad = await cli(['policy', 'validate', file, '-c', join(dir, 'site.yaml')]);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /2 problems:/);
  t.regex(bad.stderr, new RegExp(`${file}:6: sessions\\[0\\]\\.target: unknown target "remot"; expected one of remote`));
  t.regex(bad.stderr, new RegExp(`${file}:9: sessions\\[0\\]\\.filters\\[1\\]\\.dst_ports: "80-70" runs backwards`));
});

async function server(t: { teardown(fn: () => unknown): void }) {
  const dp = fakeDataplane();
  const fastify = Fastify({ logger: false });
  await fastify.register(app, { dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }) });
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => fastify.close());
  const addr = fastify.server.address() as { port: number };
  return { dp, url: `http://127.0.0.1:${addr.port}` };
}

test('policy apply and show talk to the admin API', async (t) => {
  const { dp, url } = await server(t);
  const dir = tmp('apply');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, POLICY);
  const r = await cli(['policy', 'apply', file, '--url', url]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /: applied generation 2 \(installed in 1\.5 ms\): generation 2, 1 session/);
  t.deepEqual(dp.installed, [parse(POLICY)], 'the policy keys of FILE, as they are');
  const show = await cli(['policy', 'show'], { SHADOWTAP_URL: url });
  t.is(show.status, 0, show.stderr);
  t.regex(show.stdout, /generation 2 from api since /);
  t.regex(show.stdout, /  rule web: accept tcp from any to any port 80,443/);
  const showJson = await cli(['policy', 'show', '--url', url, '--json']);
  t.is(JSON.parse(showJson.stdout).generation, 2);
  // A whole config file sends only its policy keys.
  const whole = join(dir, 'site.yaml');
  writeFileSync(whole, CONFIG + POLICY);
  const w = await cli(['policy', 'apply', whole, '--url', url]);
  t.is(w.status, 0, w.stderr);
  t.deepEqual(Object.keys(dp.installed[1] as object).sort(), ['sessions', 'targets', 'translate']);
  // Remote validation of a policy-only file.
  const v = await cli(['policy', 'validate', file, '--url', url]);
  t.is(v.status, 0, v.stderr);
  t.regex(v.stdout, /OK: generation 4/);
});

test('policy apply: refused policies print every problem; an unreachable API is exit 3', async (t) => {
  const { dp, url } = await server(t);
  const dir = tmp('refused');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, POLICY.replace('vni: 42', 'vni: 99999999').replace('protocol: tcp, dst_ports: [80, 443]', 'protocol: tcp, dst_ports: [80, 99999]'));
  const r = await cli(['policy', 'apply', file, '--url', url]);
  t.is(r.status, 1);
  t.regex(r.stderr, /2 problems:/);
  t.regex(r.stderr, /targets\[0\]\.encap\.vxlan\.vni: expected an integer from 0 to 16777215, got 99999999/);
  t.regex(r.stderr, /sessions\[0\]\.filters\[0\]\.dst_ports\[1\]: expected a port from 0 to 65535/);
  t.deepEqual(dp.installed, []);
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const free = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const down = await cli(['policy', 'show', '--url', `http://127.0.0.1:${free}`]);
  t.is(down.status, 3);
  t.regex(down.stderr, new RegExp(`cannot reach the shadowtap API at http://127\\.0\\.0\\.1:${free} \\(from --url\\): ECONNREFUSED`));
  const sub = await cli(['policy', 'frob']);
  t.is(sub.status, 2);
  t.regex(sub.stderr, /unknown subcommand "frob"; expected validate, apply, show or diff/);
  const typo = await cli(['policy', 'aply', 'x.yaml']);
  t.is(typo.status, 2);
  t.regex(typo.stderr, /unknown subcommand "aply" \(did you mean "apply"\?\)/);
  const help = await cli(['policy', '--help']);
  t.is(help.status, 0);
  t.regex(help.stdout, /^usage: shadowtap policy validate FILE/);
  t.regex(help.stdout, /examples:/);
});

const TOPO = {
  subnets: [{ name: 'web', cidr: '10.0.1.0/24', gateway: '10.0.1.1' }],
  instances: [{ name: 'web-1', ip: '10.0.1.5', mac: '02:00:00:00:01:05', subnet: 'web' }, { name: 'ext', ip: '192.0.2.9' }],
  security: { default: 'deny', rules: [{ id: 'in', action: 'allow', protocol: 'tcp', dst: 'web', dst_ports: 443 }] },
};

test('topology export: the shadow replica as JSON, the security section as YAML, --strict on unmapped addresses', async (t) => {
  const dir = tmp('topo');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'site.yaml'), CONFIG);
  writeFileSync(join(dir, 'prod.json'), JSON.stringify(TOPO));
  const args = ['topology', 'export', '--config', join(dir, 'site.yaml'), '--in', join(dir, 'prod.json')];
  const r = await cli(args);
  t.is(r.status, 0, r.stderr);
  const shadow = JSON.parse(r.stdout);
  t.is(shadow.kind, 'shadowtap.shadow-topology/v1');
  t.deepEqual(shadow.subnets[0], { name: 'web', cidr: '10.99.1.0/24', gateway: '10.98.0.1', production: { cidr: '10.0.1.0/24', gateway: '10.0.1.1' } });
  t.deepEqual(shadow.instances[0].interfaces[0].ip, ['10.99.1.5']);
  t.deepEqual(shadow.security.rules, [{ id: 'in', action: 'allow', protocol: 'tcp', dst: '10.99.1.0/24', dst_ports: 443 }]);
  t.regex(r.stderr, /instances\[1\]\.ip: 192\.0\.2\.9 is outside every map; kept as it is/);
  const strict = await cli([...args, '--strict']);
  t.is(strict.status, 1);
  const sec = await cli([...args, '--security']);
  t.is(sec.status, 0);
  t.deepEqual(parse(sec.stdout), { security: { enforce: true, default: 'deny', rules: [{ id: 'in', action: 'allow', protocol: 'tcp', dst: '10.99.1.0/24', dst_ports: 443 }] } });
  const out = join(dir, 'shadow.json');
  const o = await cli([...args, '--out', out]);
  t.is(o.status, 0);
  t.is(JSON.parse(readFileSync(out, 'utf8')).instances.length, 2);
  // Bad input names the file, the field and the line.
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...TOPO, instances: [{ name: 'x', ip: '10.0.1.999' }] }, null, 2));
  const bad = await cli(['topology', 'export', '-c', join(dir, 'site.yaml'), '--in', join(dir, 'bad.json')]);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /bad\.json:\d+: instances\[0\]\.ip: "10\.0\.1\.999" is not an IP address/);
  // Without --config the running shadowtap's maps translate: nothing listens here.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const free = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const online = await cli(['topology', 'export', '--in', join(dir, 'prod.json'), '--url', `http://127.0.0.1:${free}`]);
  t.is(online.status, 3);
  t.regex(online.stderr, /cannot reach the shadowtap API/);
});
