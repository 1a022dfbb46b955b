/**
 * The dashboard in headless Chromium (Debian's chromium, driven by
 * playwright-core through its executablePath; no browser download), against
 * a real supervisor: the real data plane replays the demo capture on DPDK
 * vdevs, the real metrics registry feeds the series store, the API asks for
 * a token. The page loads with no console errors, its charts receive data,
 * the parts whose routes this server lacks say "not available", and an
 * alert appears once its threshold is crossed. Screenshots are kept in
 * test-artifacts/ (gitignored).
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import pino from 'pino';
import { parseTokens } from '../../src/api/credentials.js';
import { buildServer, listen } from '../../src/api/server.js';
import { validateConfig } from '../../src/config/load.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { registerAlertMetrics } from '../../src/services/alerts.js';
import { makeSupervisor, missingBuild, scratch } from '../helpers/supervised.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const ARTIFACTS = join(root, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dash-admin-0123456789abcdef';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The page's globals, for functions that run in the page (types only: they are erased). */
type Page = { document: { getElementById(id: string): { dataset: Record<string, string>; innerText: string } }; location: { hash: string } };

const skip = missingBuild() ?? (existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (node scripts/bootstrap.mjs --for=test installs Debian's chromium)`);

(skip ? test.skip : test)('the dashboard shows live rates, the placeholders, and an alert once its threshold is crossed, with no console errors', async (t) => {
  const s = scratch('dash');
  const profile = mkdtempSync(join(tmpdir(), 'st-chromium-'));
  t.teardown(() => {
    s.dispose();
    rmSync(profile, { recursive: true, force: true });
  });
  const config = validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_pcap0,rx_pcap=${s.capture},infinite_rx=1`, egress: 'prod-out', rx_desc: 256, tx_desc: 256, rx_pps: 2000 },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow', rx_desc: 256, tx_desc: 256 },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] },
  });
  const sup = makeSupervisor(`st-dash-${process.pid}`, config, { pollIntervalMs: 1000, stateDir: join(s.dir, 'state') });
  const registry = createMetricsRegistry({ source: sup, defaultMetrics: false });
  registerAlertMetrics(registry, sup.services.alerts, sup.services.series);
  sup.services.series.readFrom(registry);
  const server = await buildServer({ logger: pino({ level: 'silent' }), dataplane: sup, services: sup.services, registry, tls: null, security: { tokens: parseTokens(`ops:admin:${TOKEN}\n`, 'test') } });
  const url = await listen(server, '127.0.0.1', 0);
  t.teardown(async () => {
    await server.close();
    await sup.stop();
  });
  await sup.start();

  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 1500 } });
  t.teardown(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));

  await page.goto(`${url}/dashboard/#token=${TOKEN}`);
  // the token left the address bar (it is kept for the tab only)
  await page.waitForFunction(() => !(globalThis as unknown as Page).location.hash.includes('token'), null, { timeout: 30_000 });
  await page.waitForSelector('#state[data-state="running"]', { timeout: 60_000 });
  // Charts receive data: points with a value, from the series store.
  await page.waitForFunction(() => Number((globalThis as unknown as Page).document.getElementById('chart-rates').dataset['points']) >= 5, null, { timeout: 60_000 });
  t.is(await page.locator('#chart-rates canvas').count(), 1, 'uPlot drew the rates chart');
  t.regex(await page.locator('#ports').innerText(), /prod-in\s+production/);
  t.regex(await page.locator('#sessions').innerText(), /id\s+target/);
  // Faults, experiments and detections are served (their routes are in the OpenAPI document): each box shows
  // what its route answered, never the placeholder.
  for (const id of ['faults', 'experiments', 'detections']) {
    await page.waitForFunction((box) => (((globalThis as unknown as { document: { getElementById(i: string): { textContent: string | null } | null } }).document.getElementById(box)?.textContent ?? '')) !== '', id, { timeout: 30_000 });
    t.notRegex(await page.locator(`#${id}`).innerText(), /not available/, id);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-running.png'), fullPage: true });

  // An alert whose threshold the demo traffic crosses: copies are made at about 2000/s.
  const put = await fetch(`${url}/v1/alerts/rules/CopiesFlowing`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'CopiesFlowing', expr: 'sum(rate(shadowtap_mirror_packets_total[5s]))', condition: { op: '>', threshold: 10 }, for: '2s', severity: 'critical' }),
  });
  t.is(put.status, 201, await put.text());
  await page.waitForFunction(() => /CopiesFlowing\s+critical\s+firing/.test((globalThis as unknown as Page).document.getElementById('alerts').innerText), null, { timeout: 60_000 });
  await page.waitForFunction(() => /CopiesFlowing firing \(critical\)/.test((globalThis as unknown as Page).document.getElementById('events').innerText), null, { timeout: 30_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-alert.png'), fullPage: true });
  t.deepEqual(problems, []);
});

(skip ? test.skip : test)('the dashboard files are served without a token; every API call still needs one', async (t) => {
  const s = scratch('dash-files');
  t.teardown(() => s.dispose());
  const { fakeDataplane } = await import('../helpers/fake-dataplane.js');
  const dp = fakeDataplane();
  const server = await buildServer({ logger: pino({ level: 'silent' }), dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }), tls: null, security: { tokens: parseTokens(`ops:admin:${TOKEN}\n`, 'test') } });
  t.teardown(() => server.close());
  for (const [path, type] of [['/dashboard/', /^text\/html/], ['/dashboard/app.js', /^text\/javascript/], ['/dashboard/vendor/uPlot.iife.min.js', /^text\/javascript/], ['/dashboard/vendor/uPlot.min.css', /^text\/css/]] as const) {
    const r = await server.inject({ method: 'GET', url: path });
    t.is(r.statusCode, 200, path);
    t.regex(String(r.headers['content-type']), type, path);
    t.regex(String(r.headers['content-security-policy']), /default-src 'self'/, path);
  }
  const html = (await server.inject({ method: 'GET', url: '/dashboard/' })).body;
  // nothing fetched from elsewhere
  t.deepEqual([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => /^(?:https?:)?\/\//.test(u!)), []);
  t.is((await server.inject({ method: 'GET', url: '/dashboard/../v1/status' })).statusCode, 401);
  t.is((await server.inject({ method: 'GET', url: '/dashboard/nope.js' })).statusCode, 404);
  t.is((await server.inject({ method: 'GET', url: '/v1/series' })).statusCode, 401);
});
