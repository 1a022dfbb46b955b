/**
 * Experiment analysis and reports without a data plane: the schema's
 * hypothesis and observation windows (problems named), the impact table and
 * the steady-state verdicts over a series store filled with a known,
 * seeded effect, the HTML's structure, and GET /v1/reports through the API.
 * The real data plane's part is in impact-e2e.test.ts.
 */
import test from 'ava';
import Fastify from 'fastify';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { experimentCommand } from '../../src/cli/faults.js';
import pino from 'pino';
import app from '../../src/api/app.js';
import { parseTokens } from '../../src/api/credentials.js';
import { seeded } from '../../src/analysis/random.js';
import { checkExperiment } from '../../src/faults/experiment.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { buildReport, stepWindows } from '../../src/reports/build.js';
import { renderReport } from '../../src/reports/html.js';
import { SeriesStore } from '../../src/series/store.js';
import { EventFeed } from '../../src/services/events.js';
import type { ExperimentView } from '../../src/services/fault-views.js';
import { ReportService } from '../../src/services/reports.js';
import { fakeDataplane } from '../helpers/fake-dataplane.js';
import { checkHtml } from './html-check.js';

const EXP = {
  id: 'synthetic',
  seed: 99,
  faults: [{ id: 'l5', match: {}, netem: 'loss 5%' }],
  observe: { before: '20s', after: '10s' },
  steps: [{ name: 'loss', faults: ['l5'], duration: '20s' }, { name: 'quiet', faults: [], duration: '20s' }],
  hypothesis: [{ name: 'delivery', expr: 'sum(rate(shadowtap_port_tx_packets_total{port="shadow0"}[3s])) / sum(rate(shadowtap_port_rx_packets_total{port="prod-in"}[3s])) > 0.97' }],
};

test('the schema: hypothesis conditions and observation windows, every problem naming its field', (t) => {
  const ok = checkExperiment(EXP);
  t.deepEqual(ok.problems, []);
  t.deepEqual(ok.experiment!.observe, [{ beforeMs: 20_000, afterMs: 10_000 }, { beforeMs: 20_000, afterMs: 10_000 }]);
  t.is(ok.experiment!.hypothesis[0]!.name, 'delivery');
  const cases: [unknown, string, RegExp][] = [
    [{ hypothesis: [{ expr: 'rate(x[5s]' }] }, 'hypothesis[0].expr', /expected/],
    [{ hypothesis: [{ expr: 'rate(x[5s])' }] }, 'hypothesis[0].expr', /comparison at the top/],
    [{ hypothesis: [{ expr: 'x > 1', tolerance: '150%' }] }, 'hypothesis[0].tolerance', /outside 0 to 100/],
    [{ hypothesis: [{ exp: 'x > 1' }] }, 'hypothesis[0]', /.+/],
    [{ observe: { before: 'soon' } }, 'observe.before', /not a time/],
    [{ observe: { after: '2h' } }, 'observe.after', /over an hour/],
    [{ steps: [{ faults: [], duration: '1s', observe: { before: -3 } }] }, 'steps[0].observe.before', /negative/],
  ];
  for (const [over, path, message] of cases) {
    const r = checkExperiment({ ...EXP, ...(over as object) });
    const p = r.problems.find((x) => x.path === path || x.path.startsWith(`${path}.`) || x.path.startsWith(`${path}`));
    t.truthy(p, `${JSON.stringify(over)}: expected a problem at ${path}, got ${JSON.stringify(r.problems)}`);
    if (p) t.regex(p.message, message, path);
  }
});

const T0 = 1_800_000_000_000;
const PPS = 2000;

/**
 * 100 s of counters at 1 s: production at PPS ± 5 %, the shadow side a copy of
 * every packet, each lost with probability `loss(t)` (seeded binomial draws).
 * egressDrops(t): production packets the egress tx queue dropped in second t;
 * txSkew: the egress tx counter read up to that many packets behind rx (a
 * stats snapshot taken while the worker runs).
 */
