/**
 * Every rule shadowtap renders must be one an operator can paste into
 * dpdk-testpmd: the renderer's output for a corpus that covers every item and
 * action type (hand-written rules, the canonical probes, and real plans) is fed
 * to the installed dpdk-testpmd 22.11 on a net_null vdev, which has no rte_flow
 * and so answers "Function not implemented" to every rule it could parse.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import {
  ACTION_TYPES,
  ITEM_TYPES,
  attrFor,
  type FlowAction,
  type FlowItem,
  type FlowRule,
} from '../../src/offload/flow.js';
import { probeDefinitions } from '../../src/offload/probe.js';
import { plan, type PlanPort } from '../../src/offload/planner.js';
import { FlowRenderError, TESTPMD_MAX_LINE, parseWithTestpmd, renderTestpmd } from '../../src/offload/testpmd.js';
import type { NativePolicy, NativeRule, NativeSession, NativeTarget } from '../../src/dataplane/native-types.js';
import { mapped4, nativeRule, z16 } from '../helpers/native-rule.js';

// ---- rendering, asserted verbatim -------------------------------------------------

const ingress = (pattern: FlowItem[], actions: FlowAction[], port = 0): FlowRule => ({ port, attr: attrFor('ingress'), pattern, actions });

test('the issue example renders verbatim', (t) => {
  const rule = ingress(
    [
      { type: 'eth' },
      { type: 'ipv4', spec: { src: '10.0.0.0' }, mask: { src: '255.255.0.0' } },
      { type: 'udp', spec: { dst: 4789 } },
    ],
    [{ type: 'mark', id: 7 }, { type: 'queue', index: 0 }],
  );
  t.deepEqual(renderTestpmd(rule), [
    'flow create 0 ingress pattern eth / ipv4 src spec 10.0.0.0 src mask 255.255.0.0 / udp dst is 4789 / end actions mark id 7 / queue index 0 / end',
  ]);
  t.deepEqual(renderTestpmd(rule, { command: 'validate' }), [
    'flow validate 0 ingress pattern eth / ipv4 src spec 10.0.0.0 src mask 255.255.0.0 / udp dst is 4789 / end actions mark id 7 / queue index 0 / end',
  ]);
});

test('SAMPLE needs its copy list set first; VXLAN_ENCAP and RAW_ENCAP their set commands', (t) => {
  const vxlan: FlowAction = {
    type: 'vxlan_encap',
    definition: [
      { type: 'eth', spec: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } },
      { type: 'ipv4', spec: { src: '192.0.2.10', dst: '192.0.2.1', ttl: 64 } },
      { type: 'udp', spec: { src: 0, dst: 4789 } },
      { type: 'vxlan', spec: { vni: 42 } },
    ],
  };
  const rule: FlowRule = {
    port: 0,
    attr: attrFor('transfer', 2, 1),
    pattern: [{ type: 'represented_port', spec: { ethdev_port_id: 0 } }, { type: 'eth' }],
    actions: [
      { type: 'count' },
      { type: 'sample', ratio: 1, actions: [vxlan, { type: 'port_id', id: 2 }] },
      { type: 'raw_encap', header: [{ type: 'eth', spec: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', type: 0x8100 } }, { type: 'vlan', spec: { vid: 7, inner_type: 0x0800 } }] },
      { type: 'port_id', id: 0 },
    ],
  };
  t.deepEqual(renderTestpmd(rule), [
    'set vxlan-tos-ttl ip-version ipv4 vni 42 udp-src 0 udp-dst 4789 ip-tos 0 ip-ttl 64 ip-src 192.0.2.10 ip-dst 192.0.2.1 eth-src 02:00:00:00:00:01 eth-dst 02:00:00:00:00:02',
    'set sample_actions 0 vxlan_encap / port_id id 2 / end',
    'set raw_encap 0 eth dst is 02:00:00:00:00:02 src is 02:00:00:00:00:01 type is 0x8100 / vlan vid is 7 inner_type is 0x0800 / end_set',
    'flow create 0 group 1 priority 2 transfer pattern represented_port ethdev_port_id is 0 / eth / end actions count / sample ratio 1 index 0 / raw_encap index 0 / port_id id 0 / end',
  ]);
});

test('a malformed rule is refused with the field named', (t) => {
  const bad = ingress([{ type: 'ipv4', spec: { src: '10.0.0.300' } }], [{ type: 'drop' }]);
  const err = t.throws(() => renderTestpmd(bad), { instanceOf: FlowRenderError });
  t.is(err?.field, 'pattern[0].spec.src');
  t.regex(err?.message ?? '', /expected a dotted IPv4 address/);
  const maskOnly = ingress([{ type: 'udp', mask: { dst: 0xff00 } }], [{ type: 'drop' }]);
  t.regex(t.throws(() => renderTestpmd(maskOnly))?.message ?? '', /pattern\[0\]\.mask\.dst: a mask without its spec value/);
  const nested = ingress([{ type: 'eth' }], [{ type: 'sample', ratio: 1, actions: [{ type: 'sample', ratio: 2, actions: [] }] }]);
  t.regex(t.throws(() => renderTestpmd(nested))?.message ?? '', /actions\[0\]\.actions\[0\]\.type: a SAMPLE inside a SAMPLE/);
  const vlanAndTtl: FlowRule = ingress([{ type: 'eth' }], [{
    type: 'vxlan_encap',
    definition: [
      { type: 'eth', spec: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } },
      { type: 'vlan', spec: { tci: 5 } },
      { type: 'ipv4', spec: { src: '192.0.2.1', dst: '192.0.2.2', ttl: 9 } },
      { type: 'udp', spec: { dst: 4789 } },
      { type: 'vxlan', spec: { vni: 1 } },
    ],
  }]);
  t.regex(t.throws(() => renderTestpmd(vlanAndTtl))?.message ?? '', /actions\[0\]\.definition: testpmd has no set vxlan form with both/);
});

function longRule(): FlowRule {
  const v6 = (x: string): FlowItem => ({ type: 'ipv6', spec: { src: `2001:db8:1111:2222:3333:4444:5555:${x}`, dst: `2001:db8:1111:2222:3333:4444:6666:${x}` }, mask: { src: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00', dst: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00' } });
  const rule = ingress([{ type: 'eth' }, { type: 'vlan', spec: { vid: 8 }, mask: { vid: 0xff8 } }, v6('7700'), { type: 'tcp', spec: { src: 1024, dst: 8080 }, mask: { src: 0xfc00 } }], [
    { type: 'count' }, { type: 'mark', id: 4103 }, { type: 'set_ipv6_src', ipv6_addr: '2001:db8:9999:2222:3333:4444:5555:6666' },
    { type: 'set_ipv6_dst', ipv6_addr: '2001:db8:9999:2222:3333:4444:5555:7777' },
    { type: 'set_mac_src', mac_addr: '02:00:00:00:00:01' }, { type: 'rss', queues: [0, 1, 2, 3] },
  ]);
  return rule;
}

test('a line too long for testpmd falls back to prefix notation', (t) => {
  const [line] = renderTestpmd(longRule());
  t.true(line!.length <= TESTPMD_MAX_LINE, `${line!.length} characters`);
  t.regex(line!, /src spec 2001:db8:1111:2222:3333:4444:5555:7700 src prefix 120/);
});

// ---- the corpus ---------------------------------------------------------------------

/** Hand-written rules: every item type (with is, spec/mask) and every action type. */
function handWritten(): FlowRule[] {
  const def: FlowItem[] = [
    { type: 'eth', spec: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } },
    { type: 'ipv6', spec: { src: '2001:db8::10', dst: '2001:db8::1' } },
    { type: 'udp', spec: { src: 0, dst: 4789 } },
    { type: 'vxlan', spec: { vni: 0xabcdef } },
  ];
  const vlanDef: FlowItem[] = [def[0]!, { type: 'vlan', spec: { tci: 100 } }, { type: 'ipv4', spec: { src: '192.0.2.1', dst: '192.0.2.2' } }, def[2]!, def[3]!];
  return [
    ingress([{ type: 'eth', spec: { dst: '00:00:00:00:00:00', type: 0x0800 }, mask: { dst: '01:00:00:00:00:00' } }, { type: 'ipv4', spec: { src: '10.0.0.0', dst: '10.1.2.3', proto: 6, tos: 4, ttl: 64 }, mask: { src: '255.0.0.0' } }, { type: 'tcp', spec: { src: 1024, dst: 80, flags: 0x02 }, mask: { src: 0xfc00, flags: 0x12 } }], [{ type: 'count' }, { type: 'mark', id: 0xfffffffe }, { type: 'queue', index: 3 }]),
    ingress([{ type: 'eth' }, { type: 'vlan', spec: { vid: 8, pcp: 5, inner_type: 0x86dd }, mask: { vid: 0xff8 } }, { type: 'ipv6', spec: { src: '2001:db8::', dst: 'fe80::1', proto: 17, tc: 0, hop: 255 }, mask: { src: 'ffff:ffff::' } }, { type: 'udp', spec: { src: 53, dst: 5353 } }], [{ type: 'rss', queues: [0, 1] }]),
    ingress([{ type: 'eth' }, { type: 'vlan', spec: { tci: 0x2005 } }, { type: 'vlan', spec: { inner_type: 0x0806 } }], [{ type: 'mark', id: 1 }, { type: 'passthru' }]),
    ingress([{ type: 'eth' }, { type: 'ipv4' }, { type: 'icmp', spec: { type: 8, code: 0 } }], [{ type: 'drop' }]),
    ingress([{ type: 'eth' }, { type: 'ipv6' }, { type: 'icmp6', spec: { type: 134 }, mask: { type: 0xfe } }], [{ type: 'rss' }]),
    ingress([{ type: 'eth' }, { type: 'ipv4' }, { type: 'udp', spec: { dst: 4789 } }, { type: 'vxlan', spec: { vni: 42 } }, { type: 'eth' }], [{ type: 'jump', group: 3 }]),
    ingress([{ type: 'eth' }, { type: 'ipv4' }, { type: 'udp', spec: { dst: 6081 } }, { type: 'geneve', spec: { vni: 7, protocol: 0x6558 } }], [{ type: 'drop' }]),
    ingress([{ type: 'mark', spec: { id: 263 } }, { type: 'port_id', spec: { id: 1 } }, { type: 'eth' }], [{ type: 'queue', index: 0 }]),
    {
      port: 0, attr: attrFor('transfer', 5),
      pattern: [{ type: 'represented_port', spec: { ethdev_port_id: 0 } }, { type: 'eth' }, { type: 'ipv4', spec: { src: '10.0.0.5' } }, { type: 'udp' }],
      actions: [{ type: 'mark', id: 3 }, { type: 'sample', ratio: 1, actions: [{ type: 'raw_encap', header: [def[0]!, { type: 'ipv4', spec: { src: '192.0.2.1', dst: '192.0.2.2', proto: 17, ttl: 64 } }, { type: 'udp', spec: { dst: 6081 } }, { type: 'geneve', spec: { vni: 9, protocol: 0x6558 } }] }, { type: 'represented_port', ethdev_port_id: 1 }] }, { type: 'port_id', id: 0 }],
    },
    {
      port: 0, attr: attrFor('transfer', 0, 1),
      pattern: [{ type: 'eth' }, { type: 'ipv4' }],
      actions: [
        { type: 'set_ipv4_src', ipv4_addr: '172.16.0.5' }, { type: 'set_ipv4_dst', ipv4_addr: '172.16.0.9' },
        { type: 'set_mac_src', mac_addr: '02:00:00:00:00:09' }, { type: 'set_mac_dst', mac_addr: '02:00:00:00:00:0a' },
        { type: 'of_push_vlan', ethertype: 0x8100 }, { type: 'of_set_vlan_vid', vlan_vid: 100 }, { type: 'of_set_vlan_pcp', vlan_pcp: 3 },
        { type: 'vxlan_encap', definition: def }, { type: 'port_id', id: 2 },
      ],
    },
    {
      port: 0, attr: attrFor('egress'),
      pattern: [{ type: 'eth' }, { type: 'ipv6' }],
      actions: [{ type: 'set_ipv6_src', ipv6_addr: '2001:db8::5' }, { type: 'set_ipv6_dst', ipv6_addr: '2001:db8::9' }, { type: 'vxlan_encap', definition: vlanDef }],
    },
    ingress([{ type: 'eth' }], [{ type: 'sample', ratio: 2, actions: [{ type: 'mark', id: 4103 }, { type: 'count' }, { type: 'queue', index: 1 }] }, { type: 'rss' }]),
    longRule(),
  ];
}

