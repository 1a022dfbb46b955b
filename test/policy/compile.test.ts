/**
 * Config → NativePolicy: defaults, ordering, expansion, thresholds, slots,
 * warnings, limits. Pure TypeScript; what the data plane does with the result
 * is tested through the real host in test/dataplane/policy-*.test.ts.
 */
import test from 'ava';
import { validateConfig } from '../../src/config/load.js';
import { CONTROL_PLANE, ENCAP, POLICY_LIMITS, RULE_ACTION, SAMPLE_MODE, SIG_BASE, UNMAPPED_RULE, type NativeRule } from '../../src/dataplane/native-types.js';
import { PolicyError } from '../../src/errors.js';
import { APPS } from '../../src/policy/apps.js';
import { compilePolicy, renderFilter, sampleThreshold, DEFAULT_SESSION_ID } from '../../src/policy/compile.js';
import { policyBase } from '../helpers/policy-config.js';

type Obj = Record<string, unknown>;

const PORTS = [
  { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap', egress: 'prod-out' },
  { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', egress: 'prod-in' },
  { name: 'shadow0', device: 'net_pcap1,tx_pcap=s0.pcap', role: 'shadow' },
  { name: 'shadow1', device: 'net_pcap2,tx_pcap=s1.pcap', role: 'shadow' },
];

/** Validated, but not compiled: compiling is what these tests do. */
function cfg(extra: Obj = {}) {
  return validateConfig({ ports: PORTS, translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] }, ...extra }, { compilePolicy: false });
}

/** @fastify/error instances are Errors but not "native" ones, which t.throws insists on. */
function thrown(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error('expected a PolicyError');
}

const mapped = (a: number, b: number, c: number, d: number) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, a, b, c, d]);

function ruleFields(r: NativeRule) {
  return {
    action: r.action, ethertype: r.ethertype, ethertypeMask: r.ethertypeMask, vlan: [r.vlanLo, r.vlanHi], ipVersion: r.ipVersion,
    proto: r.proto, protoMask: r.protoMask, src: [Array.from(r.src), r.srcLen], dst: [Array.from(r.dst), r.dstLen],
    sport: [r.sportLo, r.sportHi], dport: [r.dportLo, r.dportHi], flags: [r.tcpFlags, r.tcpFlagsMask], signature: r.signature,
  };
}

const ANY = { action: 0, ethertype: 0, ethertypeMask: 0, vlan: [0, 4096], ipVersion: 0, proto: 0, protoMask: 0, src: [Array(16).fill(0), 0], dst: [Array(16).fill(0), 0], sport: [0, 65535], dport: [0, 65535], flags: [0, 0], signature: -1 };

test('no sessions: one default session, production rx to every shadow port, accept all, the skeleton\'s translation', (t) => {
  const c = cfg({ translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }], hosts: [{ from: '10.0.1.5', to: '10.98.0.5' }] } });
  const { native, report: plan } = compilePolicy(c, { generation: 7 });
  t.is(native.generation, 7);
  t.is(native.sessions.length, 1);
  const s = native.sessions[0]!;
  t.is(s.id, DEFAULT_SESSION_ID);
  t.is(s.sources, 1 << 0, 'only prod-in (the production port), rx');
  t.is(s.sampleMode, SAMPLE_MODE.all);
  t.is(s.snaplen, 0);
  t.is(s.ratePps, 0);
  t.is(native.targets.length, 1);
  t.deepEqual(native.targets[0]!.ports, [2, 3]);
  t.is(native.targets[0]!.encap, ENCAP.none);
  t.is(native.rules.length, 1);
  t.deepEqual(ruleFields(native.rules[0]!), ANY);
  t.deepEqual(native.map4, [
    { from: 0x0a000000, to: 0x0a630000, len: 16 },
    { from: 0x0a000105, to: 0x0a620005, len: 32 },
  ]);
  t.is(native.map6.length, 1);
  t.is(native.unmapped, UNMAPPED_RULE.drop);
  t.is(native.controlPlane, CONTROL_PLANE.arp | CONTROL_PLANE.dhcp | CONTROL_PLANE.nd);
  t.deepEqual(Array.from(native.defaultSrcMac), [0x02, 0x53, 0x48, 0, 0, 1]);
  t.deepEqual(Array.from(native.defaultDstMac), [0x02, 0x53, 0x48, 0, 0, 2]);
  t.false(native.fwEnabled);
  t.true(plan.sessions[0]!.implicit);
  t.regex(plan.explain[0]!, /^no sessions configured: the default session mirrors everything/);
  t.deepEqual(plan.warnings, []);
});

