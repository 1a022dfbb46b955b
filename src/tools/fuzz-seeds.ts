/**
 * Seed corpus for the fuzz targets (native/fuzz): frames from the demo
 * capture, a curated set of the shapes the parsers branch on (VLAN/QinQ, IPv4
 * options and fragments, IPv6 extension headers, ICMP errors, ARP, DHCP, ND,
 * truncated and inconsistent headers), and the frames of any capture given.
 * Each corpus file is a target's parameter block (ST_FUZZ_PARAMS bytes,
 * native/fuzz/fuzz_common.h) followed by one frame. Every frame is written
 * with each of the target's seed parameter blocks (SEED_PARAMS: the whole
 * frame in one segment and every length agreeing, for each table set or
 * template, a snaplen or two); the file is named by its content hash, so
 * seeds never repeat.
 *
 *   node dist/src/tools/fuzz-seeds.js <corpus-dir> <target> [capture.pcap ...]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  arp,
  dhcp,
  ETHERTYPE,
  ether,
  fragmentIpv4,
  fragmentIpv6,
  icmpError,
  icmpv6Echo,
  icmpv6Error,
  IPPROTO,
  ipv4,
  ipv6,
  neighborAdvertisement,
  neighborSolicitation,
  parseFrame,
  setByte,
  setIpv4Ihl,
  setIpv4TotalLength,
  setIpv6PayloadLength,
  tcp,
  truncate,
  udp,
  type EtherOptions,
} from '../pcap/build.js';
import { LINKTYPE_ETHERNET, readPcap } from '../pcap/pcap.js';
import { buildDemoFrames } from './gen-demo-capture.js';
import { dnsMessage, dnsTcpFraming, DNS_TYPE, ednsClientSubnet, reverseName } from '../pcap/dns.js';

/** native/fuzz/fuzz_common.h ST_FUZZ_PARAMS */
export const FUZZ_PARAMS = 8;

const E: EtherOptions = { src: '02:04:0a:00:01:0a', dst: '02:04:0a:00:01:01' };
const A4 = { src: '10.0.1.10', dst: '10.0.2.20' };
const A6 = { src: 'fd00:10::10', dst: 'fd00:20::20' };
const PAY = Buffer.from('seed payload for the fuzz targets');

