/**
 * Routing traffic of the demo capture (gen-demo-capture.ts): an eBGP session
 * between the demo's two routers (10.0.1.1, AS 65001 and 10.0.2.1, AS 65002:
 * handshake, OPENs, KEEPALIVEs, UPDATEs with NLRI, NEXT_HOP, AGGREGATOR and
 * an IPv6 MP_REACH_NLRI) and OSPFv2 on their link (hellos with DR/BDR and a
 * neighbour, an LS update with router, network, summary and AS-external
 * LSAs, its ack), all inside the demo maps, so the shadow capture shows every
 * routing field translated.
 */
import { ether, ipv4, tcp } from '../pcap/build.js';
import {
  bgpKeepalive, bgpOpen, bgpUpdate, externalLsaBody, lsa, networkLsaBody, ospfHello, ospfLsAck, ospfLsUpdate, routerLsaBody, summaryLsaBody,
} from '../pcap/build-routing.js';

const R1 = { ip: '10.0.1.1', mac: '02:04:0a:00:01:01' };
const R2 = { ip: '10.0.2.1', mac: '02:04:0a:00:02:01' };

function bgpSession(): Buffer[] {
  let id = 0x2000;
  let s1 = 7000;        // R1's next sequence number (client, port 45000)
  let s2 = 9000;        // R2's (server, port 179)
  const frames: Buffer[] = [];
  const send = (from: 1 | 2, flags: string, payload: Buffer = Buffer.alloc(0)): void => {
    const [a, b] = from === 1 ? [R1, R2] : [R2, R1];
    const seq = from === 1 ? s1 : s2;
    const ack = from === 1 ? s2 : s1;
    const t = tcp({ sport: from === 1 ? 45000 : 179, dport: from === 1 ? 179 : 45000, seq, ack: flags === 'S' ? 0 : ack, flags, window: 64240, payload });
    frames.push(ether({ src: a.mac, dst: b.mac }, ipv4({ src: a.ip, dst: b.ip, ttl: 1, id: id++, df: true, payload: t })));
    const adv = payload.length + (flags.includes('S') ? 1 : 0);
    if (from === 1) s1 += adv;
    else s2 += adv;
  };
  send(1, 'S');
  send(2, 'SA');
  send(1, 'A');
  send(1, 'PA', bgpOpen({ as: 65001, identifier: R1.ip }));
  send(2, 'PA', bgpOpen({ as: 65002, identifier: R2.ip }));
  send(1, 'PA', bgpKeepalive());
  send(2, 'PA', bgpKeepalive());
  send(1, 'PA', Buffer.concat([
    bgpUpdate({ origin: 0, asPath: [65001], nextHop: R1.ip, nlri: ['10.0.100.0/24'] }),
    bgpUpdate({ origin: 0, asPath: [65001], nextHop: R1.ip, aggregator: { as: 65001, address: R1.ip }, nlri: ['10.0.96.0/20'] }),
  ]));
  send(2, 'A');
  send(2, 'PA', bgpUpdate({
    origin: 0, asPath: [65002], mpReach: { afi: 2, nextHops: ['fd00:12::2', 'fe80::2'], nlri: ['fd00:200::/64'] },
  }));
  send(1, 'A');
  return frames;
}

function ospf(): Buffer[] {
  let id = 0x3000;
  const to = (from: typeof R1, p: Buffer): Buffer =>
    ether({ src: from.mac, dst: '01:00:5e:00:00:05' }, ipv4({ src: from.ip, dst: '224.0.0.5', ttl: 1, id: id++, proto: 89, payload: p }));
  const lsas = [
    lsa({ type: 1, id: R1.ip, advRouter: R1.ip, body: routerLsaBody([
      { type: 2, id: '10.0.12.1', data: '10.0.12.1', metric: 20 }, { type: 3, id: '10.0.1.0', data: '255.255.255.0', metric: 20 }]) }),
    lsa({ type: 2, id: '10.0.12.1', advRouter: R1.ip, body: networkLsaBody('255.255.255.0', [R1.ip, R2.ip]) }),
    lsa({ type: 3, id: '10.0.110.0', advRouter: R1.ip, body: summaryLsaBody('255.255.255.0', 20) }),
    lsa({ type: 5, id: '10.0.150.0', advRouter: R1.ip, body: externalLsaBody('255.255.255.0', 20, '10.0.12.9') }),
  ];
  return [
    to(R1, ospfHello({ routerId: R1.ip, mask: '255.255.255.0', dr: '10.0.12.1', bdr: '10.0.12.2', neighbors: [R2.ip] })),
    to(R2, ospfHello({ routerId: R2.ip, mask: '255.255.255.0', dr: '10.0.12.1', bdr: '10.0.12.2', neighbors: [R1.ip] })),
    to(R1, ospfLsUpdate({ routerId: R1.ip, lsas })),
    to(R2, ospfLsAck({ routerId: R2.ip, lsas })),
  ];
}

/** The demo's routing conversations, each in order (the demo interleaves them). */
export function routingConversations(): Buffer[][] {
  return [bgpSession(), ospf()];
}
