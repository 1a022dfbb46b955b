/**
 * The placement planner: the same policies on mlx5-like (all in hardware where
 * it can be exact, two stages or hybrid for a rewritten copy, never a rewrite
 * before SAMPLE), ice-like (hybrid), i40e-like and net_null (software) ports;
 * sampling that fails closed; control-plane punts; a port without a profile;
 * and the probe winning over the profile.
 */
import test from 'ava';
import { Value } from '@sinclair/typebox/value';
import type { NativePolicy, NativeRule, NativeSession, NativeTarget } from '../../src/dataplane/native-types.js';
import { modifyBeforeSample, actionNames, type FlowAction, type FlowRule } from '../../src/offload/flow.js';
import {
  capabilitiesFromProfile,
  cleanMessage,
  describeFailure,
  probeDefinitions,
  reconcile,
  type PortCapabilities,
  type ProbeResult,
} from '../../src/offload/probe.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import {
  explain,
  markCopy,
  markDecided,
  plan,
  planJson,
  PlacementPlanSchema,
  rangeBlocks,
  type PlacementPlan,
  type PlanPort,
  type SessionPlacement,
} from '../../src/offload/planner.js';
import { mapped4, nativeRule, z16 } from '../helpers/native-rule.js';

// ---- policy builders (NativePolicy is what src/policy/compile.ts produces) -----------

const v6 = (s: string): Uint8Array => {
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl].map((g) => parseInt(g || '0', 16));
  const a = new Uint8Array(16);
  groups.forEach((g, i) => { a[2 * i] = g >> 8; a[2 * i + 1] = g & 0xff; });
  return a;
};
const u32 = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const REJECT = 1;

/** 10.0.0.5 -> 10.0.0.9 tcp/5432: a flow whose translation is known in advance. */
const exact = (session = 0, o: Partial<NativeRule> = {}) =>
  nativeRule(session, { ipVersion: 4, proto: 6, protoMask: 0xff, src: mapped4('10.0.0.5'), srcLen: 128, dst: mapped4('10.0.0.9'), dstLen: 128, dportLo: 5432, dportHi: 5432, ...o });
const matchAll = (session = 0) => nativeRule(session);

function session(o: Partial<NativeSession> = {}): NativeSession {
  return { id: 7, slot: 1, target: 0, sources: 0b01, sampleMode: 0, sampleThreshold: 0xffffffff, snaplen: 0, ratePps: 0, rateBps: 0, ...o };
}

function target(o: Partial<NativeTarget> = {}): NativeTarget {
  return {
    ports: [2], encap: 0, vlanId: 0, vlanPcp: 0, vni: 0, udpDstPort: 0, outerIpv6: false, outerSrc: z16(), outerDst: z16(),
    outerSrcMac: new Uint8Array(6), outerDstMac: new Uint8Array(6), outerTtl: 64, ...o,
  };
}

function policy(o: Partial<NativePolicy> = {}): NativePolicy {
  return {
    generation: 3, matchAll: false, sessions: [session()], rules: [exact()], targets: [target()], signatures: [],
    map4: [{ from: u32('10.0.0.0'), to: u32('172.16.0.0'), len: 24 }], map6: [], macMaps: [],
    defaultSrcMac: new Uint8Array(6), defaultDstMac: new Uint8Array(6), unmapped: 1, controlPlane: 7,
    fwEnabled: false, fwDefault: 0, fwRules: [], ...o,
  };
}

const PCI: Record<string, string> = { mlx5_pci: '15b3:101d', net_ice: '8086:1592', net_i40e: '8086:1572' };
function ports(driver: string, o: { shadowDomain?: number } = {}): PlanPort[] {
  const pci = PCI[driver];
  return [
    { index: 0, name: 'prod0', role: 'production', driver, ...(pci ? { pciId: pci } : {}), switchDomain: 0 },
    { index: 1, name: 'egress0', role: 'egress', driver, switchDomain: 0 },
    { index: 2, name: 'shadow0', role: 'shadow', driver, switchDomain: o.shadowDomain ?? 0 },
  ];
}

const only = (p: PlacementPlan): SessionPlacement => {
  if (p.sessions.length !== 1) throw new Error(`expected one placement, got ${p.sessions.length}`);
  return p.sessions[0]!;
};
const piece = (s: SessionPlacement, kind: string) => s.pieces.find((x) => x.kind === kind);
const pieceMap = (s: SessionPlacement) => Object.fromEntries(s.pieces.map((x) => [x.kind, x.placement]));
const rulesOf = (p: PlacementPlan, ids: readonly string[]) => p.rules.filter((r) => ids.includes(r.id));

/** The promises every plan keeps, checked on every plan these tests make. */
function assertSafe(t: { true: (v: boolean, m?: string) => void; is: (a: unknown, b: unknown, m?: string) => void }, p: PlacementPlan): void {
  t.true(Value.Check(PlacementPlanSchema, planJson(p)), `plan matches PlacementPlanSchema: ${[...Value.Errors(PlacementPlanSchema, planJson(p))].map((e) => `${e.path} ${e.message}`).join('; ')}`);
  for (const r of p.rules) {
    t.is(modifyBeforeSample(r.rule), -1, `${r.id}: no rewrite before SAMPLE`);
    t.true(r.testpmd.length > 0 && r.testpmd[r.testpmd.length - 1]!.startsWith('flow create '), `${r.id}: rendered for testpmd`);
  }
}

// ---- the table ----------------------------------------------------------------------

interface Case {
  name: string;
  driver: string;
  policy: NativePolicy;
  placement: 'hardware' | 'hybrid' | 'software';
  path: SessionPlacement['path'];
  pieces: Record<string, string>;
  rules: number;
  portOpts?: { shadowDomain?: number };
}

