/**
 * The CLI against a running shadowtap: the real binary (bin/shadowtap.js) in
 * a child process, talking to `shadowtap run` (real supervisor, real data
 * plane on net_pcap/net_null vdevs) over its admin API. Plus what the CLI
 * sends (token, If-Match), checked against a recording HTTP server, and the
 * table that gives every API operation a command.
 */
import test from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { writePcap } from '../../src/pcap/pcap.js';
import { API_COMMANDS } from '../../src/cli/help-live.js';
import { COMMANDS } from '../../src/cli/main.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { apiDocument } from '../../src/tools/gen-api-docs.js';
import { missingBuild } from '../helpers/supervised.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const clean = { ...process.env };
    delete clean['SHADOWTAP_URL'];
    delete clean['SHADOWTAP_TOKEN'];
    execFile(process.execPath, [CLI, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...clean, XDG_CONFIG_HOME: '/nonexistent', ...env } }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

const CONFIG = (dir: string) => `mode: inline
dataplane: { workers: 1, idle: adaptive }
ports:
  - { name: prod-in, device: "net_pcap0,rx_pcap=${dir}/in.pcap,infinite_rx=1", egress: prod-out, rx_pps: 1000 }
  - { name: prod-out, device: "net_null0,no-rx=1", role: egress }
  - { name: shadow0, device: "net_null1,no-rx=1", role: shadow }
translate:
  ipv4: [{ from: 10.0.0.0/16, to: 10.99.0.0/16 }]
  ipv6: [{ from: "fd00::/16", to: "fd99::/16" }]
sessions:
  - { id: 1, description: everything }
api: { host: 127.0.0.1, port: 0 }
run_dir: ${dir}/run
`;

/** `shadowtap run` on a fresh directory; resolves with its API URL once it runs. */
async function startShadowtap(t: { teardown(fn: () => void | Promise<void>): void }): Promise<{ url: string; dir: string; child: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'st-live-'));
  writePcap(join(dir, 'in.pcap'), buildDemoFrames());
  writeFileSync(join(dir, 'site.yaml'), CONFIG(dir));
  const child = spawn(process.execPath, [CLI, 'run', '-c', join(dir, 'site.yaml'), '--log-level', 'info'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "running" line; stderr: ${stderr}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (typeof rec['msg'] === 'string' && rec['msg'].includes(' running: metrics at ')) {
        clearTimeout(timer);
        resolve(String(rec['metrics']).replace(/\/metrics$/, ''));
      }
    });
  });
  return { url, dir, child };
}

