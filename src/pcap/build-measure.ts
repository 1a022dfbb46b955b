/**
 * Captures with known timings for the measure stage and the detectors
 * (tests, the demo): TCP conversations whose handshake and timestamp RTTs,
 * retransmissions and resets are known by construction, and the traffic
 * each detector looks for (ARP flip-flops, gratuitous ARP storms, rogue
 * DHCP/DHCPv6/RA, port and host scans, SYN floods), each with a clean
 * counterpart of the same size. Frames carry their capture time
 * (microseconds), which net_pcap hands the data plane as rx timestamps.
 */
import { arp, dhcp, ether, icmpv6, ipv4, ipv6, tcp, udp, ETHERTYPE } from './build.js';
import type { PcapFrame } from './pcap.js';

export const T0_SEC = 1_700_000_000;

/** A frame at t µs after T0_SEC. */
export function at(us: number, data: Buffer): PcapFrame {
  const sec = T0_SEC + Math.floor(us / 1e6);
  return { data, tsSec: sec, tsUsec: us % 1e6 };
}

export const CLIENT_MAC = '02:00:00:00:00:0a';
export const SERVER_MAC = '02:00:00:00:00:0b';

/** TCP timestamps option: NOP NOP TS(val, ecr). */
export function tsOption(val: number, ecr: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 1;
  b[1] = 1;
  b[2] = 8;
  b[3] = 10;
  b.writeUInt32BE(val >>> 0, 4);
  b.writeUInt32BE(ecr >>> 0, 8);
  return b;
}

export interface TcpSegment {
  /** µs after T0 */
  t: number;
  /** true: server to client */
  fromServer: boolean;
  flags: string;
  seq: number;
  ack?: number;
  len?: number;
  window?: number;
  ts?: [number, number];
}

export interface Conversation {
  client: string;
  server: string;
  sport: number;
  dport: number;
  segments: TcpSegment[];
}

export function conversationFrames(c: Conversation): PcapFrame[] {
  const v6 = c.client.includes(':');
  return c.segments.map((s) => {
    const [src, dst] = s.fromServer ? [c.server, c.client] : [c.client, c.server];
    const [sport, dport] = s.fromServer ? [c.dport, c.sport] : [c.sport, c.dport];
    const seg = tcp({
      sport,
      dport,
      seq: s.seq >>> 0,
      ack: (s.ack ?? 0) >>> 0,
      flags: s.flags,
      window: s.window ?? 65535,
      ...(s.ts ? { options: tsOption(s.ts[0], s.ts[1]) } : {}),
      payload: Buffer.alloc(s.len ?? 0, 0x61),
    });
    const l3 = v6 ? ipv6({ src, dst, payload: seg }) : ipv4({ src, dst, payload: seg });
    return at(s.t, ether({ src: s.fromServer ? SERVER_MAC : CLIENT_MAC, dst: s.fromServer ? CLIENT_MAC : SERVER_MAC }, l3));
  });
}

export interface KnownConversation {
  frames: PcapFrame[];
  /** µs: SYN → SYN/ACK, SYN/ACK → ACK */
  synRttUs: number;
  ackRttUs: number;
  /** µs of each timestamp RTT sample, in the order they complete */
  tsRttUs: number[];
  retransmissions: number;
  outOfOrder: number;
  resets: number;
  zeroWindows: number;
}

/**
 * One TCP conversation with everything known: a handshake (SYN at t0,
 * SYN/ACK after synRttUs, ACK after ackRttUs more), then `rounds` request /
 * response exchanges with timestamps (each a timestamp RTT sample on both
 * sides), one retransmitted request, one segment sent out of order, one
 * zero window and a reset at the end.
 */
