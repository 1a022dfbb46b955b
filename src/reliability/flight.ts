/**
 * Reads the data plane's flight recorder (native/dataplane/flight.h) after
 * the child is gone: which worker took a fatal signal, in which stage, and
 * the packet it was working on. The file's pages belong to the file, so
 * they hold what the crash handler wrote even after a SIGSEGV.
 *
 * Nothing here trusts the file: every length is checked against the file's
 * size and the recorder's own bounds, and a file that is short, stale or
 * of another version reads as "no report", never as an exception.
 */
import { readFileSync } from 'node:fs';

export const FLIGHT_MAGIC = 0x52465453; // "STFR"
export const FLIGHT_VERSION = 1;
const HEADER = 64;
const SNAP = 256;
/** Keep in step with ST_FLIGHT_STAGE_NAMES in flight.h. */
export const STAGES = ['idle', 'rx', 'classify', 'copy', 'production', 'rewrite', 'firewall', 'encap', 'shadow_tx', 'test_crash', 'measure', 'impair', 'fault_key'] as const;
export type Stage = (typeof STAGES)[number] | 'unknown';

const SIGNALS: Record<number, string> = { 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 11: 'SIGSEGV' };

export interface FlightPacket {
  /** bytes the handler saved (at most 256, the first segment's) */
  data: Buffer;
  /** the frame's length as its mbuf said */
  pktLen: number;
  /** the quarantine signature: the frame's length and a CRC32-C of its first 128 bytes */
  signature: { len: number; crc: number };
}

export interface FlightCrash {
  pid: number;
  signal: number;
  signalName: string;
  /** worker index, or null when the signal hit a thread that is not a worker */
  worker: number | null;
  lcore: number | null;
  stage: Stage;
  time: Date;
  faultAddress: string;
  packet: FlightPacket | null;
}

/** The crash the recorder at `path` saw, or null (no file, no crash, not ours). */
export function readFlightCrash(path: string): FlightCrash | null {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return null;
  }
  return decodeFlight(buf);
}

export function decodeFlight(buf: Buffer): FlightCrash | null {
  if (buf.length < HEADER) return null;
  if (buf.readUInt32LE(0) !== FLIGHT_MAGIC || buf.readUInt32LE(4) !== FLIGHT_VERSION) return null;
  const slotSize = buf.readUInt32LE(8);
  const nbWorkers = buf.readUInt32LE(12);
  const pid = buf.readUInt32LE(16);
  const signal = buf.readInt32LE(20);
  const worker = buf.readInt32LE(24);
  const stageNo = buf.readUInt32LE(28);
  if (signal <= 0) return null;
  if (slotSize < 104 + SNAP || nbWorkers > 16) return null;
  const crash: FlightCrash = {
    pid,
    signal,
    signalName: SIGNALS[signal] ?? `signal ${signal}`,
    worker: null,
    lcore: null,
    stage: STAGES[stageNo] ?? 'unknown',
    time: new Date(Number(buf.readBigUInt64LE(32) / 1_000_000n)),
    faultAddress: `0x${buf.readBigUInt64LE(40).toString(16)}`,
    packet: null,
  };
  if (worker < 0 || worker >= nbWorkers) return crash;
  const s = HEADER + worker * slotSize;
  if (s + slotSize > buf.length) return crash;
  crash.worker = worker;
  crash.lcore = buf.readUInt16LE(s + 6);
  if (buf.readUInt32LE(s + 64) !== 1) return crash;
  const pktLen = buf.readUInt32LE(s + 88);
  const capLen = buf.readUInt32LE(s + 92);
  const sig = buf.readBigUInt64LE(s + 96);
  if (capLen > SNAP || sig === 0n) return crash;
  crash.packet = {
    data: Buffer.from(buf.subarray(s + 104, s + 104 + capLen)),
    pktLen,
    signature: { len: Number(sig >> 32n), crc: Number(sig & 0xffffffffn) },
  };
  return crash;
}

/** One line about a frame, for logs and crash reports; never throws on garbage. */
export function summarizeFrame(f: Buffer, wireLen = f.length): string {
  const parts: string[] = [`${wireLen} bytes`];
  if (f.length < 14) return `${parts[0]}, runt`;
  let off = 12;
  let type = f.readUInt16BE(off);
  let tags = 0;
  while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && off + 6 <= f.length && tags < 4) {
    off += 4;
    tags++;
    type = f.readUInt16BE(off);
  }
  if (tags > 0) parts.push(`${tags} VLAN tag${tags > 1 ? 's' : ''}`);
  const l3 = off + 2;
  const port = (o: number): string => (o + 4 <= f.length ? ` ${f.readUInt16BE(o)} > ${f.readUInt16BE(o + 2)}` : '');
  const proto = (p: number): string => ({ 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 89: 'OSPF' } as Record<number, string>)[p] ?? `proto ${p}`;
  if (type === 0x0800 && l3 + 20 <= f.length) {
    const ihl = ((f[l3] as number) & 0xf) * 4;
    const p = f[l3 + 9] as number;
    parts.push(`IPv4 ${[...f.subarray(l3 + 12, l3 + 16)].join('.')} > ${[...f.subarray(l3 + 16, l3 + 20)].join('.')} ${proto(p)}${p === 6 || p === 17 ? port(l3 + ihl) : ''}`);
  } else if (type === 0x86dd && l3 + 40 <= f.length) {
    const a = (o: number): string => Array.from({ length: 8 }, (_, i) => f.readUInt16BE(o + 2 * i).toString(16)).join(':');
    const p = f[l3 + 6] as number;
    parts.push(`IPv6 ${a(l3 + 8)} > ${a(l3 + 24)} ${proto(p)}${p === 6 || p === 17 ? port(l3 + 40) : ''}`);
  } else {
    parts.push(`ethertype 0x${type.toString(16).padStart(4, '0')}`);
  }
  return parts.join(', ');
}
