/*
 * Faults and experiments with their controls, and the fault timeline.
 *
 * Every control is one API call, sent as the API demands it: an admin token,
 * and If-Match with the ETag of the version the operator is looking at
 * ("v<version>", the fault's or experiment's own version), so a start or stop
 * of something that was changed since the page read it is refused (412) and
 * shown as "changed meanwhile, reload", never retried behind the operator's
 * back. A read token gets the controls disabled; a dry run only reads, so
 * every token has it.
 */
import { api, canWrite, has, refusal, state, write } from './api.js';
import { el, fill, fmt, hms, table, unavailable } from './dom.js';

const IMPAIRMENTS = ['loss', 'delay', 'corrupt', 'duplicate', 'reorder', 'rate', 'slot'];
const RUNNING_FAULT = new Set(['scheduled', 'active']);
const etagOf = (version) => `"v${version}"`;

/** What a fault does, in a few words. */
function what(f) {
  if (f.kind && f.kind !== 'impair') return f.kind;
  const parts = [f.netem, ...IMPAIRMENTS.filter((k) => f[k] !== undefined).map((k) => `${k} ${JSON.stringify(f[k])}`)].filter(Boolean);
  return parts.join(' ') || '(no impairment)';
}

/** A match in tc filter's words, defaults left out (the checked fault has them filled). */
const DEFAULTS = { addressSpace: 'production', direction: 'any' };
function matchText(m) {
  const given = Object.entries(m || {}).filter(([k, v]) => DEFAULTS[k] !== v);
  return given.length > 0 ? given.map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(',') : v}`).join(' ') : 'every copy';
}

/** The panel's message line: what the last control did, or why it was refused. */
function say(box, kind, text, reload) {
  const line = document.getElementById(`${box}-msg`);
  line.dataset.kind = kind;
  line.replaceChildren(text);
  if (reload) line.append(' ', el('button', { type: 'button', 'data-action': 'reload', onclick: () => void reload().then(() => say(box, 'info', 'reloaded')) }, 'reload'));
}

/** One write from a control; the panel refreshes after it (a refusal leaves the page as the operator saw it). */
async function act(box, label, method, path, ifMatch, reload) {
  say(box, 'busy', `${label}…`);
  const r = await write(method, path, { ifMatch });
  if (r.status >= 200 && r.status < 300) {
    say(box, 'ok', `${label}: done${r.body && r.body.state ? ` (now ${r.body.state})` : ''}`);
    await Promise.all([reload(), refreshTimeline()]);
    return;
  }
  const why = refusal(r);
  say(box, why.kind, `${label}: ${why.text}`, why.kind === 'changed' ? reload : null);
}

function writeButton(action, label, attrs, onclick) {
  const allowed = canWrite();
  return el('button', { type: 'button', 'data-action': action, ...attrs, disabled: !allowed, title: allowed ? null : 'needs an admin token (this one has the read role)', onclick }, label);
}

async function dryRun(id) {
  say('faults', 'busy', `dry run of ${id}: measuring 1 s of live traffic…`);
  const r = await write('POST', `/v1/faults/${encodeURIComponent(id)}/dry-run?window=1000`);
  const out = document.getElementById('dry-run');
  if (r.status !== 200) {
    const why = refusal(r);
    say('faults', why.kind, `dry run of ${id}: ${why.text}`);
    return;
  }
  const d = r.body;
  out.dataset.fault = id;
  const lines = [
    d.live
      ? `${id} would match ${fmt(d.live.matched)} of ${fmt(d.live.copies)} copies in ${fmt(d.live.windowMs)} ms (${fmt(d.live.matchedPerSecond)}/s${d.live.share === null ? '' : `, ${(100 * d.live.share).toFixed(1)} %`})`
      : `${id}: nothing measured: ${d.unavailable ?? 'no data plane'}`,
  ];
  if (d.live && d.live.after.length > 0) lines.push(`armed ahead of it (they take what they match first): ${d.live.after.join(', ')}`);
  for (const f of d.flags) lines.push(`flag ${f.path}: ${f.message}`);
  lines.push(d.basis);
  out.replaceChildren(...lines.map((l) => el('div', {}, l)));
  say('faults', 'ok', `dry run of ${id}: done`);
}

export async function refreshFaults() {
  if (!has('/v1/faults')) return fill('faults', unavailable('this server has no /v1/faults'));
  const { status, body } = await api('/v1/faults');
  if (status !== 200) return fill('faults', unavailable(`HTTP ${status}`));
  const rows = body.faults.map((f) => {
    const owned = f.experiment !== null;
    const id = f.id;
    const path = `/v1/faults/${encodeURIComponent(id)}`;
    const controls = el(
      'span',
      { class: 'controls' },
      el('button', { type: 'button', 'data-action': 'dry-run', 'data-fault': id, onclick: () => void dryRun(id) }, 'dry run'),
      owned
        ? el('span', { class: 'muted' }, ` armed by experiment ${f.experiment}`)
        : writeButton('start', 'start', { 'data-fault': id, hidden: RUNNING_FAULT.has(f.state) }, () => void act('faults', `start ${id}`, 'POST', `${path}/start`, etagOf(f.version), refreshFaults)),
      owned ? null : writeButton('stop', 'stop', { 'data-fault': id, hidden: !RUNNING_FAULT.has(f.state) }, () => void act('faults', `stop ${id}`, 'POST', `${path}/stop`, etagOf(f.version), refreshFaults)),
    );
    return [id, what(f.fault), matchText(f.fault.match), f.state + (f.error ? `: ${f.error}` : ''), f.armed ? hms(f.armedSince) : '-', f.counters.matched, f.counters.dropped + f.counters.overflowed, `v${f.version}`, controls];
  });
  fill('faults', table(['id', 'what', 'match', 'state', 'armed since', 'matched', 'dropped', 'version', ''], rows, (r) => ({ 'data-fault': r[0], 'data-state': body.faults.find((f) => f.id === r[0]).state, class: body.faults.find((f) => f.id === r[0]).armed ? 'armed' : '' })));
}

export async function refreshExperiments() {
  if (!has('/v1/experiments')) return fill('experiments', unavailable('this server has no /v1/experiments'));
  const { status, body } = await api('/v1/experiments');
  if (status !== 200) return fill('experiments', unavailable(`HTTP ${status}`));
  const rows = body.experiments.map((x) => {
    const id = x.id;
    const path = `/v1/experiments/${encodeURIComponent(id)}`;
    const running = x.state === 'running';
    const controls = el(
      'span',
      { class: 'controls' },
      writeButton('start', 'start', { 'data-experiment': id, hidden: running }, () => void act('experiments', `start ${id}`, 'POST', `${path}/start`, etagOf(x.version), refreshExperiments)),
      writeButton('stop', 'stop', { 'data-experiment': id, hidden: !running }, () => void act('experiments', `stop ${id}`, 'POST', `${path}/stop`, etagOf(x.version), refreshExperiments)),
    );
    const step = x.step ? `${x.step.index + 1}/${x.steps}${x.step.name ? ` ${x.step.name}` : ''} since ${hms(x.step.since)}` : `- of ${x.steps}`;
    const abort = x.abort ? `aborted: ${x.abort.reason}` : '';
    return [id, x.state, step, x.faults.map((f) => `${f.id}${f.armed ? ' (armed)' : ''}`).join(', '), hms(x.startedAt), hms(x.endedAt), abort, `v${x.version}`, controls];
  });
  fill('experiments', table(['id', 'state', 'step', 'faults', 'started', 'ended', 'abort', 'version', ''], rows, (r) => ({ 'data-experiment': r[0], 'data-state': r[1] })));
}

function entryText(e) {
  const who = [e.experiment ? `experiment ${e.experiment}` : null, e.fault ? `fault ${e.fault}` : null, e.step !== undefined ? `step ${e.step + 1}` : null].filter(Boolean).join(' ');
  const late = e.atMs - e.dueMs;
  return `${hms(e.at)}.${e.at.slice(20, 23)} ${e.type} ${who}: ${e.reason}${e.applied === false ? ' (no data plane ran)' : ''}${late >= 1 ? ` (+${Math.round(late)} ms after asked)` : ''}`;
}

/** The timeline, live: the last entries at first, then whatever is newer at each refresh. */
export async function refreshTimeline() {
  if (!has('/v1/faults/timeline')) return fill('timeline', el('li', { class: 'unavailable' }, 'not available: this server has no /v1/faults/timeline'));
  const q = state.timelineSeq === 0 ? 'limit=500' : `after=${state.timelineSeq}`;
  const { status, body } = await api(`/v1/faults/timeline?${q}`);
  if (status !== 200) return;
  const list = document.getElementById('timeline');
  if (state.timelineSeq === 0) list.replaceChildren();
  for (const e of body.entries) {
    if (e.seq <= state.timelineSeq) continue;
    state.timelineSeq = e.seq;
    state.timeline.push(e);
    list.prepend(el('li', { 'data-type': e.type, 'data-fault': e.fault, 'data-experiment': e.experiment, class: `tl-${e.type}` }, entryText(e)));
  }
  if (state.timeline.length > 2000) state.timeline.splice(0, state.timeline.length - 2000);
  while (list.children.length > 300) list.lastChild.remove();
  if (list.children.length === 0) list.append(el('li', { class: 'muted' }, 'no entries yet'));
  else if (state.timeline.length > 0) for (const e of list.querySelectorAll('li.muted')) e.remove();
  list.dataset.seq = String(state.timelineSeq);
}
