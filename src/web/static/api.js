/*
 * How the page talks to the admin API: the operator's bearer token on every
 * request (as any client sends it), reads that stop the page when the token
 * is refused, and writes that hand their refusal back to the control that
 * asked, so the operator sees it where they clicked.
 */

/** Shared by every part of the page. */
export const state = {
  token: null,
  /** from session.json: 'admin', 'read', or null (no valid token) */
  role: null,
  actor: null,
  routes: null,
  ports: [],
  lastEvent: 0,
  charts: {},
  timer: null,
  paused: false,
  /** fault timeline entries in seq order (the last 2000) */
  timeline: [],
  timelineSeq: 0,
};

let onRefused = () => {};
/** What to do when the token is missing or refused on a read (the page shows its login form). */
export function whenRefused(fn) {
  onRefused = fn;
}

export const has = (path) => state.routes !== null && state.routes.has(path);
export const canWrite = () => state.role === 'admin';

async function send(path, init) {
  const headers = { accept: 'application/json', ...init.headers };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const res = await fetch(`../${path.replace(/^\//, '')}`, { ...init, headers, cache: 'no-store' });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text (the event stream, YAML)
  }
  return { status: res.status, body, etag: res.headers.get('etag') };
}

/** GET: { status, body, etag }; a refused token stops the page and throws. */
export async function api(path) {
  let r;
  try {
    r = await send(path, {});
  } catch (err) {
    setState('unreachable', `the API cannot be reached: ${err.message}`);
    throw err;
  }
  if (r.status === 401 || r.status === 403) {
    onRefused(r.body && r.body.message ? r.body.message : `HTTP ${r.status}`);
    throw new Error('not allowed');
  }
  return r;
}

/**
 * A write (POST, PUT, DELETE), with If-Match when the resource has a version:
 * the answer as it came. The caller shows a refusal; nothing here retries.
 */
export async function write(method, path, { ifMatch, body } = {}) {
  const headers = {};
  if (ifMatch) headers['if-match'] = ifMatch;
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await send(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    return { status: 0, body: { message: `the API cannot be reached: ${err.message}` }, etag: null };
  }
}

/** What a refused write means to the operator, in one line. */
export function refusal(r) {
  const msg = r.body && typeof r.body === 'object' && r.body.message ? r.body.message : typeof r.body === 'string' ? r.body.slice(0, 200) : '';
  if (r.status === 412) return { kind: 'changed', text: `changed meanwhile, reload: ${msg}` };
  if (r.status === 403) return { kind: 'forbidden', text: `forbidden (HTTP 403): ${msg}` };
  if (r.status === 401) return { kind: 'forbidden', text: `not signed in (HTTP 401): ${msg}` };
  if (r.status === 0) return { kind: 'error', text: msg };
  return { kind: 'error', text: `HTTP ${r.status}${r.body && r.body.code ? ` ${r.body.code}` : ''}: ${msg}` };
}

/** Which token the page talks as (the dashboard's own answer, not an API route). */
export async function whoami() {
  const r = await send('/dashboard/session.json', {});
  state.role = r.status === 200 ? r.body.role : null;
  state.actor = r.status === 200 ? r.body.actor : null;
}

export function setState(s, text) {
  const b = document.getElementById('state');
  b.dataset.state = s;
  b.textContent = text || s;
}
