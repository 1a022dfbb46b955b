/**
 * `shadowtap audit CAPTURE... [--config FILE]`: the leak audit
 * (src/audit/leak.ts) on shadow captures, offline. Without --config the
 * embedded demo's maps apply, so `shadowtap audit run/shadow.pcap` after
 * `npm start` audits the demo.
 */
import { loadConfigFile } from '../config/load.js';
import { defaultConfig } from '../config/default.js';
import { ConfigError, isShadowtapError } from '../errors.js';
import { readPcap } from '../pcap/pcap.js';
import { productionPrefixes, scanFrames, type LeakFinding } from '../audit/leak.js';
import type { CommandOutput } from './policy.js';

export interface AuditOptions {
  captures: string[];
  config?: string;
  json?: boolean;
  /** how many findings to list (the counts cover all of them) */
  max?: number;
  /** exit 1 on payload findings too */
  strict?: boolean;
}

export async function auditCommand(o: AuditOptions): Promise<CommandOutput> {
  let config;
  try {
    config = o.config !== undefined ? await loadConfigFile(o.config) : defaultConfig();
  } catch (err) {
    if (err instanceof ConfigError) return { code: 2, stdout: [], stderr: [err.message] };
    if (isShadowtapError(err)) return { code: 2, stdout: [], stderr: [`${err.code}: ${err.message}`] };
    throw err;
  }
  const prefixes = productionPrefixes(config.translate);
  if (prefixes.v4.length + prefixes.v6.length === 0) {
    return { code: 2, stdout: [], stderr: [`${o.config ?? 'the demo configuration'}: translate has no production prefix to look for (translate.ipv4, ipv6 and hosts are empty or identity maps)`] };
  }
  const perCapture: Array<{ capture: string; frames: number; findings: LeakFinding[] }> = [];
  for (const c of o.captures) {
    let frames: Buffer[];
    try {
      frames = readPcap(c).packets.map((p) => p.data);
    } catch (err) {
      return { code: 2, stdout: [], stderr: [`${c}: ${(err as Error).message}`] };
    }
    perCapture.push({ capture: c, frames: frames.length, findings: scanFrames(frames, prefixes) });
  }
  const total = perCapture.reduce((a, c) => a + c.findings.length, 0);
  const leaks = perCapture.reduce((a, c) => a + c.findings.filter((f) => f.kind === 'field').length, 0);
  const payload = perCapture.reduce((a, c) => a + c.findings.filter((f) => f.kind === 'payload').length, 0);
  const code = leaks > 0 || (o.strict === true && payload > 0) ? 1 : 0;
  if (o.json) {
    return { code, stdout: [JSON.stringify({ findings: total, inAddressFields: leaks, captures: perCapture }, null, 2)], stderr: [] };
  }
  const out: string[] = [];
  const max = o.max ?? 20;
  for (const c of perCapture) {
    const byLayer = new Map<string, number>();
    for (const f of c.findings) byLayer.set(f.layer, (byLayer.get(f.layer) ?? 0) + 1);
    const frames = new Set(c.findings.map((f) => f.frame)).size;
    const n = (k: LeakFinding['kind']): number => c.findings.filter((f) => f.kind === k).length;
    out.push(c.findings.length === 0
      ? `${c.capture}: ${c.frames} frames, no production address`
      : `${c.capture}: ${c.frames} frames, ${c.findings.length} production address${c.findings.length === 1 ? '' : 'es'} in ${frames} frame${frames === 1 ? '' : 's'}: ${n('field')} in address fields (leaks), ${n('payload')} in payloads (review), ${n('header')} across header fields (by layer: ${[...byLayer].map(([l, k]) => `${l} ${k}`).join(', ')})`);
    if (c.findings.length > 0) {
      out.push('  frame  offset  where            kind       address                                  prefix');
      // Leaks first, then payloads, then bytes across header fields; frame order within each.
      const listed = (['field', 'payload', 'header'] as const).flatMap((k) => c.findings.filter((f) => f.kind === k));
      for (const f of listed.slice(0, max)) {
        out.push(`  ${String(f.frame + 1).padStart(5)}  ${String(f.offset).padStart(6)}  ${`${f.layer}+${f.layerOffset}`.padEnd(15)}  ${f.kind.padEnd(9)}  ${f.address.padEnd(39)}  ${f.prefix}`);
      }
      if (c.findings.length > max) out.push(`  … ${c.findings.length - max} more (--max N lists more, --json lists all)`);
    }
  }
  if (total > 0) out.push('field: an address field of a known header carries a production address (a leak); payload: past the headers the audit knows (DNS answers, routing updates, tunnels), to review; header: bytes across header fields that happen to match (docs/policy.md, "Leak audit")');
  return { code, stdout: out, stderr: [] };
}
