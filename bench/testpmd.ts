/**
 * dpdk-testpmd as a reference: interactive mode on a pipe, so the harness
 * decides when to start forwarding and when to read `show port stats all`.
 * Port 0 is the capture (net_pcap infinite_rx), port 1 the production sink
 * (net_null no-rx=1); testpmd pairs them, so every packet received on port 0
 * is sent on port 1 (io: untouched; 5tswap: MACs, IPs and ports swapped in
 * place, the closest thing to shadowtap's tap mode).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lcoresArg } from '../src/dataplane/start-plan.js';
import { removeEalLeftovers } from '../src/supervisor/runtime-dir.js';
import type { CaptureName } from './captures.js';
import type { BenchEnv, Contender, Counters, RunningContender } from './types.js';
import { capture, isAlive, niced, nowMs, reap, sleep } from './util.js';

export const TESTPMD = 'dpdk-testpmd';

interface PortStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  rxMissed: number;
  txErrors: number;
}

/** Parse the blocks of `show port stats all`. */
export function parsePortStats(text: string): Map<number, PortStats> {
  const out = new Map<number, PortStats>();
  const blocks = text.split(/#+ NIC statistics for port (\d+)\s+#+/);
  for (let i = 1; i + 1 < blocks.length; i += 2) {
    const port = Number(blocks[i]);
    const body = blocks[i + 1]!;
    const num = (re: RegExp): number => {
      const m = re.exec(body);
      return m ? Number(m[1]) : NaN;
    };
    out.set(port, {
      rxPackets: num(/RX-packets:\s+(\d+)/),
      rxBytes: num(/RX-bytes:\s+(\d+)/),
      txPackets: num(/TX-packets:\s+(\d+)/),
      rxMissed: num(/RX-missed:\s+(\d+)/),
      txErrors: num(/TX-errors:\s+(\d+)/),
    });
  }
  return out;
}

class Testpmd implements RunningContender {
  private buf = '';
  private readonly tail: string[] = [];

  constructor(
    readonly child: ChildProcess,
    private readonly env: BenchEnv,
    private readonly prefix: string,
  ) {
    const onData = (d: Buffer) => {
      const s = d.toString('utf8');
      this.buf += s;
      for (const line of s.split('\n')) if (line.trim()) this.tail.push(line);
      if (this.tail.length > 60) this.tail.splice(0, this.tail.length - 60);
      if (env.verbose) process.stderr.write(s);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }

  lastLines(n = 8): string {
    return this.tail.slice(-n).join(' | ');
  }

  /** Wait until the output after `from` matches; returns that output. */
  async waitFor(re: RegExp, from: number, timeoutMs: number, what: string): Promise<string> {
    const deadline = nowMs() + timeoutMs;
    for (;;) {
      const seen = this.buf.slice(from);
      if (re.test(seen)) return seen;
      if (!isAlive(this.child)) throw new Error(`testpmd exited while waiting for ${what}: ${this.lastLines()}`);
      if (nowMs() > deadline) throw new Error(`testpmd: no ${what} within ${timeoutMs} ms: ${this.lastLines()}`);
      await sleep(10);
    }
  }

  send(cmd: string): number {
    const at = this.buf.length;
    this.child.stdin?.write(`${cmd}\n`);
    return at;
  }

  async read(): Promise<Counters> {
    const at = this.send('show port stats all');
    // Both ports' blocks, then the prompt.
    const out = await this.waitFor(/statistics for port 1[\s\S]*#{20,}\s*\n[\s\S]*testpmd> /, at, 5000, 'port statistics');
    const atMs = nowMs();
    const stats = parsePortStats(out);
    const p0 = stats.get(0);
    const p1 = stats.get(1);
    if (!p0 || !p1 || Number.isNaN(p0.rxPackets) || Number.isNaN(p1.txPackets)) {
      throw new Error(`testpmd: cannot parse port statistics: ${out.slice(0, 300)}`);
    }
    return { atMs, inPkts: p0.rxPackets, inBytes: p0.rxBytes, outPkts: p1.txPackets, shadowPkts: 0, lostPkts: p1.txErrors };
  }

  async stop(): Promise<void> {
    if (isAlive(this.child)) {
      this.send('stop');
      this.send('quit');
      this.child.stdin?.end();
    }
    await reap(this.child, 10_000);
    removeEalLeftovers(this.prefix);
    this.buf = '';
  }
}

export function testpmdVersion(): string {
  const out = capture(TESTPMD, ['--version']);
  return /RTE Version: '([^']+)'/.exec(out)?.[1] ?? capture('pkg-config', ['--modversion', 'libdpdk']);
}

export function testpmdContender(mode: 'io' | '5tswap', captureName: CaptureName, workers: number): Contender {
  const suffix = `${captureName === 'udp64' ? '' : `-${captureName}`}${workers > 1 ? `-${workers}w` : ''}`;
  return {
    id: `testpmd-${mode}${suffix}`,
    label: `testpmd ${mode}${captureName === 'udp64' ? '' : ` (${captureName})`}${workers > 1 ? `, ${workers} cores` : ''}`,
    kind: 'testpmd',
    capture: captureName,
    workers,
    describe:
      mode === 'io'
        ? 'dpdk-testpmd --forward-mode=io: receive and send on, untouched'
        : 'dpdk-testpmd --forward-mode=5tswap: swap MACs, IPs and L4 ports in place, send on',
    async unavailable() {
      if (!capture('sh', ['-c', 'command -v stdbuf'])) return 'stdbuf not found (Debian package coreutils)';
      return capture('sh', ['-c', `command -v ${TESTPMD}`]) ? null : `${TESTPMD} not found (Debian package dpdk)`;
    },
    async start(env: BenchEnv, tag: string): Promise<RunningContender> {
      const prefix = env.prefix(tag);
      const cpus = Array.from({ length: workers }, (_, i) => (i + 1) % env.nproc);
      const pcap = `net_pcap0,${Array.from({ length: workers }, () => `rx_pcap=${env.captures[captureName].path}`).join(',')},infinite_rx=1`;
      const args = [
        '--lcores', lcoresArg(cpus, env.nproc),
        ...env.mem.ealArgs,
        '--file-prefix', prefix,
        '--no-pci',
        '--vdev', pcap,
        '--vdev', 'net_null0,no-rx=1',
        '--log-level', 'notice',
        '--',
        '-i',
        `--forward-mode=${mode}`,
        `--nb-cores=${workers}`,
        `--rxq=${workers}`,
        `--txq=${workers}`,
        '--burst=32',
        '--rxd=1024',
        '--txd=1024',
      ];
      // testpmd prints with stdio, fully buffered on a pipe: line-buffer it so
      // each `show port stats all` arrives when asked for, not at exit.
      const [cmd, argv] = niced(env.nice, 'stdbuf', ['-oL', '-eL', TESTPMD, ...args]);
      const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      env.cleanup.track(`testpmd ${tag}`, child);
      const t = new Testpmd(child, env, prefix);
      try {
        await t.waitFor(/testpmd> /, 0, 60_000, 'prompt');
        const at = t.send('start');
        await t.waitFor(/testpmd> /, at, 10_000, 'forwarding to start');
      } catch (err) {
        await t.stop();
        throw err;
      }
      return t;
    },
  };
}
