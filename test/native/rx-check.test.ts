/**
 * Runs the standalone C test of the rx check (native/test/rx_check_test.c,
 * built by CMake as build/st_rx_check_test): hand-built mbuf chains with
 * every inconsistency the check knows (pkt_len, nb_segs, a segment past its
 * buffer, a looped chain) and the consistent shapes it must leave alone.
 * The net_pcap case runs end to end in test/dataplane/poison.test.ts.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../build/st_rx_check_test', import.meta.url));

test('native rx check: every inconsistent chain is caught, counted by reason and repaired or refused', (t) => {
  t.true(existsSync(bin), `${bin} is missing: the CMake build did not produce st_rx_check_test`);
  const r = spawnSync(bin, [], { encoding: 'utf8', timeout: 60_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  t.is(r.status, 0, `st_rx_check_test exited with ${r.status ?? r.signal}:\n${out.slice(-3000)}`);
  const m = /(\d+) passed, (\d+) failed/.exec(out);
  t.truthy(m, `no summary line in:\n${out.slice(-2000)}`);
  t.true(Number(m?.[1]) >= 60, `only ${m?.[1]} checks ran`);
  t.is(Number(m?.[2]), 0);
});
