/**
 * `shadowtap fault ...` and `shadowtap experiment ...` over the admin API
 * (/v1/faults, /v1/experiments). A fault's impairments are given in netem's
 * own words after its id (or after `--`), so tc habits carry over:
 *
 *   shadowtap fault add web --match 'dst 10.0.2.0/24' -- delay 20ms 5ms 25% distribution normal loss gemodel 1% 10% 70% 0.1%
 *
 * `experiment run FILE` defines the experiment, starts it and follows it
 * with a live progress display (--json: one JSON line per change) until it
 * completes (exit 0), is aborted by a stop condition or fails (exit 1); ^C
 * stops it (every fault disarmed) and exits 130.
 */
import { answerError, EXIT, isOutput, out, request, type CommandOutput, type Endpoint } from './client.js';
import { subcommand, usageError } from './command.js';
import { json, since, table } from './format.js';
import { LIVE_HELP } from './help-live.js';
import { get, prepare } from './live.js';
import { readDataFile } from './sessions.js';
import { awaitReport, listReports, showReport } from './reports.js';

type Json = Record<string, any>;

const MATCH_WORDS: Record<string, string> = {
  src: 'src', dst: 'dst', host: 'host', proto: 'protocol', protocol: 'protocol', sport: 'sport', dport: 'dport',
  session: 'session', port: 'port', dev: 'port', direction: 'direction', dir: 'direction',
};

/** `dst 10.0.2.0/24 proto tcp dport 443 shadow` as a fault match (tc filter's order of words). */
export function parseMatch(text: string): Json | string {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const m: Json = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!.toLowerCase();
    if (w === 'shadow' || w === 'production') {
      m['addressSpace'] = w;
      continue;
    }
    const key = MATCH_WORDS[w];
    if (!key) return `--match: "${words[i]}" is not a match word; expected ${Object.keys(MATCH_WORDS).join(', ')}, shadow or production, each followed by its value`;
    const v = words[++i];
    if (v === undefined) return `--match: ${w} needs a value`;
    const asNumber = key === 'session' || (key === 'protocol' && /^\d+$/.test(v)) || ((key === 'sport' || key === 'dport') && /^\d+$/.test(v));
    const value = asNumber ? Number(v) : v;
    if (m[key] !== undefined && (key === 'src' || key === 'dst' || key === 'host')) m[key] = [...[m[key]].flat(), value];
    else if (m[key] !== undefined) return `--match: ${w} is given twice`;
    else m[key] = value;
  }
  return m;
}

async function call(ep: Endpoint, method: string, path: string, body?: unknown, ifMatch?: string | null): Promise<Json | CommandOutput> {
  const a = await request(ep, method, path, { ...(body !== undefined ? { body } : {}), ...(ifMatch ? { ifMatch } : {}) });
  if (isOutput(a)) return a;
  if (a.status >= 300) return answerError(`${method} ${path}`, a);
  return a.body as Json;
}

const n = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : String(v));

function faultLines(v: Json): string[] {
  const f = v['fault'] as Json;
  const c = v['counters'] as Json;
  const what = f['netem'] ?? (['loss', 'delay', 'corrupt', 'duplicate', 'reorder', 'rate', 'slot'].filter((k) => f[k] !== undefined).map((k) => `${k} ${JSON.stringify(f[k])}`).join(' ') || '');
  const lines = [
    `fault ${v['id']} (${f['kind']}${v['experiment'] ? `, experiment ${v['experiment']}` : ''}): ${v['state']}${v['armed'] ? ` since ${v['armedSince']}` : ''}${v['next'] ? `, next change ${v['next']}` : ''}`,
    `  match ${JSON.stringify(f['match'])}${what ? `  ${what}` : ''}`,
  ];
  if (f['schedule']) lines.push(`  schedule ${JSON.stringify(f['schedule'])}${v['window'] ? ` (window ${v['window']})` : ''}`);
  if (v['error']) lines.push(`  error: ${v['error']}`);
  for (const fl of v['flags'] as Json[]) lines.push(`  flagged: ${fl['path'] ? `${fl['path']}: ` : ''}${fl['message']}`);
  lines.push(`  counters: ${Object.entries(c).map(([k, x]) => `${k} ${x}`).join(', ')}`);
  return lines;
}

