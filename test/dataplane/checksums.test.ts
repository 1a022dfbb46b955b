/**
 * (d) Incremental checksum updates (RFC 1624, in the data plane) against full
 * recomputation (the builder, here): a few hundred random TCP/UDP/ICMP/ICMPv6
 * packets over several maps of odd prefix lengths, plus hand-made edge cases
 * where the result lands on 0x0000/0xFFFF. Every shadow frame must be
 * byte-identical to the reference.
 */
import test from 'ava';
import {
  ether,
  icmp,
  icmpEcho,
  icmpError,
  icmpv6Echo,
  icmpv6Error,
  internetChecksum,
  ip4,
  ip6ToString,
  ipv4,
  ipv6,
  parseFrame,
  tcp,
  udp,
  type EtherOptions,
  type Transport,
} from '../../src/pcap/build.js';
import { hex, referenceShadow, runDataplane, translation, type Translation } from '../helpers/dataplane.js';
import { testSeed } from '../helpers/seed.js';
import { badChecksums, decodePcapFile } from '../helpers/tshark.js';

const TR: Translation = translation({
  map4: [
    { from: '10.0.0.0', to: '10.99.0.0', len: 16 },
    { from: '10.0.5.0', to: '10.77.5.0', len: 24 }, // longer prefix inside the /16 wins
    { from: '10.0.64.0', to: '10.88.32.0', len: 19 }, // not on a byte boundary
    { from: '172.16.0.0', to: '172.32.0.0', len: 12 },
    { from: '192.168.1.128', to: '192.168.200.0', len: 25 },
  ],
  map6: [
    { from: 'fd00::', to: 'fd99::', len: 16 },
    { from: 'fd00:ab::', to: 'fd12:34::', len: 32 },
    { from: 'fd00:8000::', to: 'fd55::', len: 17 }, // not on a byte boundary
    { from: '2001:db8:1::', to: '2001:db8:ffff::', len: 48 },
    { from: 'fd00:1:2:3::', to: 'fd77:1:2:3::', len: 61 },
  ],
  unmapped: 'drop',
});

/** mulberry32: small, seeded, reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fixed unless ST_TEST_SEED is set (docs/testing.md). */
const SEED = testSeed(0x5eed2024);

function gen(seed: number): Buffer[] {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const v4 = (): string => {
    const net = pick([
      [10, 0],
      [10, 0, 5],
      [10, 0, 64 + int(32)],
      [172, 16 + int(16)],
      [192, 168, 1, 128 + int(128)],
    ]);
    const parts = [...net];
    while (parts.length < 4) parts.push(int(256));
    // Host-part edge values now and then.
    if (r() < 0.1) parts[3] = net.length < 4 ? pick([0, 255]) : pick([128, 255]);
    return parts.join('.');
  };
  const v6 = (): string => {
    const b = bytes(16);
    const prefix = pick([
      [0xfd, 0x00],
      [0xfd, 0x00, 0x00, 0xab],
      [0xfd, 0x00, 0x80 | int(128)],
      [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01],
      [0xfd, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03 | (int(2) << 2)],
    ]);
    prefix.forEach((x, i) => (b[i] = x));
    if (r() < 0.1) b.fill(r() < 0.5 ? 0 : 0xff, 8);
    return ip6ToString(b);
  };
  const eth = (): EtherOptions => ({
    src: '02:00:00:00:00:01',
    dst: '02:00:00:00:00:02',
    vlans: r() < 0.15 ? [1 + int(4094)] : undefined,
  });
  const frames: Buffer[] = [];
  for (let i = 0; i < 400; i++) {
    const payload = bytes(int(4) === 0 ? 0 : int(300));
    const sport = int(65536);
    const dport = int(65536);
    if (r() < 0.55) {
      const src = v4();
      const dst = v4();
      const kind = int(5);
      let l4: Transport;
      if (kind === 0 || kind === 1) l4 = tcp({ sport, dport, seq: int(2 ** 32), ack: int(2 ** 32), flags: pick(['S', 'SA', 'A', 'PA', 'FA', 'R']), window: int(65536), payload });
      else if (kind === 2) l4 = udp({ sport, dport, payload, checksum: r() < 0.15 ? 0 : undefined });
      else if (kind === 3) l4 = icmpEcho({ id: int(65536), seq: int(65536), payload, reply: r() < 0.5 });
      else {
        const inner = ipv4({ src: dst, dst: r() < 0.8 ? v4() : '192.0.2.77', ttl: 1, payload: udp({ sport, dport, payload: payload.subarray(0, 8) }) });
        l4 = icmpError({ type: pick([3, 11, 12]), code: int(4), inner });
      }
      frames.push(ether(eth(), ipv4({ src, dst, id: int(65536), ttl: 1 + int(255), df: r() < 0.5, payload: l4 })));
    } else {
      const src = v6();
      const dst = v6();
      const kind = int(5);
      let l4: Transport;
      if (kind === 0 || kind === 1) l4 = tcp({ sport, dport, seq: int(2 ** 32), flags: pick(['S', 'A', 'PA']), payload });
      else if (kind === 2) l4 = udp({ sport, dport, payload });
      else if (kind === 3) l4 = icmpv6Echo({ id: int(65536), seq: int(65536), payload, reply: r() < 0.5 });
      else {
        const inner = ipv6({ src: dst, dst: r() < 0.8 ? v6() : '2001:db8:9::1', payload: udp({ sport, dport, payload: payload.subarray(0, 8) }) });
        l4 = icmpv6Error({ type: pick([1, 3, 4]), code: int(3), inner });
      }
      frames.push(ether(eth(), ipv6({ src, dst, hopLimit: 1 + int(255), flowLabel: int(2 ** 20), payload: l4 })));
    }
  }
  return frames;
}

