/**
 * Experiments with their reports on the REAL data plane: the demo's
 * configuration (its capture replayed at 2000 packets/s through net_pcap,
 * the copies to a net_pcap shadow port, measurement on), the supervisor's
 * series store fed from the metrics registry, experiments run by the fault
 * service and reports written by the report service when they end.
 *
 * 1. examples/experiments/loss-and-delay.yaml as it is: the report's impact
 *    table shows the 5 % loss (loss ratio up by 0.05, delivery down by
 *    about 5 %) and the 20 ms delay (added delay 20 ms), each with the right
 *    sign, against the window before and against production; the hypothesis
 *    verdicts; the HTML self-contained, parsed by Chromium with every
 *    request refused.
 * 2. a clean experiment (no faults): no significant effect.
 * 3. a stop condition aborts an experiment: the report says so and why.
 *
 * Bounds (each derived in the test, next to its assertion): a correct
 * implementation misses each with probability below 1e-6.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { parse } from 'yaml';
import { METRICS } from '../../src/analysis/impact.js';
import { locateWindow } from '../../src/analysis/changepoint.js';
import { checkConfig } from '../../src/config/load.js';
import { defaultConfigInput } from '../../src/config/default.js';
import { preflight } from '../../src/cli/preflight.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import type { ExperimentReport } from '../../src/reports/build.js';
import { makeSupervisor, missingBuild } from '../helpers/supervised.js';
import { checkHtml } from './html-check.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const missing = missingBuild();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Sup = ReturnType<typeof makeSupervisor>;
let sup: Sup | null = null;
let dir = '';

test.before(async () => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'st-impact-'));
  const input = { ...defaultConfigInput({ runDir: join(dir, 'run'), tap: false }), reports: { keep: 2 } };
  const { config, problems } = checkConfig(input, { source: 'test' });
  if (!config) throw new Error(JSON.stringify(problems));
  preflight(config, true);
  sup = makeSupervisor(`st-impact-${process.pid}`, config, { stateDir: join(dir, 'run', 'state'), runDir: join(dir, 'run'), pollIntervalMs: 250 });
  sup.services.series.readFrom(createMetricsRegistry({ source: sup, defaultMetrics: false }));
  await sup.start();
});

test.after.always(async () => {
  await sup?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Run an experiment to its end and wait for its report. */
async function runExperiment(s: Sup, doc: Record<string, unknown>): Promise<ExperimentReport> {
  const next = s.services.reports.next(doc['id'] as string);
  await s.services.faults.createExperiment(doc, { start: true });
  // A wait for the report, not a speed bound; its timer is cleared, or it would keep the
  // test process alive for 300 s after the last experiment.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), 300_000);
  });
  const summary = await Promise.race([next, timeout]).finally(() => clearTimeout(timer));
  if (!summary) throw new Error(`no report for ${String(doc['id'])} within 300 s`);
  return s.services.reports.get(summary.id);
}

const row = (r: ExperimentReport, step: number, metric: string, scope = 'overall') => {
  const x = r.impact.rows.find((y) => y.step === step && y.metric === metric && y.scope === scope);
  if (!x) throw new Error(`no row ${metric} step ${step}`);
  return x;
};