export function knownConversation(o: { client: string; server: string; sport: number; dport?: number; t0?: number; synRttUs: number; ackRttUs: number; serverRttUs: number; clientRttUs: number; rounds?: number }): KnownConversation {
  const t0 = o.t0 ?? 0;
  const rounds = o.rounds ?? 3;
  const segs: TcpSegment[] = [];
  let t = t0;
  let cseq = 1000;
  let sseq = 5000;
  let cts = 100;
  let sts = 9000;
  const tsRttUs: number[] = [];
  segs.push({ t, fromServer: false, flags: 'S', seq: cseq, ts: [cts, 0] });
  t += o.synRttUs;
  segs.push({ t, fromServer: true, flags: 'SA', seq: sseq, ack: cseq + 1, ts: [sts, cts] });
  // The SYN's TSval echoed by the SYN/ACK: the first server-side sample.
  tsRttUs.push(o.synRttUs);
  cseq += 1;
  sseq += 1;
  t += o.ackRttUs;
  cts += 1;
  segs.push({ t, fromServer: false, flags: 'A', seq: cseq, ack: sseq, ts: [cts, sts] });
  // ...and the SYN/ACK's echoed by the ACK: the first client-side sample.
  tsRttUs.push(o.ackRttUs);
  for (let r = 0; r < rounds; r++) {
    // Request 100 bytes; the server answers serverRttUs later with 200 bytes
    // echoing it; the client acks clientRttUs after that, echoing the answer.
    t += 1000;
    cts += 1;
    segs.push({ t, fromServer: false, flags: 'PA', seq: cseq, ack: sseq, len: 100, ts: [cts, sts] });
    cseq += 100;
    t += o.serverRttUs;
    sts += 1;
    segs.push({ t, fromServer: true, flags: 'PA', seq: sseq, ack: cseq, len: 200, ts: [sts, cts] });
    tsRttUs.push(o.serverRttUs);
    sseq += 200;
    t += o.clientRttUs;
    cts += 1;
    segs.push({ t, fromServer: false, flags: 'A', seq: cseq, ack: sseq, ts: [cts, sts] });
    tsRttUs.push(o.clientRttUs);
  }
  // A retransmission: the last request's bytes again (its TSval is new but
  // it is never echoed as such before the next echo moves on: no sample).
  t += 1000;
  segs.push({ t, fromServer: false, flags: 'PA', seq: cseq - 100, ack: sseq, len: 100 });
  // Out of order: the server sends 300..400 before 200..300 (bytes past sseq).
  t += 1000;
  segs.push({ t, fromServer: true, flags: 'PA', seq: sseq + 100, ack: cseq, len: 100 });
  t += 10;
  segs.push({ t, fromServer: true, flags: 'PA', seq: sseq, ack: cseq, len: 100 });
  sseq += 200;
  // A zero window from the client, then a reset.
  t += 1000;
  segs.push({ t, fromServer: false, flags: 'A', seq: cseq, ack: sseq, window: 0 });
  t += 1000;
  segs.push({ t, fromServer: false, flags: 'R', seq: cseq });
  return {
    frames: conversationFrames({ client: o.client, server: o.server, sport: o.sport, dport: o.dport ?? 80, segments: segs }),
    synRttUs: o.synRttUs,
    ackRttUs: o.ackRttUs,
    tsRttUs,
    retransmissions: 1,
    outOfOrder: 1,
    resets: 1,
    zeroWindows: 1,
  };
}

// ---- detectors -------------------------------------------------------------------

export function arpFrame(o: { t: number; op: 'request' | 'reply'; mac: string; ip: string; targetIp: string; targetMac?: string }): PcapFrame {
  const body = arp({ op: o.op, senderMac: o.mac, senderIp: o.ip, targetIp: o.targetIp, ...(o.targetMac ? { targetMac: o.targetMac } : {}) });
  return at(o.t, ether({ src: o.mac, dst: o.targetMac ?? 'ff:ff:ff:ff:ff:ff', type: ETHERTYPE.arp }, body));
}

/**
 * ARP replies for `ip`: from `mac`, then `spoofMac`, then `mac` again
 * (flip-flop) when flip is set; otherwise the same count of replies, all from
 * `mac` (clean).
 */
export function arpFlipFlop(o: { t0: number; ip: string; mac: string; spoofMac: string; victimIp: string; flip: boolean }): PcapFrame[] {
  const macs = o.flip ? [o.mac, o.spoofMac, o.mac] : [o.mac, o.mac, o.mac];
  return macs.map((m, i) => arpFrame({ t: o.t0 + i * 100_000, op: 'reply', mac: m, ip: o.ip, targetIp: o.victimIp, targetMac: '02:00:00:00:00:99' }));
}

