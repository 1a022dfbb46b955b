/**
 * Tunnel payloads for captures: VXLAN (RFC 7348), GENEVE (RFC 8926), GRE
 * (RFC 2784/2890, with checksum and key), and PIM Register (RFC 7761).
 * IP-in-IP needs none: an inner packet is the payload of ipv4()/ipv6() with
 * proto 4 or 41. Payloads only: wrap them with udp() (ports 4789, 6081) or
 * ipv4()/ipv6() (protocols 47, 103).
 */
import { internetChecksum, ip6 } from './build.js';
import { pseudoHeader } from './transport.js';

export const TUNNEL_PROTO = { ipip: 4, ipv6: 41, gre: 47, pim: 103 } as const;
export const TUNNEL_PORT = { vxlan: 4789, geneve: 6081 } as const;
export const ETHERTYPE_TEB = 0x6558;

/** VXLAN: 8-byte header (I flag, VNI), then an Ethernet frame. */
export function vxlan(vni: number, innerFrame: Buffer, flags = 0x08): Buffer {
  const h = Buffer.alloc(8);
  h[0] = flags;
  h.writeUIntBE(vni & 0xffffff, 4, 3);
  return Buffer.concat([h, innerFrame]);
}

/** GENEVE: version 0, options (a multiple of 4 bytes), protocol type, VNI, then the inner packet. */
export function geneve(vni: number, protocol: number, inner: Buffer, options: Buffer = Buffer.alloc(0)): Buffer {
  if (options.length % 4 !== 0 || options.length > 252) throw new Error('geneve: options must be a multiple of 4 bytes, at most 252');
  const h = Buffer.alloc(8);
  h[0] = options.length / 4;
  h.writeUInt16BE(protocol, 2);
  h.writeUIntBE(vni & 0xffffff, 4, 3);
  return Buffer.concat([h, options, inner]);
}

export interface GreOptions {
  protocol: number;
  checksum?: boolean;
  key?: number;
  seq?: number;
  /** the flags/version word as given (malformed or PPTP on purpose) */
  flags?: number;
}

/** GRE header and payload; the checksum (C bit) covers both. */
export function gre(o: GreOptions, inner: Buffer): Buffer {
  let flags = o.flags ?? ((o.checksum ? 0x8000 : 0) | (o.key !== undefined ? 0x2000 : 0) | (o.seq !== undefined ? 0x1000 : 0));
  flags &= 0xffff;
  const parts: Buffer[] = [];
  const base = Buffer.alloc(4);
  base.writeUInt16BE(flags, 0);
  base.writeUInt16BE(o.protocol, 2);
  parts.push(base);
  const word = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0, 0);
    return b;
  };
  if (flags & 0x8000) parts.push(Buffer.alloc(4));
  if (flags & 0x2000) parts.push(word(o.key ?? 0));
  if (flags & 0x1000) parts.push(word(o.seq ?? 0));
  const out = Buffer.concat([...parts, inner]);
  if (flags & 0x8000) out.writeUInt16BE(internetChecksum(out), 4);
  return out;
}

/**
 * PIM version 2 Register: 4-byte PIM header, 4-byte flags (border, null), the
 * packet; checksum over the 8 header bytes, and over IPv6 (`v6`: the outer
 * addresses) the pseudo-header too, with 8 as its length (RFC 7761 4.9, as
 * Wireshark reads it).
 */
export function pimRegister(inner: Buffer, o: { border?: boolean; nullRegister?: boolean; v6?: { src: string; dst: string } } = {}): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 0x21; // version 2, type 1 (Register)
  h.writeUInt32BE(((o.border ? 0x80000000 : 0) | (o.nullRegister ? 0x40000000 : 0)) >>> 0, 4);
  h.writeUInt16BE(o.v6 ? internetChecksum(pimPseudo(o.v6, 8), h) : internetChecksum(h), 2);
  return Buffer.concat([h, inner]);
}

/** A PIMv2 Hello with a holdtime option; over IPv6 (`v6`) its checksum covers the pseudo-header. */
export function pimHello(holdtime: number, o: { v6?: { src: string; dst: string } } = {}): Buffer {
  const m = Buffer.alloc(10);
  m[0] = 0x20; // version 2, type 0 (Hello)
  m.writeUInt16BE(1, 4); // option 1: holdtime, 2 bytes
  m.writeUInt16BE(2, 6);
  m.writeUInt16BE(holdtime, 8);
  m.writeUInt16BE(o.v6 ? internetChecksum(pimPseudo(o.v6, m.length), m) : internetChecksum(m), 2);
  return m;
}

function pimPseudo(a: { src: string; dst: string }, length: number): Buffer {
  return pseudoHeader({ family: 6, src: ip6(a.src), dst: ip6(a.dst) }, TUNNEL_PROTO.pim, length);
}
