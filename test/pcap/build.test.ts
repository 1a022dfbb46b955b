import test from 'ava';
import * as b from '../../src/pcap/build.js';
import { badChecksums, CHECKSUM_NOT_PRESENT, checksumStatuses, decodeFrames, type Field, type TsharkPacket } from '../helpers/tshark.js';

const E = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const A4 = { src: '10.0.1.5', dst: '10.0.2.6' };
const A6 = { src: 'fd00:10::5', dst: 'fd00:20::6' };

interface Case {
  name: string;
  frames: Buffer[];
  /** expected fields of the LAST frame of the case (reassembled layers show there); array = every occurrence */
  expect: Partial<Record<Field, string | string[]>>;
  /** checksum statuses expected on the last frame, by field; default: every present one is 1 (good) */
  checksums?: Partial<Record<Field, number>>;
}

const inner4 = b.ipv4({ src: '10.0.2.6', dst: '10.0.1.5', ttl: 1, payload: b.udp({ sport: 40000, dport: 33434, payload: Buffer.from('probe') }) });
const inner6 = b.ipv6({ src: 'fd00:20::6', dst: 'fd00:10::5', payload: b.udp({ sport: 40000, dport: 33434, payload: Buffer.from('probe6') }) });
const bigUdp4 = b.ipv4({ ...A4, id: 0x4242, payload: b.udp({ sport: 40010, dport: 40011, payload: Buffer.alloc(301, 0x5a) }) });
const bigTcp6 = b.ipv6({ ...A6, ext: [{ type: 'hopByHop' }], payload: b.tcp({ sport: 40012, dport: 40013, seq: 7, payload: Buffer.alloc(299, 0x33) }) });

