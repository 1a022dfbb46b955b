/**
 * `shadowtap alerts ...` and `shadowtap query ...`: alert rules and the
 * supervisor's series over the admin API (GET/PUT/DELETE /v1/alerts/...,
 * GET /v1/series/...). Writes send back the rule set's ETag they read
 * (If-Match), so a change made in between is refused, not overwritten.
 */
import { answerError, EXIT, isOutput, out, request, type CommandOutput, type Endpoint } from './client.js';
import { subcommand, usageError } from './command.js';
import { json, since, table } from './format.js';
import { LIVE_HELP } from './help-live.js';
import { get, prepare } from './live.js';
import { readDataFile } from './sessions.js';

type Json = Record<string, any>;

const labelText = (l: Record<string, string>): string => {
  const e = Object.entries(l);
  return e.length === 0 ? '{}' : `{${e.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
};

async function send(ep: Endpoint, method: string, path: string, etag: string | null, body?: unknown): Promise<{ body: Json; status: number } | CommandOutput> {
  const a = await request(ep, method, path, { ...(body !== undefined ? { body } : {}), ifMatch: etag });
  if (isOutput(a)) return a;
  if (a.status >= 300) return answerError(`${method} ${path}`, a);
  return { body: a.body as Json, status: a.status };
}

/** The rule set's ETag, read before a write. */
async function revision(ep: Endpoint): Promise<string | null | CommandOutput> {
  const a = await get(ep, '/v1/alerts/rules');
  return isOutput(a) ? a : a.etag;
}

function ruleFromOptions(name: string, v: Record<string, unknown>): Json | CommandOutput {
  for (const k of ['expr', 'op', 'threshold', 'severity']) if (typeof v[k] !== 'string') return usageError('alerts', `set: --${k} is required (or give FILE)`);
  const threshold = Number(v['threshold']);
  if (!Number.isFinite(threshold)) return usageError('alerts', `--threshold "${String(v['threshold'])}": expected a number`);
  return {
    name,
    expr: v['expr'],
    condition: { op: v['op'], threshold },
    ...(typeof v['for'] === 'string' ? { for: v['for'] } : {}),
    severity: v['severity'],
    ...(typeof v['summary'] === 'string' ? { summary: v['summary'] } : {}),
  };
}

const RULE_OPTIONS = {
  expr: { type: 'string' },
  op: { type: 'string' },
  threshold: { type: 'string' },
  for: { type: 'string' },
  severity: { type: 'string' },
  summary: { type: 'string' },
} as const;

export async function alertsCommand(args: string[]): Promise<CommandOutput> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h') return out(first === undefined ? EXIT.usage : EXIT.ok, [LIVE_HELP['alerts']!]);
  const sub = subcommand('alerts', first, ['list', 'rules', 'show', 'set', 'rm', 'check', 'apply', 'export']);
  if (isOutput(sub)) return sub;
  const r = await prepare('alerts', rest, sub === 'set' || sub === 'check' ? { ...RULE_OPTIONS } : {});
  if (isOutput(r)) return r;
  const pos = r.p.positionals;
  const asJson = r.p.values['json'] === true;
  const want = (n: number, what: string): CommandOutput | null => (pos.length !== n ? usageError('alerts', `${sub}: expected ${what}`) : null);
  switch (sub) {
    case 'list': {
      const bad = want(0, 'no argument');
      if (bad) return bad;
      const a = await get(r.ep, '/v1/alerts');
      if (isOutput(a)) return a;
      const b = a.body as Json;
      if (asJson) return out(EXIT.ok, [json(b)]);
      if (b['alerts'].length === 0) return out(EXIT.ok, ['no alerts pending or firing']);
      return out(EXIT.ok, table(['RULE', 'SEVERITY', 'STATE', 'SINCE', 'VALUE', 'LABELS'], (b['alerts'] as Json[]).map((x) => [x['rule'], x['severity'], x['state'], since(x['activeAt']), x['value'] ?? 'NaN', labelText(x['labels'])])));
    }
    case 'rules': {
      const bad = want(0, 'no argument');
      if (bad) return bad;
      const a = await get(r.ep, '/v1/alerts/rules');
      if (isOutput(a)) return a;
      const b = a.body as Json;
      if (asJson) return out(EXIT.ok, [json(b)]);
      const rows = (b['rules'] as Json[]).map((x) => [x['name'], x['severity'], `${x['condition'].op} ${x['condition'].threshold}`, x['for'], x['status'].firing, x['status'].pending, x['expr']]);
      return out(EXIT.ok, [`revision ${b['revision']}`, ...table(['NAME', 'SEVERITY', 'CONDITION', 'FOR', 'FIRING', 'PENDING', 'EXPR'], rows)]);
    }
    case 'show': {
      const bad = want(1, 'exactly one NAME');
      if (bad) return bad;
      const a = await get(r.ep, `/v1/alerts/rules/${encodeURIComponent(pos[0]!)}`);
      if (isOutput(a)) return a;
      const x = a.body as Json;
      if (asJson) return out(EXIT.ok, [json(x)]);
      const s = x['status'];
      return out(EXIT.ok, [
        `${x['name']} (${x['severity']}): ${x['expr']} ${x['condition'].op} ${x['condition'].threshold} for ${x['for']}`,
        ...(x['summary'] ? [`  ${x['summary']}`] : []),
        `  firing ${s.firing}, pending ${s.pending}, last evaluated ${s.lastEvaluatedAt ?? 'never'}${s.lastError ? `, last error: ${s.lastError}` : ''}`,
      ]);
    }
    case 'set': {
      if (pos.length < 1 || pos.length > 2) return usageError('alerts', 'set: expected NAME [FILE] (FILE: one rule, YAML or JSON; without it, --expr, --op, --threshold, --severity)');
      let rule: Json | CommandOutput;
      if (pos.length === 2) {
        const raw = await readDataFile(pos[1]!);
        if (isOutput(raw)) return raw;
        rule = { ...(raw as Json), name: (raw as Json)?.['name'] ?? pos[0] };
      } else rule = ruleFromOptions(pos[0]!, r.p.values);
      if (isOutput(rule)) return rule;
      const etag = await revision(r.ep);
      if (isOutput(etag)) return etag;
      const done = await send(r.ep, 'PUT', `/v1/alerts/rules/${encodeURIComponent(pos[0]!)}`, etag, rule);
      if (isOutput(done)) return done;
      if (asJson) return out(EXIT.ok, [json(done.body)]);
      const verb = done.status === 201 ? 'added' : done.body['changed'] ? 'replaced' : 'unchanged';
      return out(EXIT.ok, [`alert rule ${pos[0]} ${verb} (revision ${done.body['revision']})`], (done.body['warnings'] as string[]).map((w) => `warning: ${w}`));
    }
    case 'rm': {
      const bad = want(1, 'exactly one NAME');
      if (bad) return bad;
      const etag = await revision(r.ep);
      if (isOutput(etag)) return etag;
      const done = await send(r.ep, 'DELETE', `/v1/alerts/rules/${encodeURIComponent(pos[0]!)}`, etag);
      if (isOutput(done)) return done;
      return out(EXIT.ok, asJson ? [json(done.body)] : [`alert rule ${pos[0]} removed (revision ${done.body['revision']})`]);
    }
    case 'apply': {
      const bad = want(1, 'exactly one FILE (rules: [...], YAML or JSON)');
      if (bad) return bad;
      const raw = await readDataFile(pos[0]!);
      if (isOutput(raw)) return raw;
      const body = Array.isArray(raw) ? { rules: raw } : raw;
      const etag = await revision(r.ep);
      if (isOutput(etag)) return etag;
      const done = await send(r.ep, 'PUT', '/v1/alerts/rules', etag, body);
      if (isOutput(done)) return done;
      if (asJson) return out(EXIT.ok, [json(done.body)]);
      return out(EXIT.ok, [`${done.body['rules'].length} alert rules ${done.body['changed'] ? 'applied' : 'unchanged'} (revision ${done.body['revision']})`], (done.body['warnings'] as string[]).map((w) => `warning: ${w}`));
    }
    case 'check': {
      if (pos.length < 1 || pos.length > 2) return usageError('alerts', 'check: expected NAME [FILE]');
      let rule: Json | CommandOutput;
      if (pos.length === 2) {
        const raw = await readDataFile(pos[1]!);
        if (isOutput(raw)) return raw;
        rule = { ...(raw as Json), name: (raw as Json)?.['name'] ?? pos[0] };
      } else rule = ruleFromOptions(pos[0]!, r.p.values);
      if (isOutput(rule)) return rule;
      const done = await send(r.ep, 'POST', '/v1/alerts/rules/check', null, rule);
      if (isOutput(done)) return done;
      const b = done.body;
      if (asJson) return out(b['valid'] ? EXIT.ok : EXIT.failed, [json(b)]);
      if (!b['valid']) return out(EXIT.failed, [], [`alert rule ${pos[0]} is not valid:`, ...(b['problems'] as Json[]).map((p) => `  ${p['path']}: ${p['message']}`)]);
      const lines = [`alert rule ${pos[0]} is valid; now:`];
      if (b['value'].length === 0) lines.push('  (no series)');
      for (const v of b['value'] as Json[]) lines.push(`  ${labelText(v['labels'])} ${v['value'] ?? 'NaN'}${v['holds'] ? '  (condition holds)' : ''}`);
      return out(EXIT.ok, lines, (b['warnings'] as string[]).map((w) => `warning: ${w}`));
    }
    default: {
      const bad = want(0, 'no argument');
      if (bad) return bad;
      if (asJson) return usageError('alerts', 'export: --json: the export is a Prometheus rule file (YAML)');
      const a = await get(r.ep, '/v1/alerts/rules.yaml');
      if (isOutput(a)) return a;
      return out(EXIT.ok, [String(a.body).replace(/\n$/, '')]);
    }
  }
}

export async function queryCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('query', args, { range: { type: 'string' }, step: { type: 'string' }, list: { type: 'boolean' } });
  if (isOutput(r)) return r;
  const asJson = r.p.values['json'] === true;
  if (r.p.values['list']) {
    if (r.p.positionals.length > 0) return usageError('query', '--list takes no EXPR');
    const a = await get(r.ep, '/v1/series');
    if (isOutput(a)) return a;
    const b = a.body as Json;
    if (asJson) return out(EXIT.ok, [json(b)]);
    return out(EXIT.ok, [`${b['series']} series, 1 s resolution, ${b['capacitySeconds']} s kept`, ...table(['METRIC', 'SERIES'], (b['metrics'] as Json[]).map((m) => [m['name'], m['series']]))]);
  }
  if (r.p.positionals.length !== 1) return usageError('query', 'expected exactly one EXPR (quote it), or --list');
  const expr = r.p.positionals[0]!;
  if (typeof r.p.values['range'] === 'string') {
    const m = /^([0-9]+)(s|m|h)$/.exec(r.p.values['range']);
    if (!m) return usageError('query', `--range "${r.p.values['range']}": expected a duration such as 90s, 10m or 1h`);
    const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
    const step = typeof r.p.values['step'] === 'string' ? Number(r.p.values['step']) * 1000 : Math.max(1000, Math.ceil(ms / 100 / 1000) * 1000);
    if (!Number.isInteger(step) || step < 1000) return usageError('query', `--step "${String(r.p.values['step'])}": expected whole seconds, at least 1`);
    const ov = await get(r.ep, '/v1/series');
    if (isOutput(ov)) return ov;
    const end = ((ov.body as Json)['latest'] as number | null) ?? Date.now();
    const a = await get(r.ep, `/v1/series/query_range?expr=${encodeURIComponent(expr)}&start=${end - ms}&end=${end}&step=${step}`);
    if (isOutput(a)) return a;
    const b = a.body as Json;
    if (asJson) return out(EXIT.ok, [json(b)]);
    const lines: string[] = [];
    for (const s of b['series'] as Json[]) {
      lines.push(labelText(s['metric']));
      for (const [t, v] of s['points'] as [number, number][]) lines.push(`  ${new Date(t).toISOString()}  ${v}`);
    }
    return out(EXIT.ok, lines.length ? lines : ['(no series)']);
  }
  const a = await get(r.ep, `/v1/series/query?expr=${encodeURIComponent(expr)}`);
  if (isOutput(a)) return a;
  const b = a.body as Json;
  if (asJson) return out(EXIT.ok, [json(b)]);
  if (b['result'].length === 0) return out(EXIT.ok, ['(no series)']);
  return out(EXIT.ok, table(['SERIES', 'VALUE'], (b['result'] as Json[]).map((x) => [labelText(x['metric']), String(x['value'])])));
}

export async function dashboardCommand(args: string[]): Promise<CommandOutput> {
  const r = await prepare('dashboard', args);
  if (isOutput(r)) return r;
  if (r.p.positionals.length > 0) return usageError('dashboard', `unexpected argument "${r.p.positionals[0]}"`);
  const a = await request(r.ep, 'GET', '/dashboard/');
  if (isOutput(a)) return a;
  if (a.status !== 200) return answerError('GET /dashboard/', a);
  const url = `${r.ep.url}/dashboard/`;
  return out(EXIT.ok, r.p.values['json'] ? [json({ url })] : [url]);
}
