/**
 * The leak audit: does any production address reach the shadow network?
 *
 * Every shadow frame is scanned, byte by byte, for a 4-byte sequence inside a
 * production IPv4 prefix and a 16-byte sequence inside a production IPv6
 * prefix (the `from` side of the maps and host overrides), at every offset,
 * aligned or not: an address in a field nobody thought of shows up as a
 * finding with where it sits (which header, or the payload, and the offset).
 *
 * No decoder decides what is an address, so a finding in a payload may be
 * a coincidence (random bytes fall in a /16 once per 65,536 offsets): the
 * audit reports where each finding sits and leaves that call to the reader;
 * a finding in a header field is a leak.
 */
import { isIPv4 } from 'node:net';
import { ipv4ToUint32, ipv6ToBytes, parsePrefix4, parsePrefix6, type Prefix4, type Prefix6 } from '../policy/prefix.js';

export interface LeakPrefixes {
  v4: Prefix4[];
  v6: Prefix6[];
}

export interface LeakFinding {
  /** 0-based index of the frame in the capture */
  frame: number;
  /** byte offset in the frame */
  offset: number;
  family: 4 | 6;
  address: string;
  /** the production prefix it falls in */
  prefix: string;
  /** eth, vlan, arp, ipv4, ipv6, ipv6-ext, tcp, udp, icmp, icmpv6, payload */
  layer: string;
  /** offset within that layer */
  layerOffset: number;
  /**
   * field: exactly an address field of a header the audit knows (a leak);
   * payload: past the headers it knows (DNS answers, routing updates, tunnels: a leak to review);
   * header: inside a header but not at an address field (bytes across fields: almost always a coincidence)
   */
  kind: 'field' | 'payload' | 'header';
}

/** The production side of a configuration's maps: translate.ipv4/ipv6[].from and translate.hosts[].from. */
export function productionPrefixes(translate: {
  ipv4?: ReadonlyArray<{ from: string; to: string }>;
  ipv6?: ReadonlyArray<{ from: string; to: string }>;
  hosts?: ReadonlyArray<{ from: string; to: string }>;
}): LeakPrefixes {
  const v4: Prefix4[] = [];
  const v6: Prefix6[] = [];
  const add4 = (text: string): void => {
    const p = parsePrefix4(text);
    if (typeof p !== 'string') v4.push(p);
  };
  const add6 = (text: string): void => {
    const p = parsePrefix6(text);
    if (typeof p !== 'string') v6.push(p);
  };
  for (const m of translate.ipv4 ?? []) if (m.from !== m.to) add4(m.from);
  for (const m of translate.ipv6 ?? []) if (m.from !== m.to) add6(m.from);
  for (const h of translate.hosts ?? []) {
    if (h.from === h.to) continue;
    if (isIPv4(h.from)) add4(`${h.from}/32`);
    else add6(`${h.from}/128`);
  }
  return { v4, v6 };
}

const mask4 = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

function fmt4(p: Prefix4): string {
  return `${[24, 16, 8, 0].map((s) => (p.addr >>> s) & 0xff).join('.')}/${p.len}`;
}

function fmt6(b: Uint8Array | Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
  return groups.join(':');
}

function in6(f: Buffer, off: number, p: Prefix6): boolean {
  let bits = p.len;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const m = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((((f[off + i] as number) ^ (p.addr[i] as number)) & m) !== 0) return false;
  }
  return true;
}

interface Span { layer: string; start: number; end: number }

interface Layers {
  spans: Span[];
  /** absolute offsets of known address fields: IPv4 (4 bytes) and IPv6 (16 bytes) */
  fields4: Set<number>;
  fields6: Set<number>;
}

