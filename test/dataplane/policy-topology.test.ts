/**
 * Topology mapping through the REAL data plane: host overrides over prefix
 * maps, MAC maps, the three unmapped rules, and the security rules of a
 * production topology, exported by `exportShadowTopology` (translated into
 * shadow addresses) and enforced on the copies.
 */
import test from 'ava';
import { validateConfig } from '../../src/config/load.js';
import { ether, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { exportShadowTopology, parseTopology } from '../../src/config/topology.js';
import { decodeFields, missingBuild, PROD_MAC, runConfig, sessionCounters, SHADOW_DST_MAC } from '../helpers/policy-run.js';

const skip = missingBuild();
const M = PROD_MAC;

const TRANSLATE = {
  ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }],
  ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
  hosts: [{ from: '10.0.1.1', to: '10.98.0.1' }, { from: 'fd00::1', to: 'fd98::1' }],
  macs: [{ from: M.src, to: '02:99:00:00:00:01' }],
};

const FRAMES = [
  ether(M, ipv4({ src: '10.0.1.5', dst: '10.0.1.1', id: 1, payload: udp({ sport: 1000, dport: 2000 }) })), // override on dst
  ether(M, ipv4({ src: '10.0.1.5', dst: '192.0.2.9', id: 2, payload: udp({ sport: 1000, dport: 2000 }) })), // dst unmapped
  ether(M, ipv6({ src: 'fd00::1', dst: 'fd00:1::9', hopLimit: 3, payload: udp({ sport: 1000, dport: 2000 }) })), // override on src
  ether(M, ipv6({ src: '2001:db8::1', dst: 'fd00:1::9', hopLimit: 4, payload: udp({ sport: 1000, dport: 2000 }) })), // src unmapped
];

test.serial('host overrides win over prefix maps; MAC maps; unmapped drop, mirror and count', async (t) => {
  if (skip) return t.fail(skip);
  const results: Record<string, Awaited<ReturnType<typeof runConfig>>> = {};
  for (const unmapped of ['drop', 'mirror', 'count'] as const) {
    results[unmapped] = await runConfig({ frames: FRAMES, policy: { translate: { ...TRANSLATE, unmapped }, sessions: [{ id: 1 }] } });
    t.teardown(results[unmapped]!.dispose);
  }
  const fields = ['eth.src', 'eth.dst', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst'];
  const addrs = (r: Record<string, string[]>) => [r['ip.src']?.[0] ?? r['ipv6.src']?.[0], r['ip.dst']?.[0] ?? r['ipv6.dst']?.[0]];
  const drop = await decodeFields(results['drop']!.shadowPaths[0]!, fields);
  t.deepEqual(drop.map(addrs), [['10.99.1.5', '10.98.0.1'], ['fd98::1', 'fd99:1::9']]);
  t.deepEqual(drop.map((r) => [r['eth.src']![0], r['eth.dst']![0]]), [['02:99:00:00:00:01', SHADOW_DST_MAC], ['02:99:00:00:00:01', SHADOW_DST_MAC]], 'source MAC through the MAC map, the other to shadow.mac');
  t.is(sessionCounters(results['drop']!, 1).dropped.unmapped, 2);
  const mirror = await decodeFields(results['mirror']!.shadowPaths[0]!, fields);
  t.deepEqual(mirror.map(addrs), [['10.99.1.5', '10.98.0.1'], ['10.99.1.5', '192.0.2.9'], ['fd98::1', 'fd99:1::9'], ['2001:db8::1', 'fd99:1::9']]);
  const count = results['count']!;
  t.is(count.shadow[0]!.length, 2, 'count: unmapped copies are not sent');
  const c = sessionCounters(count, 1);
  t.is(c.unmappedSeen, 2);
  t.is(c.dropped.unmapped, 0, 'count: seen, not a drop');
});

test.serial('the security rules of a production topology, exported in shadow addresses, are enforced on the copies', async (t) => {
  if (skip) return t.fail(skip);
  const ports = [
    { name: 'prod-in', device: 'net_pcap0,rx_pcap=x.pcap', egress: 'prod-out' },
    { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
    { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow' },
  ];
  const shadow = exportShadowTopology(
    parseTopology({
      subnets: [{ name: 'web', cidr: '10.0.1.0/24' }, { name: 'db', cidr: '10.0.2.0/24' }],
      instances: [{ name: 'db-1', ip: '10.0.2.5' }],
      security: {
        default: 'deny',
        rules: [
          { id: 'web-https', action: 'allow', protocol: 'tcp', dst: 'web', dst_ports: 443 },
          { id: 'db-from-web', action: 'allow', protocol: 'tcp', src: 'web', dst: 'db-1', dst_ports: 5432 },
          { id: 'dns', action: 'allow', protocol: 'udp', dst_ports: 53 },
        ],
      },
    }),
    validateConfig({ ports, translate: TRANSLATE }),
  );
  t.deepEqual(shadow.security.rules.map((r) => [r.id, r.src ?? null, r.dst ?? null]), [
    ['web-https', null, '10.99.1.0/24'],
    ['db-from-web', '10.99.1.0/24', '10.99.2.5'],
    ['dns', null, null],
  ]);
  const frames = [
    ether(M, ipv4({ src: '10.0.3.3', dst: '10.0.1.7', id: 1, payload: tcp({ sport: 40000, dport: 443, flags: 'S' }) })), // allowed
    ether(M, ipv4({ src: '10.0.3.3', dst: '10.0.1.7', id: 2, payload: tcp({ sport: 40000, dport: 22, flags: 'S' }) })), // denied (default)
    ether(M, ipv4({ src: '10.0.1.7', dst: '10.0.2.5', id: 3, payload: tcp({ sport: 40001, dport: 5432, flags: 'S' }) })), // allowed
    ether(M, ipv4({ src: '10.0.3.3', dst: '10.0.2.5', id: 4, payload: tcp({ sport: 40001, dport: 5432, flags: 'S' }) })), // denied: not from web
    ether(M, ipv4({ src: '10.0.3.3', dst: '10.0.2.9', id: 5, payload: udp({ sport: 5353, dport: 53 }) })), // allowed
  ];
  const run = await runConfig({ frames, policy: { translate: TRANSLATE, security: shadow.security, sessions: [{ id: 1 }] } });
  t.teardown(run.dispose);
  const rows = await decodeFields(run.shadowPaths[0]!, ['ip.id']);
  t.deepEqual(rows.map((r) => parseInt(r['ip.id']![0]!, 16)), [1, 3, 5]);
  t.is(sessionCounters(run, 1).dropped.firewall, 2);
  t.is(run.production.length, frames.length, 'production is never filtered');
});
