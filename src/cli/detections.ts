/**
 * `shadowtap detections`: what the detectors of a running shadowtap found
 * (GET /v1/detections; docs/detection.md), newest last, with the counts
 * behind the rate limit.
 */
import { EXIT, isOutput, out, type CommandOutput } from './client.js';
import { usageError } from './command.js';
import { json, table } from './format.js';
import { get, prepare } from './live.js';

type Json = Record<string, any>;

export const DETECTIONS_HELP = `usage: shadowtap detections [--detector D] [--severity S] [--limit N] [--url URL] [--token TOKEN] [--json]

What the detectors found in the mirrored production traffic (GET
/v1/detections): ARP spoofing (changed, flip_flop, new_station), gratuitous
ARP storms, rogue DHCP / DHCPv6 servers and router advertisements, port and
host scans, SYN floods and rate anomalies; each with its severity, a one-line
summary and its evidence (--json). Below the list: every finding counted by
detector and severity, and those the rate limit kept back. docs/detection.md.

examples:
  shadowtap detections
  shadowtap detections --detector port_scan --json | jq '.detections[].evidence'
  shadowtap events --follow | grep detection
`;

export async function detectionsCommand(args: string[]): Promise<CommandOutput> {
  if (args.includes('--help') || args.includes('-h')) return out(EXIT.ok, [DETECTIONS_HELP]);
  const r = await prepare('detections', args, { detector: { type: 'string' }, severity: { type: 'string' }, limit: { type: 'string' } });
  if (isOutput(r)) return r;
  if (r.p.positionals.length > 0) return usageError('detections', `unexpected argument "${r.p.positionals[0]}"`);
  const q = new URLSearchParams();
  for (const k of ['detector', 'severity', 'limit']) {
    const v = r.p.values[k];
    if (typeof v === 'string') q.set(k, v);
  }
  const a = await get(r.ep, `/v1/detections${q.size > 0 ? `?${q}` : ''}`);
  if (isOutput(a)) return a;
  const v = a.body as Json;
  if (r.p.values['json']) return out(EXIT.ok, [json(v)]);
  const ds = v['detections'] as Json[];
  const counts = v['counts'] as Json;
  const lines = ds.length === 0 ? ['no detections'] : table(['ID', 'AT', 'DETECTOR', 'SEVERITY', 'SUMMARY'], ds.map((d) => [d['id'], d['at'], d['detector'], d['severity'], d['summary']]));
  lines.push('');
  lines.push(...table(['DETECTOR', 'SEVERITY', 'FOUND'], (counts['total'] as Json[]).map((c) => [c['detector'], c['severity'], c['count']])));
  const sup = counts['suppressed'] as Json[];
  if (sup.length > 0) lines.push('', `rate-limited (counted, not listed): ${sup.map((s) => `${s['detector']} ${s['count']}`).join(', ')}`);
  if (counts['lost'] > 0) lines.push(`lost in the data plane before they were read: ${counts['lost']}`);
  return out(EXIT.ok, lines);
}
