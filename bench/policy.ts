/**
 * Mirror policies for the policy-engine scenarios, built directly in the
 * flat NativePolicy shape (src/dataplane/native-types.ts, the contract of
 * native/dataplane/policy.h), so the benchmark measures the data plane, not
 * the config compiler, and keeps working whatever the YAML spelling of
 * sessions and targets turns out to be.
 *
 * Port indexes follow the benchmark's plans (shadowtap.ts): 0 = prod-in,
 * 1 = prod-out (inline) , last = shadow0.
 */
import {
  CONTROL_PLANE,
  ENCAP,
  RULE_ACTION,
  SAMPLE_MODE,
  UNMAPPED_RULE,
  type NativeMap4,
  type NativePolicy,
  type NativeRule,
  type NativeSession,
  type NativeTarget,
} from '../src/dataplane/native-types.js';
import { ip4, mac } from '../src/pcap/build.js';
import { SHADOW_MAC } from './captures.js';

export interface PolicyOptions {
  generation: number;
  /** index of the production input port in the plan */
  prodIn: number;
  /** index of the shadow port in the plan */
  shadow: number;
  map4: NativeMap4[];
  /** all: one rule matching everything; one: accept udp src 10.0.0.0/16; thousand: 1,000 like it */
  rules: 'all' | 'one' | 'thousand';
  /** 0..100; 100 = every packet */
  samplePct?: number;
  snaplen?: number;
  encap?: 'none' | 'vxlan';
}

function mapped4(addr: string): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(ip4(addr), 12);
  return out;
}

function rule(session: number, slot: number, over: Partial<NativeRule>): NativeRule {
  return {
    session,
    ruleSlot: slot,
    action: RULE_ACTION.accept,
    ethertype: 0,
    ethertypeMask: 0,
    vlanLo: 0,
    vlanHi: 4096,
    ipVersion: 0,
    proto: 0,
    protoMask: 0,
    src: new Uint8Array(16),
    srcLen: 0,
    dst: new Uint8Array(16),
    dstLen: 0,
    sportLo: 0,
    sportHi: 65535,
    dportLo: 0,
    dportHi: 65535,
    tcpFlags: 0,
    tcpFlagsMask: 0,
    signature: -1,
    ...over,
  };
}

/**
 * 1,000 distinct accept rules: UDP from 10.0.0.0/16 to one /26 each of
 * 10.0.0.0-10.0.249.255, the range the capture's destinations are drawn
 * from, so every packet matches exactly one rule, spread over all of them.
 */
export function thousandRules(session: number): NativeRule[] {
  return Array.from({ length: 1000 }, (_, i) =>
    rule(session, i, {
      ipVersion: 4,
      proto: 17,
      protoMask: 0xff,
      src: mapped4('10.0.0.0'),
      srcLen: 96 + 16,
      dst: mapped4(`10.0.${i >> 2}.${(i & 3) * 64}`),
      dstLen: 96 + 26,
    }),
  );
}

function target(ports: number[], encap: 'none' | 'vxlan'): NativeTarget {
  const outerSrc = new Uint8Array(16);
  const outerDst = new Uint8Array(16);
  // Documentation addresses (RFC 5737): the copies only ever reach net_null.
  outerSrc.set(ip4('192.0.2.1'), 0);
  outerDst.set(ip4('192.0.2.2'), 0);
  return {
    ports,
    encap: encap === 'vxlan' ? ENCAP.vxlan : ENCAP.none,
    vlanId: 0,
    vlanPcp: 0,
    vni: encap === 'vxlan' ? 4242 : 0,
    udpDstPort: encap === 'vxlan' ? 4789 : 0,
    outerIpv6: false,
    outerSrc,
    outerDst,
    outerSrcMac: Uint8Array.from(mac(SHADOW_MAC.src)),
    outerDstMac: Uint8Array.from(mac(SHADOW_MAC.dst)),
    outerTtl: 64,
  };
}

export function buildPolicy(o: PolicyOptions): NativePolicy {
  const pct = o.samplePct ?? 100;
  const session: NativeSession = {
    id: 1,
    slot: 0,
    target: 0,
    sources: 1 << (2 * o.prodIn), // production port, rx
    sampleMode: pct >= 100 ? SAMPLE_MODE.all : SAMPLE_MODE.flow,
    sampleThreshold: pct >= 100 ? 0xffffffff : Math.floor((pct / 100) * 2 ** 32) >>> 0,
    snaplen: o.snaplen ?? 0,
    ratePps: 0,
    rateBps: 0,
  };
  return {
    generation: o.generation,
    matchAll: false,
    sessions: [session],
    rules:
      o.rules === 'all'
        ? [rule(0, 0, {})]
        : o.rules === 'one'
          ? [rule(0, 0, { ipVersion: 4, proto: 17, protoMask: 0xff, src: mapped4('10.0.0.0'), srcLen: 96 + 16 })]
          : thousandRules(0),
    targets: [target([o.shadow], o.encap ?? 'none')],
    signatures: [],
    map4: o.map4,
    map6: [],
    macMaps: [],
    defaultSrcMac: Uint8Array.from(mac(SHADOW_MAC.src)),
    defaultDstMac: Uint8Array.from(mac(SHADOW_MAC.dst)),
    unmapped: UNMAPPED_RULE.drop,
    controlPlane: CONTROL_PLANE.arp | CONTROL_PLANE.dhcp | CONTROL_PLANE.nd,
    fwEnabled: false,
    fwDefault: RULE_ACTION.accept,
    fwRules: [],
  };
}
