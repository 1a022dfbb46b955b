/**
 * Config → what the data-plane child needs: EAL arguments and the flat,
 * defaulted NativeStartPlan of numbers, strings and byte arrays (native-types.ts).
 * Nothing of the user's config shape crosses into native code.
 */
import type { Config } from '../config/schema.js';
import { ethdevName, isPciDevice } from '../config/load.js';
import { deviceSpec } from '../config/capture.js';
import { parsePrefix4, parsePrefix6 } from '../policy/prefix.js';
import { parseAddress } from '../policy/fields.js';
import { stError } from '../errors.js';
import { compileMeasure } from './measure-compile.js';
import { IDLE, MODE, ROLE, UNMAPPED, type NativeStartPlan, type NativePortConf } from './native-types.js';

export interface StartPlanOptions {
  /** EAL --file-prefix: unique per data-plane process */
  filePrefix: string;
  /** CPUs on this host (os.availableParallelism()) */
  nproc: number;
  /** argv[0] EAL sees; shows in EAL's log lines */
  programName?: string;
}

export interface StartPlan {
  ealArgs: string[];
  native: NativeStartPlan;
  /**
   * A standby's EAL arguments: the same memory, lcores and options, no
   * device (PCI devices block-listed, so they are scanned but left to the
   * live process); it takes the devices over with `devices`.
   */
  standbyEalArgs: string[];
  /** every port's device as rte_dev_probe takes it, in port order */
  devices: string[];
}

