#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
/**
 * The "plan" rename (docs/decisions.md, "One meaning per word: the plan
 * rename"): the start plan and the policy report get their own names, only
 * the placement keeps "plan".
 *
 *   node scripts/dev/rename-plan.mjs [--dry-run] [--verbose]
 *
 * Run from the repository root, on a tree that type-checks (or did before
 * a merge brought old names in). In order:
 *   1. files: `git mv` of src/dataplane/compile.ts and
 *      test/dataplane/compile.test.ts, and every import of them;
 *   2. names that mean one thing only (the native start plan's type, its compiler, its C struct, …):
 *      whole-word replacement over src native test bench scripts docs, in code
 *      and comments, never inside string literals of code;
 *   3. TypeScript members and locals whose name is the common word `plan`
 *      (the start plan compiler's result's `plan`, CompiledPolicy.plan, PolicyHost.plan(), locals of
 *      the start plan's type…): by the type checker, through the language
 *      service's rename (so `{ plan }` shorthands keep their wire names), and
 *      uses left dangling by a merge (an old `x.plan` on a StartPlan) by type;
 *   4. C and C++: parameters and locals `plan` of the start plan's struct become
 *      `sp`, and "plan" in comments of the data plane means "start plan".
 *
 * Idempotent: a second run changes nothing. Never touched (wire and API
 * names): ST_ERR_PLAN_INVALID and its texts, the `plan` field of the host
 * protocol's start and prepare messages, of GET /v1/policy and of a policy
 * validation's answer, GET /v1/plan, `shadowtap plan`, the placement plan's
 * names, and every string literal in code. Text between
 * `<!-- rename-plan: off -->` and `<!-- rename-plan: on -->` in docs (the
 * record of this rename) is left as written.
 *
 * The old names are spelt with a `~` in this file so that the check after
 * the rename (grep -rwE over scripts/ too) does not find them here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';

const root = process.cwd();
const dry = process.argv.includes('--dry-run');
const verbose = process.argv.includes('--verbose');
const old = (s) => s.replace(/~/g, '');
const log = (...a) => console.log('[rename-plan]', ...a);

if (!existsSync(join(root, 'tsconfig.json')) || !existsSync(join(root, 'native/dataplane'))) {
  console.error('rename-plan: run from the shadowtap repository root');
  process.exit(2);
}

const AREAS = ['src', 'native', 'test', 'bench', 'scripts', 'docs'];
const TEXT = /\.(ts|mts|mjs|js|json|c|h|cc|hh|cpp|md|txt|cmake|yaml|yml)$/;
const SELF = join('scripts', 'dev', 'rename-plan.mjs');

/** What changed, by file, for the summary. */
const changed = new Map();
const note = (file, what) => {
  const k = relative(root, file);
  changed.set(k, [...(changed.get(k) ?? []), what]);
};

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (TEXT.test(e.name)) out.push(p);
  }
  return out;
}
const files = () => AREAS.filter((a) => existsSync(join(root, a))).flatMap((a) => walk(join(root, a)))
  .filter((f) => relative(root, f) !== SELF);

function write(file, text, what) {
  if (readFileSync(file, 'utf8') === text) return;
  note(file, what);
  if (!dry) writeFileSync(file, text);
}

// ---- 1. files ---------------------------------------------------------------

const MOVES = [
  ['src/dataplane/compile.ts', 'src/dataplane/start-plan.ts'],
  ['test/dataplane/compile.test.ts', 'test/dataplane/start-plan.test.ts'],
];

for (const [from, to] of MOVES) {
  const a = join(root, from);
  const b = join(root, to);
  if (existsSync(a) && existsSync(b)) {
    console.error(`rename-plan: both ${from} and ${to} exist (a merge brought the old file back?): fold ${from} into ${to} by hand, then run again`);
    process.exit(1);
  }
  if (existsSync(a)) {
    note(a, `git mv → ${to}`);
    if (!dry) execFileSync('git', ['mv', from, to], { cwd: root, stdio: 'inherit' });
  }
}

