/**
 * The demo capture that `npm start` replays in a loop: a small, deterministic
 * network where most traffic is inside the demo maps (so the shadow side has
 * something to translate) and a few packets are not (so the unmapped rule
 * and the not-IP counters move too).
 *
 *   node dist/src/tools/gen-demo-capture.js <out.pcap>
 */
import { pathToFileURL } from 'node:url';
import {
  arp,
  dhcp,
  ETHERTYPE,
  ether,
  icmpEcho,
  icmpv6Echo,
  ip4,
  ip6,
  ipv4,
  ipv6,
  neighborAdvertisement,
  neighborSolicitation,
  tcp,
  udp,
  type Transport,
} from '../pcap/build.js';
import { writePcap } from '../pcap/pcap.js';
import { demoArpFlipFrames, demoScanFrames } from './demo-detections.js';
import { routingConversations } from './demo-routing.js';
import { demoDnsConversations } from './demo-dns.js';

/** Production prefix → shadow prefix, host bits kept. */
export const DEMO_MAP4: ReadonlyArray<{ from: string; to: string; len: number }> = [
  { from: '10.0.0.0', to: '10.99.0.0', len: 16 },
];
export const DEMO_MAP6: ReadonlyArray<{ from: string; to: string; len: number }> = [
  { from: 'fd00::', to: 'fd99::', len: 16 },
];

/** A host's MAC derived from its address, so every frame of a host agrees. */
function macOf(addr: string): string {
  const b = addr.includes(':') ? ip6(addr).subarray(12) : ip4(addr);
  const tag = addr.includes(':') ? '06' : '04';
  return `02:${tag}:${Array.from(b)
    .map((x) => x.toString(16).padStart(2, '0'))
    .join(':')}`;
}

class Clock {
  private readonly ids = new Map<string, number>();
  nextId(host: string): number {
    const v = ((this.ids.get(host) ?? 0x1000) + 1) & 0xffff;
    this.ids.set(host, v);
    return v;
  }
}

function ip(clock: Clock, src: string, dst: string, payload: Transport, ttl = 64): Buffer {
  const eth = { src: macOf(src), dst: macOf(dst) };
  if (src.includes(':')) return ether(eth, ipv6({ src, dst, hopLimit: ttl, payload }));
  return ether(eth, ipv4({ src, dst, ttl, id: clock.nextId(src), df: payload.proto === 6, payload }));
}

/** Deterministic filler text so payloads look like something in a dissector. */
function text(label: string, n: number): Buffer {
  const unit = `${label} `;
  return Buffer.from(unit.repeat(Math.ceil(n / unit.length)).slice(0, n), 'ascii');
}

interface TcpFlowSpec {
  client: string;
  server: string;
  cport: number;
  sport: number;
  /** [request bytes, response bytes] per exchange */
  exchanges: Array<[number, number]>;
  iss: number;
  irs: number;
}

const MSS = 1200;

function tcpFlow(clock: Clock, f: TcpFlowSpec): Buffer[] {
  const out: Buffer[] = [];
  let cseq = f.iss;
  let sseq = f.irs;
  const c2s = (flags: string, payload?: Buffer): void => {
    out.push(ip(clock, f.client, f.server, tcp({ sport: f.cport, dport: f.sport, seq: cseq, ack: flags.includes('A') ? sseq : 0, flags, window: 64240, payload })));
  };
  const s2c = (flags: string, payload?: Buffer): void => {
    out.push(ip(clock, f.server, f.client, tcp({ sport: f.sport, dport: f.cport, seq: sseq, ack: cseq, flags, window: 65160, payload })));
  };
  c2s('S');
  cseq = (cseq + 1) >>> 0;
  s2c('SA');
  sseq = (sseq + 1) >>> 0;
  c2s('A');
  f.exchanges.forEach(([req, resp], i) => {
    const q = text(`req${i} ${f.client}->${f.server}:${f.sport}`, req);
    c2s('PA', q);
    cseq = (cseq + q.length) >>> 0;
    for (let sent = 0; sent < resp; sent += MSS) {
      const seg = text(`resp${i} ${f.server}`, Math.min(MSS, resp - sent));
      s2c(sent + MSS >= resp ? 'PA' : 'A', seg);
      sseq = (sseq + seg.length) >>> 0;
    }
    c2s('A');
  });
  c2s('FA');
  cseq = (cseq + 1) >>> 0;
  s2c('FA');
  sseq = (sseq + 1) >>> 0;
  c2s('A');
  return out;
}

