/**
 * shadowtap's data plane under test: the real data-plane host process
 * (dist/src/dataplane/host.js, as the supervisor forks it), driven over its
 * IPC protocol (src/dataplane/protocol.ts) with a plan compiled from a
 * validated config by the real compiler (src/dataplane/start-plan.ts).
 *
 * Ports: 0 prod-in (net_pcap infinite_rx), 1 prod-out (net_null sink, inline
 * only), last shadow0 (net_null sink). Workers are busy-polling, pinned on
 * CPU 1 (and CPU 0 for the second worker); the main lcore floats, as in
 * production.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { compileStartPlan } from '../src/dataplane/start-plan.js';
import type { Config } from '../src/config/schema.js';
import type { NativeStartPlan, NativePolicy, NativePolicyStats, NativeStats } from '../src/dataplane/native-types.js';
import type { FromHost, ToHost } from '../src/dataplane/protocol.js';
import { validateConfig } from '../src/config/load.js';
import { tryLoadNative } from '../src/native/loader.js';
import { removeEalLeftovers } from '../src/supervisor/runtime-dir.js';
import { BENCH_MAP4, SHADOW_MAC, type CaptureName } from './captures.js';
import { FAULT_SCENARIOS, faultTableFor } from './faults.js';
import type { NativeFaultTable } from '../src/faults/native-types.js';
import { buildPolicy, type PolicyOptions } from './policy.js';
import type { BenchEnv, Contender, Counters, RunningContender } from './types.js';
import { isAlive, nowMs, reap } from './util.js';

type Request = ToHost extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

export interface Scenario {
  id: string;
  label: string;
  describe: string;
  capture: CaptureName;
  workers: number;
  mode: 'inline' | 'tap';
  /** a shadow port at all (forward-only has none) */
  shadow: boolean;
  translate: boolean;
  unmapped: 'drop' | 'mirror';
  /** scenarios that need the policy engine */
  policy?: PolicySpec;
  /** a fault scenario (bench/faults.ts): its table is armed before the workers launch */
  faults?: boolean;
  /** the measure stage and its detectors on (docs/measurement.md) */
  measure?: boolean;
}

type PolicySpec = Pick<PolicyOptions, 'rules' | 'samplePct' | 'snaplen' | 'encap'>;

export interface BuiltPlan {
  ealArgs: string[];
  plan: NativeStartPlan;
  config: Config;
  prodIn: number;
  prodOut: number | null;
  shadow: number | null;
  faults: boolean;
}

/**
 * A scenario's sessions and targets in the config's own spelling
 * (src/policy/schema.ts): one session on prod-in rx, to one target.
 * "one" rule is not a catch-all (accept udp src 10.0.0.0/16: every packet
 * of the udp64 capture matches it, but the data plane must test it) and has
 * the same shape as each of the 1,000 (UDP from the production /16 to a
 * /26), so only the count differs; "all" is one rule that matches
 * everything (no filter fields: the short path's shape).
 */
export function policySections(p: PolicySpec): Record<string, unknown> {
  const filters =
    p.rules === 'all'
      ? [{ action: 'accept' }]
      : p.rules === 'one'
      ? [{ action: 'accept', protocol: 'udp', src: BENCH_MAP4.from }]
      : Array.from({ length: 1000 }, (_, i) => ({ action: 'accept', protocol: 'udp', src: BENCH_MAP4.from, dst: `10.0.${i >> 2}.${(i & 3) * 64}/26` }));
  const target =
    p.encap === 'vxlan'
      ? { name: 'shadow', ports: ['shadow0'], encap: { vxlan: { vni: 4242, outer: { src: '192.0.2.1', dst: '192.0.2.2' } } } }
      : { name: 'shadow', ports: ['shadow0'] };
  const session: Record<string, unknown> = { id: 1, sources: [{ port: 'prod-in', direction: 'rx' }], filters, target: 'shadow' };
  if (p.samplePct !== undefined && p.samplePct < 100) session['sample'] = { percent: p.samplePct, mode: 'flow' };
  if (p.snaplen) session['snaplen'] = p.snaplen;
  return { targets: [target], sessions: [session] };
}

