/**
 * The benchmark's traffic, generated with the project's own packet builder so
 * every contender replays byte-identical captures (net_pcap infinite_rx).
 *
 * Addresses live in 10.0.0.0/16, the production prefix of BENCH_MAP4, so the
 * translation applies to every data packet. Captures are small (a few
 * thousand frames): net_pcap loads a whole capture into mbufs of the rx pool
 * at queue setup, and shadowtap sizes that pool for its descriptors, not for
 * a capture.
 */
import { join } from 'node:path';
import { arp, dhcp, ETHERTYPE, ether, ipv4, tcp, udp } from '../src/pcap/build.js';
import { writePcap } from '../src/pcap/pcap.js';

/** Production prefix → shadow prefix (host bits kept), for every contender that translates. */
export const BENCH_MAP4 = { from: '10.0.0.0/16', to: '10.200.0.0/16' } as const;
/** The upper 16 bits of the shadow prefix, for OVS's load: on bits 16..31. */
export const SHADOW_PREFIX_HI16 = 0x0ac8; // 10.200
/** MACs written into shadow copies (shadowtap's default; OVS is told the same). */
export const SHADOW_MAC = { src: '02:53:48:00:00:01', dst: '02:53:48:00:00:02' } as const;

export const FLOWS = 1024;

export type CaptureName = 'udp64' | 'imix' | 'ctrl';

export interface Capture {
  name: CaptureName;
  path: string;
  frames: number;
  /** mean frame length without FCS, for the docs */
  meanBytes: number;
  describe: string;
}

/** Flow i: distinct source and destination hosts and ports inside 10.0.0.0/16. */
function flow(i: number): { src: string; dst: string; sport: number; dport: number } {
  // Destinations stay inside 10.0.0.0-10.0.249.255 so every flow matches one
  // of the 1,000 /26 rules of the ACL scenario (rules.ts).
  const d = (i * 7919) % (250 * 256);
  return {
    src: `10.0.${(i >> 8) & 255}.${i & 255}`,
    dst: `10.0.${d >> 8}.${d & 255}`,
    sport: 1024 + (i % 60000),
    dport: 2000 + ((i * 13) % 50000),
  };
}

function macOf(i: number, side: number): string {
  return `02:00:${side.toString(16).padStart(2, '0')}:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255)
    .toString(16)
    .padStart(2, '0')}`;
}

/** An IPv4/UDP frame of exactly `frameLen` bytes (without FCS) for flow i. */
export function udpFrame(i: number, frameLen: number): Buffer {
  const f = flow(i);
  const payloadLen = frameLen - 14 - 20 - 8;
  if (payloadLen < 0) throw new Error(`frameLen ${frameLen}: expected at least 42 bytes`);
  const payload = Buffer.alloc(payloadLen, i & 255);
  return ether(
    { src: macOf(i, 1), dst: macOf(i, 2) },
    ipv4({ src: f.src, dst: f.dst, ttl: 64, id: i & 0xffff, payload: udp({ sport: f.sport, dport: f.dport, payload }) }),
  );
}

/** 64-byte frames on the wire = 60 bytes without FCS. */
export const MIN_FRAME = 60;

export function udp64Frames(): Buffer[] {
  return Array.from({ length: FLOWS }, (_, i) => udpFrame(i, MIN_FRAME));
}

/**
 * Simple IMIX, 64/576/1500 bytes on the wire at 7:4:1, interleaved the way a
 * link would carry them; 1,536 frames = 128 cycles of 12, over the 1,024 flows.
 */
export function imixFrames(): Buffer[] {
  const cycle = [64, 576, 64, 64, 576, 64, 1500, 64, 576, 64, 576, 64];
  const out: Buffer[] = [];
  for (let c = 0; c < 128; c++) {
    cycle.forEach((wire, k) => {
      const i = (c * cycle.length + k) % FLOWS;
      out.push(udpFrame(i, wire - 4));
    });
  }
  return out;
}

/**
 * The control-plane mix: every 16th frame is ARP, DHCP, BGP (TCP 179) or
 * OSPF (IP protocol 89), the rest 64-byte UDP data: 1,024 frames.
 */
export function ctrlFrames(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < FLOWS; i++) {
    const f = flow(i);
    const eth = { src: macOf(i, 1), dst: macOf(i, 2) };
    if (i % 16 !== 15) {
      out.push(udpFrame(i, MIN_FRAME));
      continue;
    }
    switch ((i >> 4) % 4) {
      case 0:
        out.push(
          ether(
            { src: eth.src, dst: 'ff:ff:ff:ff:ff:ff', type: ETHERTYPE.arp },
            Buffer.concat([arp({ op: 'request', senderMac: eth.src, senderIp: f.src, targetIp: f.dst }), Buffer.alloc(18)]),
          ),
        );
        break;
      case 1:
        out.push(
          ether(
            eth,
            ipv4({
              src: f.dst,
              dst: f.src,
              payload: udp({
                sport: 67,
                dport: 68,
                payload: dhcp({
                  messageType: 'ack',
                  xid: i,
                  chaddr: eth.src,
                  yiaddr: f.src,
                  serverId: f.dst,
                  subnetMask: '255.255.0.0',
                  router: '10.0.0.1',
                  dns: ['10.0.0.53'],
                  lease: 3600,
                }),
              }),
            }),
          ),
        );
        break;
      case 2: {
        // A BGP KEEPALIVE: 16-byte marker, length 19, type 4.
        const keepalive = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 19, 4])]);
        out.push(ether(eth, ipv4({ src: f.src, dst: f.dst, ttl: 1, payload: tcp({ sport: 40000 + (i % 1000), dport: 179, flags: 'PA', payload: keepalive }) })));
        break;
      }
      default: {
        // An OSPFv2 hello header (24 bytes) + hello body (20 bytes); checksum left 0.
        const ospf = Buffer.alloc(44);
        ospf[0] = 2;
        ospf[1] = 1;
        ospf.writeUInt16BE(44, 2);
        Buffer.from(f.src.split('.').map(Number)).copy(ospf, 4);
        out.push(ether(eth, ipv4({ src: f.src, dst: '224.0.0.5', ttl: 1, proto: 89, payload: ospf })));
      }
    }
  }
  return out;
}

export function writeCaptures(dir: string): Record<CaptureName, Capture> {
  const make = (name: CaptureName, frames: Buffer[], describe: string): Capture => {
    const path = join(dir, `${name}.pcap`);
    writePcap(path, frames);
    const mean = frames.reduce((s, f) => s + Math.max(f.length, MIN_FRAME), 0) / frames.length;
    return { name, path, frames: frames.length, meanBytes: mean, describe };
  };
  return {
    udp64: make('udp64', udp64Frames(), `64-byte IPv4/UDP, ${FLOWS} flows in ${BENCH_MAP4.from}`),
    imix: make('imix', imixFrames(), 'IMIX 64/576/1500 bytes at 7:4:1 (mean 354 bytes on the wire)'),
    ctrl: make('ctrl', ctrlFrames(), '1 in 16 frames ARP, DHCP, BGP (TCP 179) or OSPF (proto 89), the rest 64-byte UDP'),
  };
}
