/**
 * The dashboard's controls in headless Chromium against a real supervisor
 * (test/web/harness.ts: the real data plane, the real fault service, the API
 * with an admin and a read token). Everything is done by clicking the page;
 * what happened is read back from the API, never from the page alone:
 * - a dry run shows what the fault would match on live traffic;
 * - a start of a fault changed since the page read it is refused (412), the
 *   page says "changed meanwhile, reload" and nothing is armed; after reload
 *   the start arms it: it is in the page's timeline and in
 *   GET /v1/faults/:id/timeline, shaded on the charts, and the other fault is
 *   untouched; stop disarms it (the API says so);
 * - an experiment starts and stops from the page; one whose stop condition
 *   holds at once is aborted, and the abort shows in the timeline and its row;
 * - a read token gets the controls disabled, and a forced click shows the
 *   API's 403 and changes nothing.
 * Screenshots are kept in test-artifacts/.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { ADMIN, type InPage, READER, skipReason, startDashboard, type Dashboard } from './harness.js';

const skip = skipReason();
const LOSS = { id: 'dash-loss', description: 'half the copies lost', match: {}, netem: 'loss 50%' };
const OTHER = { id: 'dash-other', match: { protocol: 'udp' }, netem: 'delay 1ms' };
const EXPERIMENT = { id: 'dash-exp', faults: [{ id: 'dash-exp-drop', match: { protocol: 'icmp' }, kind: 'blackhole' }], steps: [{ name: 'drop icmp', faults: ['dash-exp-drop'] }] };
// Aborts at once: copies are made at about 2,000/s, far above 10.
const ABORTING = { id: 'dash-abort', faults: [{ id: 'dash-abort-drop', match: { protocol: 'icmp' }, kind: 'blackhole' }], steps: [{ faults: ['dash-abort-drop'] }], stop: [{ metric: 'mirror_pps', above: 10 }] };
const WAIT = { timeout: 60_000 };

let d: Dashboard | null = null;

test.before(async () => {
  if (skip) return;
  d = await startDashboard('dashctl');
  for (const [path, body] of [['/v1/faults', LOSS], ['/v1/faults', OTHER], ['/v1/experiments', EXPERIMENT], ['/v1/experiments', ABORTING]] as const) {
    const r = await d.call('POST', path, body);
    if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
});

test.after.always(async () => {
  await d?.close();
});

const row = (kind: 'fault' | 'experiment', id: string) => `#${kind === 'fault' ? 'faults' : 'experiments'} tr[data-${kind}="${id}"]`;
const button = (kind: 'fault' | 'experiment', id: string, action: string) => `${row(kind, id)} button[data-action="${action}"]`;
const fault = async (id: string) => (await d!.call('GET', `/v1/faults/${id}`)).body as { state: string; armed: boolean; version: number };
const timeline = async (id: string) => ((await d!.call('GET', `/v1/faults/${id}/timeline`)).body as { entries: { type: string; seq: number }[] }).entries;

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('#state[data-state="running"]', WAIT);
  await page.waitForSelector(button('fault', 'dash-loss', 'dry-run'), WAIT);
}

/** The problems the page met, less the refusals the test provoked on purpose (each must have happened). */
function unexpected(t: { true(v: boolean, m?: string): void }, problems: string[], expected: { status: number; path: string }[]): string[] {
  let rest = problems;
  for (const e of expected) {
    const http = `HTTP ${e.status}: POST ${e.path}`;
    t.true(rest.includes(http), `the page met ${http}`);
    rest = rest.filter((p) => p !== http && !(p.startsWith('console: Failed to load resource') && p.includes(`status of ${e.status}`)));
  }
  return rest;
}

