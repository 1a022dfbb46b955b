/**
 * The house's layout rules (docs/architecture.md, "Layout rules"), read from
 * the sources, never from dist/:
 *
 * - no source file over MAX_LINES in src/, native/, test/ or bench/, except
 *   the ones listed in LONG_FILES with why; a listed file that is gone or
 *   back under the limit fails too, so the list stays true;
 * - no include circle in native/dataplane/, in two views: headers including
 *   headers, and units (x.c with x.h, one name) reaching themselves through
 *   what their files include. Every folder of the data plane is an include
 *   directory of every native target, so an include names a file by its plain
 *   name and resolves to the one file of that name (a second file of the same
 *   name fails the test: it would be ambiguous).
 *
 * Import circles in src/ are import-cycles.test.ts's.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** The team's guide: "no file over about 800 lines". */
const MAX_LINES = 800;
const AREAS = ['src', 'native', 'test', 'bench'];
const SOURCE = /\.(ts|mts|mjs|js|c|h|cc|hh|cpp)$/;

/** Files allowed past MAX_LINES, each with why (path relative to the repository root). */
const LONG_FILES: Record<string, string> = {};

function walk(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name.startsWith('.')) return [];
    const p = join(dir, e.name);
    if (e.isDirectory()) return walk(p, keep);
    return keep(e.name) ? [p] : [];
  });
}

function lines(file: string): number {
  const text = readFileSync(file, 'utf8');
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n + (text.length > 0 && !text.endsWith('\n') ? 1 : 0);
}

test(`no source file over ${MAX_LINES} lines in ${AREAS.join(', ')} except the listed ones`, (t) => {
  const files = AREAS.flatMap((a) => walk(join(root, a), (n) => SOURCE.test(n) && !n.endsWith('.d.ts')));
  t.true(files.length > 100, `${files.length} source files found under ${root}`);
  const long = files.map((f) => ({ file: relative(root, f), n: lines(f) })).filter((x) => x.n > MAX_LINES);
  const unlisted = long.filter((x) => !(x.file in LONG_FILES)).map((x) => `${x.file} (${x.n} lines)`);
  t.deepEqual(unlisted, [], `over ${MAX_LINES} lines: split by area, or list it in LONG_FILES with why`);
  const stale = Object.keys(LONG_FILES).filter((f) => !long.some((x) => x.file === f));
  t.deepEqual(stale, [], `listed in LONG_FILES but gone or no longer over ${MAX_LINES} lines: remove it from the list`);
});

/** Circles of a directed graph (each as a path that ends where it starts), one per strongly connected part. */
function circles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (u: string): void => {
    state.set(u, 1);
    stack.push(u);
    for (const v of [...(graph.get(u) ?? [])].sort()) {
      if (state.get(v) === 1) found.push([...stack.slice(stack.indexOf(v)), v]);
      else if (!state.has(v)) visit(v);
    }
    stack.pop();
    state.set(u, 2);
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return found;
}

/** The data plane's own includes: file name → the names of the data-plane files it includes. */
function includeGraph(dir: string): { graph: Map<string, Set<string>>; duplicates: string[] } {
  const files = walk(dir, (n) => /\.(c|h)$/.test(n));
  const byName = new Map<string, string>();
  const duplicates: string[] = [];
  for (const f of files) {
    const name = basename(f);
    if (byName.has(name)) duplicates.push(`${relative(root, byName.get(name)!)} and ${relative(root, f)}`);
    byName.set(name, f);
  }
  const graph = new Map<string, Set<string>>();
  for (const [name, f] of byName) {
    const out = new Set<string>();
    for (const m of readFileSync(f, 'utf8').matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)) {
      const inc = basename(m[1]!);
      if (byName.has(inc)) out.add(inc);
    }
    graph.set(name, out);
  }
  return { graph, duplicates };
}

test('no include circle in native/dataplane: headers, and units (x.c with x.h)', (t) => {
  const { graph, duplicates } = includeGraph(join(root, 'native', 'dataplane'));
  t.true(graph.size > 50, `${graph.size} data-plane files read`);
  t.deepEqual(duplicates, [], 'two data-plane files of one name: an include of it is ambiguous');
  const headers = new Map([...graph].filter(([n]) => n.endsWith('.h')).map(([n, to]) => [n, new Set([...to].filter((x) => x.endsWith('.h')))]));
  t.deepEqual(circles(headers).map((c) => c.join(' → ')), [], 'headers that include each other');
  const unit = (n: string) => n.replace(/\.[ch]$/, '');
  const units = new Map<string, Set<string>>();
  for (const [n, to] of graph) {
    const u = units.get(unit(n)) ?? new Set<string>();
    for (const x of to) if (unit(x) !== unit(n)) u.add(unit(x));
    units.set(unit(n), u);
  }
  t.deepEqual(circles(units).map((c) => c.join(' → ')), [], 'units (x.c with x.h) that include each other');
});
