/**
 * Alert rules over the API (routes with app.inject, the real series store,
 * alert service and event feed; the data plane is the route tests' fake):
 * create, version with ETags, refuse bad rules naming the field and the
 * position, fire after the for-duration and resolve, publish both on the
 * event feed and as metrics, survive a restart of the service, export as a
 * Prometheus rule file.
 */
import test from 'ava';
import Fastify from 'fastify';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import app from '../../src/api/app.js';
import { parseTokens } from '../../src/api/credentials.js';
import { isShadowtapError } from '../../src/errors.js';
import { AlertService, registerAlertMetrics } from '../../src/services/alerts.js';
import { EventFeed, type FeedEvent } from '../../src/services/events.js';
import { SeriesService } from '../../src/services/series.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';

const ADMIN = 'admin-secret-0123456789';
const READER = 'reader-secret-0123456789';
const T0 = 1_800_000_000_000;

async function build(t: { teardown(fn: () => void): void }, stateDir = mkdtempSync(join(tmpdir(), 'st-alerts-'))) {
  const dp = fakeDataplane();
  const series = new SeriesService();
  const alerts = new AlertService({ series, stateDir, now: () => T0 });
  const events = new EventFeed();
  alerts.on('alert', (a) => events.publish('alert', { ...a }));
  const registry = new Registry();
  registerAlertMetrics(registry, alerts, series);
  const f = Fastify({ logger: false });
  await f.register(app, {
    dataplane: dp,
    services: { policy: dp, offload: dp, events, series, alerts },
    registry,
    security: { tokens: parseTokens(`ops:admin:${ADMIN}\nmonitor:read:${READER}\n`, 'test'), rateLimit: { perSecond: 0, burst: 1_000_000 } },
  });
  await f.ready();
  t.teardown(() => {
    void f.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  /** one second of data: a drop counter rising `perSecond` */
  let dropped = 0;
  const tick = (second: number, perSecond: number) => {
    dropped += perSecond;
    series.store.record(T0 + second * 1000, [{ name: 'shadowtap_port_tx_dropped_total', labels: { port: 'shadow0', role: 'shadow' }, value: dropped }]);
    alerts['engine'].evaluate(T0 + second * 1000);
  };
  return { f, series, alerts, events, registry, stateDir, tick };
}

const admin = { authorization: `Bearer ${ADMIN}` };
const reader = { authorization: `Bearer ${READER}` };
const RULE = {
  name: 'ShadowDrops',
  expr: 'sum(rate(shadowtap_port_tx_dropped_total{role="shadow"}[5s]))',
  condition: { op: '>', threshold: 100 },
  for: '3s',
  severity: 'warning',
  summary: 'the shadow side drops copies',
};

test('a rule is created, versioned by ETag, and a write naming an old revision changes nothing', async (t) => {
  const { f } = await build(t);
  const put = await f.inject({ method: 'PUT', url: '/v1/alerts/rules/ShadowDrops', headers: admin, payload: RULE });
  t.is(put.statusCode, 201, put.body);
  t.is(put.headers['etag'], '"a1"');
  t.is(put.headers['location'], '/v1/alerts/rules/ShadowDrops');
  t.deepEqual(put.json().warnings, ['no series named shadowtap_port_tx_dropped_total yet: the rule stays quiet until one appears']);
  const get = await f.inject({ method: 'GET', url: '/v1/alerts/rules', headers: reader });
  t.is(get.headers['etag'], '"a1"');
  t.like(get.json().rules[0], { name: 'ShadowDrops', for: '3s', severity: 'warning', status: { pending: 0, firing: 0 } });
  // the same body again: 200, nothing changed, same revision
  const again = await f.inject({ method: 'PUT', url: '/v1/alerts/rules/ShadowDrops', headers: { ...admin, 'if-match': '"a1"' }, payload: RULE });
  t.is(again.statusCode, 200);
  t.false(again.json().changed);
  t.is(again.headers['etag'], '"a1"');
  const stale = await f.inject({ method: 'PUT', url: '/v1/alerts/rules/ShadowDrops', headers: { ...admin, 'if-match': '"a0"' }, payload: { ...RULE, severity: 'critical' } });
  t.is(stale.statusCode, 412);
  t.is(stale.json().code, 'ST_ERR_PRECONDITION_FAILED');
  t.is((await f.inject({ method: 'GET', url: '/v1/alerts/rules/ShadowDrops', headers: reader })).json().severity, 'warning');
  // a read token may check but not write
  t.is((await f.inject({ method: 'PUT', url: '/v1/alerts/rules/ShadowDrops', headers: reader, payload: RULE })).statusCode, 403);
  const check = await f.inject({ method: 'POST', url: '/v1/alerts/rules/check', headers: reader, payload: RULE });
  t.is(check.statusCode, 200, check.body);
  t.true(check.json().valid);
  const del = await f.inject({ method: 'DELETE', url: '/v1/alerts/rules/ShadowDrops', headers: { ...admin, 'if-match': '"a1"' } });
  t.is(del.statusCode, 200);
  t.is(del.headers['etag'], '"a2"');
  t.is((await f.inject({ method: 'GET', url: '/v1/alerts/rules/ShadowDrops', headers: reader })).statusCode, 404);
});

const BAD: [Record<string, unknown>, string, RegExp][] = [
  [{ expr: 'sum(rate(x[5m])' }, 'expr', /^at 16: expected "\)", found the end of the expression$/],
  [{ expr: 'rate(x[5m]) > 3' }, 'expr', /^at 13: expected an expression without a comparison/],
  [{ expr: 'rate(x[2h])' }, 'expr', /windows of at most 1h/],
  [{ severity: 'page' }, 'severity', /./],
  [{ condition: { op: '=>', threshold: 1 } }, 'condition.op', /./],
  [{ condition: { op: '>', threshold: '1' } }, 'condition.threshold', /number/],
  [{ for: '3 minutes' }, 'for', /match/],
  [{ for: '2h' }, 'for', /^expected at most 1h, got 2h$/],
  [{ name: 'bad-name' }, 'name', /match/],
  [{ extra: 1 }, 'extra', /Unexpected property/],
];

test('bad rules are refused with every problem named by its field, and nothing changes', async (t) => {
  const { f } = await build(t);
  for (const [over, path, re] of BAD) {
    const body = { ...RULE, ...over };
    const name = typeof over['name'] === 'string' ? over['name'] : RULE.name;
    const res = await f.inject({ method: 'PUT', url: `/v1/alerts/rules/${name}`, headers: admin, payload: body });
    t.is(res.statusCode, 400, JSON.stringify(over));
    const b = res.json();
    t.is(b.code, 'ST_ERR_ALERT_INVALID', JSON.stringify(over));
    const p = (b.problems as { path: string; message: string }[]).find((x) => x.path === path);
    t.truthy(p, `${JSON.stringify(over)}: ${JSON.stringify(b.problems)}`);
    if (p) t.regex(p.message, re, JSON.stringify(over));
  }
  t.is((await f.inject({ method: 'GET', url: '/v1/alerts/rules', headers: reader })).json().revision, 0);
  // a whole set with a duplicate name
  const dup = await f.inject({ method: 'PUT', url: '/v1/alerts/rules', headers: admin, payload: { rules: [RULE, RULE] } });
  t.is(dup.statusCode, 400);
  t.deepEqual(dup.json().problems, [{ path: 'rules[1].name', message: 'expected a unique name; "ShadowDrops" is also rules[0]' }]);
});

test('an alert fires once its condition held for the for-duration, resolves when it stops, on the feed and in the metrics', async (t) => {
  const { f, tick, events, registry } = await build(t);
  t.is((await f.inject({ method: 'PUT', url: '/v1/alerts/rules/ShadowDrops', headers: admin, payload: RULE })).statusCode, 201);
  const seen: FeedEvent[] = [];
  events.subscribe((e) => seen.push(e));
  // 10 s quiet (50/s), then 200/s from second 10
  for (let s = 0; s < 10; s++) tick(s, 50);
  t.deepEqual((await f.inject({ method: 'GET', url: '/v1/alerts', headers: reader })).json().alerts, []);
  // the 5 s rate (samples s−4..s) passes 100 at second 11 (rises 50, 50, 200, 200 over 4 s = 125; at 10: 350/4 = 87.5); held 3 s: fires at 14
  const firingAt: number[] = [];
  for (let s = 10; s < 25; s++) {
    tick(s, 200);
    if (seen.some((e) => e.data['state'] === 'firing') && firingAt.length === 0) firingAt.push(s);
  }
  t.deepEqual(firingAt, [14]);
  const now = (await f.inject({ method: 'GET', url: '/v1/alerts', headers: reader })).json();
  t.like(now.alerts[0], { rule: 'ShadowDrops', state: 'firing', severity: 'warning', labels: {}, value: 200 });
  t.regex(await registry.metrics(), /shadowtap_alerts_firing\{rule="ShadowDrops",severity="warning"\} 1/);
  for (let s = 25; s < 40; s++) tick(s, 10);
  const types = seen.map((e) => `${e.type}:${e.data['state']}`);
  t.deepEqual(types, ['alert:firing', 'alert:resolved']);
  const metrics = await registry.metrics();
  t.regex(metrics, /shadowtap_alerts_firing\{rule="ShadowDrops",severity="warning"\} 0/);
  t.regex(metrics, /shadowtap_alert_transitions_total\{rule="ShadowDrops",severity="warning",state="resolved"\} 1/);
  t.is((await f.inject({ method: 'GET', url: '/v1/alerts', headers: reader })).json().recent.length, 2);
});

test('rules are saved and read back; a saved file that cannot be used stops the start naming it', async (t) => {
  const { f, stateDir } = await build(t);
  t.is((await f.inject({ method: 'PUT', url: '/v1/alerts/rules', headers: admin, payload: { rules: [RULE, { ...RULE, name: 'Other', severity: 'critical' }] } })).statusCode, 200);
  const again = new AlertService({ series: new SeriesService(), stateDir });
  t.deepEqual(again.rules().rules.map((r) => [r.name, r.severity]), [['ShadowDrops', 'warning'], ['Other', 'critical']]);
  t.is(again.rules().revision, 1);
  writeFileSync(join(stateDir, 'alerts.json'), JSON.stringify({ kind: 'shadowtap.alert-rules/v1', revision: 3, rules: [{ ...RULE, expr: 'rate(' }] }));
  let err: unknown = null;
  try {
    new AlertService({ series: new SeriesService(), stateDir });
  } catch (e) {
    err = e;
  }
  t.true(isShadowtapError(err));
  t.is((err as { code: string }).code, 'ST_ERR_STATE_CORRUPT');
  t.regex((err as Error).message, /alerts\.json: rules\[0\]\.expr: at 6: expected a number, a metric name/);
});

test('the rules export as a Prometheus rule file with the same expression, for, severity and summary', async (t) => {
  const { f } = await build(t);
  await f.inject({ method: 'PUT', url: '/v1/alerts/rules/ShadowDrops', headers: admin, payload: RULE });
  const res = await f.inject({ method: 'GET', url: '/v1/alerts/rules.yaml', headers: reader });
  t.is(res.statusCode, 200);
  t.regex(String(res.headers['content-type']), /^application\/yaml/);
  t.deepEqual(parse(res.body), {
    groups: [
      {
        name: 'shadowtap-alerts',
        rules: [
          {
            alert: 'ShadowDrops',
            expr: '(sum(rate(shadowtap_port_tx_dropped_total{role="shadow"}[5s]))) > 100',
            for: '3s',
            labels: { severity: 'warning' },
            annotations: { summary: 'the shadow side drops copies' },
          },
        ],
      },
    ],
  });
});

test('series queries: results, and a bad expression named by its position', async (t) => {
  const { f, tick } = await build(t);
  for (let s = 0; s < 10; s++) tick(s, 7);
  const q = await f.inject({ method: 'GET', url: `/v1/series/query?expr=${encodeURIComponent('rate(shadowtap_port_tx_dropped_total[5s])')}`, headers: reader });
  t.is(q.statusCode, 200, q.body);
  t.deepEqual(q.json(), { at: T0 + 9000, resultType: 'vector', result: [{ metric: { port: 'shadow0', role: 'shadow' }, value: 7 }] });
  const r = await f.inject({ method: 'GET', url: `/v1/series/query_range?expr=${encodeURIComponent('shadowtap_port_tx_dropped_total')}&start=${T0 + 7000}&end=${T0 + 9000}`, headers: reader });
  t.deepEqual(r.json().series[0].points, [[T0 + 7000, 56], [T0 + 8000, 63], [T0 + 9000, 70]]);
  const bad = await f.inject({ method: 'GET', url: `/v1/series/query?expr=${encodeURIComponent('rate(x[5m]')}`, headers: reader });
  t.is(bad.statusCode, 400);
  t.is(bad.json().message, 'expr: at 11: expected "," or ")", found the end of the expression');
  const ov = (await f.inject({ method: 'GET', url: '/v1/series', headers: reader })).json();
  t.like(ov, { resolutionSeconds: 1, capacitySeconds: 3900, series: 1 });
});