test('sessions run by priority then id; sources, sampling, snaplen, rate and target are carried', (t) => {
  const c = cfg({
    targets: [{ name: 'a', ports: ['shadow1'] }],
    sessions: [
      { id: 30, priority: 10 },
      { id: 20, priority: 10, sources: [{ port: 'prod-out', direction: 'both' }], target: 'a', sample: { percent: 25, mode: 'packet' }, snaplen: 96, rate: { pps: 5000, bps: 8000000 } },
      { id: 10, priority: 50, sources: [{ port: 'prod-in', direction: 'tx' }] },
    ],
  });
  const { native } = compilePolicy(c);
  t.deepEqual(native.sessions.map((s) => s.id), [20, 30, 10]);
  const [s20, s30, s10] = native.sessions;
  t.is(s20!.sources, (1 << 2) | (1 << 3), 'prod-out is port 1: rx bit 2, tx bit 3');
  t.is(s20!.target, 0);
  t.is(s20!.sampleMode, SAMPLE_MODE.packet);
  t.is(s20!.sampleThreshold, 2 ** 30);
  t.is(s20!.snaplen, 96);
  t.is(s20!.ratePps, 5000);
  t.is(s20!.rateBps, 8000000);
  t.is(s30!.sources, 1, 'default sources: production ports rx');
  t.is(s30!.target, 1, 'no target: the implicit every-shadow-port target, after the named ones');
  t.deepEqual(native.targets[1]!.ports, [2, 3]);
  t.is(s10!.sources, 1 << 1, 'prod-in tx');
  // Rules carry the index of their session in evaluation order.
  t.deepEqual(native.rules.map((r) => r.session), [0, 1, 2]);
  t.false(native.matchAll);
  t.true(compilePolicy(cfg({ match: 'all', sessions: [{ id: 1 }] })).native.matchAll);
});

test('sample thresholds: round(pct / 100 * 2^32), clamped; 100 % is "all"', (t) => {
  t.is(sampleThreshold(0), 0);
  t.is(sampleThreshold(50), 2 ** 31);
  t.is(sampleThreshold(12.5), 2 ** 29);
  t.is(sampleThreshold(0.0001), Math.round(0.000001 * 2 ** 32));
  t.is(sampleThreshold(99.99999999999), 0xffffffff);
  t.is(sampleThreshold(100), 0xffffffff);
  const n = compilePolicy(cfg({ sessions: [{ id: 1, sample: { percent: 0 } }, { id: 2, sample: { percent: 100, mode: 'packet' } }, { id: 3, sample: { percent: 1 } }] })).native;
  t.deepEqual(n.sessions.map((s) => [s.sampleMode, s.sampleThreshold]), [
    [SAMPLE_MODE.flow, 0],
    [SAMPLE_MODE.all, 0xffffffff],
    [SAMPLE_MODE.flow, Math.round(0.01 * 2 ** 32)],
  ]);
});

test('a rule expands into the product of its addresses and ports; IPv4 as IPv4-mapped IPv6, length + 96', (t) => {
  const { native, report: plan } = compilePolicy(cfg({
    sessions: [{ id: 1, filters: [{ protocol: 'tcp', src: ['10.0.0.0/16', '10.1.2.3'], dst_ports: [80, '8000-8080'] }] }],
  }));
  t.is(native.rules.length, 4);
  t.deepEqual(native.rules.map((r) => [Array.from(r.src), r.srcLen, r.dportLo, r.dportHi]), [
    [Array.from(mapped(10, 0, 0, 0)), 112, 80, 80],
    [Array.from(mapped(10, 0, 0, 0)), 112, 8000, 8080],
    [Array.from(mapped(10, 1, 2, 3)), 128, 80, 80],
    [Array.from(mapped(10, 1, 2, 3)), 128, 8000, 8080],
  ]);
  for (const r of native.rules) {
    t.is(r.ipVersion, 0, 'an IPv4 prefix does not exclude ARP of that subnet (classify.h keys ARP by its addresses)');
    t.is(r.proto, 6);
    t.is(r.protoMask, 0xff);
    t.is(r.dstLen, 0);
  }
  t.is(plan.sessions[0]!.rules[0]!.classifierRules, 4);
  t.is(plan.sessions[0]!.rules[0]!.line, 'accept tcp from 10.0.0.0/16,10.1.2.3 to any port 80,8000-8080');
});

