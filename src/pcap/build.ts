/**
 * Packet builder for tests, fixtures and the demo capture.
 *
 * Layers compose inside-out: `ether({...}, ipv4({..., payload: tcp({...})}))`.
 * Transport builders (tcp, udp, icmp, icmpv6) return a deferred segment
 * because their checksums need the IP pseudo-header; the IP builder that
 * wraps them fills it in. Every checksum is computed from scratch, so a frame
 * from here is the reference a rewritten frame is compared against.
 * Overrides (checksum, ihl, totalLength, ...) exist to make malformed frames
 * on purpose; the frame-level helpers at the bottom damage finished frames.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const ETHERTYPE = {
  ipv4: 0x0800,
  arp: 0x0806,
  vlan: 0x8100,
  ipv6: 0x86dd,
  qinq: 0x88a8,
  qinqOld: 0x9100,
  lldp: 0x88cc,
  mpls: 0x8847,
} as const;

export const IPPROTO = {
  hopByHop: 0,
  icmp: 1,
  tcp: 6,
  udp: 17,
  routing: 43,
  fragment: 44,
  icmpv6: 58,
  none: 59,
  destination: 60,
} as const;

const VLAN_TPIDS: ReadonlySet<number> = new Set([ETHERTYPE.vlan, ETHERTYPE.qinq, ETHERTYPE.qinqOld]);

type Bytes = Buffer | Uint8Array;

function toBuffer(b: Bytes | undefined): Buffer {
  if (b === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function checkUint(field: string, v: number, bits: number): number {
  const max = 2 ** bits - 1;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new Error(`${field}: expected an integer 0..${max}, got ${v}`);
  }
  return v;
}

// ---- addresses -------------------------------------------------------------

export function ip4(addr: string): Buffer {
  if (!isIPv4(addr)) throw new Error(`IPv4 address: expected dotted quad like "10.0.1.5", got "${addr}"`);
  return Buffer.from(addr.split('.').map((p) => Number(p)));
}

export function ip6(addr: string): Buffer {
  if (!isIPv6(addr)) throw new Error(`IPv6 address: expected text form like "fd00::1", got "${addr}"`);
  let text = addr;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded dotted quad ("::ffff:10.0.0.1") is the last two groups.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const q = ip4(last);
    text = `${text.slice(0, lastColon + 1)}${q.readUInt16BE(0).toString(16)}:${q.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const hi = parse(head);
  const lo = rest === undefined ? [] : parse(rest);
  const full = rest === undefined ? hi : [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
  if (full.length !== 8) throw new Error(`IPv6 address: could not expand "${addr}" to 8 groups`);
  const out = Buffer.alloc(16);
  full.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function mac(addr: string): Buffer {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(addr);
  if (!m) throw new Error(`MAC address: expected "02:00:00:00:00:01", got "${addr}"`);
  return Buffer.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export function ip4ToString(b: Bytes): string {
  return Array.from(toBuffer(b).subarray(0, 4)).join('.');
}

/** RFC 5952 text (what tshark prints). */
export function ip6ToString(b: Bytes): string {
  const buf = toBuffer(b);
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(i * 2));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

export function macToString(b: Bytes): string {
  return Array.from(toBuffer(b).subarray(0, 6))
    .map((x) => x.toString(16).padStart(2, '0'))
    .join(':');
}

// ---- checksum --------------------------------------------------------------

