/**
 * Independent checks of routing payloads for the tests (never the code under
 * test): every address tshark decodes in a BGP or OSPF message, with where
 * it sits; OSPF packet checksums (v2: RFC 2328 D.4.1, v3: IPv6 pseudo-header)
 * and every LSA's Fletcher checksum (RFC 905 annex B) recomputed here.
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import { requireTshark } from './tshark.js';

const execFileP = promisify(execFile);

export interface DecodedAddress {
  frame: number;       // 0-based
  field: string;
  value: string;
  pos: number;         // byte offset in the frame (perFrame), else possibly in reassembled bytes
  len: number;
}

/**
 * Every bgp.* and ospf.* field whose value is an IP address (tshark -T json -x).
 * By default tshark reassembles TCP streams, so a BGP message split across
 * segments is decoded whole, in the frame that completes it, and its fields'
 * positions are offsets in the reassembled bytes, not in that frame. perFrame:
 * no reassembly, so every position is an offset in its own frame (what a check
 * of the frame's bytes at those positions needs); a message cut by a segment
 * boundary is then decoded only as far as the frame holds it.
 */
export async function routingAddresses(pcap: string, opts: { perFrame?: boolean } = {}): Promise<DecodedAddress[]> {
  const prefs = opts.perFrame ? ['-o', 'tcp.desegment_tcp_streams:FALSE'] : [];
  const { stdout } = await execFileP(requireTshark(), ['-r', pcap, ...prefs, '-T', 'json', '--no-duplicate-keys', '-x', '-Y', 'bgp or ospf'], { maxBuffer: 512 << 20 });
  const packets = JSON.parse(stdout) as { _source: { layers: Record<string, unknown> } }[];
  const out: DecodedAddress[] = [];
  for (const p of packets) {
    const layers = p._source.layers;
    const frame = Number((layers['frame'] as Record<string, string>)['frame.number']) - 1;
    const walk = (o: unknown): void => {
      if (Array.isArray(o)) {
        for (const x of o) walk(x);
        return;
      }
      if (o === null || typeof o !== 'object') return;
      const rec = o as Record<string, unknown>;
      for (const [k, v] of Object.entries(rec)) {
        if (k.endsWith('_raw')) continue;
        if ((k.startsWith('bgp.') || k.startsWith('ospf.')) && (typeof v === 'string' || Array.isArray(v))) {
          const values = Array.isArray(v) ? v : [v];
          const raws = rec[`${k}_raw`];
          const rawList: unknown[] = Array.isArray(raws) && Array.isArray(raws[0]) ? raws : raws === undefined ? [] : [raws];
          values.forEach((val, i) => {
            if (typeof val !== 'string' || isIP(val) === 0) return;
            const raw = rawList[i] as [string, number, number] | undefined;
            out.push({ frame, field: k, value: val, pos: raw ? Number(raw[1]) : -1, len: raw ? Number(raw[2]) : 0 });
          });
        }
        if (typeof v === 'object') walk(v);
      }
    };
    walk(layers);
  }
  return out;
}

