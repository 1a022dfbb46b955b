/**
 * End-to-end runs through the real data-plane host process
 * (dist/src/dataplane/host.js, which loads the real addon and DPDK), on pcap
 * vdevs: input frames in on port 0, production out of port 1, shadow copies
 * out of port 2. Plus the reference the shadow copies are compared against:
 * a translation written here from the documented rules (rewrite_frame.h's
 * header comment), with every checksum recomputed from scratch by the builder.
 */
import { IDLE, MODE, ROLE, UNMAPPED, DROP_REASONS, ANOMALIES, type Anomaly, type DropReason, type NativeStartPlan, type NativeStats, type NativePortInfo } from '../../src/dataplane/native-types.js';
import { ip4, ip4ToString, ip6, ip6ToString, IPPROTO, mac, parseFrame, recomputeChecksums, internetChecksum } from '../../src/pcap/build.js';
import { readFrames, TestHost } from './host.js';
import { dnsRef } from './dns-ref.js';

export interface PrefixMap {
  from: string;
  to: string;
  len: number;
}

export const SHADOW_SRC_MAC = '02:5a:00:00:00:01';
export const SHADOW_DST_MAC = '02:5a:00:00:00:02';

export interface Translation {
  map4: ReadonlyArray<PrefixMap>;
  map6: ReadonlyArray<PrefixMap>;
  unmapped: 'drop' | 'mirror';
  srcMac: string;
  dstMac: string;
}

export interface RunOptions extends Partial<Translation> {
  frames: ReadonlyArray<Buffer>;
  /** ms to wait for every input packet to be processed */
  timeoutMs?: number;
}

export interface RunResult {
  production: Buffer[];
  shadow: Buffer[];
  /** last stats read while running (after everything was processed) */
  stats: NativeStats;
  ports: NativePortInfo[];
  dir: string;
  inputPath: string;
  productionPath: string;
  shadowPath: string;
  /** log messages and stderr of the host, for failure messages */
  logs: string[];
  /** remove the run's directory */
  dispose(): void;
}

function u32(addr: string): number {
  return ip4(addr).readUInt32BE(0);
}

export function nativeMaps(t: Pick<Translation, 'map4' | 'map6'>): Pick<NativeStartPlan, 'map4' | 'map6'> {
  return {
    map4: t.map4.map((m) => ({ from: u32(m.from), to: u32(m.to), len: m.len })),
    map6: t.map6.map((m) => ({ from: new Uint8Array(ip6(m.from)), to: new Uint8Array(ip6(m.to)), len: m.len })),
  };
}

export function buildPlan(t: Translation): NativeStartPlan {
  const port = (name: string, device: string, role: number, egress: number): NativeStartPlan['ports'][number] => ({
    name,
    device,
    role,
    egress,
    rxDesc: 256,
    txDesc: 256,
    promiscuous: false,
  });
  return {
    mode: MODE.inline,
    unmapped: UNMAPPED[t.unmapped],
    idle: IDLE.adaptive,
    burst: 32,
    workerLcores: [1],
    ports: [
      port('prod-in', 'net_pcap0', ROLE.production, 1),
      port('prod-out', 'net_pcap1', ROLE.egress, -1),
      port('shadow', 'net_pcap2', ROLE.shadow, -1),
    ],
    shadowPorts: [2],
    shadowSrcMac: new Uint8Array(mac(t.srcMac)),
    shadowDstMac: new Uint8Array(mac(t.dstMac)),
    ...nativeMaps(t),
    prodPoolMbufs: 0,
    shadowPoolMbufs: 0,
  };
}

function withDefaults(o: Partial<Translation>): Translation {
  return {
    map4: o.map4 ?? [],
    map6: o.map6 ?? [],
    unmapped: o.unmapped ?? 'drop',
    srcMac: o.srcMac ?? SHADOW_SRC_MAC,
    dstMac: o.dstMac ?? SHADOW_DST_MAC,
  };
}

