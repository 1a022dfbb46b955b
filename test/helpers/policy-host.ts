/**
 * The real data-plane host (dist/src/dataplane/host.js with the real addon)
 * driven directly over its IPC protocol, for mirror-policy tests: a replay
 * source on port 0 (a finite capture, or net_pcap infinite_rx), production out
 * of port 1, and one or two shadow ports (2, 3) written to captures or sunk
 * into net_null. Policies are built with the small builders below (the flat
 * NativePolicy of src/dataplane/native-types.ts).
 *
 * A PolicyHost is the harness's TestHost (host.ts) with this port layout.
 */
import {
  ENCAP, IDLE, MODE, ROLE, RULE_ACTION, SAMPLE_MODE, UNMAPPED, UNMAPPED_RULE,
  type NativeFwRule, type NativeStartPlan, type NativePolicy, type NativePolicyStats, type NativeRule,
  type NativeSession, type NativeStats, type NativeTarget,
} from '../../src/dataplane/native-types.js';
import type { FromHost } from '../../src/dataplane/protocol.js';
import type { NativeFaultTable } from '../../src/faults/native-types.js';
import { ip4, ip6, mac } from '../../src/pcap/build.js';
import { readFrames, TestHost } from './host.js';

export { missingBuild } from './host.js';

// ---- policy builders ---------------------------------------------------------------

/** Port 0 rx: what the production replay delivers. */
export const SRC_PORT0_RX = 1 << 0;
/** Port 1 tx: production forwarded out of the egress port (inline mode). */
export const SRC_PORT1_TX = 1 << 3;

const ZERO16 = (): Uint8Array => new Uint8Array(16);

/** IPv4 CIDR as the IPv4-mapped IPv6 prefix rules carry ("10.0.1.0/24" → ::ffff:10.0.1.0/120). */
export function cidr(text: string): { addr: Uint8Array; len: number } {
  const [a = '', l = ''] = text.split('/');
  const len = Number(l);
  if (a.includes(':')) return { addr: new Uint8Array(ip6(a)), len };
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(ip4(a), 12);
  return { addr: out, len: len + 96 };
}

export interface RuleSpec {
  action?: 'accept' | 'reject';
  ethertype?: number;
  vlan?: [number, number];
  ipVersion?: 0 | 4 | 6;
  proto?: number;
  src?: string;
  dst?: string;
  sport?: [number, number];
  dport?: [number, number];
  /** [value, mask] */
  tcpFlags?: [number, number];
  signature?: number;
}

export function rule(session: number, ruleSlot: number, r: RuleSpec = {}): NativeRule {
  const src = r.src ? cidr(r.src) : { addr: ZERO16(), len: 0 };
  const dst = r.dst ? cidr(r.dst) : { addr: ZERO16(), len: 0 };
  return {
    session,
    ruleSlot,
    action: RULE_ACTION[r.action ?? 'accept'],
    ethertype: r.ethertype ?? 0,
    ethertypeMask: r.ethertype === undefined ? 0 : 0xffff,
    vlanLo: r.vlan?.[0] ?? 0,
    vlanHi: r.vlan?.[1] ?? 4096,
    ipVersion: r.ipVersion ?? 0,
    proto: r.proto ?? 0,
    protoMask: r.proto === undefined ? 0 : 0xff,
    src: src.addr,
    srcLen: src.len,
    dst: dst.addr,
    dstLen: dst.len,
    sportLo: r.sport?.[0] ?? 0,
    sportHi: r.sport?.[1] ?? 65535,
    dportLo: r.dport?.[0] ?? 0,
    dportHi: r.dport?.[1] ?? 65535,
    tcpFlags: r.tcpFlags?.[0] ?? 0,
    tcpFlagsMask: r.tcpFlags?.[1] ?? 0,
    signature: r.signature ?? -1,
  };
}

export interface SessionSpec {
  slot: number;
  target?: number;
  sources?: number;
  sample?: { mode: 'packet' | 'flow'; percent: number };
  snaplen?: number;
  ratePps?: number;
  rateBps?: number;
}

/** pct * 2^32 / 100, as the TypeScript compile does. */
export function threshold(percent: number): number {
  return Math.min(0xffffffff, Math.floor((percent * 2 ** 32) / 100));
}