test('IPv6 prefixes, EtherType, VLAN, TCP flags and signatures become their classifier fields', (t) => {
  const { native } = compilePolicy(cfg({
    sessions: [{
      id: 1,
      filters: [
        { action: 'reject', src: 'fd00:1::/32', dst: 'fd00::5', ip_version: 6 },
        { ethertype: 'arp', vlan: 'untagged' },
        { ethertype: 0x88cc, vlan: '100-199' },
        { tcp_flags: { set: ['syn'], unset: ['ack', 'rst'] } },
        { signature: { base: 'payload', offset: 2, bytes: '0x47 45 54', mask: 'ff:ff:df' } },
        { signature: { base: 'l3', bytes: '45' } },
        { signature: { base: 'payload', offset: 2, text: 'GET', mask: 'ffffdf' }, protocol: 'tcp' },
      ],
    }],
  }));
  const r = native.rules.map(ruleFields);
  const v6 = (s: string) => Array.from(Buffer.from(s.replace(/:/g, ''), 'hex'));
  t.deepEqual(r[0], { ...ANY, action: RULE_ACTION.reject, ipVersion: 6, src: [v6('fd00:0001:0000:0000:0000:0000:0000:0000'), 32], dst: [v6('fd00:0000:0000:0000:0000:0000:0000:0005'), 128] });
  t.deepEqual(r[1], { ...ANY, ethertype: 0x0806, ethertypeMask: 0xffff, vlan: [4096, 4096] });
  t.deepEqual(r[2], { ...ANY, ethertype: 0x88cc, ethertypeMask: 0xffff, vlan: [100, 199] });
  t.deepEqual(r[3], { ...ANY, proto: 6, protoMask: 0xff, flags: [0x02, 0x02 | 0x10 | 0x04] });
  t.deepEqual(r[4], { ...ANY, signature: 0 });
  t.deepEqual(r[5], { ...ANY, signature: 1 });
  t.deepEqual(r[6], { ...ANY, proto: 6, protoMask: 0xff, signature: 0 }, 'the same bytes, mask, base and offset share signature 0');
  t.deepEqual(native.signatures.map((s) => ({ base: s.base, offset: s.offset, value: Array.from(s.value), mask: Array.from(s.mask) })), [
    { base: SIG_BASE.payload, offset: 2, value: [0x47, 0x45, 0x54], mask: [0xff, 0xff, 0xdf] },
    { base: SIG_BASE.l3, offset: 0, value: [0x45], mask: [0xff] },
  ]);
});

test('application classes expand into either-direction port rules, combined with the rule\'s own fields', (t) => {
  const dns = compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ app: 'dns' }] }] })).native.rules;
  t.is(dns.length, APPS.dns.alternatives.length);
  t.deepEqual(
    dns.map((r) => [r.proto, r.sportLo, r.sportHi, r.dportLo, r.dportHi]).sort(),
    [[17, 0, 65535, 53, 53], [17, 53, 53, 0, 65535], [6, 0, 65535, 53, 53], [6, 53, 53, 0, 65535]].sort(),
  );
  const dnsUdp = compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ app: 'dns', protocol: 'udp', src: '10.0.0.0/16' }] }] })).native.rules;
  t.is(dnsUdp.length, 2, 'the TCP alternatives contradict protocol udp and are left out');
  t.true(dnsUdp.every((r) => r.proto === 17 && r.srcLen === 112 && r.ipVersion === 0));
  const icmp = compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ app: 'icmp' }] }] })).native.rules;
  t.deepEqual(icmp.map((r) => [r.ipVersion, r.proto]), [[4, 1], [6, 58]]);
  const icmp4 = compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ app: 'icmp', src: '10.0.0.0/16' }] }] })).native.rules;
  t.deepEqual(icmp4.map((r) => [r.ipVersion, r.proto]), [[4, 1]], 'an IPv4 source keeps only the ICMPv4 part');
  const ospf = compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ app: ['ospf', 'bgp'] }] }] })).native.rules;
  t.deepEqual(ospf.map((r) => [r.proto, r.sportLo, r.dportLo]), [[89, 0, 0], [6, 0, 179], [6, 179, 0]]);
  const arp = compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ app: 'arp' }] }] })).native.rules;
  t.deepEqual(arp.map((r) => [r.ethertype, r.ethertypeMask, r.ipVersion]), [[0x0806, 0xffff, 0]]);
  const http8080 = compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ app: 'http', dst_ports: '8000-9000' }] }] })).native.rules;
  t.deepEqual(http8080.map((r) => [r.sportLo, r.sportHi, r.dportLo, r.dportHi]), [[80, 80, 8000, 9000], [0, 65535, 8080, 8080], [8080, 8080, 8000, 9000]]);
});

