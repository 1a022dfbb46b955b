/**
 * The real data-plane host with the measure stage on: prod-in (a capture
 * with known timings) → prod-out, one shadow port (tx capture, and an rx
 * capture when `shadowIn` is given: what "comes back" from the replica).
 * Every stats poll's detections are collected (each poll drains them).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileStartPlan } from '../../src/dataplane/start-plan.js';
import type { NativeDetection, NativeMeasureStats } from '../../src/dataplane/measure-types.js';
import type { NativeStats } from '../../src/dataplane/native-types.js';
import type { Config } from '../../src/config/schema.js';
import type { NativeFaultTable } from '../../src/faults/native-types.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { readPcap, writePcap, type PcapFrame } from '../../src/pcap/pcap.js';
import { HostChannel } from './host.js';
import { missingBuild, testConfig } from './policy-run.js';

export interface MeasuredRun {
  config: Config;
  stats: NativeStats;
  measure: NativeMeasureStats;
  detections: NativeDetection[];
  production: Buffer[];
  shadow: Buffer[];
  inputPath: string;
  productionPath: string;
  logs: string[];
  dispose(): void;
}

let runs = 0;

export const TRANSLATE = { ipv4: [{ from: '10.1.0.0/16', to: '10.201.0.0/16' }] };

export async function runMeasured(opts: {
  frames: ReadonlyArray<PcapFrame>;
  /** the measurement section; undefined: measurement off */
  measurement?: Record<string, unknown>;
  /** frames arriving on the shadow port (its rx) */
  shadowIn?: ReadonlyArray<PcapFrame>;
  policy?: Record<string, unknown>;
  /** a fault table armed with the start */
  faults?: NativeFaultTable;
  timeoutMs?: number;
}): Promise<MeasuredRun> {
  const missing = missingBuild();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'st-meas-'));
  const dispose = (): void => rmSync(dir, { recursive: true, force: true });
  const inputPath = join(dir, 'in.pcap');
  const productionPath = join(dir, 'prod-out.pcap');
  writePcap(inputPath, opts.frames);
  if (opts.shadowIn) writePcap(join(dir, 'shadow-in.pcap'), opts.shadowIn);
  const prefix = `st-meas-${process.pid}-${runs++}`;
  let host: HostChannel | undefined;
  try {
    const policy = { translate: TRANSLATE, ...opts.policy, ...(opts.measurement ? { measurement: opts.measurement } : {}) };
    const config = testConfig(dir, policy, 1, 256, {
      ports: (d) => [
        { name: 'prod-in', device: `net_pcap0,rx_pcap=${join(d, 'in.pcap')}`, egress: 'prod-out', rx_desc: 512, tx_desc: 512, promiscuous: false },
        { name: 'prod-out', device: `net_pcap1,tx_pcap=${join(d, 'prod-out.pcap')}`, role: 'egress', rx_desc: 512, tx_desc: 512, promiscuous: false },
        {
          name: 'shadow0',
          device: opts.shadowIn ? `net_pcap2,rx_pcap=${join(d, 'shadow-in.pcap')},tx_pcap=${join(d, 'shadow0.pcap')}` : `net_pcap2,tx_pcap=${join(d, 'shadow0.pcap')}`,
          role: 'shadow', rx_desc: 512, tx_desc: 512, promiscuous: false,
        },
      ],
    });
    const { ealArgs, native: startPlan } = compileStartPlan(config, { filePrefix: prefix, nproc: 2, programName: 'shadowtap-test' });
    const compiled = compilePolicy(config);
    const h = new HostChannel(prefix);
    host = h;
    await h.waitFor('hello', null, 30_000);
    h.send({ type: 'start', id: 1, ealArgs, plan: startPlan, policy: compiled.native, ...(opts.faults ? { faults: opts.faults } : {}) });
    await h.waitFor('started', 1, 60_000);
    const detections: NativeDetection[] = [];
    const want = opts.frames.length;
    const wantShadow = opts.shadowIn?.length ?? 0;
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    let prev = '';
    let stable = 0;
    let stats: NativeStats;
    for (;;) {
      stats = await h.stats();
      detections.push(...(stats.detections?.events ?? []));
      const got = stats.ports[0]?.rxPackets ?? -1;
      const gotShadow = stats.ports[2]?.rxPackets ?? -1;
      const view = JSON.stringify([stats.ports.map((p) => [p.rxPackets, p.txPackets, p.hwOpackets]), stats.measure?.events, stats.measure?.flows]);
      if (got >= want && gotShadow >= wantShadow && view === prev) stable++;
      else stable = 0;
      prev = view;
      if (stable >= 3) break;
      if (Date.now() > deadline) throw new Error(`timed out: port 0 received ${got} of ${want}${h.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await h.stop();
    if (!stats.measure && opts.measurement) throw new Error(`no measure snapshot in the stats: ${JSON.stringify(stats)}`);
    const read = (p: string): Buffer[] => (existsSync(p) ? readPcap(p).packets.map((x) => x.data) : []);
    return {
      config,
      stats,
      measure: stats.measure as NativeMeasureStats,
      detections,
      production: read(productionPath),
      shadow: read(join(dir, 'shadow0.pcap')),
      inputPath,
      productionPath,
      logs: h.logs,
      dispose,
    };
  } catch (e) {
    dispose();
    throw e;
  } finally {
    await host?.kill();
  }
}

/** Every detector off but the ones named (the schema's defaults turn several on). */
export function onlyDetectors(on: Record<string, unknown>): Record<string, unknown> {
  return {
    arp_spoof: false, garp_storm: false, rogue_dhcp: false, rogue_dhcpv6: false, rogue_ra: false,
    port_scan: false, host_scan: false, syn_flood: false, rate_anomaly: false, ...on,
  };
}
