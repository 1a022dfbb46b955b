/**
 * No import circles in src/. Two views, both read with the TypeScript
 * compiler's own parser from the sources (not from dist/):
 *
 * - modules: no file reaches itself through its imports, type-only imports
 *   included (a circle of types is still two modules that cannot be read
 *   apart);
 * - areas (src/<area>/, each file directly in src/ its own area): no two
 *   areas import each other at run time. Type-only imports are erased by
 *   the compiler and carry no code, so `policy/compile.ts` naming the
 *   `Config` type it compiles does not make policy/ depend on config/.
 *
 * Pairs that predate the supervisor split are listed in KNOWN_AREA_CIRCLES
 * with what would break them; the test fails on any other pair, and on a
 * listed one that is gone (so the list stays true). Longer area circles
 * remain through dataplane/, which holds both the native types every layer
 * reads and the start-plan compiler that reads config/ and policy/
 * (docs/architecture.md, "Supervisor").
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const src = join(root, 'src');

interface Edge {
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every relative import and re-export of a file, resolved to a src/ path, marked type-only or not. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: Edge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith('.')) return;
    out.push({ to: normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))), typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allTypes =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, allTypes);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause;
      const allTypes = node.isTypeOnly || (named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier.text, allTypes);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg)) add(arg.text, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The circles of a directed graph: one shortest circle per strongly connected component, as a path. */
function circles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const comps: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) comps.push(comp);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  // A readable witness: the shortest way back from the component's first member.
  return comps.map((comp) => {
    const members = new Set(comp);
    const start = [...comp].sort()[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!members.has(w)) continue;
        if (w === start) {
          const path = [v];
          while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
          return [...path, start];
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}

const files = sourceFiles(src);
const edges = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string) => relative(src, f).replace(/\.ts$/, '');
const areaOf = (f: string) => {
  const parts = relative(src, f).split(/[\\/]/);
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!;
};

/**
 * Areas that imported each other before this check, each with the imports
 * that do it and what would break it. Not to be added to: break a new pair
 * instead. Keys: the two areas, in alphabetical order.
 */
const KNOWN_AREA_CIRCLES: Record<string, string> = {
  // config/default.ts takes the demo maps from tools/gen-demo-capture.ts; tools/gen-config-docs.ts reads config/schema.ts.
  // Breaks when the demo maps live in config/default.ts and the capture generator imports them from there.
  'config tools': 'the demo maps',
  // dataplane/host.ts (the child process) removes EAL leftovers with supervisor/runtime-dir.ts.
  // Breaks when runtime-dir.ts moves to dataplane/ (its importers include test/helpers and bench/).
  'dataplane supervisor': 'EAL runtime directories',
  // policy/ reads the native limits in dataplane/native-types.ts; dataplane/start-plan.ts parses host overrides with policy/fields.ts.
  // Breaks when the native start plan parses them with policy/prefix.ts, or native-types.ts moves below both.
  'dataplane policy': 'native limits and address parsing',
};

test('no module imports itself through others (type-only imports included)', (t) => {
  const graph = new Map<string, Set<string>>();
  for (const [f, es] of edges) graph.set(f, new Set(es.map((e) => e.to).filter((to) => edges.has(to))));
  const found = circles(graph).map((c) => c.map(rel).join(' -> '));
  t.deepEqual(found, [], `import circles:\n${found.join('\n')}`);
});

test('no two areas of src/ import each other at run time', (t) => {
  const uses = new Map<string, string[]>();
  for (const [f, es] of edges) {
    for (const e of es) {
      if (e.typeOnly || !edges.has(e.to)) continue;
      const a = areaOf(f);
      const b = areaOf(e.to);
      if (a === b) continue;
      const key = `${a} -> ${b}`;
      uses.set(key, [...(uses.get(key) ?? []), `${rel(f)} imports ${rel(e.to)}`]);
    }
  }
  const mutual = new Map<string, string[]>();
  for (const [key, why] of uses) {
    const [a, b] = key.split(' -> ') as [string, string];
    const back = uses.get(`${b} -> ${a}`);
    if (back && a < b) mutual.set(`${a} ${b}`, [...why, ...back]);
  }
  const unknown = [...mutual].filter(([k]) => !(k in KNOWN_AREA_CIRCLES));
  t.deepEqual(unknown.map(([k]) => k), [], `areas importing each other:\n${unknown.map(([k, why]) => `${k}:\n  ${why.join('\n  ')}`).join('\n')}`);
  const gone = Object.keys(KNOWN_AREA_CIRCLES).filter((k) => !mutual.has(k));
  t.deepEqual(gone, [], 'these known circles are gone: take them off KNOWN_AREA_CIRCLES');
});

test('config/ builds on policy/, services/ never on supervisor/, and the API reaches services, not the supervisor\'s internals', (t) => {
  const offending: string[] = [];
  for (const [f, es] of edges) {
    for (const e of es) {
      const from = rel(f);
      const to = rel(e.to);
      const a = areaOf(f);
      const b = areaOf(e.to);
      if (a === 'policy' && b === 'config' && !e.typeOnly) offending.push(`${from} -> ${to}`);
      if (a === 'services' && b === 'supervisor') offending.push(`${from} -> ${to}`);
      // The status shapes the supervisor reports are its public surface; anything else is internal.
      if (a === 'api' && b === 'supervisor' && !(e.typeOnly && to === 'supervisor/supervisor')) offending.push(`${from} -> ${to}`);
    }
  }
  t.deepEqual(offending, []);
});
