/**
 * Routing-protocol messages for captures: BGP (RFC 4271, 4760 MP-BGP, 4360
 * extended communities, 4456 route reflection) and OSPFv2 (RFC 2328) with
 * LSAs whose Fletcher checksums (RFC 905 annex B) and packet checksum are
 * computed here. Used by the demo capture and the routing tests; the tests
 * check what these produce with tshark's dissectors before relying on it.
 */
import { isIPv4 } from 'node:net';

function ip4(a: string, field: string): Buffer {
  if (!isIPv4(a)) throw new Error(`${field}: expected an IPv4 address, got ${JSON.stringify(a)}`);
  return Buffer.from(a.split('.').map(Number));
}

function ip6(a: string, field: string): Buffer {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const words = [...h, ...Array(fill).fill('0'), ...t];
  if (words.length !== 8 || words.some((w) => !/^[0-9a-f]{1,4}$/i.test(w))) {
    throw new Error(`${field}: expected an IPv6 address, got ${JSON.stringify(a)}`);
  }
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), i * 2));
  return b;
}

/** "10.0.100.0/24" or "fd00:100::/64" as an NLRI entry: length, then the prefix bytes. */
export function nlriPrefix(p: string): Buffer {
  const [addr, lenText] = p.split('/');
  const len = Number(lenText);
  const v6 = (addr ?? '').includes(':');
  if (!Number.isInteger(len) || len < 0 || len > (v6 ? 128 : 32)) throw new Error(`nlri ${p}: expected address/length`);
  const bytes = v6 ? ip6(addr!, `nlri ${p}`) : ip4(addr!, `nlri ${p}`);
  return Buffer.concat([Buffer.from([len]), bytes.subarray(0, Math.ceil(len / 8))]);
}

function bgpMessage(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(19, 0xff);
  h.writeUInt16BE(19 + body.length, 16);
  h[18] = type;
  return Buffer.concat([h, body]);
}

export function bgpOpen(o: { as: number; holdTime?: number; identifier: string; capabilities?: Buffer }): Buffer {
  const caps = o.capabilities ?? Buffer.from([1, 4, 0, 1, 0, 1, 65, 4, 0, 0, o.as >> 8, o.as & 255]); // MP IPv4 unicast, 4-byte AS
  const param = Buffer.concat([Buffer.from([2, caps.length]), caps]);
  const b = Buffer.alloc(10);
  b[0] = 4;
  b.writeUInt16BE(o.as > 0xffff ? 23456 : o.as, 1);
  b.writeUInt16BE(o.holdTime ?? 90, 3);
  ip4(o.identifier, 'bgpOpen.identifier').copy(b, 5);
  b[9] = param.length;
  return bgpMessage(1, Buffer.concat([b, param]));
}

export const bgpKeepalive = (): Buffer => bgpMessage(4, Buffer.alloc(0));

function attr(flags: number, type: number, value: Buffer): Buffer {
  const ext = value.length > 255;
  const h = Buffer.alloc(ext ? 4 : 3);
  h[0] = flags | (ext ? 0x10 : 0);
  h[1] = type;
  if (ext) h.writeUInt16BE(value.length, 2);
  else h[2] = value.length;
  return Buffer.concat([h, value]);
}

