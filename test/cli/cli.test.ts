/**
 * The CLI as an operator meets it: the real entry (dist/src/cli.js) in a
 * child process, exit statuses and what it prints.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { writePcap } from '../../src/pcap/pcap.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { missingBuild, processExists } from '../helpers/supervised.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');

function cli(args: string[], cwd = root) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 90_000 });
}

function tmp(tag: string): string {
  return mkdtempSync(join(tmpdir(), `st-cli-${tag}-`));
}

const VALID = (dir: string) => `mode: inline
ports:
  - name: prod-in
    device: "net_pcap0,rx_pcap=${dir}/in.pcap,infinite_rx=1"
    egress: prod-out
  - name: prod-out
    device: "net_null0,no-rx=1"
    role: egress
  - name: shadow0
    device: "net_null1,no-rx=1"
    role: shadow
translate:
  ipv4: [{ from: 10.0.0.0/16, to: 10.99.0.0/16 }]
api: { host: 127.0.0.1, port: 0 }
run_dir: ${dir}/run
`;

test('version and help', (t) => {
  const v = cli(['version']);
  t.is(v.status, 0);
  t.regex(v.stdout, /^shadowtap \d+\.\d+\.\d+\nnode v\d+/);
  for (const cmd of ['run', 'check-config', 'version']) {
    const h = cli([cmd, '--help']);
    t.is(h.status, 0, cmd);
    t.regex(h.stdout, new RegExp(`^usage: shadowtap ${cmd}`), cmd);
    t.regex(h.stdout, /example/, cmd);
  }
  const top = cli(['--help']);
  t.is(top.status, 0);
  t.regex(top.stdout, /commands:/);
  const bad = cli(['frobnicate']);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /unknown command "frobnicate"/);
  const badOpt = cli(['run', '--confg', 'x.yaml']);
  t.is(badOpt.status, 2);
  t.regex(badOpt.stderr, /--confg/);
});

test('check-config: valid file exits 0', (t) => {
  const dir = tmp('check-ok');
  try {
    writePcap(join(dir, 'in.pcap'), buildDemoFrames().slice(0, 10));
    writeFileSync(join(dir, 'ok.yaml'), VALID(dir));
    const r = cli(['check-config', join(dir, 'ok.yaml')]);
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /OK: mode inline, 3 ports: prod-in \(production\), prod-out \(egress\), shadow0 \(shadow\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check-config: every problem with path and line, exit 1', (t) => {
  const dir = tmp('check-bad');
  try {
    const text = VALID(dir)
      .replace('    egress: prod-out', '    egress: prod-ot')
      .replace('from: 10.0.0.0/16', 'from: 10.0.0.1/16')
      .replace('mode: inline', 'mode: inline\nmodes: tap');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, text);
    const r = cli(['check-config', file]);
    t.is(r.status, 1);
    t.regex(r.stderr, /3 problems:/);
    t.regex(r.stderr, new RegExp(`${file}:2: modes: unknown key \`modes\``));
    t.regex(r.stderr, new RegExp(`${file}:6: ports\\[0\\]\\.egress: unknown port "prod-ot"; expected one of prod-in, prod-out, shadow0`));
    t.regex(r.stderr, /translate\.ipv4\[0\]\.from: "10\.0\.0\.1\/16" has host bits set; expected a network address such as 10\.0\.0\.0\/16/);
    // Host checks (capture files, CPUs) follow once the file itself is valid.
    writeFileSync(file, VALID(dir));
    const host = cli(['check-config', file]);
    t.is(host.status, 1);
    t.regex(host.stderr, /ports\[0\]\.device: rx_pcap file ".*in\.pcap" does not exist/);
    const missing = cli(['check-config', join(dir, 'nope.yaml')]);
    t.is(missing.status, 1);
    t.regex(missing.stderr, /cannot read: ENOENT/);
    t.is(cli(['check-config']).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run with an invalid config prints every problem and exits 2 without starting anything', (t) => {
  const dir = tmp('run-bad');
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, VALID(dir).replace('role: shadow', 'role: shadw').replace('port: 0', 'port: 99999'));
    const r = cli(['run', '--config', file], dir);
    t.is(r.status, 2);
    t.regex(r.stderr, /2 problems; nothing was started/);
    t.regex(r.stderr, /ports\[2\]\.role: expected one of production, egress, shadow, got "shadw"/);
    t.regex(r.stderr, /api\.port: expected an integer from 0 to 65535, got 99999/);
    t.false(existsSync(join(dir, 'run')), 'run_dir not even created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: starts, says where to look, and stops cleanly on SIGTERM with exit 0', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  const dir = tmp('run-ok');
  writePcap(join(dir, 'in.pcap'), buildDemoFrames());
  writeFileSync(join(dir, 'ok.yaml'), VALID(dir));
  const child = spawn(process.execPath, [CLI, 'run', '-c', join(dir, 'ok.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const running = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "running" line; stderr: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      logs.push(rec);
      if (typeof rec['msg'] === 'string' && rec['msg'].includes(' running: metrics at ')) {
        clearTimeout(timer);
        resolve(rec);
      }
    });
  });
  try {
    const rec = await running;
    t.regex(String(rec['metrics']), /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(String(rec['metrics']));
    t.is(res.status, 200);
    t.regex(await res.text(), /^shadowtap_native_up [01]$/m, 'the gauge is exported from the first scrape');
    // Up once the data plane has answered a stats poll (the first may come after the
    // "running" line): 1 within 10 s, or the data plane is not running.
    let up = '';
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      up = /^shadowtap_native_up (\d)$/m.exec(await (await fetch(String(rec['metrics']))).text())?.[1] ?? '';
      if (up === '1') break;
    }
    t.is(up, '1', 'shadowtap_native_up: the data plane is running and answers stats polls');
    const ready = await fetch(String(rec['metrics']).replace('/metrics', '/readyz'));
    t.is(ready.status, 200);
    t.true(existsSync(join(dir, 'run', 'shadowtap.pid')));
    const dpPid = logs.find((l) => l['msg'] === 'data plane ready')?.['dataplanePid'] as number;
    t.true(dpPid > 0);

    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    t.is(await exit, 0, stderr);
    t.false(processExists(dpPid), 'the data plane is gone');
    t.false(existsSync(join(dir, 'run', 'shadowtap.pid')), 'pid file removed');
    t.true(logs.some((l) => l['msg'] === 'stopped'));
    const prefix = logs.find((l) => l['msg'] === 'data plane ready')?.['filePrefix'] as string;
    t.false(readdirSync('/var/run/dpdk').includes(prefix));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
