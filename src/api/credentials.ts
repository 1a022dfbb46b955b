/**
 * Who may use the admin API, read once at start: bearer tokens (a file and
 * an environment variable), the TLS files, and the rule that an API bound
 * beyond loopback must have tokens.
 *
 * Secrets are kept only as SHA-256 digests: a heap dump or a log of the
 * options does not give them away, and every presented token is hashed and
 * compared with every digest in constant time, so neither a match's position
 * nor a prefix shows in the timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Config } from '../config/schema.js';
import { stError, sysReason } from '../errors.js';

export type TokenRole = 'read' | 'admin';

export interface ApiToken {
  name: string;
  role: TokenRole;
  /** sha256 of the secret */
  digest: Buffer;
}

export interface ApiTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert: boolean;
}

export interface ApiCredentials {
  tokens: readonly ApiToken[];
  tls: ApiTls | null;
}

export const MIN_SECRET_LENGTH = 16;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** Tokens from text: "NAME:ROLE:SECRET" entries (lines, or commas for an environment variable); # comments. */
export function parseTokens(text: string, source: string, separators: RegExp = /\r?\n/): ApiToken[] {
  const out: ApiToken[] = [];
  const entries = text.split(separators);
  entries.forEach((raw, i) => {
    const entry = raw.replace(/#.*$/, '').trim();
    if (entry === '') return;
    const where = separators.source.includes(',') ? `${source} entry ${i + 1}` : `${source} line ${i + 1}`;
    const first = entry.indexOf(':');
    const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
    if (second < 0) throw credentialError(`${where}: expected NAME:ROLE:SECRET (ROLE read or admin)`, source);
    const name = entry.slice(0, first);
    const role = entry.slice(first + 1, second);
    const secret = entry.slice(second + 1);
    if (!NAME.test(name)) throw credentialError(`${where}: token name "${name}": expected 1 to 64 letters, digits, ".", "_" or "-"`, source);
    if (role !== 'read' && role !== 'admin') throw credentialError(`${where}: token ${name}: role "${role}": expected read or admin`, source);
    if (secret.length < MIN_SECRET_LENGTH) throw credentialError(`${where}: token ${name}: the secret has ${secret.length} characters; expected at least ${MIN_SECRET_LENGTH}`, source);
    out.push({ name, role, digest: digest(secret) });
  });
  return out;
}

function credentialError(message: string, field: string, cause?: unknown) {
  return stError('ST_ERR_API_CREDENTIALS', message, { field, ...(cause !== undefined ? { cause } : {}) });
}

function readFile(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw credentialError(`${field}: cannot read ${path}: ${sysReason(err)}`, field, err);
  }
}

/** Read the tokens and TLS files the configuration names; throws ST_ERR_API_CREDENTIALS naming the field. */
export function loadCredentials(api: Config['api'], env: NodeJS.ProcessEnv = process.env): ApiCredentials {
  const tokens: ApiToken[] = [];
  if (api.tokens_file !== undefined) tokens.push(...parseTokens(readFile(api.tokens_file, 'api.tokens_file').toString('utf8'), `api.tokens_file (${api.tokens_file})`));
  const fromEnv = env[api.tokens_env];
  if (fromEnv !== undefined && fromEnv.trim() !== '') tokens.push(...parseTokens(fromEnv, `environment variable ${api.tokens_env} (api.tokens_env)`, /[,\r\n]+/));
  const seen = new Set<string>();
  for (const t of tokens) {
    if (seen.has(t.name)) throw credentialError(`token name "${t.name}" is given twice (api.tokens_file and ${api.tokens_env}): names identify who made a change in the audit log`, 'api.tokens_file');
    seen.add(t.name);
  }
  let tls: ApiTls | null = null;
  if (api.tls) {
    tls = {
      cert: readFile(api.tls.cert, 'api.tls.cert'),
      key: readFile(api.tls.key, 'api.tls.key'),
      ...(api.tls.ca !== undefined ? { ca: readFile(api.tls.ca, 'api.tls.ca') } : {}),
      requestCert: api.tls.request_cert,
    };
    if (tls.requestCert && !tls.ca) throw credentialError('api.tls.request_cert is true but api.tls.ca is not set: client certificates need a CA to be checked against', 'api.tls.ca');
  }
  return { tokens, tls };
}

/** The token a bearer secret belongs to, or null; every digest is compared, in constant time. */
export function findToken(tokens: readonly ApiToken[], secret: string): ApiToken | null {
  const d = digest(secret);
  let found: ApiToken | null = null;
  for (const t of tokens) if (timingSafeEqual(d, t.digest) && found === null) found = t;
  return found;
}

/** A host name or address that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === 'ip6-localhost') return true;
  return isLoopbackAddress(h);
}

export function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.toLowerCase();
  if (a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Refuse an API anyone on the network could drive: a non-loopback api.host needs a token. */
export function checkBind(api: Config['api'], credentials: ApiCredentials): void {
  if (isLoopbackHost(api.host) || credentials.tokens.length > 0) return;
  throw stError(
    'ST_ERR_API_INSECURE',
    `api.host is "${api.host}", not a loopback address, and no API token is configured: anyone who can reach it could change the mirror policy. ` +
      `Set api.tokens_file (lines NAME:ROLE:SECRET) or the environment variable ${api.tokens_env} (api.tokens_env), or bind api.host to 127.0.0.1`,
    { field: 'api.host' },
  );
}
