/**
 * Fault runs on the real data plane: a capture replayed through the host
 * process (real addon, net_pcap vdevs) with a fault table armed before the
 * workers launch, waited for until every delayed copy has left, and the
 * outputs read back by tshark (frame bytes as tshark reads them, never by
 * shadowtap's own parsing).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NativeStats } from '../../src/dataplane/native-types.js';
import { checkFaults, type FaultContext } from '../../src/faults/check.js';
import { compileFaults } from '../../src/faults/compile.js';
import { FAULT_LINE, type NativeFaultStats, type NativeFaultTable } from '../../src/faults/native-types.js';
import { ether, ipv4, udp } from '../../src/pcap/build.js';
import { PolicyHost, policy, rule, session, type HostOptions } from './policy-host.js';
import { requireTshark } from './tshark.js';

const execFileP = promisify(execFile);

export const CTX: FaultContext = {
  ports: [
    { name: 'prod-in', role: 'production' },
    { name: 'prod-out', role: 'egress' },
    { name: 'shadow0', role: 'shadow' },
  ],
  sessions: new Map([[100, 0]]),
  maps: [],
  line: FAULT_LINE,
};

/** Check and compile faults as the supervisor does; throws listing the problems. */
export function faultTable(faults: unknown[], seed = 42n, generation = 1): NativeFaultTable {
  const r = checkFaults(faults, CTX);
  if (!r.faults) throw new Error(`faults refused: ${JSON.stringify(r.problems)}`);
  return compileFaults(r.faults, { seed, generation, line: FAULT_LINE }).table;
}

const M = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
/** Offset of the UDP payload in the frames below (Ethernet 14 + IPv4 20 + UDP 8). */
export const PAYLOAD_AT = 42;

/** n UDP frames, each carrying its index in the first 4 payload bytes. */
export function indexedFrames(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const payload = Buffer.alloc(32, i & 0xff);
    payload.writeUInt32BE(i, 0);
    return ether(M, ipv4({ src: `10.0.1.${1 + (i % 200)}`, dst: '10.0.2.7', id: i & 0xffff, payload: udp({ sport: 4000 + (i % 16), dport: 5000, payload }) }));
  });
}

/** The frames of a capture as tshark reads them (its frame_raw bytes). */
export async function tsharkFrames(path: string): Promise<Buffer[]> {
  requireTshark();
  const { stdout } = await execFileP('tshark', ['-r', path, '-T', 'json', '-x', '-j', 'frame'], { maxBuffer: 1 << 30 });
  const rows = JSON.parse(stdout) as { _source: { layers: { frame_raw: [string] } } }[];
  return rows.map((r) => Buffer.from(r._source.layers.frame_raw[0], 'hex'));
}

/** UDP checksum status per frame (tshark: 0 bad, 1 good). */
export async function udpChecksums(path: string): Promise<number[]> {
  const { stdout } = await execFileP('tshark', ['-r', path, '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-e', 'udp.checksum.status'], { maxBuffer: 1 << 28 });
  return stdout.split('\n').filter((l) => l !== '').map(Number);
}

export interface FaultRun {
  stats: NativeStats;
  faults: NativeFaultStats;
  /** tshark's bytes of the input, production and shadow captures */
  input: Buffer[];
  production: Buffer[];
  shadow: Buffer[];
  /** tshark's UDP checksum status of each shadow frame (0 bad, 1 good) */
  shadowUdp: number[];
  /** applied delays of slot 0, when asked for */
  samples: Float64Array | null;
  logs: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Replay `frames` once with `table` armed, wait until port 0 received them
 * all and every delayed copy left (released + nothing held), stop, read the
 * captures with tshark.
 */
export async function runFaults(frames: Buffer[], table: NativeFaultTable, opts: Partial<HostOptions> & { samples?: boolean } = {}): Promise<FaultRun> {
  const h = new PolicyHost({
    frames,
    policy: policy({ sessions: [session({ slot: 0 })], rules: [rule(0, 0)] }),
    shadowPorts: 1,
    faults: table,
    shadowPoolMbufs: 32_767,
    ...opts,
  });
  try {
    await h.start();
    const deadline = Date.now() + 240_000;
    let last = '';
    let stats: NativeStats;
    for (;;) {
      stats = await h.stats();
      const f = stats.faults!;
      const now = JSON.stringify([stats.ports.map((p) => [p.rxPackets, p.txPackets]), f.faults]);
      const done = stats.ports[0]!.rxPackets === frames.length && f.faults.every((x) => x.released === x.delayed);
      if (done && now === last) break;
      if (Date.now() > deadline) throw new Error(`fault run did not finish: ${now}\n${h.logs.slice(-20).join('\n')}`);
      last = now;
      await sleep(done ? 300 : 100);
    }
    const samples = opts.samples ? await h.faultSamples(0) : null;
    await h.stop();
    const [input, production, shadow, shadowUdp] = await Promise.all([
      tsharkFrames(h.inputPath), tsharkFrames(h.productionPath), tsharkFrames(h.shadowPaths[0]!), udpChecksums(h.shadowPaths[0]!),
    ]);
    return { stats, faults: stats.faults!, input, production, shadow, shadowUdp, samples, logs: h.logs };
  } finally {
    await h.kill();
    h.dispose();
  }
}

/** The index a frame of indexedFrames() carries (read from tshark's bytes). */
export function indexOf(frame: Buffer): number {
  return frame.readUInt32BE(PAYLOAD_AT);
}

/** |x - mean| within z standard deviations. */
export function within(x: number, mean: number, sd: number, z = 5): boolean {
  return Math.abs(x - mean) <= z * sd;
}