const cases: Case[] = [
  {
    name: 'IPv4 TCP with every field set',
    frames: [b.ether(E, b.ipv4({ ...A4, id: 0x1234, ttl: 33, df: true, payload: b.tcp({ sport: 1234, dport: 40000, seq: 0xfffffff0, ack: 5, flags: 'PA', window: 999, payload: Buffer.from('hello, tcp') }) }))],
    expect: {
      'eth.src': E.src, 'eth.dst': E.dst, 'eth.type': '0x0800', 'ip.src': A4.src, 'ip.dst': A4.dst, 'ip.id': '0x1234', 'ip.ttl': '33',
      'ip.flags.df': '1', 'ip.flags.mf': '0', 'ip.proto': '6', 'ip.hdr_len': '20', 'tcp.srcport': '1234', 'tcp.dstport': '40000',
      'tcp.seq_raw': String(0xfffffff0), 'tcp.ack_raw': '5', 'tcp.flags': '0x0018', 'tcp.window_size_value': '999', 'tcp.len': '10',
    },
  },
  {
    name: 'IPv4 TCP SYN with options, odd payload',
    frames: [b.ether(E, b.ipv4({ ...A4, payload: b.tcp({ sport: 1, dport: 2, flags: 'S', options: Buffer.from([2, 4, 5, 0xb4, 1, 3, 3, 7]), payload: Buffer.from('odd') }) }))],
    expect: { 'tcp.flags': '0x0002', 'tcp.len': '3' },
  },
  {
    name: 'IPv4 UDP',
    frames: [b.ether(E, b.ipv4({ ...A4, payload: b.udp({ sport: 40000, dport: 40001, payload: Buffer.from('udp payload!') }) }))],
    expect: { 'ip.proto': '17', 'udp.srcport': '40000', 'udp.dstport': '40001', 'udp.length': '20' },
  },
  {
    name: 'IPv4 UDP without checksum (0) is "not present" to tshark',
    frames: [b.ether(E, b.ipv4({ ...A4, payload: b.udp({ sport: 40000, dport: 40001, checksum: 0, payload: Buffer.from('x') }) }))],
    expect: { 'udp.checksum': '0x0000' },
    checksums: { 'udp.checksum.status': CHECKSUM_NOT_PRESENT },
  },
  {
    name: 'IPv4 with options (router alert, NOP, timestamp-sized filler)',
    frames: [b.ether(E, b.ipv4({ ...A4, options: Buffer.from([0x94, 4, 0, 0, 1, 1, 1, 0]), payload: b.tcp({ sport: 5, dport: 6, payload: Buffer.from('opt') }) }))],
    expect: { 'ip.hdr_len': '28', 'ip.opt.type': ['148', '1', '1', '1', '0'] },
  },
  {
    name: 'IPv4 loose source route: TCP checksum over the final destination (tshark shows it as ip.dst)',
    frames: [b.ether(E, b.ipv4({ ...A4, options: Buffer.concat([Buffer.from([1, 131, 11, 4]), b.ip4('10.0.3.3'), b.ip4('10.0.4.4')]), payload: b.tcp({ sport: 5, dport: 6, payload: Buffer.from('lsrr') }) }))],
    expect: { 'ip.opt.type': ['1', '131'], 'ip.dst': '10.0.4.4', 'tcp.len': '4' },
  },
  {
    name: 'IPv4 fragments reassemble to a UDP datagram with a good checksum',
    frames: b.fragmentIpv4(bigUdp4, 128).map((p) => b.ether(E, p)),
    expect: { 'ip.frag_offset': '32', 'ip.flags.mf': '0', 'udp.length': '309' },
  },
  {
    name: 'ICMP echo request',
    frames: [b.ether(E, b.ipv4({ ...A4, payload: b.icmpEcho({ id: 0xbeef, seq: 3, payload: Buffer.from('ping!') }) }))],
    expect: { 'ip.proto': '1', 'icmp.type': '8', 'icmp.code': '0', 'icmp.ident': '48879', 'icmp.seq': '3' },
  },
  {
    name: 'ICMP echo reply',
    frames: [b.ether(E, b.ipv4({ ...A4, payload: b.icmpEcho({ id: 1, seq: 65535, reply: true }) }))],
    expect: { 'icmp.type': '0', 'icmp.seq': '65535' },
  },
  {
    name: 'ICMP port unreachable carrying the offending packet',
    frames: [b.ether(E, b.ipv4({ ...A4, payload: b.icmpError({ type: 3, code: 3, inner: inner4 }) }))],
    expect: { 'icmp.type': '3', 'icmp.code': '3', 'ip.src': [A4.src, '10.0.2.6'], 'ip.dst': [A4.dst, '10.0.1.5'], 'udp.dstport': '33434' },
  },
  {
    name: 'ICMP fragmentation needed with MTU',
    frames: [b.ether(E, b.ipv4({ ...A4, payload: b.icmpError({ type: 3, code: 4, mtu: 1400, inner: inner4 }) }))],
    expect: { 'icmp.type': '3', 'icmp.code': '4' },
  },
  {
    name: 'single VLAN tag',
    frames: [b.ether({ ...E, vlans: [{ id: 42, pcp: 5 }] }, b.ipv4({ ...A4, payload: b.udp({ sport: 40000, dport: 40001 }) }))],
    expect: { 'vlan.id': '42', 'vlan.etype': '0x0800', 'ip.src': A4.src },
  },
  {
    name: 'QinQ: 802.1ad service tag over 802.1Q',
    frames: [b.ether({ ...E, vlans: [{ id: 100, tpid: b.ETHERTYPE.qinq }, 200] }, b.ipv6({ ...A6, payload: b.udp({ sport: 40000, dport: 40001, payload: Buffer.from('qinq') }) }))],
    expect: { 'ieee8021ad.id': '100', 'vlan.id': '200', 'vlan.etype': '0x86dd', 'ipv6.src': A6.src },
  },
  {
    name: 'IPv6 TCP',
    frames: [b.ether(E, b.ipv6({ ...A6, hopLimit: 17, trafficClass: 0x20, flowLabel: 0x12345, payload: b.tcp({ sport: 443, dport: 40001, flags: 'SA', seq: 1, ack: 2, payload: Buffer.from('v6 tcp') }) }))],
    expect: { 'eth.type': '0x86dd', 'ipv6.src': A6.src, 'ipv6.dst': A6.dst, 'ipv6.hlim': '17', 'ipv6.nxt': '6', 'tcp.flags': '0x0012', 'tcp.len': '6' },
  },
  {
    name: 'IPv6 UDP',
    frames: [b.ether(E, b.ipv6({ ...A6, payload: b.udp({ sport: 40000, dport: 40001, payload: Buffer.from('v6 udp') }) }))],
    expect: { 'ipv6.nxt': '17', 'udp.length': '14' },
  },
  {
    name: 'IPv6 hop-by-hop + destination options + routing (segments left 0) + TCP',
    frames: [b.ether(E, b.ipv6({
      ...A6,
      ext: [
        { type: 'hopByHop', options: Buffer.from([5, 2, 0, 0]) }, // router alert
        { type: 'destination' },
        { type: 'routing', segmentsLeft: 0, addresses: ['fd00:30::1'] },
      ],
      payload: b.tcp({ sport: 40000, dport: 40001, payload: Buffer.from('ext') }),
    }))],
    expect: { 'ipv6.nxt': '0', 'ipv6.hopopts.nxt': '60', 'ipv6.dstopts.nxt': '43', 'ipv6.routing.type': '0', 'ipv6.routing.segleft': '0', 'tcp.len': '3' },
  },
  {
    name: 'IPv6 routing header with segments left: checksum over the final destination',
    frames: [b.ether(E, b.ipv6({ ...A6, ext: [{ type: 'routing', segmentsLeft: 2, addresses: ['fd00:30::1', 'fd00:40::1'] }], payload: b.udp({ sport: 40000, dport: 40001, payload: Buffer.from('routed') }) }))],
    expect: { 'ipv6.routing.segleft': '2', 'udp.length': '14' },
  },
  {
    name: 'IPv6 fragments (after hop-by-hop) reassemble to TCP with a good checksum',
    frames: b.fragmentIpv6(bigTcp6, 96, 0xabcdef).map((p) => b.ether(E, p)),
    expect: { 'ipv6.fraghdr.ident': '0x00abcdef', 'ipv6.fraghdr.more': '0', 'ipv6.fraghdr.offset': '36', 'tcp.len': '299' },
  },
  {
    name: 'ICMPv6 echo request',
    frames: [b.ether(E, b.ipv6({ ...A6, payload: b.icmpv6Echo({ id: 77, seq: 9, payload: Buffer.from('ping6') }) }))],
    expect: { 'icmpv6.type': '128', 'icmpv6.echo.identifier': '0x004d', 'icmpv6.echo.sequence_number': '9' },
  },
  {
    name: 'ICMPv6 echo reply',
    frames: [b.ether(E, b.ipv6({ ...A6, payload: b.icmpv6Echo({ id: 77, seq: 9, reply: true }) }))],
    expect: { 'icmpv6.type': '129' },
  },
  {
    name: 'ICMPv6 destination unreachable carrying the offending packet',
    frames: [b.ether(E, b.ipv6({ ...A6, payload: b.icmpv6Error({ type: 1, code: 4, inner: inner6 }) }))],
    expect: { 'icmpv6.type': '1', 'icmpv6.code': '4', 'ipv6.src': [A6.src, 'fd00:20::6'], 'udp.dstport': '33434' },
  },
  {
    name: 'ICMPv6 packet too big',
    frames: [b.ether(E, b.ipv6({ ...A6, payload: b.icmpv6Error({ type: 2, mtu: 1280, inner: inner6 }) }))],
    expect: { 'icmpv6.type': '2' },
  },
  {
    name: 'neighbor solicitation with source link-layer option',
    frames: [b.ether({ src: E.src, dst: '33:33:ff:00:00:06' }, b.ipv6({ src: 'fe80::1', dst: 'ff02::1:ff00:6', hopLimit: 255, payload: b.neighborSolicitation({ target: 'fe80::6', sourceLinkAddr: E.src }) }))],
    expect: { 'icmpv6.type': '135', 'icmpv6.nd.ns.target_address': 'fe80::6', 'icmpv6.opt.linkaddr': E.src },
  },
  {
    name: 'neighbor advertisement with target link-layer option',
    frames: [b.ether(E, b.ipv6({ src: 'fe80::6', dst: 'fe80::1', hopLimit: 255, payload: b.neighborAdvertisement({ target: 'fe80::6', targetLinkAddr: E.dst, solicited: true }) }))],
    expect: { 'icmpv6.type': '136', 'icmpv6.nd.na.target_address': 'fe80::6', 'icmpv6.opt.linkaddr': E.dst },
  },
  {
    name: 'ARP request',
    frames: [b.ether({ src: E.src, dst: 'ff:ff:ff:ff:ff:ff', type: b.ETHERTYPE.arp }, b.arp({ op: 'request', senderMac: E.src, senderIp: '10.0.1.5', targetIp: '10.0.1.1' }))],
    expect: { 'eth.type': '0x0806', 'arp.opcode': '1', 'arp.src.hw_mac': E.src, 'arp.src.proto_ipv4': '10.0.1.5', 'arp.dst.hw_mac': '00:00:00:00:00:00', 'arp.dst.proto_ipv4': '10.0.1.1' },
  },
  {
    name: 'ARP reply',
    frames: [b.ether({ ...E, type: b.ETHERTYPE.arp }, b.arp({ op: 'reply', senderMac: E.src, senderIp: '10.0.1.1', targetMac: E.dst, targetIp: '10.0.1.5' }))],
    expect: { 'arp.opcode': '2', 'arp.dst.hw_mac': E.dst },
  },
  {
    name: 'DHCP discover',
    frames: [b.ether({ src: E.src, dst: 'ff:ff:ff:ff:ff:ff' }, b.ipv4({ src: '0.0.0.0', dst: '255.255.255.255', payload: b.udp({ sport: 68, dport: 67, payload: b.dhcp({ messageType: 'discover', xid: 0x11223344, chaddr: E.src, broadcast: true }) }) }))],
    expect: { 'dhcp.type': '1', 'dhcp.option.dhcp': '1', 'dhcp.hw.mac_addr': E.src, 'ip.src': '0.0.0.0', 'ip.dst': '255.255.255.255' },
  },
  {
    name: 'DHCP offer with router, DNS, lease, server id',
    frames: [b.ether({ src: E.dst, dst: 'ff:ff:ff:ff:ff:ff' }, b.ipv4({ src: '10.0.0.1', dst: '255.255.255.255', payload: b.udp({ sport: 67, dport: 68, payload: b.dhcp({ messageType: 'offer', xid: 0x11223344, chaddr: E.src, yiaddr: '10.0.1.99', serverId: '10.0.0.1', router: '10.0.1.1', dns: ['10.0.0.53', '10.0.0.54'], lease: 86400, subnetMask: '255.255.0.0' }) }) }))],
    expect: {
      'dhcp.type': '2', 'dhcp.option.dhcp': '2', 'dhcp.ip.your': '10.0.1.99', 'dhcp.option.dhcp_server_id': '10.0.0.1', 'dhcp.option.router': '10.0.1.1',
      'dhcp.option.domain_name_server': ['10.0.0.53', '10.0.0.54'], 'dhcp.option.ip_address_lease_time': '86400',
    },
  },
  {
    name: 'DHCP request with requested address',
    frames: [b.ether({ src: E.src, dst: 'ff:ff:ff:ff:ff:ff' }, b.ipv4({ src: '0.0.0.0', dst: '255.255.255.255', payload: b.udp({ sport: 68, dport: 67, payload: b.dhcp({ messageType: 'request', xid: 0x11223344, chaddr: E.src, requestedAddress: '10.0.1.99', serverId: '10.0.0.1' }) }) }))],
    expect: { 'dhcp.option.dhcp': '3', 'dhcp.option.requested_ip_address': '10.0.1.99', 'dhcp.option.dhcp_server_id': '10.0.0.1' },
  },
  {
    name: 'DHCP ack',
    frames: [b.ether({ src: E.dst, dst: E.src }, b.ipv4({ src: '10.0.0.1', dst: '10.0.1.99', payload: b.udp({ sport: 67, dport: 68, payload: b.dhcp({ messageType: 'ack', xid: 0x11223344, chaddr: E.src, yiaddr: '10.0.1.99', serverId: '10.0.0.1', lease: 3600 }) }) }))],
    expect: { 'dhcp.type': '2', 'dhcp.option.dhcp': '5', 'dhcp.option.ip_address_lease_time': '3600' },
  },
];