function sum16(b: Buffer, from: number, to: number, skip?: [number, number]): number {
  let s = 0;
  for (let i = from; i < to; i += 2) {
    if (skip && i >= skip[0] && i < skip[1]) continue;
    s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** ISO 8473 check: both running sums over bytes 2..len are 0 mod 255. */
export function fletcherOk(lsa: Buffer): boolean {
  let c0 = 0;
  let c1 = 0;
  for (let i = 2; i < lsa.length; i++) {
    c0 = (c0 + lsa[i]!) % 255;
    c1 = (c1 + c0) % 255;
  }
  return c0 === 0 && c1 === 0 && (lsa[16] !== 0 || lsa[17] !== 0);
}

export interface OspfCheck {
  version: 2 | 3;
  type: number;
  checksumOk: boolean;
  lsas: { type: number; ok: boolean }[];
}

/** The OSPF packet of an Ethernet frame (untagged IPv4/IPv6, proto 89), or null. */
export function checkOspf(f: Buffer): OspfCheck | null {
  const et = f.readUInt16BE(12);
  let o: number;
  let end: number;
  let pseudo = 0;
  if (et === 0x0800 && f[14 + 9] === 89) {
    o = 14 + (f[14]! & 0xf) * 4;
    end = 14 + f.readUInt16BE(16);
  } else if (et === 0x86dd && f[14 + 6] === 89) {
    o = 54;
    const plen = f.readUInt16BE(18);
    end = o + plen;
    pseudo = sum16(f, 22, 54) + (plen >>> 16) + (plen & 0xffff) + 89;
  } else {
    return null;
  }
  const version = f[o] as 2 | 3;
  const len = f.readUInt16BE(o + 2);
  const type = f[o + 1]!;
  let checksumOk: boolean;
  if (version === 2) {
    checksumOk = sum16(f, o, o + len, [o + 16, o + 24]) === 0xffff;
  } else {
    let s = pseudo + sum16(f, o, end);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    checksumOk = s === 0xffff;
  }
  const lsas: { type: number; ok: boolean }[] = [];
  if (type === 4) {
    const hdr = version === 2 ? 24 : 16;
    let n = f.readUInt32BE(o + hdr);
    let i = o + hdr + 4;
    while (n-- > 0 && i + 20 <= o + len) {
      const l = f.readUInt16BE(i + 18);
      const t = version === 2 ? f[i + 3]! : f.readUInt16BE(i + 2);
      lsas.push({ type: t, ok: fletcherOk(f.subarray(i, i + l)) });
      i += l;
    }
  }
  return { version, type, checksumOk, lsas };
}

/**
 * Captures on a veth carry TCP checksums the kernel left to an offload that
 * never ran (CHECKSUM_PARTIAL): recompute them, so the input is what a
 * wire would have carried (tshark checks the result).
 */
export function fixTcpChecksum(f: Buffer): Buffer {
  const b = Buffer.from(f);
  const et = b.readUInt16BE(12);
  let l4: number;
  let end: number;
  let pseudo: number;
  if (et === 0x0800 && b[23] === 6) {
    l4 = 14 + (b[14]! & 0xf) * 4;
    end = 14 + b.readUInt16BE(16);
    const len = end - l4;
    pseudo = sum16(b, 26, 34) + 6 + len;
  } else if (et === 0x86dd && b[20] === 6) {
    l4 = 54;
    end = l4 + b.readUInt16BE(18);
    pseudo = sum16(b, 22, 54) + 6 + (end - l4);
  } else {
    return b;
  }
  b.writeUInt16BE(0, l4 + 16);
  let s = pseudo + sum16(b, l4, end);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  b.writeUInt16BE(~s & 0xffff, l4 + 16);
  return b;
}

/**
 * The same TCP streams cut into segments of at most `size` payload bytes:
 * every data segment to or from port 179 becomes several, with their
 * sequence numbers, IP lengths and checksums made right (SYN on the first
 * piece, FIN and PSH on the last). So a real daemon's messages cross segment
 * boundaries at every kind of field, as they do when a burst of UPDATEs
 * exceeds the MSS.
 */
export function resegment(frames: readonly Buffer[], size: number): Buffer[] {
  const out: Buffer[] = [];
  for (const f of frames) {
    const et = f.length >= 14 ? f.readUInt16BE(12) : 0;
    const v4 = et === 0x0800 && f[23] === 6;
    const v6 = et === 0x86dd && f[20] === 6;
    if (!v4 && !v6) {
      out.push(f);
      continue;
    }
    const l4 = v4 ? 14 + (f[14]! & 0xf) * 4 : 54;
    const end = v4 ? 14 + f.readUInt16BE(16) : 54 + f.readUInt16BE(18);
    const po = l4 + (f[l4 + 12]! >> 4) * 4;
    const bgp = f.readUInt16BE(l4) === 179 || f.readUInt16BE(l4 + 2) === 179;
    if (!bgp || end - po <= size) {
      out.push(f);
      continue;
    }
    const seq = f.readUInt32BE(l4 + 4);
    const flags = f[l4 + 13]!;
    for (let off = po; off < end; off += size) {
      const n = Math.min(size, end - off);
      const b = Buffer.concat([f.subarray(0, po), f.subarray(off, off + n)]);
      b.writeUInt32BE((seq + (off - po) + ((flags & 0x02) && off > po ? 1 : 0)) >>> 0, l4 + 4);
      const last = off + n >= end;
      b[l4 + 13] = (flags & ~(0x01 | 0x08 | 0x02)) | (last ? flags & (0x01 | 0x08) : 0) | (off === po ? flags & 0x02 : 0);
      if (v4) {
        b.writeUInt16BE(b.length - 14, 16);
        b.writeUInt16BE(0, 24);
        let s = sum16(b, 14, l4);
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        b.writeUInt16BE(~s & 0xffff, 24);
      } else {
        b.writeUInt16BE(b.length - 54, 18);
      }
      out.push(fixTcpChecksum(b));
    }
  }
  return out;
}
