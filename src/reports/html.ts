/**
 * A report as one self-contained HTML file: inline CSS, charts as inline
 * SVG (./svg.ts), the report's JSON embedded for tools, no script that
 * runs, no external reference of any kind.
 */
import type { Comparison, ImpactRow } from '../analysis/impact.js';
import type { ExperimentReport } from './build.js';
import { esc, lineChart, timelineChart, type Mark, type Shade, type TimelineBar } from './svg.js';

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2433;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dde6;padding-bottom:4px}
table{border-collapse:collapse;margin:6px 0;font-size:12.5px}th,td{border:1px solid #d8dde6;padding:3px 6px;text-align:right;vertical-align:top}
th{background:#f1f4f8}td.l,th.l{text-align:left}.sig{font-weight:600;color:#b00020}.ok{color:#1b7f3b;font-weight:600}.bad{color:#b00020;font-weight:600}
.nd{color:#888}.abort{background:#fdecea;border:1px solid #f5c2c0;padding:10px;border-radius:4px;font-weight:600}
.chart .ct{font-size:13px;font-weight:600}.chart .ax{font-size:11px;fill:#4a5568}.chart .sl{font-size:10px;fill:#9c4a00}.chart .mk{font-size:10px}.chart .bl{font-size:11px;fill:#fff}
.chart .grid{stroke:#e6e9ef}.chart .frame{stroke:#b8c0cc}code{background:#f1f4f8;padding:1px 3px;border-radius:3px}
.meta td{text-align:left}.note{color:#5a6170}`;

const num = (v: number | null | undefined, digits = 4): string => {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
};
const pct = (v: number | null): string => (v === null || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)} %`);
const pval = (p: number): string => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

function cmpCells(c: Comparison | null, reference: string): string {
  if (!c) return '<td class="nd" colspan="5">no data</td>';
  const cls = c.significant ? ' class="sig"' : '';
  return `<td>${num(c.meanB)} → ${num(c.meanA)}</td><td${cls}>${num(c.difference.estimate)} [${num(c.difference.low)}, ${num(c.difference.high)}]${c.relative !== null ? ` (${pct(c.relative)})` : ''}</td>`
    + `<td${cls}>${num(c.cliffsDelta, 3)} ${c.magnitude}</td><td>${num(c.hedgesG, 3)}</td><td${cls} title="${esc(reference)}">${pval(c.p)}${c.significant ? ' *' : ''}</td>`;
}

function impactTable(rows: ImpactRow[], onlyWithData: boolean): string {
  const shown = onlyWithData ? rows.filter((r) => r.vsBefore || r.vsControl) : rows;
  const head = '<tr><th class="l" rowspan="2">step</th><th class="l" rowspan="2">metric</th><th class="l" rowspan="2">scope</th><th colspan="5">shadow: step against the window before</th><th colspan="5">control: (shadow − production) step against before</th><th colspan="2">production</th></tr>'
    + '<tr><th>before → during</th><th>change [95 % CI]</th><th>Cliff δ</th><th>g</th><th>p</th><th>before → during</th><th>change [95 % CI]</th><th>Cliff δ</th><th>g</th><th>p</th><th>Cliff δ</th><th>p</th></tr>';
  const body = shown.map((r) => {
    const prod = r.production ? `<td>${num(r.production.cliffsDelta, 3)}</td><td${r.production.significant ? ' class="sig"' : ''}>${pval(r.production.p)}</td>` : '<td class="nd" colspan="2">–</td>';
    return `<tr><td class="l">${esc(`${r.step + 1}. ${r.stepName}`)}${r.faults.length ? `<br><small>${esc(r.faults.join(', '))}</small>` : ''}</td><td class="l">${esc(r.metric)}<br><small>${esc(r.unit)}</small></td><td class="l">${esc(r.scope)}</td>${cmpCells(r.vsBefore, `Mann–Whitney U, shadow during against shadow before; significant below ${num(r.alphaEach, 3)}`)}${cmpCells(r.vsControl, `Mann–Whitney U on per-second shadow − production; significant below ${num(r.alphaEach, 3)}`)}${prod}</tr>`;
  });
  return `<table class="impact">${head}${body.join('')}</table>`;
}

export function renderReport(r: ExperimentReport): string {
  const started = Date.parse(r.startedAt);
  const shades: Shade[] = r.windows.filter((w) => w.faults.length > 0).map((w) => ({ from: Date.parse(w.during[0]), to: Date.parse(w.during[1]), label: `${w.step + 1}. ${w.faults.join(', ')}` }));
  const marks: Mark[] = r.alerts.map((a) => ({ at: Date.parse(a.at), label: `alert ${a.rule} ${a.state}` }));
  if (r.abort) marks.push({ at: Date.parse(r.abort.crossedAt), label: `abort: ${r.abort.condition}`, color: '#7b2cbf' });
  const charts = r.charts.map((c) => lineChart({
    title: c.label, unit: c.unit, from: Date.parse(c.from), to: Date.parse(c.to),
    series: [{ name: 'shadow', color: '#1f6feb', points: c.shadow }, { name: 'production', color: '#6b7280', points: c.production, dashed: true }],
    shades, marks,
  }));
  const from = r.charts[0] ? Date.parse(r.charts[0].from) : started;
  const to = r.charts[0] ? Date.parse(r.charts[0].to) : started + 1000;
  const bars: TimelineBar[] = r.windows.flatMap((w) => [
    { from: Date.parse(w.before[0]), to: Date.parse(w.before[1]), label: 'before', color: '#8fb8de', row: 1 },
    { from: Date.parse(w.during[0]), to: Date.parse(w.during[1]), label: `${w.step + 1}. ${w.name}${w.faults.length ? `: ${w.faults.join(', ')}` : ''}`, color: w.faults.length ? '#e76f51' : '#2a9d8f', row: 0 },
    { from: Date.parse(w.after[0]), to: Date.parse(w.after[1]), label: 'after', color: '#b5c99a', row: 2 },
  ]);
  const timeline = timelineChart('Timeline: steps (faults in orange) and observation windows', from, to, bars, marks, ['steps', 'before', 'after']);
  const verdicts = r.hypothesis.length === 0
    ? '<p class="note">No steady-state hypothesis was given (experiment field <code>hypothesis</code>).</p>'
    : `<table><tr><th class="l">condition</th><th class="l">step</th><th>before</th><th>during</th><th>after</th></tr>${r.hypothesis.flatMap((c) => c.steps.map((s) => {
      const cell = (w: 'before' | 'during' | 'after') => {
        const v = s.windows.find((x) => x.window === w);
        if (!v) return '<td class="nd">–</td>';
        const cls = v.verdict === 'held' ? 'ok' : v.verdict === 'violated' ? 'bad' : 'nd';
        return `<td class="${cls}" title="${esc(`${v.failed} of ${v.seconds} seconds failed${v.firstFailure ? `, first at ${v.firstFailure}` : ''}`)}">${esc(v.verdict)} <small>${v.seconds - v.failed}/${v.seconds}</small></td>`;
      };
      return `<tr><td class="l">${esc(c.name)}<br><code>${esc(c.expr)}</code>${c.tolerance ? `<br><small>tolerance ${pct(c.tolerance)}</small>` : ''}</td><td class="l">${esc(`${s.step + 1}. ${s.name}`)}</td>${cell('before')}${cell('during')}${cell('after')}</tr>`;
    })).join('')}</table>`;
  const baseline = `<table><tr><th class="l">metric</th><th>production</th><th>shadow</th><th>shadow − production</th></tr>${r.baseline.filter((b) => b.shadow !== null || b.production !== null).map((b) => `<tr><td class="l">${esc(b.label)} <small>(${esc(b.unit)})</small></td><td>${num(b.production)}</td><td>${num(b.shadow)}</td><td>${b.shadow !== null && b.production !== null ? num(b.shadow - b.production) : '–'}</td></tr>`).join('')}</table>`;
  const tl = `<table><tr><th class="l">at</th><th class="l">type</th><th class="l">fault</th><th>step</th><th>late</th><th class="l">reason</th></tr>${r.timeline.map((e) => `<tr><td class="l">${esc(e.at)}</td><td class="l">${esc(e.type)}</td><td class="l">${esc(e.fault ?? '')}</td><td>${e.step !== undefined ? e.step + 1 : ''}</td><td>${Math.max(0, e.atMs - e.dueMs)} ms</td><td class="l">${esc(e.reason)}</td></tr>`).join('')}</table>`;
  const alerts = r.alerts.length ? `<table><tr><th class="l">at</th><th class="l">rule</th><th class="l">state</th><th class="l">severity</th></tr>${r.alerts.map((a) => `<tr><td class="l">${esc(a.at)}</td><td class="l">${esc(a.rule)}</td><td class="l">${esc(a.state)}</td><td class="l">${esc(a.severity)}</td></tr>`).join('')}</table>` : '<p class="note">No alert fired or resolved during the experiment.</p>';
  const abort = r.abort ? `<p class="abort">ABORTED: ${esc(r.abort.reason)}. Crossed at ${esc(r.abort.crossedAt)}; every fault disarmed ${esc(r.abort.disarmMs ?? '?')} ms later.</p>` : '';
  const json = JSON.stringify(r).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`shadowtap experiment report: ${r.experiment}`)}</title><style>${CSS}</style></head>
<body>
<h1>Experiment ${esc(r.experiment)}: ${esc(r.state)}</h1>
${r.description ? `<p>${esc(r.description)}</p>` : ''}${abort}
<table class="meta"><tr><td>report</td><td><code>${esc(r.id)}</code></td></tr><tr><td>started</td><td>${esc(r.startedAt)}</td></tr><tr><td>ended</td><td>${esc(r.endedAt ?? '–')}</td></tr>
<tr><td>seed</td><td>bootstrap seed <code>${r.seed}</code>${r.experimentSeed ? `, experiment (fault) seed <code>${esc(r.experimentSeed)}</code>` : ''}: the same series and seed give the same intervals</td></tr>
<tr><td>significance</td><td>Mann–Whitney U, two-sided, level ${r.impact.alpha} over each step's tests (Bonferroni within the step: ${r.impact.tests} tests in all; each row's level in its p cell's tooltip); * marks a significant change</td></tr></table>
${r.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
<h2>Timeline</h2>
${timeline}
<h2>Steady-state hypothesis</h2>
${verdicts}
<h2>Impact</h2>
<p class="note">Per step: per-second samples of the step against the window before it (shadow side), and the per-second difference shadow − production against the same difference before (the control: the production flows at the same seconds); production's own change should be nil. Change: difference of means with a 95 % percentile bootstrap interval; Cliff's δ and Hedges' g are effect sizes (δ &gt; 0: higher during the step). The first and last ${r.impact.guardMs / 1000} s of each window are left out.</p>
${impactTable(r.impact.rows, true)}
<h2>Production baseline</h2>
<p class="note">Means over the windows before the steps, less the seconds of fault steps (and the second after them): the steady state the shadow side is compared with.</p>
${baseline}
<h2>Series</h2>
<p class="note">Fault windows shaded; alerts and the abort marked with vertical lines. Shadow solid, production dashed.</p>
${charts.join('\n')}
<h2>Alerts</h2>
${alerts}
<h2>Timeline entries</h2>
${tl}
<h2>Definition</h2>
<pre>${esc(JSON.stringify(r.definition, null, 2))}</pre>
<script type="application/json" id="report-data">${json}</script>
</body></html>
`;
}