function policyWith(sessions: Partial<NativeSession>[], rules: NativeRule[], o: Partial<NativePolicy> = {}, target: Partial<NativeTarget> = {}): NativePolicy {
  return {
    generation: 1, matchAll: false,
    sessions: sessions.map((s, i) => ({ id: i + 1, slot: i + 1, target: 0, sources: 1, sampleMode: 0, sampleThreshold: 0xffffffff, snaplen: 0, ratePps: 0, rateBps: 0, ...s })),
    rules,
    targets: [{ ports: [2], encap: 0, vlanId: 0, vlanPcp: 0, vni: 0, udpDstPort: 0, outerIpv6: false, outerSrc: z16(), outerDst: z16(), outerSrcMac: new Uint8Array(6), outerDstMac: new Uint8Array(6), outerTtl: 64, ...target }],
    signatures: [], map4: [{ from: 0x0a000000, to: 0xac100000, len: 24 }], map6: [], macMaps: [],
    defaultSrcMac: new Uint8Array(6), defaultDstMac: new Uint8Array(6), unmapped: 1, controlPlane: 7, fwEnabled: false, fwDefault: 0, fwRules: [],
    ...o,
  };
}

const ports = (driver: string): PlanPort[] => [
  { index: 0, name: 'prod0', role: 'production', driver, switchDomain: 0 },
  { index: 1, name: 'egress0', role: 'egress', driver, switchDomain: 0 },
  { index: 2, name: 'shadow0', role: 'shadow', driver, switchDomain: 0 },
];

