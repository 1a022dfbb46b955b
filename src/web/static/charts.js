/*
 * Live charts (uPlot) from the supervisor's series store, with every fault's
 * armed windows shaded behind the lines: the windows come from the fault
 * timeline (activate → deactivate, as the data plane answered the installs),
 * so what is shaded is what the data plane did, not what was asked for.
 */
import { api, has, state } from './api.js';
import { escapeRe } from './dom.js';

const WINDOW_MS = 5 * 60 * 1000;

/** Armed windows per fault, [{ fault, from, to }] in ms (to null: armed now), from the timeline held. */
export function faultWindows(entries) {
  const open = new Map();
  const out = [];
  for (const e of entries) {
    if (!e.fault) continue;
    if (e.type === 'activate') {
      if (!open.has(e.fault)) open.set(e.fault, e.atMs);
    } else if (e.type === 'deactivate') {
      // A deactivation whose activation is older than the timeline held: armed since before it.
      out.push({ fault: e.fault, from: open.has(e.fault) ? open.get(e.fault) : null, to: e.atMs });
      open.delete(e.fault);
    }
  }
  for (const [fault, from] of open) out.push({ fault, from, to: null });
  return out;
}

/** uPlot hook: shade the windows that overlap the x range, behind the series. */
function shade(u) {
  const xs = u.data[0];
  if (!xs || xs.length === 0) return;
  const lo = xs[0];
  const hi = xs[xs.length - 1];
  const { ctx, bbox } = u;
  const windows = faultWindows(state.timeline);
  let shown = 0;
  ctx.save();
  for (const w of windows) {
    const from = w.from === null ? lo : Math.max(lo, w.from / 1000);
    const to = w.to === null ? hi : Math.min(hi, w.to / 1000);
    if (to < lo || from > hi || to < from) continue;
    shown++;
    const x0 = u.valToPos(from, 'x', true);
    const x1 = Math.max(x0 + 2, u.valToPos(to, 'x', true));
    ctx.fillStyle = 'rgba(192, 57, 43, 0.16)';
    ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    // Named only where the name fits: short windows side by side would print over each other.
    if (ctx.measureText(w.fault).width + 6 <= x1 - x0) {
      ctx.fillStyle = 'rgba(192, 57, 43, 0.9)';
      ctx.fillText(w.fault, x0 + 3, bbox.top + 12 * devicePixelRatio);
    }
  }
  ctx.restore();
  u.root.parentElement.dataset.faultWindows = String(shown);
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
    const right = scales.find((s) => s !== 'y');
    const opts = {
      width: Math.max(300, box.clientWidth - 10),
      height: 220,
      series: [{}, ...labels.map((label, i) => ({ label, stroke: colors[i], width: 2, spanGaps: false, scale: scales[i] || 'y' }))],
      axes: [{}, { size: 70 }, ...(right ? [{ scale: right, side: 1, size: 50, grid: { show: false } }] : [])],
      hooks: { drawClear: [shade] },
    };
    u = state.charts[id] = new uPlot(opts, data, box);
  } else u.setData(data);
  const counts = data.slice(1).map((y) => y.filter((v) => v !== null).length);
  box.dataset.points = String(counts.reduce((a, n) => a + n, 0));
  box.dataset.pointsBySeries = counts.join(',');
}

export async function refreshCharts() {
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
  const measured = (ov.body.metrics || []).some((m) => m.name === 'shadowtap_measure_packets_total');
  document.getElementById('sides-note').hidden = measured;
  document.getElementById('chart-sides').hidden = !measured;
  if (!measured) return;
  const side = (metric, s) => `sum(rate(${metric}{side="${s}"}[5s]))`;
  const sides = await chartData(
    [side('shadowtap_measure_packets_total', 'production'), side('shadowtap_measure_packets_total', 'shadow'), side('shadowtap_measure_tcp_retransmissions_total', 'production'), side('shadowtap_measure_tcp_retransmissions_total', 'shadow')],
    end,
  );
  drawChart('chart-sides', ['production packets/s', 'shadow packets/s', 'production retransmissions/s (right)', 'shadow retransmissions/s (right)'], ['#2b6cb0', '#d69e2e', '#63b3ed', '#f6ad55'], sides, ['y', 'y', 'retx', 'retx']);
}
