/* Small DOM helpers: every text goes in as a text node, never as HTML. */

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/** A table; a cell may be a node (a button), a number (right-aligned) or text. */
export function table(head, rows, rowAttrs = () => ({})) {
  if (rows.length === 0) return el('p', { class: 'muted' }, 'none');
  const t = el('table', {}, el('tr', {}, ...head.map((h) => el('th', {}, h))));
  for (const r of rows) t.append(el('tr', rowAttrs(r), ...r.map((c) => el('td', typeof c === 'number' ? { class: 'num' } : {}, c ?? '-'))));
  return t;
}

export function fill(id, ...nodes) {
  document.getElementById(id).replaceChildren(...nodes);
}

export const unavailable = (why) => el('p', { class: 'unavailable' }, `not available${why ? ` (${why})` : ''}`);
export const labelText = (l) => Object.entries(l || {}).map(([k, v]) => `${k}=${v}`).join(', ') || '-';
export const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v).toLocaleString('en') : v.toPrecision(3)) : v);
export const hms = (iso) => (typeof iso === 'string' ? iso.slice(11, 19) : '-');
export const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