/** Rules from real plans: mlx5 two stages with VLAN push, mlx5 sampling, ice and ixgbe punts, ranges. */
function planned(): FlowRule[] {
  const exact = nativeRule(0, { ipVersion: 4, proto: 6, protoMask: 0xff, src: mapped4('10.0.0.5'), srcLen: 128, dst: mapped4('10.0.0.9'), dstLen: 128, dportLo: 5432, dportHi: 5432 });
  const all = nativeRule(0);
  const ranges = nativeRule(0, { ipVersion: 4, proto: 17, protoMask: 0xff, sportLo: 1000, sportHi: 1003, vlanLo: 8, vlanHi: 15 });
  const v6a = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
  const v6b = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
  const six = nativeRule(0, { ipVersion: 6, proto: 17, protoMask: 0xff, src: v6a, srcLen: 128, dst: v6b, dstLen: 128, dportLo: 53, dportHi: 53 });
  const plans = [
    plan(policyWith([{}], [exact], {}, { encap: 1, vlanId: 100, vlanPcp: 3 }), ports('mlx5_pci')),
    plan(policyWith([{}], [six], { controlPlane: 0, defaultSrcMac: new Uint8Array([2, 0, 0, 0, 0, 0x11]), map6: [{ from: v6a, to: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), len: 48 }] }), ports('mlx5_pci')),
    plan(policyWith([{ sampleMode: 1, sampleThreshold: 2 ** 30 }], [all]), ports('mlx5_pci')),
    plan(policyWith([{}], [all]), ports('net_ice')),
    plan(policyWith([{}], [nativeRule(0, { ipVersion: 4, proto: 17, protoMask: 0xff, dportLo: 60, dportHi: 70 })], { map4: [] }), ports('mlx5_pci')),
    plan(policyWith([{}], [ranges]), ports('net_ice')),
    plan(policyWith([{}], [exact], { controlPlane: 0 }), ports('net_ixgbe')),
  ];
  return plans.flatMap((p) => p.rules.map((r) => r.rule));
}

