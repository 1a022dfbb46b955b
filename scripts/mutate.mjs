#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Mutation check: does the suite catch planted faults? (docs/testing.md)
//
// Applies each planted edit of scripts/mutations.json one at a time (an exact
// text replacement in one source file; the text must occur exactly once),
// rebuilds what the file needs (scripts/bootstrap.mjs: the addon and the
// sanitized native tests for C, tsc for TypeScript), runs the test files
// listed for it, and reports caught / survived per mutation. The source is
// restored after each one, on Ctrl-C, and, after a crash, by --restore; a
// final rebuild leaves the build matching the source again. Not part of
// `npm test`: a full run takes about a minute per mutation (C rebuilds).
//
//   node scripts/mutate.mjs                   every mutation
//   node scripts/mutate.mjs --only ID[,ID]    some of them
//   node scripts/mutate.mjs --area rewrite    one area
//   node scripts/mutate.mjs --check           only check that every text is found once
//   node scripts/mutate.mjs --list            list them
//   node scripts/mutate.mjs --restore         put back sources left by a killed run
//   options: --no-baseline (skip the unmutated run of the listed tests), --json FILE
//
// Exit status: 0 when every mutation not marked "pending" is caught; 1 otherwise;
// 2 on a usage error, a text not found, a build failure or a failing baseline.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LIST = join(root, 'scripts', 'mutations.json');
const SAVE = join(root, 'build', 'mutate', 'originals');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function die(msg, code = 2) {
  console.error(`[mutate] error: ${msg}`);
  process.exit(code);
}
function say(msg) {
  console.log(`[mutate] ${msg}`);
}

// ---- the list --------------------------------------------------------------------------
const FIELDS = ['id', 'area', 'file', 'find', 'replace', 'tests', 'why'];
const AREAS = ['rewrite', 'classify', 'counters', 'policy-compile', 'api', 'encap', 'offload', 'rx-check', 'faults', 'capture'];

function loadList() {
  const list = JSON.parse(readFileSync(LIST, 'utf8'));
  if (!Array.isArray(list.mutations)) die(`${relative(root, LIST)}: expected { "mutations": [...] }`);
  const ids = new Set();
  for (const [i, m] of list.mutations.entries()) {
    for (const f of FIELDS) if (m[f] === undefined) die(`${relative(root, LIST)}: mutations[${i}] (${m.id ?? '?'}) has no "${f}"`);
    if (!AREAS.includes(m.area)) die(`mutations[${i}] (${m.id}).area: expected one of ${AREAS.join(', ')}, got "${m.area}"`);
    if (ids.has(m.id)) die(`mutations[${i}].id: "${m.id}" appears twice`);
    ids.add(m.id);
    if (!Array.isArray(m.tests) || m.tests.length === 0) die(`mutations[${i}] (${m.id}).tests: expected a non-empty list of test files`);
    for (const t of m.tests) if (!existsSync(join(root, t))) die(`mutations[${i}] (${m.id}).tests: ${t} does not exist`);
    if (m.find === m.replace) die(`mutations[${i}] (${m.id}): "replace" equals "find"`);
  }
  return list.mutations;
}

function occurrences(text, find) {
  let n = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) n++;
  return n;
}

function checkFinds(muts) {
  const bad = [];
  for (const m of muts) {
    const path = join(root, m.file);
    if (!existsSync(path)) {
      bad.push(`${m.id}: ${m.file} does not exist`);
      continue;
    }
    const n = occurrences(readFileSync(path, 'utf8'), m.find);
    if (n !== 1) bad.push(`${m.id}: the text to replace occurs ${n} times in ${m.file} (expected exactly once):\n    ${JSON.stringify(m.find)}`);
  }
  if (bad.length) die(`planted edits that cannot be applied (the source moved on: update scripts/mutations.json):\n  ${bad.join('\n  ')}`);
}

// ---- sources: save, apply, restore --------------------------------------------------------
function savedFiles() {
  const out = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(SAVE, join(d, e.name)));
    }
  };
  walk(SAVE);
  return out;
}

function restoreAll() {
  const files = savedFiles();
  for (const f of files) {
    writeFileSync(join(root, f), readFileSync(join(SAVE, f)));
    rmSync(join(SAVE, f));
  }
  return files;
}

let active = null;
function apply(m) {
  const path = join(root, m.file);
  const text = readFileSync(path, 'utf8');
  if (occurrences(text, m.find) !== 1) die(`${m.id}: the text to replace is not found exactly once in ${m.file}`);
  const save = join(SAVE, m.file);
  mkdirSync(dirname(save), { recursive: true });
  writeFileSync(save, text);
  active = m.file;
  writeFileSync(path, text.replace(m.find, () => m.replace));
}
function restore() {
  if (active === null) return;
  const save = join(SAVE, active);
  writeFileSync(join(root, active), readFileSync(save));
  rmSync(save);
  active = null;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    restore();
    console.error(`\n[mutate] ${sig}: source restored; the build may hold a mutant until the next bootstrap`);
    process.exit(130);
  });
}

// ---- build and test ----------------------------------------------------------------------
// The native test programs' runners: only they need the sanitized tree (build/sanitize).
const usesSanitized = (m) => m.tests.some((t) => t.startsWith('test/native/') || t === 'test/sim/sim.test.ts');

