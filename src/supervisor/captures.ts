/**
 * Capture files the data plane writes (net_pcap `tx_pcap=`, and
 * net_shadowsim's) survive data-plane restarts: net_pcap opens its file with
 * pcap_dump_open(), which truncates it, every time a data plane starts. So
 * before every start (the first one and each restart) the previous file is
 * rotated aside, never truncated: FILE becomes FILE.1, FILE.1 becomes FILE.2
 * and so on, as logrotate and tcpdump -W do; at most `keep` rotated files
 * are kept (the oldest is removed; 0 keeps every one).
 *
 * What is not possible: net_pcap cannot reopen its file while it runs (no
 * devarg or ethdev call does), so a capture cannot be rotated by size or
 * time (tcpdump -C, -G) while the data plane runs without restarting the
 * data plane, which interrupts inline forwarding; shadowtap does not do
 * that. --max-capture-mb stops the run at a size instead, and a shadow tap
 * interface (net_tap) with `tcpdump -i IFACE -C MB -G SECONDS -W COUNT`
 * gives rotation by size and time while running (docs/reliability.md).
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';

/** A pcap file holding only its global header (or nothing) has nothing worth keeping. */
const PCAP_HEADER = 24;

/** Capture files the data plane of this configuration writes. */
export function captureFiles(config: Pick<Config, 'ports'>): string[] {
  const out: string[] = [];
  for (const p of config.ports) {
    const [drv, ...args] = p.device.split(',');
    if (!/^net_(pcap|shadowsim)\d+$/.test(drv ?? '')) continue;
    for (const a of args) if (a.startsWith('tx_pcap=')) out.push(resolve(a.slice('tx_pcap='.length)));
  }
  return out;
}

export interface Rotation {
  file: string;
  /** where the previous capture went */
  to: string;
  bytes: number;
  /** rotated files removed because more than `keep` were kept */
  removed: string[];
}

/** Rotate one capture aside, if it holds packets; returns what was done. */
export function rotateCapture(file: string, keep: number): Rotation | null {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return null;
  }
  if (size <= PCAP_HEADER) return null;
  const removed: string[] = [];
  // The highest index in use (gaps are not expected, but tolerated).
  let top = 1;
  while (existsSync(`${file}.${top}`)) top++;
  for (let i = top - 1; i >= 1; i--) {
    if (keep > 0 && i >= keep) {
      rmSync(`${file}.${i}`, { force: true });
      removed.push(`${file}.${i}`);
      continue;
    }
    renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  renameSync(file, `${file}.1`);
  return { file, to: `${file}.1`, bytes: size, removed };
}

/** Rotate every capture of the configuration; failures are logged, never fatal (the start goes on). */
export function rotateCaptures(config: Pick<Config, 'ports'>, keep: number, logger: Logger): Rotation[] {
  const done: Rotation[] = [];
  for (const file of captureFiles(config)) {
    try {
      const r = rotateCapture(file, keep);
      if (!r) continue;
      done.push(r);
      logger.info({ file, rotatedTo: r.to, bytes: r.bytes, removed: r.removed }, `capture ${file} rotated to ${r.to} before the data plane starts (it would truncate it)`);
    } catch (err) {
      logger.warn({ file, err: (err as Error).message }, `capture ${file} could not be rotated; the data plane starting now truncates it`);
    }
  }
  return done;
}