const vlanTarget = target({ encap: 1, vlanId: 100, vlanPcp: 3 });
const vxlanTarget = target({ encap: 2, vni: 42, udpDstPort: 4789 });

const cases: Case[] = [
  {
    name: 'mlx5: exact flow with translation: two stages in the E-Switch',
    driver: 'mlx5_pci', policy: policy(), placement: 'hardware', path: 'hardware',
    pieces: { classification: 'hardware', mirroring: 'hardware', translation: 'hardware' , punt: 'hybrid' }, rules: 10,
  },
  {
    name: 'mlx5: nothing to rewrite: one rule mirrors straight to the shadow port',
    driver: 'mlx5_pci', policy: policy({ map4: [] }), placement: 'hardware', path: 'hardware',
    pieces: { classification: 'hardware', mirroring: 'hardware' , punt: 'hybrid' }, rules: 8,
  },
  {
    name: 'mlx5: VLAN encap is pushed in the second stage',
    driver: 'mlx5_pci', policy: policy({ targets: [vlanTarget] }), placement: 'hardware', path: 'hardware',
    pieces: { classification: 'hardware', mirroring: 'hardware', translation: 'hardware', encap: 'hardware' , punt: 'hybrid' }, rules: 10,
  },
  {
    name: 'mlx5: VXLAN encap keeps the copy in software (hybrid mirror)',
    driver: 'mlx5_pci', policy: policy({ targets: [vxlanTarget] }), placement: 'hybrid', path: 'hybrid-mirror',
    pieces: { classification: 'hardware', mirroring: 'hybrid', translation: 'software', encap: 'software' }, rules: 2,
  },
  {
    name: 'mlx5: 25% per packet is SAMPLE ratio 4 in NIC Rx',
    driver: 'mlx5_pci', policy: policy({ sessions: [session({ sampleMode: 1, sampleThreshold: 2 ** 30 })] }), placement: 'hybrid', path: 'hybrid-mirror',
    pieces: { classification: 'hardware', sampling: 'hardware', mirroring: 'hybrid', translation: 'software' }, rules: 2,
  },
  {
    name: 'mlx5: 25% per flow stays in software (fail closed)',
    driver: 'mlx5_pci', policy: policy({ sessions: [session({ sampleMode: 2, sampleThreshold: 2 ** 30 })] }), placement: 'hybrid', path: 'hybrid-classify',
    pieces: { classification: 'hardware', sampling: 'software', mirroring: 'software', translation: 'software' }, rules: 2,
  },
  {
    name: 'mlx5: 30% per packet is not 1 in N: software sampling',
    driver: 'mlx5_pci', policy: policy({ sessions: [session({ sampleMode: 1, sampleThreshold: Math.round(0.3 * 2 ** 32) })] }), placement: 'hybrid', path: 'hybrid-classify',
    pieces: { classification: 'hardware', sampling: 'software', mirroring: 'software', translation: 'software' }, rules: 2,
  },
  {
    name: 'mlx5: snaplen and rate cap: the NIC copies, software truncates and caps',
    driver: 'mlx5_pci', policy: policy({ sessions: [session({ snaplen: 128, ratePps: 1000 })] }), placement: 'hybrid', path: 'hybrid-mirror',
    pieces: { classification: 'hardware', mirroring: 'hybrid', translation: 'software', truncation: 'software', 'rate-cap': 'software' }, rules: 2,
  },
  {
    name: 'mlx5: shadow port on another E-Switch: hybrid mirror',
    driver: 'mlx5_pci', policy: policy(), portOpts: { shadowDomain: 1 }, placement: 'hybrid', path: 'hybrid-mirror',
    pieces: { classification: 'hardware', mirroring: 'hybrid', translation: 'software' }, rules: 2,
  },
  {
    name: 'mlx5: match-all with control plane on: NIC copies, punts ahead',
    driver: 'mlx5_pci', policy: policy({ rules: [matchAll()] }), placement: 'hybrid', path: 'hybrid-mirror',
    pieces: { classification: 'hardware', mirroring: 'hybrid', translation: 'software' }, rules: 28,
  },
  {
    name: 'ice: exact flow: hybrid, match and MARK in hardware',
    driver: 'net_ice', policy: policy(), placement: 'hybrid', path: 'hybrid-classify',
    pieces: { classification: 'hardware', mirroring: 'software', translation: 'software' }, rules: 2,
  },
  {
    name: 'ice: match-all with control plane on: punts at priority 0, the session at 1',
    driver: 'net_ice', policy: policy({ rules: [matchAll()] }), placement: 'hybrid', path: 'hybrid-classify',
    pieces: { classification: 'hardware', mirroring: 'software', translation: 'software' }, rules: 28,
  },
  {
    name: 'i40e: match-all cannot be ordered behind the punts: software',
    driver: 'net_i40e', policy: policy({ rules: [matchAll()] }), placement: 'software', path: 'software',
    pieces: { classification: 'software', mirroring: 'software', translation: 'software' }, rules: 0,
  },
  {
    name: 'i40e: an exact flow overlaps no punt: hybrid (fate first, then MARK)',
    driver: 'net_i40e', policy: policy(), placement: 'hybrid', path: 'hybrid-classify',
    pieces: { classification: 'hardware', mirroring: 'software', translation: 'software' }, rules: 2,
  },
  {
    name: 'net_null: no rte_flow: software',
    driver: 'net_null', policy: policy(), placement: 'software', path: 'software',
    pieces: { classification: 'software', mirroring: 'software', translation: 'software' }, rules: 0,
  },
  {
    name: 'net_tap: no MARK: software',
    driver: 'net_tap', policy: policy(), placement: 'software', path: 'software',
    pieces: { classification: 'software', mirroring: 'software', translation: 'software' }, rules: 0,
  },
  {
    name: 'a driver no profile matches: generic-software',
    driver: 'net_frobnicator', policy: policy(), placement: 'software', path: 'software',
    pieces: { classification: 'software', mirroring: 'software', translation: 'software' }, rules: 0,
  },
  {
    name: 'bnxt: SAMPLE only as an indirect action: hybrid classify',
    driver: 'net_bnxt', policy: policy(), placement: 'hybrid', path: 'hybrid-classify',
    pieces: { classification: 'hardware', mirroring: 'software', translation: 'software' }, rules: 2,
  },
  {
    name: 'ixgbe: one Flow Director mask per port: the untagged half in hardware, QUEUE then MARK',
    driver: 'net_ixgbe', policy: policy({ controlPlane: 0 }), placement: 'hybrid', path: 'hybrid-classify',
    pieces: { classification: 'hardware', mirroring: 'software', translation: 'software' }, rules: 1,
  },
  {
    name: 'mlx5: an address outside every map under the DROP rule: the copy is finished in software',
    driver: 'mlx5_pci', policy: policy({ unmapped: 0, rules: [exact(0, { src: mapped4('192.168.1.1') })] }), placement: 'hybrid', path: 'hybrid-mirror',
    pieces: { classification: 'hardware', mirroring: 'hybrid', translation: 'software' }, rules: 2,
  },
  {
    name: 'mlx5: IPv6 host maps are rewritten in the second stage',
    driver: 'mlx5_pci',
    policy: policy({
      map4: [],
      map6: [{ from: v6('2001:db8:1::'), to: v6('2001:db8:99::'), len: 48 }],
      rules: [nativeRule(0, { ipVersion: 6, proto: 17, protoMask: 0xff, src: v6('2001:db8:1::5'), srcLen: 128, dst: v6('2001:db8:1::9'), dstLen: 128 })],
    }),
    placement: 'hardware', path: 'hardware', pieces: { classification: 'hardware', mirroring: 'hardware', translation: 'hardware' , punt: 'hybrid' }, rules: 20,
  },
  {
    name: 'mlx5: default MACs with control-plane translation off are set in the second stage',
    driver: 'mlx5_pci', policy: policy({ controlPlane: 0, defaultDstMac: new Uint8Array([2, 0, 0, 0, 0, 0x22]) }), placement: 'hardware', path: 'hardware',
    pieces: { classification: 'hardware', mirroring: 'hardware', translation: 'hardware' , punt: 'hybrid' }, rules: 10,
  },
  {
    name: 'mlx5: default MACs with control-plane translation on depend on each frame: software',
    driver: 'mlx5_pci', policy: policy({ defaultDstMac: new Uint8Array([2, 0, 0, 0, 0, 0x22]) }), placement: 'hybrid', path: 'hybrid-mirror',
    pieces: { classification: 'hardware', mirroring: 'hybrid', translation: 'software' }, rules: 2,
  },
  {
    name: 'a payload signature keeps classification in software, even on mlx5',
    driver: 'mlx5_pci', policy: policy({ rules: [exact(0, { signature: 0 })] }), placement: 'software', path: 'software',
    pieces: { classification: 'software', mirroring: 'software', translation: 'software' }, rules: 0,
  },
];

