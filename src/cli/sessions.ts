/**
 * Commands that change a running shadowtap's policy a piece at a time, over
 * the admin API: sessions (list, show, add, update, enable, disable, rm),
 * address maps (export, import), the configuration (validate offline, export,
 * import), topology import, and the policy diff. Every write first reads the
 * resource and sends its ETag back as If-Match, so two operators never
 * silently overwrite each other once the API enforces it.
 */
import { readFile } from 'node:fs/promises';
import { parseYamlText } from '../config/load.js';
import { POLICY_KEYS } from '../config/schema.js';
import { formatProblem } from '../errors.js';
import { checkConfigFile } from './check-config.js';
import { answerError, EXIT, isOutput, out, request, type CommandOutput, type Endpoint } from './client.js';
import { subcommand, usageError } from './command.js';
import { policyText, unifiedDiff } from './diff.js';
import { json, table } from './format.js';
import { LIVE_HELP } from './help-live.js';
import { get, prepare } from './live.js';

type Json = Record<string, any>;

/** A YAML or JSON file as a value, or an output naming the problem (exit 1). */
export async function readDataFile(file: string): Promise<unknown | CommandOutput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return out(EXIT.failed, [], [`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.trim()]);
  }
  const parsed = parseYamlText(text);
  if ('problems' in parsed) return out(EXIT.failed, [], [`${file}:`, ...parsed.problems.map((p) => `  ${formatProblem(p, file)}`)]);
  return parsed.raw;
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A write with If-Match set to the ETag read just before (when the API gave one). */
/**
 * The version a write must name: the policy's ETag ("g7"), read before the
 * resource the write is based on, so that a change in between makes the
 * write fail (412) instead of undoing it.
 */
async function policyVersion(ep: Endpoint): Promise<string | null | CommandOutput> {
  const a = await get(ep, '/v1/policy');
  return isOutput(a) ? a : a.etag;
}

async function write(ep: Endpoint, method: string, path: string, etag: string | null, body?: unknown): Promise<Json | CommandOutput> {
  const a = await request(ep, method, path, { ...(body !== undefined ? { body } : {}), ifMatch: etag });
  if (isOutput(a)) return a;
  if (a.status >= 300) return answerError(`${method} ${path}`, a);
  return a.body as Json;
}

function sessionLine(d: Json): string[] {
  const s = d['session'] as Json;
  const c = d['counters'] as Json | null;
  const lines = [
    `session ${s['id']}${s['description'] ? ` (${s['description']})` : ''}: ${d['enabled'] ? 'enabled' : 'disabled (kept in the policy, not compiled)'}`,
    `  priority ${s['priority']}, target ${s['target'] ?? 'every shadow port'}, sample ${s['sample']?.percent ?? 100}% per ${s['sample']?.mode ?? 'flow'}, snaplen ${s['snaplen'] || 'whole frames'}`,
  ];
  for (const [i, f] of ((s['filters'] ?? []) as Json[]).entries()) lines.push(`  rule ${f['id'] ?? i + 1}: ${JSON.stringify(f)}`);
  if (c) {
    const dropped = Object.entries(c['dropped'] as Record<string, number>).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    if (c['classifier'] !== undefined) lines.push(`  classifier: ${c['classifier']}`);
    lines.push(`  counters: matched ${c['matched']}, sampled ${c['sampled']}, mirrored ${c['mirroredPackets']} packets / ${c['mirroredBytes']} bytes, dropped ${dropped || '0'}`);
    for (const r of c['rules'] as Json[]) lines.push(`    rule ${r['id']}: ${r['hits']} hits  ${r['line']}`);
  }
  return lines;
}

async function sessionDefinition(p: { values: Record<string, unknown>; positionals: string[] }, from: number): Promise<Json | CommandOutput> {
  const file = p.positionals[from];
  if (file !== undefined) {
    const raw = await readDataFile(file);
    if (isOutput(raw)) return raw;
    if (!isObj(raw)) return out(EXIT.failed, [], [`${file}: expected one session (a mapping with id, filters, target...)`]);
    return raw;
  }
  const def: Json = {};
  const v = p.values;
  for (const k of ['id', 'priority'] as const) {
    if (v[k] === undefined) continue;
    const n = Number(v[k]);
    if (!Number.isInteger(n)) return usageError('sessions', `--${k} "${String(v[k])}": expected a whole number`);
    def[k] = n;
  }
  if (typeof v['target'] === 'string') def['target'] = v['target'];
  if (typeof v['description'] === 'string') def['description'] = v['description'];
  if (v['disabled'] === true) def['enabled'] = false;
  return def;
}

const SESSION_SUBS = ['list', 'show', 'add', 'update', 'enable', 'disable', 'rm'] as const;

export async function sessionsCommand(args: string[]): Promise<CommandOutput> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h') return out(first === undefined ? EXIT.usage : EXIT.ok, [LIVE_HELP['sessions']!]);
  const sub = subcommand('sessions', first, SESSION_SUBS);
  if (isOutput(sub)) return sub;
  const r = await prepare('sessions', rest, { id: { type: 'string' }, priority: { type: 'string' }, target: { type: 'string' }, description: { type: 'string' }, disabled: { type: 'boolean' } });
  if (isOutput(r)) return r;
  const { p, ep } = r;
  const asJson = p.values['json'] === true;
  const idArg = (): number | CommandOutput => {
    const t = p.positionals[0];
    if (t === undefined) return usageError('sessions', `${sub}: expected a session ID`);
    if (!/^[0-9]{1,10}$/.test(t) || Number(t) < 1) return usageError('sessions', `${sub}: "${t}" is not a session id; expected a whole number from 1`);
    return Number(t);
  };
  const flagsOnlyFor = (subs: readonly string[]) => {
    const used = ['id', 'priority', 'target', 'description', 'disabled'].filter((k) => p.values[k] !== undefined);
    return used.length > 0 && !subs.includes(sub) ? usageError('sessions', `${sub}: --${used[0]} is an option of sessions add`) : null;
  };
  const misuse = flagsOnlyFor(['add']);
  if (misuse) return misuse;

  switch (sub) {
    case 'list': {
      if (p.positionals.length > 0) return usageError('sessions', `list: unexpected argument "${p.positionals[0]}"`);
      const pol = await get(ep, '/v1/policy');
      if (isOutput(pol)) return pol;
      const cnt = await get(ep, '/v1/sessions');
      if (isOutput(cnt)) return cnt;
      const defs = ((pol.body as Json)['policy']['sessions'] ?? null) as Json[] | null;
      const counters = new Map(((cnt.body as Json)['sessions'] as Json[]).map((c) => [c['id'], c]));
      if (asJson) return out(EXIT.ok, [json({ generation: (pol.body as Json)['generation'], sessions: (defs ?? []).map((d) => ({ ...d, enabled: d['enabled'] !== false, counters: counters.get(d['id']) ?? null })), implicit: defs === null })]);
      const rows = (defs ?? [{ id: 0, priority: 0, description: 'the default session (no sessions section)' }]).map((d) => {
        const c = counters.get(d['id']);
        return [String(d['id']), d['enabled'] === false ? 'no' : 'yes', d['priority'] ?? 100, d['target'] ?? c?.['target'] ?? '-', c?.['classifier'] ?? '-', c ? c['matched'] : '-', c ? c['mirroredPackets'] : '-', d['description'] ?? ''];
      });
      if (rows.length === 0) return out(EXIT.ok, ['no sessions: nothing is mirrored (sessions: [])']);
      return out(EXIT.ok, table(['ID', 'ENABLED', 'PRIORITY', 'TARGET', 'CLASSIFIER', 'MATCHED', 'MIRRORED', 'DESCRIPTION'], rows));
    }
    case 'show': {
      const id = idArg();
      if (isOutput(id)) return id;
      const a = await get(ep, `/v1/sessions/${id}`);
      if (isOutput(a)) return a;
      return out(EXIT.ok, asJson ? [json(a.body)] : sessionLine(a.body as Json));
    }
    case 'add': {
      const def = await sessionDefinition(p, 0);
      if (isOutput(def)) return def;
      if (p.positionals.length > 1) return usageError('sessions', `add: unexpected argument "${p.positionals[1]}"`);
      if (p.positionals.length === 1 && ['id', 'priority', 'target', 'description', 'disabled'].some((k) => p.values[k] !== undefined)) {
        return usageError('sessions', 'add: give FILE or the --id/--target/... options, not both');
      }
      if (def['id'] === undefined) return usageError('sessions', 'add: the session needs an id (--id N, or id: in FILE)');
      const version = await policyVersion(ep);
      if (isOutput(version)) return version;
      const done = await write(ep, 'POST', '/v1/sessions', version, def);
      if (isOutput(done)) return done;
      return out(EXIT.ok, asJson ? [json(done)] : [`added session ${def['id']} (policy generation ${done['generation']})`, ...sessionLine(done)]);
    }
    case 'update': {
      const id = idArg();
      if (isOutput(id)) return id;
      if (p.positionals.length !== 2) return usageError('sessions', 'update: expected ID FILE');
      const def = await sessionDefinition(p, 1);
      if (isOutput(def)) return def;
      const version = await policyVersion(ep);
      if (isOutput(version)) return version;
      const cur = await get(ep, `/v1/sessions/${id}`);
      if (isOutput(cur)) return cur;
      const done = await write(ep, 'PUT', `/v1/sessions/${id}`, version, def);
      if (isOutput(done)) return done;
      return out(EXIT.ok, asJson ? [json(done)] : [`updated session ${id} (policy generation ${done['generation']})`, ...sessionLine(done)]);
    }
    case 'enable':
    case 'disable':
    case 'rm': {
      const id = idArg();
      if (isOutput(id)) return id;
      if (p.positionals.length > 1) return usageError('sessions', `${sub}: unexpected argument "${p.positionals[1]}"`);
      const version = await policyVersion(ep);
      if (isOutput(version)) return version;
      const cur = await get(ep, `/v1/sessions/${id}`);
      if (isOutput(cur)) return cur;
      const path = sub === 'rm' ? `/v1/sessions/${id}` : `/v1/sessions/${id}/${sub}`;
      const done = await write(ep, sub === 'rm' ? 'DELETE' : 'POST', path, version);
      if (isOutput(done)) return done;
      if (asJson) return out(EXIT.ok, [json(done)]);
      const verb = sub === 'rm' ? 'removed' : sub === 'enable' ? 'enabled' : 'disabled';
      const was = (cur.body as Json)['enabled'];
      const same = sub !== 'rm' && was === (sub === 'enable');
      return out(EXIT.ok, [`session ${id} ${same ? `was already ${verb}` : verb} (policy generation ${done['generation']})`]);
    }
  }
  return usageError('sessions', `unknown subcommand "${sub}"`);
}

export async function mapsCommand(args: string[]): Promise<CommandOutput> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h') return out(first === undefined ? EXIT.usage : EXIT.ok, [LIVE_HELP['maps']!]);
  const sub = subcommand('maps', first, ['export', 'import']);
  if (isOutput(sub)) return sub;
  const r = await prepare('maps', rest);
  if (isOutput(r)) return r;
  if (sub === 'export') {
    if (r.p.positionals.length > 0) return usageError('maps', `export: unexpected argument "${r.p.positionals[0]}"`);
    const a = await get(r.ep, '/v1/maps');
    if (isOutput(a)) return a;
    const tr = (a.body as Json)['translate'];
    return out(EXIT.ok, r.p.values['json'] ? [json(a.body)] : ['translate:', ...policyText(tr).map((l) => `  ${l}`)]);
  }
  if (r.p.positionals.length !== 1) return usageError('maps', 'import: expected exactly one FILE (the translate section, or a file with a translate key)');
  const raw = await readDataFile(r.p.positionals[0]!);
  if (isOutput(raw)) return raw;
  const translate = isObj(raw) && isObj(raw['translate']) ? raw['translate'] : raw;
  const version = await policyVersion(r.ep);
  if (isOutput(version)) return version;
  const done = await write(r.ep, 'PUT', '/v1/maps', version, translate);
  if (isOutput(done)) return done;
  return out(EXIT.ok, r.p.values['json'] ? [json(done)] : [`maps imported (policy generation ${done['generation']}): ${done['plan'].counts.map4} IPv4, ${done['plan'].counts.map6} IPv6 maps`]);
}

export async function configCommand(args: string[]): Promise<CommandOutput> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h') return out(first === undefined ? EXIT.usage : EXIT.ok, [LIVE_HELP['config']!]);
  const sub = subcommand('config', first, ['validate', 'export', 'import']);
  if (isOutput(sub)) return sub;
  if (sub === 'validate') {
    // Offline: the file as `shadowtap run` would load it.
    if (rest.includes('--help') || rest.includes('-h')) return out(EXIT.ok, [LIVE_HELP['config']!]);
    const files = rest.filter((a) => !a.startsWith('-'));
    const opts = rest.filter((a) => a.startsWith('-'));
    if (opts.length > 0) return usageError('config', `validate: unknown option ${opts[0]} (validate reads the file only)`);
    if (files.length !== 1) return usageError('config', 'validate: expected exactly one FILE');
    const o = await checkConfigFile(files[0]!);
    return out(o.ok ? EXIT.ok : EXIT.failed, o.ok ? o.lines : [], o.ok ? [] : o.lines);
  }
  const r = await prepare('config', rest);
  if (isOutput(r)) return r;
  if (sub === 'export') {
    if (r.p.positionals.length > 0) return usageError('config', `export: unexpected argument "${r.p.positionals[0]}"`);
    const a = await get(r.ep, '/v1/config');
    if (isOutput(a)) return a;
    return out(EXIT.ok, r.p.values['json'] ? [json(a.body)] : policyText(a.body));
  }
  if (r.p.positionals.length !== 1) return usageError('config', 'import: expected exactly one FILE');
  const raw = await readDataFile(r.p.positionals[0]!);
  if (isOutput(raw)) return raw;
  const version = await policyVersion(r.ep);
  if (isOutput(version)) return version;
  const done = await write(r.ep, 'PUT', '/v1/config', version, raw);
  if (isOutput(done)) return done;
  return out(EXIT.ok, r.p.values['json'] ? [json(done)] : [`configuration imported: its policy is generation ${done['generation']}${done['applied'] ? ', installed' : ', stored (applies when the data plane starts)'}`]);
}

/** `topology import --in FILE [--no-enforce]` and `topology export --in FILE` (through the API). */
export async function topologyApiCommand(sub: 'import' | 'export', args: string[]): Promise<CommandOutput> {
  const r = await prepare('topology', args, { in: { type: 'string' }, 'no-enforce': { type: 'boolean' }, out: { type: 'string', short: 'o' } });
  if (isOutput(r)) return r;
  const file = r.p.values['in'];
  if (typeof file !== 'string') return usageError('topology', `${sub}: --in FILE is required (the production topology)`);
  const raw = await readDataFile(file);
  if (isOutput(raw)) return raw;
  if (sub === 'export') {
    const a = await request(r.ep, 'POST', '/v1/topology/export', { body: raw });
    if (isOutput(a)) return a;
    if (a.status >= 300) return answerError(file, a);
    const b = a.body as Json;
    return out(EXIT.ok, [json(b)], (b['unmapped'] as Json[]).map((u) => `${u['path']}: ${u['message']}`));
  }
  const cur = await get(r.ep, '/v1/policy');
  if (isOutput(cur)) return cur;
  const enforce = r.p.values['no-enforce'] === true ? 'false' : 'true';
  const done = await write(r.ep, 'POST', `/v1/topology/import?enforce=${enforce}`, cur.etag, raw);
  if (isOutput(done)) return done;
  const sec = done['policy'].security as Json;
  return out(EXIT.ok, r.p.values['json'] ? [json(done)] : [`imported ${sec['rules'].length} security rules (${sec['enforce'] ? 'enforced' : 'not enforced'}, default ${sec['default']}); policy generation ${done['generation']}`]);
}

/** The policy keys of a file: a whole configuration's, or the file itself. */
function policyOf(raw: Json): Json {
  if (!('ports' in raw)) return raw;
  return Object.fromEntries(POLICY_KEYS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]));
}

/**
 * The diff of the running policy against FILE's, both with defaults filled
 * (FILE's is checked by the running shadowtap first: POST /v1/policy/validate
 * would not say what it fills, so it is filled here by the same loader).
 */
export async function policyDiff(ep: Endpoint, file: string): Promise<{ lines: string[]; section: Json; etag: string | null; generation: number } | CommandOutput> {
  const raw = await readDataFile(file);
  if (isOutput(raw)) return raw;
  if (!isObj(raw)) return out(EXIT.failed, [], [`${file}: expected a mapping with keys ${POLICY_KEYS.join(', ')} (or a whole configuration)`]);
  const section = policyOf(raw);
  const cur = await get(ep, '/v1/policy');
  if (isOutput(cur)) return cur;
  const cfg = await get(ep, '/v1/config');
  if (isOutput(cfg)) return cfg;
  const { checkPolicyUpdate, policySection } = await import('../config/load.js');
  const checked = checkPolicyUpdate(cfg.body as never, section, { source: file });
  if (!checked.config) return out(EXIT.failed, [], [`${file}: ${checked.problems.length} problem${checked.problems.length === 1 ? '' : 's'}:`, ...checked.problems.map((p) => `  ${formatProblem(p, file)}`)]);
  const running = (cur.body as Json)['policy'];
  const generation = (cur.body as Json)['generation'] as number;
  const lines = unifiedDiff(policyText(running), policyText(policySection(checked.config)), [`running policy (generation ${generation})`, file]);
  return { lines, section, etag: cur.etag, generation };
}
