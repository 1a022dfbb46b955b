/*
 * The shadowtap dashboard: plain script, no build step, no CDN. It reads the
 * admin API with the same bearer token a CLI uses (typed in once, kept in
 * this tab's sessionStorage, or passed as #token=... in the address, which
 * never reaches the server), and asks the OpenAPI document which routes
 * exist, so a part whose route this server lacks says "not available"
 * instead of failing.
 */
'use strict';

const REFRESH_MS = 2000;
const WINDOW_MS = 5 * 60 * 1000;
const state = { token: null, routes: null, ports: [], lastEvent: 0, charts: {}, timer: null };

function readToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('shadowtap-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  state.token = sessionStorage.getItem('shadowtap-token');
}

async function api(path) {
  const headers = { accept: 'application/json' };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  let res;
  try {
    res = await fetch(`../${path.replace(/^\//, '')}`, { headers, cache: 'no-store' });
  } catch (err) {
    setState('unreachable', `the API cannot be reached: ${err.message}`);
    throw err;
  }
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text (the event stream, YAML)
  }
  if (res.status === 401 || res.status === 403) {
    showLogin(body && body.message ? body.message : `HTTP ${res.status}`);
    throw new Error('not allowed');
  }
  return { status: res.status, body };
}

function showLogin(why) {
  const form = document.getElementById('login');
  form.hidden = false;
  document.getElementById('login-why').textContent = why;
  stop();
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function table(head, rows, rowClass = () => '') {
  if (rows.length === 0) return el('p', { class: 'muted' }, 'none');
  const t = el('table', {}, el('tr', {}, ...head.map((h) => el('th', {}, h))));
  for (const r of rows) t.append(el('tr', { class: rowClass(r) }, ...r.map((c) => el('td', typeof c === 'number' ? { class: 'num' } : {}, c ?? '-'))));
  return t;
}

function fill(id, ...nodes) {
  const box = document.getElementById(id);
  box.replaceChildren(...nodes);
}

function setState(s, text) {
  const b = document.getElementById('state');
  b.dataset.state = s;
  b.textContent = text || s;
}

const labelText = (l) => Object.entries(l || {}).map(([k, v]) => `${k}=${v}`).join(', ') || '-';
const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v).toLocaleString('en') : v.toPrecision(3)) : v);
const has = (path) => state.routes !== null && state.routes.has(path);
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function discover() {
  const { body } = await api('/v1/openapi.json');
  state.routes = new Set(Object.keys(body.paths || {}));
}

async function refreshStatus() {
  const { status, body } = await api('/v1/status');
  if (status !== 200) return setState('unknown', `status: HTTP ${status}`);
  setState(body.state, `data plane ${body.state}`);
  document.getElementById('summary').textContent = `pid ${body.pid ?? '-'} · up ${body.uptimeSeconds}s · restarts ${body.restarts} · mirrored ${fmt(body.mirror.packets)} packets`;
}

async function refreshPorts() {
  const { status, body } = await api('/v1/ports');
  if (status !== 200) return fill('ports', el('p', { class: 'unavailable' }, `not available (HTTP ${status})`));
  state.ports = body.ports;
  fill(
    'ports',
    table(
      ['port', 'role', 'driver', 'profile', 'placement', 'rx', 'tx', 'tx dropped'],
      body.ports.map((p) => [p.name, p.role, p.driver, p.offload ? `${p.offload.profile} (${p.offload.matchedBy})` : '-', p.offload ? p.offload.placement : '-', p.counters.rxPackets, p.counters.txPackets, p.counters.txDropped]),
    ),
  );
}

async function refreshSessions() {
  const { status, body } = await api('/v1/sessions');
  if (status !== 200) return fill('sessions', el('p', { class: 'unavailable' }, `not available (HTTP ${status})`));
  fill('sessions', table(['id', 'target', 'matched', 'mirrored', 'path'], body.sessions.map((s) => [s.id, s.target, s.matched, s.mirroredPackets, body.path ?? '-'])));
}

async function refreshPlan() {
  if (!has('/v1/plan/explain')) return;
  const { status, body } = await api('/v1/plan/explain');
  document.getElementById('plan-summary').textContent = status === 200 ? `policy generation ${body.generation}: ${body.text.split('\n')[0]}` : `not available (HTTP ${status})`;
  document.getElementById('plan').textContent = status === 200 ? body.text : '';
}

async function refreshAlerts() {
  if (!has('/v1/alerts')) return fill('alerts', el('p', { class: 'unavailable' }, 'not available on this server'));
  const [now, rules] = await Promise.all([api('/v1/alerts'), api('/v1/alerts/rules')]);
  const firing = now.body.alerts;
  const rows = firing.map((a) => [a.rule, a.severity, a.state, a.activeAt.slice(11, 19), a.value === null ? 'NaN' : fmt(a.value), labelText(a.labels)]);
  const nodes = [table(['rule', 'severity', 'state', 'since', 'value', 'labels'], rows, (r) => (r[2] === 'firing' ? `firing sev-${r[1]}` : ''))];
  nodes.push(el('p', { class: 'muted' }, `${rules.body.rules.length} rule(s), revision ${rules.body.revision}: ${rules.body.rules.map((r) => `${r.name} (${r.expr} ${r.condition.op} ${r.condition.threshold} for ${r.for})`).join('; ') || 'none'}`));
  fill('alerts', ...nodes);
}