function corpus(): FlowRule[] {
  const probes = ['mlx5', 'ice', 'i40e', 'ixgbe', 'net_tap'].flatMap((family) => probeDefinitions(0, { family, peerPort: 1, ratio: 8 }).map((d) => d.rule));
  return [...handWritten(), ...probes, ...planned()];
}

function usedTypes(rules: readonly FlowRule[]): { items: Set<string>; actions: Set<string> } {
  const items = new Set<string>();
  const actions = new Set<string>();
  const walkItems = (l: readonly FlowItem[]) => l.forEach((i) => items.add(i.type));
  const walk = (l: readonly FlowAction[]) => {
    for (const a of l) {
      actions.add(a.type);
      if (a.type === 'sample') walk(a.actions);
      if (a.type === 'vxlan_encap') walkItems(a.definition);
      if (a.type === 'raw_encap') walkItems(a.header);
    }
  };
  for (const r of rules) {
    walkItems(r.pattern);
    walk(r.actions);
  }
  return { items, actions };
}

test('the corpus covers every item and action the renderer knows', (t) => {
  const { items, actions } = usedTypes(corpus());
  t.deepEqual(ITEM_TYPES.filter((i) => !items.has(i)), []);
  t.deepEqual(ACTION_TYPES.filter((a) => !actions.has(a)), []);
});

