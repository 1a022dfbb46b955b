/**
 * Payload punts (issue 17): a session the E-Switch mirrors and rewrites on
 * its own never copies a DNS, mDNS, LLMNR, BGP or tunnel payload with only
 * its headers translated. Punt rules ahead of it send those packets to the
 * software path (which translates the payload under the leak policy), the
 * plan says so, a kind whose leak action is `pass` is left to the NIC, and a
 * port that cannot write or order the punts does not place the session in
 * hardware. The policies are compiled from configurations, as the supervisor
 * does (src/policy/compile.ts).
 */
import test from 'ava';
import { Value } from '@sinclair/typebox/value';
import { validateConfig } from '../../src/config/load.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { capabilitiesFromProfile } from '../../src/offload/probe.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { explain, plan, planJson, PlacementPlanSchema, type PlacementPlan, type PlanPort } from '../../src/offload/planner.js';

const PORTS: PlanPort[] = [
  { index: 0, name: 'prod0', role: 'production', driver: 'mlx5_pci', pciId: '15b3:101d', switchDomain: 0 },
  { index: 1, name: 'egress0', role: 'egress', driver: 'mlx5_pci', switchDomain: 0 },
  { index: 2, name: 'shadow0', role: 'shadow', driver: 'mlx5_pci', switchDomain: 0 },
];

type Filter = Record<string, unknown>;
function policyOf(filters: Filter[], leak: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  const cfg = validateConfig({
    mode: 'inline',
    ports: [
      { name: 'prod0', device: 'net_null0', egress: 'egress0' },
      { name: 'egress0', device: 'net_null1', role: 'egress', egress: 'prod0' },
      { name: 'shadow0', device: 'net_null2', role: 'shadow' },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], control_plane: { arp: false, dhcp: false, nd: false }, leak },
    sessions: [{ id: 5, target: 'lab', filters }],
    targets: [{ name: 'lab', ports: ['shadow0'] }],
    ...extra,
  });
  return compilePolicy(cfg).native;
}

const UDP_FLOW: Filter = { protocol: 'udp', src: '10.0.1.10/32', dst: '10.0.2.20/32' };
const TCP_FLOW: Filter = { protocol: 'tcp', src: '10.0.1.10/32', dst: '10.0.2.20/32' };

const puntRules = (p: PlacementPlan) => p.rules.filter((r) => r.group === 'prod0/punt');
const sessionRules = (p: PlacementPlan) => p.rules.filter((r) => r.session === 5);
const payloadLine = (p: PlacementPlan) => p.controlPlane.find((c) => c.classes.includes('dns') || c.classes.includes('bgp') || c.classes.includes('tunnel'));

function safe(t: { true: (v: boolean, m?: string) => void }, p: PlacementPlan): void {
  t.true(Value.Check(PlacementPlanSchema, planJson(p)), [...Value.Errors(PlacementPlanSchema, planJson(p))].map((e) => `${e.path} ${e.message}`).join('; '));
}

