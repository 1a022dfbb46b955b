/**
 * Runs the standalone C test of the header-rewrite module
 * (native/test/rewrite_test.c and its parts, rewrite_test.h) twice: the plain build (build/st_rewrite_test,
 * the optimised objects the addon uses) and the sanitized build
 * (build/sanitize/st_rewrite_test, AddressSanitizer and UndefinedBehaviorSanitizer,
 * aborting at the first report). Frames built byte by byte, compared with a
 * reference translator and full checksum recomputation, plus thousands of
 * random valid and garbage frames, each in a heap buffer of exactly its
 * segment's length, so that the sanitized run fails on any read or write past
 * it; and the policy-era part: MAC maps, host overrides, the count rule,
 * truncated copies, ARP/DHCPv4/ND payload translation and malformed
 * control-plane payloads.
 */
import test from 'ava';
import { checkNativeRun, nativeBin, testSeed, VARIANTS } from '../helpers/native-test.js';

/** One seed for both builds of this file's run. */
const SEED = testSeed();

for (const variant of VARIANTS) {
  test(`native rewrite module (${variant}): reference translation and full checksums agree`, (t) => {
    const r = checkNativeRun(t, variant, nativeBin(variant, 'st_rewrite_test'), [String(SEED), '3000'], 1000);
    if (!r) return;
    // the garbage parts ran: random frames and mutated control-plane payloads, some of them sent
    t.regex(r.out, /random garbage: 6000 frames, [1-9]\d* sent/);
    t.regex(r.out, /control-plane garbage: 6000 frames, [1-9]\d* sent, [1-9]\d* control_plane anomalies/);
  });
}
