/**
 * Control-plane translation through the REAL data plane, from a policy with
 * prefix maps, a host override and MAC maps; every field checked with
 * tshark: ARP sender/target IP and MAC, DHCPv4 ciaddr/yiaddr/siaddr/giaddr,
 * chaddr and address options (router, DNS, server identifier, requested
 * address), IPv6 ND target addresses and link-layer options, checksums.
 * Then malformed control-plane packets: counted, no copy, never a crash.
 */
import test from 'ava';
import { arp, dhcp, ETHERTYPE, ether, ipv4, ipv6, neighborAdvertisement, neighborSolicitation, padFrame, setByte, udp, icmpv6 } from '../../src/pcap/build.js';
import { decodeFields, missingBuild, runConfig, sessionCounters } from '../helpers/policy-run.js';
import { CHECKSUM_GOOD } from '../helpers/tshark.js';

const skip = missingBuild();

const CLIENT = '02:00:00:00:01:05';
const ROUTER = '02:00:00:00:01:01';
const DHCP_CLIENT = '02:00:00:00:01:32';
const MAPPED = { [CLIENT]: '02:99:00:00:01:05', [ROUTER]: '02:99:00:00:01:01', [DHCP_CLIENT]: '02:99:00:00:01:32' };

const POLICY = {
  translate: {
    ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }],
    ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
    hosts: [{ from: '10.0.1.1', to: '10.98.0.1' }],
    macs: Object.entries(MAPPED).map(([from, to]) => ({ from, to })),
    unmapped: 'drop',
  },
  sessions: [{ id: 1 }],
};

const dhcpFrame = (src: string, dst: string, sport: number, dport: number, srcMac: string, body: Buffer, id: number) =>
  ether({ src: srcMac, dst: 'ff:ff:ff:ff:ff:ff' }, ipv4({ src, dst, id, ttl: 64, payload: udp({ sport, dport, payload: body }) }));

const GOOD = {
  arpRequest: ether({ src: CLIENT, dst: 'ff:ff:ff:ff:ff:ff', type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: CLIENT, senderIp: '10.0.1.5', targetIp: '10.0.1.1' })),
  arpReply: padFrame(ether({ src: ROUTER, dst: CLIENT, type: ETHERTYPE.arp }, arp({ op: 'reply', senderMac: ROUTER, senderIp: '10.0.1.1', targetMac: CLIENT, targetIp: '10.0.1.5' })), 60),
  discover: dhcpFrame('0.0.0.0', '255.255.255.255', 68, 67, DHCP_CLIENT, dhcp({ messageType: 'discover', xid: 0x1234, chaddr: DHCP_CLIENT, broadcast: true }), 1),
  offer: dhcpFrame('10.0.1.1', '255.255.255.255', 67, 68, ROUTER, dhcp({
    messageType: 'offer', xid: 0x1234, chaddr: DHCP_CLIENT, broadcast: true, yiaddr: '10.0.1.50', siaddr: '10.0.1.1', serverId: '10.0.1.1',
    subnetMask: '255.255.255.0', router: '10.0.1.1', dns: ['10.0.1.2', '8.8.8.8'], lease: 3600,
  }), 2),
  request: dhcpFrame('0.0.0.0', '255.255.255.255', 68, 67, DHCP_CLIENT, dhcp({ messageType: 'request', xid: 0x1234, chaddr: DHCP_CLIENT, requestedAddress: '10.0.1.50', serverId: '10.0.1.1' }), 3),
  ack: dhcpFrame('10.0.9.1', '10.0.1.50', 67, 68, ROUTER, dhcp({
    messageType: 'ack', xid: 0x1234, chaddr: DHCP_CLIENT, ciaddr: '10.0.1.50', yiaddr: '10.0.1.50', giaddr: '10.0.9.1', serverId: '10.0.1.1', router: ['10.0.1.1', '10.0.2.1'],
  }), 4),
  ns: ether({ src: CLIENT, dst: '33:33:ff:00:00:01' }, ipv6({ src: 'fd00:1::5', dst: 'ff02::1:ff00:1', hopLimit: 255, payload: neighborSolicitation({ target: 'fd00:1::1', sourceLinkAddr: CLIENT }) })),
  na: ether({ src: ROUTER, dst: CLIENT }, ipv6({ src: 'fd00:1::1', dst: 'fd00:1::5', hopLimit: 255, payload: neighborAdvertisement({ target: 'fd00:1::1', targetLinkAddr: ROUTER, solicited: true, router: true }) })),
};