for (const c of cases) {
  test(`placement: ${c.name}`, (t) => {
    const p = plan(c.policy, ports(c.driver, c.portOpts));
    const s = only(p);
    t.is(s.placement, c.placement, s.reason);
    t.is(s.path, c.path, s.reason);
    t.deepEqual(pieceMap(s), c.pieces);
    t.is(p.rules.length, c.rules, p.rules.map((r) => r.purpose).join('\n'));
    t.is(p.summary[c.placement], 1);
    assertSafe(t, p);
  });
}

// ---- mlx5 semantics, rule by rule -----------------------------------------------------

test('mlx5 two stages: production leaves on the SAMPLE branch untouched, the copy is rewritten after', (t) => {
  const p = plan(policy(), ports('mlx5_pci'));
  const s = only(p);
  const mine = rulesOf(p, s.rules);
  const stage1 = mine.find((r) => r.rule.attr.group === 0 && !r.rule.pattern.some((i) => i.type === 'vlan'));
  const stage2 = mine.find((r) => r.rule.attr.group === 1 && !r.rule.pattern.some((i) => i.type === 'vlan'));
  t.truthy(stage1);
  t.truthy(stage2);
  t.deepEqual(mine.map((r) => r.rule.attr.group), [1, 1, 0, 0], 'second-stage rules come first in creation order');
  t.deepEqual(stage1!.rule.actions, [
    { type: 'count' },
    { type: 'mark', id: markDecided(1) },
    { type: 'sample', ratio: 1, actions: [{ type: 'port_id', id: 0 }] },
    { type: 'jump', group: 1 },
  ]);
  t.deepEqual(stage2!.rule.attr, { group: 1, priority: 0, ingress: false, egress: false, transfer: true });
  t.deepEqual(stage2!.rule.actions, [
    { type: 'count' },
    { type: 'set_ipv4_src', ipv4_addr: '172.16.0.5' },
    { type: 'set_ipv4_dst', ipv4_addr: '172.16.0.9' },
    { type: 'port_id', id: 2 },
  ]);
  t.deepEqual(stage1!.testpmd, [
    'set sample_actions 0 port_id id 0 / end',
    'flow create 0 priority 1 transfer pattern represented_port ethdev_port_id is 0 / eth type is 0x0800 / ipv4 src is 10.0.0.5 dst is 10.0.0.9 / tcp dst is 5432 / end actions count / mark id 257 / sample ratio 1 index 0 / jump group 1 / end',
  ]);
  t.deepEqual(stage2!.testpmd, [
    'flow create 0 group 1 transfer pattern represented_port ethdev_port_id is 0 / eth type is 0x0800 / ipv4 src is 10.0.0.5 dst is 10.0.0.9 / tcp dst is 5432 / end actions count / set_ipv4_src ipv4_addr 172.16.0.5 / set_ipv4_dst ipv4_addr 172.16.0.9 / port_id id 2 / end',
  ]);
  t.is(piece(s, 'mirroring')!.reason,
    'mlx5: the copy must be rewritten, and a rewrite before SAMPLE would alter production: two stages in the E-Switch, production leaves untouched on the SAMPLE branch (ratio 1) to prod0 and the copy goes on to a second rule that rewrites it and sends it to shadow0');
  t.is(piece(s, 'translation')!.reason, 'mlx5: SET_IPV4_SRC/SET_IPV4_DST on the copy in the second stage, after the SAMPLE branch took production');
});

