/**
 * Production topology in, shadow replica out: the format's checks, and
 * every address translated the way the data plane translates (longest
 * prefix, host overrides, MAC maps, host bits kept).
 */
import test from 'ava';
import { validateConfig } from '../../src/config/load.js';
import { TopologyError } from '../../src/errors.js';
import { checkSecuritySection, exportShadowTopology, parseTopology, Translator } from '../../src/config/topology.js';

const config = validateConfig({
  ports: [
    { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap', egress: 'prod-out' },
    { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
    { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow' },
  ],
  translate: {
    ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.1.0.0/16', to: '10.77.0.0/16' }],
    ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
    hosts: [{ from: '10.0.1.1', to: '10.98.0.1' }],
    macs: [{ from: '02:00:00:00:01:05', to: '02:99:00:00:01:05' }],
  },
});

const PROD = {
  kind: 'shadowtap.topology/v1',
  name: 'eu-1',
  subnets: [
    { name: 'web', cidr: '10.0.1.0/24', gateway: '10.0.1.1', vlan: 101 },
    { name: 'db', cidr: '10.1.8.0/24', gateway: '10.1.8.1' },
    { name: 'v6', cidr: 'fd00:1::/64' },
  ],
  instances: [
    { name: 'web-1', ip: '10.0.1.5', mac: '02:00:00:00:01:05', subnet: 'web', tags: { role: 'web' } },
    { name: 'db-1', interfaces: [{ name: 'eth0', ip: ['10.1.8.5', 'fd00:1::5'], mac: '02:00:00:00:08:05', subnet: 'db' }] },
    { name: 'ext', ip: '192.0.2.7' },
  ],
  security: {
    default: 'deny',
    rules: [
      { id: 'web-in', action: 'allow', protocol: 'tcp', src: '0.0.0.0/0', dst: 'web', dst_ports: [80, 443] },
      { id: 'db-from-web', action: 'allow', protocol: 'tcp', src: 'web-1', dst: 'db', dst_ports: 5432 },
      { action: 'deny', src: '10.0.0.0/8' },
      { action: 'allow', protocol: 'udp', dst: 'fd00:1::/64', dst_ports: '1000-2000' },
    ],
  },
};

test('a valid topology parses, with defaults', (t) => {
  const topo = parseTopology(structuredClone(PROD));
  t.is(topo.subnets.length, 3);
  t.is(parseTopology({}).security.default, 'allow');
});

function problemsOf(raw: unknown): { path: string; message: string }[] {
  try {
    parseTopology(raw);
  } catch (err) {
    if (err instanceof TopologyError) return err.problems.map((p) => ({ path: p.path, message: p.message }));
    throw err;
  }
  return [];
}

const bad: [string, (t: typeof PROD) => void, string, string | RegExp][] = [
  ['subnet cidr', (x) => (x.subnets[0]!.cidr = '10.0.1.1/24'), 'subnets[0].cidr', '"10.0.1.1/24" has host bits set; expected a network address such as 10.0.1.0/24'],
  ['subnet gateway', (x) => (x.subnets[0]!.gateway = '10.0.1'), 'subnets[0].gateway', '"10.0.1" is not an IP address; expected e.g. 10.0.1.5 or fd00::5'],
  ['subnet name duplicate', (x) => (x.subnets[2]!.name = 'web'), 'subnets[2].name', 'duplicate subnet name "web"'],
  ['subnet vlan', (x) => ((x.subnets[0] as { vlan: number }).vlan = 5000), 'subnets[0].vlan', 'expected an integer from 0 to 4095, got 5000'],
  ['instance ip', (x) => (x.instances[0]!.ip = '10.0.1.300'), 'instances[0].ip', '"10.0.1.300" is not an IP address; expected e.g. 10.0.1.5 or fd00::5'],
  ['instance mac', (x) => (x.instances[0]!.mac = '02:00:00:00:01'), 'instances[0].mac', 'expected a MAC address such as "02:00:00:00:01:05", got "02:00:00:00:01"'],
  ['instance mac multicast', (x) => (x.instances[0]!.mac = '01:00:00:00:01:05'), 'instances[0].mac', /is a multicast\/broadcast address/],
  ['instance subnet unknown', (x) => (x.instances[0]!.subnet = 'app'), 'instances[0].subnet', 'unknown subnet "app"; expected one of web, db, v6'],
  ['interface ip list item', (x) => ((x.instances[1]!.interfaces![0]!.ip as string[])[1] = 'fd00:1::5::1'), 'instances[1].interfaces[0].ip[1]', /is not an IP address/],
  ['instance both forms', (x) => (x.instances[1]!.ip = '10.1.8.6'), 'instances[1].interfaces', 'give either interfaces or the ip/mac/subnet shorthand, not both'],
  ['instance no address', (x) => (x.instances[2] = { name: 'ghost' } as never), 'instances[2]', 'no address; expected ip, mac or interfaces'],
  ['instance unknown key', (x) => ((x.instances[0] as Record<string, unknown>)['ipv4'] = '1.2.3.4'), 'instances[0].ipv4', /^unknown key `instances\[0\]\.ipv4`/],
  ['rule src unknown name', (x) => (x.security.rules[1]!.src = 'web-9'), 'security.rules[1].src', '"web-9" is not an address or prefix; expected e.g. 10.0.0.0/16, 10.0.1.5 or fd00::/16, or the name of a subnet or instance'],
  ['rule action', (x) => (x.security.rules[0]!.action = 'permit'), 'security.rules[0].action', 'expected one of allow, deny, got "permit"'],
  ['rule ports', (x) => (x.security.rules[0]!.dst_ports = [80, 70000]), 'security.rules[0].dst_ports[1]', 'expected a port from 0 to 65535 or a range such as "1000-2000", got 70000'],
  ['kind', (x) => (x.kind = 'other'), 'kind', 'expected "shadowtap.topology/v1", got "other"'],
];

for (const [title, edit, path, message] of bad) {
  test(`invalid topology: ${title}`, (t) => {
    const raw = structuredClone(PROD);
    edit(raw);
    const problems = problemsOf(raw);
    t.deepEqual(problems.map((p) => p.path), [path], JSON.stringify(problems));
    if (typeof message === 'string') t.is(problems[0]?.message, message);
    else t.regex(problems[0]?.message ?? '', message);
  });
}

test('the translator: longest prefix, host overrides, host bits kept, outside and partial prefixes', (t) => {
  const tr = new Translator(config);
  t.is(tr.address('10.0.1.5'), '10.99.1.5');
  t.is(tr.address('10.1.8.5'), '10.77.8.5');
  t.is(tr.address('10.0.1.1'), '10.98.0.1', 'a host override wins over every prefix');
  t.is(tr.address('fd00:1::5'), 'fd99:1::5');
  t.is(tr.address('192.0.2.7'), null);
  t.deepEqual(tr.prefix('10.0.1.0/24'), { kind: 'translated', value: '10.99.1.0/24' });
  t.deepEqual(tr.prefix('10.1.8.0/25'), { kind: 'translated', value: '10.77.8.0/25' });
  t.deepEqual(tr.prefix('0.0.0.0/0'), { kind: 'partial', inside: ['10.99.0.0/16', '10.77.0.0/16', '10.98.0.1/32'] });
  t.deepEqual(tr.prefix('192.0.2.0/24'), { kind: 'outside' });
  t.is(tr.mac('02:00:00:00:01:05'), '02:99:00:00:01:05');
  t.is(tr.mac('02:00:00:00:08:05'), null);
});

test('the shadow replica: every address translated, production kept alongside, unmapped ones listed', (t) => {
  const shadow = exportShadowTopology(parseTopology(structuredClone(PROD)), config);
  t.is(shadow.kind, 'shadowtap.shadow-topology/v1');
  t.is(shadow.name, 'eu-1');
  t.deepEqual(shadow.subnets, [
    { name: 'web', cidr: '10.99.1.0/24', gateway: '10.98.0.1', vlan: 101, production: { cidr: '10.0.1.0/24', gateway: '10.0.1.1' } },
    { name: 'db', cidr: '10.77.8.0/24', gateway: '10.77.8.1', production: { cidr: '10.1.8.0/24', gateway: '10.1.8.1' } },
    { name: 'v6', cidr: 'fd99:1::/64', production: { cidr: 'fd00:1::/64' } },
  ]);
  t.deepEqual(shadow.instances, [
    { name: 'web-1', tags: { role: 'web' }, interfaces: [{ ip: ['10.99.1.5'], mac: '02:99:00:00:01:05', subnet: 'web', production: { ip: ['10.0.1.5'], mac: '02:00:00:00:01:05' } }] },
    { name: 'db-1', interfaces: [{ name: 'eth0', ip: ['10.77.8.5', 'fd99:1::5'], mac: '02:00:00:00:08:05', subnet: 'db', production: { ip: ['10.1.8.5', 'fd00:1::5'], mac: '02:00:00:00:08:05' } }] },
    { name: 'ext', interfaces: [{ ip: ['192.0.2.7'], production: { ip: ['192.0.2.7'] } }] },
  ]);
  t.deepEqual(shadow.unmapped, [{ path: 'instances[2].ip', address: '192.0.2.7', message: '192.0.2.7 is outside every map; kept as it is (add a map or a host override)' }]);
});

test('the security rules come out in the config\'s security syntax, translated, names resolved', (t) => {
  const shadow = exportShadowTopology(parseTopology(structuredClone(PROD)), config);
  t.deepEqual(shadow.security, {
    enforce: true,
    default: 'deny',
    rules: [
      { id: 'web-in', action: 'allow', protocol: 'tcp', src: ['0.0.0.0/0', '10.99.0.0/16', '10.77.0.0/16', '10.98.0.1/32'], dst: '10.99.1.0/24', dst_ports: [80, 443] },
      { id: 'db-from-web', action: 'allow', protocol: 'tcp', src: '10.99.1.5', dst: '10.77.8.0/24', dst_ports: 5432 },
      { id: 'rule-3', action: 'deny', src: ['10.0.0.0/8', '10.99.0.0/16', '10.77.0.0/16', '10.98.0.1/32'] },
      { id: 'rule-4', action: 'allow', protocol: 'udp', dst: 'fd99:1::/64', dst_ports: '1000-2000' },
    ],
  });
  // Usable as the config's security section as it is.
  t.deepEqual(checkSecuritySection(shadow.security), []);
  const withSecurity = validateConfig({ ports: config.ports.map((p) => ({ ...p })), translate: structuredClone(config.translate), security: shadow.security });
  t.true(withSecurity.security.enforce);
  t.is(withSecurity.security.rules.length, 4);
});
