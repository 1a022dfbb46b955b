/**
 * `shadowtap alerts` and `shadowtap query` against a real admin API (the app
 * listening on loopback with the real series store and alert service; the
 * data plane is the route tests' fake): each command's output and exit
 * status, and the If-Match it sends.
 */
import test from 'ava';
import Fastify from 'fastify';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import app from '../../src/api/app.js';
import { AlertService } from '../../src/services/alerts.js';
import { SeriesService } from '../../src/services/series.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');

function cli(args: string[], url: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SHADOWTAP_URL: url, XDG_CONFIG_HOME: '/nonexistent' };
    delete env['SHADOWTAP_TOKEN'];
    execFile(process.execPath, [CLI, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('alerts set, rules, show, check, list, export, rm and query, through the API', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-alerts-cli-'));
  const dp = fakeDataplane();
  const series = new SeriesService();
  const alerts = new AlertService({ series, stateDir: dir });
  const f = Fastify({ logger: false });
  const seen: { method: string; url: string; ifMatch: string | undefined }[] = [];
  f.addHook('onRequest', async (req) => {
    seen.push({ method: req.method, url: req.url, ifMatch: req.headers['if-match'] as string | undefined });
  });
  await f.register(app, { dataplane: dp, services: { policy: dp, offload: dp, series, alerts }, registry: new Registry() });
  const url = await f.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const now = Date.now();
  for (let s = 0; s < 20; s++) series.store.record(now - (19 - s) * 1000, [{ name: 'shadowtap_port_tx_dropped_total', labels: { port: 'shadow0' }, value: 300 * s }]);

  const set = await cli(['alerts', 'set', 'Drops', '--expr', 'sum(rate(shadowtap_port_tx_dropped_total[5s]))', '--op', '>', '--threshold', '100', '--for', '10s', '--severity', 'critical'], url);
  t.is(set.status, 0, set.stderr);
  t.is(set.stdout, 'alert rule Drops added (revision 1)\n');
  t.deepEqual(seen.filter((s) => s.method === 'PUT').map((s) => s.ifMatch), ['"a0"'], 'the revision read before the write is sent back');

  const rules = await cli(['alerts', 'rules'], url);
  t.regex(rules.stdout, /^revision 1\nNAME +SEVERITY +CONDITION +FOR +FIRING +PENDING +EXPR\nDrops +critical +> 100 +10s +0 +0 +sum\(rate/);

  const check = await cli(['alerts', 'check', 'Drops', '--expr', 'sum(rate(shadowtap_port_tx_dropped_total[5s]))', '--op', '>', '--threshold', '100', '--severity', 'info'], url);
  t.is(check.status, 0, check.stderr);
  t.is(check.stdout, 'alert rule Drops is valid; now:\n  {} 300  (condition holds)\n');

  const bad = await cli(['alerts', 'check', 'Drops', '--expr', 'sum(rate(x[5s])', '--op', '>', '--threshold', '1', '--severity', 'info'], url);
  t.is(bad.status, 1);
  t.is(bad.stderr, 'alert rule Drops is not valid:\n  expr: at 16: expected ")", found the end of the expression\n');

  const file = join(dir, 'rule.yaml');
  writeFileSync(file, 'expr: max(shadowtap_port_tx_dropped_total)\ncondition: { op: ">", threshold: -1 }\nseverity: banana\n');
  const refused = await cli(['alerts', 'set', 'Other', file], url);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /^PUT \/v1\/alerts\/rules\/Other: 400 ST_ERR_ALERT_INVALID: /);
  t.regex(refused.stderr, /\n {2}severity: /);

  // the rule evaluates when a sample arrives; then it is pending (10 s to go)
  alerts['engine'].evaluate(now);
  const list = await cli(['alerts', 'list'], url);
  t.regex(list.stdout, /^RULE +SEVERITY +STATE +SINCE +VALUE +LABELS\nDrops +critical +pending +\d+s +300 +\{\}\n$/);

  const yaml = await cli(['alerts', 'export'], url);
  t.regex(yaml.stdout, /- alert: Drops\n +expr: \(sum\(rate\(shadowtap_port_tx_dropped_total\[5s\]\)\)\) > 100\n +for: 10s\n/);

  const q = await cli(['query', 'rate(shadowtap_port_tx_dropped_total[5s])'], url);
  t.is(q.status, 0, q.stderr);
  t.is(q.stdout, 'SERIES            VALUE\n{port="shadow0"}  300\n');
  const qbad = await cli(['query', 'rate(x)'], url);
  t.is(qbad.status, 1);
  t.regex(qbad.stderr, /400 ST_ERR_BAD_REQUEST: expr: at 6: expected a range selector/);
  const qr = await cli(['query', 'shadowtap_port_tx_dropped_total', '--range', '3s', '--step', '1'], url);
  t.is(qr.stdout.trim().split('\n').length, 5, qr.stdout);

  const rm = await cli(['alerts', 'rm', 'Drops'], url);
  t.is(rm.stdout, 'alert rule Drops removed (revision 2)\n');
  const gone = await cli(['alerts', 'show', 'Drops'], url);
  t.is(gone.status, 4);
});