/** One's-complement sum of 16-bit words (RFC 1071) over the concatenation, not complemented. */
export function onesComplementSum(...parts: Bytes[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const p of parts) {
    const b = toBuffer(p);
    let i = 0;
    if (odd !== undefined && b.length > 0) {
      sum += (odd << 8) | (b[0] as number);
      odd = undefined;
      i = 1;
    }
    for (; i + 1 < b.length; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
    if (i < b.length) odd = b[i] as number;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum (RFC 1071) of the concatenation of parts. */
export function internetChecksum(...parts: Bytes[]): number {
  return ~onesComplementSum(...parts) & 0xffff;
}

function pseudoHeader(p: Pseudo, proto: number, length: number): Buffer {
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

// ---- IP ----------------------------------------------------------------------

function padTo(b: Buffer, multiple: number, fill: number): Buffer {
  const rem = b.length % multiple;
  if (rem === 0) return b;
  return Buffer.concat([b, Buffer.alloc(multiple - rem, fill)]);
}

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

// ---- L2 and control-plane payloads --------------------------------------------

export interface VlanTag {
  id: number;
  pcp?: number;
  dei?: boolean;
  /** 0x8100 (default) or 0x88a8 (service tag, outermost in QinQ) */
  tpid?: number;
}

export interface EtherOptions {
  dst: string;
  src: string;
  /** inferred from the IP version nibble of the payload when omitted */
  type?: number;
  /** outermost first; a number is a 0x8100 tag with that VLAN id */
  vlans?: Array<number | VlanTag>;
}

export function ether(o: EtherOptions, payload: Bytes): Buffer {
  const body = toBuffer(payload);
  let type = o.type;
  if (type === undefined) {
    const version = (body[0] ?? 0) >> 4;
    if (version === 4) type = ETHERTYPE.ipv4;
    else if (version === 6) type = ETHERTYPE.ipv6;
    else throw new Error('ether.type: expected an ethertype (payload is not IPv4 or IPv6, cannot infer it)');
  }
  const tags = (o.vlans ?? []).map((t) => (typeof t === 'number' ? { id: t } : t));
  const h = Buffer.alloc(14 + 4 * tags.length);
  mac(o.dst).copy(h, 0);
  mac(o.src).copy(h, 6);
  let off = 12;
  tags.forEach((t, i) => {
    const tpid = t.tpid ?? ETHERTYPE.vlan;
    h.writeUInt16BE(checkUint(`ether.vlans[${i}].tpid`, tpid, 16), off);
    const tci = (checkUint(`ether.vlans[${i}].pcp`, t.pcp ?? 0, 3) << 13) | (t.dei ? 0x1000 : 0) | checkUint(`ether.vlans[${i}].id`, t.id, 12);
    h.writeUInt16BE(tci, off + 2);
    off += 4;
  });
  h.writeUInt16BE(checkUint('ether.type', type, 16), off);
  return Buffer.concat([h, body]);
}

export interface ArpOptions {
  op: 'request' | 'reply' | number;
  senderMac: string;
  senderIp: string;
  /** 00:00:00:00:00:00 for a request when omitted */
  targetMac?: string;
  targetIp: string;
}

/** Ethernet/IPv4 ARP body; wrap with ether({..., type: ETHERTYPE.arp}). */
export function arp(o: ArpOptions): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); // Ethernet
  b.writeUInt16BE(ETHERTYPE.ipv4, 2);
  b[4] = 6;
  b[5] = 4;
  const op = o.op === 'request' ? 1 : o.op === 'reply' ? 2 : o.op;
  b.writeUInt16BE(checkUint('arp.op', op, 16), 6);
  mac(o.senderMac).copy(b, 8);
  ip4(o.senderIp).copy(b, 14);
  mac(o.targetMac ?? '00:00:00:00:00:00').copy(b, 18);
  ip4(o.targetIp).copy(b, 24);
  return b;
}

export const DHCP_MESSAGE_TYPE = {
  discover: 1,
  offer: 2,
  request: 3,
  decline: 4,
  ack: 5,
  nak: 6,
  release: 7,
  inform: 8,
} as const;
export type DhcpMessageType = keyof typeof DHCP_MESSAGE_TYPE;

export interface DhcpOptions {
  messageType: DhcpMessageType;
  xid: number;
  /** client hardware address */
  chaddr: string;
  /** BOOTP op; defaults from the message type (offer/ack/nak are replies) */
  op?: 'request' | 'reply';
  secs?: number;
  broadcast?: boolean;
  ciaddr?: string;
  yiaddr?: string;
  siaddr?: string;
  giaddr?: string;
  requestedAddress?: string;
  serverId?: string;
  subnetMask?: string;
  router?: string | string[];
  dns?: string[];
  /** lease time in seconds */
  lease?: number;
  hostname?: string;
  extraOptions?: Array<{ code: number; data: Bytes }>;
}

function dhcpOption(code: number, data: Buffer): Buffer {
  if (data.length > 255) throw new Error(`dhcp option ${code}: expected at most 255 bytes, got ${data.length}`);
  return Buffer.concat([Buffer.from([code, data.length]), data]);
}

/** BOOTP message with DHCP options (RFC 2131/2132), padded to the 300-byte BOOTP minimum; goes in UDP 68↔67. */
export function dhcp(o: DhcpOptions): Buffer {
  const isReply = o.op ? o.op === 'reply' : ['offer', 'ack', 'nak'].includes(o.messageType);
  const b = Buffer.alloc(236);
  b[0] = isReply ? 2 : 1;
  b[1] = 1; // Ethernet
  b[2] = 6;
  b[3] = 0; // hops
  b.writeUInt32BE(checkUint('dhcp.xid', o.xid, 32), 4);
  b.writeUInt16BE(checkUint('dhcp.secs', o.secs ?? 0, 16), 8);
  b.writeUInt16BE(o.broadcast ? 0x8000 : 0, 10);
  ip4(o.ciaddr ?? '0.0.0.0').copy(b, 12);
  ip4(o.yiaddr ?? '0.0.0.0').copy(b, 16);
  ip4(o.siaddr ?? '0.0.0.0').copy(b, 20);
  ip4(o.giaddr ?? '0.0.0.0').copy(b, 24);
  mac(o.chaddr).copy(b, 28);
  const opts: Buffer[] = [Buffer.from([99, 130, 83, 99])]; // magic cookie
  opts.push(dhcpOption(53, Buffer.from([DHCP_MESSAGE_TYPE[o.messageType]])));
  if (o.serverId !== undefined) opts.push(dhcpOption(54, ip4(o.serverId)));
  if (o.requestedAddress !== undefined) opts.push(dhcpOption(50, ip4(o.requestedAddress)));
  if (o.lease !== undefined) {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(checkUint('dhcp.lease', o.lease, 32), 0);
    opts.push(dhcpOption(51, l));
  }
  if (o.subnetMask !== undefined) opts.push(dhcpOption(1, ip4(o.subnetMask)));
  if (o.router !== undefined) {
    const rs = Array.isArray(o.router) ? o.router : [o.router];
    opts.push(dhcpOption(3, Buffer.concat(rs.map(ip4))));
  }
  if (o.dns !== undefined) opts.push(dhcpOption(6, Buffer.concat(o.dns.map(ip4))));
  if (o.hostname !== undefined) opts.push(dhcpOption(12, Buffer.from(o.hostname, 'ascii')));
  for (const x of o.extraOptions ?? []) opts.push(dhcpOption(checkUint('dhcp.extraOptions.code', x.code, 8), toBuffer(x.data)));
  opts.push(Buffer.from([255]));
  const msg = Buffer.concat([b, ...opts]);
  return msg.length >= 300 ? msg : Buffer.concat([msg, Buffer.alloc(300 - msg.length)]);
}

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