test('mlx5 in NIC Rx: the SAMPLE copy carries only MARK and a queue; the rewrite is left to software', (t) => {
  const p = plan(policy({ sessions: [session({ sampleMode: 1, sampleThreshold: 2 ** 30 })] }), ports('mlx5_pci'));
  const s = only(p);
  for (const r of rulesOf(p, s.rules)) {
    const sample = r.rule.actions.find((a) => a.type === 'sample') as Extract<FlowAction, { type: 'sample' }>;
    t.is(sample.ratio, 4);
    t.deepEqual(sample.actions, [{ type: 'mark', id: markCopy(1) }, { type: 'rss' }]);
    t.false(r.rule.actions.some((a) => a.type.startsWith('set_')), 'no rewrite anywhere in a NIC Rx mirror rule');
  }
  t.is(piece(s, 'translation')!.reason,
    'mlx5: SET_IPV4_SRC/SET_IPV4_DST in ingress would act on production too (before SAMPLE, or on the packet itself), so the copy is translated in software; match in hardware with MARK 4097');
  t.is(piece(s, 'sampling')!.reason, "mlx5: SAMPLE ratio 4 in ingress takes 1 packet in 4 (25%) at random, as the policy's per-packet sampling does");
  t.deepEqual(s.marks, { decided: 257, copy: 4097 });
});

test('mlx5 in transfer at a ratio above 1 is refused (nothing may ride on the copy), and said so', (t) => {
  const s = only(plan(policy({ sessions: [session({ sampleMode: 1, sampleThreshold: 2 ** 31 })] }), ports('mlx5_pci')));
  t.is(s.path, 'hybrid-mirror');
  t.true(s.notTaken.includes('not all in hardware: sampling 1 in 2: a transfer SAMPLE above ratio 1 carries nothing on the copy, not even the port to send it to'));
});

test('translation details: IPv6 host bits kept, MACs set, unmapped DROP said in words', (t) => {
  const six = plan(cases.find((c) => c.name.startsWith('mlx5: IPv6'))!.policy, ports('mlx5_pci'));
  const stage2 = six.rules.find((r) => r.rule.attr.group === 1)!;
  t.deepEqual(stage2.rule.actions.filter((a) => a.type.startsWith('set_')), [
    { type: 'set_ipv6_src', ipv6_addr: '2001:db8:99::5' },
    { type: 'set_ipv6_dst', ipv6_addr: '2001:db8:99::9' },
  ]);
  const mac = plan(cases.find((c) => c.name.startsWith('mlx5: default MACs with control-plane translation off'))!.policy, ports('mlx5_pci'));
  t.true(mac.rules.some((r) => r.rule.actions.some((a) => a.type === 'set_mac_dst' && a.mac_addr === '02:00:00:00:00:22')));
  t.false(mac.rules.some((r) => r.rule.actions.some((a) => a.type === 'set_mac_src')), 'an all-zero default keeps the MAC');
  const macCp = only(plan(cases.find((c) => c.name.startsWith('mlx5: default MACs with control-plane translation on'))!.policy, ports('mlx5_pci')));
  t.is(piece(macCp, 'translation')!.reason, 'translated in software: with control-plane translation on, broadcast, multicast and all-zero MACs keep their value, which a rule cannot tell apart');
  const drop = only(plan(cases.find((c) => c.name.startsWith('mlx5: an address outside'))!.policy, ports('mlx5_pci')));
  t.is(piece(drop, 'translation')!.reason, 'translated in software: source 192.168.1.1 is outside every map and the policy drops such copies (counted in software)');
});

// ---- sampling fails closed ------------------------------------------------------------

test('sampling: per-flow and non-1/N rates are never turned into hardware mirroring', (t) => {
  for (const driver of ['mlx5_pci', 'net_ice']) {
    const flow = only(plan(policy({ sessions: [session({ sampleMode: 2, sampleThreshold: 2 ** 30 })] }), ports(driver)));
    t.is(piece(flow, 'sampling')!.placement, 'software');
    t.is(piece(flow, 'sampling')!.stage, 'sample');
    t.is(piece(flow, 'sampling')!.reason,
      '25% of flows sampled in software: sampling 25% per flow keeps both directions of a flow together by hashing its 5-tuple; rte_flow SAMPLE picks packets at random, so sampling stays in software');
    t.notRegex(piece(flow, 'mirroring')!.placement, /hardware|hybrid/);
    const odd = only(plan(policy({ sessions: [session({ sampleMode: 1, sampleThreshold: Math.round(0.3 * 2 ** 32) })] }), ports(driver)));
    t.is(piece(odd, 'sampling')!.reason,
      '30% of packets sampled in software: 30% is not 1 in N, and rte_flow SAMPLE only takes a ratio 1/N, so sampling stays in software');
    t.is(piece(odd, 'mirroring')!.placement, 'software');
  }
});