function build(m) {
  // bootstrap does only what is stale: the addon (and, --for=test, the sanitized native
  // tests) for C, tsc for TypeScript. A mutant whose tests do not run the native test
  // programs skips the sanitized rebuild (the next --for=test build catches up).
  const purpose = m === undefined || usesSanitized(m) ? 'test' : 'start';
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'bootstrap.mjs'), `--for=${purpose}`, '--quiet'], { cwd: root, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const distOf = (t) => t.replace(/^test\//, 'dist/test/').replace(/\.ts$/, '.js');

function runTests(m) {
  // TAP: one 'not ok N - <file> › <title>' line per failed test, easy to read back
  const argv = [join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), '--tap', ...m.tests.map(distOf)];
  for (const pattern of m.match ?? []) argv.push('--match', pattern);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', timeout: 30 * 60_000, env: { ...process.env, FORCE_COLOR: '0' } });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const failed = [...out.matchAll(/^not ok \d+ - (.+)$/gm)].map((x) => x[1].trim().slice(0, 160));
  return { ok: r.status === 0, status: r.status ?? r.signal, failed: [...new Set(failed)], out, secs: (Date.now() - t0) / 1000 };
}

// ---- main ---------------------------------------------------------------------------------
if (args.includes('--help') || args.includes('-h')) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(2, 23).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
if (args.includes('--restore')) {
  const files = restoreAll();
  say(files.length ? `restored ${files.join(', ')}; run node scripts/bootstrap.mjs --for=test to rebuild` : 'nothing to restore');
  process.exit(0);
}
if (savedFiles().length > 0) {
  die(`a previous run left mutated sources (${savedFiles().join(', ')}): run node scripts/mutate.mjs --restore first`);
}

let muts = loadList();
if (opt('--only')) {
  const want = opt('--only').split(',');
  for (const id of want) if (!muts.some((m) => m.id === id)) die(`--only: no mutation "${id}"`);
  muts = muts.filter((m) => want.includes(m.id));
}
if (opt('--area')) {
  if (!AREAS.includes(opt('--area'))) die(`--area: expected one of ${AREAS.join(', ')}`);
  muts = muts.filter((m) => m.area === opt('--area'));
}
if (args.includes('--list')) {
  for (const m of muts) console.log(`${m.id.padEnd(34)} ${m.area.padEnd(15)} ${m.file}${m.pending ? `  [pending: ${m.pending}]` : ''}\n    ${m.why}`);
  process.exit(0);
}
checkFinds(muts);
if (args.includes('--check')) {
  say(`${muts.length} planted edits, each found exactly once`);
  process.exit(0);
}

const b0 = build();
if (!b0.ok) die(`the unmutated tree does not build:\n${b0.out.slice(-3000)}`);
if (!args.includes('--no-baseline')) {
  // Every listed test must pass unmutated, or "caught" would mean nothing.
  const files = [...new Set(muts.flatMap((m) => m.tests))];
  say(`baseline: ${files.length} test files on the unmutated source`);
  const base = runTests({ tests: files });
  if (!base.ok) die(`the baseline fails (${base.failed.join('; ') || `ava exited ${base.status}`}): fix that first\n${base.out.slice(-3000)}`);
  say(`baseline passed in ${base.secs.toFixed(0)} s`);
}

const results = [];
let broken = false;
try {
  for (const [i, m] of muts.entries()) {
    say(`[${i + 1}/${muts.length}] ${m.id} (${m.file})`);
    apply(m);
    const t0 = Date.now();
    const b = build(m);
    let r;
    if (!b.ok) {
      r = { id: m.id, area: m.area, file: m.file, result: 'build-failed', failed: [], detail: b.out.slice(-1500) };
      broken = true;
    } else {
      const t = runTests(m);
      r = { id: m.id, area: m.area, file: m.file, result: t.ok ? 'survived' : 'caught', failed: t.failed };
      if (t.ok === false && t.failed.length === 0) r.detail = t.out.slice(-1500);
    }
    restore();
    r.pending = m.pending;
    r.secs = Math.round((Date.now() - t0) / 1000);
    results.push(r);
    say(`  ${r.result}${r.failed.length ? `: ${r.failed.slice(0, 3).join(' | ')}${r.failed.length > 3 ? ` (+${r.failed.length - 3})` : ''}` : ''} (${r.secs} s)`);
    if (r.result === 'build-failed') console.error(r.detail);
  }
} finally {
  restore();
  say('rebuilding the unmutated tree');
  const b = build();
  if (!b.ok) console.error(`[mutate] warning: the final rebuild failed:\n${b.out.slice(-2000)}`);
}

// ---- report -----------------------------------------------------------------------------
const rows = results.map((r) => `| ${r.id} | ${r.area} | ${r.result}${r.pending ? ` (pending: ${r.pending})` : ''} | ${r.failed.slice(0, 2).join('; ').replace(/\|/g, '\\|')}${r.failed.length > 2 ? ` (+${r.failed.length - 2})` : ''} |`);
console.log(['', '| mutation | area | result | failing tests |', '|---|---|---|---|', ...rows].join('\n'));
const caught = results.filter((r) => r.result === 'caught').length;
const unexpected = results.filter((r) => r.result === 'survived' && !r.pending);
const pendingCaught = results.filter((r) => r.result === 'caught' && r.pending);
console.log(`\n${caught} of ${results.length} caught; ${results.filter((r) => r.result === 'survived').length} survived` +
  ` (${unexpected.length} not marked pending)${broken ? '; some mutants did not build' : ''}`);
if (pendingCaught.length) console.log(`now caught although marked pending (drop "pending"): ${pendingCaught.map((r) => r.id).join(', ')}`);
if (opt('--json')) writeFileSync(opt('--json'), `${JSON.stringify(results, null, 2)}\n`);
process.exit(broken ? 2 : unexpected.length > 0 ? 1 : 0);