function timelineLines(entries: Json[]): string[] {
  return table(
    ['SEQ', 'AT', 'TYPE', 'FAULT', 'EXPERIMENT', 'LATE', 'REASON'],
    entries.map((e) => [e['seq'], e['at'], e['type'], e['fault'] ?? '-', e['experiment'] ?? '-', `${Math.max(0, e['atMs'] - e['dueMs'])}ms${e['applied'] === false ? '*' : ''}`, e['reason']]),
  );
}

const FAULT_SUBS = ['add', 'list', 'show', 'start', 'stop', 'rm', 'dry-run', 'timeline'] as const;

export async function faultCommand(args: string[]): Promise<CommandOutput> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h') return out(first === undefined ? EXIT.usage : EXIT.ok, [LIVE_HELP['fault']!]);
  const sub = subcommand('fault', first, FAULT_SUBS);
  if (isOutput(sub)) return sub;
  const r = await prepare('fault', rest, {
    match: { type: 'string', short: 'm' },
    kind: { type: 'string' },
    file: { type: 'string', short: 'f' },
    description: { type: 'string' },
    start: { type: 'boolean' },
    at: { type: 'string' },
    duration: { type: 'string' },
    every: { type: 'string' },
    times: { type: 'string' },
    end: { type: 'string' },
    seed: { type: 'string' },
    window: { type: 'string' },
  });
  if (isOutput(r)) return r;
  const { p, ep } = r;
  const v = p.values;
  const asJson = v['json'] === true;
  const addOnly = ['match', 'kind', 'file', 'description', 'start', 'at', 'duration', 'every', 'times', 'end', 'seed'].filter((k) => v[k] !== undefined);
  if (addOnly.length > 0 && sub !== 'add' && !(sub === 'dry-run' && addOnly.every((k) => ['match', 'kind', 'file'].includes(k)))) return usageError('fault', `${sub}: --${addOnly[0]} is an option of fault add`);
  if (v['window'] !== undefined && sub !== 'dry-run') return usageError('fault', `${sub}: --window is an option of fault dry-run`);
  const idArg = (): string | CommandOutput => {
    const id = p.positionals[0];
    if (id === undefined) return usageError('fault', `${sub}: expected a fault ID`);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) return usageError('fault', `${sub}: "${id}" is not a fault id (1 to 64 letters, digits, "_", "." or "-")`);
    return id;
  };
  const path = (id: string) => `/v1/faults/${encodeURIComponent(id)}`;
  const show = (body: Json | CommandOutput, verb?: string) => (isOutput(body) ? body : out(EXIT.ok, asJson ? [json(body)] : [...(verb ? [`${verb} fault ${body['id']}`] : []), ...faultLines(body)]));

  /** The fault a command line describes (add, dry-run): a file, or the id, --match, --kind and netem words. */
  const definition = async (): Promise<Json | CommandOutput> => {
    if (typeof v['file'] === 'string') {
      if (p.positionals.length > 0) return usageError('fault', `${sub}: give a FILE or an ID with netem words, not both`);
      const raw = await readDataFile(v['file']);
      if (isOutput(raw)) return raw;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return out(EXIT.failed, [], [`${v['file']}: expected one fault (a mapping with id, match, ...)`]);
      return raw as Json;
    }
    const id = idArg();
    if (isOutput(id)) return id;
    const def: Json = { id, match: {} };
    if (typeof v['match'] === 'string') {
      const m = parseMatch(v['match']);
      if (typeof m === 'string') return usageError('fault', m);
      def['match'] = m;
    }
    if (typeof v['kind'] === 'string') def['kind'] = v['kind'];
    if (typeof v['description'] === 'string') def['description'] = v['description'];
    if (typeof v['seed'] === 'string') def['seed'] = v['seed'];
    const netem = p.positionals.slice(1).join(' ').trim();
    if (netem !== '') def['netem'] = netem;
    const schedule: Json = {};
    if (typeof v['at'] === 'string') schedule['start'] = v['at'];
    for (const k of ['duration', 'every', 'end'] as const) if (typeof v[k] === 'string') schedule[k] = v[k];
    if (typeof v['times'] === 'string') {
      if (!/^[0-9]+$/.test(v['times'])) return usageError('fault', `--times "${v['times']}": expected a whole number`);
      schedule['times'] = Number(v['times']);
    }
    if (Object.keys(schedule).length > 0) def['schedule'] = schedule;
    return def;
  };

  switch (sub) {
    case 'add': {
      const def = await definition();
      if (isOutput(def)) return def;
      return show(await call(ep, 'POST', `/v1/faults${v['start'] === true ? '?start=true' : ''}`, def), 'added');
    }
    case 'list': {
      if (p.positionals.length > 0) return usageError('fault', `list: unexpected argument "${p.positionals[0]}"`);
      const a = await get(ep, '/v1/faults');
      if (isOutput(a)) return a;
      const b = a.body as Json;
      if (asJson) return out(EXIT.ok, [json(b)]);
      const rows = (b['faults'] as Json[]).map((f) => [f['id'], f['fault']['kind'], f['state'], f['experiment'] ?? '-', since(f['armedSince']), f['next'] ?? '-', n(f['counters']['matched']), n(f['counters']['dropped']), n(f['counters']['delayed'])]);
      if (rows.length === 0) return out(EXIT.ok, ['no faults defined (shadowtap fault add ...)']);
      return out(EXIT.ok, table(['ID', 'KIND', 'STATE', 'EXPERIMENT', 'ARMED', 'NEXT', 'MATCHED', 'DROPPED', 'DELAYED'], rows));
    }
    case 'show':
    case 'start':
    case 'stop':
    case 'rm': {
      const id = idArg();
      if (isOutput(id)) return id;
      if (p.positionals.length > 1) return usageError('fault', `${sub}: unexpected argument "${p.positionals[1]}"`);
      if (sub === 'show') {
        const a = await get(ep, path(id));
        return isOutput(a) ? a : show(a.body as Json);
      }
      if (sub === 'rm') {
        const d = await call(ep, 'DELETE', path(id));
        return isOutput(d) ? d : out(EXIT.ok, [asJson ? json(d) : `deleted fault ${id}`]);
      }
      return show(await call(ep, 'POST', `${path(id)}/${sub}`), sub === 'start' ? 'started' : 'stopped');
    }
    case 'dry-run': {
      let window = 1000;
      if (v['window'] !== undefined) {
        window = Number(v['window']);
        if (!Number.isInteger(window) || window < 100 || window > 60_000) return usageError('fault', `--window "${String(v['window'])}": expected a whole number of ms from 100 to 60000`);
      }
      const existing = typeof v['file'] !== 'string' && p.positionals.length === 1 && v['match'] === undefined && v['kind'] === undefined;
      let d: Json | CommandOutput;
      if (existing) d = await call(ep, 'POST', `${path(p.positionals[0]!)}/dry-run?window=${window}`);
      else {
        const def = await definition();
        if (isOutput(def)) return def;
        d = await call(ep, 'POST', `/v1/faults/dry-run?window=${window}`, def);
      }
      if (isOutput(d)) return d;
      if (asJson) return out(EXIT.ok, [json(d)]);
      const lines = [`dry run of fault ${d['fault']}:`];
      for (const fl of d['flags'] as Json[]) lines.push(`  flagged: ${fl['path'] ? `${fl['path']}: ` : ''}${fl['message']}`);
      const live = d['live'] as Json | null;
      if (!live) lines.push(`  not measured: ${d['unavailable']}`);
      else {
        lines.push(`  matched ${live['matched']} copies in ${Math.round(live['windowMs'])} ms (${Math.round(live['matchedPerSecond'])}/s), ${live['share'] === null ? 'no copies made' : `${(live['share'] * 100).toFixed(1)} % of the ${live['copies']} copies made`}`);
        if ((live['after'] as string[]).length > 0) lines.push(`  after the armed faults ${(live['after'] as string[]).join(', ')}: copies they match first are not counted`);
      }
      lines.push(`  (${d['basis']})`);
      return out(EXIT.ok, lines);
    }
    default: {
      const id = p.positionals[0];
      const a = await get(ep, id ? `${path(id)}/timeline` : '/v1/faults/timeline');
      if (isOutput(a)) return a;
      const entries = (a.body as Json)['entries'] as Json[];
      if (asJson) return out(EXIT.ok, [json(a.body)]);
      return out(EXIT.ok, entries.length ? [...timelineLines(entries), '(LATE: when it took effect minus when it was due; * decided while no data plane ran)'] : ['the timeline is empty']);
    }
  }
}