test('sampling: a NIC without SAMPLE samples in software, with the reason', (t) => {
  const s = only(plan(policy({ sessions: [session({ sampleMode: 1, sampleThreshold: 2 ** 30 })] }), ports('net_ice')));
  t.is(s.path, 'hybrid-classify');
  t.is(piece(s, 'sampling')!.reason, '1 packet in 4 (25%) sampled in software: ice: no SAMPLE at a ratio (1 in 4) in ingress');
});

// ---- control plane -------------------------------------------------------------------

test('control plane: punt rules precede every session rule that could match ARP, DHCP or ND', (t) => {
  const p = plan(policy({ rules: [matchAll()] }), ports('net_ice'));
  const cp = p.controlPlane[0]!;
  t.is(cp.placement, 'hybrid');
  t.is(cp.rules.length, 27);
  const punts = rulesOf(p, cp.rules);
  for (const r of punts) {
    t.is(r.rule.attr.priority, 0);
    t.true(r.rule.actions.some((a) => a.type === 'mark' && [1, 2, 4].includes(a.id)), r.id);
    t.is(r.group, 'prod0/punt');
  }
  const sessionRules = rulesOf(p, only(p).rules);
  t.true(sessionRules.every((r) => r.rule.attr.priority === 1));
  t.deepEqual(punts.map((r) => r.testpmd[0]).slice(0, 3), [
    'flow create 0 ingress pattern eth type is 0x0806 / end actions count / mark id 1 / rss / end',
    'flow create 0 ingress pattern eth type is 0x0800 / ipv4 / udp dst is 67 / end actions count / mark id 2 / rss / end',
    'flow create 0 ingress pattern eth type is 0x0800 / ipv4 / udp dst is 68 / end actions count / mark id 2 / rss / end',
  ]);
  t.deepEqual(sessionRules[0]!.rule.actions, [{ type: 'count' }, { type: 'mark', id: 257 }, { type: 'rss' }],
    'the session rule under the punts ends the lookup (RSS), so it cannot be passed through to');
  t.is(cp.reason, `ARP, DHCP, ND payloads need rewriting in software: 27 punt rules ahead of every session rule MARK them (ARP 1, DHCP 2, ND 4) for the software path`);
});

test('control plane: only the classes a session can match get punts; with translation off, none', (t) => {
  const dhcpish = policy({ rules: [nativeRule(0, { ipVersion: 4, proto: 17, protoMask: 0xff, dportLo: 67, dportHi: 68 })] });
  const p = plan(dhcpish, ports('net_ice'));
  const punts = rulesOf(p, p.controlPlane[0]!.rules);
  t.true(punts.length > 0);
  t.true(punts.every((r) => r.purpose.includes('DHCP')), punts.map((r) => r.purpose).join('\n'));
  t.true(rulesOf(p, only(p).rules).every((r) => r.rule.attr.priority === 1), 'the session sits below its punts');
  const off = plan({ ...dhcpish, controlPlane: 0 }, ports('net_ice'));
  t.deepEqual(off.controlPlane, []);
  t.true(off.rules.every((r) => r.rule.attr.priority === 0));
  t.true(off.ports[0]!.notes.includes('control-plane translation is off: no punt rule'));
});

test('control plane: with no hardware rule, everything reaches software without a punt', (t) => {
  const p = plan(policy({ rules: [matchAll()] }), ports('net_null'));
  t.deepEqual(p.controlPlane[0], {
    port: { index: 0, name: 'prod0' }, classes: ['arp', 'dhcp', 'nd'], placement: 'software', rules: [],
    reason: 'ARP, DHCP, ND payloads are rewritten in software; no session is matched in hardware on prod0, so every packet reaches the software classifier without a punt rule',
  });
});

test('control plane: in the E-Switch the punts are transfer rules too (the FDB sees packets first)', (t) => {
  const p = plan(policy({ map4: [], rules: [exact(0, { proto: 17, dportLo: 60, dportHi: 70 })] }), ports('mlx5_pci'));
  const s = only(p);
  t.is(s.path, 'hardware');
  const punts = rulesOf(p, p.controlPlane[0]!.rules);
  t.true(punts.length > 0);
  t.true(punts.every((r) => r.domain === 'transfer' && r.rule.actions.at(-1)!.type === 'port_id'));
  t.true(rulesOf(p, s.rules).every((r) => r.rule.attr.priority >= 1));
});

// ---- exactness: overlaps, rejects, capacity, tx ------------------------------------------

test('two sessions that can match the same packet are never MARKed in hardware', (t) => {
  const wide = (sess: number) => nativeRule(sess, { ipVersion: 4, src: mapped4('10.0.0.0'), srcLen: 104 });
  const pol = policy({ sessions: [session({ id: 1, slot: 1 }), session({ id: 2, slot: 2 })], rules: [wide(0), wide(1)] });
  const p = plan(pol, ports('mlx5_pci'));
  t.deepEqual(p.sessions.map((s) => s.placement), ['software', 'software']);
  t.is(p.sessions[0]!.reason, 'software: session 1 overlaps session 2 on prod0 (a packet can match both), and one MARK cannot name two sessions');
  t.is(p.rules.length, 0);
});

