/**
 * The direct evaluator (classify_node.c: a few rules tested on the parsed key,
 * chosen at compile for groups with at most 6 rules) must decide every packet
 * exactly as rte_acl does. A seeded property: fast-check draws small policies
 * (two sessions, match: all, each with up to three rules (six in the group: the direct evaluator's bound) over protocols,
 * IP versions, IPv4 and IPv6 prefixes, port ranges, TCP flags, VLAN ranges and
 * ethertypes, accept or reject), and each one runs through the real data plane
 * twice on the same capture: as compiled (direct) and with forceAcl (rte_acl).
 * The shadow captures of both sessions must be the same bytes in the same
 * order, and the sessions' and rules' counters the same.
 *
 * The capture is built from the policy: for every rule, packets on both sides
 * of each edge it draws (the first and last port of a range and the ports just
 * outside, the first and last address of a prefix and the addresses just
 * outside, each flag pattern), plus a fixed set of shapes (VLAN, QinQ, IPv6,
 * ARP, ICMP, a later fragment, a runt), so an edge the direct evaluator gets
 * wrong by one changes a decision that rte_acl does not.
 */
import test from 'ava';
import fc from 'fast-check';
import type { NativePolicy } from '../../src/dataplane/native-types.js';
import { arp, ETHERTYPE, ether, ip6, ip6ToString, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { missingBuild, policy, rule, runPolicy, session, target, type RuleSpec } from '../helpers/policy-host.js';

const skip = missingBuild();
const M = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };

const V4_BASES = ['10.0.0.0', '10.1.2.0', '10.1.2.128', '192.168.7.0'];
const V6_BASES = ['fd00:1::', 'fd00:1:2::', 'fd00::'];
const PORTS = [0, 1, 53, 79, 80, 443, 1023, 1024, 40000, 65534, 65535];

const arbPrefix = fc.oneof(
  fc.record({ v: fc.constant(4 as const), base: fc.constantFrom(...V4_BASES), len: fc.integer({ min: 0, max: 32 }) }),
  fc.record({ v: fc.constant(6 as const), base: fc.constantFrom(...V6_BASES), len: fc.integer({ min: 1, max: 128 }) }),
);
// Two-sided ranges, and the one-sided ones policies write most ("up to 1023", "from 1024").
const arbRange = fc.oneof(
  fc.tuple(fc.constantFrom(...PORTS), fc.constantFrom(...PORTS)).map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]),
  fc.constantFrom(...PORTS).map((p) => [0, p] as [number, number]),
  fc.constantFrom(...PORTS).map((p) => [p, 65535] as [number, number]),
);

type Prefix = { v: 4 | 6; base: string; len: number };
interface DrawnRule {
  action: 'accept' | 'reject';
  ipVersion?: 0 | 4 | 6;
  proto?: number;
  src?: Prefix;
  dst?: Prefix;
  sport?: [number, number];
  dport?: [number, number];
  tcpFlags?: [number, number];
  vlan?: [number, number];
  ethertype?: number;
}

/** A field present in about 3 rules of 10: rules of a few fields meet the probes often enough to matter. */
const some = <T,>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: a });

const arbRule: fc.Arbitrary<DrawnRule> = fc
  .record({
    action: fc.constantFrom('accept' as const, 'reject' as const),
    ipVersion: some(fc.constantFrom(0 as const, 4 as const, 6 as const)),
    proto: some(fc.constantFrom(6, 17, 1)),
    src: some(arbPrefix),
    dst: some(arbPrefix),
    sport: some(arbRange),
    dport: some(arbRange),
    tcpFlags: some(fc.constantFrom<[number, number]>([0x02, 0x02], [0x10, 0x12], [0x00, 0x10])),
    vlan: some(fc.constantFrom<[number, number]>([0, 99], [100, 100], [101, 4095], [4096, 4096])),
    ethertype: some(fc.constantFrom(0x0800, 0x86dd, 0x0806)),
  })
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as DrawnRule);

const v4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const v4num = (a: string): number => a.split('.').reduce((n, x) => ((n << 8) | Number(x)) >>> 0, 0);

/** Host bits cleared, as the TypeScript compile gives them (IPv4; the IPv6 bases have none past any length drawn that matters). */
function network(p: Prefix): string {
  if (p.v === 4) {
    const m = p.len === 0 ? 0 : (0xffffffff << (32 - p.len)) >>> 0;
    return `${v4((v4num(p.base) & m) >>> 0)}/${p.len}`;
  }
  return `${p.base}/${p.len}`;
}

function toSpec(r: DrawnRule): RuleSpec {
  return {
    action: r.action,
    ...(r.ipVersion !== undefined ? { ipVersion: r.ipVersion } : {}),
    ...(r.proto !== undefined ? { proto: r.proto } : {}),
    ...(r.src ? { src: network(r.src) } : {}),
    ...(r.dst ? { dst: network(r.dst) } : {}),
    ...(r.sport ? { sport: r.sport } : {}),
    ...(r.dport ? { dport: r.dport } : {}),
    ...(r.tcpFlags ? { tcpFlags: r.tcpFlags } : {}),
    ...(r.vlan ? { vlan: r.vlan } : {}),
    ...(r.ethertype !== undefined ? { ethertype: r.ethertype } : {}),
  };
}

