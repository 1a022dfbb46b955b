/**
 * IPv4 and IPv6 fragmentation of a finished IP packet.
 */
import { checkUint, internetChecksum, IPPROTO, toBuffer, type Bytes } from './bytes.js';

// ---- fragmentation -------------------------------------------------------------

/** Split an IPv4 packet (starting at the IP header) into fragments of at most `chunk` payload bytes (multiple of 8). */
export function fragmentIpv4(packet: Bytes, chunk: number): Buffer[] {
  const p = toBuffer(packet);
  if (chunk <= 0 || chunk % 8 !== 0) throw new Error(`fragmentIpv4.chunk: expected a positive multiple of 8, got ${chunk}`);
  const ihl = ((p[0] ?? 0) & 0x0f) * 4;
  const total = p.readUInt16BE(2);
  const header = p.subarray(0, ihl);
  const data = p.subarray(ihl, total);
  const baseFrag = p.readUInt16BE(6);
  const baseOffset = baseFrag & 0x1fff;
  const baseMf = (baseFrag & 0x2000) !== 0;
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += chunk) {
    const piece = data.subarray(off, Math.min(off + chunk, data.length));
    const last = off + chunk >= data.length;
    const h = Buffer.from(header);
    h.writeUInt16BE(ihl + piece.length, 2);
    h.writeUInt16BE((baseFrag & 0x4000) | (!last || baseMf ? 0x2000 : 0) | (baseOffset + off / 8), 6);
    h.writeUInt16BE(0, 10);
    h.writeUInt16BE(internetChecksum(h), 10);
    out.push(Buffer.concat([h, piece]));
  }
  return out;
}

/**
 * Split an IPv6 packet into fragments of at most `chunk` bytes of fragmentable
 * part (multiple of 8). The unfragmentable part is the IPv6 header plus any
 * hop-by-hop, routing and destination-options headers up to a routing header.
 */
export function fragmentIpv6(packet: Bytes, chunk: number, id: number): Buffer[] {
  const p = toBuffer(packet);
  if (chunk <= 0 || chunk % 8 !== 0) throw new Error(`fragmentIpv6.chunk: expected a positive multiple of 8, got ${chunk}`);
  // RFC 8200 4.5: everything up to the routing header (else the hop-by-hop
  // header) is processed en route and stays in every fragment.
  let next = p[6] as number;
  let off = 40;
  let unfragEnd = 40;
  let unfragNextAt = 6;
  let nextAfterUnfrag = next;
  while (next === IPPROTO.hopByHop || next === IPPROTO.destination || next === IPPROTO.routing) {
    const start = off;
    const enRoute = next === IPPROTO.hopByHop || next === IPPROTO.routing;
    next = p[off] as number;
    off += ((p[off + 1] as number) + 1) * 8;
    if (enRoute) {
      unfragEnd = off;
      unfragNextAt = start;
      nextAfterUnfrag = next;
    }
  }
  const unfrag = p.subarray(0, unfragEnd);
  const fragmentable = p.subarray(unfragEnd, 40 + p.readUInt16BE(4));
  const out: Buffer[] = [];
  for (let o = 0; o < fragmentable.length; o += chunk) {
    const piece = fragmentable.subarray(o, Math.min(o + chunk, fragmentable.length));
    const last = o + chunk >= fragmentable.length;
    const u = Buffer.from(unfrag);
    const fh = Buffer.alloc(8);
    fh[0] = nextAfterUnfrag;
    fh.writeUInt16BE(((o / 8) << 3) | (last ? 0 : 1), 2);
    fh.writeUInt32BE(checkUint('fragmentIpv6.id', id, 32), 4);
    u[unfragNextAt] = IPPROTO.fragment;
    u.writeUInt16BE(unfrag.length - 40 + 8 + piece.length, 4);
    out.push(Buffer.concat([u, fh, piece]));
  }
  return out;
}