test.serial('loss-and-delay.yaml on the demo traffic: the report shows the 5 % loss and the 20 ms delay with the right sign and size', async (t) => {
  if (missing) return t.fail(missing);
  const s = sup!;
  const doc = parse(readFileSync(join(root, 'examples/experiments/loss-and-delay.yaml'), 'utf8')) as Record<string, unknown>;
  // the first step's before window needs series from before the start
  await sleep(13_000);
  const r = await runExperiment(s, doc);
  t.is(r.state, 'completed');
  t.is(r.seed, Number((20261207n ^ (20261207n >> 32n)) & 0xffffffffn));
  t.deepEqual(r.windows.map((w) => w.faults), [[], ['loss5'], [], ['delay20'], []]);

  // --- the loss step (step 2) --------------------------------------------------------
  const loss = row(r, 1, 'loss_ratio');
  const lb = loss.vsBefore!;
  t.truthy(lb, loss.note ?? '');
  // Each copy is dropped independently with p = 0.05. A sample covering N
  // copies has a loss ratio of mean p (exactly, given N) and sd
  // sqrt(p(1-p)/N); the mean of k samples has sd sqrt(sum p(1-p)/N_i)/k.
  // N_i (sent + dropped in each sample's interval) are read back from the
  // series store; their sum is over 10^4 here, so the mean is close to
  // normal (a sum of k independent binomial proportions; a loaded machine
  // may give a second only a few copies: its variance is in the sum, and the
  // total of at least 5000 copies is checked, not assumed). 6.5 sd:
  // two-sided normal tail 8e-11.
  const during = r.charts.find((c) => c.metric === 'loss_ratio')!;
  const [f0, f1] = r.windows[1]!.during.map((x) => Date.parse(x));
  const secs = during.shadow.filter(([at]) => at - 1000 >= f0! + 1000 && at <= f1! - 1000);
  t.is(secs.length, lb.n[0]);
  const copies = copiesPerSecond(s, secs.map(([at]) => at));
  t.true(copies.every((n) => n > 0) && copies.reduce((a, b) => a + b, 0) >= 5000, `copies per sample in the loss step: ${copies.join(' ')}`);
  t.log(`loss step: copies per sample ${copies.join(' ')}`);
  t.log(`loss step: production loss per second ${during.production.filter(([at]) => at - 1000 >= f0! + 1000 && at <= f1! - 1000).map(([, v]) => v.toFixed(4)).join(' ')}; shadow ${secs.map(([, v]) => v.toFixed(4)).join(' ')}`);
  const sd = Math.sqrt(copies.reduce((a, n) => a + (0.05 * 0.95) / n, 0)) / copies.length;
  t.true(Math.abs(lb.meanA - 0.05) <= 6.5 * sd, `loss during ${lb.meanA}, expected 0.05 ± ${6.5 * sd}`);
  t.is(lb.meanB, 0, 'no copy lost before the step');
  t.true(lb.difference.estimate > 0 && lb.significant, JSON.stringify(lb));
  t.is(lb.cliffsDelta, 1, 'every second of the step lost more than every second before it (P(no loss in 300 copies) = 0.95^300 ≈ 2e-7 per second)');
  // against the control: production lost nothing in the same seconds (rx = tx per second on a sink)
  const lc = loss.vsControl!;
  t.true(lc.significant && Math.abs(lc.difference.estimate - 0.05) <= 6.5 * sd + 0.002, JSON.stringify(lc));
  t.false(loss.production!.significant, 'production did not move');
  // delivery: copies sent per production packet fell by the loss: relative −5 % ± the
  // same 6 sd, plus the traffic mix's share of mirrored packets (±0.01 over a window)
  const del = row(r, 1, 'delivery_ratio').vsBefore!;
  // Only sign and size here: the per-second delivery ratio also moves with the demo's traffic
  // mix, so its significance after the within-step correction (p 0.0032 against a corrected
  // 0.05 once in a clean-clone run) and its Cliff's delta (-0.78) are not bounds a correct
  // run always meets; the loss ratio above carries the significance checks.
  t.true(del.difference.estimate < 0, JSON.stringify(del));
  t.true(Math.abs(del.relative! + 0.05) <= 6.5 * sd + 0.01, `delivery relative change ${del.relative}`);

  // --- correlation: the loss window found from the data alone, without the timeline ----
  // The report's whole loss-ratio series (before, loss, between, delay, after) goes to the
  // change-point search with no window given. A sample at time T covers (T - 1 s, T]; the
  // loss step's seconds sit at 0.05 ± 0.005 (1 sd at ~1,900 copies a second) and every other
  // second at exactly 0 (nothing else drops a copy), so the window's edges can only blur by
  // the one second each edge sample straddles: 2 s is the bound.
  const series = during.shadow.filter(([, v]) => Number.isFinite(v));
  const found = locateWindow(series.map(([, v]) => v), { minLength: 3 });
  t.truthy(found, 'a window is found');
  const foundFrom = series[found!.start]![0] - 1000;
  const foundTo = series[found!.end - 1]![0];
  t.true(found!.shift > 0, `the found window lost more than the rest: ${JSON.stringify(found)}`);
  t.true(Math.abs(foundFrom - f0!) <= 2000 && Math.abs(foundTo - f1!) <= 2000,
    `found ${new Date(foundFrom).toISOString()}..${new Date(foundTo).toISOString()}, injected ${r.windows[1]!.during.join('..')}`);

  // --- the delay step (step 4) -------------------------------------------------------
  const delay = row(r, 3, 'added_delay_ms');
  t.log(`delay step: ${JSON.stringify(r.charts.find((c) => c.metric === 'added_delay_ms')!.shadow.filter(([at]) => at >= Date.parse(r.windows[3]!.during[0]) && at <= Date.parse(r.windows[3]!.during[1])).map(([, v]) => v))}`);
  // a constant 20 ms delay without jitter: every delayed copy is held exactly 20 ms by
  // the data plane's own account; 0 before (nothing delayed). Deterministic.
  t.true(Math.abs(delay.vsBefore!.meanA - 20) <= 0.5, `added delay ${delay.vsBefore!.meanA} ms`);
  t.is(delay.vsBefore!.meanB, 0);
  t.true(delay.vsBefore!.significant && delay.vsBefore!.cliffsDelta === 1);
  t.true(delay.vsControl!.significant && Math.abs(delay.vsControl!.difference.estimate - 20) <= 0.5);
  // the delay lost nothing, and the loss step added no delay: exactly 0 on both sides, p = 1
  t.false(row(r, 3, 'loss_ratio').vsControl!.significant);
  t.false(row(r, 1, 'added_delay_ms').vsControl!.significant);
  // the recovery after the loss: the loss ratio went back down
  t.true(row(r, 2, 'loss_ratio').vsBefore!.difference.estimate < 0);

  // --- the steady-state hypothesis ----------------------------------------------------
  const [delivery, noLoss] = r.hypothesis;
  // delivery stays above 0.8 (the demo mirrors ~0.97 of its packets; 5 % loss: ~0.92)
  t.deepEqual(delivery!.steps.flatMap((x) => x.windows.map((w) => w.verdict)).filter((v) => v !== 'held'), [], JSON.stringify(delivery));
  const nl = noLoss!.steps[1]!.windows;
  t.is(nl.find((w) => w.window === 'during')!.verdict, 'violated', JSON.stringify(nl));
  t.is(nl.find((w) => w.window === 'before')!.verdict, 'held', JSON.stringify(nl));

  // --- the files: JSON and HTML under run_dir/reports ---------------------------------
  const files = readdirSync(join(dir, 'run', 'reports')).sort();
  t.deepEqual(files, [`${r.id}.html`, `${r.id}.json`]);
  const html = readFileSync(join(dir, 'run', 'reports', `${r.id}.html`), 'utf8');
  t.deepEqual(checkHtml(html).problems, []);
  t.regex(html, /loss5/);
  t.regex(html, /delay20/);
  if (existsSync(CHROMIUM)) {
    const dom = await inChromium(html);
    t.deepEqual(dom.requests, [], 'the report asked for nothing');
    t.true(dom.svgs >= 6, `${dom.svgs} svg elements`);
    t.true(dom.polylines >= 8, `${dom.polylines} plotted lines`);
    t.true(dom.impactRows > 10);
    t.true(dom.text.includes('added_delay_ms') && dom.text.includes('loss_ratio'));
  } else {
    t.log(`${CHROMIUM} missing: the DOM check was skipped (the structural check ran)`);
  }
  t.true(METRICS.length >= 9);
});