/**
 * Fork the host, start it on pcap vdevs with `frames` as input, wait until
 * every frame was received and the counters settle, stop it, and return what
 * the production and shadow ports wrote. The child is always killed (by pid)
 * and its EAL runtime directory removed.
 */
export async function runDataplane(opts: RunOptions): Promise<RunResult> {
  const tr = withDefaults(opts);
  const n = opts.frames.length;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const host = new TestHost('dp', { frames: opts.frames });
  const { dir, inputPath } = host;
  const productionPath = host.path('prod-out.pcap');
  const shadowPath = host.path('shadow-out.pcap');
  const ealArgs = host.eal({
    quiet: false,
    vdevs: [`net_pcap0,rx_pcap=${inputPath}`, `net_pcap1,tx_pcap=${productionPath}`, `net_pcap2,tx_pcap=${shadowPath}`],
  });
  const startPlan = buildPlan(tr);
  const dispose = (): void => host.dispose();
  try {
    const started = await host.launch(ealArgs, startPlan);
    await host.settle(n, { timeoutMs, exact: true });
    // The host must still answer after the whole input (malformed frames included).
    const stats = await host.stats();
    await host.stop();
    return { production: readFrames(productionPath), shadow: readFrames(shadowPath), stats, ports: started.ports, dir, inputPath, productionPath, shadowPath, logs: host.logs, dispose };
  } catch (e) {
    dispose();
    throw e;
  } finally {
    await host.kill();
  }
}

// ---- the reference translation ---------------------------------------------------

export type Expected =
  | { action: 'mirror'; frame: Buffer; translated: boolean }
  | { action: 'drop'; reason: DropReason };

/** Longest-prefix match over the maps; null when no map covers the address. */
function lookup(addr: Buffer, maps: ReadonlyArray<PrefixMap>, v6: boolean): Buffer | null {
  let best: PrefixMap | undefined;
  for (const m of maps) {
    const from = v6 ? ip6(m.from) : ip4(m.from);
    if (prefixMatch(addr, from, m.len) && (best === undefined || m.len > best.len)) best = m;
  }
  if (best === undefined) return null;
  const to = v6 ? ip6(best.to) : ip4(best.to);
  const out = Buffer.from(addr);
  for (let bit = 0; bit < best.len; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    out[byte] = ((out[byte] as number) & ~mask) | ((to[byte] as number) & mask);
  }
  return out;
}

function prefixMatch(addr: Buffer, prefix: Buffer, len: number): boolean {
  for (let bit = 0; bit < len; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((((addr[byte] as number) ^ (prefix[byte] as number)) & mask) !== 0) return false;
  }
  return true;
}

const ICMP4_ERRORS = new Set([3, 4, 5, 11, 12]);

/**
 * What the shadow copy of a well-formed frame must be, built independently
 * of the data plane: addresses translated by longest prefix (host bits kept),
 * shadow MACs set, the quoted IP header of an ICMP error translated too, and
 * then every checksum recomputed from scratch. Fragments with an L4 header
 * are refused: build their reference by fragmenting a translated datagram.
 */
