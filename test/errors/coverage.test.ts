/**
 * Every catalogue code is caused by a test or listed as not reachable, with a
 * reason, in docs/errors.md ("Codes no test causes"). A code counts as tested
 * when a test source (test/**\/*.test.ts, or a native test in native/test/
 * that the suite runs) names it, or names the error class that carries it,
 * and does not build that error itself (stError('CODE', ...) injected into
 * the fake data plane proves nothing about what causes the code).
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATALOGUE } from '../../src/errors.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const SELF = join(root, 'test', 'errors', 'coverage.test.ts');

function files(dir: string, keep: (name: string) => boolean): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return files(p, keep);
    return keep(n) ? [p] : [];
  });
}

function testSources(): string[] {
  const ts = files(join(root, 'test'), (n) => n.endsWith('.test.ts'));
  const native = files(join(root, 'native', 'test'), (n) => n.endsWith('.c'));
  return [...ts, ...native].filter((f) => f !== SELF);
}

/** Error classes that carry a code: `class PolicyError extends ST_ERR_POLICY_INVALID`. */
function classesByCode(): Map<string, string[]> {
  const src = readFileSync(join(root, 'src', 'errors.ts'), 'utf8');
  const out = new Map<string, string[]>();
  for (const m of src.matchAll(/class (\w+) extends (ST_ERR_[A-Z0-9_]+)\b/g)) out.set(m[2]!, [...(out.get(m[2]!) ?? []), m[1]!]);
  return out;
}

/** code -> test files that reference it (not as a fake's injected error). */
function references(sources: readonly string[]): Map<string, string[]> {
  const classes = classesByCode();
  const texts = sources.map((f) => ({ f: relative(root, f), text: readFileSync(f, 'utf8') }));
  const out = new Map<string, string[]>();
  for (const { code } of CATALOGUE) {
    const names = [code, ...(classes.get(code) ?? [])];
    // A file that builds the error itself (stError('CODE', ...), to inject
    // into a fake) proves nothing about what causes it, wherever it asserts it.
    const injects = new RegExp(`stError\\(\\s*['"\`]${code}['"\`]`);
    const hits = texts.filter(({ text }) => !injects.test(text) && names.some((name) => new RegExp(`\\b${name}\\b`).test(text)));
    out.set(code, hits.map((h) => h.f));
  }
  return out;
}

/** The not-reachable table of docs/errors.md: code -> reason. */
function notReachable(): Map<string, string> {
  const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  const at = doc.indexOf('\n## Codes no test causes');
  if (at < 0) return new Map();
  const section = doc.slice(at + 1).split(/\n## /)[0]!;
  return new Map([...section.matchAll(/^\| `(ST_ERR_[A-Z0-9_]+)` \| (.*) \|$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
}

test('every catalogue code is caused by a test or listed as not reachable with a reason', (t) => {
  const refs = references(testSources());
  const table = notReachable();
  const neither = CATALOGUE.map((e) => e.code).filter((c) => refs.get(c)!.length === 0 && !table.has(c));
  t.deepEqual(neither, [], 'cause these in a test (test/errors/), or list them with a reason under "Codes no test causes" in docs/errors.md');
});

test('the not-reachable table lists only catalogue codes that no test causes, each with a real reason', (t) => {
  const refs = references(testSources());
  const table = notReachable();
  t.true(table.size > 0, 'docs/errors.md has the "Codes no test causes" table');
  const known = new Set<string>(CATALOGUE.map((e) => e.code));
  for (const [code, reason] of table) {
    t.true(known.has(code), `${code} is not in the catalogue`);
    t.deepEqual(refs.get(code) ?? [], [], `${code} is caused by a test: remove its row from the table`);
    t.true(reason.length >= 60, `${code}: the reason says why no user, operator or machine can cause it (got "${reason}")`);
  }
});

test('a fake\'s injected error does not count as a test of the code, and an error class does', (t) => {
  const fake = join(root, 'test', 'errors', 'fixtures', 'coverage-sample.txt');
  const refs = references([fake]);
  t.deepEqual(refs.get('ST_ERR_POLICY_COMPILE'), [], 'stError(\'ST_ERR_POLICY_COMPILE\', ...) is an injection, not a test');
  t.deepEqual(refs.get('ST_ERR_TOPOLOGY_INVALID'), [relative(root, fake)], 'TopologyError carries ST_ERR_TOPOLOGY_INVALID');
  t.deepEqual(refs.get('ST_ERR_ENCAP'), [relative(root, fake)], 'an asserted code counts');
  t.deepEqual(refs.get('ST_ERR_STATE'), [], 'ST_ERR_STATE_SAVE is not ST_ERR_STATE');
});
