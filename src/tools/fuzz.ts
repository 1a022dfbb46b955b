/**
 * Builds and runs the libFuzzer targets of native/fuzz (docs/reliability.md,
 * "Fuzzing"). Used by the bounded run in `npm test` (test/native/fuzz.test.ts)
 * and by the long run:
 *
 *   npm run fuzz -- [--minutes=30] [--targets=rewrite,encap] [--corpus=DIR]
 *
 * The long run keeps a corpus per target under --corpus (default
 * build/fuzz/corpus/<target>, seeded by fuzz-seeds.ts) so that every run
 * starts where the last one stopped; the minutes are shared between the
 * targets, one at a time (one core each). Crashing inputs are written to
 * build/fuzz/artifacts/<target>/; a fixed crash becomes a regression input
 * under native/fuzz/regressions/<target>/, replayed by every test run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { seedFrames, writeCorpus } from './fuzz-seeds.js';

/** One per native/fuzz/fuzz_<name>.c */
export const FUZZ_TARGETS = ['classify', 'copy_len', 'rewrite', 'encap', 'routing', 'dns'] as const;
export type FuzzTarget = (typeof FUZZ_TARGETS)[number];

/** The checkout: dist/src/tools/fuzz.js or src/tools/fuzz.ts, three or two levels up. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'native', 'fuzz', 'CMakeLists.txt'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('native/fuzz/CMakeLists.txt not found above this module: not a shadowtap checkout');
}
export const ROOT = findRoot();
export const FUZZ_BUILD_DIR = join(ROOT, 'build', 'fuzz');
export const REGRESSIONS_DIR = join(ROOT, 'native', 'fuzz', 'regressions');

export function fuzzBinary(target: FuzzTarget, buildDir = FUZZ_BUILD_DIR): string {
  return join(buildDir, `fuzz_${target}`);
}

/** Configure (once) and build the targets with clang; throws with the compiler's output on failure. */
export function buildFuzzTargets(buildDir = FUZZ_BUILD_DIR): void {
  const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  if (clang.error || clang.status !== 0) {
    throw new Error('clang not found: the fuzz targets need Debian\'s clang and libclang-rt-14-dev ' +
      '(node scripts/bootstrap.mjs --for=test installs them)');
  }
  const run = (args: string[]): void => {
    const r = spawnSync('cmake', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error || r.status !== 0) {
      throw new Error(`cmake ${args.join(' ')} failed (${r.error?.message ?? r.status}):\n${`${r.stdout}\n${r.stderr}`.slice(-4000)}`);
    }
  };
  if (!existsSync(join(buildDir, 'CMakeCache.txt'))) {
    run(['-S', join(ROOT, 'native', 'fuzz'), '-B', buildDir, '-DCMAKE_C_COMPILER=clang']);
  }
  run(['--build', buildDir, '-j2']);
}

export interface FuzzStats {
  target: FuzzTarget;
  /** exit code or signal of the fuzzer */
  exit: number | string;
  crashed: boolean;
  /** executions (stat::number_of_executed_units) */
  execs: number;
  execsPerSec: number;
  /** coverage after loading the seeds (INITED line) and at the end */
  initCov: number;
  initFt: number;
  cov: number;
  ft: number;
  corpus: number;
  newUnits: number;
  peakRssMb: number;
  seconds: number;
  /** crash, leak, timeout or OOM inputs written */
  artifacts: string[];
  /** the sanitizer's or the invariant's report, when it crashed */
  report: string;
  log: string;
}

export interface FuzzRunOptions {
  target: FuzzTarget;
  /** written to: new inputs land in the first directory */
  corpus: string;
  /** read only: more seed directories */
  extraCorpora?: string[];
  seconds: number;
  artifactDir: string;
  logFile: string;
  buildDir?: string;
  /** per-input limit, seconds */
  timeout?: number;
  /** libFuzzer's -seed (0: from the clock) */
  seed?: number;
}

/** ASan: abort (not exit) so the report ends the run the same way as UBSan and the invariants. */
function fuzzEnv(prefix: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ST_FUZZ_EAL_PREFIX: prefix,
    ASAN_OPTIONS: 'abort_on_error=1:detect_leaks=1:symbolize=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  };
}