/** IPv4 addresses: the first and last of the prefix, then the two just outside it. */
function edges4(p: Prefix | undefined): string[] {
  if (!p || p.v !== 4) return ['10.1.2.3'];
  const m = p.len === 0 ? 0 : (0xffffffff << (32 - p.len)) >>> 0;
  const lo = (v4num(p.base) & m) >>> 0;
  const hi = (lo | ~m) >>> 0;
  return [lo, hi, (lo - 1) >>> 0, (hi + 1) >>> 0].map(v4);
}
/** IPv6 addresses: two inside the prefix (its base, its last address's low bit set), then one with bit len-1 flipped. */
function edges6(p: Prefix | undefined): string[] {
  if (!p || p.v !== 6) return ['fd00:1:2::9'];
  const a = ip6(p.base);
  const inside = Buffer.from(a);
  if (p.len < 128) inside[15]! |= 1;
  const out = Buffer.from(a);
  out[(p.len - 1) >> 3]! ^= 0x80 >> ((p.len - 1) & 7);
  return [ip6ToString(a), ip6ToString(inside), ip6ToString(out)];
}
const ICMP_ECHO = Buffer.from('0800f7ff00000000', 'hex');

interface Pkt { fam: 4 | 6; src: string; dst: string; proto: number; sport: number; dport: number; flags: number; vlan: number | null; arp: boolean }

function frame(p: Pkt): Buffer {
  const e = p.vlan === null ? M : { ...M, vlans: [p.vlan] };
  if (p.arp) return ether({ ...e, type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: M.src, senderIp: p.src, targetIp: p.dst }));
  const l4 = p.proto === 6 ? tcp({ sport: p.sport, dport: p.dport, flags: p.flags }) : p.proto === 1 && p.fam === 4 ? ICMP_ECHO : udp({ sport: p.sport, dport: p.dport });
  const proto = p.proto === 6 ? 6 : p.proto === 1 && p.fam === 4 ? 1 : 17;
  return p.fam === 4 ? ether(e, ipv4({ src: p.src, dst: p.dst, proto, payload: l4 })) : ether(e, ipv6({ src: p.src, dst: p.dst, nextHeader: proto, payload: l4 }));
}

/**
 * For one rule: a packet that meets every field (where the fields can be met
 * together), then that packet with one field at a time moved to each edge:
 * the other end of the range or prefix, and just outside it.
 */
function probes(r: DrawnRule): Buffer[] {
  const fam: 4 | 6 = r.src?.v ?? r.dst?.v ?? (r.ipVersion === 6 || r.ethertype === 0x86dd ? 6 : 4);
  const srcs = fam === 4 ? edges4(r.src) : edges6(r.src);
  const dsts = fam === 4 ? edges4(r.dst) : edges6(r.dst);
  const sp = r.sport ?? [80, 80];
  const dp = r.dport ?? [443, 443];
  const fl = r.tcpFlags ?? [0x10, 0];
  const vl = r.vlan ?? [4096, 4096];
  const base: Pkt = {
    fam, src: srcs[0]!, dst: dsts[0]!, proto: r.proto ?? 17, sport: sp[0], dport: dp[0], flags: fl[0], vlan: vl[0] === 4096 ? null : vl[0], arp: r.ethertype === 0x0806 && fam === 4,
  };
  const variants: Pkt[] = [base];
  for (const a of srcs.slice(1)) variants.push({ ...base, src: a });
  for (const a of dsts.slice(1)) variants.push({ ...base, dst: a });
  for (const p of [sp[1], sp[0] - 1, sp[1] + 1]) if (p >= 0 && p <= 65535) variants.push({ ...base, sport: p });
  for (const p of [dp[1], dp[0] - 1, dp[1] + 1]) if (p >= 0 && p <= 65535) variants.push({ ...base, dport: p });
  variants.push({ ...base, flags: fl[0] ^ (fl[1] || 0x02) }, { ...base, proto: base.proto === 6 ? 17 : 6 }, { ...base, arp: !base.arp && fam === 4 });
  for (const v of [vl[1], vl[0] - 1, vl[1] + 1, 4096]) if (v >= 0 && v <= 4096) variants.push({ ...base, vlan: v === 4096 ? null : v });
  if (fam === 4) variants.push({ ...base, fam: 6, src: 'fd00:1::1', dst: 'fd00:1:2::1', arp: false });
  return variants.map(frame);
}

const FIXED: Buffer[] = [
  ether({ ...M, vlans: [99, 101] }, ipv4({ src: '10.0.0.1', dst: '10.1.2.200', payload: udp({ sport: 53, dport: 53 }) })),
  ether(M, ipv4({ src: '10.0.5.5', dst: '10.0.6.6', proto: 17, fragOffset: 8, payload: Buffer.alloc(24) })),
  Buffer.from('0200000000020200000000', 'hex'),
];