/** Imports that resolve to a moved file, rewritten to the new one (relative, .js as written). */
function fixImports(file, text) {
  if (!/\.(ts|mts|mjs|js)$/.test(file)) return text;
  return text.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\2/g, (m, pre, q, spec) => {
    const abs = resolve(dirname(file), spec);
    for (const [from, to] of MOVES) {
      const fromJs = join(root, from).replace(/\.ts$/, '.js');
      if (abs === fromJs || abs === join(root, from)) {
        let rel = relative(dirname(file), join(root, to)).split(sep).join('/').replace(/\.ts$/, spec.endsWith('.ts') ? '.ts' : '.js');
        if (!rel.startsWith('.')) rel = `./${rel}`;
        return `${pre}${q}${rel}${q}`;
      }
    }
    return m;
  });
}

// ---- 2. names that mean one thing ---------------------------------------------

/** [old, new, where]: where 'all' (code and comments of every area), 'native' (C/C++ files only). */
const WORDS = [
  ['Native~Plan', 'NativeStartPlan', 'all'],
  ['Compiled~Plan', 'StartPlan', 'all'],
  ['compile~Plan', 'compileStartPlan', 'all'],
  ['Policy~PlanSchema', 'PolicyReportSchema', 'all'],
  ['Policy~Plan', 'PolicyReport', 'all'],
  ['plan~Lines', 'reportLines', 'all'],
  ['st_pl~an_check', 'st_start_plan_check', 'all'],
  ['st_policy_from~_plan', 'st_policy_from_start_plan', 'all'],
  ['st~_plan', 'st_start_plan', 'all'],
  ['port_plan~_queues', 'port_start_plan_queues', 'native'],
  ['plan~_invalid', 'start_plan_invalid', 'native'],
  ['Copy~Plan', 'CopyStartPlan', 'all'],
  ['Throw~Plan', 'ThrowInvalid', 'all'],
  ['main~_plan', 'main_start_plan', 'native'],
  ['policy~_plan', 'policy_start_plan', 'native'],
  ['g_p~plan', 'g_policy_start_plan', 'native'],
].map(([o, n, where]) => ({ re: new RegExp(`(?<![\\w$])${old(o)}(?![\\w$])`, 'g'), to: n, where }));

/** Paths named in text (docs, comments). */
const PATHS = [
  [/\bsrc\/dataplane\/compile\.ts\b/g, 'src/dataplane/start-plan.ts'],
  [/\btest\/dataplane\/compile\.test\.ts\b/g, 'test/dataplane/start-plan.test.ts'],
  [/(?<![\w/])dataplane\/compile\.ts\b/g, 'dataplane/start-plan.ts'],
];

const isNative = (f) => /\.(c|h|cc|hh|cpp)$/.test(f);
const isCode = (f) => /\.(ts|mts|mjs|js|c|h|cc|hh|cpp)$/.test(f);

/**
 * Regions of a source file: code, comment or string. Enough of C, C++ and
 * TypeScript for renames: // and block comments, '…', "…" and `…` (template
 * literals whole, their ${} included: no old name lives there).
 */
function regions(text, ts) {
  const out = [];
  let i = 0;
  let start = 0;
  let kind = 'code';
  const push = (end, k) => {
    if (end > start) out.push({ kind, text: text.slice(start, end) });
    start = end;
    kind = k;
  };
  while (i < text.length) {
    const c = text[i];
    const d = text[i + 1];
    if (c === '/' && d === '/') {
      push(i, 'comment');
      const e = text.indexOf('\n', i);
      i = e < 0 ? text.length : e;
      push(i, 'code');
    } else if (c === '/' && d === '*') {
      push(i, 'comment');
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? text.length : e + 2;
      push(i, 'code');
    } else if (c === '"' || c === "'" || (ts && c === '`')) {
      // a ' in C++ digit separators or TS regex literals is rare in these files; strings end at their quote
      push(i, 'string');
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') i++;
        else if (c !== '`' && text[i] === '\n') break;
        i++;
      }
      i++;
      push(Math.min(i, text.length), 'code');
    } else i++;
  }
  push(text.length, 'code');
  return out;
}

/** Apply fn to each region of `kinds`; the rest as it was. */
function mapRegions(text, ts, kinds, fn) {
  return regions(text, ts).map((r) => (kinds.includes(r.kind) ? fn(r.text) : r.text)).join('');
}

/** Docs: everything outside the marked record. */
function mapDoc(text, fn) {
  return text.split(/(<!-- rename-plan: off -->[\s\S]*?<!-- rename-plan: on -->)/).map((part, i) => (i % 2 ? part : fn(part))).join('');
}