test('a UDP flow in the E-Switch: DNS, mDNS, LLMNR, VXLAN and GENEVE are punted ahead of it, and the plan says why', (t) => {
  const p = plan(policyOf([UDP_FLOW]), PORTS);
  safe(t, p);
  const s = p.sessions[0]!;
  t.is(s.path, 'hardware', s.reason);
  const punts = puntRules(p);
  // untagged and one tag (the session's two halves) x (53, 5353, 5355 both ways + 4789, 6081 to)
  t.is(punts.length, 2 * 8, punts.map((r) => r.purpose).join('\n'));
  for (const r of punts) {
    t.is(r.domain, 'transfer');
    t.is(r.rule.attr.priority, 0);
    t.deepEqual(r.rule.actions.at(-1), { type: 'port_id', id: 0 }, 'back to its own port: the software path');
    t.true(r.rule.actions.some((a) => a.type === 'mark' && a.id >= 0x10 && a.id < 0x100), 'a punt MARK, below every session MARK');
    t.false(r.rule.actions.some((a) => a.type === 'sample'), 'a punted packet is not copied by the NIC');
  }
  t.true(punts.some((r) => r.testpmd.at(-1) === 'flow create 0 transfer pattern represented_port ethdev_port_id is 0 / eth type is 0x0800 / ipv4 / udp src is 53 / end actions count / mark id 16 / port_id id 0 / end'));
  t.true(punts.some((r) => r.testpmd.at(-1)!.includes('/ udp dst is 4789 /')));
  t.false(punts.some((r) => r.testpmd.at(-1)!.includes('udp src is 4789')), 'a tunnel is known by its destination port only');
  t.false(punts.some((r) => /tcp|ipv6/.test(r.testpmd.at(-1)!)), 'nothing this IPv4 UDP session cannot match');
  t.true(sessionRules(p).filter((r) => r.rule.attr.group === 0).every((r) => r.rule.attr.priority === 1), 'the session sits below its punts');

  const piece = s.pieces.find((x) => x.kind === 'punt')!;
  t.truthy(piece);
  t.is(piece.placement, 'hybrid');
  t.deepEqual([...piece.rules].sort(), punts.map((r) => r.id).sort());
  t.regex(piece.reason, /^DNS, mDNS, LLMNR, tunnelled packets that these rules can match are punted to the software path by 16 rules/);
  const line = payloadLine(p)!;
  t.is(line.placement, 'hybrid');
  t.deepEqual(line.classes, ['dns', 'mdns', 'llmnr', 'bgp', 'ospf', 'tunnel', 'icmp_err']);
  t.regex(line.reason, /16 punt rules ahead of the NIC's copying rules MARK them \(DNS 0x10, mDNS 0x11, LLMNR 0x12, tunnelled packets 0x15\)/);
  const text = explain(p);
  t.true(text.includes('Control plane on prod0: hybrid'), text);
  t.true(text.includes('punted DNS: the whole software policy applies (as unmarked)'), text);
});

test('a TCP flow: DNS, LLMNR and BGP punted, both directions', (t) => {
  const p = plan(policyOf([TCP_FLOW]), PORTS);
  t.is(p.sessions[0]!.path, 'hardware');
  const lines = puntRules(p).map((r) => r.testpmd.at(-1)!);
  for (const port of [53, 5355, 179]) {
    t.true(lines.some((l) => l.includes(`/ tcp src is ${port} /`)), `tcp src ${port}`);
    t.true(lines.some((l) => l.includes(`/ tcp dst is ${port} /`)), `tcp dst ${port}`);
  }
  t.is(lines.length, 2 * 6);
});

test('leak action pass: the NIC may copy that kind as it is; drop is punted like translate', (t) => {
  const p = plan(policyOf([UDP_FLOW], { dns: 'pass', mdns: 'drop' }), PORTS);
  const lines = puntRules(p).map((r) => r.testpmd.at(-1)!);
  t.false(lines.some((l) => / 53 \//.test(l)), 'DNS passes: no punt for port 53');
  t.true(lines.some((l) => l.includes('udp dst is 5353')), 'mDNS is dropped in software, so it is punted');
  const piece = p.sessions[0]!.pieces.find((x) => x.kind === 'punt')!;
  t.regex(piece.reason, /DNS: leak policy pass \(translate\.leak\.dns\), so the NIC copies them with their headers translated and their payloads as they are/);
  t.false(payloadLine(p)!.classes.includes('dns'));

  const all = plan(policyOf([UDP_FLOW], { dns: 'pass', mdns: 'pass', llmnr: 'pass', bgp: 'pass', ospf: 'pass', tunnel: 'pass', icmp_err: 'pass' }), PORTS);
  t.deepEqual(puntRules(all), [], 'every kind passes: no punt');
  t.true(sessionRules(all).every((r) => r.rule.attr.priority === 0));
  t.is(payloadLine(all), undefined);
  t.is(all.sessions[0]!.pieces.find((x) => x.kind === 'punt')!.placement, 'hardware');
});

test('a session a payload cannot reach, and hybrid paths, get no payload punt', (t) => {
  // TCP to port 5432 from port 5432: none of the payload ports
  const p = plan(policyOf([{ ...TCP_FLOW, src_ports: 5432, dst_ports: 5432 }]), PORTS);
  t.is(p.sessions[0]!.path, 'hardware');
  t.deepEqual(puntRules(p), []);
  t.is(p.sessions[0]!.pieces.find((x) => x.kind === 'punt'), undefined);
  t.is(payloadLine(p)!.placement, 'software');
  // Another E-Switch: the NIC copies to the software path, which translates payloads itself.
  const other = plan(policyOf([UDP_FLOW]), PORTS.map((x) => (x.index === 2 ? { ...x, switchDomain: 1 } : x)));
  t.is(other.sessions[0]!.path, 'hybrid-mirror');
  t.deepEqual(puntRules(other), []);
  t.is(payloadLine(other), undefined);
});

test('a port that cannot hold the punts does not place the session in hardware, and says why', (t) => {
  const caps = capabilitiesFromProfile(defaultProfiles().byFamily('mlx5')!);
  // The whole session needs 16 punts + 4 rules; its untagged half 8 + 2: neither fits in 9.
  const small = { ...caps, ruleCapacity: 9 };
  const p = plan(policyOf([UDP_FLOW]), PORTS, new Map([[0, small]]));
  const s = p.sessions[0]!;
  t.not(s.path, 'hardware', s.reason);
  t.is(s.path, 'hybrid-mirror', 'the NIC copies to the software path instead, which translates payloads');
  t.true(s.notTaken.includes('not all in hardware for VLAN-tagged frames: mlx5: rule capacity 9 on prod0 would be exceeded (16 in use, 4 more needed)'), s.notTaken.join('\n'));
  t.true(s.notTaken.includes('not all in hardware: mlx5: rule capacity 9 on prod0 would be exceeded (8 in use, 2 more needed)'), s.notTaken.join('\n'));
  t.false(p.rules.some((r) => r.domain === 'transfer'), 'nothing left in the E-Switch');
});
