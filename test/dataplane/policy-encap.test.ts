/**
 * Targets with encapsulation, from the YAML-shaped policy through the REAL
 * data plane, decoded by tshark: VXLAN over IPv4 (UDP 4789), GENEVE over
 * IPv6 (UDP 6081), VLAN push; outer and inner addresses, MACs, VNI, UDP
 * ports, TTL, and every checksum tshark can verify. Outer UDP over IPv4
 * carries checksum 0 (RFC 7348, "not present"); over IPv6 it is computed.
 */
import test from 'ava';
import { ether, icmpv6Echo, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { decodeFields, missingBuild, PROD_MAC, runConfig, sessionCounters, SHADOW_DST_MAC, SHADOW_SRC_MAC } from '../helpers/policy-run.js';
import { CHECKSUM_GOOD, CHECKSUM_NOT_PRESENT } from '../helpers/tshark.js';

const skip = missingBuild();
const M = PROD_MAC;

const FRAMES = [
  ether(M, ipv4({ src: '10.0.1.5', dst: '10.0.2.7', id: 1, payload: tcp({ sport: 40000, dport: 443, flags: 'PA', payload: Buffer.from('hello over a tunnel') }) })),
  // (UDP on ports no payload translator owns: 30 bytes of 7s on port 53 would be a malformed DNS
  // message, which the leak policy does not send)
  ether(M, ipv4({ src: '10.0.1.6', dst: '10.0.2.8', id: 2, payload: udp({ sport: 40053, dport: 5000, payload: Buffer.alloc(30, 7) }) })),
  ether(M, ipv6({ src: 'fd00:1::5', dst: 'fd00:2::7', payload: icmpv6Echo({ id: 3, seq: 4, payload: Buffer.alloc(16, 1) }) })),
  ether(M, ipv6({ src: 'fd00:1::6', dst: 'fd00:2::8', payload: tcp({ sport: 50000, dport: 22, flags: 'S' }) })),
];

const FIELDS = [
  'eth.src', 'eth.dst', 'vlan.id', 'vlan.priority',
  'ip.src', 'ip.dst', 'ip.ttl', 'ip.proto', 'ip.checksum.status', 'ip.flags.df',
  'ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'ipv6.nxt',
  'udp.srcport', 'udp.dstport', 'udp.checksum', 'udp.checksum.status', 'udp.length',
  'vxlan.vni', 'vxlan.flag_i', 'geneve.vni', 'geneve.proto_type', 'geneve.version',
  'tcp.checksum.status', 'icmpv6.checksum.status', 'frame.len',
] as const;

/** Inner addresses of frame i after translation (10.0 -> 10.99, fd00 -> fd99). */
const INNER = [
  ['10.99.1.5', '10.99.2.7'],
  ['10.99.1.6', '10.99.2.8'],
  ['fd99:1::5', 'fd99:2::7'],
  ['fd99:1::6', 'fd99:2::8'],
];

test.serial('VXLAN, GENEVE and VLAN targets: tshark decodes outer and inner headers, VNIs, ports and checksums', async (t) => {
  if (skip) return t.fail(skip);
  const run = await runConfig({
    frames: FRAMES,
    shadowPorts: 4,
    policy: {
      translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] },
      match: 'all',
      targets: [
        { name: 'vx4', ports: ['shadow0'], encap: { vxlan: { vni: 4242, outer: { src: '192.0.2.10', dst: '192.0.2.1', dst_mac: '02:aa:00:00:00:01', ttl: 33 } } } },
        { name: 'gen6', ports: ['shadow1'], encap: { geneve: { vni: 77, outer: { src: 'fd10::10', dst: 'fd10::1', src_mac: '02:bb:00:00:00:10', dst_mac: '02:bb:00:00:00:01' } } } },
        { name: 'tag', ports: ['shadow2'], encap: { vlan: { id: 300, pcp: 5 } } },
        { name: 'vx6', ports: ['shadow3'], encap: { vxlan: { vni: 16777215, outer: { src: 'fd10::20', dst: 'fd10::2', udp_port: 8472 } } } },
      ],
      sessions: [
        { id: 1, target: 'vx4' },
        { id: 2, target: 'gen6' },
        { id: 3, target: 'tag' },
        { id: 4, target: 'vx6' },
      ],
    },
  });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), FRAMES.map((f) => f.toString('hex')), 'production untouched');

  // ---- VXLAN over IPv4
  const vx = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.is(vx.length, FRAMES.length);
  vx.forEach((r, i) => {
    const at = `vxlan frame ${i}`;
    t.deepEqual([r['eth.src']![0], r['eth.dst']![0]], [SHADOW_SRC_MAC, '02:aa:00:00:00:01'], `${at}: outer MACs (src defaults to shadow.mac.src)`);
    t.deepEqual([r['ip.src']![0], r['ip.dst']![0]], ['192.0.2.10', '192.0.2.1'], `${at}: outer IPv4`);
    t.is(r['ip.ttl']![0], '33');
    t.is(r['ip.proto']![0], '17');
    t.is(Number(r['ip.checksum.status']![0]), CHECKSUM_GOOD, `${at}: outer IPv4 checksum`);
    t.is(r['udp.dstport']![0], '4789');
    const sport = Number(r['udp.srcport']![0]);
    t.true(sport >= 49152 && sport <= 65535, `${at}: UDP source port ${sport} from the flow hash range`);
    t.is(Number(r['udp.checksum']![0]), 0, `${at}: outer UDP checksum 0 over IPv4`);
    t.is(Number(r['udp.checksum.status']![0]), CHECKSUM_NOT_PRESENT);
    t.is(Number(r['udp.length']![0]), FRAMES[i]!.length + 8 + 8, `${at}: UDP length covers VXLAN header + inner frame`);
    t.is(Number(r['vxlan.vni']![0]), 4242);
    t.is(r['vxlan.flag_i']![0], '1', `${at}: VNI-valid flag`);
    // Inner frame: shadow MACs, translated addresses, checksums good.
    t.deepEqual([r['eth.src']![1], r['eth.dst']![1]], [SHADOW_SRC_MAC, SHADOW_DST_MAC], `${at}: inner MACs`);
    const inner = i < 2 ? [r['ip.src']![1], r['ip.dst']![1]] : [r['ipv6.src']![0], r['ipv6.dst']![0]];
    t.deepEqual(inner, INNER[i], `${at}: inner addresses translated`);
    if (i === 0) t.is(Number(r['tcp.checksum.status']![0]), CHECKSUM_GOOD);
    if (i === 1) t.is(Number(r['udp.checksum.status']![1]), CHECKSUM_GOOD, `${at}: inner UDP checksum`);
    if (i === 2) t.is(Number(r['icmpv6.checksum.status']![0]), CHECKSUM_GOOD);
    if (i === 3) t.is(Number(r['tcp.checksum.status']![0]), CHECKSUM_GOOD);
    t.is(Number(r['frame.len']![0]), FRAMES[i]!.length + 50, `${at}: 50 bytes of outer headers`);
  });
  // The same flow always gets the same outer source port (ECMP on the far side keeps order).
  t.is(new Set(vx.map((r) => r['udp.srcport']![0])).size <= FRAMES.length, true);

  // ---- GENEVE over IPv6
  const gen = await decodeFields(run.shadowPaths[1]!, FIELDS);
  t.is(gen.length, FRAMES.length);
  gen.forEach((r, i) => {
    const at = `geneve frame ${i}`;
    t.deepEqual([r['eth.src']![0], r['eth.dst']![0]], ['02:bb:00:00:00:10', '02:bb:00:00:00:01'], `${at}: outer MACs`);
    t.deepEqual([r['ipv6.src']![0], r['ipv6.dst']![0]], ['fd10::10', 'fd10::1'], `${at}: outer IPv6`);
    t.is(r['ipv6.hlim']![0], '64', `${at}: default TTL`);
    t.is(r['ipv6.nxt']![0], '17');
    t.is(r['udp.dstport']![0], '6081');
    t.is(Number(r['udp.checksum.status']![0]), CHECKSUM_GOOD, `${at}: outer UDP checksum computed over IPv6`);
    t.is(Number(r['geneve.vni']![0]), 77);
    t.is(r['geneve.version']![0], '0');
    t.is(Number(r['geneve.proto_type']![0]), 0x6558, `${at}: transparent Ethernet bridging`);
    const inner = i < 2 ? [r['ip.src']![0], r['ip.dst']![0]] : [r['ipv6.src']![1], r['ipv6.dst']![1]];
    t.deepEqual(inner, INNER[i], `${at}: inner addresses translated`);
    if (i < 2) t.is(Number(r['ip.checksum.status']![0]), CHECKSUM_GOOD, `${at}: inner IPv4 checksum`);
    t.is(Number(r['frame.len']![0]), FRAMES[i]!.length + 14 + 40 + 8 + 8);
  });

  // ---- VLAN push
  const tag = await decodeFields(run.shadowPaths[2]!, FIELDS);
  tag.forEach((r, i) => {
    t.deepEqual(r['vlan.id'], ['300'], `vlan frame ${i}: one tag, id 300`);
    t.deepEqual(r['vlan.priority'], ['5']);
    t.deepEqual([r['eth.src']![0], r['eth.dst']![0]], [SHADOW_SRC_MAC, SHADOW_DST_MAC]);
    const inner = i < 2 ? [r['ip.src']![0], r['ip.dst']![0]] : [r['ipv6.src']![0], r['ipv6.dst']![0]];
    t.deepEqual(inner, INNER[i]);
    t.is(Number(r['frame.len']![0]), FRAMES[i]!.length + 4);
  });

  // ---- VXLAN over IPv6 on a configured port, the largest VNI
  const vx6 = await decodeFields(run.shadowPaths[3]!, FIELDS, ['vxlan.udp.port:8472']);
  vx6.forEach((r, i) => {
    t.deepEqual([r['ipv6.src']![0], r['ipv6.dst']![0]], ['fd10::20', 'fd10::2'], `vxlan6 frame ${i}: outer IPv6`);
    t.is(r['udp.dstport']![0], '8472');
    t.is(Number(r['udp.checksum.status']![0]), CHECKSUM_GOOD);
    t.is(Number(r['vxlan.vni']![0]), 16777215);
  });

  // Bytes counted on the shadow wire include the encapsulation.
  const inBytes = FRAMES.reduce((n, f) => n + f.length, 0);
  t.is(sessionCounters(run, 1).mirroredBytes, inBytes + 50 * FRAMES.length);
  t.is(sessionCounters(run, 3).mirroredBytes, inBytes + 4 * FRAMES.length);
});