function statusFields(r: TsharkPacket): Record<string, number> {
  return checksumStatuses(r) as Record<string, number>;
}

test('every builder packet type decodes in tshark with the fields set and good checksums', async (t) => {
  const all = cases.flatMap((c) => c.frames);
  const rows = await decodeFrames(all);
  t.is(rows.length, all.length);
  let at = 0;
  for (const c of cases) {
    at += c.frames.length;
    const row = rows[at - 1] as TsharkPacket;
    for (const [field, want] of Object.entries(c.expect) as Array<[Field, string | string[]]>) {
      const got = row.fields[field];
      if (Array.isArray(want)) t.deepEqual(got, want, `${c.name}: ${field}`);
      else t.is(got[0], want, `${c.name}: ${field}`);
    }
    t.false(row.malformed, `${c.name}: tshark flags it malformed`);
    const statuses = statusFields(row);
    const wanted = { ...c.checksums } as Record<string, number>;
    for (const [f, v] of Object.entries(statuses)) t.is(v, wanted[f] ?? 1, `${c.name}: ${f}`);
    for (const f of Object.keys(wanted)) t.true(f in statuses, `${c.name}: ${f} present`);
  }
  // Including every fragment and every quoted inner packet.
  t.deepEqual(badChecksums(rows), []);
});