test('a reject rule that matters is kept in hardware, unmarked, above its accept rule', (t) => {
  const pol = policy({
    sessions: [session({ sampleMode: 2, sampleThreshold: 2 ** 31 })],
    rules: [
      nativeRule(0, { action: REJECT, ipVersion: 4, src: mapped4('10.0.0.5'), srcLen: 128 }),
      nativeRule(0, { ipVersion: 4, proto: 6, protoMask: 0xff, src: mapped4('10.0.0.0'), srcLen: 120 }),
      nativeRule(0, { action: REJECT, ipVersion: 4, src: mapped4('192.168.0.1'), srcLen: 128 }),
    ],
  });
  const p = plan(pol, ports('mlx5_pci'));
  const rules = rulesOf(p, only(p).rules).filter((r) => r.rule.pattern.some((i) => i.type === 'ipv4') && !r.rule.pattern.some((i) => i.type === 'vlan'));
  t.is(rules.length, 2, 'the trailing reject changes nothing and is left out');
  t.deepEqual(rules[0]!.rule.actions, [{ type: 'count' }, { type: 'rss' }]);
  t.true(rules[0]!.rule.attr.priority < rules[1]!.rule.attr.priority);
  t.true(rules[1]!.rule.actions.some((a) => a.type === 'mark'));
});

test('rule capacity: what does not fit shrinks to the untagged half, then to software, with the reason', (t) => {
  const profile = defaultProfiles().byFamily('ice')!;
  const one: PortCapabilities = { ...capabilitiesFromProfile(profile), ruleCapacity: 1 };
  const p = plan(policy(), ports('net_ice'), new Map([[0, one]]));
  const s = only(p);
  t.is(s.placement, 'hybrid');
  t.is(p.rules.length, 1);
  t.is(piece(s, 'classification')!.reason,
    'ice: 1 rule matches in ingress and MARK 257; software skips its classifier for marked packets; VLAN-tagged frames are classified in software: ice: rule capacity 1 on prod0 would be exceeded (0 in use, 2 more needed) (rules r1)'.replace(' (rules r1)', ''));
  t.true(s.notTaken.includes('classification in software for VLAN-tagged frames: ice: rule capacity 1 on prod0 would be exceeded (0 in use, 2 more needed)'));
  const none: PortCapabilities = { ...one, ruleCapacity: 0 };
  const z = only(plan(policy(), ports('net_ice'), new Map([[0, none]])));
  t.is(z.placement, 'software');
  t.is(z.reason, 'software: ice: rule capacity 0 on prod0 would be exceeded (0 in use, 1 more needed)');
});

test('copies of transmitted packets are taken in software', (t) => {
  const s = only(plan(policy({ sessions: [session({ sources: 0b10 })] }), ports('mlx5_pci')));
  t.is(s.direction, 'tx');
  t.is(s.placement, 'software');
  t.is(s.reason, "copies of packets sent out of prod0 are taken in software: shadowtap's rules act on received packets");
});

test('ranges become value/mask blocks', (t) => {
  t.deepEqual(rangeBlocks(1000, 1003, 16), [{ value: 1000, mask: 0xfffc }]);
  t.deepEqual(rangeBlocks(5, 9, 16), [{ value: 5, mask: 0xffff }, { value: 6, mask: 0xfffe }, { value: 8, mask: 0xfffe }]);
  t.deepEqual(rangeBlocks(0, 4095, 12), [{ value: 0, mask: 0 }]);
  const wide = policy({ rules: [exact(0, { dportLo: 1, dportHi: 65534 })] });
  const s = only(plan(wide, ports('net_ice')));
  t.is(s.placement, 'software');
  t.regex(s.reason, /its VLAN and port ranges need 30 rte_flow rules \(more than 16 per classifier rule\)/);
});

// ---- ports and profiles ----------------------------------------------------------------

test('a port without a profile runs generic-software, and the plan says why', (t) => {
  const p = plan(policy(), ports('net_frobnicator'));
  const port = p.ports[0]!;
  t.is(port.profile, 'generic-software');
  t.is(port.matchedBy, 'fallback');
  t.is(port.matchReason, 'driver net_frobnicator matches no profile; using generic-software: every piece of the policy runs on the software path');
  t.is(only(p).reason, 'software: generic-software: no hardware profile for this port');
});

test('net_null and net_tap: the reasons name the missing capability', (t) => {
  t.is(only(plan(policy(), ports('net_null'))).reason, 'software: net_null: no rte_flow');
  t.is(only(plan(policy(), ports('net_tap'))).reason,
    'software: net_tap: no MARK in ingress (net_tap accepts only DROP/PASSTHRU/QUEUE in ingress), so hardware cannot tell the software path what it matched');
});

// ---- the probe wins -----------------------------------------------------------------------

const mlx5 = () => defaultProfiles().byFamily('mlx5')!;

test('probe: a refused transfer SAMPLE moves the mirror to NIC Rx, and the disagreement is reported', (t) => {
  const results: ProbeResult[] = [
    { probe: 'transfer/sample-mirror', ok: false, errno: -95, message: 'sample action not supported in E-Switch', errorType: 16 },
    { probe: 'transfer/count', ok: true },
    { probe: 'ingress/sample-mirror', ok: true },
  ];
  const caps = reconcile(mlx5(), results, { port: 'prod0 (port 0)' });
  t.false(caps.domains.transfer.sample.mirror);
  t.true(caps.domains.ingress.sample.mirror);
  t.deepEqual(caps.disagreements.map((d) => d.message), [
    'profile says mlx5 supports sample (ratio 1, mirror) in transfer; validate on prod0 (port 0) said: ENOTSUP (Operation not supported): sample action not supported in E-Switch (error type ACTION); the probe wins, sample (ratio 1, mirror) is not used in transfer',
  ]);
  const p = plan(policy(), ports('mlx5_pci'), new Map([[0, caps]]));
  t.is(only(p).path, 'hybrid-mirror');
  t.true(only(p).notTaken[0]!.startsWith('not all in hardware: mlx5: no SAMPLE in transfer'));
  t.is(p.ports[0]!.probed, 3);
  t.deepEqual(p.ports[0]!.disagreements, caps.disagreements.map((d) => d.message));
  t.regex(explain(p), /  ! profile says mlx5 supports sample \(ratio 1, mirror\) in transfer; validate on prod0 \(port 0\) said: ENOTSUP/);
});