/** `n` gratuitous ARPs (sender IP = target IP) within `spanUs`; clean: requests for other hosts. */
export function garpStorm(o: { t0: number; n: number; spanUs: number; gratuitous: boolean }): PcapFrame[] {
  return Array.from({ length: o.n }, (_, i) => {
    const ip = `10.9.${(i >> 8) & 255}.${(i & 255) + 1}`.replace(/\.0$/, '.1');
    return arpFrame({ t: o.t0 + Math.floor((i * o.spanUs) / o.n), op: 'request', mac: `02:00:00:09:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, ip, targetIp: o.gratuitous ? ip : '10.9.255.254' });
  });
}

/** A DHCP offer from `server` (server identifier and source address). */
export function dhcpOffer(o: { t: number; server: string; serverMac: string; yiaddr: string; xid: number; ack?: boolean }): PcapFrame {
  const body = dhcp({ messageType: o.ack ? 'ack' : 'offer', xid: o.xid, chaddr: '02:00:00:00:00:77', op: 'reply', yiaddr: o.yiaddr, serverId: o.server, subnetMask: '255.255.255.0', lease: 3600 });
  return at(o.t, ether({ src: o.serverMac, dst: 'ff:ff:ff:ff:ff:ff' }, ipv4({ src: o.server, dst: '255.255.255.255', payload: udp({ sport: 67, dport: 68, payload: body }) })));
}

/** A DHCPv6 advertise (2) from `server` to a client's link-local address. */
export function dhcpv6Advertise(o: { t: number; server: string; serverMac: string; xid: number }): PcapFrame {
  const body = Buffer.from([2, (o.xid >> 16) & 255, (o.xid >> 8) & 255, o.xid & 255]);
  return at(o.t, ether({ src: o.serverMac, dst: '33:33:00:01:00:02' }, ipv6({ src: o.server, dst: 'fe80::77', hopLimit: 255, payload: udp({ sport: 547, dport: 546, payload: body }) })));
}

/** An IPv6 router advertisement from `router` (link-local) to all nodes. */
export function routerAdvertisement(o: { t: number; router: string; routerMac: string }): PcapFrame {
  // Cur hop limit 64, flags 0, router lifetime 1800, reachable 0, retrans 0.
  const ra = icmpv6({ type: 134, code: 0, rest: Buffer.from([64, 0, 0x07, 0x08]), payload: Buffer.alloc(8) });
  return at(o.t, ether({ src: o.routerMac, dst: '33:33:00:00:00:01' }, ipv6({ src: o.router, dst: 'ff02::1', hopLimit: 255, payload: ra })));
}

/** SYNs from `src`: to `ports` distinct ports of one host (port scan) or one port of `hosts` distinct hosts (host scan). */
export function synProbes(o: { t0: number; src: string; dst: (i: number) => string; dport: (i: number) => number; n: number; stepUs: number }): PcapFrame[] {
  return Array.from({ length: o.n }, (_, i) => {
    const l3 = ipv4({ src: o.src, dst: o.dst(i), payload: tcp({ sport: 40000 + i, dport: o.dport(i), seq: 7000 + i, flags: 'S' }) });
    return at(o.t0 + i * o.stepUs, ether({ src: CLIENT_MAC, dst: SERVER_MAC }, l3));
  });
}

/**
 * `n` SYNs to one destination within `spanUs`, from many sources; `answered`
 * of them get a SYN/ACK right after.
 */
export function synBurst(o: { t0: number; dst: string; dport: number; n: number; spanUs: number; answered: number }): PcapFrame[] {
  const out: PcapFrame[] = [];
  for (let i = 0; i < o.n; i++) {
    const src = `10.8.${(i >> 8) & 255}.${(i & 255) || 1}`;
    const t = o.t0 + Math.floor((i * o.spanUs) / o.n);
    out.push(at(t, ether({ src: CLIENT_MAC, dst: SERVER_MAC }, ipv4({ src, dst: o.dst, payload: tcp({ sport: 30000 + i, dport: o.dport, seq: 100 + i, flags: 'S' }) }))));
    if (i < o.answered) {
      out.push(at(t + 1, ether({ src: SERVER_MAC, dst: CLIENT_MAC }, ipv4({ src: o.dst, dst: src, payload: tcp({ sport: o.dport, dport: 30000 + i, seq: 900 + i, ack: 101 + i, flags: 'SA' }) }))));
    }
  }
  return out;
}