test('a wrong checksum override is seen as bad by tshark (the check is live)', async (t) => {
  const rows = await decodeFrames([
    b.ether(E, b.ipv4({ ...A4, checksum: 0x1234, payload: b.udp({ sport: 40000, dport: 40001 }) })),
    b.ether(E, b.ipv4({ ...A4, payload: b.tcp({ sport: 1, dport: 2, checksum: 0x1234 }) })),
    b.ether(E, b.ipv6({ ...A6, payload: b.udp({ sport: 40000, dport: 40001, checksum: 0x1234 }) })),
    b.ether(E, b.ipv4({ ...A4, payload: b.icmp({ type: 8, checksum: 0x1234 }) })),
    b.ether(E, b.ipv6({ ...A6, payload: b.icmpv6({ type: 128, checksum: 0x1234 }) })),
  ]);
  t.deepEqual(badChecksums(rows), [
    'frame 1: ip.checksum.status[0] bad',
    'frame 2: tcp.checksum.status[0] bad',
    'frame 3: udp.checksum.status[0] bad',
    'frame 4: icmp.checksum.status[0] bad',
    'frame 5: icmpv6.checksum.status[0] bad',
  ]);
});

test('internetChecksum: RFC 1071 example, odd lengths and split buffers', (t) => {
  const data = Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  t.is(b.onesComplementSum(data), 0xddf2);
  t.is(b.internetChecksum(data), 0x220d);
  t.is(b.internetChecksum(Buffer.from([0x01])), ~0x0100 & 0xffff);
  const odd = Buffer.from([1, 2, 3, 4, 5, 6, 7]);
  const whole = b.internetChecksum(odd);
  for (let cut = 0; cut <= odd.length; cut++) t.is(b.internetChecksum(odd.subarray(0, cut), odd.subarray(cut)), whole, `cut at ${cut}`);
  t.is(b.internetChecksum(Buffer.from([1]), Buffer.from([2]), Buffer.from([3])), b.internetChecksum(Buffer.from([1, 2, 3])));
  // A buffer with its own checksum in it sums to zero.
  const h = b.ipv4({ ...A4, proto: 253, payload: Buffer.alloc(3) }).subarray(0, 20);
  t.is(b.internetChecksum(h), 0);
});

