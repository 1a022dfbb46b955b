/**
 * Errors an operator's host causes, caused for real: `shadowtap run` (the
 * real CLI in a child process) with an API port another process holds
 * (ST_ERR_API_LISTEN), a run directory that cannot be created or is in use
 * (ST_ERR_RUN_DIR), a config file that is not there (ST_ERR_CONFIG_READ); and
 * an install whose addon is corrupt or missing (ST_ERR_ADDON_LOAD: the loader
 * lists every path it tried and why, and the supervisor reports it). Each
 * asserts the code, that the message names the cause, and that nothing was
 * started or left behind.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { listen } from '../../src/api/server.js';
import type { ShadowtapError } from '../../src/errors.js';
import { writePcap } from '../../src/pcap/pcap.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { makeSupervisor, processExists, vdevConfig } from '../helpers/supervised.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');

function tmp(tag: string): string {
  return mkdtempSync(join(tmpdir(), `st-err-${tag}-`));
}

function config(dir: string, over: { port?: number; runDir?: string } = {}): string {
  writePcap(join(dir, 'in.pcap'), buildDemoFrames());
  const file = join(dir, 'site.yaml');
  writeFileSync(file, `ports:
  - { name: prod-in, device: "net_pcap0,rx_pcap=${dir}/in.pcap,infinite_rx=1", egress: prod-out }
  - { name: prod-out, device: "net_null0,no-rx=1", role: egress }
  - { name: shadow0, device: "net_null1,no-rx=1", role: shadow }
api: { host: 127.0.0.1, port: ${over.port ?? 0} }
run_dir: ${JSON.stringify(over.runDir ?? join(dir, 'run'))}
`);
  return file;
}

/** `shadowtap run -c file --log-format json`; returns exit status, what it printed and its JSON log lines. */
function run(dir: string, file: string) {
  const r = spawnSync(process.execPath, [CLI, 'run', '-c', file, '--log-format', 'json'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const logs = r.stdout.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  // What the CLI says to the operator goes to stderr (src/cli/log.ts say()).
  const said = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, logs, said };
}

function holdPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0 });
    });
  });
}

