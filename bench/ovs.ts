/**
 * Open vSwitch with DPDK (Debian's openvswitch-switch-dpdk) as a peer: its own
 * ovsdb and run directory under a temporary folder, the DPDK build of
 * ovs-vswitchd called by path (the system alternative is left alone), the
 * same vdevs and memory mode as everyone, the PMD thread on CPU 1.
 *
 * Ports: p0 (ofport 1) = capture, p1 (2) = production sink, p2 (3) = shadow
 * sink. Variants:
 *  - mirror:  in_port=1 → output:2, plus a Mirror selecting all ingress of p0
 *             with output port p2;
 *  - rewrite: in_port=1 → output:2, then (IPv4 inside 10.0.0.0/16 both ways)
 *             shadow MACs, source and destination moved to 10.200.0.0/16 with
 *             load: on bits 16..31 (OpenFlow 1.0 would silently drop a
 *             set_field mask), output:3.
 * After configuration the datapath is purged (`revalidator/purge`):
 * `dpctl/del-flows` alone leaves the ukeys behind and every later upcall
 * fails ("ukey installation fails"), which would measure the slow path.
 * Rates come from `ovs-ofctl dump-ports` (the database's statistics refresh
 * only every 5 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeEalLeftovers } from '../src/supervisor/runtime-dir.js';
import { BENCH_MAP4, SHADOW_MAC, SHADOW_PREFIX_HI16 } from './captures.js';
import type { BenchEnv, Contender, Counters, RunningContender } from './types.js';
import { capture, isAlive, niced, nowMs, reap, run, runOk, sleep } from './util.js';

export const OVS_VSWITCHD_DPDK = '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk';
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export function ovsVersion(): string {
  const out = capture(OVS_VSWITCHD_DPDK, ['--version']);
  return /\(Open vSwitch\)\s+(\S+)/.exec(out)?.[1] ?? '';
}

interface PortCounters {
  rxPkts: number;
  rxBytes: number;
  rxDrop: number;
  txPkts: number;
  txDrop: number;
}

/** Parse `ovs-ofctl dump-ports` (OpenFlow 1.0 text). */
export function parseDumpPorts(text: string): Map<string, PortCounters> {
  const out = new Map<string, PortCounters>();
  const re = /port\s+(\S+?):\s+rx pkts=(\d+), bytes=(\d+), drop=(\d+)[^\n]*\n\s+tx pkts=(\d+), bytes=\d+, drop=(\d+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.set(m[1]!, { rxPkts: Number(m[2]), rxBytes: Number(m[3]), rxDrop: Number(m[4]), txPkts: Number(m[5]), txDrop: Number(m[6]) });
  }
  return out;
}

class Ovs implements RunningContender {
  private db: ChildProcess | null = null;
  private vswitchd: ChildProcess | null = null;
  private readonly dir: string;
  private readonly ovsEnv: NodeJS.ProcessEnv;
  private readonly prefix: string;
  private readonly tail: string[] = [];

  constructor(
    private readonly env: BenchEnv,
    private readonly tag: string,
  ) {
    this.dir = mkdtempSync(join(env.tmp, 'ovs-'));
    this.prefix = env.prefix(tag);
    // Everything OVS would put under /var/run, /var/log, /etc goes into our folder.
    this.ovsEnv = { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir, OVS_SYSCONFDIR: this.dir };
  }

  private get dbSock(): string {
    return `unix:${join(this.dir, 'db.sock')}`;
  }
  private get mgmt(): string {
    return `unix:${join(this.dir, 'br0.mgmt')}`;
  }

  vsctl(...args: string[]): Promise<string> {
    return runOk('ovs-vsctl', [`--db=${this.dbSock}`, '--timeout=60', ...args], { env: this.ovsEnv, timeoutMs: 70_000 });
  }
  ofctl(...args: string[]): Promise<string> {
    return runOk('ovs-ofctl', [args[0]!, this.mgmt, ...args.slice(1)], { env: this.ovsEnv });
  }
  appctl(target: 'vswitchd' | 'ovsdb-server', ...args: string[]): Promise<string> {
    return runOk('ovs-appctl', ['-t', join(this.dir, `${target}.ctl`), ...args], { env: this.ovsEnv });
  }