test('address parsing and printing', (t) => {
  t.deepEqual([...b.ip4('10.0.1.5')], [10, 0, 1, 5]);
  t.is(b.ip6('fd00::1').toString('hex'), 'fd000000000000000000000000000001');
  t.is(b.ip6('::').toString('hex'), '0'.repeat(32));
  t.is(b.ip6('::ffff:10.0.0.1').toString('hex'), '00000000000000000000ffff0a000001');
  t.is(b.ip6('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
  t.is(b.ip6ToString(b.ip6('fd00:0:0:1::0:5')), 'fd00:0:0:1::5');
  t.is(b.ip6ToString(b.ip6('fd00:0:0:1:0:0:0:5')), 'fd00:0:0:1::5');
  t.is(b.ip6ToString(b.ip6('1:0:2:0:3:0:4:0')), '1:0:2:0:3:0:4:0');
  t.is(b.macToString(b.mac('02:AB:00:00:00:01')), '02:ab:00:00:00:01');
  t.throws(() => b.ip4('10.0.1'), { message: /IPv4 address/ });
  t.throws(() => b.ip6('fd00:::1'), { message: /IPv6 address/ });
  t.throws(() => b.mac('02:00:00:00:01'), { message: /MAC address/ });
  t.throws(() => b.ether(E, Buffer.from([0, 1, 2])), { message: /ether\.type/ });
  t.throws(() => b.ipv4({ ...A4, payload: Buffer.alloc(2) }), { message: /ipv4\.proto/ });
  t.throws(() => b.tcp({ sport: 70000, dport: 1 }).encode({ family: 4, src: b.ip4(A4.src), dst: b.ip4(A4.dst) }), { message: /tcp\.sport/ });
});

test('damage helpers produce what they say, and tshark notices', async (t) => {
  const good = b.ether({ ...E, vlans: [7] }, b.ipv4({ ...A4, payload: b.udp({ sport: 40000, dport: 40001, payload: Buffer.from('abcdef') }) }));
  const l3 = b.l3Offset(good);
  t.is(l3, 18);
  t.is(b.truncate(good, 20).length, 20);
  t.is(b.padFrame(b.truncate(good, 30)).length, 60);
  const ihl4 = b.setIpv4Ihl(good, 4);
  t.is((ihl4[l3] as number) & 0x0f, 4);
  const tl = b.setIpv4TotalLength(good, 1000);
  t.is(tl.readUInt16BE(l3 + 2), 1000);
  const v6 = b.ether(E, b.ipv6({ ...A6, payload: b.udp({ sport: 1, dport: 2 }) }));
  t.is(b.setIpv6PayloadLength(v6, 999).readUInt16BE(14 + 4), 999);
  t.is((b.setIpv4Version(good, 6)[l3] as number) >> 4, 6);
  t.is(b.setByte(good, 0, 0xff)[0], 0xff);
  const rows = await decodeFrames([good, ihl4, tl]);
  t.false(rows[0]?.malformed);
  t.is(rows[0]?.ipChecksumStatus, 1);
  // IHL 4 and a total length past the frame: tshark raises expert errors and stops at IP.
  t.is(rows[1]?.fields['udp.srcport'].length, 0);
  t.is(rows[2]?.fields['ip.len'][0], '1000');
  t.is(rows[2]?.ipChecksumStatus, 1, 'header checksum was refreshed after the change');
});

test('recomputeChecksums repairs every checksum a rewrite would touch', async (t) => {
  const frames = [
    b.ether(E, b.ipv4({ ...A4, payload: b.tcp({ sport: 1, dport: 2, payload: Buffer.from('abc') }) })),
    b.ether(E, b.ipv4({ ...A4, payload: b.udp({ sport: 40000, dport: 40001, payload: Buffer.from('abcd') }) })),
    b.ether(E, b.ipv4({ ...A4, options: Buffer.from([0x94, 4, 0, 0]), payload: b.icmpEcho({ id: 1, seq: 1 }) })),
    b.ether({ ...E, vlans: [1, 2] }, b.ipv6({ ...A6, ext: [{ type: 'destination' }], payload: b.icmpv6Echo({ id: 1, seq: 1, payload: Buffer.from('x') }) })),
    b.ether(E, b.ipv6({ ...A6, ext: [{ type: 'routing', segmentsLeft: 1, addresses: ['fd00:99::1'] }], payload: b.tcp({ sport: 1, dport: 2 }) })),
  ];
  const damaged = frames.map((f) => {
    const c = Buffer.from(f);
    const p = b.parseFrame(c);
    // New addresses, stale checksums: what a rewrite without fixing would leave.
    const s = (p.ip?.srcOffset ?? 0) + 1;
    const d = (p.ip?.dstOffset ?? 0) + 1;
    c[s] = (c[s] as number) ^ 0x55;
    c[d] = (c[d] as number) ^ 0x0f;
    return c;
  });
  const before = await decodeFrames(damaged);
  t.true(badChecksums(before).length >= frames.length - 1);
  const fixed = damaged.map((f) => b.recomputeChecksums(Buffer.from(f)));
  t.deepEqual(badChecksums(await decodeFrames(fixed)), []);
  // On an intact frame it is the identity.
  frames.forEach((f, i) => t.deepEqual(b.recomputeChecksums(Buffer.from(f)), f, `frame ${i}`));
  const zero = b.ether(E, b.ipv4({ ...A4, payload: b.udp({ sport: 40000, dport: 40001, checksum: 0 }) }));
  t.deepEqual(b.recomputeChecksums(Buffer.from(zero)), zero, 'UDP over IPv4 without checksum stays without');
});
