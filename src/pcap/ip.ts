/**
 * IPv4 and IPv6 headers (with options, extension headers and overrides for
 * malformed packets on purpose); a Transport payload gets its checksum here,
 * from the pseudo-header.
 */
import { checkUint, internetChecksum, ip4, ip6, IPPROTO, padTo, toBuffer, type Bytes } from './bytes.js';
import { isTransport, type Transport } from './transport.js';

// ---- IP ----------------------------------------------------------------------

export interface Ipv4Options {
  src: string;
  dst: string;
  /** required when payload is raw bytes */
  proto?: number;
  ttl?: number;
  id?: number;
  tos?: number;
  df?: boolean;
  mf?: boolean;
  /** fragment offset in 8-byte units, as in the header */
  fragOffset?: number;
  /** options bytes, zero-padded (End of Option List) to a multiple of 4 */
  options?: Bytes;
  payload?: Bytes | Transport;
  /** malformed on purpose */
  ihl?: number;
  totalLength?: number;
  version?: number;
  checksum?: number;
}

/**
 * Offset, within an options area, of the final destination named by a loose
 * or strict source route (131/137) that still has hops to visit; null if none.
 * The TCP/UDP pseudo-header then uses that address (RFC 1122 3.2.1.8), as tshark does.
 */
export function ipv4SourceRouteFinal(options: Bytes): number | null {
  const o = toBuffer(options);
  let i = 0;
  while (i < o.length) {
    const type = o[i] as number;
    if (type === 0) break;
    if (type === 1) {
      i++;
      continue;
    }
    if (i + 2 > o.length) break;
    const len = o[i + 1] as number;
    if (len < 2 || i + len > o.length) break;
    if ((type === 131 || type === 137) && len >= 7 && (o[i + 2] as number) <= len) return i + len - 4;
    i += len;
  }
  return null;
}

