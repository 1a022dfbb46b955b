/**
 * The real data-plane host (dist/src/dataplane/host.js + the real addon) on
 * DPDK vdevs, for tests that make it refuse something: a paced replay of the
 * demo capture into production (port 0), production out to a sink (port 1),
 * copies to a sink (port 2). Each HostUnderTest is one process with an EAL
 * file prefix of its own; kill() always removes it and its runtime directory.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDLE, MODE, ROLE, UNMAPPED, type NativePlan, type NativePolicy, type NativeStats } from '../../src/dataplane/native-types.js';
import type { ToHost, WireError } from '../../src/dataplane/protocol.js';
import { mac } from '../../src/pcap/build.js';
import { writePcap } from '../../src/pcap/pcap.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { HOST_JS, HostChannel, type HostError } from '../helpers/host-channel.js';
import { ADDON } from '../helpers/policy-host.js';

/** Why these tests cannot run; they fail with it (never pass without checking). */
export function missingBuild(): string | null {
  const missing = [HOST_JS, ADDON].filter((p) => !existsSync(p));
  return missing.length ? `not built: ${missing.join(', ')} (node scripts/bootstrap.mjs --for=test)` : null;
}

let counter = 0;

export interface HostUnderTestOptions {
  /** EAL arguments after the fixed ones (lcores, memory); default '-l 0,1' */
  lcores?: string[];
  memoryMb?: number;
}

export class HostUnderTest {
  readonly prefix: string;
  readonly dir: string;
  readonly channel: HostChannel;

  constructor(tag: string, private readonly o: HostUnderTestOptions = {}) {
    this.prefix = `st-err-${tag}-${process.pid}-${counter++}`;
    this.dir = mkdtempSync(join(tmpdir(), `st-err-${tag}-`));
    writePcap(join(this.dir, 'in.pcap'), buildDemoFrames());
    this.channel = new HostChannel(this.prefix);
  }

  ealArgs(): string[] {
    return [
      'shadowtap-test', '--no-huge', '-m', String(this.o.memoryMb ?? 256), '--no-pci',
      '--file-prefix', this.prefix, ...(this.o.lcores ?? ['-l', '0,1']), '--log-level', 'lib.eal:error',
      '--vdev', `net_pcap0,rx_pcap=${join(this.dir, 'in.pcap')},infinite_rx=1`,
      '--vdev', 'net_null1,no-rx=1',
      '--vdev', 'net_null2,no-rx=1',
    ];
  }

  /** Replay paced at 2000 packets/s: traffic that keeps flowing without taking a core. */
  plan(over: Partial<NativePlan> = {}): NativePlan {
    const port = (name: string, device: string, role: number, egress: number, rxPps = 0): NativePlan['ports'][number] => ({
      name, device, role, egress, rxDesc: 256, txDesc: 256, promiscuous: false, rxPps,
    });
    return {
      mode: MODE.inline,
      unmapped: UNMAPPED.mirror,
      idle: IDLE.adaptive,
      burst: 32,
      workerLcores: [1],
      ports: [
        port('prod-in', 'net_pcap0', ROLE.production, 1, 2000),
        port('prod-out', 'net_null1', ROLE.egress, -1),
        port('shadow0', 'net_null2', ROLE.shadow, -1),
      ],
      shadowPorts: [2],
      shadowSrcMac: new Uint8Array(mac('02:5a:00:00:00:01')),
      shadowDstMac: new Uint8Array(mac('02:5a:00:00:00:02')),
      map4: [{ from: 0, to: 0, len: 0 }],
      map6: [{ from: new Uint8Array(16), to: new Uint8Array(16), len: 0 }],
      prodPoolMbufs: 0,
      shadowPoolMbufs: 0,
      ...over,
    };
  }

  async hello(): Promise<void> {
    await this.channel.waitFor('hello', null, 30_000);
  }

  /** Send 'start' and wait for 'started'. */
  async start(plan: NativePlan = this.plan(), policy?: NativePolicy): Promise<void> {
    const msg: Extract<ToHost, { type: 'start' }> = { type: 'start', id: 1, ealArgs: this.ealArgs(), plan };
    if (policy) msg.policy = policy;
    this.channel.send(msg);
    await this.channel.waitFor('started', 1, 60_000);
  }

  /**
   * Send `req` and return the 'error' it must be answered with (the wire
   * error itself); throws when it is answered with `expect` instead.
   */
  async refused<T extends Parameters<HostChannel['waitFor']>[0]>(req: ToHost, expect: T, ms = 60_000, id: number = req.id): Promise<WireError> {
    this.channel.send(req);
    try {
      await this.channel.waitFor(expect, id, ms);
    } catch (err) {
      const e = err as HostError;
      if (e.wire) return e.wire;
      throw err;
    }
    throw new Error(`'${req.type}' was not refused${this.channel.context()}`);
  }

  /**
   * Stats once production rx has moved `more` packets past `base` and more
   * copies have left than `base` shows; throws after 30 s.
   */
  async flowing(base: NativeStats | null = null, more = 20): Promise<NativeStats> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await this.channel.stats();
      const rx = s.ports[0]?.rxPackets ?? 0;
      if (rx > (base?.ports[0]?.rxPackets ?? 0) + more && s.mirrorPackets > (base?.mirrorPackets ?? 0)) return s;
      if (Date.now() > deadline) throw new Error(`traffic does not flow: ${JSON.stringify(s)}${this.channel.context()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The host's exit code (waits up to 30 s). */
  async exitCode(): Promise<number | null | 'still running'> {
    const timeout = new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000).unref());
    return Promise.race([this.channel.exited, timeout]);
  }

  /** EAL's runtime directory of this host is gone (the host removes it on every exit path it controls). */
  runtimeDirGone(): boolean {
    return !existsSync(join('/var/run/dpdk', this.prefix));
  }

  async kill(): Promise<void> {
    await this.channel.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
