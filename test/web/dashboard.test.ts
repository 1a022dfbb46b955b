/**
 * The dashboard in headless Chromium (Debian's chromium, driven by
 * playwright-core through its executablePath; no browser download), against
 * a real supervisor (test/web/harness.ts): the real data plane replays the
 * demo capture on DPDK vdevs, the real metrics registry feeds the series
 * store, the API asks for a token. The page loads with no console errors,
 * its charts receive data (both sides, measured), every panel shows what its
 * route answered, and an alert appears once its threshold is crossed. The
 * controls are tested in dashboard-controls.test.ts. Screenshots are kept in
 * test-artifacts/ (gitignored).
 */
import test from 'ava';
import pino from 'pino';
import { parseTokens } from '../../src/api/credentials.js';
import { buildServer } from '../../src/api/server.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { scratch } from '../helpers/supervised.js';
import { ADMIN as TOKEN, type InPage, READER, skipReason, startDashboard } from './harness.js';

const skip = skipReason();

(skip ? test.skip : test)('the dashboard shows live rates of both sides, every panel, and an alert once its threshold is crossed, with no console errors', async (t) => {
  const d = await startDashboard('dash', { measurement: true });
  t.teardown(() => d.close());
  const { page, problems } = await d.open(TOKEN);
  // the token left the address bar (it is kept for the tab only)
  await page.waitForFunction(() => !(globalThis as unknown as InPage).location.hash.includes('token'), null, { timeout: 30_000 });
  await page.waitForSelector('#state[data-state="running"]', { timeout: 60_000 });
  t.regex(await page.locator('#role').innerText(), /ops: admin/);
  // Charts receive data: points with a value, from the series store.
  await page.waitForFunction(() => Number((globalThis as unknown as InPage).document.getElementById('chart-rates')!.dataset['points']) >= 5, null, { timeout: 60_000 });
  t.is(await page.locator('#chart-rates canvas').count(), 1, 'uPlot drew the rates chart');
  // Both sides: the measured production and shadow packet rates each got points.
  await page.waitForFunction(() => ((globalThis as unknown as InPage).document.getElementById('chart-sides')!.dataset['pointsBySeries'] ?? '').split(',').slice(0, 2).every((n) => Number(n) >= 3), null, { timeout: 60_000 });
  t.true(await page.locator('#sides-note').isHidden());
  t.regex(await page.locator('#ports').innerText(), /prod-in\s+production/);
  t.regex(await page.locator('#sessions').innerText(), /id\s+target/);
  await page.waitForFunction(() => /policy generation \d+/.test((globalThis as unknown as InPage).document.getElementById('plan-summary')!.textContent ?? ''), null, { timeout: 30_000 });
  // Faults, experiments and detections are served (their routes are in the OpenAPI document): each box shows
  // what its route answered, never the placeholder.
  for (const id of ['faults', 'experiments', 'detections']) {
    await page.waitForFunction((box) => !/loading/.test((globalThis as unknown as InPage).document.getElementById(box)?.textContent ?? 'loading'), id, { timeout: 30_000 });
    t.notRegex(await page.locator(`#${id}`).innerText(), /not available/, id);
  }
  // The demo capture holds a port scan: the detectors raise it and the page lists it.
  await page.waitForFunction(() => /port_scan\s+warning/.test((globalThis as unknown as InPage).document.getElementById('detections')!.innerText), null, { timeout: 60_000 });
  await d.screenshot(page, 'dashboard-running.png');

  // An alert whose threshold the demo traffic crosses: copies are made at about 2000/s.
  const put = await d.call('PUT', '/v1/alerts/rules/CopiesFlowing', { name: 'CopiesFlowing', expr: 'sum(rate(shadowtap_mirror_packets_total[5s]))', condition: { op: '>', threshold: 10 }, for: '2s', severity: 'critical' });
  t.is(put.status, 201, JSON.stringify(put.body));
  await page.waitForFunction(() => /CopiesFlowing\s+critical\s+firing/.test((globalThis as unknown as InPage).document.getElementById('alerts')!.innerText), null, { timeout: 60_000 });
  await page.waitForFunction(() => /CopiesFlowing firing \(critical\)/.test((globalThis as unknown as InPage).document.getElementById('events')!.innerText), null, { timeout: 30_000 });
  await d.screenshot(page, 'dashboard-alert.png');
  t.deepEqual(problems, []);
});

(skip ? test.skip : test)('the dashboard files are served without a token; every API call still needs one', async (t) => {
  const s = scratch('dash-files');
  t.teardown(() => s.dispose());
  const { fakeDataplane } = await import('../helpers/fake-dataplane.js');
  const dp = fakeDataplane();
  const server = await buildServer({ logger: pino({ level: 'silent' }), dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }), tls: null, security: { tokens: parseTokens(`ops:admin:${TOKEN}\nviewer:read:${READER}\n`, 'test') } });
  t.teardown(() => server.close());
  const modules = ['app.js', 'api.js', 'dom.js', 'charts.js', 'faults.js', 'panels.js'].map((m) => [`/dashboard/${m}`, /^text\/javascript/] as const);
  for (const [path, type] of [['/dashboard/', /^text\/html/], ...modules, ['/dashboard/style.css', /^text\/css/], ['/dashboard/vendor/uPlot.iife.min.js', /^text\/javascript/], ['/dashboard/vendor/uPlot.min.css', /^text\/css/]] as const) {
    const r = await server.inject({ method: 'GET', url: path });
    t.is(r.statusCode, 200, path);
    t.regex(String(r.headers['content-type']), type, path);
    t.regex(String(r.headers['content-security-policy']), /default-src 'self'/, path);
  }
  const html = (await server.inject({ method: 'GET', url: '/dashboard/' })).body;
  // nothing fetched from elsewhere
  t.deepEqual([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => /^(?:https?:)?\/\//.test(u!)), []);
  // no inline script (CSP script-src 'self' would refuse it anyway)
  t.deepEqual([...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!).filter((a) => !/\ssrc="/.test(a)), []);
  // Every module the page imports is served (a missing one is a console error in the browser test, found here first).
  for (const m of modules) {
    const js = (await server.inject({ method: 'GET', url: m[0] })).body;
    for (const imp of js.matchAll(/from '\.\/([a-z-]+\.js)'/g)) t.is((await server.inject({ method: 'GET', url: `/dashboard/${imp[1]}` })).statusCode, 200, `${m[0]} imports ${imp[1]}`);
  }
  // Which token the page talks as: its role, for enabling the controls; nothing without a valid token.
  const who = async (token?: string) => (await server.inject({ method: 'GET', url: '/dashboard/session.json', headers: token ? { authorization: `Bearer ${token}` } : {} })).json();
  t.deepEqual(await who(TOKEN), { actor: 'ops', role: 'admin' });
  t.deepEqual(await who(READER), { actor: 'viewer', role: 'read' });
  t.deepEqual(await who('not-a-token-0123456789'), { actor: null, role: null });
  t.deepEqual(await who(), { actor: null, role: null });
  t.is((await server.inject({ method: 'GET', url: '/dashboard/../v1/status' })).statusCode, 401);
  t.is((await server.inject({ method: 'GET', url: '/dashboard/nope.js' })).statusCode, 404);
  t.is((await server.inject({ method: 'GET', url: '/v1/series' })).statusCode, 401);
});