export function session(s: SessionSpec): NativeSession {
  return {
    id: 100 + s.slot,
    slot: s.slot,
    target: s.target ?? 0,
    sources: s.sources ?? SRC_PORT0_RX,
    sampleMode: s.sample ? SAMPLE_MODE[s.sample.mode] : SAMPLE_MODE.all,
    sampleThreshold: s.sample ? threshold(s.sample.percent) : 0,
    snaplen: s.snaplen ?? 0,
    ratePps: s.ratePps ?? 0,
    rateBps: s.rateBps ?? 0,
  };
}

export function target(ports: number[]): NativeTarget {
  return {
    ports, encap: ENCAP.none, vlanId: 0, vlanPcp: 0, vni: 0, udpDstPort: 0,
    outerIpv6: false, outerSrc: ZERO16(), outerDst: ZERO16(),
    outerSrcMac: new Uint8Array(6), outerDstMac: new Uint8Array(6), outerTtl: 64,
  };
}

export const SHADOW_SRC_MAC = '02:5a:00:00:00:01';
export const SHADOW_DST_MAC = '02:5a:00:00:00:02';

export function policy(p: Partial<NativePolicy> & Pick<NativePolicy, 'sessions' | 'rules'>): NativePolicy {
  return {
    generation: 1,
    matchAll: false,
    targets: [target([2])],
    signatures: [],
    // Identity-free translation: everything in 0.0.0.0/0 and ::/0 maps onto
    // itself, so copies are never "unmapped" unless a test wants them to be.
    map4: [{ from: 0, to: 0, len: 0 }],
    map6: [{ from: ZERO16(), to: ZERO16(), len: 0 }],
    macMaps: [],
    defaultSrcMac: new Uint8Array(mac(SHADOW_SRC_MAC)),
    defaultDstMac: new Uint8Array(mac(SHADOW_DST_MAC)),
    unmapped: UNMAPPED_RULE.mirror,
    controlPlane: 0,
    fwEnabled: false,
    fwDefault: RULE_ACTION.accept,
    fwRules: [] as NativeFwRule[],
    ...p,
  };
}

// ---- the host --------------------------------------------------------------------

export interface HostOptions {
  frames: ReadonlyArray<Buffer>;
  /** replay the capture forever (net_pcap infinite_rx=1) */
  infinite?: boolean;
  /** where production and copies go: captures (default) or net_null sinks */
  sink?: 'pcap' | 'null';
  /** number of shadow ports (ports 2, 3) */
  shadowPorts?: 1 | 2;
  mode?: 'inline' | 'tap';
  policy?: NativePolicy;
  memoryMb?: number;
  rxPps?: number;
  burst?: number;
  /** the plan's own (default-policy) settings */
  planUnmapped?: 'drop' | 'mirror';
  /** a fault table armed before the workers launch */
  faults?: NativeFaultTable;
  /** the shadow pool's size (0: the data plane's default) */
  shadowPoolMbufs?: number;
}

export class PolicyHost extends TestHost {
  readonly productionPath: string;
  readonly shadowPaths: string[];

  constructor(private readonly opts: HostOptions) {
    super('pol', { frames: opts.frames });
    this.productionPath = this.path('prod-out.pcap');
    this.shadowPaths = [this.path('shadow-0.pcap'), this.path('shadow-1.pcap')];
  }

  startPlan(): NativeStartPlan {
    const port = (name: string, device: string, role: number, egress: number, rxPps = 0): NativeStartPlan['ports'][number] => ({
      name, device, role, egress, rxDesc: 512, txDesc: 512, promiscuous: false, rxPps,
    });
    const nShadow = this.opts.shadowPorts ?? 2;
    const mode = this.opts.mode ?? 'inline';
    const ports = [
      port('prod-in', 'net_pcap0', ROLE.production, mode === 'inline' ? 1 : -1, this.opts.rxPps ?? 0),
      port('prod-out', this.opts.sink === 'null' ? 'net_null1' : 'net_pcap1', ROLE.egress, -1),
    ];
    for (let i = 0; i < nShadow; i++) ports.push(port(`shadow${i}`, this.opts.sink === 'null' ? `net_null${2 + i}` : `net_pcap${2 + i}`, ROLE.shadow, -1));
    return {
      mode: MODE[mode],
      unmapped: UNMAPPED[this.opts.planUnmapped ?? 'mirror'],
      idle: IDLE.adaptive,
      burst: this.opts.burst ?? 32,
      workerLcores: [1],
      ports,
      shadowPorts: Array.from({ length: nShadow }, (_, i) => 2 + i),
      shadowSrcMac: new Uint8Array(mac(SHADOW_SRC_MAC)),
      shadowDstMac: new Uint8Array(mac(SHADOW_DST_MAC)),
      map4: [{ from: 0, to: 0, len: 0 }],
      map6: [{ from: new Uint8Array(16), to: new Uint8Array(16), len: 0 }],
      prodPoolMbufs: 0,
      shadowPoolMbufs: this.opts.shadowPoolMbufs ?? 0,
    };
  }

