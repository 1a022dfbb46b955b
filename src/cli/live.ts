/**
 * Commands over a running shadowtap's admin API that read live state:
 * status, health, metrics, counters, ports, profiles, events, openapi.
 * Human tables by default, the API's JSON with --json.
 */
import { answerError, EXIT, isOutput, out, request, unreachable, type ApiAnswer, type CommandOutput, type Endpoint } from './client.js';
import { API_OPTIONS, endpointOf, parseOptions, usageError, type OptionSpec, type Parsed } from './command.js';
import { json, since, table } from './format.js';
import { LIVE_HELP } from './help-live.js';

type Json = Record<string, any>;

/** Parse, print help, resolve the endpoint: the common start of every command here. */
export async function prepare(cmd: string, args: string[], extra: OptionSpec = {}): Promise<{ p: Parsed; ep: Endpoint } | CommandOutput> {
  const p = parseOptions(cmd, args, { ...API_OPTIONS, ...extra });
  if (isOutput(p)) return p;
  if (p.values['help']) return out(EXIT.ok, [LIVE_HELP[cmd] ?? `usage: shadowtap ${cmd}`]);
  const ep = endpointOf(cmd, p.values);
  if (isOutput(ep)) return ep;
  return { p, ep };
}

/** GET a resource; an error answer becomes the command's output. */
export async function get(ep: Endpoint, path: string): Promise<ApiAnswer | CommandOutput> {
  const a = await request(ep, 'GET', path);
  if (isOutput(a)) return a;
  if (a.status >= 300) return answerError(`GET ${path}`, a);
  return a;
}

const noArgs = (cmd: string, p: Parsed): CommandOutput | null => (p.positionals.length > 0 ? usageError(cmd, `unexpected argument "${p.positionals[0]}"`) : null);

export async function statusCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('status', args);
  if (isOutput(r)) return r;
  const bad = noArgs('status', r.p);
  if (bad) return bad;
  const a = await get(r.ep, '/v1/status');
  if (isOutput(a)) return a;
  const s = a.body as Json;
  const code = s['state'] === 'running' ? EXIT.ok : EXIT.failed;
  if (r.p.values['json']) return out(code, [json(s)]);
  const lines = [
    `state      ${s['state']}${s['state'] === 'backoff' && s['nextRestartAt'] ? ` (restart at ${s['nextRestartAt']})` : ''}`,
    `pid        ${s['pid'] ?? '-'}`,
    `uptime     ${s['uptimeSeconds']}s (in this state for ${since(s['since'])})`,
    `restarts   ${s['restarts']}`,
    `native     ${s['nativeVersion'] ?? '-'}`,
    `mirrored   ${s['mirror'].packets} packets, ${s['mirror'].bytes} bytes, ${s['mirror'].translatedPackets} translated${s['mirror'].live ? '' : ' (not live)'}`,
  ];
  if (s['lastError']) lines.push(`last error ${s['lastError'].code}: ${String(s['lastError'].message).split('\n')[0]} (${s['lastError'].at})`);
  lines.push('');
  lines.push(...table(['PORT', 'ROLE', 'DRIVER', 'RX', 'TX', 'TX-DROPPED'], (s['ports'] as Json[]).map((p) => [p['name'], p['role'], p['driver'] ?? '-', p['rxPackets'], p['txPackets'], p['txDropped']])));
  return out(code, lines);
}

export async function healthCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('health', args);
  if (isOutput(r)) return r;
  const bad = noArgs('health', r.p);
  if (bad) return bad;
  const live = await request(r.ep, 'GET', '/healthz');
  if (isOutput(live)) return live;
  const ready = await request(r.ep, 'GET', '/readyz');
  if (isOutput(ready)) return ready;
  const code = live.status === 200 && ready.status === 200 ? EXIT.ok : EXIT.failed;
  if (r.p.values['json']) return out(code, [json({ healthz: live.body, readyz: ready.body })]);
  const rb = ready.body as Json;
  return out(code, [`live   ${live.status === 200 ? 'yes' : `no (HTTP ${live.status})`}`, `ready  ${ready.status === 200 ? 'yes' : `no: ${rb['reason'] ?? `HTTP ${ready.status}`}`}`]);
}

export async function metricsCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('metrics', args, { match: { type: 'string' } });
  if (isOutput(r)) return r;
  const bad = noArgs('metrics', r.p);
  if (bad) return bad;
  if (r.p.values['json']) return usageError('metrics', '--json: /metrics is Prometheus text; use --match to filter');
  const a = await get(r.ep, '/metrics');
  if (isOutput(a)) return a;
  const match = r.p.values['match'] as string | undefined;
  const lines = String(a.body).replace(/\n$/, '').split('\n');
  return out(EXIT.ok, match ? lines.filter((l) => l.includes(match)) : lines);
}