function fill(loss: (sec: number) => number, seed = 5, opts: { egressDrops?: (sec: number) => number; txSkew?: number } = {}): SeriesStore {
  const store = new SeriesStore({ capacitySeconds: 600 });
  const r = seeded(seed);
  let rx = 0;
  let tx = 0;
  let fullDrops = 0;
  let sh = 0;
  let dr = 0;
  for (let s = 0; s <= 100; s++) {
    const n = Math.round(PPS * (0.95 + 0.1 * r()));
    const d = opts.egressDrops?.(s) ?? 0;
    let lost = 0;
    for (let i = 0; i < n; i++) if (r() < loss(s)) lost++;
    rx += n;
    tx += n - d;
    fullDrops += d;
    sh += n - lost;
    dr += lost;
    const skew = opts.txSkew ? Math.floor(r() * opts.txSkew) : 0;
    store.record(T0 + s * 1000 + 300, [
      { name: 'shadowtap_port_rx_packets_total', labels: { port: 'prod-in' }, value: rx },
      { name: 'shadowtap_port_tx_packets_total', labels: { port: 'prod-out' }, value: tx - skew },
      ...(opts.egressDrops ? [{ name: 'shadowtap_port_tx_dropped_total', labels: { port: 'prod-out' }, value: fullDrops }] : []),
      { name: 'shadowtap_port_tx_packets_total', labels: { port: 'shadow0' }, value: sh },
      { name: 'shadowtap_fault_dropped_total', labels: { fault: 'l5', experiment: 'synthetic' }, value: dr },
    ]);
  }
  return store;
}

const ROLES = { production: ['prod-in'], egress: ['prod-out'], shadow: ['shadow0'] };
const START = T0 + 30_000;

function view(state: ExperimentView['state'] = 'completed', endMs = START + 40_000): ExperimentView {
  return { id: 'synthetic', version: 1, state, startedAt: new Date(START).toISOString(), endedAt: new Date(endMs).toISOString(), step: null, steps: 2, abort: null, faults: [], createdAt: '', updatedAt: '', experiment: EXP as unknown as ExperimentView['experiment'] };
}

function report(store: SeriesStore, v = view()) {
  return buildReport({ view: v, checked: checkExperiment(v.experiment).experiment!, timeline: [], alerts: [], store, roles: ROLES, iterations: 500, now: START + 60_000 });
}

const row = (r: ReturnType<typeof report>, step: number, metric: string) => r.impact.rows.find((x) => x.step === step && x.metric === metric && x.scope === 'overall')!;

test('a 5 % loss window: loss up by 0.05 and delivery down by 5 %, against the window before and against production; the quiet step shows nothing', (t) => {
  const store = fill((s) => (s >= 30 && s < 50 ? 0.05 : 0));
  const r = report(store);
  t.deepEqual(stepWindows(view(), checkExperiment(EXP).experiment!).map((w) => [w.before[0] - START, w.during[0] - START, w.during[1] - START, w.after[1] - START]), [[-20_000, 0, 20_000, 30_000], [0, 20_000, 40_000, 50_000]]);
  const loss = row(r, 0, 'loss_ratio');
  // 18 s of about 2000 copies each: the mean loss has sd sqrt(.05·.95/36000) ≈ 0.00115; ±0.008 is 7 sd
  t.true(Math.abs(loss.vsBefore!.meanA - 0.05) < 0.008, `loss during ${loss.vsBefore!.meanA}`);
  t.is(loss.vsBefore!.meanB, 0);
  t.true(loss.vsBefore!.significant && loss.vsControl!.significant);
  t.is(loss.vsBefore!.cliffsDelta, 1);
  t.true(loss.vsControl!.difference.low > 0.04 && loss.vsControl!.difference.high < 0.06, JSON.stringify(loss.vsControl!.difference));
  t.false(loss.production!.significant, 'production did not move');
  const delivery = row(r, 0, 'delivery_ratio');
  t.true(delivery.vsBefore!.difference.estimate < 0 && delivery.vsBefore!.significant);
  t.true(Math.abs(delivery.vsBefore!.relative! + 0.05) < 0.008, `relative ${delivery.vsBefore!.relative}`);
  t.true(delivery.vsControl!.cliffsDelta === -1, 'every second of the step below every second before, against production');
  // the quiet step, measured against the loss step before it: the loss is gone
  const after = row(r, 1, 'loss_ratio');
  t.true(after.vsBefore!.difference.estimate < -0.04);
  // hypothesis: held before, violated during the loss, held in the quiet step
  const h = r.hypothesis[0]!.steps;
  t.deepEqual(h[0]!.windows.map((w) => w.verdict), ['held', 'violated', 'held']);
  t.is(h[1]!.windows.find((w) => w.window === 'during')!.verdict, 'held');
  // the baseline leaves out the loss step's seconds (step 2's before window is the loss step)
  t.is(r.baseline.find((b) => b.metric === 'loss_ratio')!.shadow, 0);
  t.is(r.baseline.find((b) => b.metric === 'delivery_ratio')!.production, 1);
  // the same data and seed: the same intervals
  t.deepEqual(report(store).impact.rows.map((x) => x.vsControl?.difference), r.impact.rows.map((x) => x.vsControl?.difference));
  t.is(r.seed, 99);
});

