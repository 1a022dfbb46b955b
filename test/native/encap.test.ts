/**
 * Runs the standalone C test of shadow-target encapsulation
 * (native/test/encap_test.c, built by CMake as build/st_encap_test, and with
 * AddressSanitizer and UndefinedBehaviorSanitizer as
 * build/sanitize/st_encap_test; both are run): every
 * VLAN/VXLAN/GENEVE output compared byte for byte with an independently
 * built frame, over chained mbufs and failure paths. Then the independent
 * decoder: the same program writes a fixed set of encapsulated frames to a
 * pcap (--pcap) and tshark decodes outer and inner layers and verifies every
 * checksum it can.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkNativeRun, nativeBin, testSeed, VARIANTS } from '../helpers/native-test.js';
import { CHECKSUM_GOOD, CHECKSUM_NOT_PRESENT, CHECKSUM_PREFS, requireTshark } from '../helpers/tshark.js';

const bin = nativeBin('plain', 'st_encap_test');

/** One seed for both builds of this file's run. */
const SEED = testSeed();

for (const variant of VARIANTS) {
  test(`native encapsulation (${variant}): reference frames and full checksums agree`, (t) => {
    checkNativeRun(t, variant, nativeBin(variant, 'st_encap_test'), [String(SEED), '2000'], 1000);
  });
}

const FIELDS = [
  'frame.protocols', 'eth.src', 'eth.dst', 'vlan.id', 'vlan.priority',
  'ip.src', 'ip.dst', 'ip.ttl', 'ip.flags.df', 'ip.id', 'ip.len', 'ip.checksum.status',
  'ipv6.src', 'ipv6.dst', 'ipv6.flow', 'ipv6.hlim', 'ipv6.plen',
  'udp.srcport', 'udp.dstport', 'udp.length', 'udp.checksum.status',
  'vxlan.flags', 'vxlan.vni', 'geneve.version', 'geneve.vni', 'geneve.proto_type',
  'geneve.flags.oam', 'geneve.flags.critical', 'tcp.checksum.status',
] as const;
type Row = Record<(typeof FIELDS)[number], string[]>;