test('counter slots stay with session ids and rule ids across updates; freed slots are reused last', (t) => {
  const one = compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ id: 'web', protocol: 'tcp' }, { id: 'dns', app: 'dns' }] }, { id: 2 }] }));
  const slotsOf = (p: typeof one) => Object.fromEntries(p.report.sessions.map((s) => [s.id, { slot: s.slot, rules: Object.fromEntries(s.rules.map((r) => [r.id, r.slots])) }]));
  const before = slotsOf(one);
  t.deepEqual(before, { 1: { slot: 0, rules: { web: [0], dns: [1, 2, 3, 4] } }, 2: { slot: 1, rules: { all: [5] } } });
  // A new session above, a new rule above, session 2 gone.
  const two = compilePolicy(
    cfg({ sessions: [{ id: 3, priority: 1 }, { id: 1, filters: [{ id: 'ssh', app: 'ssh' }, { id: 'web', protocol: 'tcp' }, { id: 'dns', app: 'dns' }] }] }),
    { slots: one.slots, generation: 2 },
  );
  const after = slotsOf(two);
  t.is(after[1]!.slot, 0, 'session 1 keeps its slot');
  t.deepEqual(after[1]!.rules['web'], [0], 'rule web keeps its slot though it moved down');
  t.deepEqual(after[1]!.rules['dns'], [1, 2, 3, 4]);
  t.is(after[3]!.slot, 2, 'a new session takes a never-used slot, not the one session 2 freed');
  t.deepEqual(after[3]!.rules['all'], [6], 'new rules take never-used slots too');
  t.deepEqual(after[1]!.rules['ssh'], [7, 8]);
  t.deepEqual(two.freshSessionSlots, [2]);
  t.deepEqual(two.freshRuleSlots.sort((a, b) => a - b), [6, 7, 8]);
  // Compile never changes the allocator it was given.
  t.deepEqual(slotsOf(compilePolicy(cfg({ sessions: [{ id: 9 }] }), { slots: one.slots })), { 9: { slot: 2, rules: { all: [6] } } });
});

test('rules without ids are known by position', (t) => {
  const { report: plan } = compilePolicy(cfg({ sessions: [{ id: 4, filters: [{ protocol: 'tcp' }, { protocol: 'udp' }] }] }));
  t.deepEqual(plan.sessions[0]!.rules.map((r) => r.id), ['1', '2']);
});