test('production loss is counted drops: a stats snapshot that reads tx up to 150 packets after rx moves nothing; egress tx-queue drops do', (t) => {
  // The data plane reads a port's rx and another's tx one after the other while its worker
  // runs; a preempted reader sees rx ahead of tx by what arrived in between (100 packets in
  // 50 ms at 2000 pps). Received − forwarded read that as a second's loss (over 5 % here,
  // as much as the fault) and the control of the shadow's loss moved with it.
  const loss5 = (sec: number) => (sec >= 30 && sec < 50 ? 0.05 : 0);
  const mk = (egressDrops: (sec: number) => number) => report(fill(loss5, 11, { egressDrops, txSkew: 150 }));
  const clean = row(mk(() => 0), 0, 'loss_ratio');
  t.is(clean.production!.meanA, 0);
  t.is(clean.production!.meanB, 0);
  t.is(clean.vsControl!.cliffsDelta, 1, JSON.stringify(clean.vsControl));
  t.true(clean.vsControl!.significant, JSON.stringify(clean.vsControl));
  // 40 packets a second lost to a full egress queue during the step: production's own loss
  // (about 0.02), and the control (shadow − production) is smaller by as much
  const full = row(mk((s) => (s >= 30 && s < 50 ? 40 : 0)), 0, 'loss_ratio');
  t.true(full.production!.meanA > 0.018 && full.production!.meanA < 0.022, `${full.production!.meanA}`);
  t.true(full.production!.significant);
  t.true(Math.abs(full.vsControl!.difference.estimate - (full.vsBefore!.meanA - full.production!.meanA)) < 1e-9);
});

test('no fault: nothing significant anywhere in the table', (t) => {
  const r = report(fill(() => 0, 11));
  const rows = r.impact.rows.filter((x) => x.vsBefore);
  t.true(rows.length >= 4, `${rows.length} rows with data`);
  // loss is 0 every second on both sides: p = 1 exactly; delivery is 1 exactly on both sides
  for (const x of rows) t.false(x.vsBefore!.significant || x.vsControl!.significant, `${x.metric} step ${x.step}: p ${x.vsBefore!.p} / ${x.vsControl!.p}`);
  t.deepEqual(r.hypothesis[0]!.steps.flatMap((s) => s.windows.map((w) => w.verdict)), ['held', 'held', 'held', 'held', 'held', 'held']);
});

test('the HTML: one self-contained file (no http(s), no src/href/url()), well nested, with the charts as inline SVG; an abort says so', (t) => {
  const store = fill((s) => (s >= 30 && s < 50 ? 0.05 : 0));
  const v = { ...view('aborted', START + 10_000), abort: { reason: 'stop condition shadow_delivery_ratio below 99%: shadow_delivery_ratio was 0.95 over 1000 ms', condition: 'shadow_delivery_ratio below 99%', value: 0.95, crossedAt: new Date(START + 9_000).toISOString(), detectedAt: new Date(START + 9_100).toISOString(), disarmedAt: new Date(START + 9_150).toISOString(), disarmMs: 150 } };
  const r = report(store, v);
  t.is(r.windows.length, 1, 'the step the abort cut short, and not the one after');
  t.is(r.windows[0]!.during[1], new Date(START + 10_000).toISOString());
  const html = renderReport(r);
  const c = checkHtml(html);
  t.deepEqual(c.problems, []);
  t.true(c.svg >= 6, `${c.svg} svg elements`);
  t.regex(html, /ABORTED: stop condition shadow_delivery_ratio below 99%/);
  t.regex(html, /bootstrap seed <code>99<\/code>/);
  t.notRegex(html, /https?:/i);
  const embedded = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html);
  t.is((JSON.parse(embedded![1]!) as { id: string }).id, r.id);
});

