/**
 * `shadowtap fault ...` and `shadowtap experiment run` as an operator meets
 * them: the real binary (bin/shadowtap.js) against a running `shadowtap run`
 * (real data plane on vdevs, the demo capture replayed), exit statuses and
 * what they print.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writePcap } from '../../src/pcap/pcap.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { missingBuild } from '../helpers/supervised.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');

/** The CLI, asynchronously (an experiment run lasts seconds): exit status and output. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, XDG_CONFIG_HOME: '/nonexistent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 90_000);
    c.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function shadowtap(dir: string): Promise<{ child: ChildProcess; url: string }> {
  writePcap(join(dir, 'in.pcap'), buildDemoFrames());
  writeFileSync(join(dir, 'cfg.yaml'), `mode: inline
dataplane: { workers: 1, idle: adaptive }
ports:
  - { name: prod-in, device: "net_pcap0,rx_pcap=${dir}/in.pcap,infinite_rx=1", egress: prod-out, rx_pps: 5000 }
  - { name: prod-out, device: "net_null0,no-rx=1", role: egress }
  - { name: shadow0, device: "net_null1,no-rx=1", role: shadow }
translate:
  ipv4: [{ from: 10.0.0.0/16, to: 10.99.0.0/16 }]
api: { host: 127.0.0.1, port: 0 }
run_dir: ${dir}/run
`);
  const child = spawn(process.execPath, [CLI, 'run', '-c', join(dir, 'cfg.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
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
  return { child, url };
}

test('fault and experiment commands against a running shadowtap', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  const dir = mkdtempSync(join(tmpdir(), 'st-cli-faults-'));
  const { child, url } = await shadowtap(dir);
  t.teardown(async () => {
    if (child.exitCode === null) {
      const exit = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const u = ['--url', url];

  // netem's own syntax after --, tc filter words in --match
  const add = await cli(['fault', 'add', 'web', ...u, '--match', 'dst 10.0.2.0/24 proto tcp', '--', 'delay', '20ms', '5ms', '25%', 'distribution', 'normal', 'loss', 'gemodel', '1%', '10%', '70%', '0.1%']);
  t.is(add.status, 0, add.stderr);
  t.regex(add.stdout, /^added fault web/m);
  t.regex(add.stdout, /fault web \(impair\): idle/);
  t.regex(add.stdout, /delay 20ms 5ms 25% distribution normal loss gemodel 1% 10% 70% 0.1%/);

  const bad = await cli(['fault', 'add', 'bad', ...u, '--', 'loss', '120%']);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /400 ST_ERR_FAULT_INVALID/);
  t.regex(bad.stderr, /loss\.percent: 120% is outside 0 to 100 %/);
  const usage = await cli(['fault', 'add', 'x', ...u, '--match', 'dts 10.0.0.1']);
  t.is(usage.status, 2);
  t.regex(usage.stderr, /"dts" is not a match word/);
  const typo = await cli(['fault', 'lst', ...u]);
  t.is(typo.status, 2);
  t.regex(typo.stderr, /did you mean "list"/);
  const opt = await cli(['fault', 'list', ...u, '--jsn']);
  t.is(opt.status, 2);
  t.regex(opt.stderr, /did you mean "--json"/);
  const missing = await cli(['fault', 'show', 'nope', ...u]);
  t.is(missing.status, 4);
  const away = await cli(['fault', 'list', '--url', 'http://127.0.0.1:9']);
  t.is(away.status, 3);

  // a dry run on live traffic, before arming
  const dry = await cli(['fault', 'dry-run', 'web', ...u, '--window', '500']);
  t.is(dry.status, 0, dry.stderr);
  const m = /matched (\d+) copies in \d+ ms \(\d+\/s\), ([0-9.]+) % of the (\d+) copies made/.exec(dry.stdout);
  t.truthy(m, dry.stdout);
  t.true(Number(m![1]) > 0 && Number(m![2]) < 100);

  t.is((await cli(['fault', 'start', 'web', ...u])).status, 0);
  let matched = 0;
  for (const end = Date.now() + 20_000; Date.now() < end && matched === 0; await new Promise((r) => setTimeout(r, 300))) {
    const l = await cli(['fault', 'list', ...u, '--json']);
    const f = (JSON.parse(l.stdout) as { faults: { id: string; state: string; counters: { matched: number } }[] }).faults[0]!;
    t.is(f.state, 'active');
    matched = f.counters.matched;
  }
  t.true(matched > 0);
  const list = await cli(['fault', 'list', ...u]);
  t.regex(list.stdout, /^ID\s+KIND\s+STATE/m);
  t.regex(list.stdout, /^web\s+impair\s+active/m);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.regex(metrics, /shadowtap_fault_matched_total\{fault="web",experiment=""\} [1-9]/);
  t.is((await cli(['fault', 'stop', 'web', ...u])).status, 0);
  const tl = await cli(['fault', 'timeline', 'web', ...u]);
  t.is(tl.status, 0);
  const types = tl.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[2]).filter(Boolean);
  t.deepEqual(types.slice(0, 5), ['created', 'start', 'activate', 'stop', 'deactivate']);
  t.is((await cli(['fault', 'rm', 'web', ...u])).status, 0);

  // an experiment that completes: exit 0, the JSON lines end with "completed"
  writeFileSync(join(dir, 'ok.yaml'), `id: short
faults:
  - { id: s1, match: { protocol: udp }, netem: delay 1ms }
steps:
  - { name: warm, faults: [s1], duration: 800ms }
  - { faults: [], duration: 300ms }
`);
  const ok = await cli(['experiment', 'run', join(dir, 'ok.yaml'), ...u, '--json']);
  t.is(ok.status, 0, ok.stderr);
  const lines = ok.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; experiment?: { state: string }; entry?: { type: string; fault?: string } });
  t.is(lines.at(-1)!.event, 'end');
  t.is(lines.at(-1)!.experiment!.state, 'completed');
  t.deepEqual(lines.filter((l) => l.event === 'timeline' && (l.entry!.type === 'activate' || l.entry!.type === 'deactivate')).map((l) => `${l.entry!.type} ${l.entry!.fault}`), ['activate s1', 'deactivate s1']);
  const again = await cli(['experiment', 'run', join(dir, 'ok.yaml'), ...u]);
  t.is(again.status, 1);
  t.regex(again.stderr, /add --replace/);

  // an experiment a stop condition aborts: exit 1, the reason printed
  writeFileSync(join(dir, 'abort.yaml'), `id: doomed
faults:
  - { id: black, kind: blackhole, match: {} }
steps:
  - { faults: [black], duration: 60s }
stop:
  - { metric: shadow_delivery_ratio, below: 50%, window: 300ms }
`);
  const ab = await cli(['experiment', 'run', join(dir, 'abort.yaml'), ...u]);
  t.is(ab.status, 1, ab.stdout + ab.stderr);
  t.regex(ab.stdout, /experiment doomed ABORTED: stop condition shadow_delivery_ratio below 50%/);
  t.regex(ab.stdout, /activate black: step 1/);
  const show = await cli(['experiment', 'list', ...u]);
  t.regex(show.stdout, /^doomed\s+aborted/m);
});
