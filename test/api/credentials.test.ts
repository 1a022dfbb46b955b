/**
 * Tokens, the refusal of an open API on the network (through the real
 * `shadowtap run`), and TLS with a self-signed certificate made here by
 * openssl (an independent implementation), with and without client
 * certificates, over real sockets.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { checkBind, findToken, isLoopbackHost, loadCredentials, parseTokens } from '../../src/api/credentials.js';
import { buildServer, listen } from '../../src/api/server.js';
import { validateConfig } from '../../src/config/load.js';
import type { ShadowtapError } from '../../src/errors.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { FAKE_CONFIG_INPUT, fakeDataplane } from '../helpers/fake-dataplane.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(root, 'bin', 'shadowtap.js');

function tmp(t: { teardown(fn: () => void): void }, tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `st-${tag}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const api = (over: Record<string, unknown>) => validateConfig({ ...FAKE_CONFIG_INPUT, api: over }).api;

test('tokens: NAME:ROLE:SECRET, hashed, found in constant time; every bad entry named with its line', (t) => {
  const tokens = parseTokens('# operators\nops:admin:0123456789abcdef0123\n\nmon:read:fedcba9876543210:with:colons\n', 'tokens.txt');
  t.deepEqual(tokens.map((x) => [x.name, x.role, x.digest.length]), [['ops', 'admin', 32], ['mon', 'read', 32]]);
  t.false(JSON.stringify(tokens).includes('0123456789abcdef0123'), 'the secret is not kept');
  t.is(findToken(tokens, 'fedcba9876543210:with:colons')?.name, 'mon');
  t.is(findToken(tokens, '0123456789abcdef012'), null, 'a prefix is not the token');
  t.is(findToken(tokens, ''), null);
  for (const [text, message] of [
    ['ops-admin-0123456789abcdef', /tokens\.txt line 1: expected NAME:ROLE:SECRET/],
    ['ops:root:0123456789abcdef', /line 1: token ops: role "root": expected read or admin/],
    ['\nops:admin:short', /line 2: token ops: the secret has 5 characters; expected at least 16/],
    ['o p:admin:0123456789abcdef', /token name "o p"/],
  ] as const) {
    const err = t.throws(() => parseTokens(text, 'tokens.txt'), { any: true }) as unknown as ShadowtapError;
    t.is(err.code, 'ST_ERR_API_CREDENTIALS');
    t.regex(err.message, message);
  }
});

test('tokens from a file and the environment; a name given twice, a missing file, mTLS without a CA: ST_ERR_API_CREDENTIALS', (t) => {
  const dir = tmp(t, 'tokens');
  const file = join(dir, 'tokens');
  writeFileSync(file, 'ops:admin:0123456789abcdef0123\n');
  const both = loadCredentials(api({ tokens_file: file }), { SHADOWTAP_API_TOKENS: 'ci:read:aaaaaaaaaaaaaaaaaaaa, bot:admin:bbbbbbbbbbbbbbbbbbbb' });
  t.deepEqual(both.tokens.map((x) => x.name), ['ops', 'ci', 'bot']);
  t.deepEqual(loadCredentials(api({ tokens_env: 'MY_TOKENS' }), { MY_TOKENS: 'x:read:cccccccccccccccccccc', SHADOWTAP_API_TOKENS: 'y:read:dddddddddddddddddddd' }).tokens.map((x) => x.name), ['x']);
  const cases: [() => unknown, RegExp][] = [
    [() => loadCredentials(api({ tokens_file: file }), { SHADOWTAP_API_TOKENS: 'ops:read:eeeeeeeeeeeeeeeeeeee' }), /token name "ops" is given twice/],
    [() => loadCredentials(api({ tokens_file: join(dir, 'missing') }), {}), /api\.tokens_file: cannot read .*missing.*ENOENT/],
    [() => loadCredentials(api({}), { SHADOWTAP_API_TOKENS: 'ops:admin:short' }), /environment variable SHADOWTAP_API_TOKENS \(api\.tokens_env\) entry 1: token ops: the secret has 5 characters/],
    [() => loadCredentials(api({ tls: { cert: file, key: file, request_cert: true } }), {}), /api\.tls\.request_cert is true but api\.tls\.ca is not set/],
  ];
  for (const [fn, message] of cases) {
    const err = t.throws(fn, { any: true }) as unknown as ShadowtapError;
    t.is(err.code, 'ST_ERR_API_CREDENTIALS');
    t.regex(err.message, message);
  }
});

test('a non-loopback api.host without a token is refused (ST_ERR_API_INSECURE); loopback or a token is fine', (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) t.true(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '192.0.2.1', 'example.net', '::ffff:192.0.2.1']) t.false(isLoopbackHost(host), host);
  const err = t.throws(() => checkBind(api({ host: '0.0.0.0' }), { tokens: [], tls: null }), { any: true }) as unknown as ShadowtapError;
  t.is(err.code, 'ST_ERR_API_INSECURE');
  t.is(err.field, 'api.host');
  t.regex(err.message, /api\.host is "0\.0\.0\.0", not a loopback address, and no API token is configured/);
  t.regex(err.message, /api\.tokens_file .* SHADOWTAP_API_TOKENS \(api\.tokens_env\)/);
  t.notThrows(() => checkBind(api({ host: '127.0.0.1' }), { tokens: [], tls: null }));
  t.notThrows(() => checkBind(api({ host: '0.0.0.0' }), { tokens: parseTokens('a:read:0123456789abcdef', 't'), tls: null }));
});

test('the real shadowtap run refuses 0.0.0.0 without a token before starting anything (exit 1)', (t) => {
  const dir = tmp(t, 'insecure');
  const config = join(dir, 'c.yaml');
  writeFileSync(
    config,
    `ports:\n  - { name: prod-in, device: "net_null0", egress: prod-out }\n  - { name: prod-out, device: "net_null1,no-rx=1", role: egress }\n  - { name: shadow0, device: "net_null2,no-rx=1", role: shadow }\napi: { host: 0.0.0.0, port: 0 }\nrun_dir: ${join(dir, 'run')}\n`,
  );
  const env = { ...process.env };
  delete env['SHADOWTAP_API_TOKENS'];
  const r = spawnSync(process.execPath, [CLI, 'run', '-c', config], { encoding: 'utf8', timeout: 30_000, env });
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr + r.stdout, /ST_ERR_API_INSECURE: api\.host is "0\.0\.0\.0"/);
  t.notRegex(r.stdout, /data plane|running:/, 'nothing was started');
});

function openssl(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

function get(url: string, opts: { ca?: Buffer; cert?: Buffer; key?: Buffer; token?: string }): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}), headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

test('TLS: HTTPS with a self-signed certificate and token roles; with request_cert, a client without a signed certificate never reaches a route', async (t) => {
  const dir = tmp(t, 'tls');
  const server = openssl(dir, 'server');
  const client = openssl(dir, 'client');
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, 'ops:admin:0123456789abcdef0123\nmon:read:fedcba9876543210fedc\n');
  const ca = readFileSync(server.cert);
  const start = async (tls: Record<string, unknown>) => {
    const creds = loadCredentials(api({ tokens_file: tokens, tls }), {});
    const dp = fakeDataplane();
    const f = await buildServer({ logger: pino({ level: 'silent' }), dataplane: dp, registry: createMetricsRegistry({ source: dp, defaultMetrics: false }), tls: creds.tls, security: { tokens: creds.tokens } });
    t.teardown(() => f.close());
    return listen(f, '127.0.0.1', 0);
  };
  const url = await start({ cert: server.cert, key: server.key });
  t.regex(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const anon = await get(`${url}/v1/status`, { ca });
  t.is('status' in anon ? anon.status : anon.error, 401);
  const ok = await get(`${url}/v1/status`, { ca, token: 'fedcba9876543210fedc' });
  t.is('status' in ok ? ok.status : ok.error, 200);
  const put = await new Promise<number>((resolve) => {
    const req = request(`${url}/v1/policy`, { method: 'PUT', ca, headers: { authorization: 'Bearer fedcba9876543210fedc', 'content-type': 'application/json', 'if-match': '*' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.end('{"sessions": []}');
  });
  t.is(put, 403, 'the read token over TLS cannot write');
  const untrusted = await get(`${url}/healthz`, {});
  t.regex('error' in untrusted ? untrusted.error : 'answered', /SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/, 'a client that does not trust the certificate refuses it');

  const clientCa = readFileSync(client.cert);
  const mtls = await start({ cert: server.cert, key: server.key, ca: client.cert, request_cert: true });
  const withCert = await get(`${mtls}/v1/status`, { ca, cert: clientCa, key: readFileSync(client.key), token: 'fedcba9876543210fedc' });
  t.is('status' in withCert ? withCert.status : withCert.error, 200);
  const without = await get(`${mtls}/v1/status`, { ca, token: 'fedcba9876543210fedc' });
  t.true('error' in without, `no client certificate: ${JSON.stringify(without)}`);
  const wrongCert = await get(`${mtls}/v1/status`, { ca, cert: ca, key: readFileSync(server.key), token: 'fedcba9876543210fedc' });
  t.true('error' in wrongCert, `a certificate the CA did not sign: ${JSON.stringify(wrongCert)}`);
});