const FIELDS = [
  'eth.src', 'eth.dst', 'arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.hw_mac', 'arp.dst.proto_ipv4',
  'ip.src', 'ip.dst', 'ip.checksum.status', 'udp.checksum.status',
  'dhcp.type', 'dhcp.ip.client', 'dhcp.ip.your', 'dhcp.ip.server', 'dhcp.ip.relay', 'dhcp.hw.mac_addr',
  'dhcp.option.router', 'dhcp.option.domain_name_server', 'dhcp.option.dhcp_server_id', 'dhcp.option.requested_ip_address', 'dhcp.option.subnet_mask',
  'ipv6.src', 'ipv6.dst', 'icmpv6.type', 'icmpv6.nd.ns.target_address', 'icmpv6.nd.na.target_address', 'icmpv6.opt.linkaddr', 'icmpv6.checksum.status',
  '_ws.malformed',
] as const;

type Row = Record<string, string[]>;
const one = (r: Row, f: string): string | undefined => r[f]?.[0];

test.serial('ARP, DHCP and ND payloads translated field by field (tshark), checksums good', async (t) => {
  if (skip) return t.fail(skip);
  const frames = Object.values(GOOD);
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production untouched');
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.is(rows.length, frames.length, `every control-plane frame mirrored; logs:\n${run.logs.slice(-10).join('\n')}`);
  const [arpReq, arpRep, discover, offer, request, ack, ns, na] = rows as Row[];

  // ARP: sender/target protocol addresses (host override for the router), hardware addresses through the MAC map.
  t.deepEqual(
    [one(arpReq!, 'arp.src.hw_mac'), one(arpReq!, 'arp.src.proto_ipv4'), one(arpReq!, 'arp.dst.hw_mac'), one(arpReq!, 'arp.dst.proto_ipv4')],
    [MAPPED[CLIENT], '10.99.1.5', '00:00:00:00:00:00', '10.98.0.1'],
    'ARP request: an all-zero target MAC stays all-zero',
  );
  t.deepEqual([one(arpReq!, 'eth.src'), one(arpReq!, 'eth.dst')], [MAPPED[CLIENT], 'ff:ff:ff:ff:ff:ff'], 'ARP request: still a broadcast');
  t.deepEqual(
    [one(arpRep!, 'arp.src.hw_mac'), one(arpRep!, 'arp.src.proto_ipv4'), one(arpRep!, 'arp.dst.hw_mac'), one(arpRep!, 'arp.dst.proto_ipv4')],
    [MAPPED[ROUTER], '10.98.0.1', MAPPED[CLIENT], '10.99.1.5'],
    'ARP reply (padded to 60 bytes)',
  );
  t.deepEqual([one(arpRep!, 'eth.src'), one(arpRep!, 'eth.dst')], [MAPPED[ROUTER], MAPPED[CLIENT]]);

  // DHCP DISCOVER: 0.0.0.0 and 255.255.255.255 name no host: kept, and not "unmapped".
  t.deepEqual([one(discover!, 'ip.src'), one(discover!, 'ip.dst')], ['0.0.0.0', '255.255.255.255']);
  t.is(one(discover!, 'dhcp.hw.mac_addr'), MAPPED[DHCP_CLIENT], 'chaddr through the MAC map');
  // OFFER: yiaddr, siaddr, router, DNS (one outside every map: kept), server identifier; the mask untouched.
  t.is(one(offer!, 'ip.src'), '10.98.0.1');
  t.is(one(offer!, 'dhcp.ip.your'), '10.99.1.50');
  t.is(one(offer!, 'dhcp.ip.server'), '10.98.0.1');
  t.deepEqual(offer!['dhcp.option.router'], ['10.98.0.1']);
  t.deepEqual(offer!['dhcp.option.domain_name_server'], ['10.99.1.2', '8.8.8.8']);
  t.is(one(offer!, 'dhcp.option.dhcp_server_id'), '10.98.0.1');
  t.is(one(offer!, 'dhcp.option.subnet_mask'), '255.255.255.0');
  t.is(one(offer!, 'dhcp.hw.mac_addr'), MAPPED[DHCP_CLIENT]);
  // REQUEST: requested address and server identifier.
  t.is(one(request!, 'dhcp.option.requested_ip_address'), '10.99.1.50');
  t.is(one(request!, 'dhcp.option.dhcp_server_id'), '10.98.0.1');
  // ACK through a relay: ciaddr, yiaddr, giaddr, two routers.
  t.deepEqual([one(ack!, 'ip.src'), one(ack!, 'ip.dst')], ['10.99.9.1', '10.99.1.50']);
  t.deepEqual([one(ack!, 'dhcp.ip.client'), one(ack!, 'dhcp.ip.your'), one(ack!, 'dhcp.ip.relay')], ['10.99.1.50', '10.99.1.50', '10.99.9.1']);
  t.deepEqual(ack!['dhcp.option.router'], ['10.98.0.1', '10.99.2.1']);
  for (const [name, r] of [['discover', discover], ['offer', offer], ['request', request], ['ack', ack]] as const) {
    t.is(Number(one(r!, 'ip.checksum.status')), CHECKSUM_GOOD, `${name}: IPv4 checksum`);
    t.is(Number(one(r!, 'udp.checksum.status')), CHECKSUM_GOOD, `${name}: UDP checksum over the rewritten payload`);
    t.deepEqual(r!['_ws.malformed'] ?? [], [], `${name}: tshark finds it well formed`);
  }

  // ND: the NS target, its solicited-node group, the source link-layer option; the NA target and its option.
  t.deepEqual([one(ns!, 'ipv6.src'), one(ns!, 'ipv6.dst')], ['fd99:1::5', 'ff02::1:ff00:1']);
  t.is(one(ns!, 'icmpv6.nd.ns.target_address'), 'fd99:1::1');
  t.deepEqual(ns!['icmpv6.opt.linkaddr'], [MAPPED[CLIENT]]);
  t.is(one(ns!, 'eth.dst'), '33:33:ff:00:00:01', 'the solicited-node MAC follows the group');
  t.deepEqual([one(na!, 'ipv6.src'), one(na!, 'ipv6.dst')], ['fd99:1::1', 'fd99:1::5']);
  t.is(one(na!, 'icmpv6.nd.na.target_address'), 'fd99:1::1');
  t.deepEqual(na!['icmpv6.opt.linkaddr'], [MAPPED[ROUTER]]);
  t.deepEqual([one(na!, 'eth.src'), one(na!, 'eth.dst')], [MAPPED[ROUTER], MAPPED[CLIENT]]);
  for (const r of [ns, na]) t.is(Number(one(r!, 'icmpv6.checksum.status')), CHECKSUM_GOOD, 'ICMPv6 checksum');

  const c = sessionCounters(run, 1);
  t.is(c.mirroredPackets, frames.length);
  t.is(run.stats.anomalies.control_plane ?? 0, 0);
});