(skip ? test.serial.skip : test.serial)('an admin runs a fault from the page: dry run, a refused start on a changed fault, start, timeline, shading, stop', async (t) => {
  const { page, problems } = await d!.open(ADMIN);
  await ready(page);
  t.regex(await page.locator('#role').innerText(), /ops: admin/);
  t.true(await page.locator(button('fault', 'dash-loss', 'start')).isEnabled());

  // Dry run: what it would match on live traffic (an empty match takes every copy, so some).
  await page.click(button('fault', 'dash-loss', 'dry-run'));
  await page.waitForFunction(() => /dash-loss would match \d/.test((globalThis as unknown as InPage).document.getElementById('dry-run')!.innerText), null, WAIT);
  const matched = Number(/would match ([\d,]+) of/.exec(await page.locator('#dry-run').innerText())![1]!.replace(/,/g, ''));
  t.true(matched > 0, `the dry run matched ${matched} copies`);
  t.false((await fault('dash-loss')).armed, 'a dry run arms nothing');

  // The fault changes while the page shows version 1: the start is refused and shown, never retried.
  await page.check('#pause');
  // a refresh already under way when the box was ticked has finished: the page holds what it shows
  await page.waitForSelector('body[data-ticking="false"]', WAIT);
  const shown = await page.locator(row('fault', 'dash-loss')).innerText();
  t.regex(shown, /\bv1\b/);
  const put = await d!.call('PUT', '/v1/faults/dash-loss', { ...LOSS, netem: 'loss 40%' }, { 'if-match': '"v1"' });
  t.is(put.status, 200, JSON.stringify(put.body));
  const seqBefore = Math.max(0, ...(await timeline('dash-loss')).map((e) => e.seq));
  await page.click(button('fault', 'dash-loss', 'start'));
  await page.waitForFunction(() => /changed meanwhile, reload/.test((globalThis as unknown as InPage).document.getElementById('faults-msg')!.innerText), null, WAIT);
  t.is((await fault('dash-loss')).state, 'idle', 'nothing was started');
  t.deepEqual((await timeline('dash-loss')).filter((e) => e.seq > seqBefore && e.type !== 'updated').map((e) => e.type), []);
  await d!.screenshot(page, 'dashboard-changed-meanwhile.png');
  await page.click('#faults-msg button[data-action="reload"]');
  await page.waitForFunction(() => /\bv2\b/.test((globalThis as unknown as InPage).document.getElementById('faults')!.innerText), null, WAIT);
  await page.uncheck('#pause');

  // Start from the page: armed, in the page's timeline and the API's, shaded on the charts; the other fault untouched.
  await page.click(button('fault', 'dash-loss', 'start'));
  await page.waitForSelector('#timeline li[data-type="activate"][data-fault="dash-loss"]', WAIT);
  const armed = await fault('dash-loss');
  t.true(armed.armed, `the API says dash-loss is armed (state ${armed.state})`);
  t.is(armed.state, 'active');
  t.true((await timeline('dash-loss')).some((e) => e.type === 'activate' && e.seq > seqBefore), 'GET /v1/faults/dash-loss/timeline has the activation');
  const other = await fault('dash-other');
  t.false(other.armed, 'dash-other was not started');
  t.is(other.state, 'idle');
  t.deepEqual((await timeline('dash-other')).map((e) => e.type), ['created']);
  await page.waitForFunction(() => Number((globalThis as unknown as InPage).document.getElementById('chart-rates')!.dataset['faultWindows'] ?? '0') >= 1, null, WAIT);
  await page.waitForSelector(`${button('fault', 'dash-loss', 'stop')}:not([hidden])`, WAIT);
  await d!.screenshot(page, 'dashboard-fault-armed.png');

  // Stop from the page: disarmed, as the API says.
  await page.click(button('fault', 'dash-loss', 'stop'));
  await page.waitForSelector('#timeline li[data-type="deactivate"][data-fault="dash-loss"]', WAIT);
  const stopped = await fault('dash-loss');
  t.false(stopped.armed, 'the API says dash-loss is disarmed');
  t.is(stopped.state, 'idle');
  const types = (await timeline('dash-loss')).filter((e) => e.seq > seqBefore).map((e) => e.type);
  t.deepEqual(types.filter((x) => x !== 'updated'), ['start', 'activate', 'stop', 'deactivate']);

  // An experiment, started and stopped from the page.
  await page.click(button('experiment', 'dash-exp', 'start'));
  await page.waitForFunction(() => /dash-exp\s+running/.test((globalThis as unknown as InPage).document.getElementById('experiments')!.innerText), null, WAIT);
  t.is(((await d!.call('GET', '/v1/experiments/dash-exp')).body as { state: string }).state, 'running');
  await page.waitForSelector('#timeline li[data-type="activate"][data-fault="dash-exp-drop"]', WAIT);
  await page.click(button('experiment', 'dash-exp', 'stop'));
  await page.waitForFunction(() => /dash-exp\s+stopped/.test((globalThis as unknown as InPage).document.getElementById('experiments')!.innerText), null, WAIT);
  const exp = (await d!.call('GET', '/v1/experiments/dash-exp')).body as { state: string; faults: { armed: boolean }[] };
  t.is(exp.state, 'stopped');
  t.false(exp.faults[0]!.armed);
  // One whose stop condition holds at once: the abort is on the page's timeline, live, and in its row.
  await page.click(button('experiment', 'dash-abort', 'start'));
  await page.waitForSelector('#timeline li[data-type="abort"][data-experiment="dash-abort"]', WAIT);
  await page.waitForFunction(() => /dash-abort\s+aborted/.test((globalThis as unknown as InPage).document.getElementById('experiments')!.innerText), null, WAIT);
  t.is(((await d!.call('GET', '/v1/experiments/dash-abort')).body as { state: string }).state, 'aborted');
  t.regex(await page.locator(row('experiment', 'dash-abort')).innerText(), /aborted: .*mirror_pps/);
  await d!.screenshot(page, 'dashboard-controls.png');

  t.deepEqual(unexpected(t, problems, [{ status: 412, path: '/v1/faults/dash-loss/start' }]), []);
});

(skip ? test.serial.skip : test.serial)('a read token gets the controls disabled; a forced click shows the 403 and changes nothing', async (t) => {
  const { page, problems } = await d!.open(READER);
  await ready(page);
  t.regex(await page.locator('#role').innerText(), /viewer: read only/);
  const controls = page.locator('#faults button[data-action="start"], #faults button[data-action="stop"], #experiments button[data-action="start"], #experiments button[data-action="stop"]');
  t.true((await controls.count()) >= 3);
  for (const b of await controls.all()) t.true(await b.isDisabled(), 'every start and stop is disabled');
  t.true(await page.locator(button('fault', 'dash-other', 'dry-run')).isEnabled(), 'a dry run only reads');

  const before = (await timeline('dash-other')).length;
  await page.evaluate((sel) => ((globalThis as unknown as InPage).document.querySelector(sel) as { removeAttribute(a: string): void }).removeAttribute('disabled'), button('fault', 'dash-other', 'start'));
  await page.click(button('fault', 'dash-other', 'start'));
  await page.waitForFunction(() => /forbidden \(HTTP 403\).*read role/.test((globalThis as unknown as InPage).document.getElementById('faults-msg')!.innerText), null, WAIT);
  const other = await fault('dash-other');
  t.is(other.state, 'idle');
  t.is((await timeline('dash-other')).length, before, 'nothing happened to dash-other');
  await d!.screenshot(page, 'dashboard-read-only.png');
  t.deepEqual(unexpected(t, problems, [{ status: 403, path: '/v1/faults/dash-other/start' }]), []);
});