export async function countersCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('counters', args);
  if (isOutput(r)) return r;
  const bad = noArgs('counters', r.p);
  if (bad) return bad;
  const ports = await get(r.ep, '/v1/ports');
  if (isOutput(ports)) return ports;
  const sessions = await get(r.ep, '/v1/sessions');
  if (isOutput(sessions)) return sessions;
  const p = ports.body as Json;
  const s = sessions.body as Json;
  if (r.p.values['json']) return out(EXIT.ok, [json({ ports: p['ports'], sessions: s })]);
  const lines = table(
    ['PORT', 'ROLE', 'RX', 'RX-BYTES', 'TX', 'TX-BYTES', 'TX-DROPPED', 'IMISSED'],
    (p['ports'] as Json[]).map((x) => [x['name'], x['role'], x['counters'].rxPackets, x['counters'].rxBytes, x['counters'].txPackets, x['counters'].txBytes, x['counters'].txDropped, x['counters'].hwImissed]),
  );
  lines.push('');
  lines.push(
    ...table(
      ['SESSION', 'TARGET', 'MATCHED', 'SAMPLED', 'MIRRORED', 'BYTES', 'DROPPED'],
      (s['sessions'] as Json[]).map((x) => [String(x['id']), x['target'], x['matched'], x['sampled'], x['mirroredPackets'], x['mirroredBytes'], Object.values(x['dropped'] as Record<string, number>).reduce((n, v) => n + v, 0)]),
    ),
  );
  if ((s['disabled'] ?? []).length > 0) lines.push(`disabled: session ${(s['disabled'] as number[]).join(', ')}`);
  if (!s['live']) lines.push('(counters are not live: the data plane has not answered recently)');
  return out(EXIT.ok, lines);
}

export async function portsCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('ports', args);
  if (isOutput(r)) return r;
  const bad = noArgs('ports', r.p);
  if (bad) return bad;
  const a = await get(r.ep, '/v1/ports');
  if (isOutput(a)) return a;
  if (r.p.values['json']) return out(EXIT.ok, [json(a.body)]);
  const ports = (a.body as Json)['ports'] as Json[];
  const lines = table(
    ['PORT', 'ROLE', 'DEVICE', 'DRIVER', 'PROFILE', 'MATCHED-BY', 'PROBED', 'PLACEMENT', 'RX', 'TX'],
    ports.map((p) => [p['name'], p['role'], String(p['device']).split(',')[0]!, p['driver'] ?? '-', p['offload']?.profile ?? '-', p['offload']?.matchedBy ?? '-', p['offload'] ? String(p['offload'].probed) : '-', p['offload']?.placement ?? '-', p['counters'].rxPackets, p['counters'].txPackets]),
  );
  for (const p of ports) {
    const probes = (p['offload']?.probes ?? []) as Json[];
    if (probes.length > 0) lines.push(`${p['name']}: rte_flow_validate accepted ${probes.filter((x) => x['ok']).length} of ${probes.length} probes${probes.some((x) => !x['ok']) ? `; refused: ${probes.filter((x) => !x['ok']).map((x) => x['probe']).join(', ')}` : ''}`);
    for (const d of p['offload']?.disagreements ?? []) lines.push(`${p['name']}: probe disagrees with the profile: ${d}`);
  }
  return out(EXIT.ok, lines);
}

export async function profilesCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('profiles', args);
  if (isOutput(r)) return r;
  const a = await get(r.ep, '/v1/profiles');
  if (isOutput(a)) return a;
  const all = (a.body as Json)['profiles'] as Json[];
  const want = r.p.positionals;
  const unknown = want.filter((f) => !all.some((p) => p['family'] === f));
  if (unknown.length > 0) return out(EXIT.notFound, [], [`no hw-profile ${unknown.join(', ')}; known: ${all.map((p) => p['family']).join(', ')}`]);
  const chosen = want.length > 0 ? all.filter((p) => want.includes(p['family'])) : all;
  if (r.p.values['json']) return out(EXIT.ok, [json(want.length > 0 ? chosen : a.body)]);
  return out(
    EXIT.ok,
    table(
      ['FAMILY', 'KIND', 'DRIVERS', 'ITEMS', 'ACTIONS', 'TITLE'],
      chosen.map((p) => [p['family'], p['kind'], (p['match']?.drivers ?? []).join(',') || '-', Object.keys(p['capabilities']?.items ?? {}).length, Object.keys(p['capabilities']?.actions ?? {}).length, p['title']]),
    ),
  );
}