function dnsName(name: string): Buffer {
  const parts = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/** A DNS query, or its answer when `answer` is given (A or AAAA by address family). */
function dnsMessage(id: number, name: string, qtype: 1 | 28, answer?: string): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(answer === undefined ? 0x0100 : 0x8180, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answer === undefined ? 0 : 1, 6);
  const q = Buffer.concat([dnsName(name), Buffer.from([0, qtype, 0, 1])]);
  if (answer === undefined) return Buffer.concat([h, q]);
  const rdata = qtype === 1 ? ip4(answer) : ip6(answer);
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
  rr.writeUInt16BE(qtype, 2);
  rr.writeUInt16BE(1, 4);
  rr.writeUInt32BE(300, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([h, q, rr, rdata]);
}

function dnsExchange(clock: Clock, client: string, server: string, cport: number, id: number, name: string, qtype: 1 | 28, answer: string): Buffer[] {
  return [
    ip(clock, client, server, udp({ sport: cport, dport: 53, payload: dnsMessage(id, name, qtype) })),
    ip(clock, server, client, udp({ sport: 53, dport: cport, payload: dnsMessage(id, name, qtype, answer) })),
  ];
}

function pingV4(clock: Clock, a: string, b: string, id: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const payload = text(`ping ${seq}`, 56);
    out.push(ip(clock, a, b, icmpEcho({ id, seq, payload })));
    out.push(ip(clock, b, a, icmpEcho({ id, seq, payload, reply: true })));
  }
  return out;
}

function pingV6(clock: Clock, a: string, b: string, id: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const payload = text(`ping6 ${seq}`, 56);
    out.push(ip(clock, a, b, icmpv6Echo({ id, seq, payload })));
    out.push(ip(clock, b, a, icmpv6Echo({ id, seq, payload, reply: true })));
  }
  return out;
}

function arpExchange(asker: string, target: string): Buffer[] {
  const askerMac = macOf(asker);
  const targetMac = macOf(target);
  return [
    ether({ src: askerMac, dst: 'ff:ff:ff:ff:ff:ff', type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: askerMac, senderIp: asker, targetIp: target })),
    ether({ src: targetMac, dst: askerMac, type: ETHERTYPE.arp }, arp({ op: 'reply', senderMac: targetMac, senderIp: target, targetMac: askerMac, targetIp: asker })),
  ];
}

function dhcpDora(clock: Clock): Buffer[] {
  const client = '02:00:00:00:01:63';
  const server = '10.0.0.1';
  const offered = '10.0.1.99';
  const xid = 0x5eed0001;
  const lease = { router: '10.0.1.1', dns: ['10.0.0.53'], lease: 3600, subnetMask: '255.255.0.0', serverId: server };
  const fromClient = (messageType: 'discover' | 'request', extra: { requestedAddress?: string; serverId?: string }): Buffer =>
    ether(
      { src: client, dst: 'ff:ff:ff:ff:ff:ff' },
      ipv4({ src: '0.0.0.0', dst: '255.255.255.255', ttl: 64, id: clock.nextId('0.0.0.0'), payload: udp({ sport: 68, dport: 67, payload: dhcp({ messageType, xid, chaddr: client, broadcast: true, hostname: 'demo-client', ...extra }) }) }),
    );
  const fromServer = (messageType: 'offer' | 'ack'): Buffer =>
    ether(
      { src: macOf(server), dst: 'ff:ff:ff:ff:ff:ff' },
      ipv4({ src: server, dst: '255.255.255.255', ttl: 64, id: clock.nextId(server), payload: udp({ sport: 67, dport: 68, payload: dhcp({ messageType, xid, chaddr: client, broadcast: true, yiaddr: offered, siaddr: server, ...lease }) }) }),
    );
  return [
    fromClient('discover', {}),
    fromServer('offer'),
    fromClient('request', { requestedAddress: offered, serverId: server }),
    fromServer('ack'),
  ];
}

function neighborDiscovery(): Buffer[] {
  const a = 'fe80::4:10';
  const b = 'fe80::4:20';
  const aMac = '02:06:00:00:00:10';
  const bMac = '02:06:00:00:00:20';
  return [
    ether({ src: aMac, dst: '33:33:ff:04:00:20' }, ipv6({ src: a, dst: 'ff02::1:ff04:20', hopLimit: 255, payload: neighborSolicitation({ target: b, sourceLinkAddr: aMac }) })),
    ether({ src: bMac, dst: aMac }, ipv6({ src: b, dst: a, hopLimit: 255, payload: neighborAdvertisement({ target: b, targetLinkAddr: bMac, solicited: true }) })),
  ];
}

/** Round-robin over the conversations, so flows interleave as on a real link. */
function interleave(lists: Buffer[][]): Buffer[] {
  const out: Buffer[] = [];
  const idx = lists.map(() => 0);
  let left = lists.reduce((n, l) => n + l.length, 0);
  while (left > 0) {
    lists.forEach((l, i) => {
      const k = idx[i] as number;
      if (k < l.length) {
        out.push(l[k] as Buffer);
        idx[i] = k + 1;
        left--;
      }
    });
  }
  return out;
}

