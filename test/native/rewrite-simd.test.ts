/**
 * Runs the standalone C test of the rewrite's burst path
 * (native/test/rewrite_simd_test.c), plain and sanitized: random bursts of
 * random frames through every burst variant this CPU runs (generic, and AVX2
 * when the CPU has it), for mask-compare, rte_lpm, no-map and
 * control-plane-aware tables, each frame compared byte for byte with the
 * per-frame path (which rewrite_test.c holds to a reference translator) and
 * the variants with each other.
 */
import test from 'ava';
import { checkNativeRun, nativeBin, testSeed, VARIANTS } from '../helpers/native-test.js';

const SEED = testSeed();

for (const variant of VARIANTS) {
  test(`native rewrite burst path (${variant}): every variant leaves the per-frame path's bytes`, (t) => {
    const r = checkNativeRun(t, variant, nativeBin(variant, 'st_rewrite_simd_test'), [String(SEED), '400'], 20_000);
    if (!r) return;
    // each table shape ran and put a share of its frames on the burst path
    for (const shape of ['one16', 'nested4', 'zero-host', 'lpm7', 'nomap-mirror', 'one16-mirror', 'cp-aware']) {
      t.regex(r.out, new RegExp(`^${shape}: \\d+ frames, [1-9]\\d* on the burst path`, 'm'), shape);
    }
    t.regex(r.out, /^variants: generic( avx2)?$/m);
  });
}