test('probe: a capability the profile denies but validate accepts is used', (t) => {
  const ice = defaultProfiles().byFamily('ice')!;
  const caps = reconcile(ice, [{ probe: 'ingress/sample-mirror', ok: true }], { port: 'port 0' });
  t.true(caps.domains.ingress.sample.mirror);
  t.deepEqual(caps.domains.ingress.sample.copyActions, ['mark', 'rss']);
  t.is(caps.disagreements[0]!.message,
    'profile says ice does not support sample (ratio 1, mirror) in ingress; validate on port 0 accepted it; the probe wins, sample (ratio 1, mirror) is used in ingress');
  t.is(only(plan(policy(), ports('net_ice'), new Map([[0, caps]]))).path, 'hybrid-mirror');
});

test('probe: every probe refused with ENOSYS means no rte_flow at all', (t) => {
  const defs = probeDefinitions(0, { family: 'mlx5' });
  const caps = reconcile(mlx5(), defs.map((d) => ({ probe: d.name, ok: false, errno: 38 })), { port: 'port 0' });
  t.false(caps.flowApi);
  t.is(caps.disagreements.length, 1);
  t.regex(caps.disagreements[0]!.message, /^profile mlx5 says the driver has rte_flow; validate on port 0 said: ENOSYS \(Function not implemented\), no message from the driver for every probe/);
  t.is(only(plan(policy(), ports('mlx5_pci'), new Map([[0, caps]]))).reason, 'software: mlx5: no rte_flow');
});

test('probe: a domain where every probe fails is dropped with one disagreement', (t) => {
  const defs = probeDefinitions(0, { family: 'mlx5' }).filter((d) => d.domain === 'transfer');
  const caps = reconcile(mlx5(), defs.map((d) => ({ probe: d.name, ok: false, errno: 22, message: 'E-Switch is not in switchdev mode' })), { port: 'port 0' });
  t.false(caps.domains.transfer.supported);
  t.true(caps.domains.ingress.supported);
  t.is(caps.disagreements.length, 1);
  t.is(caps.disagreements[0]!.message,
    `profile says mlx5 accepts transfer rules; validate on port 0 refused all ${defs.length} probes in transfer (first: EINVAL (Invalid argument): E-Switch is not in switchdev mode); the probe wins, no transfer rule is planned`);
});

test('probe: missing, garbage and unset driver messages never break the report (net_tap leaves rte_flow_error unset)', (t) => {
  const net = defaultProfiles().byFamily('net_tap')!;
  const garbage = [
    { probe: 'ingress/count', ok: true },
    { probe: 'ingress/rss', ok: false },
    { probe: 'ingress/queue', ok: false, errno: Number.NaN, message: '\u0000\u0001\u00ff\ufffd' },
    { probe: 'ingress/drop', ok: false, errno: 5, message: 'x'.repeat(5000) },
    { probe: 'ingress/passthru', ok: 'yes' as unknown as boolean, errno: 'EINVAL' as unknown as number, errorType: 'bogus' },
    { probe: 'no/such-probe', ok: true },
    { probe: 42 as unknown as string, ok: true },
    null as unknown as ProbeResult,
  ];
  const caps = reconcile(net, garbage, { port: 'tap0' });
  const messages = caps.disagreements.map((d) => d.message);
  t.false(messages.some((m) => m.includes(' rss ')), 'the profile already says net_tap has no rss in ingress: no disagreement');
  t.deepEqual(caps.domains.ingress.actions, ['count']);
  t.true(messages.includes("profile says net_tap supports queue in ingress; validate on tap0 said: failed without an errno, no message from the driver; the probe wins, queue is not used in ingress"));
  t.true(messages.some((m) => m.includes('EIO (Input/output error): xxxx') && m.length < 400));
  t.deepEqual(caps.ignoredProbes, ['no/such-probe', '42', 'undefined']);
  t.is(cleanMessage('  Function\nnot   implemented\t'), 'Function not implemented');
  t.is(cleanMessage('\u0000\u0007'), undefined);
  t.is(cleanMessage(17), undefined);
  t.is(describeFailure({ probe: 'x', ok: false, errno: 95, message: 'Operation not supported', errorType: 1 }), 'ENOTSUP (Operation not supported)');
  t.is(describeFailure({ probe: 'x', ok: false, errno: 1234, errorType: 'RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER' }), 'errno 1234, no message from the driver (error type ATTR_TRANSFER)');
});

test('probe definitions: every domain gets the canonical rules, in the planner\'s shapes', (t) => {
  const defs = probeDefinitions(3, { family: 'i40e', peerPort: 5 });
  const names = defs.map((d) => d.name);
  for (const n of ['ingress/sample-mirror', 'ingress/sample-ratio', 'ingress/set_ipv4_src', 'ingress/set_ipv6_dst', 'ingress/set_mac_src', 'ingress/of_push_vlan', 'ingress/vxlan_encap', 'ingress/count', 'ingress/drop', 'ingress/queue', 'ingress/mark', 'transfer/port_id', 'egress/set_ipv4_dst']) {
    t.true(names.includes(n), n);
  }
  t.is(new Set(names).size, names.length, 'names are unique');
  const mark = defs.find((d) => d.name === 'ingress/mark')!.rule;
  t.deepEqual(mark.actions, [{ type: 'queue', index: 0 }, { type: 'mark', id: 1 }], 'i40e: a terminating fate, first, as the planner writes it');
  t.deepEqual(defs.find((d) => d.name === 'ingress/passthru')!.rule.actions, [{ type: 'passthru' }, { type: 'mark', id: 1 }]);
  const mirror = defs.find((d) => d.name === 'transfer/sample-mirror')!.rule;
  t.deepEqual(mirror.pattern[0], { type: 'represented_port', spec: { ethdev_port_id: 3 } });
  t.deepEqual(actionNames(mirror.actions), ['port_id', 'sample', 'port_id'], 'the fate where the planner puts it for this family');
  t.true(defs.every((d) => d.rule.port === 3));
});

