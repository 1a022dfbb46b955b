/**
 * A classifier rule as the binding takes it (native/binding/policy.cc,
 * struct st_rule_conf): a session's filter rule, and the measure stage's
 * application class rules (measure-types.ts). Its own module so that both
 * contracts use it without importing each other.
 */
export interface NativeRule {
  session: number; ruleSlot: number; action: number;
  ethertype: number; ethertypeMask: number;
  vlanLo: number; vlanHi: number; // 4096 = untagged
  ipVersion: number; proto: number; protoMask: number;
  src: Uint8Array; srcLen: number; dst: Uint8Array; dstLen: number; // 16 bytes each
  sportLo: number; sportHi: number; dportLo: number; dportHi: number;
  tcpFlags: number; tcpFlagsMask: number;
  signature: number; // -1 none
}
