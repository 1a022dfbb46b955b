/**
 * The real `shadowtap run` (the package's bin, the real data plane on
 * vdevs) with API tokens: a policy changed with a token and If-Match is
 * installed, audited and survives a restart of shadowtap (same generation,
 * same ETag); a corrupt state file stops the next start with the way out,
 * and --discard-state takes it (keeping the file) without setting the
 * generation back.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writePcap } from '../../src/pcap/pcap.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { missingBuild } from '../helpers/supervised.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');
const ADMIN = 'ops-secret-0123456789abcdef';

const CONFIG = (dir: string) => `mode: inline
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
api: { host: 127.0.0.1, port: 0, tokens_file: ${dir}/tokens }
run_dir: ${dir}/run
`;

interface Run {
  url: string;
  stop(): Promise<number | null>;
}

/** Start `shadowtap run`; resolves with the API's URL once it runs, or rejects with its output if it exits. */
function run(dir: string, extra: string[] = []): Promise<Run> & { output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'run', '-c', join(dir, 'c.yaml'), ...extra], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const started = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "running" line: ${output}`)), 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (typeof rec['msg'] === 'string' && rec['msg'].includes(' running: metrics at ')) {
        clearTimeout(timer);
        resolve({
          url: String(rec['metrics']).replace(/\/metrics$/, ''),
          stop: async () => {
            child.kill('SIGTERM');
            return exit;
          },
        });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`exited ${code}`), { code }));
    });
  });
  return Object.assign(started, { output: () => output, exit });
}

const auth = { authorization: `Bearer ${ADMIN}` };

test('a policy applied with a token and If-Match is audited and survives a restart; a corrupt state stops the start; --discard-state', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  const dir = mkdtempSync(join(tmpdir(), 'st-run-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writePcap(join(dir, 'in.pcap'), buildDemoFrames());
  writeFileSync(join(dir, 'c.yaml'), CONFIG(dir));
  writeFileSync(join(dir, 'tokens'), `ops:admin:${ADMIN}\n`);
  const policy = { translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.42.0.0/16' }] }, sessions: [{ id: 9, filters: [{ protocol: 'udp' }] }] };

  const first = await run(dir);
  try {
    t.is((await fetch(`${first.url}/v1/policy`)).status, 401, 'tokens configured: /v1 needs one');
    const get = await fetch(`${first.url}/v1/policy`, { headers: auth });
    t.is(get.headers.get('etag'), '"g1"');
    const put = await fetch(`${first.url}/v1/policy`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json', 'if-match': '"g1"' }, body: JSON.stringify(policy) });
    const body = (await put.json()) as { generation: number; applied: boolean };
    t.is(put.status, 200, JSON.stringify(body));
    t.true(body.applied, 'installed in the running data plane');
    t.is(put.headers.get('etag'), '"g2"');
    const stale = await fetch(`${first.url}/v1/policy`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json', 'if-match': '"g1"' }, body: JSON.stringify({ sessions: [] }) });
    t.is(stale.status, 412);
  } finally {
    t.is(await first.stop(), 0);
  }

  const second = await run(dir);
  try {
    const get = await fetch(`${second.url}/v1/policy`, { headers: auth });
    const view = (await get.json()) as { generation: number; source: string; applied: boolean; policy: { sessions: { id: number }[]; translate: { ipv4: { to: string }[] } } };
    t.is(get.headers.get('etag'), '"g2"', 'the same version after a restart');
    t.is(view.generation, 2);
    t.is(view.source, 'state');
    t.deepEqual(view.policy.sessions.map((s) => s.id), [9]);
    t.is(view.policy.translate.ipv4[0]!.to, '10.42.0.0/16');
  } finally {
    t.is(await second.stop(), 0);
  }
  const audit = readFileSync(join(dir, 'run', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(audit.map((a) => [a['actor'], a['method'], a['status'], a['generationBefore'], a['generationAfter']]), [
    ['ops', 'PUT', 200, 1, 2],
    ['ops', 'PUT', 412, 2, 2],
  ]);

  // A state file cut short: the start stops, says why and how out, and leaves the file.
  const statePath = join(dir, 'run', 'state', 'policy.json');
  const good = readFileSync(statePath, 'utf8');
  writeFileSync(statePath, good.slice(0, Math.floor(good.length / 2)));
  const refused = run(dir);
  const code = await refused.exit;
  await refused.catch(() => undefined);
  t.is(code, 1);
  t.regex(refused.output(), /ST_ERR_STATE_CORRUPT: .*policy\.json is not valid JSON/);
  t.regex(refused.output(), /shadowtap run --discard-state/);
  t.is(readFileSync(statePath, 'utf8'), good.slice(0, Math.floor(good.length / 2)));

  const discarded = await run(dir, ['--discard-state']);
  try {
    const view = (await (await fetch(`${discarded.url}/v1/policy`, { headers: auth })).json()) as { generation: number; source: string };
    t.is(view.source, 'config', 'started from the configuration file');
    t.is(view.generation, 3, 'one past the discarded state: never backwards');
  } finally {
    t.is(await discarded.stop(), 0);
  }
  t.is(readdirSync(join(dir, 'run', 'state')).filter((n) => n.startsWith('policy.json.discarded-')).length, 1, 'the bad file is kept');
});