export function referenceShadow(frame: Buffer, t: Translation): Expected {
  const pf = parseFrame(frame);
  const ip = pf.ip;
  if (!ip) return { action: 'drop', reason: 'not_ip' };
  if (ip.isFragment && ip.hasL4Header) {
    throw new Error('referenceShadow: first fragments need the whole datagram; fragment a translated datagram instead');
  }
  const v6 = ip.version === 6;
  const alen = v6 ? 16 : 4;
  const maps = v6 ? t.map6 : t.map4;
  const src = frame.subarray(ip.srcOffset, ip.srcOffset + alen);
  const dst = frame.subarray(ip.dstOffset, ip.dstOffset + alen);
  const nsrc = lookup(src, maps, v6);
  const ndst = lookup(dst, maps, v6);
  // DNS, mDNS and LLMNR payloads (rewrite_dns.h), judged before the unmapped rule as the data
  // plane does: what cannot be translated is not sent (the leak policy's default).
  const dns = referenceDns(frame, ip, t);
  if (dns === 'leak') return { action: 'drop', reason: 'leak' };
  if ((nsrc === null || ndst === null) && t.unmapped === 'drop') return { action: 'drop', reason: 'unmapped' };
  const out = Buffer.from(frame);
  let translated = dns.length > 0;
  for (const e of dns) e.bytes.copy(out, e.off);
  if (nsrc && !nsrc.equals(src)) {
    nsrc.copy(out, ip.srcOffset);
    translated = true;
  }
  if (ndst && !ndst.equals(dst)) {
    ndst.copy(out, ip.dstOffset);
    translated = true;
  }
  // The quoted header of an ICMP error: covered addresses only, never a drop.
  const isError = ip.hasL4Header && (v6 ? ip.proto === IPPROTO.icmpv6 && (out[ip.l4] as number) >= 1 && (out[ip.l4] as number) <= 4 : ip.proto === IPPROTO.icmp && ICMP4_ERRORS.has(out[ip.l4] as number));
  const inner = ip.l4 + 8;
  if (isError && inner + (v6 ? 40 : 20) <= Math.min(ip.end, out.length) && (out[inner] as number) >> 4 === ip.version) {
    const ihl = ((out[inner] as number) & 0x0f) * 4;
    if (v6 || ihl >= 20) {
      const before = Buffer.from(out.subarray(v6 ? inner + 8 : inner + 12, v6 ? inner + 40 : inner + 20));
      for (const off of v6 ? [inner + 8, inner + 24] : [inner + 12, inner + 16]) {
        const a = out.subarray(off, off + alen);
        const na = lookup(Buffer.from(a), maps, v6);
        if (na && !na.equals(a)) {
          na.copy(out, off);
          translated = true;
        }
      }
      // The quoted transport checksum follows its pseudo-header's addresses (RFC 1624 eqn. 3).
      const after = out.subarray(v6 ? inner + 8 : inner + 12, v6 ? inner + 40 : inner + 20);
      const qproto = v6 ? (out[inner + 6] as number) : (out[inner + 9] as number);
      const qhl = v6 ? 40 : ihl;
      const later = !v6 && (out.readUInt16BE(inner + 6) & 0x1fff) !== 0;
      const co = qproto === IPPROTO.tcp ? 16 : qproto === IPPROTO.udp ? 6 : v6 && qproto === IPPROTO.icmpv6 ? 2 : -1;
      const at = inner + qhl + co;
      if (co >= 0 && !later && !before.equals(after) && at + 2 <= Math.min(ip.end, out.length)) {
        const old = out.readUInt16BE(at);
        if (!(qproto === IPPROTO.udp && old === 0)) {
          let sum = ~old & 0xffff;
          for (let i = 0; i < before.length; i += 2) sum += (~before.readUInt16BE(i) & 0xffff) + after.readUInt16BE(i);
          while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
          let nw = ~sum & 0xffff;
          if (qproto === IPPROTO.udp && nw === 0) nw = 0xffff;
          out.writeUInt16BE(nw, at);
        }
      }
      if (!v6) {
        out.writeUInt16BE(0, inner + 10);
        out.writeUInt16BE(internetChecksum(out.subarray(inner, inner + ihl)), inner + 10);
      }
    }
  }
  // An all-zero shadow MAC means "keep the original" (rewrite_frame.h, 6.).
  const dstMac = mac(t.dstMac);
  const srcMac = mac(t.srcMac);
  if (dstMac.some((x) => x !== 0)) dstMac.copy(out, 0);
  if (srcMac.some((x) => x !== 0)) srcMac.copy(out, 6);
  recomputeChecksums(out);
  return { action: 'mirror', frame: out, translated };
}

