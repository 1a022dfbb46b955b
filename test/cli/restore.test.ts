/**
 * `shadowtap run` restores the policy applied through the API from
 * <run_dir>/state/policy.json, unless the file's policy section changed since.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { policySection, validateConfig } from '../../src/config/load.js';
import { restorePolicy } from '../../src/services/policy.js';
import type { ShadowtapError } from '../../src/errors.js';
import { loadPolicyState, policyHash, savePolicyState, statePath } from '../../src/services/policy-state.js';

function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'st-restore-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = validateConfig({
    ports: [
      { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap', egress: 'prod-out' },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow' },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] },
    run_dir: join(dir, 'run'),
  });
  return { dir, config, stateDir: join(dir, 'run', 'state') };
}

const logger = pino({ level: 'silent' });

test('a saved policy derived from the file as it is replaces the file\'s', (t) => {
  const { config, stateDir } = setup(t);
  savePolicyState(stateDir, { generation: 7, baseHash: policyHash(policySection(config)), policy: { translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.98.0.0/16' }] }, sessions: [{ id: 4 }] } });
  const r = restorePolicy(config, logger);
  t.is(r.source, 'state');
  t.is(r.generation, 7);
  t.deepEqual(r.config.sessions!.map((s) => s.id), [4]);
  t.is(r.config.translate.ipv4[0]!.to, '10.98.0.0/16');
  t.is(r.baseHash, policyHash(policySection(config)), 'the hash of the file, not of the restored policy');
});

test('the file wins when its policy changed since the state was saved, as the next generation, saved at once', (t) => {
  const { config, stateDir } = setup(t);
  const none = restorePolicy(config, logger);
  t.is(none.source, 'config');
  t.is(none.generation, 1);
  savePolicyState(stateDir, { generation: 3, baseHash: 'an older file', policy: { sessions: [{ id: 4 }] } });
  const r = restorePolicy(config, logger);
  t.is(r.source, 'config');
  t.is(r.config, config);
  t.is(r.generation, 4, 'never backwards: one past the saved generation');
  t.is(r.policy!.native.generation, 4, 'the compiled policy carries it');
  const saved = loadPolicyState(stateDir).state!;
  t.is(saved.generation, 4);
  t.is(saved.baseHash, policyHash(policySection(config)));
  // A second start agrees: the saved state is now the file's policy at 4.
  const again = restorePolicy(config, logger);
  t.is(again.generation, 4);
  t.is(again.source, 'state');
});

function refusal(t: ExecutionContext, fn: () => unknown): ShadowtapError {
  return t.throws(fn, { any: true }) as unknown as ShadowtapError;
}

test('a corrupt, foreign or no longer valid state stops the start with the way out; --discard-state keeps a copy', (t) => {
  const { config, stateDir } = setup(t);
  const path = statePath(stateDir);
  savePolicyState(stateDir, { generation: 3, baseHash: policyHash(policySection(config)), policy: { sessions: [{ id: 4, sources: [{ port: 'gone' }] }] } });
  const invalid = refusal(t, () => restorePolicy(config, logger));
  t.is(invalid.code, 'ST_ERR_STATE_CORRUPT');
  t.regex(invalid.message, /does not validate against this configuration .*sessions\[0\]\.sources\[0\]\.port/);
  t.regex(invalid.message, /shadowtap run --discard-state/);
  const kept = readFileSync(path, 'utf8');
  const discarded = restorePolicy(config, logger, undefined, { discardState: true });
  t.is(discarded.source, 'config');
  t.is(discarded.generation, 4);
  const copies = readdirSync(stateDir).filter((n) => n.startsWith('policy.json.discarded-'));
  t.is(copies.length, 1);
  t.is(readFileSync(join(stateDir, copies[0]!), 'utf8'), kept, 'the bad file is kept as it was');

  for (const [text, why] of [
    ['garbage', /not valid JSON/],
    ['{"generation": 9, "kind": "shadowtap.policy-st', /not valid JSON/],
    ['{"kind": "something else", "policy": {}}', /is not a shadowtap\.policy-state\/v1 file/],
    ['', /not valid JSON/],
  ] as const) {
    writeFileSync(path, text);
    const err = refusal(t, () => restorePolicy(config, logger));
    t.is(err.code, 'ST_ERR_STATE_CORRUPT', text);
    t.regex(err.message, why);
    t.regex(err.message, /Nothing was started/);
    t.is(readFileSync(path, 'utf8'), text, 'a refused start leaves the file alone');
  }
  writeFileSync(path, '{"generation": 9, "kind": "shadowtap.policy-st');
  t.is(restorePolicy(config, logger, undefined, { discardState: true }).generation, 10, 'the generation a truncated file still names is not set back');
  writeFileSync(path, JSON.stringify({ kind: 'shadowtap.policy-state/v1', savedAt: '', generation: -2, baseHash: null, policy: {} }));
  t.regex(refusal(t, () => restorePolicy(config, logger)).message, /"generation" is -2/);
});

test('temporary files interrupted writes left are removed at start, not those of a live process', (t) => {
  const { config, stateDir } = setup(t);
  mkdirSync(stateDir, { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  const stale = join(stateDir, `.policy.json.${deadPid}.1700000000000.tmp`);
  const live = join(stateDir, `.policy.json.${process.ppid}.1700000000001.tmp`);
  writeFileSync(stale, '{"half": ');
  writeFileSync(live, '{"half": ');
  t.is(restorePolicy(config, logger).source, 'config');
  t.false(existsSync(stale));
  t.true(existsSync(live), 'another live process may still rename its file');
});
