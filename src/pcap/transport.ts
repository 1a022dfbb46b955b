/**
 * Transport builders (TCP, UDP, ICMP, ICMPv6 with neighbour discovery):
 * each returns a deferred segment, because its checksum needs the IP
 * pseudo-header that the IP builder wrapping it (ip.ts) supplies.
 */
import { checkUint, internetChecksum, ip6, IPPROTO, mac, padTo, toBuffer, type Bytes } from './bytes.js';

export function pseudoHeader(p: Pseudo, proto: number, length: number): Buffer {
  if (p.family === 4) {
    const h = Buffer.alloc(12);
    p.src.copy(h, 0);
    p.dst.copy(h, 4);
    h[9] = proto;
    h.writeUInt16BE(length & 0xffff, 10);
    return h;
  }
  const h = Buffer.alloc(40);
  p.src.copy(h, 0);
  p.dst.copy(h, 16);
  h.writeUInt32BE(length >>> 0, 32);
  h[39] = proto;
  return h;
}

// ---- transport (deferred until the IP header is known) ---------------------

export interface Pseudo {
  family: 4 | 6;
  src: Buffer;
  /** for IPv6 with a routing header not yet exhausted: the final destination */
  dst: Buffer;
}

export interface Transport {
  readonly kind: 'transport';
  readonly proto: number;
  encode(p: Pseudo): Buffer;
}

export function isTransport(x: unknown): x is Transport {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'transport';
}

const TCP_FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };

export function tcpFlags(flags: string | number): number {
  if (typeof flags === 'number') return checkUint('tcp.flags', flags, 8);
  let v = 0;
  for (const ch of flags.toUpperCase()) {
    const bit = TCP_FLAG_BITS[ch];
    if (bit === undefined) throw new Error(`tcp.flags: expected letters from "FSRPAUEC", got "${flags}"`);
    v |= bit;
  }
  return v;
}

export interface TcpOptions {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** letters F S R P A U E C, e.g. "SA", or the byte */
  flags?: string | number;
  window?: number;
  urgent?: number;
  /** TCP options, zero-padded to a multiple of 4 */
  options?: Bytes;
  payload?: Bytes;
  /** malformed on purpose: header length in 32-bit words */
  dataOffset?: number;
  /** malformed on purpose: checksum written as given */
  checksum?: number;
}

export function tcp(o: TcpOptions): Transport {
  const opts = padTo(toBuffer(o.options), 4, 0);
  if (opts.length > 40) throw new Error(`tcp.options: expected at most 40 bytes, got ${opts.length}`);
  const payload = toBuffer(o.payload);
  return {
    kind: 'transport',
    proto: IPPROTO.tcp,
    encode(p: Pseudo): Buffer {
      const h = Buffer.alloc(20 + opts.length);
      h.writeUInt16BE(checkUint('tcp.sport', o.sport, 16), 0);
      h.writeUInt16BE(checkUint('tcp.dport', o.dport, 16), 2);
      h.writeUInt32BE(checkUint('tcp.seq', o.seq ?? 0, 32), 4);
      h.writeUInt32BE(checkUint('tcp.ack', o.ack ?? 0, 32), 8);
      const off = checkUint('tcp.dataOffset', o.dataOffset ?? h.length / 4, 4);
      h[12] = off << 4;
      h[13] = tcpFlags(o.flags ?? 'A');
      h.writeUInt16BE(checkUint('tcp.window', o.window ?? 65535, 16), 14);
      h.writeUInt16BE(checkUint('tcp.urgent', o.urgent ?? 0, 16), 18);
      opts.copy(h, 20);
      const seg = Buffer.concat([h, payload]);
      const sum = o.checksum ?? internetChecksum(pseudoHeader(p, IPPROTO.tcp, seg.length), seg);
      seg.writeUInt16BE(checkUint('tcp.checksum', sum, 16), 16);
      return seg;
    },
  };
}

export interface UdpOptions {
  sport: number;
  dport: number;
  payload?: Bytes;
  /** malformed on purpose: length field written as given */
  length?: number;
  /** checksum written as given; 0 means "no checksum" over IPv4 */
  checksum?: number;
}

export function udp(o: UdpOptions): Transport {
  const payload = toBuffer(o.payload);
  return {
    kind: 'transport',
    proto: IPPROTO.udp,
    encode(p: Pseudo): Buffer {
      const seg = Buffer.alloc(8 + payload.length);
      seg.writeUInt16BE(checkUint('udp.sport', o.sport, 16), 0);
      seg.writeUInt16BE(checkUint('udp.dport', o.dport, 16), 2);
      seg.writeUInt16BE(checkUint('udp.length', o.length ?? seg.length, 16), 4);
      payload.copy(seg, 8);
      let sum = o.checksum;
      if (sum === undefined) {
        sum = internetChecksum(pseudoHeader(p, IPPROTO.udp, seg.length), seg);
        if (sum === 0) sum = 0xffff; // 0 would mean "no checksum" (RFC 768)
      }
      seg.writeUInt16BE(checkUint('udp.checksum', sum, 16), 6);
      return seg;
    },
  };
}