export interface BgpUpdateOptions {
  withdrawn?: string[];
  origin?: number;
  /** AS_SEQUENCE of 4-byte ASes */
  asPath?: number[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  aggregator?: { as: number; address: string };
  originatorId?: string;
  clusterList?: string[];
  /** IPv4-address-specific route targets (type 0x01, subtype 0x02) */
  routeTargets?: { address: string; local: number }[];
  mpReach?: { afi: 1 | 2; nextHops: string[]; nlri: string[] };
  mpUnreach?: { afi: 1 | 2; withdrawn: string[] };
  nlri?: string[];
}

export function bgpUpdate(o: BgpUpdateOptions): Buffer {
  const withdrawn = Buffer.concat((o.withdrawn ?? []).map(nlriPrefix));
  const attrs: Buffer[] = [];
  if (o.origin !== undefined) attrs.push(attr(0x40, 1, Buffer.from([o.origin])));
  if (o.asPath) {
    const v = Buffer.alloc(2 + 4 * o.asPath.length);
    v[0] = 2;
    v[1] = o.asPath.length;
    o.asPath.forEach((a, i) => v.writeUInt32BE(a, 2 + 4 * i));
    attrs.push(attr(0x40, 2, v));
  }
  if (o.nextHop) attrs.push(attr(0x40, 3, ip4(o.nextHop, 'bgpUpdate.nextHop')));
  if (o.med !== undefined) { const v = Buffer.alloc(4); v.writeUInt32BE(o.med); attrs.push(attr(0x80, 4, v)); }
  if (o.localPref !== undefined) { const v = Buffer.alloc(4); v.writeUInt32BE(o.localPref); attrs.push(attr(0x40, 5, v)); }
  if (o.aggregator) {
    const v = Buffer.alloc(8);
    v.writeUInt32BE(o.aggregator.as);
    ip4(o.aggregator.address, 'bgpUpdate.aggregator.address').copy(v, 4);
    attrs.push(attr(0xc0, 7, v));
  }
  if (o.originatorId) attrs.push(attr(0x80, 9, ip4(o.originatorId, 'bgpUpdate.originatorId')));
  if (o.clusterList) attrs.push(attr(0x80, 10, Buffer.concat(o.clusterList.map((c, i) => ip4(c, `bgpUpdate.clusterList[${i}]`)))));
  if (o.routeTargets) {
    attrs.push(attr(0xc0, 16, Buffer.concat(o.routeTargets.map((r, i) => {
      const v = Buffer.alloc(8);
      v[0] = 0x01;
      v[1] = 0x02;
      ip4(r.address, `bgpUpdate.routeTargets[${i}].address`).copy(v, 2);
      v.writeUInt16BE(r.local, 6);
      return v;
    }))));
  }
  if (o.mpReach) {
    const m = o.mpReach;
    const nh = Buffer.concat(m.nextHops.map((a, i) => (m.afi === 1 && isIPv4(a) ? ip4(a, 'nh') : ip6(a, `bgpUpdate.mpReach.nextHops[${i}]`))));
    const h = Buffer.from([0, m.afi, 1, nh.length]);
    attrs.push(attr(0x80, 14, Buffer.concat([h, nh, Buffer.from([0]), ...m.nlri.map(nlriPrefix)])));
  }
  if (o.mpUnreach) {
    attrs.push(attr(0x80, 15, Buffer.concat([Buffer.from([0, o.mpUnreach.afi, 1]), ...o.mpUnreach.withdrawn.map(nlriPrefix)])));
  }
  const a = Buffer.concat(attrs);
  const wl = Buffer.alloc(2);
  wl.writeUInt16BE(withdrawn.length);
  const al = Buffer.alloc(2);
  al.writeUInt16BE(a.length);
  return bgpMessage(2, Buffer.concat([wl, withdrawn, al, a, ...(o.nlri ?? []).map(nlriPrefix)]));
}

// ---- OSPFv2 ----------------------------------------------------------------

/** ISO 8473 Fletcher checksum of an LSA (bytes 2..end, checksum field at 16). */
export function lsaFletcher(lsa: Buffer): number {
  let c0 = 0;
  let c1 = 0;
  for (let i = 2; i < lsa.length; i++) {
    c0 = (c0 + (i === 16 || i === 17 ? 0 : lsa[i]!)) % 255;
    c1 = (c1 + c0) % 255;
  }
  const L = lsa.length - 2;
  const p = 14;
  let x = ((L - p - 1) * c0 - c1) % 255;
  if (x <= 0) x += 255;
  let y = (c1 - (L - p) * c0) % 255;
  if (y <= 0) y += 255;
  return (x << 8) | y;
}

export interface LsaOptions {
  type: 1 | 2 | 3 | 4 | 5 | 7;
  id: string;
  advRouter: string;
  seq?: number;
  age?: number;
  body: Buffer;
}

export function lsa(o: LsaOptions): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(o.age ?? 1, 0);
  h[2] = 0x02;
  h[3] = o.type;
  ip4(o.id, 'lsa.id').copy(h, 4);
  ip4(o.advRouter, 'lsa.advRouter').copy(h, 8);
  h.writeUInt32BE(o.seq ?? 0x80000001, 12);
  h.writeUInt16BE(20 + o.body.length, 18);
  const l = Buffer.concat([h, o.body]);
  l.writeUInt16BE(lsaFletcher(l), 16);
  return l;
}