/** Where the headers of a frame are, as far as they can be told, and their address fields; the rest is payload. Never throws. */
export function layersOf(f: Buffer): Layers {
  const spans: Span[] = [];
  const fields4 = new Set<number>();
  const fields6 = new Set<number>();
  const out: Layers = { spans, fields4, fields6 };
  if (f.length < 14) { spans.push({ layer: 'eth', start: 0, end: f.length }); return out; }
  spans.push({ layer: 'eth', start: 0, end: 12 });
  let off = 12;
  let type = f.readUInt16BE(off);
  while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && off + 6 <= f.length) {
    spans.push({ layer: 'vlan', start: off, end: off + 4 });
    off += 4;
    type = f.readUInt16BE(off);
  }
  const l3 = off + 2;
  spans.push({ layer: 'eth', start: off, end: l3 });
  let l4 = -1;
  let proto = -1;
  if (type === 0x0806) {
    spans.push({ layer: 'arp', start: l3, end: Math.min(f.length, l3 + 28) });
    fields4.add(l3 + 14).add(l3 + 24);
    return out;
  }
  if (type === 0x0800 && l3 + 20 <= f.length) {
    const ihl = ((f[l3] as number) & 0xf) * 4;
    spans.push({ layer: 'ipv4', start: l3, end: Math.min(f.length, l3 + Math.max(ihl, 20)) });
    fields4.add(l3 + 12).add(l3 + 16);
    const frag = f.readUInt16BE(l3 + 6) & 0x1fff;
    if (frag === 0) { l4 = l3 + Math.max(ihl, 20); proto = f[l3 + 9] as number; }
  } else if (type === 0x86dd && l3 + 40 <= f.length) {
    spans.push({ layer: 'ipv6', start: l3, end: l3 + 40 });
    fields6.add(l3 + 8).add(l3 + 24);
    let nh = f[l3 + 6] as number;
    let o = l3 + 40;
    for (let k = 0; k < 8 && (nh === 0 || nh === 43 || nh === 60 || nh === 44) && o + 8 <= f.length; k++) {
      const len = nh === 44 ? 8 : ((f[o + 1] as number) + 1) * 8;
      spans.push({ layer: 'ipv6-ext', start: o, end: Math.min(f.length, o + len) });
      if (nh === 44 && (f.readUInt16BE(o + 2) & 0xfff8) !== 0) { nh = -1; break; }
      nh = f[o] as number;
      o += len;
    }
    if (nh >= 0) { l4 = o; proto = nh; }
  }
  if (l4 >= 0 && l4 < f.length) {
    const hl = proto === 6 ? Math.max(20, ((f[l4 + 12] as number) >> 4) * 4) : proto === 17 ? 8 : proto === 1 || proto === 58 ? 8 : 0;
    const name = ({ 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6' } as Record<number, string>)[proto];
    if (name !== undefined) spans.push({ layer: name, start: l4, end: Math.min(f.length, l4 + hl) });
    // The quoted header of an ICMP error, DHCP's fixed address fields, ND targets.
    const t = f[l4] as number;
    if (proto === 1 && [3, 4, 5, 11, 12].includes(t)) fields4.add(l4 + 8 + 12).add(l4 + 8 + 16);
    if (proto === 58 && t >= 1 && t <= 4) fields6.add(l4 + 8 + 8).add(l4 + 8 + 24);
    if (proto === 58 && (t === 135 || t === 136 || t === 137)) fields6.add(l4 + 8);
    if (proto === 58 && t === 137) fields6.add(l4 + 24);
    if (proto === 17 && l4 + 4 <= f.length) {
      const sp = f.readUInt16BE(l4);
      const dp = f.readUInt16BE(l4 + 2);
      if ((sp === 67 || sp === 68) && (dp === 67 || dp === 68)) for (const o of [12, 16, 20, 24]) fields4.add(l4 + 8 + o);
    }
  }
  return out;
}

function where({ spans }: Layers, off: number): { layer: string; layerOffset: number } {
  for (const s of spans) if (off >= s.start && off < s.end) return { layer: s.layer, layerOffset: off - s.start };
  const last = spans.reduce((m, s) => Math.max(m, s.end), 0);
  return { layer: 'payload', layerOffset: off - last };
}

/** Every production address in one frame. */
export function scanFrame(f: Buffer, frame: number, p: LeakPrefixes): LeakFinding[] {
  const out: LeakFinding[] = [];
  let layers: Layers | null = null;
  const at = (off: number, family: 4 | 6) => {
    layers ??= layersOf(f);
    const field = (family === 4 ? layers.fields4 : layers.fields6).has(off);
    const w = where(layers, off);
    return { ...w, kind: field ? ('field' as const) : w.layer === 'payload' ? ('payload' as const) : ('header' as const) };
  };
  for (let off = 0; off + 4 <= f.length; off++) {
    const v = f.readUInt32BE(off);
    for (const q of p.v4) {
      if (((v ^ q.addr) & mask4(q.len)) >>> 0 === 0) {
        out.push({ frame, offset: off, family: 4, address: [...f.subarray(off, off + 4)].join('.'), prefix: fmt4(q), ...at(off, 4) });
        break;
      }
    }
  }
  for (let off = 0; off + 16 <= f.length; off++) {
    for (const q of p.v6) {
      if (in6(f, off, q)) {
        out.push({ frame, offset: off, family: 6, address: fmt6(f.subarray(off, off + 16)), prefix: `${fmt6(q.addr)}/${q.len}`, ...at(off, 6) });
        break;
      }
    }
  }
  return out;
}

export function scanFrames(frames: ReadonlyArray<Buffer>, p: LeakPrefixes): LeakFinding[] {
  return frames.flatMap((f, i) => scanFrame(f, i, p));
}

/** For tests: the address a finding names, as bytes, to check a claim independently. */
export function addressBytes(a: string): Buffer | null {
  if (isIPv4(a)) {
    const v = ipv4ToUint32(a);
    if (v === null) return null;
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  }
  const b6 = ipv6ToBytes(a);
  return b6 ? Buffer.from(b6) : null;
}
