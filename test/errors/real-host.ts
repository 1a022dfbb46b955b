/**
 * The real data-plane host (dist/src/dataplane/host.js + the real addon) on
 * DPDK vdevs, for tests that make it refuse something: a paced replay of the
 * demo capture into production (port 0), production out to a sink (port 1),
 * copies to a sink (port 2). Each HostUnderTest is one process with an EAL
 * file prefix of its own; kill() always removes it, its runtime directory and
 * its scratch directory.
 */
import type { NativeStartPlan, NativePolicy, NativeStats } from '../../src/dataplane/native-types.js';
import { IDLE, MODE, ROLE, UNMAPPED } from '../../src/dataplane/native-types.js';
import { mac } from '../../src/pcap/build.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { TestHost } from '../helpers/host.js';

export { missingBuild } from '../helpers/host.js';

export interface HostUnderTestOptions {
  /** EAL arguments after the fixed ones (lcores, memory); default '-l 0,1' */
  lcores?: string[];
  memoryMb?: number;
}

/** The harness's TestHost (test/helpers/host.ts) with this port layout, forked at once. */
export class HostUnderTest extends TestHost {
  constructor(tag: string, private readonly o: HostUnderTestOptions = {}) {
    super(`err-${tag}`, { frames: buildDemoFrames() });
    this.fork();
  }

  ealArgs(): string[] {
    return this.eal({
      ...(this.o.memoryMb !== undefined ? { memoryMb: this.o.memoryMb } : {}),
      ...(this.o.lcores !== undefined ? { lcores: this.o.lcores } : {}),
      vdevs: [`net_pcap0,rx_pcap=${this.inputPath},infinite_rx=1`, 'net_null1,no-rx=1', 'net_null2,no-rx=1'],
    });
  }

/** Replay paced at 2000 packets/s: traffic that keeps flowing without taking a core. */
  startPlan(over: Partial<NativeStartPlan> = {}): NativeStartPlan {
    const port = (name: string, device: string, role: number, egress: number, rxPps = 0): NativeStartPlan['ports'][number] => ({
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

  /** Send 'start' and wait for 'started'. */
  start(startPlan: NativeStartPlan = this.startPlan(), policy?: NativePolicy) {
    return this.startWith(this.ealArgs(), startPlan, policy);
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

  /** Kill by pid, remove EAL's runtime directory and the scratch directory. */
  override async kill(): Promise<void> {
    await super.kill();
    this.dispose();
  }
}
