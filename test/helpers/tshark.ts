/**
 * The independent decoder: Wireshark's dissectors via tshark. Tests make
 * their claims about packets through this, never through shadowtap's own
 * parsing, so a bug shared by the builder and the data plane cannot hide.
 *
 * Checksum status values (Wireshark): 0 bad, 1 good, 2 unverified,
 * 3 not present (UDP over IPv4 with checksum 0), 4 illegal (UDP over IPv6
 * with checksum 0).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writePcap } from '../../src/pcap/pcap.js';

const execFileP = promisify(execFile);

export const CHECKSUM_BAD = 0;
export const CHECKSUM_GOOD = 1;
export const CHECKSUM_UNVERIFIED = 2;
export const CHECKSUM_NOT_PRESENT = 3;
export const CHECKSUM_ILLEGAL = 4;

/** Preferences that make tshark verify every checksum it can and keep one row per frame. */
export const CHECKSUM_PREFS: readonly string[] = [
  'ip.check_checksum:TRUE',
  'udp.check_checksum:TRUE',
  'tcp.check_checksum:TRUE',
  // Per-frame rows: no TCP stream reassembly moving PDUs to later frames.
  'tcp.desegment_tcp_streams:FALSE',
  'tcp.analyze_sequence_numbers:FALSE',
];

/** Fields extracted for every frame (ICMP and ICMPv6 checksums are always verified by tshark). */
export const FIELDS = [
  'frame.number',
  'frame.len',
  'frame.protocols',
  'eth.src',
  'eth.dst',
  'eth.type',
  'eth.padding',
  'ieee8021ad.id',
  'vlan.id',
  'vlan.etype',
  'ip.version',
  'ip.src',
  'ip.dst',
  'ip.hdr_len',
  'ip.len',
  'ip.id',
  'ip.ttl',
  'ip.proto',
  'ip.flags.df',
  'ip.flags.mf',
  'ip.frag_offset',
  'ip.checksum.status',
  'ip.opt.type',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'ipv6.hlim',
  'ipv6.plen',
  'ipv6.hopopts.nxt',
  'ipv6.dstopts.nxt',
  'ipv6.routing.type',
  'ipv6.routing.segleft',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.more',
  'ipv6.fraghdr.ident',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.window_size_value',
  'tcp.len',
  'tcp.checksum.status',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'udp.checksum',
  'udp.checksum.status',
  'icmp.type',
  'icmp.code',
  'icmp.ident',
  'icmp.seq',
  'icmp.checksum.status',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.echo.identifier',
  'icmpv6.echo.sequence_number',
  'icmpv6.nd.ns.target_address',
  'icmpv6.nd.na.target_address',
  'icmpv6.opt.linkaddr',
  'icmpv6.checksum.status',
  'arp.opcode',
  'arp.src.hw_mac',
  'arp.src.proto_ipv4',
  'arp.dst.hw_mac',
  'arp.dst.proto_ipv4',
  'dhcp.type',
  'dhcp.ip.client',
  'dhcp.ip.your',
  'dhcp.ip.server',
  'dhcp.hw.mac_addr',
  'dhcp.option.dhcp',
  'dhcp.option.requested_ip_address',
  'dhcp.option.dhcp_server_id',
  'dhcp.option.router',
  'dhcp.option.domain_name_server',
  'dhcp.option.ip_address_lease_time',
  '_ws.malformed',
] as const;
export type Field = (typeof FIELDS)[number];

/**
 * One decoded frame. Every field keeps all occurrences in order (an ICMP
 * error has two ip.src: outer, then the quoted packet's); the typed
 * properties are the first (outermost) occurrence.
 */
export interface TsharkPacket {
  frame: number;
  len: number;
  protocols: string[];
  ethSrc?: string;
  ethDst?: string;
  /** service tags (802.1ad) first, then 802.1Q tags, each outermost first */
  vlanIds: number[];
  ipSrc?: string;
  ipDst?: string;
  ipChecksumStatus?: number;
  ip6Src?: string;
  ip6Dst?: string;
  srcPort?: number;
  dstPort?: number;
  tcpChecksumStatus?: number;
  udpChecksumStatus?: number;
  icmpChecksumStatus?: number;
  icmpv6ChecksumStatus?: number;
  malformed: boolean;
  /** every field, every occurrence, as tshark printed it */
  fields: Record<Field, string[]>;
}

let tsharkChecked: string | undefined;