/** Shapes the demo capture lacks: every branch of the parsers has a seed. */
export function curatedFrames(): Buffer[] {
  const t4 = ipv4({ ...A4, id: 7, payload: tcp({ sport: 40000, dport: 443, flags: 'PA', payload: PAY }) });
  const u4 = ipv4({ ...A4, id: 8, payload: udp({ sport: 5353, dport: 53, payload: PAY }) });
  const t6 = ipv6({ ...A6, payload: tcp({ sport: 40000, dport: 443, flags: 'S', payload: PAY }) });
  const dhcpRequest = ether({ src: E.src, dst: 'ff:ff:ff:ff:ff:ff' }, ipv4({
    src: '0.0.0.0', dst: '255.255.255.255', payload: udp({ sport: 68, dport: 67, payload: dhcp({ messageType: 'request', xid: 1, chaddr: E.src, requestedAddress: '10.0.1.99', serverId: '10.0.0.1', extraOptions: [{ code: 3, data: Buffer.from([10, 0, 1, 1, 10, 0, 1, 2]) }] }) }),
  }));
  const solicitation = ether({ src: '02:06:00:00:00:05', dst: '33:33:ff:00:00:20' }, ipv6({ src: 'fe80::5', dst: 'ff02::1:ff00:20', hopLimit: 255, payload: neighborSolicitation({ target: 'fd00:20::20', sourceLinkAddr: '02:06:00:00:00:05' }) }));
  const frames: Buffer[] = [
    ether(E, t4),
    ether({ ...E, vlans: [100] }, t4),
    ether({ ...E, vlans: [{ id: 10, tpid: ETHERTYPE.qinq }, 20] }, u4),
    ether({ ...E, vlans: [{ id: 10, tpid: ETHERTYPE.qinqOld }, 20] }, t6),
    ether(E, ipv4({ ...A4, options: Buffer.from([0x83, 11, 4, 192, 168, 1, 200, 10, 0, 9, 9]), payload: udp({ sport: 1, dport: 2, payload: PAY }) })),
    ether(E, ipv4({ ...A4, proto: 89, payload: PAY })),
    ether(E, ipv4({ src: '192.168.1.200', dst: '239.1.2.3', payload: udp({ sport: 5000, dport: 5000, payload: PAY }) })),
    ...fragmentIpv4(ipv4({ ...A4, id: 9, payload: udp({ sport: 7, dport: 7, payload: Buffer.alloc(64, 0x61) }) }), 32).map((f) => ether(E, f)),
    ether(E, ipv4({ ...A4, payload: icmpError({ type: 3, code: 4, mtu: 1400, inner: t4.subarray(0, 28) }) })),
    ether(E, ipv4({ ...A4, payload: icmpError({ type: 11, inner: u4.subarray(0, 28) }) })),
    ether(E, ipv6({ ...A6, ext: [{ type: 'hopByHop' }, { type: 'destination', options: Buffer.from([1, 2, 0, 0]) }], payload: udp({ sport: 9, dport: 9, payload: PAY }) })),
    ether(E, ipv6({ ...A6, ext: [{ type: 'routing', segmentsLeft: 1, addresses: ['fd00:30::1'] }], payload: tcp({ sport: 1, dport: 2, payload: PAY }) })),
    ether(E, ipv6({ ...A6, ext: [{ type: 'fragment', id: 5, more: true }], payload: icmpv6Echo({ id: 1, seq: 1, payload: PAY }) })),
    ...fragmentIpv6(ipv6({ ...A6, payload: udp({ sport: 7, dport: 7, payload: Buffer.alloc(64, 0x62) }) }), 32, 77).map((f) => ether(E, f)),
    ether(E, ipv6({ ...A6, nextHeader: 51, payload: Buffer.concat([Buffer.from([IPPROTO.tcp, 4, 0, 0]), Buffer.alloc(20), Buffer.alloc(20)]) })),
    ether(E, ipv6({ ...A6, payload: icmpv6Error({ type: 1, inner: t6.subarray(0, 48) }) })),
    ether(E, ipv6({ ...A6, payload: icmpv6Error({ type: 2, mtu: 1280, inner: t6.subarray(0, 48) }) })),
    solicitation,
    ether({ src: '02:06:00:00:00:20', dst: '02:06:00:00:00:05' }, ipv6({ src: 'fd00:20::20', dst: 'fe80::5', hopLimit: 255, payload: neighborAdvertisement({ target: 'fd00:20::20', targetLinkAddr: '02:06:00:00:00:20', solicited: true }) })),
    ether({ ...E, type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: E.src, senderIp: A4.src, targetIp: '10.0.1.1' })),
    ether({ ...E, vlans: [5], type: ETHERTYPE.arp }, arp({ op: 'reply', senderMac: E.dst, senderIp: '10.0.1.1', targetMac: E.src, targetIp: A4.src })),
    dhcpRequest,
    // multicast groups inside a map, their group MACs following (rw_mcast_mac4/6)
    ether({ src: E.src, dst: '01:00:5e:01:02:03' }, ipv4({ src: A4.src, dst: '239.1.2.3', payload: udp({ sport: 5000, dport: 5000, payload: PAY }) })),
    ether({ src: E.src, dst: '33:33:00:01:00:05' }, ipv6({ src: A6.src, dst: 'ff0e::1:5', payload: udp({ sport: 5000, dport: 5000, payload: PAY }) })),
    // DHCP client identifier (61) holding a MAC
    ether({ src: E.src, dst: 'ff:ff:ff:ff:ff:ff' }, ipv4({
      src: '0.0.0.0', dst: '255.255.255.255', payload: udp({ sport: 68, dport: 67, payload: dhcp({ messageType: 'discover', xid: 2, chaddr: E.src, extraOptions: [{ code: 61, data: Buffer.from([1, 2, 4, 10, 0, 1, 10]) }] }) }),
    })),
    ether({ ...E, type: ETHERTYPE.lldp }, PAY),
    ether({ ...E, type: ETHERTYPE.mpls }, PAY),
  ];
  // Damaged on purpose: the bounds the parsers must keep.
  const base = ether(E, t4);
  frames.push(
    truncate(base, 13), truncate(base, 14), truncate(base, 33), truncate(base, 34), truncate(base, 40), truncate(base, 53),
    setIpv4Ihl(base, 15), setIpv4Ihl(base, 4), setIpv4TotalLength(base, 0xffff), setIpv4TotalLength(base, 20),
    setIpv6PayloadLength(ether(E, t6), 0xffff), setByte(base, 46, 0xf0), setByte(base, 46, 0x10),
    truncate(dhcpRequest, 300), truncate(solicitation, 80),
  );
  return frames;
}

/** Ethernet frames of a capture; other link types are refused by name. */
export function captureFrames(path: string): Buffer[] {
  const file = readPcap(path);
  if (file.linktype !== LINKTYPE_ETHERNET) {
    throw new Error(`${path}: linktype ${file.linktype}: expected ${LINKTYPE_ETHERNET} (Ethernet)`);
  }
  return file.packets.map((p) => p.data);
}

const params = (...b: number[]): Buffer => {
  const p = Buffer.alloc(FUZZ_PARAMS);
  Buffer.from(b).copy(p);
  return p;
};

/**
 * Seed parameter blocks per target (the layouts are in each native/fuzz/
 * fuzz_<target>.c header comment); the fuzzer mutates them from there.
 */
