/**
 * DNS messages for captures (RFC 1035; mDNS RFC 6762 and LLMNR RFC 4795 use
 * the same format): questions and records in every section, with name
 * compression, A/AAAA/PTR/CNAME/SOA/TXT/OPT (EDNS client subnet)/HTTPS
 * records, reverse names, and the 2-byte length prefix of DNS over TCP.
 * Payloads only: wrap them with udp()/tcp() from build.ts.
 */
import { ip4, ip6 } from './build.js';

export const DNS_TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, HTTPS: 65 } as const;

export interface DnsQuestion {
  name: string;
  type: number;
  /** class; 1 (IN) by default; mDNS sets the top bit for unicast-response */
  cls?: number;
}

/** rdata: an address (A/AAAA), a name (PTR/CNAME/NS), raw bytes, or a structured form. */
export type DnsRdata =
  | { address: string }
  | { name: string }
  | { soa: { mname: string; rname: string; serial: number } }
  | { ecs: { address: string; sourceLen: number } }
  | { https: { priority: number; target: string; ipv4hint?: string[]; ipv6hint?: string[] } }
  | { raw: Buffer };

export interface DnsRecord {
  name: string;
  type: number;
  cls?: number;
  ttl?: number;
  data: DnsRdata;
}

export interface DnsMessageOptions {
  id: number;
  response?: boolean;
  /** header flags other than QR (default: RD, plus RA in responses) */
  flags?: number;
  questions?: DnsQuestion[];
  answers?: DnsRecord[];
  authority?: DnsRecord[];
  additional?: DnsRecord[];
  /** compress names against earlier ones (default true) */
  compress?: boolean;
  /** header counts written as given (malformed on purpose) */
  counts?: Partial<Record<'qd' | 'an' | 'ns' | 'ar', number>>;
}

/** The reverse name of an address: 21.2.0.10.in-addr.arpa, or the 32 nibbles under ip6.arpa. */
export function reverseName(addr: string): string {
  if (!addr.includes(':')) return `${[...ip4(addr)].reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (const b of ip6(addr)) nibbles.push((b >> 4).toString(16), (b & 15).toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

class Writer {
  private readonly parts: Buffer[] = [];
  private len = 0;
  /** lower-cased name suffix -> offset, for compression */
  private readonly names = new Map<string, number>();
  constructor(private readonly compress: boolean) {}

  get length(): number {
    return this.len;
  }
  push(b: Buffer): void {
    this.parts.push(b);
    this.len += b.length;
  }
  u16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v, 0);
    this.push(b);
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0, 0);
    this.push(b);
  }
  name(name: string, compress = this.compress): void {
    const labels = name === '' || name === '.' ? [] : name.replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.names.get(suffix);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.len < 0x3fff) this.names.set(suffix, this.len);
      const l = Buffer.from(labels[i]!, 'ascii');
      if (l.length === 0 || l.length > 63) throw new Error(`dns: label "${labels[i]}" of ${name} must be 1..63 bytes`);
      this.push(Buffer.concat([Buffer.from([l.length]), l]));
    }
    this.push(Buffer.from([0]));
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function rdata(w: Writer, d: DnsRdata): Buffer {
  // Names inside rdata may be compressed against the message (PTR, CNAME, NS, SOA);
  // write into a sub-writer that shares nothing, uncompressed: simple and valid.
  const sub = new Writer(false);
  if ('address' in d) return d.address.includes(':') ? ip6(d.address) : ip4(d.address);
  if ('name' in d) {
    sub.name(d.name);
    return sub.done();
  }
  if ('soa' in d) {
    sub.name(d.soa.mname);
    sub.name(d.soa.rname);
    for (const v of [d.soa.serial, 3600, 600, 86400, 60]) sub.u32(v);
    return sub.done();
  }
  if ('ecs' in d) {
    const v6 = d.ecs.address.includes(':');
    const nb = Math.ceil(d.ecs.sourceLen / 8);
    const a = (v6 ? ip6(d.ecs.address) : ip4(d.ecs.address)).subarray(0, nb);
    const o = Buffer.alloc(8);
    o.writeUInt16BE(8, 0);
    o.writeUInt16BE(4 + nb, 2);
    o.writeUInt16BE(v6 ? 2 : 1, 4);
    o[6] = d.ecs.sourceLen;
    o[7] = 0;
    return Buffer.concat([o, a]);
  }
  if ('https' in d) {
    sub.u16(d.https.priority);
    sub.name(d.https.target, false);
    const param = (key: number, v: Buffer): void => {
      sub.u16(key);
      sub.u16(v.length);
      sub.push(v);
    };
    param(1, Buffer.from([2, 0x68, 0x32])); // alpn h2
    if (d.https.ipv4hint) param(4, Buffer.concat(d.https.ipv4hint.map(ip4)));
    if (d.https.ipv6hint) param(6, Buffer.concat(d.https.ipv6hint.map(ip6)));
    return sub.done();
  }
  void w;
  return d.raw;
}

/** One DNS message. */
export function dnsMessage(o: DnsMessageOptions): Buffer {
  const w = new Writer(o.compress ?? true);
  const q = o.questions ?? [];
  const sections = [o.answers ?? [], o.authority ?? [], o.additional ?? []];
  w.u16(o.id);
  w.u16((o.response ? 0x8000 : 0) | (o.flags ?? (o.response ? 0x0180 : 0x0100)));
  w.u16(o.counts?.qd ?? q.length);
  w.u16(o.counts?.an ?? sections[0]!.length);
  w.u16(o.counts?.ns ?? sections[1]!.length);
  w.u16(o.counts?.ar ?? sections[2]!.length);
  for (const x of q) {
    w.name(x.name);
    w.u16(x.type);
    w.u16(x.cls ?? 1);
  }
  for (const rrs of sections) {
    for (const r of rrs) {
      w.name(r.name);
      w.u16(r.type);
      w.u16(r.cls ?? 1);
      w.u32(r.ttl ?? 300);
      const d = rdata(w, r.data);
      w.u16(d.length);
      w.push(d);
    }
  }
  return w.done();
}

/** An OPT pseudo-record (EDNS) for the additional section, with a client subnet option. */
export function ednsClientSubnet(address: string, sourceLen: number): DnsRecord {
  return { name: '', type: DNS_TYPE.OPT, cls: 1232, ttl: 0, data: { ecs: { address, sourceLen } } };
}

/** DNS over TCP: each message after its 2-byte length (RFC 7766). */
export function dnsTcpFraming(...messages: Buffer[]): Buffer {
  return Buffer.concat(
    messages.flatMap((m) => {
      const l = Buffer.alloc(2);
      l.writeUInt16BE(m.length, 0);
      return [l, m];
    }),
  );
}