async function refreshPlaceholder(id) {
  const box = document.getElementById(id);
  const route = box.dataset.route;
  if (!has(route)) return fill(id, el('p', { class: 'unavailable' }, `not available: this server has no ${route} yet`));
  const { status, body } = await api(route);
  if (status !== 200) return fill(id, el('p', { class: 'unavailable' }, `not available (HTTP ${status})`));
  const list = Array.isArray(body) ? body : Object.values(body).find(Array.isArray) || [];
  fill(id, list.length === 0 ? el('p', { class: 'muted' }, 'none') : el('pre', {}, JSON.stringify(list.slice(0, 20), null, 1)));
}

async function refreshEvents() {
  const { status, body } = await api(`/v1/events?after=${state.lastEvent}&follow=false`);
  if (status !== 200 || typeof body !== 'string') return;
  const list = document.getElementById('events');
  for (const frame of body.split('\n\n')) {
    const data = /^data: (.*)$/m.exec(frame);
    if (!data) continue;
    const e = JSON.parse(data[1]);
    state.lastEvent = Math.max(state.lastEvent, e.id);
    const what = e.type === 'alert' ? `${e.data.rule} ${e.data.state} (${e.data.severity})` : e.type === 'state' ? `${e.data.previous} → ${e.data.state}` : JSON.stringify(e.data).slice(0, 120);
    list.prepend(el('li', { 'data-type': e.type }, `${e.at.slice(11, 19)} ${e.type}: ${what}`));
  }
  while (list.children.length > 200) list.lastChild.remove();
}

/** One chart's series from query_range answers, on a shared 1 s grid. */
async function chartData(queries, end) {
  const start = end - WINDOW_MS;
  const answers = await Promise.all(queries.map((q) => api(`/v1/series/query_range?expr=${encodeURIComponent(q)}&start=${start}&end=${end}&step=1000`)));
  const xs = [];
  for (let t = start; t <= end; t += 1000) xs.push(t / 1000);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = answers.map(({ status, body }) => {
    const y = new Array(xs.length).fill(null);
    if (status === 200) for (const s of body.series) for (const [t, v] of s.points) if (index.has(t / 1000)) y[index.get(t / 1000)] = (y[index.get(t / 1000)] ?? 0) + v;
    return y;
  });
  return [xs, ...ys];
}

function drawChart(id, labels, colors, data, scales = []) {
  const box = document.getElementById(id);
  let u = state.charts[id];
  if (!u) {
    const opts = {
      width: Math.max(300, box.clientWidth - 10),
      height: 220,
      series: [{}, ...labels.map((label, i) => ({ label, stroke: colors[i], width: 2, spanGaps: false, scale: scales[i] || 'y' }))],
      axes: [{}, { size: 70 }, ...(scales.includes('ratio') ? [{ scale: 'ratio', side: 1, size: 50, grid: { show: false } }] : [])],
    };
    u = state.charts[id] = new uPlot(opts, data, box);
  } else u.setData(data);
  box.dataset.points = String(data.slice(1).reduce((a, y) => a + y.filter((v) => v !== null).length, 0));
}

async function refreshCharts() {
  if (!has('/v1/series/query_range') || typeof uPlot === 'undefined') return;
  const ov = await api('/v1/series');
  const end = ov.body.latest ?? Date.now();
  const names = (role) => state.ports.filter((p) => p.role === role).map((p) => escapeRe(p.name)).join('|');
  const prod = names('production') || '$^';
  const shadow = names('shadow') || '$^';
  const rates = await chartData(
    [`sum(rate(shadowtap_port_rx_packets_total{port=~"${prod}"}[5s]))`, `sum(rate(shadowtap_port_tx_packets_total{port=~"${shadow}"}[5s]))`, 'rate(shadowtap_mirror_packets_total[5s])'],
    end,
  );
  drawChart('chart-rates', ['production rx', 'shadow tx', 'copies made'], ['#2b6cb0', '#d69e2e', '#805ad5'], rates);
  const drops = await chartData(
    ['sum(rate(shadowtap_mirror_dropped_total[5s]))', `sum(rate(shadowtap_port_tx_packets_total{port=~"${shadow}"}[5s])) / sum(rate(shadowtap_port_rx_packets_total{port=~"${prod}"}[5s]))`],
    end,
  );
  drawChart('chart-drops', ['not sent /s', 'delivery ratio (right)'], ['#c0392b', '#1f8a4c'], drops, ['y', 'ratio']);
}

async function tick() {
  const parts = [refreshStatus, refreshPorts, refreshSessions, refreshPlan, refreshAlerts, refreshEvents, refreshCharts, () => refreshPlaceholder('faults'), () => refreshPlaceholder('experiments'), () => refreshPlaceholder('detections')];
  for (const p of parts) {
    try {
      await p();
    } catch (err) {
      if (err.message === 'not allowed') return;
      console.warn('dashboard refresh:', err.message);
    }
  }
  document.body.dataset.refreshed = String(Date.now());
}

function stop() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

async function start() {
  stop();
  try {
    await discover();
  } catch (err) {
    return;
  }
  document.getElementById('login').hidden = true;
  await tick();
  state.timer = setInterval(tick, REFRESH_MS);
}

document.getElementById('login').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = document.getElementById('token').value.trim();
  sessionStorage.setItem('shadowtap-token', state.token);
  void start();
});

readToken();
void start();
