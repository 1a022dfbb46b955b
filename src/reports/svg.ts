/**
 * A small SVG renderer for reports: line charts with shaded windows and
 * vertical marks, and a timeline of steps. Strings in, one <svg> element
 * out, no scripts, no external references (a report is one self-contained
 * file). Every text is escaped.
 */

export function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export interface ChartSeries {
  name: string;
  color: string;
  /** [ms since the epoch, value] */
  points: readonly [number, number][];
  dashed?: boolean;
}

export interface Shade {
  from: number;
  to: number;
  label: string;
  color?: string;
}

export interface Mark {
  at: number;
  label: string;
  color?: string;
}

export interface LineChart {
  title: string;
  unit: string;
  from: number;
  to: number;
  series: ChartSeries[];
  shades?: Shade[];
  marks?: Mark[];
  width?: number;
  height?: number;
}

const fmt = (v: number): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
};

/** Round tick steps (1, 2, 5 × 10^k) covering [lo, hi] in about n steps. */
export function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function lineChart(c: LineChart): string {
  const W = c.width ?? 880;
  const H = c.height ?? 220;
  const m = { l: 64, r: 12, t: 28, b: 30 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = c.series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  let lo = all.length ? Math.min(...all, 0) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi === lo) hi = lo + 1;
  const pad = (hi - lo) * 0.05;
  hi += pad;
  if (lo < 0) lo -= pad;
  const span = Math.max(1, c.to - c.from);
  const x = (t: number) => m.l + ((t - c.from) / span) * pw;
  const y = (v: number) => m.t + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(`<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(c.title)}">`);
  parts.push(`<title>${esc(c.title)}</title>`);
  parts.push(`<text x="${m.l}" y="16" class="ct">${esc(c.title)} (${esc(c.unit)})</text>`);
  for (const s of c.shades ?? []) {
    const x0 = Math.max(m.l, x(s.from));
    const x1 = Math.min(m.l + pw, x(s.to));
    if (x1 <= x0) continue;
    parts.push(`<rect x="${x0.toFixed(1)}" y="${m.t}" width="${(x1 - x0).toFixed(1)}" height="${ph}" fill="${s.color ?? '#f4a261'}" fill-opacity="0.22"><title>${esc(s.label)}</title></rect>`);
    parts.push(`<text x="${(x0 + 3).toFixed(1)}" y="${m.t + 11}" class="sl">${esc(s.label)}</text>`);
  }
  for (const v of ticks(lo, hi)) {
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="ax">${esc(fmt(v))}</text>`);
  }
  for (const s of ticks(0, span / 1000, 8)) {
    const t = c.from + s * 1000;
    parts.push(`<text x="${x(t).toFixed(1)}" y="${H - 10}" text-anchor="middle" class="ax">${esc(`${s}s`)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" class="frame"/>`);
  for (const s of c.series) {
    const pts = s.points.filter(([t, v]) => Number.isFinite(v) && t >= c.from && t <= c.to);
    if (pts.length === 0) continue;
    const d = pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}><title>${esc(s.name)}</title></polyline>`);
  }
  for (const k of c.marks ?? []) {
    if (k.at < c.from || k.at > c.to) continue;
    const xx = x(k.at).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${m.t}" y2="${m.t + ph}" stroke="${k.color ?? '#d62828'}" stroke-dasharray="3 2"><title>${esc(k.label)}</title></line>`);
    parts.push(`<text x="${xx}" y="${m.t - 3}" text-anchor="middle" class="mk" fill="${k.color ?? '#d62828'}">${esc(k.label.slice(0, 24))}</text>`);
  }
  let lx = m.l + pw;
  for (const s of [...c.series].reverse()) {
    const w = 14 + s.name.length * 6.2;
    lx -= w + 10;
    parts.push(`<line x1="${lx.toFixed(1)}" x2="${(lx + 12).toFixed(1)}" y1="12" y2="12" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 2"' : ''}/><text x="${(lx + 15).toFixed(1)}" y="16" class="ax">${esc(s.name)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface TimelineBar {
  from: number;
  to: number;
  label: string;
  color: string;
  row: number;
}

/** Bars on rows (steps, windows) with marks (abort, alerts) over [from, to]. */
export function timelineChart(title: string, from: number, to: number, bars: TimelineBar[], marks: Mark[], rows: string[], width = 880): string {
  const m = { l: 110, r: 12, t: 24, b: 26 };
  const rh = 22;
  const H = m.t + m.b + rows.length * rh;
  const pw = width - m.l - m.r;
  const span = Math.max(1, to - from);
  const x = (t: number) => m.l + ((Math.min(Math.max(t, from), to) - from) / span) * pw;
  const parts = [`<svg class="chart" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>`];
  parts.push(`<text x="${m.l}" y="16" class="ct">${esc(title)}</text>`);
  rows.forEach((r, i) => parts.push(`<text x="${m.l - 6}" y="${m.t + i * rh + 15}" text-anchor="end" class="ax">${esc(r)}</text>`));
  for (const b of bars) {
    const x0 = x(b.from);
    const x1 = x(b.to);
    parts.push(`<rect x="${x0.toFixed(1)}" y="${m.t + b.row * rh + 3}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${rh - 6}" fill="${b.color}" fill-opacity="0.75"><title>${esc(b.label)}</title></rect>`);
    if (x1 - x0 > 40) parts.push(`<text x="${(x0 + 4).toFixed(1)}" y="${m.t + b.row * rh + 15}" class="bl">${esc(b.label.slice(0, Math.floor((x1 - x0) / 6.5)))}</text>`);
  }
  for (const s of ticks(0, span / 1000, 8)) parts.push(`<text x="${x(from + s * 1000).toFixed(1)}" y="${H - 8}" text-anchor="middle" class="ax">${s}s</text>`);
  for (const k of marks) {
    if (k.at < from || k.at > to) continue;
    const xx = x(k.at).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${m.t}" y2="${H - m.b}" stroke="${k.color ?? '#d62828'}" stroke-width="2"><title>${esc(k.label)}</title></line>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