// ---- explanations, verbatim --------------------------------------------------------------

test('explain: the ice hybrid reads as the operator would say it', (t) => {
  const p = plan(policy(), ports('net_ice'));
  const text = explain(p);
  t.notRegex(text, /undefined|NaN|\[object/);
  t.true(text.includes([
    'Session 7 on prod0 rx: hybrid: ice matches and MARKs 257; software copies',
    '  classification hardware ice: 2 rules match in ingress and MARK 257; software skips its classifier for marked packets (rules r1, r2)',
    '  mirroring      software software copies the packets hardware MARKed 257 to shadow0: ice: no SAMPLE in ingress [software stage: copy]',
    '  translation    software ice: SET_IPV4_SRC/SET_IPV4_DST unsupported in ingress, translation in software; match in hardware with MARK 257 [software stage: rewrite]',
    '  marks: decided 257',
    '  not taken: not all in hardware: ice: no transfer (E-Switch) rules',
    '  not taken: no hardware copy: ice: no SAMPLE in ingress',
  ].join('\n')), text);
  t.true(text.includes([
    '  r1   prod0 ingress priority 0: session 7: match and MARK 257; software makes the copy',
    '         flow create 0 ingress pattern eth type is 0x0800 / ipv4 src is 10.0.0.5 dst is 10.0.0.9 / tcp dst is 5432 / end actions count / mark id 257 / passthru / end',
  ].join('\n')), text);
  t.true(text.includes('  257    decided  session 7 accepts it (decided in hardware); software samples and copies it'));
  t.true(text.startsWith('Placement plan for policy generation 3: 1 session placement (0 hardware, 1 hybrid, 0 software), 2 hardware rules\n'));
});

test('explain: the i40e software placement gives its reason', (t) => {
  const text = explain(plan(policy({ rules: [matchAll()] }), ports('net_i40e')));
  t.true(text.includes([
    "Session 7 on prod0 rx: software: i40e: rules cannot be ordered (one priority level), and this session's rules overlap the control-plane punt rules",
    "  classification software classified in software: i40e: rules cannot be ordered (one priority level), and this session's rules overlap the control-plane punt rules [software stage: classify]",
    '  mirroring      software software copies to shadow0 [software stage: copy]',
    '  translation    software translated in software, with the rest of the copy [software stage: rewrite]',
  ].join('\n')), text);
});

test('explain: mlx5 VXLAN target says why encapsulation stays in software', (t) => {
  const s = only(plan(policy({ targets: [vxlanTarget] }), ports('mlx5_pci')));
  t.is(piece(s, 'encap')!.reason, 'VXLAN vni 42 in software: its outer UDP source port carries a per-flow hash (49152 + hash % 16384) that a fixed VXLAN_ENCAP header cannot');
  t.is(piece(s, 'mirroring')!.reason.split(' (not straight')[0], 'mlx5: SAMPLE ratio 1 in ingress copies to the software path with MARK 4097; software sends it to shadow0');
});

test('plan JSON: plain data that survives a round trip and matches its schema', (t) => {
  const p = plan(policy({ rules: [matchAll()] }), ports('mlx5_pci'));
  const json = planJson(p);
  t.deepEqual(JSON.parse(JSON.stringify(json)), json);
  t.true(Value.Check(PlacementPlanSchema, json));
  t.is(json.version, 1);
  t.deepEqual(json.marks.map((m) => m.mark), [1, 2, 4, 257, 4097]);
  const r: FlowRule = json.rules[0]!.rule as FlowRule;
  t.is(typeof r.attr.priority, 'number');
});

test('an armed fault keeps the sessions it may match off the hardware path (their NIC copies would bypass the impair stage)', (t) => {
  const pol = policy({ sessions: [session(), session({ id: 8, slot: 2 })], rules: [exact(0), exact(1, { dportLo: 5433, dportHi: 5433 })] });
  const free = plan(pol, ports('mlx5_pci'));
  t.deepEqual(free.sessions.map((s) => s.path), ['hardware', 'hardware']);
  const held = plan(pol, ports('mlx5_pci'), undefined, { armedFaults: [{ fault: 'db-down', session: 8 }] });
  assertSafe(t, held);
  t.deepEqual(held.sessions.map((s) => s.path), ['hardware', 'hybrid-mirror'], 'only the session the fault names leaves the hardware path');
  t.true(held.sessions[1]!.notTaken.some((n) => n.startsWith('hardware: armed fault db-down impairs this session')), held.sessions[1]!.notTaken.join('\n'));
  const any = plan(pol, ports('mlx5_pci'), undefined, { armedFaults: [{ fault: 'lossy' }, { fault: 'dry run' }] });
  t.deepEqual(any.sessions.map((s) => s.path), ['hybrid-mirror', 'hybrid-mirror'], 'a fault on no session may match every session');
  t.true(any.sessions[0]!.notTaken.some((n) => n.startsWith('hardware: armed faults lossy, dry run impair')));
});
