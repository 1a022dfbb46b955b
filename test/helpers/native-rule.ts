/**
 * Builders for the flat NativeRule the policy compiler produces
 * (src/dataplane/native-types.ts), field by field, for the offload tests that
 * hand policies to the planner and the testpmd renderer without a data plane
 * (planner.test.ts, testpmd.test.ts). The data-plane tests build rules from
 * CIDR text instead (policy-host.ts).
 *
 * Not a test file.
 */
import type { NativeRule } from '../../src/dataplane/native-types.js';

/** Sixteen zero bytes: an address field that matches anything (with length 0). */
export const z16 = (): Uint8Array => new Uint8Array(16);

/** An IPv4 address as rules carry it: IPv4-mapped IPv6, ::ffff:a.b.c.d (a /32 is srcLen 128). */
export function mapped4(s: string): Uint8Array {
  const a = z16();
  a[10] = 0xff;
  a[11] = 0xff;
  s.split('.').forEach((o, i) => { a[12 + i] = Number(o); });
  return a;
}

/** An accept rule of this session in slot 0 that matches every frame, but for the fields in `o`. */
export function nativeRule(session: number, o: Partial<NativeRule> = {}): NativeRule {
  return {
    session, ruleSlot: 0, action: 0, ethertype: 0, ethertypeMask: 0, vlanLo: 0, vlanHi: 4096, ipVersion: 0, proto: 0, protoMask: 0,
    src: z16(), srcLen: 0, dst: z16(), dstLen: 0, sportLo: 0, sportHi: 65535, dportLo: 0, dportHi: 65535, tcpFlags: 0, tcpFlagsMask: 0, signature: -1, ...o,
  };
}