test.serial('a clean experiment (no faults): no significant effect', async (t) => {
  if (missing) return t.fail(missing);
  const r = await runExperiment(sup!, {
    id: 'clean',
    seed: 3,
    faults: [{ id: 'idle', match: { host: '192.0.2.1' }, netem: 'loss 50%' }],
    observe: { before: '15s', after: '3s' },
    steps: [{ name: 'nothing', faults: [], duration: '15s' }, { name: 'still nothing', faults: [], duration: '15s' }],
  });
  t.is(r.state, 'completed');
  for (const step of [0, 1]) {
    // no copy is dropped or delayed by anything: 0 every second on both sides, so p = 1
    for (const m of ['loss_ratio', 'added_delay_ms']) {
      const x = row(r, step, m);
      t.truthy(x.vsBefore && x.vsControl, `${m}: ${x.note}`);
      t.false(x.vsBefore!.significant || x.vsControl!.significant, `${m} step ${step}`);
      t.is(x.vsControl!.difference.estimate, 0);
    }
    // delivery moves only with the mix of the replayed capture: per-second sd ≈ 0.003
    // (measured), a difference of two means of ≥ 5 seconds has sd ≤ 0.002; 0.015 is
    // over 7 sd. The 5 % loss moved it by 0.045.
    const d = row(r, step, 'delivery_ratio').vsControl!;
    t.true(Math.abs(d.difference.estimate) < 0.015, `delivery change ${d.difference.estimate}`);
  }
});