/** The capture for a policy: every rule's probes, and a few shapes of their own (QinQ, a later fragment, a runt). */
function capture(rules: DrawnRule[]): Buffer[] {
  return [...FIXED, ...rules.flatMap(probes)];
}

function build(s0: DrawnRule[], s1: DrawnRule[], forceAcl: boolean): NativePolicy {
  let slot = 0;
  return {
    ...policy({
      matchAll: true,
      sessions: [session({ slot: 0, target: 0 }), session({ slot: 1, target: 1 })],
      rules: [...s0.map((r) => rule(0, slot++, toSpec(r))), ...s1.map((r) => rule(1, slot++, toSpec(r)))],
      targets: [target([2]), target([3])],
    }),
    ...(forceAcl ? { forceAcl: true } : {}),
  };
}

const hex = (fs: Buffer[]): string[] => fs.map((f) => f.toString('hex'));

// 16 policies in four serial parts of four, seeded: each part reports within the suite's
// timeout on a loaded machine (each policy is two data-plane starts).
for (const part of [0, 1, 2, 3]) {
  test.serial(`direct evaluator and rte_acl decide every packet alike (seeded property, part ${part + 1} of 4)`, async (t) => {
    if (skip) return t.fail(skip);
    t.timeout(600_000);
    // At most 6 rules in the group: both sessions are decided by the direct evaluator.
    const arbSession = fc.array(arbRule, { minLength: 1, maxLength: 3 });
    // A first rule that matches everything decides its session without a classifier ("none").
    const wild = (r: DrawnRule): boolean => Object.entries(r).every(([k, v]) => k === 'action' || (k === 'ipVersion' && v === 0));
    const same = (what: string, a: unknown, b: unknown): void => {
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what} differ:\n direct ${JSON.stringify(a).slice(0, 400)}\n rte_acl ${JSON.stringify(b).slice(0, 400)}`);
    };
    let runs = 0;
    let copies = 0;
    let frames = 0;
    await fc.assert(
      fc.asyncProperty(arbSession, arbSession, async (s0, s1) => {
        runs++;
        const fr = capture([...s0, ...s1]);
        const direct = await runPolicy(fr, build(s0, s1, false), { shadowPorts: 2 });
        const acl = await runPolicy(fr, build(s0, s1, true), { shadowPorts: 2 });
        same('classifiers (direct run)', direct.policy.classifiers?.slice(0, 2), [s0, s1].map((s) => (wild(s[0]!) ? 'none' : 'direct')));
        same('classifiers (forced run)', acl.policy.classifiers?.slice(0, 2), [s0, s1].map((s) => (wild(s[0]!) ? 'none' : 'acl')));
        same('session 0 copies', hex(direct.shadow[0]!), hex(acl.shadow[0]!));
        same('session 1 copies', hex(direct.shadow[1]!), hex(acl.shadow[1]!));
        same('rule hits', direct.policy.ruleHits.slice(0, s0.length + s1.length), acl.policy.ruleHits.slice(0, s0.length + s1.length));
        same('session counters', direct.policy.sessions.slice(0, 2), acl.policy.sessions.slice(0, 2));
        copies += direct.shadow[0]!.length + direct.shadow[1]!.length;
        frames += 2 * fr.length;
        return true;
      }),
      { seed: 0x5eed15 + part, numRuns: 4, endOnFailure: true },
    );
    t.is(runs, 4);
    // The property says nothing if every rule took or refused everything: some copies, not all.
    t.true(copies > 0, 'some packets were copied');
    t.true(copies < frames, 'some packets were not');
  });
}

test('a policy over 6 rules in a group takes rte_acl; 6 or fewer, the direct evaluator', async (t) => {
  if (skip) return t.fail(skip);
  const frames = [...capture([]), ...[3, 5, 6].map((p) => ether(M, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', payload: udp({ sport: 1, dport: p }) })))];
  const seven = Array.from({ length: 7 }, (_, i) => rule(0, i, { proto: 17, dport: [i, i] }));
  const big = await runPolicy(frames, policy({ sessions: [session({ slot: 0 })], rules: seven }));
  t.is(big.policy.classifiers?.[0], 'acl');
  const small = await runPolicy(frames, policy({ sessions: [session({ slot: 0 })], rules: seven.slice(0, 6) }));
  t.is(small.policy.classifiers?.[0], 'direct');
  const none = await runPolicy(frames, policy({ sessions: [session({ slot: 0 })], rules: [rule(0, 0)] }));
  t.is(none.policy.classifiers?.[0], 'none');
  // Rule i accepts UDP to port i: the later fragment (no L4 header: ports read 0) and the probes to 3, 5 (and 6: the seventh rule).
  t.is(small.shadow[0]!.length, 3, 'the fragment, UDP to ports 3 and 5 (not 6)');
  t.is(big.shadow[0]!.length, 4, 'the fragment, UDP to ports 3, 5 and 6');
  t.is(none.shadow[0]!.length, frames.length - 1, 'the catch-all copies all but the runt');
});