test('targets: VLAN, VXLAN and GENEVE fields, default UDP ports and MACs, IPv6 outer', (t) => {
  const { native, report: plan } = compilePolicy(validateConfig(policyBase()));
  const [local, remote, remote6, plain] = native.targets;
  t.deepEqual([local!.encap, local!.vlanId, local!.vlanPcp, local!.ports], [ENCAP.vlan, 100, 3, [2]]);
  t.is(remote!.encap, ENCAP.vxlan);
  t.is(remote!.vni, 4242);
  t.is(remote!.udpDstPort, 4789);
  t.false(remote!.outerIpv6);
  t.deepEqual(Array.from(remote!.outerSrc.subarray(0, 4)), [192, 0, 2, 10]);
  t.deepEqual(Array.from(remote!.outerDst.subarray(0, 4)), [192, 0, 2, 1]);
  t.deepEqual(Array.from(remote!.outerDstMac), [0x02, 0xaa, 0, 0, 0, 1]);
  t.deepEqual(Array.from(remote!.outerSrcMac), [0x02, 0x53, 0x48, 0, 0, 1], 'default: shadow.mac.src');
  t.is(remote!.outerTtl, 32);
  t.deepEqual([remote6!.encap, remote6!.vni, remote6!.udpDstPort, remote6!.outerIpv6, remote6!.outerTtl], [ENCAP.geneve, 7, 6082, true, 64]);
  t.deepEqual(Array.from(remote6!.outerDst), [0xfd, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  t.deepEqual([plain!.encap, plain!.ports], [ENCAP.none, [2, 3]]);
  t.deepEqual(plan.targets.map((x) => x.encap), [
    'vlan 100 pcp 3',
    'vxlan vni 4242 192.0.2.10 -> 192.0.2.1 udp/4789 ttl 32',
    'geneve vni 7 fd10::1 -> fd10::2 udp/6082 ttl 64',
    'no encapsulation',
  ]);
  t.is(native.unmapped, UNMAPPED_RULE.count);
  t.is(native.controlPlane, CONTROL_PLANE.arp | CONTROL_PLANE.nd);
  t.deepEqual(native.macMaps.map((m) => [Array.from(m.from), Array.from(m.to)]), [[[2, 0, 0, 0, 1, 5], [2, 0x99, 0, 0, 1, 5]]]);
  t.true(native.matchAll);
});

test('security rules: expanded, allow = accept, deny = reject, the default carried', (t) => {
  const { native, report: plan } = compilePolicy(validateConfig(policyBase()));
  t.true(native.fwEnabled);
  t.is(native.fwDefault, RULE_ACTION.reject);
  t.deepEqual(native.fwRules.map((r) => [r.action, r.ipVersion, r.proto, r.dstLen, r.srcLen, r.dportLo, r.dportHi]), [
    [RULE_ACTION.accept, 0, 6, 120, 0, 80, 80],
    [RULE_ACTION.accept, 0, 6, 120, 0, 443, 443],
    [RULE_ACTION.reject, 0, 0, 0, 120, 0, 65535],
    [RULE_ACTION.reject, 0, 0, 0, 120, 0, 65535],
  ]);
  t.deepEqual(plan.security.lines, ['security rule web: allow tcp from any to 10.99.1.0/24 port 80,443', 'security rule 2: deny from 10.99.9.0/24,10.99.8.0/24 to any']);
});

test('warnings: a rule covered by an earlier one is shadowed; a partial overlap with another action is named', (t) => {
  const { report: plan } = compilePolicy(cfg({
    sessions: [{
      id: 1,
      filters: [
        { id: 'web', protocol: 'tcp', src: '10.0.0.0/16', dst_ports: '80-90' },
        { id: 'web-sub', action: 'reject', protocol: 'tcp', src: '10.0.1.0/24', dst_ports: 80 },
        { id: 'again', protocol: 'tcp', src: '10.0.0.0/16', dst_ports: 85 },
        { id: 'udp-any', action: 'reject', protocol: 'udp' },
        { id: 'dns', app: 'dns' },
        { id: 'other', protocol: 'tcp', dst_ports: 22 },
      ],
    }],
  }));
  t.deepEqual(plan.warnings, [
    { path: 'sessions[0].filters[1]', message: "rule web-sub (reject tcp from 10.0.1.0/24 to any port 80) is shadowed by earlier rule web (accept tcp from 10.0.0.0/16 to any port 80-90): it never decides anything; the earlier rule's action wins" },
    { path: 'sessions[0].filters[2]', message: 'rule again (accept tcp from 10.0.0.0/16 to any port 85) is shadowed by earlier rule web (accept tcp from 10.0.0.0/16 to any port 80-90): it never decides anything (redundant)' },
    { path: 'sessions[0].filters[4]', message: 'rule dns (accept app dns) overlaps earlier rule udp-any (reject udp); where both match, rule udp-any decides (reject)' },
  ]);
});

test('no warnings for disjoint rules, nor across sessions', (t) => {
  const { report: plan } = compilePolicy(cfg({
    sessions: [
      { id: 1, filters: [{ protocol: 'tcp', dst_ports: 80 }, { protocol: 'tcp', dst_ports: 81 }, { protocol: 'udp' }, { src: 'fd00::/16' }] },
      { id: 2, filters: [{ protocol: 'tcp', dst_ports: 80 }] },
    ],
  }));
  t.deepEqual(plan.warnings, []);
});

test('limits: too many classifier rules after expansion, and a rule that can never match, are problems naming the field', (t) => {
  const many = Array.from({ length: 64 }, (_, i) => `10.${i}.0.0/16`);
  const ports = Array.from({ length: 64 }, (_, i) => 1000 + i);
  const err = thrown(() => compilePolicy(cfg({ sessions: [{ id: 1, filters: [{ protocol: 'tcp', src: many, dst: many, dst_ports: ports }] }] })));
  t.deepEqual(err.problems, [{ path: 'sessions[0].filters[0]', message: `this rule expands into ${64 ** 3} classifier rules (addresses x ports x app alternatives); at most ${POLICY_LIMITS.rules}` }]);
  const sessions = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, filters: [{ protocol: 'tcp', src: many, dst_ports: ports }] }));
  const total = thrown(() => compilePolicy(cfg({ sessions })));
  t.deepEqual(total.problems, [{ path: 'sessions', message: `the filters expand into ${5 * 64 * 64} classifier rules; at most ${POLICY_LIMITS.rules} (lists of addresses, ports and apps multiply)` }]);
});

