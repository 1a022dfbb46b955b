/**
 * Runs the standalone C test of the rx check (native/test/rx_check_test.c,
 * built as build/st_rx_check_test and, with AddressSanitizer and
 * UndefinedBehaviorSanitizer, as build/sanitize/st_rx_check_test; both are
 * run): hand-built mbuf chains with every inconsistency the check knows
 * (pkt_len, nb_segs, a segment past its buffer, a looped chain) and the
 * consistent shapes it must leave alone. The net_pcap case runs end to end
 * in test/dataplane/poison.test.ts.
 */
import test from 'ava';
import { checkNativeRun, nativeBin, VARIANTS } from '../helpers/native-test.js';

for (const variant of VARIANTS) {
  test(`native rx check (${variant}): every inconsistent chain is caught, counted by reason and repaired or refused`, (t) => {
    checkNativeRun(t, variant, nativeBin(variant, 'st_rx_check_test'), [], 60);
  });
}
