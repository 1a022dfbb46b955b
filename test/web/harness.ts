/**
 * What the dashboard's Chromium tests share: a real supervisor (the real data
 * plane replaying the demo capture on DPDK vdevs, the real metrics registry
 * feeding the series store, the real fault service), its API with an admin
 * and a read token, and Debian's chromium driven by playwright-core through
 * its executablePath (no browser download), with a page that records every
 * console error, page error, failed request and HTTP error it sees.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import pino from 'pino';
import { parseTokens } from '../../src/api/credentials.js';
import { buildServer, listen } from '../../src/api/server.js';
import { validateConfig } from '../../src/config/load.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { registerAlertMetrics } from '../../src/services/alerts.js';
import { makeSupervisor, missingBuild, scratch } from '../helpers/supervised.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
export const ARTIFACTS = join(root, 'test-artifacts');
export const CHROMIUM = '/usr/bin/chromium';
export const ADMIN = 'dash-admin-0123456789abcdef';
export const READER = 'dash-reader-0123456789abcdef';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const skipReason = (): string | null => missingBuild() ?? (existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (node scripts/bootstrap.mjs --for=test installs Debian's chromium)`);

export interface Dashboard {
  url: string;
  /** a fetch of the API with a token (admin unless told) */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>, token?: string): Promise<{ status: number; body: any; etag: string | null }>;
  /** a fresh browser profile and page; problems collects what went wrong in it */
  open(token: string): Promise<{ page: Page; problems: string[] }>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startDashboard(tag: string, opts: { measurement?: boolean } = {}): Promise<Dashboard> {
  const s = scratch(tag);
  const config = validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_pcap0,rx_pcap=${s.capture},infinite_rx=1`, egress: 'prod-out', rx_desc: 256, tx_desc: 256, rx_pps: 2000 },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow', rx_desc: 256, tx_desc: 256 },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] },
    ...(opts.measurement ? { measurement: { enabled: true } } : {}),
  });
  const sup = makeSupervisor(`st-${tag}-${process.pid}`, config, { pollIntervalMs: 1000, stateDir: join(s.dir, 'state') });
  const registry = createMetricsRegistry({ source: sup, defaultMetrics: false });
  registerAlertMetrics(registry, sup.services.alerts, sup.services.series);
  sup.services.series.readFrom(registry);
  const server = await buildServer({
    logger: pino({ level: 'silent' }),
    dataplane: sup,
    services: sup.services,
    registry,
    tls: null,
    security: { tokens: parseTokens(`ops:admin:${ADMIN}\nviewer:read:${READER}\n`, 'test') },
  });
  const url = await listen(server, '127.0.0.1', 0);
  const contexts: BrowserContext[] = [];
  const profiles: string[] = [];
  const close = async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await server.close();
    await sup.stop();
    for (const p of profiles) rmSync(p, { recursive: true, force: true });
    s.dispose();
  };
  try {
    await sup.start();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url,
    async call(method, path, body, headers = {}, token = ADMIN) {
      const r = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: r.status, body: parsed, etag: r.headers.get('etag') };
    },
    async open(token) {
      const profile = mkdtempSync(join(tmpdir(), 'st-chromium-'));
      profiles.push(profile);
      const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 1800 } });
      contexts.push(context);
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${new URL(r.url()).pathname}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
      await page.goto(`${url}/dashboard/#token=${token}`);
      return { page, problems };
    },
    async screenshot(page, name) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
    },
    close,
  };
}

/**
 * The page's globals, for functions that run in the page (types only: they are
 * erased; a function passed to the page is sent as text, so it can call nothing
 * of this file: write `(globalThis as unknown as InPage)` in it).
 */
export type InPage = { document: { getElementById(id: string): { dataset: Record<string, string>; innerText: string; textContent: string | null } | null; querySelector(s: string): unknown }; location: { hash: string } };