function words(text, native) {
  let t = text;
  for (const w of WORDS) if (w.where === 'all' || native) t = t.replace(w.re, w.to);
  return t;
}
function paths(text) {
  let t = text;
  for (const [re, to] of PATHS) t = t.replace(re, to);
  return t;
}

for (const f of files()) {
  const text = readFileSync(f, 'utf8');
  let next;
  if (isCode(f)) {
    const ts = !isNative(f);
    next = mapRegions(fixImports(f, text), ts, ['code', 'comment'], (t) => words(t, !ts));
    next = mapRegions(next, ts, ['comment'], paths);
  } else if (f.endsWith('.md')) {
    next = mapDoc(text, (t) => paths(words(t, true)));
  } else next = text; // json, cmake, yaml: no old name lives there today
  write(f, next, 'names');
}

// ---- 3. TypeScript: the word `plan` where it means the start plan or the report

const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');

function languageService() {
  const cfg = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const texts = new Map();
  const versions = new Map();
  const names = cfg.fileNames.filter((f) => !f.includes('/node_modules/'));
  const host = {
    getScriptFileNames: () => names,
    getScriptVersion: (f) => String(versions.get(f) ?? 0),
    getScriptSnapshot: (f) => {
      if (!texts.has(f)) {
        if (!existsSync(f)) return undefined;
        texts.set(f, readFileSync(f, 'utf8'));
      }
      return ts.ScriptSnapshot.fromString(texts.get(f));
    },
    getCurrentDirectory: () => root,
    getCompilationSettings: () => ({ ...cfg.options, noEmit: true, incremental: false }),
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  const ls = ts.createLanguageService(host, ts.createDocumentRegistry());
  return {
    ls,
    names,
    text: (f) => (texts.has(f) ? texts.get(f) : readFileSync(f, 'utf8')),
    set(f, t) {
      texts.set(f, t);
      versions.set(f, (versions.get(f) ?? 0) + 1);
    },
  };
}

/** The name of a type as written in the tree (its alias or its symbol), apparent type first. */
function typeName(checker, type) {
  if (!type) return '';
  const t = checker.getNonNullableType(type);
  const sym = t.aliasSymbol ?? t.getSymbol();
  return sym ? sym.getName() : '';
}

const START_PLAN_TYPES = new Set([old('Native~Plan'), 'NativeStartPlan']);
const START_PLAN_RESULT = new Set([old('Compiled~Plan'), 'StartPlan']);

/**
 * Rename targets in the program as it is now: [file, position of the name, new name].
 * Declarations only (their uses follow through the language service).
 */
function targets(svc) {
  const program = svc.ls.getProgram();
  const checker = program.getTypeChecker();
  const out = [];
  const mine = (sf) => !sf.isDeclarationFile && !sf.fileName.includes('/node_modules/') && svc.names.includes(sf.fileName);
  for (const sf of program.getSourceFiles()) {
    if (!mine(sf)) continue;
    const rel = relative(root, sf.fileName);
    const visit = (node) => {
      // (the old name of StartPlan).plan → StartPlan.native; CompiledPolicy.plan → CompiledPolicy.report
      if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) {
        const owner = node.name.text;
        const members = ts.isInterfaceDeclaration(node) ? node.members : ts.isTypeLiteralNode(node.type) ? node.type.members : [];
        for (const m of members) {
          if (!m.name || !ts.isIdentifier(m.name) || m.name.text !== 'plan') continue;
          if (START_PLAN_RESULT.has(owner) && /^src\/dataplane\/(compile|start-plan)\.ts$/.test(rel)) out.push([sf, m.name, 'native', `${owner}.plan`]);
          if (owner === 'CompiledPolicy' && rel === 'src/policy/compile.ts') out.push([sf, m.name, 'report', `${owner}.plan`]);
        }
        // CompileOptions of the start-plan compiler
        if (owner === 'CompileOptions' && /^src\/dataplane\/(compile|start-plan)\.ts$/.test(rel)) out.push([sf, node.name, 'StartPlanOptions', owner]);
      }
      // ruleSlotOwners(plan) → ruleSlotOwners(report)
      if (ts.isFunctionDeclaration(node) && node.name?.text === 'ruleSlotOwners') {
        for (const p of node.parameters) if (ts.isIdentifier(p.name) && p.name.text === 'plan') out.push([sf, p.name, 'report', 'ruleSlotOwners(plan)']);
      }
      // methods plan() that return the start plan (PolicyHost, HostUnderTest) → startPlan()
      if ((ts.isMethodDeclaration(node) || ts.isMethodSignature(node)) && ts.isIdentifier(node.name) && node.name.text === 'plan') {
        const sig = checker.getSignatureFromDeclaration(node);
        if (sig && START_PLAN_TYPES.has(typeName(checker, checker.getReturnTypeOfSignature(sig)))) out.push([sf, node.name, 'startPlan', 'plan()']);
      }
      // locals and parameters named plan that hold the start plan → startPlan
      if ((ts.isVariableDeclaration(node) || ts.isParameter(node) || ts.isBindingElement(node)) && ts.isIdentifier(node.name) && node.name.text === 'plan') {
        const type = checker.getTypeAtLocation(node.name);
        if (START_PLAN_TYPES.has(typeName(checker, type))) out.push([sf, node.name, 'startPlan', 'local plan']);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

/**
 * Uses a merge left dangling: `x.plan` (or `{ plan } = x`) where x is a
 * StartPlan, a CompiledPolicy or a test host whose member is renamed already.
 */
function dangling(svc) {
  const program = svc.ls.getProgram();
  const checker = program.getTypeChecker();
  const out = [];
  const renamedTo = (type) => {
    const name = typeName(checker, type);
    const has = (p) => checker.getPropertyOfType(checker.getNonNullableType(type), p) !== undefined;
    if (has('plan')) return null;
    if (START_PLAN_RESULT.has(name) && has('native')) return 'native';
    if (name === 'CompiledPolicy' && has('report')) return 'report';
    if (has('startPlan')) return 'startPlan';
    return null;
  };
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !svc.names.includes(sf.fileName)) continue;
    const visit = (node) => {
      if (ts.isPropertyAccessExpression(node) && node.name.text === 'plan') {
        const to = renamedTo(checker.getTypeAtLocation(node.expression));
        if (to) out.push({ sf, start: node.name.getStart(sf), end: node.name.end, text: to });
      }
      if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent) && ts.isVariableDeclaration(node.parent.parent) && node.parent.parent.initializer) {
        const key = node.propertyName ?? node.name;
        if (ts.isIdentifier(key) && key.text === 'plan') {
          const to = renamedTo(checker.getTypeAtLocation(node.parent.parent.initializer));
          if (to) out.push({ sf, start: key.getStart(sf), end: key.end, text: node.propertyName ? to : `${to}: plan` });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

/** Apply edits (per file, non-overlapping after merging same-span renames). */
function apply(svc, edits) {
  const byFile = new Map();
  for (const e of edits) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  for (const [file, list] of byFile) {
    // Same span twice: a shorthand `{ plan }` renamed as a property (suffix ": plan")
    // and as a local (prefix "plan: "): property name from the one, local from the other.
    const spans = new Map();
    for (const e of list) spans.set(`${e.start}:${e.end}`, [...(spans.get(`${e.start}:${e.end}`) ?? []), e]);
    const merged = [...spans.values()].map((same) => {
      if (same.length === 1) return same[0];
      const prop = same.find((e) => e.suffix)?.newName;
      const local = same.find((e) => e.prefix)?.newName;
      const first = same[0];
      return { ...first, text: `${prop ?? 'plan'}: ${local ?? 'plan'}` };
    }).sort((a, b) => b.start - a.start);
    let text = svc.text(file);
    let lastStart = Infinity;
    for (const e of merged) {
      if (e.end > lastStart) throw new Error(`overlapping renames in ${relative(root, file)} at ${e.start}`);
      text = text.slice(0, e.start) + e.text + text.slice(e.end);
      lastStart = e.start;
    }
    svc.set(file, text);
    write(file, text, 'TypeScript members and locals');
  }
}

function tsPass() {
  const svc = languageService();
  for (let round = 0; round < 6; round++) {
    const found = targets(svc);
    const edits = [];
    for (const [sf, name, newName, what] of found) {
      const locs = svc.ls.findRenameLocations(sf.fileName, name.getStart(sf), false, false, { providePrefixAndSuffixTextForRename: true }) ?? [];
      if (verbose) log(`${relative(root, sf.fileName)}: ${what} → ${newName}: ${locs.length} places`);
      for (const l of locs) {
        const prefix = l.prefixText ?? '';
        const suffix = l.suffixText ?? '';
        edits.push({ file: l.fileName, start: l.textSpan.start, end: l.textSpan.start + l.textSpan.length, text: `${prefix}${newName}${suffix}`, prefix, suffix, newName });
      }
    }
    // de-duplicate (two targets can reach the same place: a parameter and its shorthand)
    const seen = new Set();
    const unique = edits.filter((e) => {
      const k = `${e.file}:${e.start}:${e.end}:${e.text}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const loose = dangling(svc).map((d) => ({ file: d.sf.fileName, start: d.start, end: d.end, text: d.text }));
    if (unique.length === 0 && loose.length === 0) return;
    // One kind at a time: declarations (with their uses) first, dangling uses after a fresh look.
    apply(svc, unique.length ? unique : loose);
  }
  throw new Error('the TypeScript renames did not settle in 6 rounds');
}

tsPass();

// ---- 4. C and C++: `plan` of the start plan's struct type → sp; "plan" in comments → "start plan"

/** Top-level chunks of C/C++ code (a definition with its braces, or a statement to its `;`), as [start, end). */
function chunks(text) {
  const regs = regions(text, false);
  const out = [];
  let pos = 0;
  let depth = 0;
  let start = 0;
  for (const r of regs) {
    if (r.kind === 'code') {
      for (let i = 0; i < r.text.length; i++) {
        const c = r.text[i];
        if (c === '{') depth++;
        else if (c === '}') {
          depth--;
          if (depth === 0) {
            out.push([start, pos + i + 1]);
            start = pos + i + 1;
          }
        } else if (c === ';' && depth === 0) {
          out.push([start, pos + i + 1]);
          start = pos + i + 1;
        }
      }
    }
    pos += r.text.length;
  }
  out.push([start, text.length]);
  return out;
}

const PLAN_DECL = /\bst_(?:start_)?plan\s*>?\s*(?:\*\s*)?(?:const\s+)?\bplan\b|\bauto\s+plan\s*=\s*std::make_unique<st_(?:start_)?plan>/;
const PLAN_USE = /(?<![\w$.>:])plan(?![\w$])/g; // not a member (.plan, ->plan, ::plan)

function nativeLocals(file, text) {
  let out = '';
  for (const [a, b] of chunks(text)) {
    const chunk = text.slice(a, b);
    const code = regions(chunk, false).filter((r) => r.kind === 'code').map((r) => r.text).join(' ');
    // a struct's member `plan` (the running start plan in dp.h) keeps its name: only parameters and locals
    const head = code.replace(/^\s*#.*$/gm, '').trimStart();
    const isType = /^(typedef\s+)?(struct|union|enum)\b[^({;]*\{/.test(head);
    if (isType || !PLAN_DECL.test(code)) {
      out += chunk;
      continue;
    }
    if (/(?<![\w$.>:])sp(?![\w$])/.test(code)) throw new Error(`${relative(root, file)}: a chunk declares a start plan 'plan' and already uses 'sp': rename by hand`);
    out += mapRegions(chunk, false, ['code'], (t) => t.replace(PLAN_USE, 'sp'));
  }
  return out;
}

/** Where "plan" in a comment means the start plan: the data plane's files, not the emulated NIC's or rte_flow's. */
const COMMENT_FILES = /^native\/(dataplane\/(st_dataplane\.h|pipeline\.h|core\/|policy\/|stages\/)|binding\/(addon|binding\.h|lifecycle|reader|policy)|test\/rewrite_test|fuzz\/fuzz_rewrite)/;
const COMMENT_PLAN = /(?<![\w-])(?<!start )(?<!placement )plan(s?)(?![\w-])/g;

for (const f of files()) {
  if (!isNative(f)) continue;
  const text = readFileSync(f, 'utf8');
  let next = nativeLocals(f, text);
  if (COMMENT_FILES.test(relative(root, f))) {
    next = mapRegions(next, false, ['comment'], (t) => t.replace(COMMENT_PLAN, 'start plan$1'));
  }
  write(f, next, 'C: plan → sp, comments');
}

// ---- summary ---------------------------------------------------------------

if (changed.size === 0) log('nothing to rename: the tree already uses the new names');
else {
  for (const [f, what] of [...changed].sort()) log(`${dry ? 'would change' : 'changed'} ${f}: ${[...new Set(what)].join('; ')}`);
  log(`${changed.size} file${changed.size === 1 ? '' : 's'} ${dry ? 'would change' : 'changed'}`);
}