function decode(path: string): Row[] {
  const args = ['-n', '-r', path, '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-E', 'separator=/t',
    '-E', 'occurrence=a', '-E', 'aggregator=\u0001'];
  for (const p of CHECKSUM_PREFS) args.push('-o', p);
  for (const f of FIELDS) args.push('-e', f);
  const stdout = execFileSync(requireTshark(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return stdout.split('\n').filter((l) => l !== '').map((line) => {
    const cols = line.split('\t');
    return Object.fromEntries(FIELDS.map((f, i) => [f, (cols[i] ?? '') === '' ? [] : cols[i]!.split('\u0001')])) as Row;
  });
}

const n = (v: string | undefined): number => (v === undefined ? NaN : v.startsWith('0x') ? parseInt(v, 16) : Number(v));
const OUTER_SRC_MAC = '02:53:48:00:00:01';
const OUTER_DST_MAC = '02:53:48:00:00:02';
const INNER = { src: '10.1.2.3', dst: '10.4.5.6', smac: '02:00:00:00:00:aa', dmac: '02:00:00:00:00:bb' };
const sport = (hash: number): number => 49152 + (hash % 16384);

test('encapsulated frames decoded by tshark: outer and inner fields, every checksum', (t) => {
  if (!existsSync(bin)) return t.fail(`${bin} is missing`);
  const dir = mkdtempSync(join(tmpdir(), 'st-encap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'encap.pcap');
  const r = spawnSync(bin, ['--pcap', pcap], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const rows = decode(pcap);
  t.is(rows.length, 6, 'six frames in the capture');
  const [vx4, vx6, gn4, gn6, vlan, vx8472] = rows as [Row, Row, Row, Row, Row, Row];

  // every IPv4 header checksum (outer and inner) and every TCP checksum is good
  for (const [i, row] of rows.entries()) {
    t.true(row['ip.checksum.status'].every((s) => n(s) === CHECKSUM_GOOD), `frame ${i + 1}: ip checksums ${row['ip.checksum.status']}`);
    t.true(row['tcp.checksum.status'].every((s) => n(s) === CHECKSUM_GOOD), `frame ${i + 1}: tcp checksums`);
  }

  // 1. VXLAN over IPv4: DF, id 0, TTL 64, UDP checksum 0 (RFC 7348), VNI 5000
  t.regex(vx4['frame.protocols'][0] ?? '', /^eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp(:data)?$/);
  t.deepEqual(vx4['eth.src'], [OUTER_SRC_MAC, INNER.smac]);
  t.deepEqual(vx4['eth.dst'], [OUTER_DST_MAC, INNER.dmac]);
  t.deepEqual(vx4['ip.src'], ['192.0.2.1', INNER.src]);
  t.deepEqual(vx4['ip.dst'], ['192.0.2.2', INNER.dst]);
  t.is(n(vx4['ip.ttl'][0]), 64);
  t.is(n(vx4['ip.flags.df'][0]), 1);
  t.is(n(vx4['ip.id'][0]), 0);
  t.is(n(vx4['ip.len'][0]), 20 + 8 + 8 + 14 + 20 + 20 + 40);
  t.is(n(vx4['udp.srcport'][0]), sport(0x12345));
  t.is(n(vx4['udp.dstport'][0]), 4789);
  t.is(n(vx4['udp.length'][0]), 8 + 8 + 14 + 20 + 20 + 40);
  t.is(n(vx4['udp.checksum.status'][0]), CHECKSUM_NOT_PRESENT);
  t.is(n(vx4['vxlan.flags'][0]), 0x0800, 'I flag: VNI valid');
  t.is(n(vx4['vxlan.vni'][0]), 5000);

  // 2. VXLAN over IPv6: hop limit from the target, flow label from the hash, UDP checksum computed
  //    over an inner frame that was split over three mbufs
  t.is(vx6['frame.protocols'][0], 'eth:ethertype:ipv6:udp:vxlan:eth:ethertype:ip:udp:data');
  t.deepEqual(vx6['ipv6.src'], ['fd00:5348::1']);
  t.deepEqual(vx6['ipv6.dst'], ['fd00:5348::2']);
  t.is(n(vx6['ipv6.hlim'][0]), 9);
  t.is(n(vx6['ipv6.flow'][0]), 0xfedcba98 & 0xfffff);
  t.is(n(vx6['ipv6.plen'][0]), 8 + 8 + 14 + 20 + 8 + 101);
  t.deepEqual(vx6['udp.srcport'].map(n), [sport(0xfedcba98), 40000]);
  t.deepEqual(vx6['udp.checksum.status'].map(n), [CHECKSUM_GOOD, CHECKSUM_GOOD], 'outer (IPv6) and inner UDP checksums good');
  t.is(n(vx6['vxlan.vni'][0]), 16777215);
  t.deepEqual(vx6['ip.src'], [INNER.src]);

  // 3. GENEVE over IPv4: version 0, no options, protocol 0x6558, VNI, TTL 200
  t.is(gn4['frame.protocols'][0], 'eth:ethertype:ip:udp:geneve:eth:ethertype:ip:udp:data');
  t.deepEqual(gn4['udp.dstport'].map(n), [6081, 40002]);
  t.is(n(gn4['udp.srcport'][0]), sport(1));
  t.is(n(gn4['ip.ttl'][0]), 200);
  t.is(n(gn4['geneve.version'][0]), 0);
  t.is(n(gn4['geneve.proto_type'][0]), 0x6558);
  t.is(n(gn4['geneve.vni'][0]), 0x123456);
  t.is(n(gn4['geneve.flags.oam'][0]), 0);
  t.is(n(gn4['geneve.flags.critical'][0]), 0);
  t.deepEqual(gn4['udp.checksum.status'].map(n), [CHECKSUM_NOT_PRESENT, CHECKSUM_GOOD]);
  t.deepEqual(gn4['ip.dst'], ['192.0.2.2', INNER.dst]);

  // 4. GENEVE over IPv6 around a 1000-byte TCP segment split over four mbufs
  t.regex(gn6['frame.protocols'][0] ?? '', /^eth:ethertype:ipv6:udp:geneve:eth:ethertype:ip:tcp(:data)?$/);
  t.is(n(gn6['geneve.vni'][0]), 7);
  t.is(n(gn6['udp.srcport'][0]), sport(0x00abcdef));
  t.is(n(gn6['ipv6.flow'][0]), 0x00abcdef & 0xfffff);
  t.is(n(gn6['ipv6.hlim'][0]), 64, 'default TTL 64');
  t.deepEqual(gn6['udp.checksum.status'].map(n), [CHECKSUM_GOOD]);
  t.deepEqual(gn6['tcp.checksum.status'].map(n), [CHECKSUM_GOOD]);

  // 5. VLAN push: tag after the MACs, PCP 5, VID 100
  t.regex(vlan['frame.protocols'][0] ?? '', /^eth:ethertype:vlan:ethertype:ip:tcp(:data)?$/);
  t.deepEqual(vlan['eth.src'], [INNER.smac]);
  t.deepEqual(vlan['vlan.id'].map(n), [100]);
  t.deepEqual(vlan['vlan.priority'].map(n), [5]);
  t.deepEqual(vlan['ip.src'], [INNER.src]);

  // 6. VXLAN toward a non-default port (8472, decoded as VXLAN on request)
  t.is(n(vx8472['udp.dstport'][0]), 8472);
  t.is(n(vx8472['udp.srcport'][0]), sport(0x4000));
  t.is(n(vx8472['vxlan.vni'][0]), 42);
  t.deepEqual(vx8472['udp.checksum.status'].map(n), [CHECKSUM_NOT_PRESENT, CHECKSUM_GOOD]);
});