export interface IcmpOptions {
  type: number;
  code?: number;
  /** the 4 bytes after the checksum (identifier+sequence, MTU, pointer, gateway) */
  rest?: Bytes | number;
  payload?: Bytes;
  checksum?: number;
}

function icmpLike(proto: number, o: IcmpOptions, withPseudo: boolean): Transport {
  const rest = Buffer.alloc(4);
  if (typeof o.rest === 'number') rest.writeUInt32BE(checkUint('icmp.rest', o.rest, 32), 0);
  else if (o.rest !== undefined) {
    const r = toBuffer(o.rest);
    if (r.length !== 4) throw new Error(`icmp.rest: expected 4 bytes, got ${r.length}`);
    r.copy(rest);
  }
  const payload = toBuffer(o.payload);
  return {
    kind: 'transport',
    proto,
    encode(p: Pseudo): Buffer {
      const m = Buffer.concat([Buffer.alloc(4), rest, payload]);
      m[0] = checkUint('icmp.type', o.type, 8);
      m[1] = checkUint('icmp.code', o.code ?? 0, 8);
      const sum = o.checksum ?? (withPseudo ? internetChecksum(pseudoHeader(p, proto, m.length), m) : internetChecksum(m));
      m.writeUInt16BE(checkUint('icmp.checksum', sum, 16), 2);
      return m;
    },
  };
}

function idSeq(id: number, seq: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(checkUint('echo.id', id, 16), 0);
  b.writeUInt16BE(checkUint('echo.seq', seq, 16), 2);
  return b;
}

export function icmp(o: IcmpOptions): Transport {
  return icmpLike(IPPROTO.icmp, o, false);
}

export function icmpEcho(o: { id: number; seq: number; payload?: Bytes; reply?: boolean }): Transport {
  return icmp({ type: o.reply ? 0 : 8, rest: idSeq(o.id, o.seq), payload: o.payload });
}

/** Destination unreachable (3), time exceeded (11), parameter problem (12)...: carries the offending IP packet. */
export function icmpError(o: { type: number; code?: number; inner: Bytes; mtu?: number; pointer?: number }): Transport {
  let rest = 0;
  if (o.mtu !== undefined) rest = checkUint('icmp.mtu', o.mtu, 16);
  if (o.pointer !== undefined) rest = checkUint('icmp.pointer', o.pointer, 8) * 0x1000000;
  return icmp({ type: o.type, code: o.code, rest, payload: o.inner });
}

export function icmpv6(o: IcmpOptions): Transport {
  return icmpLike(IPPROTO.icmpv6, o, true);
}

export function icmpv6Echo(o: { id: number; seq: number; payload?: Bytes; reply?: boolean }): Transport {
  return icmpv6({ type: o.reply ? 129 : 128, rest: idSeq(o.id, o.seq), payload: o.payload });
}

/** Destination unreachable (1), packet too big (2, mtu), time exceeded (3), parameter problem (4, pointer). */
export function icmpv6Error(o: { type: number; code?: number; inner: Bytes; mtu?: number; pointer?: number }): Transport {
  const rest = o.mtu ?? o.pointer ?? 0;
  return icmpv6({ type: o.type, code: o.code, rest: checkUint('icmpv6.rest', rest, 32), payload: o.inner });
}

function linkLayerOption(type: 1 | 2, addr: string): Buffer {
  return Buffer.concat([Buffer.from([type, 1]), mac(addr)]);
}

export function neighborSolicitation(o: { target: string; sourceLinkAddr?: string }): Transport {
  const body = [ip6(o.target)];
  if (o.sourceLinkAddr !== undefined) body.push(linkLayerOption(1, o.sourceLinkAddr));
  return icmpv6({ type: 135, rest: 0, payload: Buffer.concat(body) });
}

export function neighborAdvertisement(o: {
  target: string;
  targetLinkAddr?: string;
  router?: boolean;
  solicited?: boolean;
  override?: boolean;
}): Transport {
  const flags = (o.router ? 0x80 : 0) | (o.solicited ? 0x40 : 0) | (o.override ?? true ? 0x20 : 0);
  const body = [ip6(o.target)];
  if (o.targetLinkAddr !== undefined) body.push(linkLayerOption(2, o.targetLinkAddr));
  return icmpv6({ type: 136, rest: flags * 0x1000000, payload: Buffer.concat(body) });
}
