/**
 * (c) Malformed and unusual frames. The rule (native/dataplane/stages/
 * rewrite_frame.h and the headers it names): production is always forwarded unchanged; truncated or
 * invalid headers → no shadow copy, dropped{malformed} + an anomaly; IPv4
 * options, fragments, VLAN/QinQ tags and IPv6 extension headers → mirrored,
 * translated, valid checksums, with their anomaly counted; non-IP → not_ip.
 */
import test from 'ava';
import { ANOMALIES, type Anomaly, type DropReason } from '../../src/dataplane/native-types.js';
import {
  ETHERTYPE,
  IPPROTO,
  arp,
  ether,
  fragmentIpv4,
  fragmentIpv6,
  icmpv6Echo,
  ip4,
  ipv4,
  ipv6,
  l3Offset,
  padFrame,
  setByte,
  setIpv4Ihl,
  setIpv4TotalLength,
  setIpv4Version,
  setIpv6PayloadLength,
  tcp,
  truncate,
  udp,
  type EtherOptions,
} from '../../src/pcap/build.js';
import { compareFrames, hex, referenceShadow, runDataplane, translation, zeroAnomalies, zeroDrops, type Translation } from '../helpers/dataplane.js';
import { badChecksums, CHECKSUM_GOOD, decodePcapFile } from '../helpers/tshark.js';

const TR: Translation = translation({
  map4: [{ from: '10.0.0.0', to: '10.99.0.0', len: 16 }],
  map6: [{ from: 'fd00::', to: 'fd99::', len: 16 }],
  unmapped: 'drop',
});

const E: EtherOptions = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const A4 = { src: '10.0.1.5', dst: '10.0.2.6' };
const A6 = { src: 'fd00:10::5', dst: 'fd00:20::6' };
const P = Buffer.from('payload of a test frame');

interface Case {
  name: string;
  frames: Buffer[];
  /** 'mirror' or the drop reason, for every frame of the case */
  outcome: 'mirror' | DropReason;
  /** anomalies every frame of the case raises */
  anomalies: Anomaly[];
  /** reference shadow frames when mirrored; default: referenceShadow of each frame */
  expected?: Buffer[];
  /** the last frame completes a reassembly: tshark must verify its L4 checksum */
  reassembles?: 'tcp' | 'udp';
}

const tcp4 = (o: { vlans?: EtherOptions['vlans']; options?: Buffer; id?: number } = {}): Buffer =>
  ether({ ...E, vlans: o.vlans }, ipv4({ ...A4, id: o.id ?? 1, options: o.options, payload: tcp({ sport: 40000, dport: 40001, seq: 1, flags: 'PA', payload: P }) }));
const udp4 = (o: { vlans?: EtherOptions['vlans']; options?: Buffer } = {}): Buffer =>
  ether({ ...E, vlans: o.vlans }, ipv4({ ...A4, id: 2, options: o.options, payload: udp({ sport: 40000, dport: 40001, payload: P }) }));
const tcp6 = (vlans?: EtherOptions['vlans']): Buffer =>
  ether({ ...E, vlans }, ipv6({ ...A6, payload: tcp({ sport: 40000, dport: 40001, seq: 1, flags: 'PA', payload: P }) }));

/** Fragments of a datagram, and their reference: the translated datagram fragmented the same way. */
function fragments(name: string, eth: EtherOptions, packet: Buffer, chunk: number, anomalies: Anomaly[], reassembles: 'tcp' | 'udp', v6id?: number): Case {
  const split = (p: Buffer): Buffer[] => (v6id === undefined ? fragmentIpv4(p, chunk) : fragmentIpv6(p, chunk, v6id));
  const whole = ether(eth, packet);
  const ref = referenceShadow(whole, TR);
  if (ref.action !== 'mirror') throw new Error(`${name}: the whole datagram would not be mirrored`);
  const l3 = l3Offset(ref.frame);
  return {
    name,
    frames: split(packet).map((p) => ether(eth, p)),
    outcome: 'mirror',
    anomalies,
    expected: split(ref.frame.subarray(l3)).map((p) => Buffer.concat([ref.frame.subarray(0, l3), p])),
    reassembles,
  };
}