test.serial('a stop condition aborts an experiment: the report says so and why; reports.keep bounds the files', async (t) => {
  if (missing) return t.fail(missing);
  const r = await runExperiment(sup!, {
    id: 'doomed',
    faults: [{ id: 'black', kind: 'blackhole', match: {} }],
    observe: { before: '4s', after: '3s' },
    steps: [{ name: 'warm', faults: [], duration: '3s' }, { name: 'dark', faults: ['black'], duration: '60s' }, { name: 'never', faults: [], duration: '5s' }],
    stop: [{ metric: 'shadow_delivery_ratio', below: '50%', window: '300ms' }],
  });
  t.is(r.state, 'aborted');
  t.regex(r.abort!.reason, /stop condition shadow_delivery_ratio below 50%/);
  t.deepEqual(r.windows.map((w) => w.name), ['warm', 'dark'], 'the step after the abort never ran');
  t.true(Date.parse(r.windows[1]!.during[1]) - Date.parse(r.windows[1]!.during[0]) < 10_000, 'the dark step ends at the abort');
  const html = sup!.services.reports.html(r.id);
  t.regex(html, /ABORTED: stop condition shadow_delivery_ratio below 50%/);
  t.deepEqual(checkHtml(html).problems, []);
  // keep: 2 — the oldest of the three reports is gone, files and listing alike
  const listed = sup!.services.reports.list().map((x) => x.experiment);
  t.deepEqual(listed, ['doomed', 'clean']);
  t.is(readdirSync(join(dir, 'run', 'reports')).length, 4);
});

/** Copies made (sent on shadow0 + dropped by faults) in the interval each sample covers, from the series store. */
function copiesPerSecond(s: Sup, at: number[]): number[] {
  const st = s.services.series.store;
  const pick = (name: string, keep: (l: Record<string, string>) => boolean) => {
    const m = new Map<number, number>();
    for (const x of st.select(name, Math.min(...at) - 6000, Math.max(...at), keep)) for (const [t, v] of x.points) m.set(t, (m.get(t) ?? 0) + v);
    return m;
  };
  const tx = pick('shadowtap_port_tx_packets_total', (l) => l['port'] === 'shadow0');
  const dr = pick('shadowtap_fault_dropped_total', () => true);
  return at.map((t) => {
    // the sample before, as counterIncreases takes it (at most 5 s back)
    let p = t - 1000;
    while (!tx.has(p) && p > t - 5000) p -= 1000;
    return (tx.get(t)! - tx.get(p)!) + ((dr.get(t) ?? 0) - (dr.get(p) ?? 0));
  });
}

async function inChromium(html: string): Promise<{ requests: string[]; svgs: number; polylines: number; impactRows: number; text: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'st-chromium-report-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, javaScriptEnabled: false, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const requests: string[] = [];
    await page.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.abort();
    });
    await page.setContent(html, { waitUntil: 'load' });
    const count = (sel: string) => page.locator(sel).count();
    return { requests, svgs: await count('svg'), polylines: await count('svg polyline'), impactRows: await count('table.impact tr'), text: await page.locator('table.impact').innerText() };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
