/**
 * Runs the standalone C test of the impair stage (native/test/impair_test.c,
 * built by CMake as build/st_impair_test): the fault table's checks (every
 * bad description refused naming its field), and the stage on synthetic
 * mbufs from a --no-huge mempool under an event-driven clock: random,
 * correlated, Gilbert-Elliott and 4-state loss rates, GE burst lengths
 * (chi-square), delay median/p99/jitter sd within 5 % and lag-1
 * autocorrelation within 0.05 for normal, uniform, pareto and a custom
 * table, order kept or netem-style reordering jitter through the timing
 * wheel, corruption bit for bit, duplication, reorder with gap, shaping,
 * cells, policing, slotting, matching, ECN marking, limits, swaps, and
 * byte-identical output for one seed across burst splits. Each run takes a
 * new seed (printed): the statistical bounds hold for any seed with
 * probability above 1 - 1e-6 each.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../build/st_impair_test', import.meta.url));

test('native impair stage: statistics, order, determinism and bad descriptions', (t) => {
  t.true(existsSync(bin), `${bin} is missing: the CMake build did not produce st_impair_test`);
  const seed = String(Date.now() % 1_000_000_007);
  const r = spawnSync(bin, [seed], { encoding: 'utf8', timeout: 600_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  t.is(r.status, 0, `st_impair_test seed ${seed} exited with ${r.status ?? r.signal}:\n${out.slice(-4000)}`);
  const m = /(\d+) passed, (\d+) failed/.exec(out);
  t.truthy(m, `no summary line in:\n${out.slice(-2000)}`);
  t.true(Number(m?.[1]) >= 150, `only ${m?.[1]} checks ran`);
  t.is(Number(m?.[2]), 0);
  for (const name of ['build_errors', 'gemodel', 'delay_stats', 'order', 'determinism', 'swap']) {
    t.regex(out, new RegExp(`^${name}\\s+ok$`, 'm'), `case ${name} did not run or failed`);
  }
});
