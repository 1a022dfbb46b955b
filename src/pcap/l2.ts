/**
 * Ethernet (with VLAN tags) and the control-plane payloads shadowtap
 * translates: ARP and DHCP (neighbour discovery is ICMPv6: transport.ts).
 */
import { checkUint, ETHERTYPE, ip4, mac, toBuffer, type Bytes } from './bytes.js';

// ---- L2 and control-plane payloads --------------------------------------------

export interface VlanTag {
  id: number;
  pcp?: number;
  dei?: boolean;
  /** 0x8100 (default) or 0x88a8 (service tag, outermost in QinQ) */
  tpid?: number;
}

export interface EtherOptions {
  dst: string;
  src: string;
  /** inferred from the IP version nibble of the payload when omitted */
  type?: number;
  /** outermost first; a number is a 0x8100 tag with that VLAN id */
  vlans?: Array<number | VlanTag>;
}

export function ether(o: EtherOptions, payload: Bytes): Buffer {
  const body = toBuffer(payload);
  let type = o.type;
  if (type === undefined) {
    const version = (body[0] ?? 0) >> 4;
    if (version === 4) type = ETHERTYPE.ipv4;
    else if (version === 6) type = ETHERTYPE.ipv6;
    else throw new Error('ether.type: expected an ethertype (payload is not IPv4 or IPv6, cannot infer it)');
  }
  const tags = (o.vlans ?? []).map((t) => (typeof t === 'number' ? { id: t } : t));
  const h = Buffer.alloc(14 + 4 * tags.length);
  mac(o.dst).copy(h, 0);
  mac(o.src).copy(h, 6);
  let off = 12;
  tags.forEach((t, i) => {
    const tpid = t.tpid ?? ETHERTYPE.vlan;
    h.writeUInt16BE(checkUint(`ether.vlans[${i}].tpid`, tpid, 16), off);
    const tci = (checkUint(`ether.vlans[${i}].pcp`, t.pcp ?? 0, 3) << 13) | (t.dei ? 0x1000 : 0) | checkUint(`ether.vlans[${i}].id`, t.id, 12);
    h.writeUInt16BE(tci, off + 2);
    off += 4;
  });
  h.writeUInt16BE(checkUint('ether.type', type, 16), off);
  return Buffer.concat([h, body]);
}

export interface ArpOptions {
  op: 'request' | 'reply' | number;
  senderMac: string;
  senderIp: string;
  /** 00:00:00:00:00:00 for a request when omitted */
  targetMac?: string;
  targetIp: string;
}

/** Ethernet/IPv4 ARP body; wrap with ether({..., type: ETHERTYPE.arp}). */
export function arp(o: ArpOptions): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); // Ethernet
  b.writeUInt16BE(ETHERTYPE.ipv4, 2);
  b[4] = 6;
  b[5] = 4;
  const op = o.op === 'request' ? 1 : o.op === 'reply' ? 2 : o.op;
  b.writeUInt16BE(checkUint('arp.op', op, 16), 6);
  mac(o.senderMac).copy(b, 8);
  ip4(o.senderIp).copy(b, 14);
  mac(o.targetMac ?? '00:00:00:00:00:00').copy(b, 18);
  ip4(o.targetIp).copy(b, 24);
  return b;
}

export const DHCP_MESSAGE_TYPE = {
  discover: 1,
  offer: 2,
  request: 3,
  decline: 4,
  ack: 5,
  nak: 6,
  release: 7,
  inform: 8,
} as const;
export type DhcpMessageType = keyof typeof DHCP_MESSAGE_TYPE;

export interface DhcpOptions {
  messageType: DhcpMessageType;
  xid: number;
  /** client hardware address */
  chaddr: string;
  /** BOOTP op; defaults from the message type (offer/ack/nak are replies) */
  op?: 'request' | 'reply';
  secs?: number;
  broadcast?: boolean;
  ciaddr?: string;
  yiaddr?: string;
  siaddr?: string;
  giaddr?: string;
  requestedAddress?: string;
  serverId?: string;
  subnetMask?: string;
  router?: string | string[];
  dns?: string[];
  /** lease time in seconds */
  lease?: number;
  hostname?: string;
  extraOptions?: Array<{ code: number; data: Bytes }>;
}

function dhcpOption(code: number, data: Buffer): Buffer {
  if (data.length > 255) throw new Error(`dhcp option ${code}: expected at most 255 bytes, got ${data.length}`);
  return Buffer.concat([Buffer.from([code, data.length]), data]);
}

/** BOOTP message with DHCP options (RFC 2131/2132), padded to the 300-byte BOOTP minimum; goes in UDP 68↔67. */
export function dhcp(o: DhcpOptions): Buffer {
  const isReply = o.op ? o.op === 'reply' : ['offer', 'ack', 'nak'].includes(o.messageType);
  const b = Buffer.alloc(236);
  b[0] = isReply ? 2 : 1;
  b[1] = 1; // Ethernet
  b[2] = 6;
  b[3] = 0; // hops
  b.writeUInt32BE(checkUint('dhcp.xid', o.xid, 32), 4);
  b.writeUInt16BE(checkUint('dhcp.secs', o.secs ?? 0, 16), 8);
  b.writeUInt16BE(o.broadcast ? 0x8000 : 0, 10);
  ip4(o.ciaddr ?? '0.0.0.0').copy(b, 12);
  ip4(o.yiaddr ?? '0.0.0.0').copy(b, 16);
  ip4(o.siaddr ?? '0.0.0.0').copy(b, 20);
  ip4(o.giaddr ?? '0.0.0.0').copy(b, 24);
  mac(o.chaddr).copy(b, 28);
  const opts: Buffer[] = [Buffer.from([99, 130, 83, 99])]; // magic cookie
  opts.push(dhcpOption(53, Buffer.from([DHCP_MESSAGE_TYPE[o.messageType]])));
  if (o.serverId !== undefined) opts.push(dhcpOption(54, ip4(o.serverId)));
  if (o.requestedAddress !== undefined) opts.push(dhcpOption(50, ip4(o.requestedAddress)));
  if (o.lease !== undefined) {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(checkUint('dhcp.lease', o.lease, 32), 0);
    opts.push(dhcpOption(51, l));
  }
  if (o.subnetMask !== undefined) opts.push(dhcpOption(1, ip4(o.subnetMask)));
  if (o.router !== undefined) {
    const rs = Array.isArray(o.router) ? o.router : [o.router];
    opts.push(dhcpOption(3, Buffer.concat(rs.map(ip4))));
  }
  if (o.dns !== undefined) opts.push(dhcpOption(6, Buffer.concat(o.dns.map(ip4))));
  if (o.hostname !== undefined) opts.push(dhcpOption(12, Buffer.from(o.hostname, 'ascii')));
  for (const x of o.extraOptions ?? []) opts.push(dhcpOption(checkUint('dhcp.extraOptions.code', x.code, 8), toBuffer(x.data)));
  opts.push(Buffer.from([255]));
  const msg = Buffer.concat([b, ...opts]);
  return msg.length >= 300 ? msg : Buffer.concat([msg, Buffer.alloc(300 - msg.length)]);
}
