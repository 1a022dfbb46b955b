/**
 * Payload punts on the emulated NIC (issue 17): the demo's DNS, BGP and OSPF
 * conversations and a malformed DNS message (the placement test's padding
 * sent to port 53), each direction of each DNS and BGP conversation a session
 * the mlx5-like E-Switch mirrors and rewrites on its own. Without the punts
 * the NIC copied those payloads with only their headers translated (a DNS
 * answer's 10.0.2.21, the malformed message the software path refuses); with
 * them the shadow output is the software path's, byte for byte (as a
 * multiset: docs/offload.md), tshark finds every checksum good and every
 * DNS, BGP and OSPF address translated, the leak audit finds nothing, and
 * production is forwarded byte for byte.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateConfig } from '../../src/config/load.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { ether, ipv4, tcp, udp } from '../../src/pcap/build.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { productionPrefixes, scanFrames } from '../../src/audit/leak.js';
import type { PlacementPlan } from '../../src/offload/planner.js';
import { leftovers, makeSupervisor, missingBuild, scratch, until, untilReplayed } from '../helpers/supervised.js';
import { routingAddresses } from '../helpers/routing-check.js';
import { badChecksums, decodePcapFile, requireTshark } from '../helpers/tshark.js';

const skip = missingBuild();
const execFileP = promisify(execFile);

interface Flow { proto: number; src: string; dst: string; v6: boolean }

/** A frame's IP protocol and addresses (untagged Ethernet: the demo has no VLANs). */
function flowOf(f: Buffer): Flow | null {
  const type = f.readUInt16BE(12);
  if (type === 0x0800) return { proto: f[23]!, src: [...f.subarray(26, 30)].join('.'), dst: [...f.subarray(30, 34)].join('.'), v6: false };
  if (type !== 0x86dd) return null;
  const a = (o: number) => Array.from({ length: 8 }, (_, i) => f.readUInt16BE(o + 2 * i).toString(16)).join(':');
  return { proto: f[20]!, src: a(22), dst: a(38), v6: true };
}

function ports(f: Buffer, fl: Flow): [number, number] {
  const l4 = fl.v6 ? 54 : 14 + (f[14]! & 0xf) * 4;
  return [f.readUInt16BE(l4), f.readUInt16BE(l4 + 2)];
}

/** The demo's DNS (53), BGP (179) and OSPF frames. */
function payloadFrames(): Buffer[] {
  return buildDemoFrames().filter((f) => {
    const fl = flowOf(f);
    if (!fl) return false;
    if (fl.proto === 89) return true;
    if (fl.proto !== 6 && fl.proto !== 17) return false;
    const [sp, dp] = ports(f, fl);
    return sp === 53 || dp === 53 || (fl.proto === 6 && (sp === 179 || dp === 179));
  });
}

const A = '10.0.1.10';
const NS = '10.0.0.53';
const B = '10.0.2.20';