type CompilePolicyFn = (config: Config, options?: { generation?: number }) => { native: NativePolicy };
let compiler: Promise<CompilePolicyFn | null> | null = null;

/**
 * The project's policy compiler (src/policy/compile.ts), when this checkout
 * has it; imported at run time so the harness still builds without it.
 */
export function policyCompiler(): Promise<CompilePolicyFn | null> {
  compiler ??= (async () => {
    try {
      const path = '../src/policy/compile.js';
      const mod = (await import(path)) as Record<string, unknown>;
      return typeof mod['compilePolicy'] === 'function' ? (mod['compilePolicy'] as CompilePolicyFn) : null;
    } catch {
      return null;
    }
  })();
  return compiler;
}

/**
 * The policy a scenario starts with, as the supervisor would send it: compiled
 * from the config by src/policy/compile.ts when the addon has the policy
 * engine (every scenario with a shadow port, the default session included),
 * else none. Falls back to bench/policy.ts's direct NativePolicy only when the
 * addon has the engine but the TypeScript compiler is missing.
 */
export async function scenarioPolicy(s: Scenario, built: BuiltPlan, generation = 1, spec = s.policy): Promise<{ policy?: NativePolicy; how: string }> {
  if (policySupport() !== null || built.shadow === null) return { how: 'no policy (plan only)' };
  const compile = await policyCompiler();
  if (compile) {
    const config = spec === s.policy ? built.config : (validateConfig({ ...configInput(s, built.config), ...policySections(spec!) }) as Config);
    return { policy: compile(config, { generation }).native, how: 'policy compiled by src/policy/compile.ts' };
  }
  if (!spec) return { how: 'no policy (no policy compiler in this build)' };
  return {
    policy: buildPolicy({ ...spec, generation, prodIn: built.prodIn, shadow: built.shadow, map4: built.plan.map4 }),
    how: 'policy built directly by bench/policy.ts (no policy compiler in this build)',
  };
}

function configInput(_s: Scenario, config: Config): Record<string, unknown> {
  const c = structuredClone(config) as unknown as Record<string, unknown>;
  delete c['sessions'];
  delete c['targets'];
  return c;
}

