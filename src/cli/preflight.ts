/**
 * Checks and preparation that need the host, not just the config: files the
 * vdevs read must exist (EAL's own message for a missing rx_pcap is cryptic),
 * directories they write into must exist, the demo capture is generated on
 * first use, and the run directory is ours alone.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { demoCapturePath } from '../config/default.js';
import { stError, type ConfigProblem } from '../errors.js';
import { buildDemoFrames } from '../tools/gen-demo-capture.js';
import { writePcap } from '../pcap/pcap.js';

/** `net_pcap0,rx_pcap=a.pcap,infinite_rx=1` → {rx_pcap: 'a.pcap', infinite_rx: '1'} */
export function devargs(device: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of device.split(',').slice(1)) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
    else if (part) out.set(part, '');
  }
  return out;
}

export interface PortFile {
  port: number;
  name: string;
  path: string;
}

/** Capture files the pcap vdevs read (rx_pcap) and write (tx_pcap). */
export function pcapFiles(config: Config): { read: PortFile[]; write: PortFile[] } {
  const read: PortFile[] = [];
  const write: PortFile[] = [];
  config.ports.forEach((p, i) => {
    if (!p.device.startsWith('net_pcap')) return;
    const args = devargs(p.device);
    const rx = args.get('rx_pcap');
    const tx = args.get('tx_pcap');
    if (rx) read.push({ port: i, name: p.name, path: rx });
    if (tx) write.push({ port: i, name: p.name, path: tx });
  });
  return { read, write };
}

/** Tap interfaces the config creates (net_tap iface=). */
export function tapInterfaces(config: Config): { name: string; iface: string }[] {
  return config.ports.flatMap((p) => {
    if (!p.device.startsWith('net_tap')) return [];
    const iface = devargs(p.device).get('iface');
    return [{ name: p.name, iface: iface ?? `(kernel-named, ${p.device.split(',')[0]})` }];
  });
}

export interface PreflightResult {
  problems: ConfigProblem[];
  /** demo capture that would be (or was) generated */
  demo: string | null;
}

/** Check host-side facts. With `prepare`, also create directories and the demo capture. */
export function preflight(config: Config, prepare: boolean): PreflightResult {
  const problems: ConfigProblem[] = [];
  const demo = resolve(demoCapturePath(config.run_dir));
  let demoNeeded: string | null = null;
  const { read, write } = pcapFiles(config);
  for (const f of read) {
    if (existsSync(f.path)) continue;
    if (resolve(f.path) === demo) {
      demoNeeded = f.path;
      continue;
    }
    problems.push({
      path: `ports[${f.port}].device`,
      message: `rx_pcap file "${f.path}" does not exist (relative paths are from ${process.cwd()}); expected an existing capture file`,
    });
  }
  if (!prepare) return { problems, demo: demoNeeded };
  if (problems.length > 0) return { problems, demo: null };
  try {
    mkdirSync(config.run_dir, { recursive: true });
    for (const f of write) mkdirSync(dirname(resolve(f.path)), { recursive: true });
    if (demoNeeded) {
      mkdirSync(dirname(demoNeeded), { recursive: true });
      writePcap(demoNeeded, buildDemoFrames());
    }
  } catch (err) {
    throw stError('ST_ERR_RUN_DIR', `cannot prepare run directory ${config.run_dir}: ${(err as Error).message}`, {
      field: 'run_dir',
      cause: err,
    });
  }
  return { problems, demo: demoNeeded };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claim run_dir with a pid file: two instances would write the same shadow
 * capture. A pid file of a process that is gone is stale and replaced.
 * Returns a release function.
 */
export function claimRunDir(runDir: string): () => void {
  const file = join(runDir, 'shadowtap.pid');
  try {
    const other = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(other) && other > 0 && other !== process.pid && alive(other)) {
      throw stError('ST_ERR_RUN_DIR', `run directory ${runDir} is in use by shadowtap pid ${other} (${file}); stop it or set run_dir`, {
        field: 'run_dir',
      });
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'ST_ERR_RUN_DIR') throw err;
  }
  try {
    writeFileSync(file, `${process.pid}\n`);
  } catch (err) {
    throw stError('ST_ERR_RUN_DIR', `cannot write ${file}: ${(err as Error).message}`, { field: 'run_dir', cause: err });
  }
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}
