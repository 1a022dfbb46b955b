/**
 * Seeds for randomised tests (docs/testing.md): $ST_TEST_SEED when set, else the
 * test's fixed default, else a fresh one. Tests print the seed they used, so a
 * failing run is repeated with ST_TEST_SEED=<seed>.
 *
 * Not a test file.
 */
import { randomInt } from 'node:crypto';

/**
 * The seed for a randomised run: $ST_TEST_SEED (checked: a number, decimal or 0x...) or a
 * fresh random one. A TS test with its own generator passes its fixed default as `fallback`.
 */
export function testSeed(fallback?: number): number {
  const env = process.env['ST_TEST_SEED'];
  if (env !== undefined && env !== '') {
    const v = Number(env);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`ST_TEST_SEED: expected an unsigned integer (decimal or 0x...), got '${env}'`);
    return v;
  }
  return fallback ?? randomInt(1, 2 ** 31);
}