const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };

export function routerLsaBody(links: { type: 1 | 2 | 3 | 4; id: string; data: string; metric: number }[], flags = 0): Buffer {
  const h = Buffer.from([flags, 0, 0, 0]);
  h.writeUInt16BE(links.length, 2);
  return Buffer.concat([h, ...links.map((k) => {
    const b = Buffer.alloc(12);
    ip4(k.id, 'link.id').copy(b, 0);
    ip4(k.data, 'link.data').copy(b, 4);
    b[8] = k.type;
    b.writeUInt16BE(k.metric, 10);
    return b;
  })]);
}

export const networkLsaBody = (mask: string, routers: string[]): Buffer =>
  Buffer.concat([ip4(mask, 'mask'), ...routers.map((r) => ip4(r, 'attached router'))]);

export const summaryLsaBody = (mask: string, metric: number): Buffer => Buffer.concat([ip4(mask, 'mask'), u32(metric & 0xffffff)]);

export const externalLsaBody = (mask: string, metric: number, forward: string, tag = 0): Buffer =>
  Buffer.concat([ip4(mask, 'mask'), u32(0x80000000 | (metric & 0xffffff)), ip4(forward, 'forward'), u32(tag)]);

function ospfPacket(type: number, routerId: string, area: string, body: Buffer): Buffer {
  const h = Buffer.alloc(24);
  h[0] = 2;
  h[1] = type;
  h.writeUInt16BE(24 + body.length, 2);
  ip4(routerId, 'ospf.routerId').copy(h, 4);
  ip4(area, 'ospf.area').copy(h, 8);
  const p = Buffer.concat([h, body]);
  let s = 0;
  for (let i = 0; i < p.length; i += 2) if (i < 16 || i >= 24) s += (p[i]! << 8) | (p[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  p.writeUInt16BE(~s & 0xffff, 12);
  return p;
}

export function ospfHello(o: { routerId: string; area?: string; mask: string; dr: string; bdr: string; neighbors: string[] }): Buffer {
  const b = Buffer.alloc(20);
  ip4(o.mask, 'hello.mask').copy(b, 0);
  b.writeUInt16BE(10, 4);
  b[6] = 0x02;
  b[7] = 1;
  b.writeUInt32BE(40, 8);
  ip4(o.dr, 'hello.dr').copy(b, 12);
  ip4(o.bdr, 'hello.bdr').copy(b, 16);
  return ospfPacket(1, o.routerId, o.area ?? '0.0.0.0', Buffer.concat([b, ...o.neighbors.map((n) => ip4(n, 'hello.neighbor'))]));
}

export const ospfLsUpdate = (o: { routerId: string; area?: string; lsas: Buffer[] }): Buffer =>
  ospfPacket(4, o.routerId, o.area ?? '0.0.0.0', Buffer.concat([u32(o.lsas.length), ...o.lsas]));

/** LSA headers (the first 20 bytes of each LSA) for an LS ack. */
export const ospfLsAck = (o: { routerId: string; area?: string; lsas: Buffer[] }): Buffer =>
  ospfPacket(5, o.routerId, o.area ?? '0.0.0.0', Buffer.concat(o.lsas.map((l) => l.subarray(0, 20))));

export function ospfDbDescription(o: { routerId: string; area?: string; seq: number; lsas: Buffer[] }): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(1500, 0);
  b[2] = 0x02;
  b[3] = 0x02;
  b.writeUInt32BE(o.seq, 4);
  return ospfPacket(2, o.routerId, o.area ?? '0.0.0.0', Buffer.concat([b, ...o.lsas.map((l) => l.subarray(0, 20))]));
}