  private spawnLogged(name: string, cmd: string, args: string[]): ChildProcess {
    const [c, argv] = niced(this.env.nice, cmd, args);
    const child = spawn(c, argv, { env: this.ovsEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    this.env.cleanup.track(`${name} ${this.tag}`, child);
    const keep = (d: Buffer) => {
      for (const line of d.toString('utf8').split('\n')) if (line.trim()) this.tail.push(`${name}: ${line}`);
      if (this.tail.length > 30) this.tail.splice(0, this.tail.length - 30);
      if (this.env.verbose) process.stderr.write(d);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return child;
  }

  lastLines(): string {
    return this.tail.slice(-5).join(' | ');
  }

  async start(variant: 'mirror' | 'rewrite'): Promise<void> {
    const d = this.dir;
    await runOk('ovsdb-tool', ['create', join(d, 'conf.db'), SCHEMA], { env: this.ovsEnv });
    this.db = this.spawnLogged('ovsdb-server', 'ovsdb-server', [
      join(d, 'conf.db'),
      `--remote=punix:${join(d, 'db.sock')}`,
      `--pidfile=${join(d, 'ovsdb-server.pid')}`,
      `--unixctl=${join(d, 'ovsdb-server.ctl')}`,
      `--log-file=${join(d, 'ovsdb-server.log')}`,
    ]);
    for (let i = 0; i < 100 && !existsSync(join(d, 'db.sock')); i++) await sleep(50);
    if (!existsSync(join(d, 'db.sock'))) throw new Error(`ovsdb-server did not create its socket: ${this.lastLines()}`);

    const cap = this.env.captures.udp64.path;
    // Like every contender: the memory mode's EAL args, our own file prefix.
    // --no-huge needs --legacy-mem here (OVS adds --in-memory otherwise).
    const mem = this.env.mem.hugepages ? this.env.mem.ealArgs : [...this.env.mem.ealArgs, '--legacy-mem'];
    const extra = [
      ...mem,
      '--file-prefix', this.prefix,
      '--no-pci',
      '--vdev', `net_pcap0,rx_pcap=${cap},infinite_rx=1`,
      '--vdev', 'net_null0,no-rx=1',
      '--vdev', 'net_null1,no-rx=1',
    ].join(' ');
    await this.vsctl('--no-wait', 'init');
    // No dpdk-lcore-mask: OVS then initialises EAL on the lowest CPU of its
    // affinity and gives the main thread its whole affinity back afterwards,
    // so it floats over every CPU like shadowtap's and testpmd's main lcore
    // (0@(0-N)); only the forwarding thread is pinned (pmd-cpu-mask, CPU 1).
    // Seen on a 2-CPU VM: the main thread and OVS's own helpers on CPUs 0-1,
    // pmd-c01 on 1; EAL's few control threads (interrupts, multi-process,
    // telemetry) stay on CPU 1, where OVS had EAL start.
    await this.vsctl(
      '--no-wait', 'set', 'Open_vSwitch', '.',
      'other_config:dpdk-init=true',
      `other_config:pmd-cpu-mask=0x2`,
      `other_config:dpdk-extra=${extra}`,
    );
    this.vswitchd = this.spawnLogged('ovs-vswitchd', OVS_VSWITCHD_DPDK, [
      this.dbSock,
      `--pidfile=${join(d, 'vswitchd.pid')}`,
      `--unixctl=${join(d, 'vswitchd.ctl')}`,
      `--log-file=${join(d, 'vswitchd.log')}`,
      '-vconsole:off',
    ]);
    await this.vsctl('wait-until', 'Open_vSwitch', '.', 'dpdk_initialized=true').catch((err: Error) => {
      throw new Error(`ovs-vswitchd did not initialise DPDK: ${err.message} ${this.lastLines()}`);
    });
    await this.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'fail_mode=secure');
    await this.vsctl(
      'add-port', 'br0', 'p0', '--', 'set', 'Interface', 'p0', 'type=dpdk', 'options:dpdk-devargs=net_pcap0', 'ofport_request=1',
      '--', 'add-port', 'br0', 'p1', '--', 'set', 'Interface', 'p1', 'type=dpdk', 'options:dpdk-devargs=net_null0', 'ofport_request=2',
      '--', 'add-port', 'br0', 'p2', '--', 'set', 'Interface', 'p2', 'type=dpdk', 'options:dpdk-devargs=net_null1', 'ofport_request=3',
    );
    await this.ofctl('del-flows');
    if (variant === 'mirror') {
      await this.ofctl('add-flow', 'priority=10,in_port=1,actions=output:2');
      await this.vsctl(
        '--', '--id=@p0', 'get', 'Port', 'p0',
        '--', '--id=@p2', 'get', 'Port', 'p2',
        '--', '--id=@m', 'create', 'Mirror', 'name=shadow', 'select-src-port=@p0', 'output-port=@p2',
        '--', 'set', 'Bridge', 'br0', 'mirrors=@m',
      );
    } else {
      const [net, len] = BENCH_MAP4.from.split('/');
      const hi = `0x${SHADOW_PREFIX_HI16.toString(16).padStart(4, '0')}`;
      await this.ofctl(
        'add-flow',
        `priority=20,ip,in_port=1,nw_src=${net}/${len},nw_dst=${net}/${len},actions=output:2,` +
          `mod_dl_src:${SHADOW_MAC.src},mod_dl_dst:${SHADOW_MAC.dst},` +
          `load:${hi}->NXM_OF_IP_SRC[16..31],load:${hi}->NXM_OF_IP_DST[16..31],output:3`,
      );
      await this.ofctl('add-flow', 'priority=10,in_port=1,actions=output:2');
    }
    await this.ofctl('add-flow', 'priority=0,actions=drop');
    // Flows cached before the last change (and their ukeys) must go.
    await this.appctl('vswitchd', 'revalidator/purge');
  }

  async read(): Promise<Counters> {
    const out = await this.ofctl('dump-ports');
    const atMs = nowMs();
    const ports = parseDumpPorts(out);
    const p0 = ports.get('1');
    const p1 = ports.get('2');
    const p2 = ports.get('3');
    if (!p0 || !p1 || !p2) throw new Error(`ovs-ofctl dump-ports: cannot find ports 1-3 in: ${out.slice(0, 300)}`);
    return { atMs, inPkts: p0.rxPkts, inBytes: p0.rxBytes, outPkts: p1.txPkts, shadowPkts: p2.txPkts, lostPkts: p1.txDrop + p0.rxDrop };
  }

  async stop(): Promise<void> {
    if (this.vswitchd && isAlive(this.vswitchd)) {
      await run('ovs-appctl', ['-t', join(this.dir, 'vswitchd.ctl'), 'exit'], { env: this.ovsEnv, timeoutMs: 10_000 });
      await reap(this.vswitchd, 10_000);
    }
    if (this.db && isAlive(this.db)) {
      await run('ovs-appctl', ['-t', join(this.dir, 'ovsdb-server.ctl'), 'exit'], { env: this.ovsEnv, timeoutMs: 5_000 });
      await reap(this.db, 5_000);
    }
    removeEalLeftovers(this.prefix);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function ovsContender(variant: 'mirror' | 'rewrite'): Contender {
  return {
    id: `ovs-${variant}`,
    label: variant === 'mirror' ? 'OVS-DPDK Mirror' : 'OVS-DPDK mirror + rewrite',
    kind: 'ovs',
    capture: 'udp64',
    workers: 1,
    describe:
      variant === 'mirror'
        ? 'Open vSwitch (DPDK datapath): OpenFlow forward to production + a Mirror of all ingress to the shadow port'
        : 'Open vSwitch (DPDK datapath): OpenFlow forward to production, then shadow MACs, source/destination moved to the shadow prefix, output to the shadow port',
    async unavailable() {
      if (!existsSync(OVS_VSWITCHD_DPDK)) return `${OVS_VSWITCHD_DPDK} not found (Debian package openvswitch-switch-dpdk)`;
      for (const tool of ['ovsdb-tool', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl']) {
        if (!capture('sh', ['-c', `command -v ${tool}`])) return `${tool} not found (Debian package openvswitch-switch)`;
      }
      return existsSync(SCHEMA) ? null : `${SCHEMA} not found`;
    },
    async start(env, tag) {
      const o = new Ovs(env, tag);
      try {
        await o.start(variant);
      } catch (err) {
        const why = `${(err as Error).message} ${o.lastLines()}`;
        await o.stop();
        throw new Error(why);
      }
      return o;
    },
  };
}
