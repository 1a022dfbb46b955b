/**
 * End-to-end policy runs through the whole TypeScript path and the REAL
 * data plane: a configuration (YAML-shaped object, policy keys included) is
 * validated and compiled exactly as `shadowtap run` does it (compileStartPlan for
 * the EAL arguments and the plan, compilePolicy for the NativePolicy), then a
 * data-plane host (the harness's TestHost, host.ts) is forked and started
 * with both, fed a capture on net_pcap vdevs, and stopped once its counters
 * settle. Shadow ports are one
 * pcap file each, so every session can have a target (and a file) of its own.
 *
 * tshark is the decoder of record: decodeFields() runs it with any extra
 * fields a test needs (VXLAN/GENEVE VNIs, DHCP options...).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { compileStartPlan } from '../../src/dataplane/start-plan.js';
import type { NativePolicy, NativePolicyStats, NativeStats } from '../../src/dataplane/native-types.js';
import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js';
import { writePcap } from '../../src/pcap/pcap.js';
import { readFrames, TestHost } from './host.js';
import { requireTshark } from './tshark.js';

const execFileP = promisify(execFile);
export { missingBuild } from './host.js';

export const PROD_MAC = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
export const SHADOW_SRC_MAC = '02:5a:00:00:00:01';
export const SHADOW_DST_MAC = '02:5a:00:00:00:02';

export interface ConfigRunOptions {
  frames: ReadonlyArray<Buffer>;
  /** the policy keys (translate, match, sessions, targets, security) */
  policy: Record<string, unknown>;
  /** shadow ports shadow0..N-1, each written to its own capture (default 1) */
  shadowPorts?: number;
  memoryMb?: number;
  timeoutMs?: number;
  /** replaces the ports (prod-in must stay first: the run settles on its rx); shadow captures are read for shadow0..N-1 where they exist */
  ports?: (dir: string) => Record<string, unknown>[];
  /** merged into the dataplane key (e.g. mempool sizes) */
  dataplane?: Record<string, unknown>;
}

export interface ConfigRun {
  config: Config;
  compiled: CompiledPolicy;
  stats: NativeStats;
  policyStats: NativePolicyStats;
  production: Buffer[];
  /** frames written by shadow port i */
  shadow: Buffer[][];
  shadowPaths: string[];
  inputPath: string;
  logs: string[];
  dispose(): void;
}

/** The test configuration: prod-in (capture) → prod-out (capture), N shadow captures. */
export function testConfig(
  dir: string,
  policy: Record<string, unknown>,
  shadowPorts = 1,
  memoryMb = 1024,
  over: Pick<ConfigRunOptions, 'ports' | 'dataplane'> = {},
): Config {
  return validateConfig({
    mode: 'inline',
    dataplane: { workers: 1, idle: 'adaptive', eal: { memory_mb: memoryMb, log_level: 'error' }, ...over.dataplane },
    ports: over.ports ? over.ports(dir) : [
      { name: 'prod-in', device: `net_pcap0,rx_pcap=${join(dir, 'in.pcap')}`, egress: 'prod-out', rx_desc: 512, tx_desc: 512, promiscuous: false },
      { name: 'prod-out', device: `net_pcap1,tx_pcap=${join(dir, 'prod-out.pcap')}`, role: 'egress', rx_desc: 512, tx_desc: 512, promiscuous: false },
      ...Array.from({ length: shadowPorts }, (_, i) => ({
        name: `shadow${i}`, device: `net_pcap${2 + i},tx_pcap=${join(dir, `shadow${i}.pcap`)}`, role: 'shadow', rx_desc: 512, tx_desc: 512, promiscuous: false,
      })),
    ],
    shadow: { mac: { src: SHADOW_SRC_MAC, dst: SHADOW_DST_MAC } },
    ...policy,
  }, { source: 'test config' });
}

/** Start, replay `frames` once, settle, read both kinds of counters, stop. */
export async function runConfig(opts: ConfigRunOptions): Promise<ConfigRun> {
  const host = new TestHost('pconf', { frames: opts.frames });
  const { dir, inputPath, prefix } = host;
  const dispose = (): void => host.dispose();
  const nShadow = opts.shadowPorts ?? 1;
  try {
    const config = testConfig(dir, opts.policy, nShadow, opts.memoryMb, opts);
    const { ealArgs, native: startPlan } = compileStartPlan(config, { filePrefix: prefix, nproc: 2, programName: 'shadowtap-test' });
    const compiled = compilePolicy(config);
    await host.launch(ealArgs, startPlan, compiled.native);
    const stats = await host.settle(opts.frames.length, { timeoutMs: opts.timeoutMs ?? 60_000 });
    const policyStats = await host.policyStats();
    await host.stop();
    const shadowPaths = Array.from({ length: nShadow }, (_, i) => join(dir, `shadow${i}.pcap`));
    return {
      config,
      compiled,
      stats,
      policyStats,
      production: readFrames(join(dir, 'prod-out.pcap')),
      shadow: shadowPaths.map(readFrames),
      shadowPaths,
      inputPath,
      logs: host.logs,
      dispose,
    };
  } catch (e) {
    dispose();
    throw e;
  } finally {
    await host.kill();
  }
}

/** Session counters of a run, by session id (slots resolved through the compiled plan). */
export function sessionCounters(run: Pick<ConfigRun, 'compiled' | 'policyStats'>, id: number) {
  const s = run.compiled.report.sessions.find((x) => x.id === id);
  if (!s) throw new Error(`no session ${id} in the plan`);
  const c = run.policyStats.sessions[s.slot];
  if (!c) throw new Error(`no counters for session ${id} (slot ${s.slot})`);
  const hits = Object.fromEntries(s.rules.map((r) => [r.id, r.slots.reduce((n, slot) => n + (run.policyStats.ruleHits[slot] ?? 0), 0)]));
  return { ...c, hits };
}

export type Rows = Record<string, string[]>[];

/**
 * tshark with the given fields, every occurrence kept (outer headers first):
 * one record per frame, field → values.
 */
export async function decodeFields(path: string, fields: readonly string[], prefs: readonly string[] = []): Promise<Rows> {
  const bin = requireTshark();
  const args = ['-n', '-r', path, '-T', 'fields', '-E', 'header=n', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=\u0001'];
  for (const p of ['ip.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'tcp.desegment_tcp_streams:FALSE', ...prefs]) args.push('-o', p);
  for (const f of fields) args.push('-e', f);
  const { stdout } = await execFileP(bin, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const cols = line.split('\t');
      return Object.fromEntries(fields.map((f, i) => [f, (cols[i] ?? '') === '' ? [] : (cols[i] as string).split('\u0001')]));
    });
}

/** Frames decoded from a list of buffers (written to a temporary capture). */
export async function decodeFrameFields(frames: ReadonlyArray<Buffer>, fields: readonly string[], prefs: readonly string[] = []): Promise<Rows> {
  const dir = mkdtempSync(join(tmpdir(), 'st-tsf-'));
  try {
    const p = join(dir, 'f.pcap');
    writePcap(p, frames);
    return await decodeFields(p, fields, prefs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type { NativePolicy };
