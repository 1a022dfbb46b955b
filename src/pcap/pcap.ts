/**
 * Classic pcap files (not pcapng): enough to feed DPDK's net_pcap vdev and to
 * read back what it wrote. net_pcap writes nanosecond files, hand-made captures
 * are usually microsecond ones, and files written on a big-endian host keep
 * their byte order, so the reader accepts all four magic forms.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const LINKTYPE_ETHERNET = 1;

const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const DEFAULT_SNAPLEN = 262144;

/** Timestamp given to frame i when the caller gives none: fixed, so output is reproducible. */
export const DEFAULT_TS_SEC = 1_700_000_000;

export interface PcapPacket {
  tsSec: number;
  /** microseconds; for a nanosecond file, tsNsec / 1000 rounded down */
  tsUsec: number;
  /** nanoseconds within the second (tsUsec * 1000 for a microsecond file) */
  tsNsec: number;
  data: Buffer;
  /** length on the wire; larger than data.length when the capture was cut at snaplen */
  origLen: number;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  nanosecond: boolean;
  bigEndian: boolean;
  packets: PcapPacket[];
}

export interface PcapFrame {
  data: Buffer | Uint8Array;
  tsSec?: number;
  tsUsec?: number;
  /** length on the wire, defaults to data.length */
  origLen?: number;
}

export interface PcapWriteOptions {
  linktype?: number;
  snaplen?: number;
}

export function decodePcap(buf: Buffer, source = 'buffer'): PcapFile {
  if (buf.length < GLOBAL_HEADER_LEN) {
    throw new Error(`${source}: pcap global header needs ${GLOBAL_HEADER_LEN} bytes, file has ${buf.length}`);
  }
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  let bigEndian: boolean;
  let nanosecond: boolean;
  if (le === MAGIC_USEC || le === MAGIC_NSEC) {
    bigEndian = false;
    nanosecond = le === MAGIC_NSEC;
  } else if (be === MAGIC_USEC || be === MAGIC_NSEC) {
    bigEndian = true;
    nanosecond = be === MAGIC_NSEC;
  } else {
    throw new Error(
      `${source}: magic 0x${be.toString(16).padStart(8, '0')} is not a classic pcap magic ` +
        '(expected a1b2c3d4 or a1b23c4d in either byte order; pcapng is not supported)',
    );
  }
  const u32 = (off: number): number => (bigEndian ? buf.readUInt32BE(off) : buf.readUInt32LE(off));
  const snaplen = u32(16);
  const linktype = u32(20) & 0x0fffffff; // upper bits carry FCS flags in newer files
  const packets: PcapPacket[] = [];
  let off = GLOBAL_HEADER_LEN;
  while (off < buf.length) {
    if (off + RECORD_HEADER_LEN > buf.length) {
      throw new Error(`${source}: record ${packets.length + 1} header truncated at byte ${off}`);
    }
    const tsSec = u32(off);
    const tsFrac = u32(off + 4);
    const inclLen = u32(off + 8);
    const origLen = u32(off + 12);
    off += RECORD_HEADER_LEN;
    if (off + inclLen > buf.length) {
      throw new Error(
        `${source}: record ${packets.length + 1} says ${inclLen} captured bytes, only ${buf.length - off} remain`,
      );
    }
    packets.push({
      tsSec,
      tsUsec: nanosecond ? Math.floor(tsFrac / 1000) : tsFrac,
      tsNsec: nanosecond ? tsFrac : tsFrac * 1000,
      data: Buffer.from(buf.subarray(off, off + inclLen)),
      origLen,
    });
    off += inclLen;
  }
  return { linktype, snaplen, nanosecond, bigEndian, packets };
}

export function readPcap(path: string): PcapFile {
  return decodePcap(readFileSync(path), path);
}

function isFrameObject(f: Buffer | Uint8Array | PcapFrame): f is PcapFrame {
  return !(f instanceof Uint8Array);
}

/** Little-endian, microsecond, version 2.4: what every tool reads. */
export function encodePcap(frames: ReadonlyArray<Buffer | Uint8Array | PcapFrame>, opts: PcapWriteOptions = {}): Buffer {
  const linktype = opts.linktype ?? LINKTYPE_ETHERNET;
  const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(GLOBAL_HEADER_LEN);
  gh.writeUInt32LE(MAGIC_USEC, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeInt32LE(0, 8); // thiszone
  gh.writeUInt32LE(0, 12); // sigfigs
  gh.writeUInt32LE(snaplen, 16);
  gh.writeUInt32LE(linktype, 20);
  parts.push(gh);
  frames.forEach((f, i) => {
    const obj: PcapFrame = isFrameObject(f) ? f : { data: f };
    const data = Buffer.from(obj.data.buffer, obj.data.byteOffset, obj.data.byteLength);
    // Default clock: 1 ms per frame from a fixed epoch.
    const tsSec = obj.tsSec ?? DEFAULT_TS_SEC + Math.floor(i / 1000);
    const tsUsec = obj.tsUsec ?? (i % 1000) * 1000;
    if (!Number.isInteger(tsUsec) || tsUsec < 0 || tsUsec > 999_999) {
      throw new Error(`frames[${i}].tsUsec: expected an integer 0..999999, got ${tsUsec}`);
    }
    const inclLen = Math.min(data.length, snaplen);
    const origLen = obj.origLen ?? data.length;
    if (origLen < inclLen) {
      throw new Error(`frames[${i}].origLen: expected >= ${inclLen} (captured length), got ${origLen}`);
    }
    const rh = Buffer.alloc(RECORD_HEADER_LEN);
    rh.writeUInt32LE(tsSec >>> 0, 0);
    rh.writeUInt32LE(tsUsec, 4);
    rh.writeUInt32LE(inclLen, 8);
    rh.writeUInt32LE(origLen, 12);
    parts.push(rh, data.subarray(0, inclLen));
  });
  return Buffer.concat(parts);
}

export function writePcap(
  path: string,
  frames: ReadonlyArray<Buffer | Uint8Array | PcapFrame>,
  opts: PcapWriteOptions = {},
): void {
  writeFileSync(path, encodePcap(frames, opts));
}