/** Config → EAL args and plan, through the project's own validation and compiler. */
export function buildPlan(env: BenchEnv, s: Scenario, filePrefix: string): BuiltPlan {
  const cap = env.captures[s.capture].path;
  // One rx queue per worker: net_pcap gives a queue per rx_pcap argument.
  const pcap = `net_pcap0,${Array.from({ length: s.workers }, () => `rx_pcap=${cap}`).join(',')},infinite_rx=1`;
  const ports: Record<string, unknown>[] = [
    s.mode === 'inline'
      ? { name: 'prod-in', device: pcap, role: 'production', egress: 'prod-out' }
      : { name: 'prod-in', device: pcap, role: 'production' },
  ];
  if (s.mode === 'inline') ports.push({ name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' });
  // The schema insists on a shadow port; forward-only drops it from the plan below.
  ports.push({ name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow' });
  // compile.ts adds -m (and --no-huge without hugepages); our mount and unlinking come on top.
  const extra = env.mem.hugeDir ? ['--huge-dir', env.mem.hugeDir, '--huge-unlink'] : [];
  const config = validateConfig(
    {
      mode: s.mode,
      dataplane: {
        workers: s.workers,
        cores: Array.from({ length: s.workers }, (_, i) => (i + 1) % env.nproc),
        idle: 'busy',
        burst: 32,
        eal: { hugepages: env.mem.hugepages, memory_mb: env.mem.memoryMb, log_level: 'notice', extra_args: extra },
        // Delayed copies hold their mbufs: room for a full delay line.
        ...(s.faults ? { mempool: { shadow_mbufs: 65_535 } } : {}),
      },
      ports,
      shadow: { mac: { ...SHADOW_MAC } },
      translate: { ipv4: s.translate ? [{ ...BENCH_MAP4 }] : [], ipv6: [], unmapped: s.unmapped },
      run_dir: join(env.tmp, 'run'),
      ...(s.policy ? policySections(s.policy) : {}),
      ...(s.measure ? { measurement: { enabled: true } } : {}),
    },
    { source: `bench scenario ${s.id}` },
  );
  const { ealArgs, native: startPlan } = compileStartPlan(config, { filePrefix, nproc: env.nproc, programName: 'shadowtap-bench' });
  let shadow: number | null = ports.length - 1;
  if (!s.shadow) {
    // Forward only: no shadow port at all, so the workers make no copies.
    const vdev = ealArgs.indexOf('net_null1,no-rx=1');
    if (vdev > 0) ealArgs.splice(vdev - 1, 2);
    startPlan.ports = startPlan.ports.slice(0, shadow);
    startPlan.shadowPorts = [];
    shadow = null;
  }
  return { ealArgs, plan: startPlan, config, prodIn: 0, prodOut: s.mode === 'inline' ? 1 : null, shadow, faults: s.faults === true };
}

/** Whether the addon in this checkout has the policy engine. */
export function policySupport(): string | null {
  const loaded = tryLoadNative();
  if ('error' in loaded) return `the native addon does not load: ${loaded.error.message.split('\n')[0]}`;
  const b = loaded.binding as unknown as Record<string, unknown>;
  return typeof b['policyInstall'] === 'function' ? null : 'the addon has no policyInstall (policy engine not in this build)';
}

/** One data-plane host process, spoken to as the supervisor does. */
export class HostProcess {
  readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private nextId = 1;
  private readonly waiters = new Map<number, (m: FromHost) => void>();
  private hello: Promise<void>;

  constructor(env: BenchEnv, name: string) {
    const hostPath = join(env.root, 'dist', 'src', 'dataplane', 'host.js');
    // `nice -n N node host.js`: nice execs node, which keeps the IPC channel.
    const wrap = env.nice === 0 ? {} : { execPath: 'nice', execArgv: ['-n', String(env.nice), process.execPath] };
    this.child = fork(hostPath, [], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [], ...wrap });
    env.cleanup.track(name, this.child);
    const keep = (d: Buffer) => {
      for (const line of d.toString('utf8').split('\n')) if (line.trim()) this.tail.push(line);
      if (this.tail.length > 40) this.tail.splice(0, this.tail.length - 40);
      if (env.verbose) process.stderr.write(d);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.hello = new Promise((resolve, reject) => {
      this.child.on('message', (m: FromHost) => {
        if (m.type === 'hello') resolve();
        else if (m.type === 'log') {
          if (m.level === 'error' || m.level === 'warn') this.tail.push(`${m.level}: ${m.msg}${m.data ? ` ${JSON.stringify(m.data).slice(0, 300)}` : ''}`);
          if (env.verbose) process.stderr.write(`[host ${m.level}] ${m.msg}\n`);
        } else if ('id' in m) {
          const w = this.waiters.get(m.id);
          if (w) {
            this.waiters.delete(m.id);
            w(m);
          } else if (m.type === 'error') {
            this.tail.push(`error: ${m.error.code}: ${m.error.message}`);
          }
        }
      });
      this.child.once('exit', (code, signal) => {
        reject(new Error(`data-plane host exited (${signal ?? code}) before saying hello: ${this.lastLines()}`));
        for (const [id, w] of this.waiters) {
          this.waiters.delete(id);
          w({ type: 'error', id, error: { code: 'ST_ERR_DATAPLANE_EXIT', message: `host exited (${signal ?? code}): ${this.lastLines()}`, field: '', errnum: 0 } });
        }
      });
    });
    this.hello.catch(() => undefined);
  }

  lastLines(n = 6): string {
    return this.tail.slice(-n).join(' | ');
  }

  request(req: Request, timeoutMs: number): Promise<FromHost> {
    return new Promise((resolve, reject) => {
      if (!isAlive(this.child) || !this.child.connected) {
        reject(new Error(`data-plane host is gone; cannot send ${req.type}: ${this.lastLines()}`));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new Error(`data-plane host did not answer ${req.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(id, (m) => {
        clearTimeout(timer);
        if (m.type === 'error') reject(new Error(`${req.type}: ${m.error.code}: ${m.error.message}${m.error.field ? ` (field ${m.error.field})` : ''}`));
        else resolve(m);
      });
      this.child.send({ ...req, id } as ToHost);
    });
  }

  async start(ealArgs: string[], startPlan: NativeStartPlan, policy?: NativePolicy, faults?: NativeFaultTable): Promise<void> {
    await this.hello;
    const m = await this.request({ type: 'start', ealArgs, plan: startPlan, ...(policy ? { policy } : {}), ...(faults ? { faults } : {}) }, 120_000);
    if (m.type !== 'started') throw new Error(`expected "started", got "${m.type}"`);
  }

  async stats(): Promise<NativeStats> {
    const m = await this.request({ type: 'stats' }, 10_000);
    if (m.type !== 'stats') throw new Error(`expected "stats", got "${m.type}"`);
    return m.stats;
  }

  async policy(policy: NativePolicy, timeoutMs = 60_000): Promise<{ generation: number; applyMs: number }> {
    const m = await this.request({ type: 'policy', policy }, timeoutMs);
    if (m.type !== 'policyInstalled') throw new Error(`expected "policyInstalled", got "${m.type}"`);
    return { generation: m.generation, applyMs: m.applyMs };
  }

  async policyStats(): Promise<NativePolicyStats> {
    const m = await this.request({ type: 'policyStats' }, 10_000);
    if (m.type !== 'policyStats') throw new Error(`expected "policyStats", got "${m.type}"`);
    return m.stats;
  }

  async stop(): Promise<void> {
    if (isAlive(this.child) && this.child.connected) {
      await this.request({ type: 'stop' }, 20_000).catch(() => undefined);
    }
    if (this.child.connected) this.child.disconnect();
    await reap(this.child, 10_000);
  }
}

export class RunningShadowtap implements RunningContender {
  constructor(
    readonly host: HostProcess,
    readonly built: BuiltPlan,
    private readonly prefix: string,
    readonly detail: string,
  ) {}

  async read(): Promise<Counters> {
    const s = await this.host.stats();
    const atMs = nowMs();
    const { prodIn, prodOut, shadow } = this.built;
    const pin = s.ports[prodIn]!;
    const pout = prodOut === null ? null : s.ports[prodOut]!;
    return {
      atMs,
      inPkts: pin.rxPackets,
      inBytes: pin.rxBytes,
      outPkts: pout ? pout.txPackets : 0,
      shadowPkts: shadow === null ? 0 : s.ports[shadow]!.txPackets,
      // Production refused at egress or missed at rx, and copies the shadow
      // port refused (a shadow side that cannot keep up is loss too).
      lostPkts: (pout ? pout.txDropped : 0) + pin.hwImissed + (shadow === null ? 0 : s.ports[shadow]!.txDropped),
      ...(s.faults && this.built.faults
        ? { releaseErrCounts: s.faults.releaseErrorHist.counts, faultOverflowed: s.faults.faults.reduce((a, f) => a + f.overflowed, 0) }
        : {}),
    };
  }

  async stop(): Promise<void> {
    await this.host.stop();
    removeEalLeftovers(this.prefix);
  }
}

export async function startShadowtap(env: BenchEnv, s: Scenario, tag: string): Promise<RunningShadowtap> {
  const prefix = env.prefix(tag);
  const built = buildPlan(env, s, prefix);
  const { policy, how } = await scenarioPolicy(s, built);
  const host = new HostProcess(env, `shadowtap ${tag}`);
  try {
    await host.start(built.ealArgs, built.plan, policy, s.faults ? faultTableFor(s.id) : undefined);
  } catch (err) {
    await host.stop();
    removeEalLeftovers(prefix);
    throw new Error(`${(err as Error).message}${host.lastLines() ? ` [host: ${host.lastLines()}]` : ''}`);
  }
  return new RunningShadowtap(host, built, prefix, how);
}

export const SCENARIOS: Scenario[] = [
  { id: 'st-fwd', label: 'shadowtap forward only', describe: 'inline, no shadow port: receive and forward to production', capture: 'udp64', workers: 1, mode: 'inline', shadow: false, translate: false, unmapped: 'drop' },
  { id: 'st-mirror', label: 'shadowtap + 100 % mirror', describe: 'inline forward + a full copy of every packet to the shadow port (shadow MACs, no translation)', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: false, unmapped: 'mirror' },
  { id: 'st-mirror-xlate', label: 'shadowtap + mirror + translate', describe: 'inline forward + copy with 10.0.0.0/16 → 10.200.0.0/16 on source and destination, checksums updated', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop' },
  { id: 'st-meas-xlate', label: 'shadowtap mirror + translate + measure', describe: 'st-mirror-xlate with the measure stage and its detectors on (docs/measurement.md)', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', measure: true },
  { id: 'st-measure', label: 'shadowtap forward + measure', describe: 'st-fwd with the measure stage and its detectors on: the measure stage alone', capture: 'udp64', workers: 1, mode: 'inline', shadow: false, translate: false, unmapped: 'drop', measure: true },
  { id: 'st-tap', label: 'shadowtap tap mode', describe: 'tap: the input is already a copy, translated in place and sent to the shadow port', capture: 'udp64', workers: 1, mode: 'tap', shadow: true, translate: true, unmapped: 'drop' },
  { id: 'st-acl1', label: 'shadowtap policy, 1 rule (not a catch-all)', describe: 'mirror + translate through the policy engine, one session with one rule that is not a catch-all: accept udp src 10.0.0.0/16 (every packet of the capture matches it; the data plane tests it on each)', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', policy: { rules: 'one' } },
  { id: 'st-catchall1', label: 'shadowtap policy, 1 catch-all rule', describe: 'as st-acl1 with one rule that matches everything (accept, no filter fields): decided without a classifier', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', policy: { rules: 'all' } },
  { id: 'st-acl1000', label: 'shadowtap policy, 1,000 rules', describe: 'as above with 1,000 ACL rules (UDP, src /16, one dst /26 each; every packet matches one)', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', policy: { rules: 'thousand' } },
  { id: 'st-sample10', label: 'shadowtap 10 % flow sampling', describe: 'policy, one rule (as st-acl1), 10 % of flows (symmetric 5-tuple hash) mirrored', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', policy: { rules: 'one', samplePct: 10 } },
  { id: 'st-sample0', label: 'shadowtap 0 % flow sampling', describe: 'st-sample10 at 0 %: the same shadow port, rule and sampling machinery, nothing mirrored (the sampling baseline)', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', policy: { rules: 'one', samplePct: 0 } },
  { id: 'st-vxlan', label: 'shadowtap + VXLAN encap', describe: 'policy, one rule, copies translated and VXLAN-encapsulated (VNI 4242, outer IPv4/UDP 4789)', capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', policy: { rules: 'one', encap: 'vxlan' } },
  { id: 'st-imix', label: 'shadowtap mirror + translate (IMIX)', describe: 'mirror + translate on the IMIX capture (full copies)', capture: 'imix', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop' },
  { id: 'st-trunc128', label: 'shadowtap + truncate 128 B (IMIX)', describe: 'policy, one rule, copies cut to 128 bytes, on the IMIX capture', capture: 'imix', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', policy: { rules: 'one', snaplen: 128 } },
  { id: 'st-ctrl', label: 'shadowtap control-plane mix', describe: 'mirror + translate on the control-plane mix (ARP, DHCP, BGP, OSPF among UDP); unmapped copies mirrored', capture: 'ctrl', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'mirror' },
  ...FAULT_SCENARIOS.map((f): Scenario => ({ id: f.id, label: `shadowtap ${f.label}`, describe: f.describe, capture: 'udp64', workers: 1, mode: 'inline', shadow: true, translate: true, unmapped: 'drop', faults: true })),
  { id: 'st-mirror-xlate-2w', label: 'shadowtap mirror + translate, 2 workers', describe: 'mirror + translate with 2 workers on CPUs 1 and 0 (2 rx queues); CPU 0 is shared with the main lcore and the rest of the system', capture: 'udp64', workers: 2, mode: 'inline', shadow: true, translate: true, unmapped: 'drop' },
];

export function shadowtapContender(s: Scenario): Contender {
  return {
    id: s.id,
    label: s.label,
    kind: 'shadowtap',
    capture: s.capture,
    workers: s.workers,
    describe: s.describe,
    async unavailable() {
      const loaded = tryLoadNative();
      if ('error' in loaded) return `the native addon does not load (run npm run build:native): ${loaded.error.message.split('\n')[0]}`;
      return s.policy ? policySupport() : null;
    },
    start: (env, tag) => startShadowtap(env, s, tag),
  };
}