test.serial('a truncated copy is encapsulated after truncation: snaplen counts the inner frame', async (t) => {
  if (skip) return t.fail(skip);
  const big = ether(M, ipv4({ src: '10.0.1.5', dst: '10.0.2.7', id: 9, payload: udp({ sport: 1, dport: 2, payload: Buffer.alloc(1000, 3) }) }));
  const run = await runConfig({
    frames: [big],
    policy: {
      translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] },
      targets: [{ name: 'vx', encap: { vxlan: { vni: 5, outer: { src: '192.0.2.10', dst: '192.0.2.1' } } } }],
      sessions: [{ id: 1, target: 'vx', snaplen: 128 }],
    },
  });
  t.teardown(run.dispose);
  const rows = await decodeFields(run.shadowPaths[0]!, ['frame.len', 'udp.length', 'ip.len', 'ip.src', 'ip.checksum.status']);
  t.is(Number(rows[0]!['frame.len']![0]), 128 + 50);
  t.is(Number(rows[0]!['udp.length']![0]), 128 + 16, 'outer UDP length is the truncated inner frame + VXLAN');
  t.is(Number(rows[0]!['ip.len']![1]), big.length - 14, 'inner IP length still says the whole packet');
  t.is(rows[0]!['ip.src']![1], '10.99.1.5');
  t.deepEqual(rows[0]!['ip.checksum.status'], ['1', '1']);
  t.is(sessionCounters(run, 1).truncated, 1);
});
