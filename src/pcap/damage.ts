/**
 * Finished frames: parsed (for the damage helpers and reference rewrites),
 * checksums recomputed, and damaged on purpose, one field at a time.
 */
import { checkUint, ETHERTYPE, internetChecksum, IPPROTO, toBuffer, VLAN_TPIDS, type Bytes } from './bytes.js';
import { ipv4SourceRouteFinal } from './ip.js';
import { pseudoHeader, type Pseudo } from './transport.js';

// ---- parsing finished frames (for damage helpers and reference rewrites) --------

export interface ParsedFrame {
  vlans: Array<{ tpid: number; tci: number }>;
  ethertype: number;
  /** offset of the L3 header */
  l3: number;
  ip?: {
    version: 4 | 6;
    /** offset of the source address; the destination follows (4 or 16 bytes later) */
    srcOffset: number;
    dstOffset: number;
    /** upper-layer protocol after IPv4 header / IPv6 extension chain */
    proto: number;
    /** offset of the upper-layer header */
    l4: number;
    /** end of the IP packet (from its length field) */
    end: number;
    isFragment: boolean;
    /** first fragment or not a fragment: the L4 header is present */
    hasL4Header: boolean;
    /** for the pseudo-header: offset of the final destination (differs with a live routing header or IPv4 source route) */
    finalDstOffset: number;
  };
}

/** Parse a well-formed frame; throws with the field that does not fit. Not a validator of everything. */
export function parseFrame(frame: Bytes): ParsedFrame {
  const f = toBuffer(frame);
  if (f.length < 14) throw new Error(`frame: expected at least 14 bytes, got ${f.length}`);
  let off = 12;
  const vlans: ParsedFrame['vlans'] = [];
  let type = f.readUInt16BE(off);
  while (VLAN_TPIDS.has(type)) {
    if (off + 6 > f.length) throw new Error('frame: VLAN tag truncated');
    vlans.push({ tpid: type, tci: f.readUInt16BE(off + 2) });
    off += 4;
    type = f.readUInt16BE(off);
  }
  const l3 = off + 2;
  const out: ParsedFrame = { vlans, ethertype: type, l3 };
  if (type === ETHERTYPE.ipv4) {
    if (l3 + 20 > f.length) throw new Error('frame: IPv4 header truncated');
    const ihl = ((f[l3] as number) & 0x0f) * 4;
    const total = f.readUInt16BE(l3 + 2);
    const frag = f.readUInt16BE(l3 + 6);
    const isFragment = (frag & 0x3fff) !== 0;
    const routeFinal = ihl > 20 ? ipv4SourceRouteFinal(f.subarray(l3 + 20, Math.min(l3 + ihl, f.length))) : null;
    out.ip = {
      version: 4,
      srcOffset: l3 + 12,
      dstOffset: l3 + 16,
      finalDstOffset: routeFinal === null ? l3 + 16 : l3 + 20 + routeFinal,
      proto: f[l3 + 9] as number,
      l4: l3 + ihl,
      end: l3 + total,
      isFragment,
      hasL4Header: (frag & 0x1fff) === 0,
    };
  } else if (type === ETHERTYPE.ipv6) {
    if (l3 + 40 > f.length) throw new Error('frame: IPv6 header truncated');
    let next = f[l3 + 6] as number;
    let p = l3 + 40;
    let isFragment = false;
    let hasL4Header = true;
    let finalDstOffset = l3 + 24;
    for (;;) {
      if (next === IPPROTO.hopByHop || next === IPPROTO.destination || next === IPPROTO.routing) {
        if (next === IPPROTO.routing && (f[p + 3] as number) > 0) {
          const n = (f[p + 1] as number) / 2;
          finalDstOffset = p + 8 + 16 * (n - 1);
        }
        next = f[p] as number;
        p += ((f[p + 1] as number) + 1) * 8;
      } else if (next === IPPROTO.fragment) {
        const fo = f.readUInt16BE(p + 2);
        // An atomic fragment (offset 0, no M) is a whole datagram (RFC 6946).
        if (fo !== 0) isFragment = true;
        hasL4Header = fo >> 3 === 0;
        next = f[p] as number;
        p += 8;
      } else break;
      if (p > f.length) throw new Error('frame: IPv6 extension header truncated');
    }
    out.ip = {
      version: 6,
      srcOffset: l3 + 8,
      dstOffset: l3 + 24,
      finalDstOffset,
      proto: next,
      l4: p,
      end: l3 + 40 + f.readUInt16BE(l3 + 4),
      isFragment,
      hasL4Header,
    };
  }
  return out;
}

/**
 * Recompute, from scratch, the IPv4 header checksum and the upper-layer
 * checksum (TCP, UDP, ICMP, ICMPv6) of a frame in place. Fragments keep their
 * L4 checksum (it covers the whole datagram). A UDP checksum of 0 stays 0:
 * over IPv4 it means "none", over IPv6 it is the RFC 6936 zero-checksum mode.
 * Returns the frame.
 */
