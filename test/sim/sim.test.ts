/**
 * Runs the native test of the emulated SmartNIC (native/test/sim_test.c,
 * built as build/sim/st_sim_test, and with AddressSanitizer and
 * UndefinedBehaviorSanitizer as build/sanitize/sim/st_sim_test; both are
 * run, each checked the same way): its own EAL with net_shadowsim loaded as
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
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { checkNativeRun, nativeBin, VARIANTS } from '../helpers/native-test.js';
import { CHECKSUM_GOOD, decodePcapFile } from '../helpers/tshark.js';
import { SIM_TEST_BIN } from './testpmd.js';

const FAMILIES = ['mlx5', 'ice', 'i40e', 'net_tap', 'net_null', 'bnxt'];

for (const variant of VARIANTS) {
  test(`net_shadowsim (${variant}): native test through ethdev and rte_flow, captures checked by tshark`, async (t) => {
    const bin = variant === 'plain' ? SIM_TEST_BIN : nativeBin('sanitized', 'sim/st_sim_test');
    if (!existsSync(bin)) return t.fail(`${bin} is missing: the ${variant} CMake build did not produce st_sim_test`);
    const dir = mkdtempSync(join(tmpdir(), 'shadowsim-'));
    const profiles = join(dir, 'profiles');
    const work = join(dir, 'work');
    mkdirSync(profiles);
    mkdirSync(work);
    const set = defaultProfiles();
    for (const f of FAMILIES) writeFileSync(join(profiles, `${f}.sim`), renderSimProfile(set.byFamily(f)!));
    const prefix = `st_sim_test_${process.pid}_${variant}`;
    try {
      const r = checkNativeRun(t, variant, bin, [profiles, work], 150, { env: { ST_SIM_PREFIX: prefix } });
      if (!r || r.status !== 0) return;

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
}