test.serial('against a running shadowtap: status, sessions one by one, counters, ports, diff and apply, maps, config, events', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  const { url, dir } = await startShadowtap(t);
  const env = { SHADOWTAP_URL: url };

  const status = await cli(['status'], env);
  t.is(status.status, 0, status.stderr);
  t.regex(status.stdout, /^state {6}running\n/);
  t.regex(status.stdout, /PORT +ROLE +DRIVER +RX +TX +TX-DROPPED\nprod-in +production +net_pcap +\d+/);
  t.is(JSON.parse((await cli(['status', '--json'], env)).stdout).state, 'running');
  t.is((await cli(['health'], env)).status, 0);

  // Sessions, one by one; the definition survives disable.
  const add = await cli(['sessions', 'add', '--id', '7', '--description', 'web tier', '--priority', '50'], env);
  t.is(add.status, 0, add.stderr);
  t.regex(add.stdout, /^added session 7 \(policy generation 2\)/);
  const dup = await cli(['sessions', 'add', '--id', '7'], env);
  t.is(dup.status, 1);
  t.regex(dup.stderr, /409 ST_ERR_CONFLICT: session 7 already exists/);
  const off = await cli(['sessions', 'disable', '7'], env);
  t.is(off.status, 0, off.stderr);
  t.is(off.stdout, 'session 7 disabled (policy generation 3)\n');
  const list = await cli(['sessions', 'list'], env);
  t.regex(list.stdout, /^ID +ENABLED +PRIORITY +TARGET +CLASSIFIER +MATCHED +MIRRORED +DESCRIPTION\n1 +yes +100 .*everything\n7 +no +50 +- +- +- +- +web tier\n$/);
  const policy = JSON.parse((await cli(['policy', 'show', '--json'], env)).stdout);
  t.deepEqual(policy.policy.sessions.map((s: { id: number; enabled?: boolean; description?: string }) => [s.id, s.enabled, s.description]), [[1, undefined, 'everything'], [7, false, 'web tier']]);
  t.deepEqual(policy.plan.sessions.map((s: { id: number }) => s.id), [1], 'a disabled session is not compiled');
  t.is((await cli(['sessions', 'disable', '7'], env)).stdout, 'session 7 was already disabled (policy generation 3)\n');
  t.is((await cli(['sessions', 'enable', '7'], env)).status, 0);
  const show = JSON.parse((await cli(['sessions', 'show', '7', '--json'], env)).stdout);
  t.true(show.enabled);
  t.is(show.session.description, 'web tier');
  t.is(typeof show.counters.matched, 'number');
  t.is((await cli(['sessions', 'rm', '7'], env)).status, 0);
  const gone = await cli(['sessions', 'show', '7'], env);
  t.is(gone.status, 4);
  t.regex(gone.stderr, /404 ST_ERR_NOT_FOUND: no session 7; the policy has session 1/);
  t.is((await cli(['sessions', 'enable', 'x'], env)).status, 2);

  // Counters move: the capture replays at 1000 packets/s.
  let counters = JSON.parse((await cli(['counters', '--json'], env)).stdout);
  for (let i = 0; i < 50 && counters.ports[0].counters.rxPackets === 0; i++) {
    await new Promise((r) => setTimeout(r, 200));
    counters = JSON.parse((await cli(['counters', '--json'], env)).stdout);
  }
  t.true(counters.ports[0].counters.rxPackets > 0);
  t.regex((await cli(['counters'], env)).stdout, /SESSION +TARGET +MATCHED/);
  t.regex((await cli(['ports'], env)).stdout, /prod-in +production +net_pcap0 +net_pcap +net_pcap +driver/);

  // policy diff, then apply --diff --yes with the ETag of what was diffed.
  const next = join(dir, 'next.yaml');
  writeFileSync(next, 'translate:\n  ipv4: [{ from: 10.0.0.0/16, to: 10.99.0.0/16 }]\n  ipv6: [{ from: "fd00::/16", to: "fd99::/16" }]\nsessions:\n  - { id: 1, description: everything, priority: 10 }\n');
  const diff = await cli(['policy', 'diff', next], env);
  t.is(diff.status, 1, diff.stderr);
  t.regex(diff.stdout, /^--- running policy \(generation \d+\)\n\+\+\+ .*next\.yaml\n@@ /);
  t.regex(diff.stdout, /\n-    priority: 100\n\+    priority: 10\n/);
  t.notRegex(diff.stdout, /\n[-+] +(snaplen|sample|rate|filters)/, 'defaults filled on both sides: only the change shows');
  const noTty = await cli(['policy', 'apply', next, '--diff'], env);
  t.is(noTty.status, 2);
  t.regex(noTty.stderr, /no terminal to confirm on; add --yes/);
  const apply = await cli(['policy', 'apply', next, '--diff', '--yes'], env);
  t.is(apply.status, 0, apply.stderr);
  t.regex(apply.stdout, /\+    priority: 10\n.*applied generation/s);
  const same = await cli(['policy', 'diff', next], env);
  t.is(same.status, 0);
  t.regex(same.stdout, /^no differences/);

  // Maps: export, and a refused import names the field.
  t.regex((await cli(['maps', 'export'], env)).stdout, /^translate:\n  control_plane:/);
  const ident = join(dir, 'ident.yaml');
  writeFileSync(ident, 'ipv4: [{ from: 10.0.0.0/16, to: 10.0.0.0/16 }]\n');
  const refused = await cli(['maps', 'import', ident], env);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /400 ST_ERR_POLICY_INVALID: .*\n  translate\.ipv4\[0\]\.to: 10\.0\.0\.0\/16 is the same as from/);

  // Config: export is YAML a file can hold; validate offline; import of a changed port is refused.
  const exported = await cli(['config', 'export'], env);
  t.is(exported.status, 0);
  const cfg = parse(exported.stdout) as { ports: { rx_desc: number }[] };
  t.is(cfg.ports.length, 3);
  writeFileSync(join(dir, 'exported.yaml'), exported.stdout);
  t.is((await cli(['config', 'validate', join(dir, 'exported.yaml')])).status, 0);
  cfg.ports[0]!.rx_desc = 512;
  writeFileSync(join(dir, 'changed.json'), JSON.stringify(cfg));
  const conflict = await cli(['config', 'import', join(dir, 'changed.json')], env);
  t.is(conflict.status, 1);
  t.regex(conflict.stderr, /409 ST_ERR_CONFLICT: ports: differs from the running configuration/);

  // Events: what happened so far, then one followed as it happens.
  const events = await cli(['events'], env);
  t.is(events.status, 0, events.stderr);
  t.regex(events.stdout, /#\d+ +ready +pid=\d+ restarts=0/);
  t.regex(events.stdout, /policy +generation=2 applied=true/);
  const follower = spawn(process.execPath, [CLI, 'events', '--follow', '--json'], { env: { ...process.env, ...env, XDG_CONFIG_HOME: '/nonexistent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void follower.kill('SIGKILL'));
  const lines = createInterface({ input: follower.stdout! });
  const got = new Promise<Record<string, unknown>>((resolve) => lines.on('line', (l) => resolve(JSON.parse(l) as Record<string, unknown>)));
  // The stream is open once the server has it; a disable while it is open is followed.
  await new Promise((r) => setTimeout(r, 1500));
  t.is((await cli(['sessions', 'disable', '1'], env)).status, 0);
  const e = await Promise.race([got, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
  t.truthy(e, 'an event arrived');
  t.is(e?.['type'], 'policy');
  follower.kill('SIGTERM');

  // The config file names the API when nothing else does.
  const xdg = join(dir, 'xdg');
  mkdirSync(join(xdg, 'shadowtap'), { recursive: true });
  writeFileSync(join(xdg, 'shadowtap', 'cli.yaml'), `url: ${url}\n`);
  t.is((await cli(['status', '--json'], { XDG_CONFIG_HOME: xdg })).status, 0);
  writeFileSync(join(xdg, 'shadowtap', 'cli.yaml'), `url: ${url}\ntokn: x\n`);
  const badFile = await cli(['status'], { XDG_CONFIG_HOME: xdg });
  t.is(badFile.status, 2);
  t.regex(badFile.stderr, /cli\.yaml: tokn: unknown key; expected url, token or token_file/);
});

test('what the CLI sends: the token as a bearer, and the policy version it read first as If-Match', async (t) => {
  const seen: { method: string; url: string; auth?: string; ifMatch?: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), ...(req.headers['if-match'] ? { ifMatch: String(req.headers['if-match']) } : {}) });
    const detail = { generation: 4, enabled: true, session: { id: 7, priority: 100 }, counters: null };
    res.writeHead(200, { 'content-type': 'application/json', etag: '"g4"' });
    res.end(JSON.stringify(detail));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => void server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const r = await cli(['sessions', 'disable', '7', '--token', 's3cret'], { SHADOWTAP_URL: url });
  t.is(r.status, 0, r.stderr);
  // The policy's version is read before the session, so a change in between fails the write (412).
  t.deepEqual(seen, [
    { method: 'GET', url: '/v1/policy', auth: 'Bearer s3cret' },
    { method: 'GET', url: '/v1/sessions/7', auth: 'Bearer s3cret' },
    { method: 'POST', url: '/v1/sessions/7/disable', auth: 'Bearer s3cret', ifMatch: '"g4"' },
  ]);
  seen.length = 0;
  await cli(['sessions', 'rm', '7'], { SHADOWTAP_URL: url, SHADOWTAP_TOKEN: 'from-env' });
  t.deepEqual(seen.map((s) => [s.method, s.auth, s.ifMatch]), [['GET', 'Bearer from-env', undefined], ['GET', 'Bearer from-env', undefined], ['DELETE', 'Bearer from-env', '"g4"']]);
});

test('every API operation has a CLI command, and every command has --help', async (t) => {
  const doc = await apiDocument();
  const ops = Object.entries(doc['paths'] as Record<string, Record<string, unknown>>).flatMap(([p, o]) => Object.keys(o).map((m) => `${m.toUpperCase()} ${p}`));
  t.deepEqual(ops.filter((o) => !(o in API_COMMANDS)), [], 'add these to API_COMMANDS in src/cli/help-live.ts, with a command');
  t.deepEqual(Object.keys(API_COMMANDS).filter((o) => !ops.includes(o)), [], 'API_COMMANDS names operations the API does not have');
  const named = new Set(Object.values(API_COMMANDS).flatMap((c) => c.split(' / ').map((x) => x.split(' ')[1]!)));
  for (const c of named) t.true(COMMANDS.includes(c), `${c} is a command`);
  for (const c of COMMANDS.filter((x) => x !== 'help')) {
    const h = await cli([c, '--help']);
    t.is(h.status, 0, `${c} --help: ${h.stderr}`);
    t.regex(h.stdout, /^usage: shadowtap /, c);
  }
  const typo = await cli(['sessions', 'list', '--jsn']);
  t.is(typo.status, 2);
  t.regex(typo.stderr, /unknown option --jsn \(did you mean "--json"\?\)/);
  const cmd = await cli(['conters']);
  t.is(cmd.status, 2);
  t.regex(cmd.stderr, /^shadowtap: unknown command "conters" \(did you mean "counters"\?\)/);
  t.regex((await cli(['help', 'exit-codes'])).stdout, /4 {2}not found/);
});