test.serial('control-plane translation off: payloads are left as they are, headers still translated', async (t) => {
  if (skip) return t.fail(skip);
  // Without the control-plane switches, 255.255.255.255 is an ordinary (unmapped) address: the
  // relayed ACK (both ends mapped) is the DHCP frame that still gets through under unmapped: drop.
  const frames = [GOOD.ack, GOOD.arpReply];
  const run = await runConfig({ frames, policy: { ...POLICY, translate: { ...POLICY.translate, control_plane: { arp: false, dhcp: false, nd: false } } } });
  t.teardown(run.dispose);
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.is(rows.length, 1, 'the ACK only: ARP is not IP and its payload is not translated, so it is not mirrored');
  const ack = rows[0]!;
  t.deepEqual([one(ack, 'ip.src'), one(ack, 'ip.dst')], ['10.99.9.1', '10.99.1.50'], 'the IP header is translated');
  t.deepEqual([one(ack, 'dhcp.ip.your'), one(ack, 'dhcp.ip.relay')], ['10.0.1.50', '10.0.9.1'], 'the payload is not');
  t.deepEqual(ack['dhcp.option.router'], ['10.0.1.1', '10.0.2.1']);
  t.is(one(ack, 'dhcp.hw.mac_addr'), DHCP_CLIENT);
  t.is(Number(one(ack, 'udp.checksum.status')), CHECKSUM_GOOD);
  t.is(sessionCounters(run, 1).dropped.not_ip, 1);
});