function frames(round: number): Buffer[] {
  const out = payloadFrames();
  for (let i = 0; i < 20; i++) {
    // The placement test's case: padding sent to port 53 is no DNS message; the
    // software path refuses it (leak, malformed), the NIC copied it.
    const pad = Buffer.alloc(1 + (i % 40), (i + round) & 0xff);
    out.push(ether({ src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' }, ipv4({ src: A, dst: NS, id: i, payload: udp({ sport: 10000 + (i % 7), dport: 53, payload: pad }) })));
    // and a flow that carries no payload kind: the NIC's to copy
    out.push(ether({ src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' }, ipv4({ src: A, dst: B, id: 100 + i, payload: tcp({ sport: 40000, dport: 80, seq: round * 1000 + i * 10, flags: 'PA', payload: pad }) })));
  }
  return out;
}

/** One session per direction of each TCP/UDP conversation (exact hosts: the E-Switch can rewrite them), one for OSPF. */
function sessionsFor(input: readonly Buffer[]) {
  const seen = new Map<string, Record<string, unknown>>();
  for (const f of input) {
    const fl = flowOf(f);
    if (!fl || (fl.proto !== 6 && fl.proto !== 17)) continue;
    const len = fl.v6 ? 128 : 32;
    const filter = { protocol: fl.proto === 6 ? 'tcp' : 'udp', src: `${fl.src}/${len}`, dst: `${fl.dst}/${len}` };
    seen.set(JSON.stringify(filter), filter);
  }
  const out: Record<string, unknown>[] = [...seen.values()].map((filter, i) => ({ id: i + 1, target: 'lab', filters: [filter] }));
  out.push({ id: 100, target: 'lab', filters: [{ protocol: 'ospf' }] });
  return out;
}

function config(dir: string, input: string, sessions: Record<string, unknown>[], family: string, sw: boolean) {
  const profile = join(dir, `${family}.sim`);
  writeFileSync(profile, renderSimProfile(defaultProfiles().byFamily(family)!));
  const dom = sw ? ',switch_domain=7' : '';
  return validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_shadowsim0,profile=${profile},rx_pcap=${input}${dom}`, egress: 'prod-out', rx_desc: 512, tx_desc: 512, rx_pps: 2000 },
      { name: 'prod-out', device: `net_shadowsim1,profile=${profile},tx_pcap=${join(dir, `prod-${family}.pcap`)}`, role: 'egress', rx_desc: 512, tx_desc: 512 },
      { name: 'shadow0', device: `net_shadowsim2,profile=${profile},tx_pcap=${join(dir, `shadow-${family}.pcap`)}${dom}`, role: 'shadow', rx_desc: 512, tx_desc: 512 },
    ],
    // Control-plane translation off, so the E-Switch can write the shadow MACs
    // (placements.test.ts); unmapped: mirror, so OSPF to 224.0.0.5 is mirrored.
    translate: {
      ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
      control_plane: { arp: false, dhcp: false, nd: false }, unmapped: 'mirror',
    },
    sessions,
    targets: [{ name: 'lab', ports: ['shadow0'] }],
  });
}

interface Run { plan: PlacementPlan; prod: Buffer[]; shadow: Buffer[]; shadowPath: string; nicDecided: number; puntHits: number; leakDropped: number }

async function runOnce(dir: string, input: string, total: number, sessions: Record<string, unknown>[], family: string, sw: boolean): Promise<Run> {
  const prefixBase = `st_ppunt_${family}_${process.pid}`;
  const sup = makeSupervisor(prefixBase, config(dir, input, sessions, family, sw));
  try {
    await sup.start();
    await sup.offloadSettled();
    const plan = sup.offloadPlan()!;
    await untilReplayed(sup, family, total, { timeoutMs: 60_000 });
    const puntIds = new Set(plan.rules.filter((r) => r.group.endsWith('/punt')).map((r) => r.id));
    const puntHits = () => sup.offloadStats().hits.filter((h) => puntIds.has(h.rule)).reduce((a, h) => a + h.hits, 0);
    if (puntIds.size > 0) await until(`${family}: punt counters polled`, () => puntHits() > 0, 10_000, 100).catch(() => undefined);
    const st = sup.stats();
    const hits = puntHits();
    await sup.stop();
    return {
      plan,
      prod: readPcap(join(dir, `prod-${family}.pcap`)).packets.map((p) => p.data),
      shadow: readPcap(join(dir, `shadow-${family}.pcap`)).packets.map((p) => p.data),
      shadowPath: join(dir, `shadow-${family}.pcap`),
      nicDecided: st.nicDecided,
      puntHits: hits,
      leakDropped: st.dropped.leak,
    };
  } finally {
    await sup.stop();
  }
}

const sorted = (xs: Buffer[]) => xs.map((b) => b.toString('hex')).sort();
const PROD = productionPrefixes({ ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] });
const production = (a: string) => /^10\.0\./.test(a) || /^fd00:/i.test(a);

test.serial('NIC-made copies carry no untranslated DNS, BGP or OSPF payload: punted to software, the same output as software alone', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('payload-punts');
  try {
    const rounds = 12;
    const all = Array.from({ length: rounds }, (_, r) => frames(r)).flat();
    const input = join(s.dir, 'input.pcap');
    writePcap(input, all);
    const sessions = sessionsFor(all);
    const hw = await runOnce(s.dir, input, all.length, sessions, 'mlx5', true);
    const soft = await runOnce(s.dir, input, all.length, sessions, 'net_null', false);

    const paths = new Map(hw.plan.sessions.map((x) => [x.session, x.path]));
    t.true([...paths.entries()].filter(([id]) => id !== 100).every(([, p]) => p === 'hardware'), JSON.stringify([...paths]));
    t.not(paths.get(100), 'hardware', 'OSPF is not TCP or UDP: the E-Switch cannot rewrite it the same');
    t.log(`hardware run: NIC decided ${hw.nicDecided}, punt rule hits ${hw.puntHits}, leak drops ${hw.leakDropped}; software: leak drops ${soft.leakDropped}`);
    t.true(hw.nicDecided > 0, 'the NIC copied the flow that carries no payload kind');

    for (const [name, r] of [['hardware', hw], ['software', soft]] as const) {
      t.is(r.prod.length, all.length, `${name}: every production packet forwarded`);
      t.true(r.prod.every((b, i) => b.equals(all[i]!)), `${name}: production byte for byte, in order`);
    }

    // tshark: checksums, and every DNS, BGP and OSPF address it decodes.
    const dec = await decodePcapFile(hw.shadowPath);
    t.is(dec.length, hw.shadow.length);
    t.deepEqual(badChecksums(dec), []);
    t.false(dec.some((d) => d.malformed), 'tshark reads every copy whole');
    const { stdout } = await execFileP(requireTshark(), ['-r', hw.shadowPath, '-Y', 'dns', '-T', 'fields', '-E', 'separator=,', '-e', 'dns.a', '-e', 'dns.aaaa'], { maxBuffer: 64 << 20 });
    const dnsAddrs = stdout.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);
    t.true(dnsAddrs.length >= rounds * 8, `DNS answers decoded: ${dnsAddrs.length}`);
    t.deepEqual(dnsAddrs.filter(production), [], 'no DNS answer names a production address');
    const rt = await routingAddresses(hw.shadowPath);
    t.true(rt.some((a) => a.field.startsWith('bgp.')) && rt.some((a) => a.field.startsWith('ospf.')), 'BGP and OSPF addresses decoded');
    t.deepEqual(rt.filter((a) => production(a.value)).map((a) => `${a.frame}: ${a.field} ${a.value}`), []);
    // The leak audit: "header" findings are bytes across fields (demo.test.ts).
    t.deepEqual(scanFrames(hw.shadow, PROD).filter((f) => f.kind !== 'header'), [], 'leak audit: nothing');
    t.true(hw.puntHits > 0, 'payload packets met the punt rules');
    t.true(soft.leakDropped >= 20 * rounds, 'the software path refuses the malformed DNS messages');
    t.is(hw.leakDropped, soft.leakDropped, 'and so does the hardware run: they were punted');
    t.is(hw.shadow.length, soft.shadow.length);
    t.deepEqual(sorted(hw.shadow), sorted(soft.shadow), 'hardware == software');
    // and the plan says what it did
    t.is(hw.plan.controlPlane.find((c) => c.classes.includes('dns'))?.placement, 'hybrid');
    t.true(hw.plan.sessions.some((x) => x.pieces.some((p) => p.kind === 'punt' && /^DNS/.test(p.reason))));
  } finally {
    s.dispose();
  }
  t.deepEqual(['mlx5', 'net_null'].flatMap((f) => leftovers(`st_ppunt_${f}_${process.pid}`)), []);
});
