/**
 * deploy/grafana/shadowtap.json and deploy/prometheus/shadowtap-rules.yml,
 * checked against the real /metrics: every query parses (the PromQL subset
 * shadowtap evaluates itself, src/series/expr.ts) and names only metrics the
 * real registry exports or a recording rule records, and evaluates over a
 * series store sampled from that registry without a matching error. With
 * promtool on PATH (Debian's prometheus package), the rules also pass
 * `promtool check rules`; the package is not installed by the bootstrap (its
 * install starts a Prometheus server), so the structural checks here are the
 * ones that always run.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { Evaluator } from '../../src/series/eval.js';
import { metricNames, parseDuration, parseExpr } from '../../src/series/expr.js';
import { registrySamples } from '../../src/series/sampler.js';
import { SeriesStore } from '../../src/series/store.js';
import { AlertService, registerAlertMetrics } from '../../src/services/alerts.js';
import { SeriesService } from '../../src/services/series.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const RULES = `${root}deploy/prometheus/shadowtap-rules.yml`;
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const rules = parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; interval?: string; rules: Obj[] }[] };
const dashboard = JSON.parse(readFileSync(`${root}deploy/grafana/shadowtap.json`, 'utf8')) as Obj;
const recorded = new Set(rules.groups.flatMap((g) => g.rules.filter((r) => r['record']).map((r) => r['record'] as string)));

/** Names /metrics shows (histograms with their _bucket, _sum and _count), from the real registry with everything run registers. */
async function exported(): Promise<{ names: Set<string>; registry: ReturnType<typeof createMetricsRegistry> }> {
  // The fake with what the Supervisor adds (offload, reliability, process usage): every metric run exports.
  const dp = Object.assign(fakeDataplane(), {
    offloadStats: () => ({ rules: [], hits: [], fallbacks: {}, disagreements: [] }),
    reliabilityStats: () => ({ crashesByStage: {}, quarantineEntries: 0, forwardOnly: false, lastOutageMs: null }),
    dataplaneUsage: () => ({ cpuSeconds: 1, residentBytes: 1, live: true }),
  });
  const registry = createMetricsRegistry({ source: dp, defaultMetrics: true });
  const series = new SeriesService();
  registerAlertMetrics(registry, new AlertService({ series, stateDir: null }), series);
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    for (const v of m.values as { metricName?: string }[]) if (v.metricName) names.add(v.metricName);
  }
  return { names, registry };
}

function dashboardExprs(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of dashboard['panels'] as Obj[]) for (const t of p['targets'] ?? []) out.push({ where: `panel "${p['title']}" ${t['refId']}`, expr: t['expr'] });
  for (const a of dashboard['annotations']['list'] as Obj[]) out.push({ where: `annotation "${a['name']}"`, expr: a['expr'] });
  return out;
}

test('the rule file has the Prometheus shape: groups of recording and alerting rules, each complete', (t) => {
  t.true(rules.groups.length >= 2);
  const names = new Set<string>();
  for (const g of rules.groups) {
    t.regex(g.name, /^[a-z-]+$/);
    t.false(names.has(g.name), `group ${g.name} is unique`);
    names.add(g.name);
    if (g.interval !== undefined) t.not(parseDuration(g.interval), null, `${g.name}.interval`);
    for (const r of g.rules) {
      const keys = Object.keys(r).sort();
      if (r['record']) {
        t.deepEqual(keys, ['expr', 'record'], `${r['record']}: only record and expr`);
        t.regex(r['record'], /^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/, 'level:metric:operations');
      } else {
        t.regex(r['alert'], /^[A-Z][A-Za-z0-9]+$/);
        t.deepEqual(keys.filter((k) => !['alert', 'expr', 'for', 'labels', 'annotations'].includes(k)), [], `${r['alert']}: known keys`);
        t.true(['info', 'warning', 'critical'].includes(r['labels']?.['severity']), `${r['alert']}: a severity`);
        t.is(typeof r['annotations']?.['summary'], 'string', `${r['alert']}: a summary`);
        if (r['for'] !== undefined) t.not(parseDuration(r['for']), null, `${r['alert']}.for`);
      }
    }
  }
  t.true(recorded.size >= 5);
});

test('every query of the rules and the Grafana dashboard parses and names metrics that exist in /metrics', async (t) => {
  const { names } = await exported();
  const all = [...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r['record'] ?? r['alert']}`, expr: r['expr'] as string }))), ...dashboardExprs()];
  t.true(all.length >= 25, `${all.length} queries`);
  for (const { where, expr } of all) {
    let node;
    try {
      node = parseExpr(expr);
    } catch (err) {
      t.fail(`${where}: ${(err as Error).message}`);
      continue;
    }
    const missing = metricNames(node).filter((n) => !names.has(n) && !recorded.has(n));
    t.deepEqual(missing, [], `${where}: ${expr}`);
  }
  // and the check can fail: a misspelt metric is caught
  t.false(names.has('shadowtap_mirror_packet_total'));
});

test('the queries evaluate over series sampled from the real registry (no matching errors)', async (t) => {
  const { registry } = await exported();
  const store = new SeriesStore();
  const T0 = 1_800_000_000_000;
  for (let i = 0; i <= 90; i += 1) store.record(T0 + i * 1000, await registrySamples(registry));
  // the recording rules' outputs, as Prometheus would store them, in rule order
  const ev = new Evaluator(store);
  for (const g of rules.groups) {
    for (const r of g.rules) {
      const v = ev.eval(parseExpr(r['expr']), T0 + 90_000);
      if (r['record'] && v.type === 'vector') store.record(T0 + 90_000, v.samples.map((s) => ({ name: r['record'], labels: Object.fromEntries(Object.entries(s.metric).filter(([k]) => k !== '__name__')), value: s.value })));
    }
  }
  for (const { where, expr } of dashboardExprs()) t.notThrows(() => ev.eval(parseExpr(expr), T0 + 90_000), where);
  // the role join sees every port of the fake configuration
  const byRole = ev.eval(parseExpr('sum by (role) (rate(shadowtap_port_rx_packets_total[1m]) * on(port) group_left(role) shadowtap_port_info)'), T0 + 90_000);
  t.deepEqual(byRole.type === 'vector' ? byRole.samples.map((s) => s.metric['role']).sort() : [], ['egress', 'production', 'shadow']);
});

test('the Grafana dashboard: a datasource variable, unique panel ids, annotations for alerts and restarts', (t) => {
  t.is(dashboard['uid'], 'shadowtap-overview');
  t.is(dashboard['templating']['list'][0]['type'], 'datasource');
  const ids = (dashboard['panels'] as Obj[]).map((p) => p['id']);
  t.is(new Set(ids).size, ids.length);
  for (const p of dashboard['panels'] as Obj[]) t.is(p['datasource']['uid'], '${datasource}', `${p['title']}`);
  t.deepEqual((dashboard['annotations']['list'] as Obj[]).map((a) => a['name']), ['shadowtap alerts firing', 'data-plane restarts']);
});

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
(promtool.status === 0 ? test : test.skip)('promtool check rules accepts the rule file', (t) => {
  const r = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
  t.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
});