// ---- malformed control-plane packets ---------------------------------------------

function badDhcpOption(): Buffer {
  const body = dhcp({ messageType: 'offer', xid: 1, chaddr: DHCP_CLIENT, yiaddr: '10.0.1.50' });
  // Replace the end of the options with a router option whose length runs past the datagram.
  const cookie = 236;
  const b = Buffer.from(body);
  b[cookie + 4 + 3] = 3; // after cookie and option 53 (3 bytes): code 3
  b[cookie + 4 + 4] = 200; // length 200 > what is left
  return dhcpFrame('10.0.1.1', '10.0.1.50', 67, 68, ROUTER, b, 11);
}

const MALFORMED = {
  'DHCP truncated (100 bytes of BOOTP)': dhcpFrame('10.0.1.1', '10.0.1.50', 67, 68, ROUTER, Buffer.alloc(100, 1), 10),
  'DHCP option length past the end': badDhcpOption(),
  'DHCP router option of 5 bytes': dhcpFrame('10.0.1.1', '10.0.1.50', 67, 68, ROUTER, dhcp({ messageType: 'offer', xid: 2, chaddr: DHCP_CLIENT, extraOptions: [{ code: 3, data: Buffer.from([10, 0, 1, 1, 9]) }] }), 12),
  'ARP with hlen 8': setByte(GOOD.arpRequest, 14 + 4, 8),
  'ARP with plen 6': setByte(GOOD.arpRequest, 14 + 5, 6),
  'ARP cut to 20 bytes': GOOD.arpRequest.subarray(0, 14 + 20),
  'ND NS with an option of length 0': ether({ src: CLIENT, dst: '33:33:ff:00:00:01' }, ipv6({
    src: 'fd00:1::5', dst: 'ff02::1:ff00:1', hopLimit: 255,
    payload: icmpv6({ type: 135, rest: 0, payload: Buffer.concat([Buffer.from([0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])]) }),
  })),
  'ND NA shorter than its fixed part': ether({ src: ROUTER, dst: CLIENT }, ipv6({ src: 'fd00:1::1', dst: 'fd00:1::5', hopLimit: 255, payload: icmpv6({ type: 136, rest: 0, payload: Buffer.alloc(8) }) })),
};

test.serial('malformed control-plane packets: counted, no copy, production forwarded, and the data plane carries on', async (t) => {
  if (skip) return t.fail(skip);
  const bad = Object.values(MALFORMED);
  // Good frames before and after: the data plane must still mirror after the bad ones.
  const frames = [GOOD.arpRequest, ...bad, ...bad, GOOD.offer, GOOD.na];
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production forwards every frame unchanged');
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.deepEqual(rows.map((r) => one(r, 'arp.opcode') ?? one(r, 'dhcp.type') ?? one(r, 'icmpv6.type')), ['1', '2', '136'], 'only the good frames are mirrored');
  const c = sessionCounters(run, 1);
  t.is(c.dropped.malformed, bad.length * 2, 'each malformed one dropped as malformed');
  t.is(run.stats.anomalies.control_plane, bad.length * 2, 'and counted as a control-plane anomaly');
  t.is(c.mirroredPackets, 3);
  t.is(run.stats.ports[1]?.txPackets, frames.length);
});