const RA = Buffer.from([0x94, 4, 0, 0]); // router alert
const LONG_OPTS = Buffer.from([0x94, 4, 0, 0, 1, 1, 0x44, 12, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // RA, NOP NOP, timestamp

const cases: Case[] = [
  // ---- truncated / invalid: no copy ----
  { name: 'Ethernet header truncated (13 bytes)', frames: [truncate(tcp4(), 13)], outcome: 'malformed', anomalies: ['truncated_l2'] },
  { name: 'VLAN tag truncated', frames: [truncate(tcp4({ vlans: [10] }), 16)], outcome: 'malformed', anomalies: ['vlan', 'truncated_l2'] },
  { name: 'QinQ inner tag truncated', frames: [truncate(tcp4({ vlans: [{ id: 10, tpid: ETHERTYPE.qinq }, 20] }), 20)], outcome: 'malformed', anomalies: ['vlan', 'truncated_l2'] },
  { name: 'IPv4 header truncated', frames: [truncate(tcp4(), 14 + 19)], outcome: 'malformed', anomalies: ['truncated_l3'] },
  { name: 'IPv4 total length beyond the frame', frames: [setIpv4TotalLength(tcp4(), 20 + 20 + P.length + 1)], outcome: 'malformed', anomalies: ['truncated_l3'] },
  { name: 'IPv4 total length shorter than the header', frames: [setIpv4TotalLength(tcp4(), 19)], outcome: 'malformed', anomalies: ['truncated_l3'] },
  { name: 'IPv4 IHL 4', frames: [setIpv4Ihl(tcp4(), 4)], outcome: 'malformed', anomalies: ['bad_ihl'] },
  { name: 'IPv4 IHL 0', frames: [setIpv4Ihl(udp4(), 0)], outcome: 'malformed', anomalies: ['bad_ihl'] },
  { name: 'IPv4 IHL past the frame', frames: [setIpv4Ihl(ether(E, ipv4({ ...A4, payload: udp({ sport: 1, dport: 2 }) })), 15)], outcome: 'malformed', anomalies: ['truncated_l3'] },
  { name: 'ethertype IPv4, version 6', frames: [setIpv4Version(tcp4(), 6)], outcome: 'malformed', anomalies: ['bad_ihl'] },
  { name: 'IPv4 header truncated, VLAN-tagged', frames: [truncate(tcp4({ vlans: [30] }), 18 + 10)], outcome: 'malformed', anomalies: ['vlan', 'truncated_l3'] },
  { name: 'IPv6 header truncated', frames: [truncate(tcp6(), 14 + 39)], outcome: 'malformed', anomalies: ['truncated_l3'] },
  { name: 'IPv6 payload length beyond the frame', frames: [setIpv6PayloadLength(tcp6(), 20 + P.length + 1)], outcome: 'malformed', anomalies: ['truncated_l3'] },
  { name: 'ethertype IPv6, version 4', frames: [setByte(tcp6(), 14, 0x45)], outcome: 'malformed', anomalies: ['bad_ihl'] },
  {
    name: 'IPv6 extension header longer than the payload',
    frames: [setByte(ether(E, ipv6({ ...A6, nextHeader: IPPROTO.none, ext: [{ type: 'hopByHop' }] })), 14 + 40 + 1, 3)],
    outcome: 'malformed',
    anomalies: ['truncated_l3'],
  },
  { name: 'TCP header truncated (IPv4)', frames: [ether(E, ipv4({ ...A4, proto: IPPROTO.tcp, payload: Buffer.alloc(10, 1) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'TCP data offset 4', frames: [ether(E, ipv4({ ...A4, payload: tcp({ sport: 1, dport: 2, dataOffset: 4, payload: P }) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'TCP data offset past the datagram', frames: [ether(E, ipv4({ ...A4, payload: tcp({ sport: 1, dport: 2, dataOffset: 15 }) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'UDP header truncated (IPv4)', frames: [ether(E, ipv4({ ...A4, proto: IPPROTO.udp, payload: Buffer.alloc(4, 1) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'ICMP header truncated (IPv4)', frames: [ether(E, ipv4({ ...A4, proto: IPPROTO.icmp, payload: Buffer.from([8, 0, 0, 0, 0, 1]) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'TCP header truncated (IPv6)', frames: [ether(E, ipv6({ ...A6, nextHeader: IPPROTO.tcp, payload: Buffer.alloc(12, 1) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'UDP header truncated (IPv6)', frames: [ether(E, ipv6({ ...A6, nextHeader: IPPROTO.udp, payload: Buffer.alloc(7, 1) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'ICMPv6 header truncated', frames: [ether(E, ipv6({ ...A6, nextHeader: IPPROTO.icmpv6, payload: Buffer.from([128, 0, 0, 0]) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'TCP truncated after a hop-by-hop header (IPv6)', frames: [ether(E, ipv6({ ...A6, nextHeader: IPPROTO.tcp, ext: [{ type: 'hopByHop' }], payload: Buffer.alloc(12, 1) }))], outcome: 'malformed', anomalies: ['truncated_l4'] },
  { name: 'TCP header truncated, QinQ-tagged', frames: [ether({ ...E, vlans: [{ id: 5, tpid: ETHERTYPE.qinq }, 6] }, ipv4({ ...A4, proto: IPPROTO.tcp, payload: Buffer.alloc(10, 1) }))], outcome: 'malformed', anomalies: ['vlan', 'truncated_l4'] },
  {
    name: 'first IPv4 fragment too short for the TCP checksum',
    frames: [ether(E, ipv4({ ...A4, id: 77, mf: true, proto: IPPROTO.tcp, payload: Buffer.alloc(16, 1) }))],
    outcome: 'malformed',
    anomalies: ['fragment', 'truncated_l4'],
  },
  {
    name: 'truncated TCP between unmapped addresses: malformed, not unmapped',
    frames: [ether(E, ipv4({ src: '192.0.2.1', dst: '198.51.100.1', proto: IPPROTO.tcp, payload: Buffer.alloc(10, 1) }))],
    outcome: 'malformed',
    anomalies: ['truncated_l4'],
  },

  // ---- not IP ----
  { name: 'ARP', frames: [ether({ ...E, type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: '02:00:00:00:00:01', senderIp: '10.0.1.5', targetIp: '10.0.1.1' }))], outcome: 'not_ip', anomalies: [] },
  { name: 'LLDP', frames: [ether({ src: E.src, dst: '01:80:c2:00:00:0e', type: ETHERTYPE.lldp }, Buffer.from('0207040200000000010403020001060200780000', 'hex'))], outcome: 'not_ip', anomalies: [] },
  { name: 'MPLS', frames: [ether({ ...E, type: ETHERTYPE.mpls }, Buffer.concat([Buffer.from([0, 1, 0x01, 64]), ipv4({ ...A4, payload: udp({ sport: 1, dport: 2 }) })]))], outcome: 'not_ip', anomalies: [] },
  { name: '802.3 length field (LLC)', frames: [ether({ src: E.src, dst: '01:80:c2:00:00:00', type: 38 }, Buffer.concat([Buffer.from([0x42, 0x42, 0x03]), Buffer.alloc(35)]))], outcome: 'not_ip', anomalies: [] },
  { name: 'VLAN-tagged ARP', frames: [ether({ ...E, vlans: [12], type: ETHERTYPE.arp }, arp({ op: 'reply', senderMac: '02:00:00:00:00:01', senderIp: '10.0.1.1', targetMac: '02:00:00:00:00:02', targetIp: '10.0.1.5' }))], outcome: 'not_ip', anomalies: ['vlan'] },
  { name: 'three VLAN tags', frames: [tcp4({ vlans: [{ id: 1, tpid: ETHERTYPE.qinq }, 2, 3] })], outcome: 'not_ip', anomalies: ['vlan'] },

  // ---- unusual but valid: mirrored and translated ----
  { name: 'IPv4 TCP with router-alert option', frames: [tcp4({ options: RA })], outcome: 'mirror', anomalies: ['ipv4_options'] },
  { name: 'IPv4 UDP with 20 bytes of options', frames: [udp4({ options: LONG_OPTS })], outcome: 'mirror', anomalies: ['ipv4_options'] },
  {
    name: 'IPv4 loose source route with hops left: final destination (in the option) not translated',
    frames: [ether(E, ipv4({ ...A4, options: Buffer.concat([Buffer.from([1, 131, 11, 4]), ip4('10.0.3.3'), ip4('10.0.4.4')]), payload: tcp({ sport: 40000, dport: 40001, payload: P }) }))],
    outcome: 'mirror',
    anomalies: ['ipv4_options'],
  },
  {
    name: 'IPv4 strict source route with hops left, UDP',
    frames: [ether(E, ipv4({ ...A4, options: Buffer.concat([Buffer.from([1, 137, 7, 4]), ip4('192.0.2.9')]), payload: udp({ sport: 40000, dport: 40001, payload: P }) }))],
    outcome: 'mirror',
    anomalies: ['ipv4_options'],
  },
  {
    name: 'IPv4 loose source route exhausted: destination is final, translated normally',
    frames: [ether(E, ipv4({ ...A4, options: Buffer.concat([Buffer.from([1, 131, 7, 8]), ip4('10.0.3.3')]), payload: tcp({ sport: 40000, dport: 40001, payload: P }) }))],
    outcome: 'mirror',
    anomalies: ['ipv4_options'],
  },
  { name: 'single VLAN tag, TCP', frames: [tcp4({ vlans: [100] })], outcome: 'mirror', anomalies: ['vlan'] },
  { name: 'QinQ 802.1ad + 802.1Q, UDP', frames: [udp4({ vlans: [{ id: 100, tpid: ETHERTYPE.qinq }, 200] })], outcome: 'mirror', anomalies: ['vlan'] },
  { name: 'double 802.1Q, IPv6 TCP', frames: [tcp6([7, 8])], outcome: 'mirror', anomalies: ['vlan'] },
  { name: '0x9100 tag, IPv4 TCP', frames: [tcp4({ vlans: [{ id: 9, tpid: ETHERTYPE.qinqOld }] })], outcome: 'mirror', anomalies: ['vlan'] },
  { name: 'VLAN + IPv4 options', frames: [tcp4({ vlans: [42], options: RA })], outcome: 'mirror', anomalies: ['vlan', 'ipv4_options'] },
  {
    name: 'IPv6 hop-by-hop + TCP',
    frames: [ether(E, ipv6({ ...A6, ext: [{ type: 'hopByHop', options: Buffer.from([5, 2, 0, 0]) }], payload: tcp({ sport: 40000, dport: 40001, payload: P }) }))],
    outcome: 'mirror',
    anomalies: [],
  },
  { name: 'IPv6 destination options + UDP', frames: [ether(E, ipv6({ ...A6, ext: [{ type: 'destination' }], payload: udp({ sport: 40000, dport: 40001, payload: P }) }))], outcome: 'mirror', anomalies: [] },
  {
    name: 'IPv6 routing header, segments left 0, + TCP',
    frames: [ether(E, ipv6({ ...A6, ext: [{ type: 'routing', segmentsLeft: 0, addresses: ['fd00:30::1'] }], payload: tcp({ sport: 40000, dport: 40001, payload: P }) }))],
    outcome: 'mirror',
    anomalies: [],
  },
  {
    name: 'IPv6 routing header, segments left 2 (final destination not translated) + UDP',
    frames: [ether(E, ipv6({ ...A6, ext: [{ type: 'routing', segmentsLeft: 2, addresses: ['fd00:30::1', 'fd00:40::1'] }], payload: udp({ sport: 40000, dport: 40001, payload: P }) }))],
    outcome: 'mirror',
    anomalies: [],
  },
  {
    name: 'IPv6 hop-by-hop + destination + routing + ICMPv6 echo',
    frames: [ether(E, ipv6({ ...A6, ext: [{ type: 'hopByHop' }, { type: 'destination' }, { type: 'routing', segmentsLeft: 0, addresses: ['fd00:30::1'] }], payload: icmpv6Echo({ id: 1, seq: 1, payload: P }) }))],
    outcome: 'mirror',
    anomalies: [],
  },
  {
    name: 'IPv6 atomic fragment (offset 0, no M) is not an anomaly',
    frames: [ether(E, ipv6({ ...A6, ext: [{ type: 'fragment', id: 0x99 }], payload: tcp({ sport: 40000, dport: 40001, payload: P }) }))],
    outcome: 'mirror',
    anomalies: [],
  },
  { name: 'Ethernet padding after a short IPv4 TCP segment', frames: [padFrame(ether(E, ipv4({ ...A4, payload: tcp({ sport: 40000, dport: 40001, flags: 'A' }) })))], outcome: 'mirror', anomalies: [] },
  { name: 'Ethernet padding after a short IPv4 UDP datagram', frames: [padFrame(ether(E, ipv4({ ...A4, payload: udp({ sport: 40000, dport: 40001, payload: Buffer.from('x') }) })), 64)], outcome: 'mirror', anomalies: [] },
  fragments('IPv4 TCP in 3 fragments', E, ipv4({ ...A4, id: 0x1001, payload: tcp({ sport: 40000, dport: 40001, seq: 5, payload: Buffer.alloc(300, 0x41) }) }), 128, ['fragment'], 'tcp'),
  fragments('IPv4 UDP in 4 fragments', E, ipv4({ ...A4, id: 0x1002, payload: udp({ sport: 40000, dport: 40001, payload: Buffer.alloc(333, 0x42) }) }), 96, ['fragment'], 'udp'),
  fragments('IPv4 fragments with options', E, ipv4({ ...A4, id: 0x1003, options: RA, payload: udp({ sport: 40000, dport: 40001, payload: Buffer.alloc(200, 0x43) }) }), 128, ['ipv4_options', 'fragment'], 'udp'),
  fragments('VLAN + IPv4 options + fragments', { ...E, vlans: [55] }, ipv4({ ...A4, id: 0x1004, options: RA, payload: tcp({ sport: 40000, dport: 40001, payload: Buffer.alloc(250, 0x44) }) }), 160, ['vlan', 'ipv4_options', 'fragment'], 'tcp'),
  fragments('IPv6 TCP in 3 fragments', E, ipv6({ ...A6, payload: tcp({ sport: 40000, dport: 40001, seq: 5, payload: Buffer.alloc(300, 0x45) }) }), 128, ['fragment'], 'tcp', 0x2001),
  fragments('IPv6 UDP fragments after hop-by-hop', E, ipv6({ ...A6, ext: [{ type: 'hopByHop' }], payload: udp({ sport: 40000, dport: 40001, payload: Buffer.alloc(250, 0x46) }) }), 96, ['fragment'], 'udp', 0x2002),
  fragments('QinQ + IPv6 fragments', { ...E, vlans: [{ id: 3, tpid: ETHERTYPE.qinq }, 4] }, ipv6({ ...A6, payload: udp({ sport: 40000, dport: 40001, payload: Buffer.alloc(200, 0x47) }) }), 104, ['vlan', 'fragment'], 'udp', 0x2003),
];

test.serial('malformed and unusual frames: production unchanged, shadow follows the documented rule, counters exact, host stays up', async (t) => {
  const frames = cases.flatMap((c) => c.frames);
  const run = await runDataplane({ frames, ...TR });
  t.teardown(run.dispose);

  // Production: every frame, byte-identical.
  t.deepEqual(compareFrames('production', frames, frames, run.production), []);

  // Shadow: exactly the mirrored cases' reference frames, in order.
  const expected: Buffer[] = [];
  const inputs: Buffer[] = [];
  const owner: string[] = [];
  const drops = zeroDrops();
  const anomalies = zeroAnomalies();
  const reassembled: Array<{ index: number; kind: 'tcp' | 'udp'; name: string }> = [];
  for (const c of cases) {
    c.frames.forEach((f, i) => {
      for (const a of c.anomalies) anomalies[a]++;
      if (c.outcome !== 'mirror') {
        drops[c.outcome]++;
        return;
      }
      let e = c.expected?.[i];
      if (e === undefined) {
        const r = referenceShadow(f, TR);
        if (r.action !== 'mirror') throw new Error(`case "${c.name}": reference says ${r.reason}`);
        e = r.frame;
      }
      expected.push(e);
      inputs.push(f);
      owner.push(c.name);
    });
    if (c.reassembles) reassembled.push({ index: expected.length - 1, kind: c.reassembles, name: c.name });
  }
  const problems: string[] = [];
  if (run.shadow.length !== expected.length) problems.push(`shadow: expected ${expected.length} frames, got ${run.shadow.length}`);
  expected.forEach((e, i) => {
    const g = run.shadow[i];
    if (g && !g.equals(e)) problems.push(`case "${owner[i]}": input ${hex(inputs[i] as Buffer)}\n  expected ${hex(e)}\n  got      ${hex(g)}`);
  });
  t.deepEqual(problems, []);

  // tshark on the shadow output: every checksum good, reassembled L4 verified.
  const rows = await decodePcapFile(run.shadowPath);
  t.deepEqual(badChecksums(rows), []);
  for (const r of reassembled) {
    const row = rows[r.index];
    t.is(r.kind === 'tcp' ? row?.tcpChecksumStatus : row?.udpChecksumStatus, CHECKSUM_GOOD, `${r.name}: reassembled ${r.kind} checksum`);
  }

  const s = run.stats;
  t.is(s.ports[0]?.rxPackets, frames.length, 'every frame received');
  t.is(s.ports[1]?.txPackets, frames.length, 'every frame forwarded');
  t.is(s.mirrorPackets, expected.length);
  t.deepEqual(s.dropped, drops, 'dropped');
  t.deepEqual(s.anomalies, anomalies, 'anomalies');
  // control_plane needs control-plane translation on (a policy); the skeleton's
  // plan path has it off, and the policy tests cover it.
  for (const a of ANOMALIES.filter((k) => k !== 'control_plane')) t.true(anomalies[a] > 0, `the cases exercise ${a}`);
});

test.serial('runt frames (0 and 1 byte) are malformed, truncated_l2, and production still gets them', async (t) => {
  const frames = [Buffer.alloc(0), Buffer.from([0xff]), tcp4()];
  const run = await runDataplane({ frames, ...TR });
  t.teardown(run.dispose);
  t.deepEqual(compareFrames('production', frames, frames, run.production), []);
  t.is(run.shadow.length, 1);
  const s = run.stats;
  t.is(s.ports[0]?.rxPackets, 3);
  t.deepEqual(s.dropped, { ...zeroDrops(), malformed: 2 }, 'a runt is malformed (contract: ST_DROP_NOMEM is "shadow mempool exhausted")');
  t.deepEqual(s.anomalies, { ...zeroAnomalies(), truncated_l2: 2 });
});