test('an API port another process holds: ST_ERR_API_LISTEN naming host:port and EADDRINUSE; run exits 1, no data plane, pid file released', async (t) => {
  const dir = tmp('listen');
  const held = await holdPort();
  t.teardown(() => {
    held.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // The function the CLI calls, on its own.
  const fastify = Fastify();
  const err = await listen(fastify, '127.0.0.1', held.port).then(() => undefined, (e: unknown) => e as ShadowtapError);
  await fastify.close();
  t.is(err?.code, 'ST_ERR_API_LISTEN');
  t.is(err?.field, 'api');
  t.is(err?.statusCode, 500);
  t.is(err?.message, `cannot listen on 127.0.0.1:${held.port}: listen EADDRINUSE: address already in use 127.0.0.1:${held.port}`);
  t.true((err?.errnum ?? 0) > 0, 'errno kept');

  const r = run(dir, config(dir, { port: held.port }));
  t.is(r.status, 1, r.out);
  t.true(r.said.includes(`ST_ERR_API_LISTEN: cannot listen on 127.0.0.1:${held.port}: listen EADDRINUSE: address already in use 127.0.0.1:${held.port}`), r.out);
  t.false(r.logs.some((l) => l['msg'] === 'starting the data plane'), 'the data plane was never started');
  t.false(existsSync(join(dir, 'run', 'shadowtap.pid')), 'the pid file is released');
});

test('a run directory that cannot be created: ST_ERR_RUN_DIR naming it and why; run exits 1 before anything starts', (t) => {
  const dir = tmp('rundir');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A regular file where a parent directory should be: refused for root too.
  writeFileSync(join(dir, 'not-a-dir'), '');
  const runDir = join(dir, 'not-a-dir', 'run');
  const r = run(dir, config(dir, { runDir }));
  t.is(r.status, 1, r.out);
  t.true(r.said.includes(`ST_ERR_RUN_DIR: cannot prepare run directory ${runDir}: ENOTDIR: not a directory, mkdir '${runDir}'`), r.out);
  t.false(r.logs.some((l) => l['msg'] === 'starting the data plane'));
});

test('a run directory another live shadowtap holds: ST_ERR_RUN_DIR naming the pid and file; its pid file untouched', (t) => {
  const dir = tmp('rundir-busy');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const runDir = join(dir, 'run');
  mkdirSync(runDir);
  // This test's own process stands in for the other instance: alive, and not the CLI.
  writeFileSync(join(runDir, 'shadowtap.pid'), `${process.pid}\n`);
  const r = run(dir, config(dir, { runDir }));
  t.is(r.status, 1, r.out);
  t.true(r.said.some((l) => l.startsWith(`ST_ERR_RUN_DIR: run directory ${runDir} is in use by shadowtap pid ${process.pid}`)), r.out);
  t.is(readFileSync(join(runDir, 'shadowtap.pid'), 'utf8'), `${process.pid}\n`, 'the other instance keeps its pid file');
  t.false(r.logs.some((l) => l['msg'] === 'starting the data plane'));
});

test('a config file that is not there: ST_ERR_CONFIG_READ naming the file and ENOENT; run exits 2', (t) => {
  const dir = tmp('cfgread');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = run(dir, join(dir, 'missing.yaml'));
  t.is(r.status, 2, r.out);
  const file = join(dir, 'missing.yaml');
  t.true(r.said.includes(`ST_ERR_CONFIG_READ: cannot read config file ${file}: ENOENT: no such file or directory, open '${file}'`), r.out);
});

/**
 * An install of shadowtap (its compiled TypeScript and node_modules) whose
 * build/Release/shadowtap.node is not a loadable library and whose
 * build/Debug was never built; $SHADOWTAP_ADDON names a file that is not there.
 */
function brokenInstall(): { dir: string; env: NodeJS.ProcessEnv; host: string } {
  const dir = tmp('addon');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shadowtap', type: 'module', private: true }));
  cpSync(join(root, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
  writeFileSync(join(dir, 'build', 'Release', 'shadowtap.node'), 'this is not a shared library\n');
  return { dir, env: { ...process.env, SHADOWTAP_ADDON: join(dir, 'elsewhere', 'shadowtap.node') }, host: join(dir, 'dist', 'src', 'dataplane', 'host.js') };
}

function expectEveryPath(t: { regex(s: string, r: RegExp, m?: string): void }, message: string, dir: string): void {
  const q = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  t.regex(message, /cannot load the native addon shadowtap\.node; tried:/);
  t.regex(message, new RegExp(`- ${q(join(dir, 'elsewhere', 'shadowtap.node'))} \\[\\$SHADOWTAP_ADDON\\]: no such file`));
  t.regex(message, new RegExp(`- ${q(join(dir, 'build', 'Release', 'shadowtap.node'))} \\[Release\\]: .*(invalid ELF header|file too short)`), 'the dlopen reason of the corrupt file');
  t.regex(message, new RegExp(`- ${q(join(dir, 'build', 'Debug', 'shadowtap.node'))} \\[Debug\\]: not built`));
}

test('a corrupt and a missing addon: ST_ERR_ADDON_LOAD lists every path tried and why', (t) => {
  const b = brokenInstall();
  t.teardown(() => rmSync(b.dir, { recursive: true, force: true }));
  const script = `import(${JSON.stringify(join(b.dir, 'dist', 'src', 'native', 'loader.js'))}).then((m) => {
    const r = m.tryLoadNative();
    process.stdout.write(JSON.stringify('error' in r ? { code: r.error.code, status: r.error.statusCode, message: r.error.message, attempts: r.attempts.length } : { loaded: r.path }));
  });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: b.env, encoding: 'utf8', timeout: 30_000 });
  const out = JSON.parse(r.stdout || '{}') as { code?: string; status?: number; message?: string; attempts?: number; loaded?: string };
  t.is(out.loaded, undefined, `the loader must not fall back to the checkout's addon: ${r.stdout} ${r.stderr}`);
  t.is(out.code, 'ST_ERR_ADDON_LOAD');
  t.is(out.status, 503);
  t.is(out.attempts, 3);
  expectEveryPath(t, out.message ?? '', b.dir);
});

test('a data-plane host whose addon cannot load: the supervisor fails the start with ST_ERR_ADDON_LOAD and every path', async (t) => {
  const b = brokenInstall();
  const s = { dir: b.dir, capture: join(b.dir, 'in.pcap') };
  writePcap(s.capture, buildDemoFrames());
  const sup = makeSupervisor(`st-err-addon-${process.pid}`, vdevConfig(s.capture), { hostPath: b.host, env: b.env, startTimeoutMs: 60_000 });
  const pids: number[] = [];
  sup.on('started', (e) => pids.push(e.pid));
  t.teardown(async () => {
    await sup.stop();
    rmSync(b.dir, { recursive: true, force: true });
  });
  const err = await sup.start().then(() => undefined, (e: unknown) => e as ShadowtapError);
  t.is(err?.code, 'ST_ERR_ADDON_LOAD', err?.message);
  t.is(err?.statusCode, 503);
  expectEveryPath(t, err?.message ?? '', b.dir);
  t.is(sup.status().state, 'failed');
  t.is(sup.status().lastError?.code, 'ST_ERR_ADDON_LOAD');
  t.false(processExists(pids[0]!), 'the host has exited');
  t.false(readdirSync('/var/run/dpdk').some((n) => n.startsWith(`st-err-addon-${process.pid}`)), 'EAL never ran');
});