const E: EtherOptions = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };

/**
 * A datagram whose checksum after translation (full recomputation) is 0x0000
 * (TCP) or 0x0000→0xFFFF (UDP): two payload bytes are chosen so the translated
 * one's-complement sum is 0xFFFF.
 */
function landsOnZero(kind: 'tcp' | 'udp', family: 4 | 6, originalAlsoZero = false): Buffer {
  const [src, dst] = family === 4 ? ['10.0.1.5', '10.0.2.6'] : ['fd00:10::5', 'fd00:20::6'];
  const build = (word: number): Buffer => {
    const payload = Buffer.alloc(10, 0x11);
    payload.writeUInt16BE(word, 4);
    const l4 = kind === 'tcp' ? tcp({ sport: 1000, dport: 2000, seq: 3, payload }) : udp({ sport: 1000, dport: 2000, payload });
    return ether(E, family === 4 ? ipv4({ src, dst, payload: l4 }) : ipv6({ src, dst, payload: l4 }));
  };
  const target = (frame: Buffer): number => {
    // one's-complement sum of the L4 checksum input with the payload word at 0
    const p = parseFrame(frame);
    const ip = p.ip!;
    const alen = family === 4 ? 4 : 16;
    const seg = Buffer.from(frame.subarray(ip.l4, ip.end));
    seg.writeUInt16BE(0, kind === 'tcp' ? 16 : 6);
    const pseudo = Buffer.alloc(family === 4 ? 12 : 40);
    frame.copy(pseudo, 0, ip.srcOffset, ip.srcOffset + alen);
    frame.copy(pseudo, alen, ip.dstOffset, ip.dstOffset + alen);
    if (family === 4) {
      pseudo[9] = kind === 'tcp' ? 6 : 17;
      pseudo.writeUInt16BE(seg.length, 10);
    } else {
      pseudo.writeUInt32BE(seg.length, 32);
      pseudo[39] = kind === 'tcp' ? 6 : 17;
    }
    return ~internetChecksum(pseudo, seg) & 0xffff;
  };
  const base = build(0);
  const ref = referenceShadow(base, TR);
  if (ref.action !== 'mirror') throw new Error('edge case not mirrored');
  // Make the sum over the (translated or original) datagram exactly 0xFFFF.
  const s = target(originalAlsoZero ? base : ref.frame);
  return build((0xffff - s) & 0xffff);
}