/** Only a file check: running testpmd without our EAL flags would start a full EAL. */
function testpmdAvailable(): string | undefined {
  return existsSync('/usr/bin/dpdk-testpmd') ? undefined : 'dpdk-testpmd is not installed';
}

const skip = testpmdAvailable();
const live = skip ? test.skip : test.serial;

live(`dpdk-testpmd 22.11 parses every rendered rule (create and validate)${skip ? ` [skipped: ${skip}]` : ''}`, async (t) => {
  const rules = corpus();
  const commands: string[] = [];
  const flowLines = new Set<number>();
  for (const r of rules) {
    for (const command of ['validate', 'create'] as const) {
      for (const l of renderTestpmd(r, { command })) {
        if (l.startsWith('flow ')) flowLines.add(commands.length);
        commands.push(l);
      }
    }
  }
  const prefix = `st-tpmd-${process.pid}`;
  const res = await parseWithTestpmd(commands, { filePrefix: prefix, timeoutMs: 90_000 });
  t.false(res.timedOut, 'dpdk-testpmd timed out');
  t.false(existsSync(`/var/run/dpdk/${prefix}`), 'the EAL runtime directory was removed');
  const refused = res.lines.filter((l) => l.parseError).map((l) => `${l.command}\n    -> ${l.output || '(no answer)'}`);
  t.deepEqual(refused, [], `testpmd refused:\n${refused.join('\n')}\n--- transcript tail ---\n${res.transcript.slice(-2000)}`);
  const silent = [...flowLines].filter((i) => !res.lines[i]!.reachedDriver).map((i) => res.lines[i]!.command);
  t.deepEqual(silent, [], 'every flow line reached the driver (net_null: Function not implemented)');
  t.true(res.ok);
  t.true(commands.length > 300, `${commands.length} commands checked`);
});

live(`a deliberately broken line is reported, so the check can fail${skip ? ` [skipped: ${skip}]` : ''}`, async (t) => {
  const good = renderTestpmd(ingress([{ type: 'eth' }], [{ type: 'drop' }]), { command: 'validate' })[0]!;
  const broken = 'flow validate 0 ingress pattern eth / ipv4 src is 10.0.0.300 / end actions drop / end';
  const unknown = 'flow validate 0 ingress pattern eth / end actions frobnicate / end';
  const prefix = `st-tpmd-${process.pid}-broken`;
  const res = await parseWithTestpmd([good, broken, unknown, good], { filePrefix: prefix, timeoutMs: 60_000 });
  t.false(res.ok);
  t.deepEqual(res.lines.map((l) => l.parseError), [false, true, true, false]);
  t.regex(res.lines[1]!.output, /Bad arguments/);
  t.true(res.lines[3]!.reachedDriver, 'testpmd carried on after the bad lines');
  t.false(existsSync(`/var/run/dpdk/${prefix}`));
});
