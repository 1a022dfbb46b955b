/**
 * Runs the standalone C test of the header-rewrite module
 * (native/test/rewrite_test.c, built by CMake as build/st_rewrite_test): frames
 * built byte by byte, compared with a reference translator and full checksum
 * recomputation, plus thousands of random valid and garbage frames; and the
 * policy-era part: MAC maps, host overrides, the count rule, truncated copies,
 * ARP/DHCPv4/ND payload translation and malformed control-plane payloads.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../build/st_rewrite_test', import.meta.url));

test('native rewrite module: reference translation and full checksums agree', (t) => {
  if (!existsSync(bin)) return t.fail(`${bin} is missing: the CMake build did not produce st_rewrite_test`);
  const seed = String(Date.now() % 100000);
  const r = spawnSync(bin, [seed, '3000'], { encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  t.is(r.status, 0, `st_rewrite_test seed ${seed} exited with ${r.status ?? r.signal}:\n${out.slice(-3000)}`);
  const m = /(\d+) passed, (\d+) failed/.exec(out);
  t.truthy(m, `no summary line in:\n${out.slice(-2000)}`);
  t.true(Number(m![1]) > 1000, `only ${m![1]} checks ran`);
  t.is(Number(m![2]), 0);
  // the policy-era part ran: control-plane payloads mutated at random, no crash
  t.regex(out, /control-plane garbage: \d+ frames, \d+ sent, [1-9]\d* control_plane anomalies, none out of bounds/);
});
