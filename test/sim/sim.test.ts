/**
 * Runs the native test of the emulated SmartNIC (native/test/sim_test.c,
 * built as build/sim/st_sim_test): its own EAL with net_shadowsim loaded as
 * mlx5, ice, i40e, net_tap, net_null and bnxt, rules made through the real
 * rte_flow API and packets checked byte by byte. Then the two captures it
 * leaves are decoded by tshark, independently of the PMD and of the C test:
 * sim0-tx.pcap is everything that came in on the emulated mlx5 port and was
 * sent back out (matching UDP rewritten to 192.0.2.7 after SAMPLE, checksums
 * good), mirror.pcap the copies its E-Switch SAMPLE sent to a second emulated
 * port on the same E-Switch (switch_domain=1)
 * (untouched: the rewrite came after SAMPLE).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { CHECKSUM_GOOD, decodePcapFile } from '../helpers/tshark.js';
import { SIM_TEST_BIN } from './testpmd.js';

const FAMILIES = ['mlx5', 'ice', 'i40e', 'net_tap', 'net_null', 'bnxt'];

test('net_shadowsim: native test through ethdev and rte_flow, captures checked by tshark', async (t) => {
  if (!existsSync(SIM_TEST_BIN)) return t.fail(`${SIM_TEST_BIN} is missing: the CMake build did not produce st_sim_test`);
  const dir = mkdtempSync(join(tmpdir(), 'shadowsim-'));
  const profiles = join(dir, 'profiles');
  const work = join(dir, 'work');
  mkdirSync(profiles);
  mkdirSync(work);
  const set = defaultProfiles();
  for (const f of FAMILIES) writeFileSync(join(profiles, `${f}.sim`), renderSimProfile(set.byFamily(f)!));
  const prefix = `st_sim_test_${process.pid}`;
  try {
    const r = spawnSync(SIM_TEST_BIN, [profiles, work], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, ST_SIM_PREFIX: prefix },
    });
    const out = `${r.stdout}\n${r.stderr}`;
    t.is(r.status, 0, `st_sim_test exited with ${r.status ?? r.signal}:\n${out.slice(-4000)}`);
    const m = /(\d+) passed, (\d+) failed/.exec(out);
    t.truthy(m, `no summary line in:\n${out.slice(-2000)}`);
    t.true(Number(m![1]) >= 150, `only ${m![1]} checks ran`);
    t.is(Number(m![2]), 0);

    // what came in on the emulated port and went back out
    const tx = await decodePcapFile(join(work, 'sim0-tx.pcap'));
    t.is(tx.length, 8, 'all 8 input frames are sent back out');
    for (const p of tx) {
      if (p.ipDst !== undefined) t.is(p.ipChecksumStatus, CHECKSUM_GOOD, `frame ${p.frame}: IPv4 checksum`);
      const l4 = p.udpChecksumStatus ?? p.tcpChecksumStatus;
      t.is(l4, CHECKSUM_GOOD, `frame ${p.frame}: L4 checksum`);
    }
    const udp5000 = tx.filter((p) => p.ipDst !== undefined && p.protocols.includes('udp') && p.dstPort === 5000);
    t.is(udp5000.length, 3);
    t.true(udp5000.every((p) => p.ipDst === '192.0.2.7'), 'the rewrite after SAMPLE reaches the original');
    t.true(
      tx.filter((p) => !udp5000.includes(p)).every((p) => p.ipDst === undefined || p.ipDst === '10.1.0.2'),
      'unmatched frames are untouched',
    );
    t.is(tx[7]!.ip6Dst, '2001:db8::b');

    // the E-Switch copies on the mirror port
    const mirror = await decodePcapFile(join(work, 'mirror.pcap'));
    t.is(mirror.length, 3, 'one copy per matching frame');
    t.true(mirror.every((p) => p.ipDst === '10.1.0.2' && p.dstPort === 5000 && p.udpChecksumStatus === CHECKSUM_GOOD),
      'the copy is the frame as received: a rewrite after SAMPLE does not reach it (mlx5)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
  }
});