const EXPERIMENT_SUBS = ['run', 'list', 'show', 'stop', 'rm', 'timeline', 'report', 'reports'] as const;

function progressLine(e: Json): string {
  const step = e['step'] as Json | null;
  const faults = (e['faults'] as Json[]).map((f) => `${f['id']}${f['armed'] ? '*' : ''} m${n(f['counters']['matched'])}/d${n(f['counters']['dropped'])}`).join('  ');
  const where = step ? `step ${step['index'] + 1}/${e['steps']}${step['name'] ? ` ${step['name']}` : ''}${step['until'] ? ` until ${String(step['until']).slice(11, 23)}` : ''}` : e['state'];
  return `${new Date().toISOString().slice(11, 23)} ${e['id']}: ${where}  ${faults}`;
}

/** The longest after-window of an experiment document, ms (default 10 s). */
function afterWindowMs(doc: Json): number {
  const ms = (v: unknown): number => {
    if (typeof v === 'number') return v;
    const m = /^([0-9.]+)\s*(ms|s|min)?$/.exec(String(v ?? ''));
    return m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'min' ? 60_000 : m[2] === 's' ? 1000 : 1) : 60_000;
  };
  const base = doc['observe']?.['after'] ?? '10s';
  return Math.max(...(doc['steps'] as Json[]).map((x) => ms(x['observe']?.['after'] ?? base)));
}

