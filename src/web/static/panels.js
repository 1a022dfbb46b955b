/* The read-only panels: status, ports and profiles, sessions, the placement plan, alerts, detections, events. */
import { api, has, setState, state } from './api.js';
import { el, fill, fmt, hms, labelText, table, unavailable } from './dom.js';

export async function refreshStatus() {
  const { status, body } = await api('/v1/status');
  if (status !== 200) return setState('unknown', `status: HTTP ${status}`);
  setState(body.state, `data plane ${body.state}`);
  document.getElementById('summary').textContent = `pid ${body.pid ?? '-'} · up ${body.uptimeSeconds}s · restarts ${body.restarts} · mirrored ${fmt(body.mirror.packets)} packets`;
}

export async function refreshPorts() {
  const { status, body } = await api('/v1/ports');
  if (status !== 200) return fill('ports', unavailable(`HTTP ${status}`));
  state.ports = body.ports;
  fill(
    'ports',
    table(
      ['port', 'role', 'driver', 'profile', 'placement', 'rx', 'tx', 'tx dropped'],
      body.ports.map((p) => [p.name, p.role, p.driver, p.offload ? `${p.offload.profile} (${p.offload.matchedBy})` : '-', p.offload ? p.offload.placement : '-', p.counters.rxPackets, p.counters.txPackets, p.counters.txDropped]),
    ),
  );
}

export async function refreshSessions() {
  const { status, body } = await api('/v1/sessions');
  if (status !== 200) return fill('sessions', unavailable(`HTTP ${status}`));
  fill('sessions', table(['id', 'target', 'matched', 'mirrored', 'path'], body.sessions.map((s) => [s.id, s.target, s.matched, s.mirroredPackets, body.path ?? '-'])));
}

export async function refreshPlan() {
  if (!has('/v1/plan/explain')) return;
  const { status, body } = await api('/v1/plan/explain');
  document.getElementById('plan-summary').textContent = status === 200 ? `policy generation ${body.generation}: ${body.text.split('\n')[0]}` : `not available (HTTP ${status})`;
  document.getElementById('plan').textContent = status === 200 ? body.text : '';
}

export async function refreshAlerts() {
  if (!has('/v1/alerts')) return fill('alerts', unavailable('this server has no /v1/alerts'));
  const [now, rules] = await Promise.all([api('/v1/alerts'), api('/v1/alerts/rules')]);
  const firing = now.body.alerts;
  const rows = firing.map((a) => [a.rule, a.severity, a.state, hms(a.activeAt), a.value === null ? 'NaN' : fmt(a.value), labelText(a.labels)]);
  const nodes = [table(['rule', 'severity', 'state', 'since', 'value', 'labels'], rows, (r) => ({ class: r[2] === 'firing' ? `firing sev-${r[1]}` : '' }))];
  nodes.push(el('p', { class: 'muted' }, `${rules.body.rules.length} rule(s), revision ${rules.body.revision}: ${rules.body.rules.map((r) => `${r.name} (${r.expr} ${r.condition.op} ${r.condition.threshold} for ${r.for})`).join('; ') || 'none'}`));
  fill('alerts', ...nodes);
}

export async function refreshDetections() {
  if (!has('/v1/detections')) return fill('detections', unavailable('this server has no /v1/detections'));
  const { status, body } = await api('/v1/detections?limit=50');
  if (status !== 200) return fill('detections', unavailable(`HTTP ${status}`));
  const rows = body.detections
    .slice()
    .reverse()
    .map((d) => [hms(d.at), d.detector, d.severity, d.summary]);
  const totals = body.counts.total.map((c) => `${c.detector} ${c.severity}: ${c.count}`).join(' · ');
  const suppressed = body.counts.suppressed.reduce((a, c) => a + c.count, 0);
  fill('detections', table(['at', 'detector', 'severity', 'summary'], rows, (r) => ({ class: `sev-${r[2]}` })), el('p', { class: 'muted' }, `found in all: ${totals || 'nothing'}${suppressed ? ` · ${suppressed} over the rate limit` : ''}${body.counts.lost ? ` · ${body.counts.lost} lost` : ''}`));
}

export async function refreshEvents() {
  const { status, body } = await api(`/v1/events?after=${state.lastEvent}&follow=false`);
  if (status !== 200 || typeof body !== 'string') return;
  const list = document.getElementById('events');
  for (const frame of body.split('\n\n')) {
    const data = /^data: (.*)$/m.exec(frame);
    if (!data) continue;
    const e = JSON.parse(data[1]);
    state.lastEvent = Math.max(state.lastEvent, e.id);
    const what = e.type === 'alert' ? `${e.data.rule} ${e.data.state} (${e.data.severity})` : e.type === 'state' ? `${e.data.previous} → ${e.data.state}` : JSON.stringify(e.data).slice(0, 120);
    list.prepend(el('li', { 'data-type': e.type }, `${hms(e.at)} ${e.type}: ${what}`));
  }
  while (list.children.length > 200) list.lastChild.remove();
}