export const SEED_PARAMS: Readonly<Record<string, ReadonlyArray<Buffer>>> = {
  // signatures: L2/L3/L4/payload bases at offset 0, 4 bytes
  classify: [params(0, 0, 3, 1, 0, 3), params(2, 0, 3, 3, 0, 3)],
  // snaplen 64 and 128
  copy_len: [params(64), params(128)],
  // each table set (plan; policy with MAC maps; policy IPv4 only; IPv6 only)
  rewrite: [params(0), params(1), params(2), params(3)],
  // UDP/IPv4 53, UDP/IPv6 5353, TCP/IPv4 53, TCP/IPv6 5355; the leak policy pass; a cut segment
  dns: [params(0), params(1), params(2), params(3), params(4), params(0, 9)],
  // each template with 128 bytes of headroom; one two-segment VXLAN/IPv6
  encap: [params(1, 128), params(2, 128), params(3, 128), params(4, 128), params(5, 128), params(4, 128, 1, 60)],
  // fuzz_routing: options byte (bit 0: fresh state per frame), then one
  // frame whose 2-byte length runs past the input (it takes the rest)
  routing: [Buffer.from([0, 0xff, 0xff]), Buffer.from([1, 0xff, 0xff])],
};

export function isFuzzTarget(t: string): boolean {
  return Object.hasOwn(SEED_PARAMS, t);
}

/** Write each frame with each seed parameter block of the target; returns how many inputs. */
export function writeCorpus(dir: string, target: string, frames: ReadonlyArray<Buffer>): number {
  const ps = SEED_PARAMS[target];
  if (ps === undefined) throw new Error(`target "${target}": expected one of ${Object.keys(SEED_PARAMS).join(', ')}`);
  mkdirSync(dir, { recursive: true });
  const seen = new Set<string>();
  // the DNS target takes DNS messages (it builds the frame around them)
  for (const f of target === 'dns' ? dnsSeeds(frames) : frames) {
    for (const p of ps) {
      const input = Buffer.concat([p, f]);
      const name = createHash('sha1').update(input).digest('hex');
      if (seen.has(name)) continue;
      seen.add(name);
      writeFileSync(join(dir, name), input);
    }
  }
  return seen.size;
}

/** DNS messages: the UDP/TCP payloads of the frames on DNS ports, and messages of every shape the translator handles. */
export function dnsSeeds(frames: ReadonlyArray<Buffer>): Buffer[] {
  const out: Buffer[] = [];
  for (const f of frames) {
    let ip: ReturnType<typeof parseFrame>['ip'];
    try {
      ip = parseFrame(f).ip;
    } catch {
      continue; // the curated runts
    }
    if (!ip || !ip.hasL4Header || ip.isFragment || (ip.proto !== IPPROTO.udp && ip.proto !== IPPROTO.tcp) || ip.l4 + 8 > f.length) continue;
    const ports = [f.readUInt16BE(ip.l4), f.readUInt16BE(ip.l4 + 2)];
    if (!ports.some((p) => p === 53 || p === 5353 || p === 5355)) continue;
    out.push(f.subarray(ip.proto === IPPROTO.udp ? ip.l4 + 8 : ip.l4 + (f[ip.l4 + 12]! >> 4) * 4, ip.end));
  }
  const name = 'api.demo.internal';
  const full = dnsMessage({
    id: 1, response: true,
    questions: [{ name, type: DNS_TYPE.A }],
    answers: [
      { name, type: DNS_TYPE.A, data: { address: '10.0.2.21' } },
      { name, type: DNS_TYPE.AAAA, data: { address: 'fd00:20::21' } },
      { name, type: DNS_TYPE.HTTPS, data: { https: { priority: 1, target: '.', ipv4hint: ['192.168.1.5'], ipv6hint: ['2001:db8:1::5'] } } },
    ],
    authority: [{ name: '1.168.192.in-addr.arpa', type: DNS_TYPE.SOA, data: { soa: { mname: 'ns1.demo.internal', rname: 'hm.demo.internal', serial: 1 } } }],
    additional: [ednsClientSubnet('10.0.1.0', 24)],
  });
  out.push(
    full,
    dnsTcpFraming(full, full),
    dnsMessage({ id: 2, questions: [{ name: reverseName('10.1.7.7'), type: DNS_TYPE.PTR }], answers: [{ name: reverseName('10.1.7.7'), type: DNS_TYPE.PTR, data: { name } }] }),
    dnsMessage({ id: 3, questions: [{ name: reverseName('fd00:20::21'), type: DNS_TYPE.PTR }] }),
    dnsMessage({ id: 4, response: true, answers: [{ name: 'p.local', type: DNS_TYPE.A, cls: 0x8001, data: { address: '192.168.1.200' } }] }),
  );
  return out;
}

/** The built-in seeds: demo capture and curated shapes. */
export function seedFrames(): Buffer[] {
  return [...buildDemoFrames(), ...curatedFrames()];
}

function main(argv: string[]): number {
  const [dir, target, ...captures] = argv;
  if (dir === undefined || target === undefined || !isFuzzTarget(target)) {
    process.stderr.write(`usage: fuzz-seeds <corpus-dir> <${Object.keys(SEED_PARAMS).join('|')}> [capture.pcap ...]\n`);
    return 2;
  }
  let frames: Buffer[];
  try {
    frames = [...seedFrames(), ...captures.flatMap(captureFrames)];
  } catch (e) {
    process.stderr.write(`fuzz-seeds: ${(e as Error).message}\n`);
    return 1;
  }
  const n = writeCorpus(dir, target, frames);
  process.stdout.write(`${dir}: ${n} seed inputs from ${frames.length} frames\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
