/**
 * Port facts: vdev driver names from the device string, PCI ids and kernel
 * drivers from a fake sysfs tree (an E810 and a ConnectX-6 Dx), the data
 * plane's driver names winning once it has run, net_shadowsim taking the
 * family of its generated profile file (and nothing else), and the plan
 * saying where each port's facts came from.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { validateConfig } from '../../src/config/load.js';
import type { NativePortInfo } from '../../src/dataplane/native-types.js';
import { explain, PlacementPlanSchema, planJson } from '../../src/offload/planner.js';
import {
  deviceArgs,
  placementPlan,
  portFacts,
  readPciFacts,
  simProfileOf,
  vdevDriver,
} from '../../src/offload/port-facts.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { CX6DX, E810, fakeSysfs } from '../helpers/fake-sysfs.js';

const config = (ports: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  validateConfig({ mode: 'tap', ports, ...extra }, { source: 'test config' });

const live = (portId: number, name: string, driver: string): NativePortInfo => ({ portId, name, driver, maxRxQueues: 16, maxTxQueues: 16, mac: '02:00:00:00:00:01' });

test('vdev drivers come from the device name', (t) => {
  const table: [string, string][] = [
    ['net_pcap0,rx_pcap=in.pcap,infinite_rx=1', 'net_pcap'],
    ['net_pcap12', 'net_pcap'],
    ['net_null0,no-rx=1', 'net_null'],
    ['net_ring3', 'net_ring'],
    ['net_tap0,iface=st-shadow0', 'net_tap'],
    ['net_af_packet0,iface=veth1', 'net_af_packet'],
    ['net_shadowsim0,profile=/tmp/x.sim', 'net_shadowsim'],
  ];
  for (const [device, driver] of table) t.is(vdevDriver(device), driver, device);
  t.is(vdevDriver('0000:3b:00.0,rxq_cqe_comp_en=0'), undefined);

  const facts = portFacts(
    config([
      { name: 'a', device: 'net_pcap0,rx_pcap=in.pcap' },
      { name: 'b', device: 'net_null0,no-rx=1', role: 'shadow' },
      { name: 'c', device: 'net_ring0', role: 'shadow' },
      { name: 'd', device: 'net_tap0,iface=x', role: 'shadow' },
      { name: 'e', device: 'net_af_packet0,iface=veth1', role: 'shadow' },
    ]).ports,
  );
  t.deepEqual(facts.map((f) => [f.port.driver, f.profile.family, f.matchedBy, f.driverSource]), [
    ['net_pcap', 'net_pcap', 'driver', 'device-name'],
    ['net_null', 'net_null', 'driver', 'device-name'],
    ['net_ring', 'net_ring', 'driver', 'device-name'],
    ['net_tap', 'net_tap', 'driver', 'device-name'],
    ['net_af_packet', 'net_af_packet', 'driver', 'device-name'],
  ]);
  t.deepEqual(facts[0]!.port, { index: 0, name: 'a', role: 'production', driver: 'net_pcap' });
  t.deepEqual(facts.map((f) => f.port.index), [0, 1, 2, 3, 4]);
  for (const f of facts) {
    t.is(f.capabilities.family, f.profile.family);
    t.is(f.capabilities.probed, 0);
    t.true(f.notes.some((n) => n.startsWith('not probed: ')), f.port.name);
  }
});

test('devargs: commas inside brackets stay with their value', (t) => {
  const a = deviceArgs('0000:3b:00.0,representor=[0,1],dv_flow_en=1,flag');
  t.deepEqual([...a], [['representor', '[0,1]'], ['dv_flow_en', '1'], ['flag', '']]);
});

test('PCI ports: vendor:device and kernel driver from sysfs, matched by PCI id (E810, ConnectX-6 Dx)', (t) => {
  const sys = fakeSysfs([E810, CX6DX, { pci: '0000:af:00.0', vendor: '8086', device: '1592' }]);
  t.teardown(sys.cleanup);
  const e = readPciFacts('0000:3B:00.0', sys.root);
  t.deepEqual(e, { bdf: '0000:3b:00.0', present: true, pciId: '8086:1592', kernelDriver: 'vfio-pci', path: join(sys.root, 'sys/bus/pci/devices/0000:3b:00.0') });
  t.false(readPciFacts('0000:01:00.0', sys.root).present);

  const facts = portFacts(
    config([
      { name: 'ice0', device: '0000:3B:00.0' },
      { name: 'cx0', device: '0000:5e:00.0,dv_flow_en=1' },
      { name: 'unbound', device: '0000:af:00.0' },
      { name: 'absent', device: '0000:01:00.0' },
      { name: 'shadow0', device: 'net_null0,no-rx=1', role: 'shadow' },
    ]).ports,
    { root: sys.root },
  );
  const [ice, cx, unbound, absent] = facts;
  t.deepEqual(ice!.port, { index: 0, name: 'ice0', role: 'production', driver: 'vfio-pci', pciId: '8086:1592' });
  t.is(ice!.profile.family, 'ice');
  t.is(ice!.matchedBy, 'pci');
  t.is(ice!.driverSource, 'sysfs');
  t.regex(ice!.reason, /PCI id 8086:1592 \(E810-C for QSFP\) matches profile ice/);
  t.true(ice!.notes.some((n) => /vfio-pci is the kernel driver sysfs reports/.test(n)));

  t.deepEqual(cx!.port, { index: 1, name: 'cx0', role: 'production', driver: 'mlx5_core', pciId: '15b3:101d' });
  t.is(cx!.profile.family, 'mlx5');
  t.is(cx!.matchedBy, 'pci');
  t.regex(cx!.reason, /ConnectX-6 Dx/);
  t.true(cx!.capabilities.domains.transfer.supported);

  t.is(unbound!.port.driver, 'unknown');
  t.is(unbound!.profile.family, 'ice');
  t.regex(unbound!.reason, /^0000:af:00\.0 is bound to no driver; its PCI id 8086:1592 \(E810-C for QSFP\) matches profile ice$/);
  t.true(unbound!.notes.some((n) => /DPDK cannot use it until it is bound/.test(n)));

  t.is(absent!.profile.family, 'generic-software');
  t.is(absent!.matchedBy, 'fallback');
  t.is(absent!.port.pciId, undefined);
  t.regex(absent!.reason, /^PCI device 0000:01:00\.0 is not on this host \(no .*sys\/bus\/pci\/devices\/0000:01:00\.0\).*using generic-software: every piece of the policy runs on the software path$/);
});

test("the data plane's driver names win once it has run; the PCI id still comes from sysfs", (t) => {
  const sys = fakeSysfs([E810]);
  t.teardown(sys.cleanup);
  const ports = config([
    { name: 'ice0', device: '0000:3b:00.0' },
    { name: 'shadow0', device: 'net_null0,no-rx=1', role: 'shadow' },
  ]).ports;
  const facts = portFacts(ports, { root: sys.root, live: [live(0, '0000:3b:00.0', 'net_ice'), live(2, 'net_null0', 'net_null')] });
  t.deepEqual(facts[0]!.port, { index: 0, name: 'ice0', role: 'production', driver: 'net_ice', pciId: '8086:1592' });
  t.is(facts[0]!.driverSource, 'dataplane');
  t.is(facts[0]!.matchedBy, 'driver');
  t.regex(facts[0]!.reason, /^driver net_ice matches profile ice \(E810-C for QSFP, 8086:1592\)/);
  t.false(facts[0]!.notes.some((n) => /kernel driver/.test(n)));
  t.is(facts[1]!.driverSource, 'dataplane');
  t.true(facts[1]!.notes.some((n) => /reports DPDK port id 2 for it; the plan's rules name port 1/.test(n)));
});

test('net_shadowsim: the family of its generated profile file, with the capacity devarg; anything else is generic-software', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-simfacts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const set = defaultProfiles();
  const mlx5 = set.byFamily('mlx5')!;
  writeFileSync(join(dir, 'mlx5.sim'), renderSimProfile(mlx5));
  writeFileSync(join(dir, 'ice-cap8.sim'), renderSimProfile(set.byFamily('ice')!, { capacity: 8 }));
  writeFileSync(join(dir, 'edited.sim'), renderSimProfile(mlx5).replace(/^actions ingress .*$/m, 'actions ingress count drop'));
  writeFileSync(join(dir, 'other.txt'), 'hello\n');
  writeFileSync(join(dir, 'alien.sim'), 'shadowsim-profile 1\nfamily acme9000\n');

  const ok = simProfileOf('net_shadowsim0,profile=mlx5.sim,capacity=64', set, dir);
  t.true(ok.ok);
  if (ok.ok) {
    t.is(ok.profile.family, 'mlx5');
    t.is(ok.capacity, 64);
  }
  const ice = simProfileOf(`net_shadowsim1,profile=${join(dir, 'ice-cap8.sim')}`, set);
  t.true(ice.ok && ice.profile.family === 'ice' && ice.capacity === 8, 'the file\'s capacity when no devarg');

  const refused: [string, RegExp][] = [
    ['net_shadowsim0,rx_pcap=a.pcap', /no profile= devarg/],
    ['net_shadowsim0,profile=missing.sim', /cannot be read \(ENOENT\)/],
    ['net_shadowsim0,profile=other.txt', /is not a net_shadowsim profile/],
    ['net_shadowsim0,profile=alien.sim', /family "acme9000", which no hw-profile describes/],
    ['net_shadowsim0,profile=edited.sim', /is not what src\/offload\/sim-profile\.ts renders from hw-profiles\/mlx5\.json today \("actions ingress count drop" where .* gives "actions ingress /],
  ];
  for (const [device, why] of refused) {
    const r = simProfileOf(device, set, dir);
    t.false(r.ok, device);
    if (!r.ok) t.regex(r.why, why, device);
  }

  const facts = portFacts(
    config([
      { name: 'sim0', device: 'net_shadowsim0,profile=mlx5.sim,capacity=64' },
      { name: 'sim1', device: 'net_shadowsim1,profile=edited.sim' },
      { name: 'shadow0', device: 'net_null0,no-rx=1', role: 'shadow' },
    ]).ports,
    { cwd: dir },
  );
  t.is(facts[0]!.port.driver, 'net_shadowsim');
  t.is(facts[0]!.profile.family, 'mlx5');
  t.is(facts[0]!.matchedBy, 'sim-profile');
  t.is(facts[0]!.capabilities.family, 'mlx5');
  t.is(facts[0]!.capabilities.ruleCapacity, 64);
  t.regex(facts[0]!.reason, /^net_shadowsim emulates mlx5 \(.*\): profile=.*mlx5\.sim is rendered from hw-profiles\/mlx5\.json, with a capacity of 64 rules$/);
  t.is(facts[1]!.profile.family, 'generic-software');
  t.is(facts[1]!.capabilities.family, 'generic-software');
  t.regex(facts[1]!.reason, /^net_shadowsim emulates no known profile: .*regenerate it; using generic-software/);

  // The plan shows the emulated family and why, not the planner's view of the driver name alone.
  const cfg = config(
    [
      { name: 'sim0', device: 'net_shadowsim0,profile=mlx5.sim,capacity=64' },
      { name: 'shadow0', device: 'net_null0,no-rx=1', role: 'shadow' },
    ],
    { translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] } },
  );
  const p = placementPlan({ config: cfg, policy: compilePolicy(cfg).native, ports: null }, { cwd: dir });
  const port = p.ports[0]!;
  t.is(port.profile, 'mlx5');
  t.is(port.matchedBy, 'capabilities');
  t.is(port.ruleCapacity, 64);
  t.regex(port.matchReason, /^net_shadowsim emulates mlx5/);
  t.false(port.notes.some((n) => /capabilities given for family/.test(n)), port.notes.join('; '));
  t.true(port.notes.some((n) => n.startsWith('not probed: ')));
  t.is(p.sessions[0]!.placement, 'hybrid');
});

test('placementPlan: a ConnectX-6 Dx production port from sysfs plans on mlx5, each port saying it was not probed', (t) => {
  const sys = fakeSysfs([CX6DX]);
  t.teardown(sys.cleanup);
  const cfg = config(
    [
      { name: 'prod0', device: '0000:5e:00.0' },
      { name: 'shadow0', device: 'net_pcap0,tx_pcap=s.pcap', role: 'shadow' },
    ],
    { translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] } },
  );
  const p = placementPlan({ config: cfg, policy: compilePolicy(cfg).native, ports: null }, { root: sys.root });
  t.true(Value.Check(PlacementPlanSchema, planJson(p)));
  t.deepEqual(p.ports.map((x) => [x.name, x.driver, x.pciId ?? null, x.profile, x.matchedBy]), [
    ['prod0', 'mlx5_core', '15b3:101d', 'mlx5', 'pci'],
    ['shadow0', 'net_pcap', null, 'net_pcap', 'driver'],
  ]);
  for (const port of p.ports) t.true(port.notes.some((n) => n.startsWith('not probed: ')), port.name);
  const s = p.sessions[0]!;
  t.is(s.placement, 'hybrid');
  t.is(s.path, 'hybrid-mirror');
  t.true(p.rules.length > 0);
  const text = explain(p);
  t.regex(text, /Port prod0 \(index 0, production\): driver mlx5_core, PCI 15b3:101d, profile mlx5 \(by pci\)/);
  t.regex(text, /note: not probed: planned on profile mlx5's facts alone/);
  t.regex(text, /classification hardware mlx5: /);
});
