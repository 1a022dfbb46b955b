/**
 * `shadowtap experiment report ID [--out FILE] [--format html|json]` and
 * `shadowtap experiment reports [ID]`: an experiment's report (written by
 * the supervisor when the experiment ended) from GET /v1/reports. ID is a
 * report id or an experiment id (its newest report).
 */
import { writeFileSync } from 'node:fs';
import { answerError, EXIT, isOutput, out, request, type CommandOutput, type Endpoint } from './client.js';
import { json, table } from './format.js';
import { get } from './live.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function listReports(ep: Endpoint, experiment: string | undefined, asJson: boolean): Promise<CommandOutput> {
  const a = await get(ep, `/v1/reports${experiment ? `?experiment=${encodeURIComponent(experiment)}` : ''}`);
  if (isOutput(a)) return a;
  if (asJson) return out(EXIT.ok, [json(a.body)]);
  const rows = ((a.body as Json)['reports'] as Json[]).map((r) => [r['id'], r['experiment'], r['state'], r['generatedAt'], String(r['significant']), String(r['violated']), r['abort'] ?? '']);
  return out(EXIT.ok, rows.length ? table(['REPORT', 'EXPERIMENT', 'STATE', 'WRITTEN', 'SIGNIFICANT', 'VIOLATED', 'ABORT'], rows) : ['no reports (one is written when an experiment ends)']);
}

/** One report: HTML (default with --out FILE.html) or JSON, to FILE or stdout. */
export async function showReport(ep: Endpoint, id: string, o: { out?: string; format?: string }): Promise<CommandOutput> {
  const format = o.format ?? (o.out && /\.json$/i.test(o.out) ? 'json' : o.out ? 'html' : 'json');
  if (format !== 'html' && format !== 'json') return out(EXIT.usage, [], [`shadowtap experiment report: --format: expected html or json, got "${format}"`]);
  const path = `/v1/reports/${encodeURIComponent(id)}${format === 'html' ? '?format=html' : ''}`;
  const a = await request(ep, 'GET', path);
  if (isOutput(a)) return a;
  if (a.status !== 200) return answerError(`GET ${path}`, a);
  const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body, null, 2);
  if (o.out) {
    writeFileSync(o.out, text);
    return out(EXIT.ok, [`report ${format === 'json' ? (a.body as Json)['id'] : id} written to ${o.out}`]);
  }
  return out(EXIT.ok, [text]);
}

/** After `experiment run`: wait for the report the supervisor writes once the last window passed. */
export async function awaitReport(ep: Endpoint, experiment: string, endedAt: string | null, timeoutMs: number): Promise<Json | null> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const a = await request(ep, 'GET', `/v1/reports?experiment=${encodeURIComponent(experiment)}`);
    if (isOutput(a) || a.status === 404 || a.status === 503) return null;
    if (a.status === 200) {
      const r = ((a.body as Json)['reports'] as Json[]).find((x) => x['endedAt'] === endedAt);
      if (r) return r;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}