export function buildDemoFrames(): Buffer[] {
  const clock = new Clock();
  const conversations: Buffer[][] = [
    dhcpDora(clock),
    arpExchange('10.0.1.10', '10.0.1.1'),
    tcpFlow(clock, { client: '10.0.1.10', server: '10.0.2.20', cport: 40001, sport: 80, exchanges: [[180, 2600], [160, 900], [200, 4000]], iss: 1000, irs: 900000 }),
    dnsExchange(clock, '10.0.1.11', '10.0.0.53', 53001, 0x1101, 'api.demo.internal', 1, '10.0.2.21'),
    tcpFlow(clock, { client: '10.0.1.11', server: '10.0.2.21', cport: 40002, sport: 443, exchanges: [[517, 3100], [300, 1400], [250, 2500]], iss: 0xfffff000, irs: 123456 }),
    pingV4(clock, '10.0.1.12', '10.0.2.20', 0x0c0c, 4),
    tcpFlow(clock, { client: '10.0.1.12', server: '10.0.2.22', cport: 40003, sport: 5432, exchanges: [[90, 300], [120, 2400], [64, 64], [300, 1200]], iss: 77777, irs: 0x7ffffff0 }),
    dnsExchange(clock, '10.0.1.13', '10.0.0.53', 53002, 0x1102, 'db.demo.internal', 1, '10.0.2.22'),
    tcpFlow(clock, { client: '10.0.1.13', server: '10.0.2.20', cport: 40004, sport: 80, exchanges: [[210, 5000]], iss: 5, irs: 6 }),
    tcpFlow(clock, { client: '10.0.1.14', server: '10.0.2.21', cport: 40005, sport: 443, exchanges: [[400, 800], [400, 800], [400, 800]], iss: 424242, irs: 0xdeadbeef }),
    arpExchange('10.0.2.20', '10.0.2.1'),
    tcpFlow(clock, { client: '10.0.1.15', server: '10.0.2.23', cport: 40006, sport: 8443, exchanges: [[300, 6000], [300, 6000], [120, 200]], iss: 1, irs: 2 }),
    [
      ...dnsExchange(clock, '10.0.1.15', '10.0.0.53', 53004, 0x1103, 'cache.demo.internal', 1, '10.0.2.23'),
      ...dnsExchange(clock, '10.0.1.16', '10.0.0.53', 53005, 0x1104, 'api.demo.internal', 1, '10.0.2.21'),
      ...dnsExchange(clock, '10.0.1.17', '10.0.0.53', 53006, 0x1105, 'metrics.demo.internal', 1, '10.0.2.24'),
    ],
    tcpFlow(clock, { client: '10.0.1.16', server: '10.0.2.21', cport: 40007, sport: 443, exchanges: [[517, 4200], [260, 2000], [260, 2000], [260, 700]], iss: 0x10000, irs: 0x20000 }),
    tcpFlow(clock, { client: '10.0.1.17', server: '10.0.2.24', cport: 40008, sport: 9100, exchanges: [[64, 9000], [64, 9000]], iss: 4040, irs: 5050 }),
    pingV4(clock, '10.0.1.17', '10.0.2.24', 0x0d0d, 6),
    dnsExchange(clock, 'fd00:10::11', 'fd00:20::53', 53003, 0x6601, 'api.demo.internal', 28, 'fd00:20::21'),
    tcpFlow(clock, { client: 'fd00:10::10', server: 'fd00:20::20', cport: 40010, sport: 8080, exchanges: [[150, 3000], [150, 1300], [150, 5000], [90, 90]], iss: 31337, irs: 271828 }),
    pingV6(clock, 'fd00:10::12', 'fd00:20::20', 0x0606, 3),
    tcpFlow(clock, { client: 'fd00:10::13', server: 'fd00:20::21', cport: 40011, sport: 443, exchanges: [[517, 2800], [300, 3600]], iss: 99, irs: 100 }),
    neighborDiscovery(),
    // A port scan for the detectors (demo-detections.ts).
    demoScanFrames(),
    // An ARP flip of the gateway's address (demo-detections.ts).
    demoArpFlipFrames(macOf('10.0.2.1')),
    ...routingConversations(),
    ...demoDnsConversations(),
    // Outside the demo maps: dropped or mirrored untranslated, by the unmapped rule.
    [
      ip(clock, '10.0.1.10', '192.0.2.10', tcp({ sport: 40100, dport: 443, seq: 1, flags: 'S', window: 64240 })),
      ip(clock, '192.0.2.10', '10.0.1.10', tcp({ sport: 443, dport: 40100, seq: 500, ack: 2, flags: 'SA', window: 65160 })),
      ip(clock, '198.51.100.7', '10.0.2.20', udp({ sport: 514, dport: 514, payload: text('<13>demo syslog', 64) })),
      ...pingV4(clock, '192.0.2.1', '198.51.100.1', 0x0bad, 2),
      ip(clock, 'fd00:10::10', '2001:db8::1', tcp({ sport: 40200, dport: 443, seq: 1, flags: 'S', window: 64240 })),
    ],
  ];
  return interleave(conversations);
}

function main(argv: string[]): number {
  const out = argv[0];
  if (out === undefined || argv.length !== 1) {
    process.stderr.write('usage: gen-demo-capture <out.pcap>\n');
    return 2;
  }
  const frames = buildDemoFrames();
  writePcap(out, frames);
  process.stdout.write(`${out}: ${frames.length} packets\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