export async function openapiCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('openapi', args, { html: { type: 'boolean' } });
  if (isOutput(r)) return r;
  const a = await get(r.ep, r.p.values['html'] ? '/v1/docs' : '/v1/openapi.json');
  if (isOutput(a)) return a;
  return out(EXIT.ok, [typeof a.body === 'string' ? a.body.replace(/\n$/, '') : json(a.body)]);
}

function eventLine(e: Json): string {
  const data = Object.entries((e['data'] ?? {}) as Json)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${e['at']}  #${e['id']}  ${String(e['type']).padEnd(10)} ${data}`;
}

/**
 * `events [--follow] [--after N]`: the kept events (or those after N), and
 * with --follow every new one as it happens, until interrupted. Lines are
 * written as they arrive (with --json: one JSON object per line).
 */
export async function eventsCommand(args: string[], sink: (line: string) => void = (l) => process.stdout.write(`${l}\n`), signal?: AbortSignal): Promise<CommandOutput> {
  const r = await prepare('events', args, { follow: { type: 'boolean', short: 'f' }, after: { type: 'string' } });
  if (isOutput(r)) return r;
  const bad = noArgs('events', r.p);
  if (bad) return bad;
  const afterText = r.p.values['after'] as string | undefined;
  if (afterText !== undefined && !/^[0-9]+$/.test(afterText)) return usageError('events', `--after "${afterText}": expected an event id (a whole number)`);
  const follow = r.p.values['follow'] === true;
  const after = afterText ?? (follow ? undefined : '0');
  const query = new URLSearchParams({ ...(after !== undefined ? { after } : {}), follow: String(follow) });
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (r.ep.token) headers['authorization'] = `Bearer ${r.ep.token}`;
  let res: Response;
  try {
    res = await fetch(`${r.ep.url}/v1/events?${query}`, { headers, ...(signal ? { signal } : {}) });
  } catch (err) {
    return unreachable(r.ep, err);
  }
  if (res.status !== 200) {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // kept as text
    }
    return answerError('GET /v1/events', { status: res.status, body, etag: null });
  }
  const asJson = r.p.values['json'] === true;
  let buf = '';
  let count = 0;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data === '') continue; // a comment (keep-alive)
        const e = JSON.parse(data) as Json;
        sink(asJson ? JSON.stringify(e) : eventLine(e));
        count++;
      }
    }
  } catch (err) {
    if (!signal?.aborted) return out(EXIT.failed, [], [`the event stream ended: ${(err as Error).message}`]);
  }
  if (!follow && count === 0 && !asJson) return out(EXIT.ok, [], ['no events kept']);
  return out(EXIT.ok);
}

/** `reliability [show | clear-forward-only]`: crash reports, quarantine, forward-only (docs/reliability.md). */
export async function reliabilityCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('reliability', args);
  if (isOutput(r)) return r;
  const [sub = 'show', ...extra] = r.p.positionals;
  if (extra.length > 0 || !['show', 'clear-forward-only'].includes(sub)) {
    return usageError('reliability', `expected show or clear-forward-only, got "${r.p.positionals.join(' ')}"`);
  }
  const a = sub === 'show' ? await get(r.ep, '/v1/reliability') : await request(r.ep, 'POST', '/v1/reliability/forward-only/clear');
  if (isOutput(a)) return a;
  if (a.status !== 200) return answerError(`reliability ${sub}`, a);
  const v = a.body as Json;
  if (r.p.values['json']) return out(EXIT.ok, [json(v)]);
  const fo = v['forwardOnly'] as Json;
  const lines = [
    `forward-only  ${fo['on'] ? `ON since ${fo['since']}: ${fo['reason']} (clear: shadowtap reliability clear-forward-only)` : 'off'}`,
    `crashes       ${(v['crashes'] as Json[]).length} reported, ${v['recentCrashes']} in the crash-loop window`,
    '',
    ...table(['QUARANTINED SIGNATURE', 'LEN', 'UNTIL', 'CRASH'], (v['quarantine'] as Json[]).map((q) => [q['signature'], q['len'], q['until'], q['crash']])),
    '',
    ...table(['CRASH', 'AT', 'SIGNAL', 'STAGE', 'OUTAGE', 'PACKET', 'SAVED'], (v['crashes'] as Json[]).map((c) => [
      c['id'], c['at'], c['signal'], c['stage'], c['outageMs'] === null ? '-' : `${c['outageMs']} ms`, c['packet'] ?? '-', c['capture'] ?? '-',
    ])),
  ];
  return out(EXIT.ok, lines);
}