export function ipv4(o: Ipv4Options): Buffer {
  const src = ip4(o.src);
  const dst = ip4(o.dst);
  const opts = padTo(toBuffer(o.options), 4, 0);
  if (opts.length > 40) throw new Error(`ipv4.options: expected at most 40 bytes, got ${opts.length}`);
  const routeFinal = ipv4SourceRouteFinal(opts);
  let proto = o.proto;
  let payload: Buffer;
  if (isTransport(o.payload)) {
    proto ??= o.payload.proto;
    const finalDst = routeFinal === null ? dst : opts.subarray(routeFinal, routeFinal + 4);
    payload = o.payload.encode({ family: 4, src, dst: finalDst });
  } else {
    payload = toBuffer(o.payload);
  }
  if (proto === undefined) throw new Error('ipv4.proto: expected a protocol number when payload is raw bytes');
  const h = Buffer.alloc(20 + opts.length);
  h[0] = (checkUint('ipv4.version', o.version ?? 4, 4) << 4) | checkUint('ipv4.ihl', o.ihl ?? h.length / 4, 4);
  h[1] = checkUint('ipv4.tos', o.tos ?? 0, 8);
  h.writeUInt16BE(checkUint('ipv4.totalLength', o.totalLength ?? h.length + payload.length, 16), 2);
  h.writeUInt16BE(checkUint('ipv4.id', o.id ?? 0, 16), 4);
  const frag = checkUint('ipv4.fragOffset', o.fragOffset ?? 0, 13);
  h.writeUInt16BE((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | frag, 6);
  h[8] = checkUint('ipv4.ttl', o.ttl ?? 64, 8);
  h[9] = checkUint('ipv4.proto', proto, 8);
  src.copy(h, 12);
  dst.copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(checkUint('ipv4.checksum', o.checksum ?? internetChecksum(h), 16), 10);
  return Buffer.concat([h, payload]);
}

export type Ipv6Ext =
  | { type: 'hopByHop'; options?: Bytes }
  | { type: 'destination'; options?: Bytes }
  /** addresses in visiting order: with segmentsLeft > 0 the last one is the final destination */
  | { type: 'routing'; routingType?: number; segmentsLeft: number; addresses: string[] }
  /** offset in 8-byte units */
  | { type: 'fragment'; offset?: number; more?: boolean; id: number };

const EXT_PROTO: Record<Ipv6Ext['type'], number> = {
  hopByHop: IPPROTO.hopByHop,
  destination: IPPROTO.destination,
  routing: IPPROTO.routing,
  fragment: IPPROTO.fragment,
};

/** Pad an options area so the header (2 bytes + options) is a multiple of 8, with Pad1/PadN. */
function padOptions(opts: Buffer): Buffer {
  const need = (8 - ((2 + opts.length) % 8)) % 8;
  if (need === 0) return opts;
  if (need === 1) return Buffer.concat([opts, Buffer.from([0])]);
  return Buffer.concat([opts, Buffer.from([1, need - 2]), Buffer.alloc(need - 2)]);
}

function encodeExt(e: Ipv6Ext, next: number): Buffer {
  switch (e.type) {
    case 'hopByHop':
    case 'destination': {
      const body = padOptions(toBuffer(e.options));
      const h = Buffer.concat([Buffer.from([next, 0]), body]);
      h[1] = h.length / 8 - 1;
      return h;
    }
    case 'routing': {
      const addrs = e.addresses.map(ip6);
      const h = Buffer.alloc(8 + 16 * addrs.length);
      h[0] = next;
      h[1] = 2 * addrs.length;
      h[2] = checkUint('routing.routingType', e.routingType ?? 0, 8);
      h[3] = checkUint('routing.segmentsLeft', e.segmentsLeft, 8);
      addrs.forEach((a, i) => a.copy(h, 8 + 16 * i));
      return h;
    }
    case 'fragment': {
      const h = Buffer.alloc(8);
      h[0] = next;
      h.writeUInt16BE((checkUint('fragment.offset', e.offset ?? 0, 13) << 3) | (e.more ? 1 : 0), 2);
      h.writeUInt32BE(checkUint('fragment.id', e.id, 32), 4);
      return h;
    }
  }
}

export interface Ipv6Options {
  src: string;
  dst: string;
  /** required when payload is raw bytes: the header after the extension headers */
  nextHeader?: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  ext?: Ipv6Ext[];
  payload?: Bytes | Transport;
  /** malformed on purpose */
  payloadLength?: number;
  version?: number;
}

export function ipv6(o: Ipv6Options): Buffer {
  const src = ip6(o.src);
  const dst = ip6(o.dst);
  const ext = o.ext ?? [];
  // RFC 8200 8.1: the upper-layer checksum uses the final destination.
  let finalDst = dst;
  for (const e of ext) {
    if (e.type === 'routing' && e.segmentsLeft > 0) {
      const last = e.addresses[e.addresses.length - 1];
      if (last !== undefined) finalDst = ip6(last);
    }
  }
  let upper = o.nextHeader;
  let payload: Buffer;
  if (isTransport(o.payload)) {
    upper ??= o.payload.proto;
    payload = o.payload.encode({ family: 6, src, dst: finalDst });
  } else {
    payload = toBuffer(o.payload);
  }
  if (upper === undefined) throw new Error('ipv6.nextHeader: expected a protocol number when payload is raw bytes');
  const chain: Buffer[] = [];
  for (let i = ext.length - 1; i >= 0; i--) {
    const e = ext[i] as Ipv6Ext;
    const next = i === ext.length - 1 ? upper : EXT_PROTO[(ext[i + 1] as Ipv6Ext).type];
    chain.unshift(encodeExt(e, next));
  }
  const first = ext.length > 0 ? EXT_PROTO[(ext[0] as Ipv6Ext).type] : upper;
  const body = Buffer.concat([...chain, payload]);
  const h = Buffer.alloc(40);
  const tc = checkUint('ipv6.trafficClass', o.trafficClass ?? 0, 8);
  const fl = checkUint('ipv6.flowLabel', o.flowLabel ?? 0, 20);
  h.writeUInt32BE(((checkUint('ipv6.version', o.version ?? 6, 4) << 28) | (tc << 20) | fl) >>> 0, 0);
  h.writeUInt16BE(checkUint('ipv6.payloadLength', o.payloadLength ?? body.length, 16), 4);
  h[6] = checkUint('ipv6.nextHeader', first, 8);
  h[7] = checkUint('ipv6.hopLimit', o.hopLimit ?? 64, 8);
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, body]);
}