test('GET /v1/reports, /v1/reports/:id and :id.html (read role), 404 naming the id', async (t) => {
  const READ = 'reader-secret-0123456789';
  const events = new EventFeed();
  const store = fill((s) => (s >= 30 && s < 50 ? 0.05 : 0));
  const svc = new ReportService({
    runDir: null, keep: () => 1, enabled: () => true, store, events, roles: () => ROLES, logger: pino({ level: 'silent' }), iterations: 200,
    faults: { getExperiment: () => view(), timelineEntries: () => [] },
  });
  t.teardown(() => svc.close());
  const summary = svc.generate('synthetic');
  t.is(summary.experiment, 'synthetic');
  t.true(summary.significant >= 2);
  const dp = fakeDataplane({ state: 'stopped' });
  const f = Fastify({ logger: false });
  await f.register(app, { dataplane: dp, services: { policy: dp, offload: dp, reports: svc }, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }), security: { tokens: parseTokens(`monitor:read:${READ}\n`, 'test') } });
  t.teardown(() => f.close());
  const h = { authorization: `Bearer ${READ}` };
  const list = await f.inject({ method: 'GET', url: '/v1/reports', headers: h });
  t.is(list.statusCode, 200, list.body);
  t.deepEqual((list.json() as { reports: { id: string }[] }).reports.map((x) => x.id), [summary.id]);
  const one = await f.inject({ method: 'GET', url: `/v1/reports/${summary.id}`, headers: h });
  t.is(one.statusCode, 200);
  t.is((one.json() as { seed: number }).seed, 99);
  t.true(Array.isArray((one.json() as { impact: { rows: unknown[] } }).impact.rows));
  const byExperiment = await f.inject({ method: 'GET', url: '/v1/reports/synthetic?format=html', headers: h });
  t.is(byExperiment.statusCode, 200);
  t.regex(String(byExperiment.headers['content-type']), /^text\/html/);
  const html = await f.inject({ method: 'GET', url: `/v1/reports/${summary.id}.html`, headers: h });
  t.is(html.body, byExperiment.body);
  t.deepEqual(checkHtml(html.body).problems, []);
  const missing = await f.inject({ method: 'GET', url: '/v1/reports/nope', headers: h });
  t.is(missing.statusCode, 404);
  t.regex(missing.body, /no report \\"nope\\"/);
  t.is((await f.inject({ method: 'GET', url: '/v1/reports' })).statusCode, 401);

  // the CLI over HTTP: shadowtap experiment report ID --out FILE (HTML), --format json, reports
  const url = await f.listen({ host: '127.0.0.1', port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'st-report-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const old = process.env['SHADOWTAP_TOKEN'];
  process.env['SHADOWTAP_TOKEN'] = READ;
  try {
    const file = join(dir, 'r.html');
    const w = await experimentCommand(['report', 'synthetic', '--out', file, '--url', url]);
    t.is(w.code, 0, w.stderr.join('\n'));
    t.is(readFileSync(file, 'utf8'), html.body);
    const j = await experimentCommand(['report', summary.id, '--format', 'json', '--url', url]);
    t.is((JSON.parse(j.stdout.join('\n')) as { id: string }).id, summary.id);
    const l = await experimentCommand(['reports', '--url', url]);
    t.regex(l.stdout.join('\n'), new RegExp(`^${summary.id} +synthetic +completed`, 'm'));
    const bad = await experimentCommand(['report', 'synthetic', '--format', 'pdf', '--url', url]);
    t.is(bad.code, 2);
    t.regex(bad.stderr.join('\n'), /--format: expected html or json, got "pdf"/);
    const none = await experimentCommand(['report', 'nope', '--url', url]);
    t.is(none.code, 4, none.stderr.join('\n'));
  } finally {
    if (old === undefined) delete process.env['SHADOWTAP_TOKEN'];
    else process.env['SHADOWTAP_TOKEN'] = old;
  }
});
