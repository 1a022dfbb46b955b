/**
 * `shadowtap run` restores the policy applied through the API from
 * <run_dir>/state/policy.json, unless the file's policy section changed since.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { policySection, validateConfig } from '../../src/config/load.js';
import { restorePolicy } from '../../src/services/policy.js';
import { policyHash, savePolicyState, statePath } from '../../src/services/policy-state.js';

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

test('the file wins when its policy changed since the state was saved; no state, a bad state: the file', (t) => {
  const { config, stateDir } = setup(t);
  t.is(restorePolicy(config, logger).source, 'config');
  savePolicyState(stateDir, { generation: 3, baseHash: 'an older file', policy: { sessions: [{ id: 4 }] } });
  const r = restorePolicy(config, logger);
  t.is(r.source, 'config');
  t.is(r.config, config);
  savePolicyState(stateDir, { generation: 3, baseHash: policyHash(policySection(config)), policy: { sessions: [{ id: 4, sources: [{ port: 'gone' }] }] } });
  t.is(restorePolicy(config, logger).source, 'config', 'a saved policy that no longer validates is ignored');
  writeFileSync(statePath(stateDir), 'garbage');
  t.is(restorePolicy(config, logger).source, 'config');
});