const num = (re: RegExp, s: string): number => {
  const m = re.exec(s);
  return m === null ? NaN : Number(m[1]);
};

function lastMatch(re: RegExp, s: string): RegExpExecArray | null {
  let last: RegExpExecArray | null = null;
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  for (let m = g.exec(s); m !== null; m = g.exec(s)) last = m;
  return last;
}

/** The report libFuzzer and the sanitizers print for a crash, from its first line. */
function crashReport(log: string): string {
  const starts = [/^==\d+==ERROR: /m, /^.*runtime error: /m, /^fuzz invariant failed/m, /^==\d+== ERROR: libFuzzer/m];
  let at = -1;
  for (const re of starts) {
    const m = re.exec(log);
    if (m !== null && (at < 0 || m.index < at)) at = m.index;
  }
  return at < 0 ? log.slice(-3000) : log.slice(at, at + 6000);
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, limitMs: number): Promise<number | string> {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'w');
  return new Promise((resolveRun, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', fd, fd] });
    // libFuzzer stops itself at -max_total_time; this only guards a hang.
    const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', (e) => {
      clearTimeout(guard);
      closeSync(fd);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      closeSync(fd);
      resolveRun(code ?? signal ?? 'unknown');
    });
  });
}

/** Fuzz one target for a bounded time. */
export async function runFuzzer(o: FuzzRunOptions): Promise<FuzzStats> {
  const bin = fuzzBinary(o.target, o.buildDir);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build the fuzz targets first (buildFuzzTargets)`);
  mkdirSync(o.corpus, { recursive: true });
  mkdirSync(o.artifactDir, { recursive: true });
  const before = new Set(readdirSync(o.artifactDir));
  const prefix = `st-fuzz-${process.pid}-${o.target}`;
  const args = [
    `-max_total_time=${o.seconds}`,
    `-timeout=${o.timeout ?? 10}`,
    '-rss_limit_mb=3072',
    '-max_len=4096',
    '-print_final_stats=1',
    `-seed=${o.seed ?? 0}`,
    `-artifact_prefix=${o.artifactDir}/`,
    o.corpus,
    ...(o.extraCorpora ?? []).filter((d) => existsSync(d)),
  ];
  const t0 = Date.now();
  let exit: number | string;
  try {
    exit = await run(bin, args, fuzzEnv(prefix), o.logFile, (o.seconds + 120) * 1000);
  } finally {
    rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
  }
  const log = readFileSync(o.logFile, 'utf8');
  const inited = /INITED cov: (\d+) ft: (\d+)/.exec(log);
  const done = lastMatch(/#(\d+)\s+(?:DONE|NEW|REDUCE|pulse|INITED)\s+cov: (\d+) ft: (\d+) corp: (\d+)/, log);
  const artifacts = readdirSync(o.artifactDir).filter((f) => !before.has(f)).map((f) => join(o.artifactDir, f));
  const crashed = exit !== 0 || artifacts.length > 0;
  return {
    target: o.target,
    exit,
    crashed,
    execs: num(/stat::number_of_executed_units:\s*(\d+)/, log) || Number(done?.[1] ?? NaN),
    execsPerSec: num(/stat::average_exec_per_sec:\s*(\d+)/, log),
    initCov: Number(inited?.[1] ?? NaN),
    initFt: Number(inited?.[2] ?? NaN),
    cov: Number(done?.[2] ?? NaN),
    ft: Number(done?.[3] ?? NaN),
    corpus: Number(done?.[4] ?? NaN),
    newUnits: num(/stat::new_units_added:\s*(\d+)/, log),
    peakRssMb: num(/stat::peak_rss_mb:\s*(\d+)/, log),
    seconds: (Date.now() - t0) / 1000,
    artifacts,
    report: crashed ? crashReport(log) : '',
    log: o.logFile,
  };
}

export interface ReplayResult {
  target: FuzzTarget;
  files: string[];
  exit: number | string;
  report: string;
}

/** Run each regression input of a target once (libFuzzer with file arguments); exit 0 = none crashes. */
export async function replayRegressions(target: FuzzTarget, logFile: string, buildDir = FUZZ_BUILD_DIR): Promise<ReplayResult> {
  const dir = join(REGRESSIONS_DIR, target);
  const files = existsSync(dir)
    ? readdirSync(dir).filter((f) => !f.startsWith('.') && !f.endsWith('.md')).sort().map((f) => join(dir, f))
    : [];
  if (files.length === 0) return { target, files, exit: 0, report: '' };
  const prefix = `st-fuzz-${process.pid}-${target}-replay`;
  let exit: number | string;
  try {
    exit = await run(fuzzBinary(target, buildDir), files, fuzzEnv(prefix), logFile, 120_000);
  } finally {
    rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
  }
  const log = readFileSync(logFile, 'utf8');
  return { target, files, exit, report: exit === 0 ? '' : crashReport(log) };
}

/** One line for a log: executions and coverage. */
export function summary(s: FuzzStats): string {
  return `${s.target}: ${s.execs} executions in ${s.seconds.toFixed(0)} s (${s.execsPerSec}/s), ` +
    `cov ${s.initCov} -> ${s.cov} edges, ft ${s.initFt} -> ${s.ft} features, corpus ${s.corpus} (+${s.newUnits}), ` +
    `peak RSS ${s.peakRssMb} MB, exit ${s.exit}${s.crashed ? `, CRASH: ${s.artifacts.join(' ')}` : ''}`;
}

// ---- the long run -------------------------------------------------------------

function parseArgs(argv: string[]): { minutes: number; targets: FuzzTarget[]; corpus: string } {
  let minutes = 30;
  let targets: FuzzTarget[] = [...FUZZ_TARGETS];
  let corpus = join(FUZZ_BUILD_DIR, 'corpus');
  for (const a of argv) {
    const [k, v = ''] = a.split('=', 2);
    if (k === '--minutes') {
      minutes = Number(v);
      if (!Number.isFinite(minutes) || minutes <= 0) throw new Error(`--minutes: expected a positive number, got "${v}"`);
    } else if (k === '--targets') {
      const names = v.split(',').filter((x) => x !== '');
      const bad = names.filter((x) => !(FUZZ_TARGETS as readonly string[]).includes(x));
      if (names.length === 0 || bad.length > 0) {
        throw new Error(`--targets: expected a comma-separated list of ${FUZZ_TARGETS.join(', ')}; got "${v}"`);
      }
      targets = names as FuzzTarget[];
    } else if (k === '--corpus') {
      if (v === '') throw new Error('--corpus: expected a directory');
      corpus = resolve(v);
    } else {
      throw new Error(`unknown argument "${a}": expected --minutes=N, --targets=a,b or --corpus=DIR`);
    }
  }
  return { minutes, targets, corpus };
}

async function main(argv: string[]): Promise<number> {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`fuzz: ${(e as Error).message}\n`);
    return 2;
  }
  process.stdout.write(`fuzz: building ${FUZZ_BUILD_DIR}\n`);
  buildFuzzTargets();
  const seconds = Math.max(10, Math.floor((o.minutes * 60) / o.targets.length));
  let failed = 0;
  for (const target of o.targets) {
    const rep = await replayRegressions(target, join(FUZZ_BUILD_DIR, 'logs', `${target}-replay.log`));
    if (rep.exit !== 0) {
      process.stdout.write(`fuzz: ${target}: a regression input crashes again (exit ${rep.exit}):\n${rep.report}\n`);
      failed++;
      continue;
    }
    const corpus = join(o.corpus, target);
    const seeded = writeCorpus(corpus, target, seedFrames());
    process.stdout.write(`fuzz: ${target}: ${seconds} s, corpus ${corpus} (${seeded} seeds written or refreshed)\n`);
    const s = await runFuzzer({
      target,
      corpus,
      extraCorpora: [join(REGRESSIONS_DIR, target)],
      seconds,
      artifactDir: join(FUZZ_BUILD_DIR, 'artifacts', target),
      logFile: join(FUZZ_BUILD_DIR, 'logs', `${target}.log`),
    });
    process.stdout.write(`fuzz: ${summary(s)}\n`);
    if (s.crashed) {
      failed++;
      process.stdout.write(`${s.report}\n` +
        `fuzz: reproduce with ${fuzzBinary(target)} ${s.artifacts[0] ?? ''}; once fixed, copy the input to ` +
        `native/fuzz/regressions/${target}/ so every test run replays it\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`fuzz: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