/** CPU ids the workers run on: the configured ones, or 1..workers wrapped onto the host's CPUs. */
export function workerCpus(config: Config, nproc: number): number[] {
  const { workers, cores } = config.dataplane;
  if (cores.length > 0) return [...cores];
  return Array.from({ length: workers }, (_, i) => (i + 1) % nproc);
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/**
 * The main lcore (0) is the Node thread of the data-plane process: it only
 * answers requests, so it floats over every CPU instead of competing with a
 * pinned worker. Workers are lcores 1..W, each pinned to one CPU.
 */
export function lcoresArg(cpus: readonly number[], nproc: number): string {
  const main = nproc > 1 ? `0@(0-${nproc - 1})` : '0@0';
  return [main, ...cpus.map((cpu, i) => `${i + 1}@${cpu}`)].join(',');
}

export function compileStartPlan(config: Config, options: StartPlanOptions): StartPlan {
  const { filePrefix, nproc } = options;
  if (!/^[A-Za-z0-9_.-]+$/.test(filePrefix)) {
    throw stError('ST_ERR_PLAN_INVALID', `file prefix "${filePrefix}" must be letters, digits, "_", "-" or "."`, {
      field: 'filePrefix',
    });
  }
  if (!Number.isInteger(nproc) || nproc < 1) {
    throw stError('ST_ERR_PLAN_INVALID', `nproc ${nproc} must be a positive integer`, { field: 'nproc' });
  }
  const cpus = workerCpus(config, nproc);
  cpus.forEach((cpu, i) => {
    if (cpu >= nproc) {
      throw stError(
        'ST_ERR_PLAN_INVALID',
        `CPU ${cpu} does not exist on this host (CPUs 0-${nproc - 1}); expected a CPU id below ${nproc}`,
        { field: `dataplane.cores[${i}]` },
      );
    }
  });

  const eal = config.dataplane.eal;
  const ealArgs: string[] = [options.programName ?? 'shadowtap', '--lcores', lcoresArg(cpus, nproc)];
  if (eal.hugepages) ealArgs.push('-m', String(eal.memory_mb));
  else ealArgs.push('--no-huge', '-m', String(eal.memory_mb));
  ealArgs.push('--file-prefix', filePrefix);
  const pci = config.ports.filter((p) => isPciDevice(p.device));
  const standbyEalArgs = [...ealArgs];
  if (pci.length === 0) {
    ealArgs.push('--no-pci');
    standbyEalArgs.push('--no-pci');
  }
  for (const p of pci) {
    ealArgs.push('-a', p.device);
    standbyEalArgs.push('-b', p.device.split(',')[0]!);
  }
  // A capture port's section becomes its devargs (config/capture.ts).
  const specs = config.ports.map((p) => deviceSpec(p, config.run_dir));
  config.ports.forEach((p, i) => {
    if (!isPciDevice(p.device)) ealArgs.push('--vdev', specs[i]!);
  });
  for (const a of [ealArgs, standbyEalArgs]) a.push('--log-level', eal.log_level, ...eal.extra_args);

  const index = new Map(config.ports.map((p, i) => [p.name, i]));
  const ports: NativePortConf[] = config.ports.map((p) => ({
    name: p.name,
    device: ethdevName(p.device),
    role: ROLE[p.role],
    egress: p.egress === undefined || config.mode === 'tap' ? -1 : (index.get(p.egress) ?? -1),
    rxDesc: p.rx_desc,
    txDesc: p.tx_desc,
    promiscuous: p.promiscuous,
    rxPps: p.rx_pps,
  }));
  const shadowPorts = config.ports.flatMap((p, i) => (p.role === 'shadow' ? [i] : []));

  const map4 = config.translate.ipv4.map((m, i) => {
    const from = parsePrefix4(m.from);
    const to = parsePrefix4(m.to);
    if (typeof from === 'string' || typeof to === 'string' || from.len !== to.len) {
      // load.ts rejects these; a Config built some other way must not reach C.
      throw stError('ST_ERR_PLAN_INVALID', `map ${m.from} -> ${m.to} is not a valid pair of equal-length IPv4 prefixes`, {
        field: `translate.ipv4[${i}]`,
      });
    }
    return { from: from.addr, to: to.addr, len: from.len };
  });
  const map6 = config.translate.ipv6.map((m, i) => {
    const from = parsePrefix6(m.from);
    const to = parsePrefix6(m.to);
    if (typeof from === 'string' || typeof to === 'string' || from.len !== to.len) {
      throw stError('ST_ERR_PLAN_INVALID', `map ${m.from} -> ${m.to} is not a valid pair of equal-length IPv6 prefixes`, {
        field: `translate.ipv6[${i}]`,
      });
    }
    return { from: from.addr, to: to.addr, len: from.len };
  });
  // Host overrides are full-length maps (policy.h); the plan carries them too, so a
  // data plane that rewrites from the plan alone translates the same way.
  for (const h of config.translate.hosts) {
    const from = parseAddress(h.from);
    const to = parseAddress(h.to);
    if (!from.ok || !to.ok || from.value.family !== to.value.family) continue;
    if (from.value.family === 4) {
      const u = (b: Uint8Array) => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      map4.push({ from: u(from.value.bytes), to: u(to.value.bytes), len: 32 });
    } else {
      map6.push({ from: new Uint8Array(from.value.bytes), to: new Uint8Array(to.value.bytes), len: 128 });
    }
  }

  const startPlan: NativeStartPlan = {
    mode: MODE[config.mode],
    // The plan knows drop and mirror; "count" (policy only) sends nothing, as drop does.
    unmapped: UNMAPPED[config.translate.unmapped === 'mirror' ? 'mirror' : 'drop'],
    idle: IDLE[config.dataplane.idle],
    burst: config.dataplane.burst,
    workerLcores: cpus.map((_, i) => i + 1),
    ports,
    shadowPorts,
    shadowSrcMac: macBytes(config.shadow.mac.src),
    shadowDstMac: macBytes(config.shadow.mac.dst),
    map4,
    map6,
    prodPoolMbufs: config.dataplane.mempool.production_mbufs,
    shadowPoolMbufs: config.dataplane.mempool.shadow_mbufs,
  };
  const measure = compileMeasure(config);
  if (measure !== null) startPlan.measure = measure;
  return { ealArgs, native: startPlan, standbyEalArgs, devices: specs };
}