test('renderFilter reads like the rule', (t) => {
  const line = (f: Obj) => renderFilter({ action: 'accept', ...f } as never);
  t.is(line({}), 'accept everything');
  t.is(line({ action: 'reject', ip_version: 6, protocol: 17, src_ports: '1024-65535' }), 'reject ipv6 udp from any port 1024-65535 to any');
  t.is(line({ ethertype: 2054, vlan: 'untagged' }), 'accept ethertype arp untagged');
  t.is(line({ vlan: 7, tcp_flags: { set: ['syn'], unset: ['ack'] } }), 'accept vlan 7 tcp flags syn,!ack');
  t.is(line({ app: ['dns', 'ntp'], description: 'resolvers' }), 'accept app dns,ntp (resolvers)');
  t.is(line({ signature: { base: 'payload', offset: 0, text: 'GET ' } }), 'accept signature payload+0 = "GET "');
  t.is(line({ signature: { base: 'l4', offset: 13, bytes: '12', mask: '3f' } }), 'accept signature l4+13 = 0x12 mask 0x3f');
});

test('explanations: one line per session, target and rule', (t) => {
  const { report: plan } = compilePolicy(validateConfig(policyBase()));
  t.is(plan.explain[0], '2 sessions, evaluated by priority then id; every accepting session mirrors a packet (match: all)');
  t.true(plan.explain.includes('target remote: shadow1, vxlan vni 4242 192.0.2.10 -> 192.0.2.1 udp/4789 ttl 32'));
  t.true(plan.explain.includes('session 10 (priority 5, web): from prod-in rx, prod-out both to target remote; 12.5% per packet, snaplen 128, at most 1000 pps, at most 10000000 bit/s'));
  t.true(plan.explain.includes('  rule syn: accept tcp from any to any port 80,443 flags syn,!ack [2 classifier rules]'));
  t.true(plan.explain.includes('control-plane payload translation: arp, nd'));
  t.true(plan.explain.some((l) => l.startsWith('translation: 2 IPv4 and 2 IPv6 maps (2 host overrides), 1 MAC maps; copies with an unmapped address are counted, not sent')));
});

test('a 1,000-rule policy compiles quickly, with stable slots on recompile', (t) => {
  const filters = Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, protocol: i % 2 ? 'udp' : 'tcp', src: `10.${i >> 8}.${i & 255}.0/24`, dst_ports: 1000 + i }));
  const c = cfg({ sessions: [{ id: 1, filters }] });
  const t0 = performance.now();
  const a = compilePolicy(c);
  const ms = performance.now() - t0;
  t.is(a.native.rules.length, 1000);
  t.deepEqual(a.report.warnings, []);
  t.true(ms < 5000, `compile took ${ms.toFixed(0)} ms`);
  t.log(`1,000-rule policy compiled in ${ms.toFixed(1)} ms`);
  const b = compilePolicy(c, { slots: a.slots, generation: 2 });
  t.deepEqual(b.native.rules.map((r) => r.ruleSlot), a.native.rules.map((r) => r.ruleSlot));
  t.deepEqual(b.freshRuleSlots, []);
});