/** Path of tshark, or a thrown Error saying how to install it. */
export function requireTshark(): string {
  if (tsharkChecked !== undefined) return tsharkChecked;
  try {
    execFileSync('tshark', ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(
      'tshark is not available on PATH; the packet tests use it as the independent decoder. ' +
        'Install it with `DEBIAN_FRONTEND=noninteractive apt-get install -y tshark`. ' +
        `(${(e as Error).message})`,
    );
  }
  tsharkChecked = 'tshark';
  return tsharkChecked;
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  return v.startsWith('0x') ? parseInt(v, 16) : Number(v);
}

export interface DecodeOptions {
  /** extra -o preferences, "name:value" */
  prefs?: string[];
  /** display filter (-Y) */
  filter?: string;
}

const SEP = '\t';
const AGG = '\u0001';

/** Decode a pcap file; one row per frame, in order. */
export async function decodePcapFile(path: string, opts: DecodeOptions = {}): Promise<TsharkPacket[]> {
  const bin = requireTshark();
  const args = ['-n', '-r', path, '-T', 'fields', '-E', 'header=n', '-E', `separator=/t`, '-E', 'occurrence=a', '-E', `aggregator=${AGG}`];
  for (const p of [...CHECKSUM_PREFS, ...(opts.prefs ?? [])]) args.push('-o', p);
  if (opts.filter) args.push('-Y', opts.filter);
  for (const f of FIELDS) args.push('-e', f);
  let stdout: string;
  try {
    ({ stdout } = await execFileP(bin, args, { maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' }));
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`tshark failed on ${path}: ${err.message}\n${err.stderr ?? ''}`);
  }
  const rows: TsharkPacket[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const cols = line.split(SEP);
    const fields = {} as Record<Field, string[]>;
    FIELDS.forEach((f, i) => {
      const v = cols[i] ?? '';
      fields[f] = v === '' ? [] : v.split(AGG);
    });
    const first = (f: Field): string | undefined => fields[f][0];
    const tcpFirst = fields['tcp.srcport'].length > 0;
    rows.push({
      frame: num(first('frame.number')) ?? 0,
      len: num(first('frame.len')) ?? 0,
      protocols: (first('frame.protocols') ?? '').split(':').filter((x) => x !== ''),
      ethSrc: first('eth.src'),
      ethDst: first('eth.dst'),
      vlanIds: [...fields['ieee8021ad.id'], ...fields['vlan.id']].map((v) => Number(v)),
      ipSrc: first('ip.src'),
      ipDst: first('ip.dst'),
      ipChecksumStatus: num(first('ip.checksum.status')),
      ip6Src: first('ipv6.src'),
      ip6Dst: first('ipv6.dst'),
      srcPort: num(tcpFirst ? first('tcp.srcport') : first('udp.srcport')),
      dstPort: num(tcpFirst ? first('tcp.dstport') : first('udp.dstport')),
      tcpChecksumStatus: num(first('tcp.checksum.status')),
      udpChecksumStatus: num(first('udp.checksum.status')),
      icmpChecksumStatus: num(first('icmp.checksum.status')),
      icmpv6ChecksumStatus: num(first('icmpv6.checksum.status')),
      malformed: fields['_ws.malformed'].length > 0 || (first('frame.protocols') ?? '').includes('_ws.malformed'),
      fields,
    });
  }
  return rows;
}

/** Decode in-memory Ethernet frames (written to a temporary pcap). */
export async function decodeFrames(frames: ReadonlyArray<Buffer>, opts: DecodeOptions = {}): Promise<TsharkPacket[]> {
  const dir = mkdtempSync(join(tmpdir(), 'st-tshark-'));
  try {
    const path = join(dir, 'frames.pcap');
    writePcap(path, frames);
    return await decodePcapFile(path, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CHECKSUM_FIELDS = [
  'ip.checksum.status',
  'tcp.checksum.status',
  'udp.checksum.status',
  'icmp.checksum.status',
  'icmpv6.checksum.status',
] as const;

/** Every checksum tshark judged bad (status 0), as "frame N: field" strings; empty when all are fine. */
export function badChecksums(rows: ReadonlyArray<TsharkPacket>): string[] {
  const out: string[] = [];
  for (const r of rows) {
    for (const f of CHECKSUM_FIELDS) {
      r.fields[f].forEach((v, i) => {
        if (Number(v) === CHECKSUM_BAD) out.push(`frame ${r.frame}: ${f}[${i}] bad`);
      });
    }
  }
  return out;
}

/** Statuses of the outermost checksums present in a row, by field; absent ones are left out. */
export function checksumStatuses(r: TsharkPacket): Partial<Record<(typeof CHECKSUM_FIELDS)[number], number>> {
  const out: Partial<Record<(typeof CHECKSUM_FIELDS)[number], number>> = {};
  for (const f of CHECKSUM_FIELDS) {
    const v = r.fields[f][0];
    if (v !== undefined) out[f] = Number(v);
  }
  return out;
}
