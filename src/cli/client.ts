/**
 * How the CLI reaches a running shadowtap: the admin API's URL and token from
 * (first found) the command line (--url, --token), the environment
 * (SHADOWTAP_URL, SHADOWTAP_TOKEN) or the CLI's configuration file
 * ($XDG_CONFIG_HOME/shadowtap/cli.yaml, by default ~/.config/shadowtap/cli.yaml:
 * `url:`, `token:` or `token_file:`), else http://127.0.0.1:9465 and no token.
 *
 * Every request carries `Authorization: Bearer <token>` when there is a
 * token; read-modify-write commands send back the ETag they read as
 * `If-Match`, so a write never silently overwrites someone else's change.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

export const DEFAULT_URL = 'http://127.0.0.1:9465';

/** Exit statuses every API command shares (also in `shadowtap help exit-codes`). */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, notFound: 4, denied: 5 } as const;

export interface Endpoint {
  url: string;
  token: string | null;
  /** where url and token came from, for messages */
  from: string;
}

export interface CommandOutput {
  code: number;
  stdout: string[];
  stderr: string[];
}

export const out = (code: number, stdout: string[] = [], stderr: string[] = []): CommandOutput => ({ code, stdout, stderr });

export function cliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] && env['XDG_CONFIG_HOME'] !== '' ? env['XDG_CONFIG_HOME'] : join(homedir(), '.config');
  return join(base, 'shadowtap', 'cli.yaml');
}

/** The CLI configuration file, or an error naming the field; a missing file is no error. */
export function readCliConfig(path: string): { url?: string; token?: string } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { error: `${path}: cannot read: ${(err as Error).message}` };
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    return { error: `${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return { error: `${path}: expected a mapping with url, token or token_file` };
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['url', 'token', 'token_file'].includes(k)) return { error: `${path}: ${k}: unknown key; expected url, token or token_file` };
  }
  for (const k of ['url', 'token', 'token_file']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') return { error: `${path}: ${k}: expected a string` };
  }
  if (o['token'] !== undefined && o['token_file'] !== undefined) return { error: `${path}: token and token_file: give one` };
  let token = o['token'] as string | undefined;
  if (typeof o['token_file'] === 'string') {
    try {
      token = readFileSync(o['token_file'], 'utf8').trim();
    } catch (err) {
      return { error: `${path}: token_file: cannot read ${o['token_file']}: ${(err as Error).message}` };
    }
  }
  return { ...(typeof o['url'] === 'string' ? { url: o['url'] } : {}), ...(token !== undefined ? { token } : {}) };
}

export function resolveEndpoint(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Endpoint | { error: string } {
  const path = cliConfigPath(env);
  const file = readCliConfig(path);
  if ('error' in file) return file;
  const url = flags.url ?? env['SHADOWTAP_URL'] ?? file.url ?? DEFAULT_URL;
  const token = flags.token ?? env['SHADOWTAP_TOKEN'] ?? file.token ?? null;
  const from = flags.url !== undefined ? '--url' : env['SHADOWTAP_URL'] !== undefined ? '$SHADOWTAP_URL' : file.url !== undefined ? path : 'the default';
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: `${from}: "${url}" is not an http(s) URL; expected e.g. ${DEFAULT_URL}` };
  } catch {
    return { error: `${from}: "${url}" is not a URL; expected e.g. ${DEFAULT_URL}` };
  }
  return { url: url.replace(/\/+$/, ''), token: token === '' ? null : token, from };
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  etag: string | null;
}

export interface RequestOptions {
  body?: unknown;
  ifMatch?: string | null;
  timeoutMs?: number;
}

/** One request; an unreachable API is a CommandOutput with exit status 3. */
export async function request(ep: Endpoint, method: string, path: string, o: RequestOptions = {}): Promise<ApiAnswer | CommandOutput> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (ep.token) headers['authorization'] = `Bearer ${ep.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.ifMatch) headers['if-match'] = o.ifMatch;
  let res: Response;
  try {
    res = await fetch(`${ep.url}${path}`, {
      method,
      headers,
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      signal: AbortSignal.timeout(o.timeoutMs ?? 180_000),
    });
  } catch (err) {
    return unreachable(ep, err);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics): kept as text
  }
  return { status: res.status, body, etag: res.headers.get('etag') };
}

export function unreachable(ep: Endpoint, err: unknown): CommandOutput {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return out(EXIT.unreachable, [], [
    `cannot reach the shadowtap API at ${ep.url} (from ${ep.from}): ${cause?.code ?? ''} ${cause?.message ?? (err as Error).message}`.replace(/\s+/g, ' ').trim(),
    'is `shadowtap run` running? (--url URL, $SHADOWTAP_URL or url: in ~/.config/shadowtap/cli.yaml point elsewhere)',
  ]);
}

/** The exit status and message of an error answer (the API's one error shape). */
export function answerError(what: string, a: ApiAnswer): CommandOutput {
  const b = a.body as { code?: string; message?: string; problems?: { path: string; message: string }[] } | string;
  const code = a.status === 404 ? EXIT.notFound : a.status === 401 || a.status === 403 ? EXIT.denied : EXIT.failed;
  if (typeof b === 'object' && b !== null) {
    const lines = [`${what}: ${a.status} ${b.code ?? ''}: ${b.message?.split('\n')[0] ?? ''}`.replace(/ +/g, ' ')];
    for (const p of b.problems ?? []) lines.push(`  ${p.path}: ${p.message}`);
    if (a.status === 401) lines.push('give a token: --token, $SHADOWTAP_TOKEN, or token: in ~/.config/shadowtap/cli.yaml');
    if (a.status === 412) lines.push('someone changed it since it was read; run the command again');
    return out(code, [], lines);
  }
  return out(code, [], [`${what}: HTTP ${a.status}: ${String(b).slice(0, 500)}`]);
}

export const isOutput = (v: unknown): v is CommandOutput => typeof v === 'object' && v !== null && 'stdout' in v && 'stderr' in v;