/** The DNS payload's edits, or 'leak' when it cannot be translated (rewrite_payload.c's rules). */
function referenceDns(frame: Buffer, ip: NonNullable<ReturnType<typeof parseFrame>['ip']>, t: Translation): Array<{ off: number; bytes: Buffer }> | 'leak' {
  if (!ip.hasL4Header || ip.isFragment || (ip.proto !== IPPROTO.udp && ip.proto !== IPPROTO.tcp)) return [];
  if (ip.l4 + 4 > Math.min(frame.length, ip.end)) return [];
  const sp = frame.readUInt16BE(ip.l4);
  const dp = frame.readUInt16BE(ip.l4 + 2);
  const udp = ip.proto === IPPROTO.udp;
  const is = (p: number): boolean => sp === p || dp === p;
  if (!is(53) && !(udp && is(5353)) && !is(5355)) return [];
  let s: number;
  let e: number;
  if (udp) {
    s = ip.l4 + 8;
    e = ip.l4 + frame.readUInt16BE(ip.l4 + 4);
  } else {
    s = ip.l4 + (frame[ip.l4 + 12]! >> 4) * 4;
    e = ip.end;
  }
  const withLen = (maps: ReadonlyArray<PrefixMap>, v6: boolean) =>
    maps.map((m) => ({ from: v6 ? ip6(m.from) : ip4(m.from), to: v6 ? ip6(m.to) : ip4(m.to), len: m.len }));
  const lk = (a: Buffer, v6: boolean): { to: Buffer; len: number } | null => {
    const maps = v6 ? t.map6 : t.map4;
    const to = lookup(a, maps, v6);
    if (to === null) return null;
    const len = Math.max(...withLen(maps, v6).filter((m) => prefixMatch(a, m.from, m.len)).map((m) => m.len));
    return { to, len };
  };
  const r = dnsRef(frame, s, e, !udp, lk);
  return 'reason' in r ? 'leak' : r.edits;
}

/** The address a map gives `addr` (text in, text out), or null when no map covers it. */
export function translateAddress(addr: string, t: Pick<Translation, 'map4' | 'map6'>): string | null {
  const v6 = addr.includes(':');
  const out = lookup(v6 ? ip6(addr) : ip4(addr), v6 ? t.map6 : t.map4, v6);
  if (out === null) return null;
  return v6 ? ip6ToString(out) : ip4ToString(out);
}

/** The full translation settings with the documented defaults filled in. */
export function translation(o: Partial<Translation>): Translation {
  return withDefaults(o);
}

// ---- reporting ----------------------------------------------------------------

export function hex(b: Buffer): string {
  return b.toString('hex');
}

/** Where two frames first differ, for a failure message. */
export function describeDiff(expected: Buffer, got: Buffer): string {
  let i = 0;
  while (i < expected.length && i < got.length && expected[i] === got[i]) i++;
  const at = i < Math.max(expected.length, got.length) ? `first difference at byte ${i}` : 'identical';
  return `${at} (expected ${expected.length} bytes, got ${got.length})\n  expected ${hex(expected)}\n  got      ${hex(got)}`;
}

/** Compare frame lists one by one; returns readable problems, at most `max`. */
export function compareFrames(label: string, inputs: ReadonlyArray<Buffer>, expected: ReadonlyArray<Buffer>, got: ReadonlyArray<Buffer>, max = 5): string[] {
  const out: string[] = [];
  if (expected.length !== got.length) out.push(`${label}: expected ${expected.length} frames, got ${got.length}`);
  const n = Math.min(expected.length, got.length);
  for (let i = 0; i < n && out.length < max; i++) {
    const e = expected[i] as Buffer;
    const g = got[i] as Buffer;
    if (!e.equals(g)) {
      const input = inputs[i];
      out.push(`${label} frame ${i}: ${input ? `input ${hex(input)}\n  ` : ''}${describeDiff(e, g)}`);
    }
  }
  return out;
}

export function zeroDrops(): Record<DropReason, number> {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
}

export function zeroAnomalies(): Record<Anomaly, number> {
  return Object.fromEntries(ANOMALIES.map((a) => [a, 0])) as Record<Anomaly, number>;
}
