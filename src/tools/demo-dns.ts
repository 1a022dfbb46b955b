/**
 * DNS conversations of the demo capture beyond plain A queries: a response
 * with authority and additional records (glue A and AAAA), a reverse
 * lookup over IPv6 (ip6.arpa names) and DNS over TCP. The data plane translates every address in them
 * (docs/policy.md, "Translated payload fields"), so the leak audit of the
 * demo's shadow capture finds nothing.
 */
import { ether, ip4, ip6, ipv4, ipv6, tcp, udp, type Transport } from '../pcap/build.js';
import { dnsMessage, dnsTcpFraming, DNS_TYPE, reverseName } from '../pcap/dns.js';

function macOf(addr: string): string {
  const b = addr.includes(':') ? ip6(addr).subarray(12) : ip4(addr);
  return `02:${addr.includes(':') ? '06' : '04'}:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

function frame(src: string, dst: string, payload: Transport, id: number): Buffer {
  const eth = { src: macOf(src), dst: dst.startsWith('224.') ? '01:00:5e:00:00:fb' : macOf(dst) };
  if (src.includes(':')) return ether(eth, ipv6({ src, dst, hopLimit: 64, payload }));
  return ether(eth, ipv4({ src, dst, ttl: dst.startsWith('224.') ? 255 : 64, id, df: payload.proto === 6, payload }));
}

export function demoDnsConversations(): Buffer[][] {
  const api = 'api.demo.internal';
  const withGlue = [
    frame('10.0.1.18', '10.0.0.53', udp({ sport: 53010, dport: 53, payload: dnsMessage({ id: 0x2201, questions: [{ name: api, type: DNS_TYPE.A }] }) }), 0x3001),
    frame('10.0.0.53', '10.0.1.18', udp({ sport: 53, dport: 53010, payload: dnsMessage({
      id: 0x2201, response: true,
      questions: [{ name: api, type: DNS_TYPE.A }],
      answers: [{ name: api, type: DNS_TYPE.A, data: { address: '10.0.2.21' } }],
      authority: [{ name: 'demo.internal', type: DNS_TYPE.NS, data: { name: 'ns1.demo.internal' } }],
      additional: [
        { name: 'ns1.demo.internal', type: DNS_TYPE.A, data: { address: '10.0.0.53' } },
        { name: 'ns1.demo.internal', type: DNS_TYPE.AAAA, data: { address: 'fd00:20::53' } },
      ],
    }) }), 0x3002),
  ];
  const ptr6 = [
    frame('fd00:10::12', 'fd00:20::53', udp({ sport: 53011, dport: 53, payload: dnsMessage({ id: 0x6602, questions: [{ name: reverseName('fd00:20::21'), type: DNS_TYPE.PTR }] }) }), 0),
    frame('fd00:20::53', 'fd00:10::12', udp({ sport: 53, dport: 53011, payload: dnsMessage({
      id: 0x6602, response: true,
      questions: [{ name: reverseName('fd00:20::21'), type: DNS_TYPE.PTR }],
      answers: [{ name: reverseName('fd00:20::21'), type: DNS_TYPE.PTR, data: { name: api } }],
    }) }), 0),
  ];
  const q = dnsMessage({ id: 0x2202, questions: [{ name: 'db.demo.internal', type: DNS_TYPE.A }] });
  const r = dnsMessage({ id: 0x2202, response: true, questions: [{ name: 'db.demo.internal', type: DNS_TYPE.A }], answers: [{ name: 'db.demo.internal', type: DNS_TYPE.A, data: { address: '10.0.2.22' } }] });
  const overTcp = [
    frame('10.0.1.19', '10.0.0.53', tcp({ sport: 40020, dport: 53, seq: 7000, flags: 'S', window: 64240 }), 0x3003),
    frame('10.0.0.53', '10.0.1.19', tcp({ sport: 53, dport: 40020, seq: 9000, ack: 7001, flags: 'SA', window: 65160 }), 0x3004),
    frame('10.0.1.19', '10.0.0.53', tcp({ sport: 40020, dport: 53, seq: 7001, ack: 9001, flags: 'PA', window: 502, payload: dnsTcpFraming(q) }), 0x3005),
    frame('10.0.0.53', '10.0.1.19', tcp({ sport: 53, dport: 40020, seq: 9001, ack: 7001 + q.length + 2, flags: 'PA', window: 509, payload: dnsTcpFraming(r) }), 0x3006),
    frame('10.0.1.19', '10.0.0.53', tcp({ sport: 40020, dport: 53, seq: 7001 + q.length + 2, ack: 9001 + r.length + 2, flags: 'FA', window: 502 }), 0x3007),
  ];
  return [withGlue, ptr6, overTcp];
}