test.serial('incremental checksums equal full recomputation, byte for byte', async (t) => {
  t.log(`seed 0x${SEED.toString(16)} (repeat with ST_TEST_SEED=0x${SEED.toString(16)})`);
  const random = gen(SEED);
  const edges = [
    landsOnZero('tcp', 4),
    landsOnZero('udp', 4),
    landsOnZero('tcp', 6),
    landsOnZero('udp', 6),
    landsOnZero('udp', 4, true),
    landsOnZero('udp', 6, true),
    landsOnZero('tcp', 4, true),
  ];
  const quoted4 = ipv4({ src: '10.0.2.6', dst: '10.0.1.5', options: Buffer.from([0x94, 4, 0, 0]), payload: udp({ sport: 1, dport: 2, payload: Buffer.alloc(8) }) });
  const quoted6 = ipv6({ src: 'fd00:20::6', dst: 'fd00:10::5', payload: udp({ sport: 1, dport: 2, payload: Buffer.alloc(8) }) });
  const A4 = { src: '10.0.1.5', dst: '10.0.2.6' };
  const A6 = { src: 'fd00:10::5', dst: 'fd00:20::6' };
  const others = [
    // UDP without checksum stays without, over IPv4 and (RFC 6936) IPv6.
    ether(E, ipv4({ ...A4, payload: udp({ sport: 1, dport: 2, checksum: 0, payload: Buffer.from('none') }) })),
    ether(E, ipv6({ ...A6, payload: udp({ sport: 1, dport: 2, checksum: 0, payload: Buffer.from('none') }) })),
    // Quoted headers: with options, cut short (left alone), redirect (gateway not translated).
    ether(E, ipv4({ ...A4, payload: icmpError({ type: 3, code: 1, inner: quoted4 }) })),
    ether(E, ipv4({ ...A4, payload: icmpError({ type: 11, inner: quoted4.subarray(0, 12) }) })),
    ether(E, ipv4({ ...A4, payload: icmp({ type: 5, code: 1, rest: ip4('10.0.0.1'), payload: quoted4 }) })),
    ether(E, ipv6({ ...A6, payload: icmpv6Error({ type: 1, inner: quoted6.subarray(0, 30) }) })),
    ether(E, ipv6({ ...A6, payload: icmpv6Error({ type: 2, mtu: 1280, inner: quoted6 }) })),
  ];
  const frames = [...random, ...edges, ...others];
  // Sanity of the edge cases themselves: the reference lands where intended.
  const edgeRefs = edges.map((f) => referenceShadow(f, TR));
  const cs = (f: Buffer): number => {
    const p = parseFrame(f).ip!;
    return f.readUInt16BE(p.l4 + (p.proto === 6 ? 16 : 6));
  };
  edgeRefs.slice(0, 4).forEach((e, i) => t.is(e.action === 'mirror' ? cs(e.frame) : -1, i % 2 === 0 ? 0x0000 : 0xffff, `edge ${i}`));
  t.is(cs(edges[4] as Buffer), 0xffff, 'UDP/IPv4 that already carried 0xFFFF');

  const expected = frames.map((f) => referenceShadow(f, TR));
  const mirroredIdx = expected.flatMap((e, i) => (e.action === 'mirror' ? [i] : []));
  t.true(mirroredIdx.length >= 300, `${mirroredIdx.length} packets mirrored`);
  const dropped = frames.filter((_, i) => expected[i]?.action === 'drop').map(hex);
  t.deepEqual(dropped, [], 'every outer address is inside a map');

  const run = await runDataplane({ frames, ...TR });
  t.teardown(run.dispose);

  const problems: string[] = [];
  if (run.shadow.length !== mirroredIdx.length) problems.push(`expected ${mirroredIdx.length} shadow frames, got ${run.shadow.length}`);
  mirroredIdx.forEach((fi, k) => {
    const e = expected[fi];
    const g = run.shadow[k];
    if (e?.action !== 'mirror' || !g) return;
    if (!g.equals(e.frame)) {
      problems.push(`input frame ${fi} (seed 0x${SEED.toString(16)}): input ${hex(frames[fi] as Buffer)}\n  expected ${hex(e.frame)}\n  got      ${hex(g)}`);
    }
  });
  t.deepEqual(problems.slice(0, 10), [], `${problems.length} mismatches in total`);

  // tshark agrees with both: no bad outer checksum. ICMP errors are left out
  // of the inner L4 check: the quoted L4 header is documented as untouched.
  const rows = await decodePcapFile(run.shadowPath);
  const bad = badChecksums(rows).filter((b) => !/(tcp|udp)\.checksum\.status\[\d+\] bad$/.test(b) || !isIcmpError(rows, b));
  t.deepEqual(bad, []);
  t.is(run.stats.mirrorPackets, mirroredIdx.length);
  t.is(run.stats.translatedPackets, expected.filter((e) => e.action === 'mirror' && e.translated).length);
});

function isIcmpError(rows: Awaited<ReturnType<typeof decodePcapFile>>, problem: string): boolean {
  const n = Number(/^frame (\d+):/.exec(problem)?.[1]);
  const row = rows[n - 1];
  if (!row) return false;
  const t4 = Number(row.fields['icmp.type'][0] ?? -1);
  const t6 = Number(row.fields['icmpv6.type'][0] ?? -1);
  return [3, 4, 5, 11, 12].includes(t4) || (t6 >= 1 && t6 <= 4);
}