/** Create (or replace, with --replace), start and follow an experiment. */
async function runExperiment(ep: Endpoint, file: string, o: { json: boolean; replace: boolean; write: (line: string) => void }): Promise<CommandOutput> {
  const doc = await readDataFile(file);
  if (isOutput(doc)) return doc;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || typeof (doc as Json)['id'] !== 'string') return out(EXIT.failed, [], [`${file}: expected one experiment (a mapping with id, faults, steps, stop)`]);
  const id = (doc as Json)['id'] as string;
  const path = `/v1/experiments/${encodeURIComponent(id)}`;
  if (o.replace) {
    const old = await request(ep, 'GET', path);
    if (isOutput(old)) return old;
    if (old.status === 200) {
      if ((old.body as Json)['state'] === 'running') return out(EXIT.failed, [], [`experiment ${id} is running; stop it first (shadowtap experiment stop ${id})`]);
      const d = await call(ep, 'DELETE', path, undefined, old.etag);
      if (isOutput(d)) return d;
    }
  }
  const created = await call(ep, 'POST', '/v1/experiments?start=true', doc);
  if (isOutput(created)) {
    if (created.stderr.some((l) => /ST_ERR_CONFLICT/.test(l) && /exists already/.test(l))) created.stderr.push(`add --replace to replace experiment ${id} (when it is not running)`);
    return created;
  }
  let stopping = false;
  const onInt = () => {
    if (stopping) process.exit(130);
    stopping = true;
    o.write(o.json ? JSON.stringify({ event: 'interrupt', id }) : `stopping experiment ${id} (every fault of it is disarmed)...`);
  };
  process.on('SIGINT', onInt);
  let after = 0;
  let last = '';
  try {
    for (;;) {
      if (stopping) {
        const s = await call(ep, 'POST', `${path}/stop`);
        if (isOutput(s)) return s;
        o.write(o.json ? JSON.stringify({ event: 'state', experiment: s }) : `experiment ${id} stopped`);
        return out(130);
      }
      const a = await request(ep, 'GET', path);
      if (isOutput(a)) return a;
      if (a.status !== 200) return answerError(`GET ${path}`, a);
      const e = a.body as Json;
      const t = await request(ep, 'GET', `${path}/timeline?after=${after}`);
      if (!isOutput(t) && t.status === 200) {
        for (const entry of (t.body as Json)['entries'] as Json[]) {
          after = Math.max(after, entry['seq']);
          if (o.json) o.write(JSON.stringify({ event: 'timeline', entry }));
          else if (entry['type'] !== 'created') o.write(`${String(entry['at']).slice(11, 23)} ${entry['type']}${entry['fault'] ? ` ${entry['fault']}` : ''}: ${entry['reason']}`);
        }
      }
      const line = progressLine(e);
      if (o.json) o.write(JSON.stringify({ event: 'progress', id, state: e['state'], step: e['step'], faults: e['faults'] }));
      else if (line.slice(13) !== last) o.write(line);
      last = line.slice(13);
      if (e['state'] !== 'running') {
        // The supervisor writes the report once the last observation window has passed;
        // run waits for it when the experiment asks for analysis (observe or hypothesis).
        const doc = e['experiment'] as Json;
        let rep: Json | null = null;
        const asked = doc['observe'] !== undefined || doc['hypothesis'] !== undefined || (doc['steps'] as Json[]).some((x) => x['observe'] !== undefined);
        if (asked) rep = await awaitReport(ep, id, e['endedAt'] ?? null, afterWindowMs(doc) + 30_000);
        if (o.json) {
          if (asked) o.write(JSON.stringify({ event: 'report', report: rep }));
          o.write(JSON.stringify({ event: 'end', experiment: e }));
        } else {
          if (e['state'] === 'aborted') o.write(`experiment ${id} ABORTED: ${e['abort']['reason']} (crossed at ${e['abort']['crossedAt']}, every fault disarmed ${e['abort']['disarmMs']} ms later)`);
          else o.write(`experiment ${id} ${e['state']}`);
          if (rep) o.write(`report ${rep['id']}: ${rep['significant']} significant changes against the control, ${rep['violated']} steady-state verdicts violated (shadowtap experiment report ${rep['id']} --out ${rep['id']}.html)`);
          else o.write(`its report is written once the last observation window has passed: shadowtap experiment report ${id}`);
        }
        return out(e['state'] === 'completed' ? EXIT.ok : EXIT.failed);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    process.off('SIGINT', onInt);
  }
}

export async function experimentCommand(args: string[]): Promise<CommandOutput> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h') return out(first === undefined ? EXIT.usage : EXIT.ok, [LIVE_HELP['experiment']!]);
  const sub = subcommand('experiment', first, EXPERIMENT_SUBS);
  if (isOutput(sub)) return sub;
  const r = await prepare('experiment', rest, { replace: { type: 'boolean' }, out: { type: 'string' }, format: { type: 'string' } });
  if (isOutput(r)) return r;
  const { p, ep } = r;
  const asJson = p.values['json'] === true;
  if (p.values['replace'] !== undefined && sub !== 'run') return usageError('experiment', `${sub}: --replace is an option of experiment run`);
  if ((p.values['out'] !== undefined || p.values['format'] !== undefined) && sub !== 'report') return usageError('experiment', `${sub}: --out and --format are options of experiment report`);
  if (sub === 'reports') return listReports(ep, p.positionals[0], asJson);
  if (sub === 'list') {
    const a = await get(ep, '/v1/experiments');
    if (isOutput(a)) return a;
    if (asJson) return out(EXIT.ok, [json(a.body)]);
    const rows = ((a.body as Json)['experiments'] as Json[]).map((e) => [e['id'], e['state'], e['step'] ? `${e['step']['index'] + 1}/${e['steps']}` : '-', since(e['startedAt']), e['abort']?.['reason'] ?? '']);
    return out(EXIT.ok, rows.length ? table(['ID', 'STATE', 'STEP', 'STARTED', 'ABORT'], rows) : ['no experiments (shadowtap experiment run FILE)']);
  }
  const arg = p.positionals[0];
  if (arg === undefined) return usageError('experiment', `${sub}: expected ${sub === 'run' ? 'a FILE' : 'an experiment ID'}`);
  if (p.positionals.length > 1) return usageError('experiment', `${sub}: unexpected argument "${p.positionals[1]}"`);
  if (sub === 'report') return showReport(ep, arg, { ...(typeof p.values['out'] === 'string' ? { out: p.values['out'] } : {}), ...(typeof p.values['format'] === 'string' ? { format: p.values['format'] } : {}) });
  if (sub === 'run') {
    const lines: string[] = [];
    const o = await runExperiment(ep, arg, { json: asJson, replace: p.values['replace'] === true, write: (l) => process.stdout.write(`${l}\n`) });
    return { ...o, stdout: [...lines, ...o.stdout] };
  }
  const path = `/v1/experiments/${encodeURIComponent(arg)}`;
  if (sub === 'show') {
    const a = await get(ep, path);
    if (isOutput(a)) return a;
    return out(EXIT.ok, asJson ? [json(a.body)] : [progressLine(a.body as Json), ...((a.body as Json)['abort'] ? [`  aborted: ${(a.body as Json)['abort']['reason']}`] : [])]);
  }
  if (sub === 'timeline') {
    const a = await get(ep, `${path}/timeline`);
    if (isOutput(a)) return a;
    return out(EXIT.ok, asJson ? [json(a.body)] : timelineLines((a.body as Json)['entries'] as Json[]));
  }
  if (sub === 'rm') {
    const d = await call(ep, 'DELETE', path);
    return isOutput(d) ? d : out(EXIT.ok, [asJson ? json(d) : `deleted experiment ${arg} and its faults`]);
  }
  const s = await call(ep, 'POST', `${path}/stop`);
  return isOutput(s) ? s : out(EXIT.ok, [asJson ? json(s) : `experiment ${arg}: ${s['state']}`]);
}
