/*
 * The shadowtap dashboard: plain ES modules, no build step, no CDN. It reads
 * the admin API with the same bearer token a CLI uses (typed in once, kept in
 * this tab's sessionStorage, or passed as #token=... in the address, which
 * never reaches the server), asks the dashboard which role that token has
 * (session.json) to enable the controls an admin token may use, and asks the
 * OpenAPI document which routes exist, so a part whose route this server
 * lacks says "not available" instead of failing.
 */
import { api, state, whenRefused, whoami } from './api.js';
import { refreshCharts } from './charts.js';
import { refreshExperiments, refreshFaults, refreshTimeline } from './faults.js';
import { refreshAlerts, refreshDetections, refreshEvents, refreshPlan, refreshPorts, refreshSessions, refreshStatus } from './panels.js';

const REFRESH_MS = 2000;

function readToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('shadowtap-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  state.token = sessionStorage.getItem('shadowtap-token');
}

function showLogin(why) {
  document.getElementById('login').hidden = false;
  document.getElementById('login-why').textContent = why;
  stop();
}
whenRefused(showLogin);

function showRole() {
  const b = document.getElementById('role');
  b.dataset.role = state.role ?? 'none';
  b.textContent = state.role === 'admin' ? `${state.actor}: admin (controls enabled)` : state.role === 'read' ? `${state.actor}: read only (controls disabled)` : 'no token';
}

async function discover() {
  const { body } = await api('/v1/openapi.json');
  state.routes = new Set(Object.keys(body.paths || {}));
}

let ticking = false;

async function tick() {
  // A slow API (a loaded machine) must not pile refreshes on top of each other.
  if (ticking) return;
  ticking = true;
  document.body.dataset.ticking = 'true';
  try {
    await refreshAll();
  } finally {
    ticking = false;
    document.body.dataset.ticking = 'false';
  }
}

async function refreshAll() {
  // The timeline before the charts: they shade its windows.
  const parts = [refreshStatus, refreshPorts, refreshSessions, refreshPlan, refreshAlerts, refreshEvents, refreshTimeline, refreshCharts, refreshFaults, refreshExperiments, refreshDetections];
  for (const p of parts) {
    // Paused mid-way: the rest keeps what it shows.
    if (state.paused) break;
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

function schedule() {
  stop();
  if (!state.paused) state.timer = setInterval(tick, REFRESH_MS);
}

async function start() {
  stop();
  try {
    await whoami();
    await discover();
  } catch {
    return;
  }
  showRole();
  document.getElementById('login').hidden = true;
  await tick();
  schedule();
}

document.getElementById('login').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = document.getElementById('token').value.trim();
  sessionStorage.setItem('shadowtap-token', state.token);
  void start();
});

// Pausing holds what is on the page (to read it, or to act on exactly what it shows); controls still work.
document.getElementById('pause').addEventListener('change', (e) => {
  state.paused = e.target.checked;
  document.body.dataset.paused = String(state.paused);
  if (state.routes === null) return;
  schedule();
  if (!state.paused) void tick();
});

readToken();
void start();