export function recomputeChecksums(frame: Buffer): Buffer {
  const pf = parseFrame(frame);
  const ip = pf.ip;
  if (!ip) return frame;
  if (ip.version === 4) {
    frame.writeUInt16BE(0, pf.l3 + 10);
    frame.writeUInt16BE(internetChecksum(frame.subarray(pf.l3, ip.l4)), pf.l3 + 10);
  }
  if (ip.isFragment) return frame;
  const seg = frame.subarray(ip.l4, ip.end);
  const pseudo: Pseudo =
    ip.version === 4
      ? { family: 4, src: frame.subarray(ip.srcOffset, ip.srcOffset + 4), dst: frame.subarray(ip.finalDstOffset, ip.finalDstOffset + 4) }
      : { family: 6, src: frame.subarray(ip.srcOffset, ip.srcOffset + 16), dst: frame.subarray(ip.finalDstOffset, ip.finalDstOffset + 16) };
  const fix = (at: number, withPseudo: boolean, zeroMeansNone: boolean): void => {
    if (at + 2 > seg.length) return;
    if (zeroMeansNone && seg.readUInt16BE(at) === 0) return;
    seg.writeUInt16BE(0, at);
    let sum = withPseudo ? internetChecksum(pseudoHeader(pseudo, ip.proto, seg.length), seg) : internetChecksum(seg);
    if (ip.proto === IPPROTO.udp && sum === 0) sum = 0xffff;
    seg.writeUInt16BE(sum, at);
  };
  if (ip.proto === IPPROTO.tcp) fix(16, true, false);
  else if (ip.proto === IPPROTO.udp) fix(6, true, true);
  else if (ip.proto === IPPROTO.icmp && ip.version === 4) fix(2, false, false);
  else if (ip.proto === IPPROTO.icmpv6 && ip.version === 6) fix(2, true, false);
  return frame;
}

// ---- damage on purpose ------------------------------------------------------------

/** Offset of the L3 header after any VLAN tags. */
export function l3Offset(frame: Bytes): number {
  const f = toBuffer(frame);
  let off = 12;
  while (off + 2 <= f.length && VLAN_TPIDS.has(f.readUInt16BE(off))) off += 4;
  return off + 2;
}

/** The first n bytes (a copy). */
export function truncate(frame: Bytes, n: number): Buffer {
  return Buffer.from(toBuffer(frame).subarray(0, n));
}

/** Zero-pad to the Ethernet minimum (60 bytes without FCS), as a NIC does on the wire. */
export function padFrame(frame: Bytes, min = 60): Buffer {
  const f = toBuffer(frame);
  return f.length >= min ? Buffer.from(f) : Buffer.concat([f, Buffer.alloc(min - f.length)]);
}

export function setByte(frame: Bytes, offset: number, value: number): Buffer {
  const f = Buffer.from(toBuffer(frame));
  if (offset >= f.length) throw new Error(`setByte.offset: expected < ${f.length}, got ${offset}`);
  f[offset] = checkUint('setByte.value', value, 8);
  return f;
}

export function fixIpv4HeaderChecksum(frame: Buffer): Buffer {
  const l3 = l3Offset(frame);
  const ihl = ((frame[l3] as number) & 0x0f) * 4;
  frame.writeUInt16BE(0, l3 + 10);
  frame.writeUInt16BE(internetChecksum(frame.subarray(l3, l3 + Math.max(ihl, 20))), l3 + 10);
  return frame;
}

/** A copy with the IPv4 IHL set (header checksum refreshed over max(ihl, 5) words unless fixChecksum is false). */
export function setIpv4Ihl(frame: Bytes, ihl: number, fixChecksum = true): Buffer {
  const f = Buffer.from(toBuffer(frame));
  const l3 = l3Offset(f);
  f[l3] = ((f[l3] as number) & 0xf0) | checkUint('ihl', ihl, 4);
  return fixChecksum ? fixIpv4HeaderChecksum(f) : f;
}

export function setIpv4Version(frame: Bytes, version: number, fixChecksum = true): Buffer {
  const f = Buffer.from(toBuffer(frame));
  const l3 = l3Offset(f);
  f[l3] = ((f[l3] as number) & 0x0f) | (checkUint('version', version, 4) << 4);
  return fixChecksum ? fixIpv4HeaderChecksum(f) : f;
}

export function setIpv4TotalLength(frame: Bytes, totalLength: number, fixChecksum = true): Buffer {
  const f = Buffer.from(toBuffer(frame));
  const l3 = l3Offset(f);
  f.writeUInt16BE(checkUint('totalLength', totalLength, 16), l3 + 2);
  return fixChecksum ? fixIpv4HeaderChecksum(f) : f;
}

export function setIpv6PayloadLength(frame: Bytes, payloadLength: number): Buffer {
  const f = Buffer.from(toBuffer(frame));
  f.writeUInt16BE(checkUint('payloadLength', payloadLength, 16), l3Offset(f) + 4);
  return f;
}
