import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATALOGUE, ConfigError, fromWire, isShadowtapError, stError, ST_ERR_EAL_INIT } from '../src/errors.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function docRows(): { code: string; status: number; meaning: string }[] {
  const text = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  return [...text.matchAll(/^\| `(ST_ERR_[A-Z0-9_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => ({
    code: m[1]!,
    status: Number(m[2]),
    meaning: m[3]!.replace(/\\\|/g, '|'),
  }));
}

test('docs/errors.md lists exactly the catalogue, in order, with the same status and meaning', (t) => {
  t.deepEqual(
    docRows(),
    CATALOGUE.map((e) => ({ code: e.code, status: e.status, meaning: e.meaning })),
  );
});

test('codes are unique and statuses are HTTP error statuses', (t) => {
  const codes = CATALOGUE.map((e) => e.code);
  t.is(new Set(codes).size, codes.length);
  for (const e of CATALOGUE) {
    t.regex(e.code, /^ST_ERR_[A-Z0-9_]+$/);
    t.true(e.status >= 400 && e.status < 600, e.code);
    t.true(e.meaning.length > 10, e.code);
  }
});

function files(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...files(p, exts));
    else if (exts.some((e) => n.endsWith(e))) out.push(p);
  }
  return out;
}

test('every ST_ERR_ code used in src/ and native/ is in the catalogue', (t) => {
  const known = new Set<string>(CATALOGUE.map((e) => e.code));
  const unknown = new Map<string, string>();
  for (const f of [...files(join(root, 'src'), ['.ts']), ...files(join(root, 'native'), ['.c', '.h', '.cc', '.cpp'])]) {
    for (const m of readFileSync(f, 'utf8').matchAll(/["'`](ST_ERR_[A-Z0-9_]+)["'`]/g)) {
      if (!known.has(m[1]!)) unknown.set(m[1]!, f.slice(root.length));
    }
  }
  t.deepEqual(Object.fromEntries(unknown), {}, 'add these to src/errors.ts and docs/errors.md');
});

test('catalogue errors carry code, status, field and errnum', (t) => {
  const err = stError('ST_ERR_PORT_NOT_FOUND', 'no ethdev "net_pcap7"', { field: 'ports[1].device', errnum: 19 });
  t.true(err instanceof Error);
  t.true(isShadowtapError(err));
  t.is(err.code, 'ST_ERR_PORT_NOT_FOUND');
  t.is(err.statusCode, 422);
  t.is(err.field, 'ports[1].device');
  t.is(err.errnum, 19);
  t.is(err.message, 'no ethdev "net_pcap7"');
  const pct = stError('ST_ERR_EAL_INIT', 'EAL: 100% of %s');
  t.is(pct.message, 'EAL: 100% of %s', 'messages are not printf-formatted');
  t.true(pct instanceof ST_ERR_EAL_INIT);
});

test('fromWire keeps known codes and wraps unknown ones', (t) => {
  const known = fromWire({ code: 'ST_ERR_EAL_INIT', message: 'rte_eal_init failed', field: 'ealArgs', errnum: 22 });
  t.is(known.code, 'ST_ERR_EAL_INIT');
  t.is(known.message, 'ealArgs: rte_eal_init failed');
  t.is(known.errnum, 22);
  const unknown = fromWire({ code: 'ST_ERR_SOMETHING_NEW', message: 'boom', field: '', errnum: 0 });
  t.is(unknown.code, 'ST_ERR_INTERNAL');
  t.is(unknown.message, 'ST_ERR_SOMETHING_NEW: boom');
});

test('ConfigError renders every problem with its line', (t) => {
  const err = new ConfigError(
    [
      { path: 'ports[0].egress', message: 'unknown port "x"', line: 9 },
      { path: 'api.port', message: 'expected an integer' },
    ],
    'site.yaml',
  );
  t.is(err.code, 'ST_ERR_CONFIG_INVALID');
  t.is(err.message, 'site.yaml is invalid (2 problems):\n  site.yaml:9: ports[0].egress: unknown port "x"\n  api.port: expected an integer');
});