  ealArgs(): string[] {
    const nShadow = this.opts.shadowPorts ?? 2;
    const sink = (i: number, path: string): string => (this.opts.sink === 'null' ? `net_null${i},no-rx=1` : `net_pcap${i},tx_pcap=${path}`);
    const vdevs = [`net_pcap0,rx_pcap=${this.inputPath}${this.opts.infinite ? ',infinite_rx=1' : ''}`, sink(1, this.productionPath)];
    for (let i = 0; i < nShadow; i++) vdevs.push(sink(2 + i, this.shadowPaths[i] as string));
    return this.eal({ memoryMb: this.opts.memoryMb ?? 512, vdevs });
  }

  async start(): Promise<Extract<FromHost, { type: 'started' }>> {
    this.fork();
    await this.hello();
    return this.startWith(this.ealArgs(), this.startPlan(), this.opts.policy, this.opts.faults);
  }

  /** Wait for a reply; an 'error' reply with the same id is thrown as an Error carrying code and field. */
  waitFor<T extends FromHost['type']>(type: T, id: number | null, ms: number): Promise<Extract<FromHost, { type: T }>> {
    return this.channel.waitFor(type, id, ms);
  }

  /** Install a fault table in the running data plane. */
  async setFaults(table: NativeFaultTable): Promise<{ generation: number; warnings: string[] }> {
    const id = this.channel.id();
    this.channel.send({ type: 'setFaults', id, table });
    const r = await this.waitFor('faultsSet', id, 30_000);
    return { generation: r.generation, warnings: r.warnings };
  }

  /** The applied delays (ns) recorded for one fault slot. */
  async faultSamples(slot: number): Promise<Float64Array> {
    const id = this.channel.id();
    this.channel.send({ type: 'faultSamples', id, slot });
    return (await this.waitFor('faultSamples', id, 30_000)).samples;
  }

  /** Until port 0 has received `n` packets and the counters stop moving. */
  override settle(n: number, timeoutMs: number | { timeoutMs?: number; exact?: boolean } = 60_000): Promise<NativeStats> {
    return super.settle(n, typeof timeoutMs === 'number' ? { timeoutMs } : timeoutMs);
  }

  /** Stop (the host must exit with code 0), then kill whatever is left. */
  override async stop(): Promise<void> {
    try {
      await super.stop();
    } finally {
      await this.kill();
    }
  }

  production(): Buffer[] {
    return readFrames(this.productionPath);
  }

  shadow(i = 0): Buffer[] {
    return readFrames(this.shadowPaths[i] as string);
  }
}

export interface RunResult {
  stats: NativeStats;
  policy: NativePolicyStats;
  production: Buffer[];
  shadow: Buffer[][];
  logs: string[];
}

/** Start with `policy`, replay `frames` once, wait for the counters to settle, stop, read the captures. */
export async function runPolicy(frames: ReadonlyArray<Buffer>, p: NativePolicy | undefined, opts: Partial<HostOptions> = {}): Promise<RunResult> {
  const h = new PolicyHost({ ...opts, frames, ...(p ? { policy: p } : {}) });
  try {
    await h.start();
    const stats = await h.settle(frames.length);
    const pol = await h.policyStats();
    await h.stop();
    return { stats, policy: pol, production: h.production(), shadow: [h.shadow(0), h.shadow(1)], logs: h.logs };
  } finally {
    await h.kill();
    h.dispose();
  }
}
