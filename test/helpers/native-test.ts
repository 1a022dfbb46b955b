/**
 * Runs the standalone C tests of the data plane (native/test/*_test.c) and
 * reads their verdict: exit status, the "N passed, M failed" line, the seed
 * and the "sanitizers:" line each prints first.
 *
 * Each test exists twice: the plain build (build/, the optimised objects the
 * addon uses) and the sanitized build (build/sanitize/, every object built
 * with -fsanitize=address,undefined -fno-sanitize-recover=all by
 * scripts/bootstrap.mjs --for=test). A sanitizer report aborts the sanitized
 * run with a non-zero status, so an out-of-bounds access or undefined
 * behaviour fails the test (docs/testing.md).
 *
 * Seeds: ST_TEST_SEED when set, else a fresh one per run; always printed by
 * the C program and put in every failure message, so that a failing run is
 * repeated with ST_TEST_SEED=<seed> npx ava <file>.
 *
 * Not a test file.
 */
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { testSeed } from './seed.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The plain build: cmake-js's tree. */
export const PLAIN_BUILD = join(ROOT, 'build');
/** The sanitized build of the native tests ($ST_SANITIZE_BUILD_DIR moves it). */
export const SANITIZED_BUILD = process.env['ST_SANITIZE_BUILD_DIR'] ?? join(ROOT, 'build', 'sanitize');

export type Variant = 'plain' | 'sanitized';
export const VARIANTS: readonly Variant[] = ['plain', 'sanitized'];

/** Where a native test binary is, by its path under the build directory (e.g. 'sim/st_sim_test'). */
export function nativeBin(variant: Variant, rel: string): string {
  return join(variant === 'plain' ? PLAIN_BUILD : SANITIZED_BUILD, rel);
}

/**
 * Sanitizer settings: stop at the first report with a non-zero status (the
 * -fno-sanitize-recover=all build aborts on undefined behaviour already), leaks
 * included, with stacks for the report.
 */
const SANITIZER_ENV = {
  ASAN_OPTIONS: 'halt_on_error=1:detect_leaks=1:abort_on_error=0:exitcode=86:print_summary=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1:exitcode=87',
};

export interface NativeRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  /** stdout then stderr */
  out: string;
  passed: number;
  failed: number;
  /** the sanitizers the binary says it was built with */
  sanitizers: string[];
  /** the seed the binary printed, as printed (0x...) */
  seed: string | undefined;
}

export function runNativeTest(bin: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): NativeRun {
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, ...SANITIZER_ENV, ...opts.env },
  });
  if (r.error) throw new Error(`${bin} could not run: ${r.error.message}`);
  const out = `${r.stdout}\n${r.stderr}`;
  const sum = /(\d+) passed, (\d+) failed/.exec(out);
  const san = /^sanitizers:(.*)$/m.exec(out);
  return {
    status: r.status,
    signal: r.signal,
    out,
    passed: sum ? Number(sum[1]) : -1,
    failed: sum ? Number(sum[2]) : -1,
    sanitizers: san ? san[1]!.trim().split(/\s+/).filter((s) => s !== '') : [],
    seed: /^seed (0x[0-9a-f]+)$/m.exec(out)?.[1],
  };
}

/**
 * The common verdict: the binary exists (a missing build fails loudly), exited 0 with
 * no failed check and at least `minChecks` passed ones, and carries the sanitizers its
 * variant promises. Returns the run for test-specific checks, or undefined when the binary
 * is missing (already failed).
 */
export function checkNativeRun(
  t: ExecutionContext,
  variant: Variant,
  bin: string,
  args: string[],
  minChecks: number,
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): NativeRun | undefined {
  const rel = basename(bin);
  if (!existsSync(bin)) {
    t.fail(`${bin} is missing: the ${variant} build did not produce it (run node scripts/bootstrap.mjs --for=test)`);
    return undefined;
  }
  const r = runNativeTest(bin, args, opts);
  const tail = r.out.slice(-4000);
  const what = r.seed === undefined ? `${rel} (${variant})` : `${rel} (${variant}, seed ${r.seed}; repeat with ST_TEST_SEED=${r.seed})`;
  t.log(`${what}: ${r.passed} passed, ${r.failed} failed, sanitizers [${r.sanitizers.join(' ')}]`);
  t.is(r.status, 0, `${what} exited with ${r.status ?? r.signal}:\n${tail}`);
  t.true(r.passed >= minChecks, `${what}: only ${r.passed} checks ran (at least ${minChecks} expected):\n${tail}`);
  t.is(r.failed, 0, `${what}:\n${tail}`);
  t.deepEqual(r.sanitizers, variant === 'sanitized' ? ['address', 'undefined'] : [],
    `${what}: the binary's sanitizers`);
  return r;
}
