/**
 * Range edges through the REAL data plane: for every kind of range a rule
 * can hold (source and destination ports, VLAN ids, IPv4 and IPv6 prefixes),
 * frames just outside the low end, on it, on the high end and just outside
 * it (lo-1, lo, hi, hi+1; first and last address of a prefix and the ones
 * around it), through the classifier (sessions' filters) and through the
 * shadow firewall (security rules). An off-by-one in either bound of any of
 * them makes exactly one of those frames land on the wrong side.
 *
 * What each session or rule should take is worked out here from the frames'
 * description (plain integer comparisons, BigInt prefixes), not from the
 * compiler or the data plane; what was copied is read back by tshark
 * (IPv4 id / IPv6 hop limit name each frame).
 */
import test from 'ava';
import { ether, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { decodeFields, missingBuild, PROD_MAC, runConfig, sessionCounters } from '../helpers/policy-run.js';

const skip = missingBuild();
const M = PROD_MAC;

interface F {
  key: string;
  frame: Buffer;
  v: 4 | 6;
  proto: 6 | 17;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  vlan?: number;
}

const frames: F[] = [];
let nextId = 1;
let nextHlim = 1;

function add4(o: { proto?: 6 | 17; src?: string; dst?: string; sport?: number; dport?: number; vlan?: number }): void {
  const f = { proto: 17 as 6 | 17, src: '10.0.1.1', dst: '10.0.2.2', sport: 7, dport: 9, ...o };
  const id = nextId++;
  const l4 = f.proto === 6 ? tcp({ sport: f.sport, dport: f.dport, flags: 'A' }) : udp({ sport: f.sport, dport: f.dport, payload: Buffer.alloc(8) });
  frames.push({
    key: `v4:${id}`, v: 4, ...f,
    frame: ether({ ...M, ...(f.vlan !== undefined ? { vlans: [f.vlan] } : {}) }, ipv4({ src: f.src, dst: f.dst, id, payload: l4 })),
  });
}

function add6(o: { src?: string; dst?: string; sport?: number; dport?: number }): void {
  const f = { proto: 17 as const, src: 'fd00::1', dst: 'fd00:1::1', sport: 7, dport: 9, ...o };
  const hlim = nextHlim++;
  frames.push({
    key: `v6:${hlim}`, v: 6, ...f,
    frame: ether(M, ipv6({ src: f.src, dst: f.dst, hopLimit: hlim, payload: udp({ sport: f.sport, dport: f.dport, payload: Buffer.alloc(8) }) })),
  });
}

// Ports: lo-1, lo, hi, hi+1 (the top range ends at 65535, which has no hi+1).
for (const sport of [999, 1000, 2000, 2001]) for (const proto of [17, 6] as const) add4({ proto, sport });
for (const dport of [2999, 3000, 4000, 4001]) for (const proto of [17, 6] as const) add4({ proto, dport });
for (const dport of [64999, 65000, 65535]) add4({ dport });
for (const sport of [999, 1000, 2000, 2001]) add6({ sport });
for (const dport of [2999, 3000, 4000, 4001]) add6({ dport });
// VLAN ids around 100-200, and untagged (the frames above).
for (const vlan of [99, 100, 200, 201]) add4({ vlan });
// IPv4 prefixes: 10.0.4.0/22 (first and last address, the ones just outside) and a /32.
for (const src of ['10.0.3.255', '10.0.4.0', '10.0.7.255', '10.0.8.0']) add4({ src });
for (const dst of ['10.0.9.8', '10.0.9.9', '10.0.9.10']) add4({ dst });
// IPv6 prefixes: a /60 (edges in the key's second 32-bit word) and a /125 (in the last).
for (const dst of ['fd00:0:0:f:ffff:ffff:ffff:ffff', 'fd00:0:0:10::', 'fd00:0:0:1f:ffff:ffff:ffff:ffff', 'fd00:0:0:20::']) add6({ dst });
for (const src of ['fd00::7', 'fd00::8', 'fd00::f', 'fd00::10']) add6({ src });

const v4n = (a: string): bigint => a.split('.').reduce((x, o) => (x << 8n) | BigInt(o), 0n);
function v6n(a: string): bigint {
  const [head = '', tail] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const tl = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.reduce((x, g) => (x << 16n) | BigInt(parseInt(g, 16)), 0n);
}
/** Whether `a` is inside `prefix/len` (same family only). */
function within(a: string, prefix: string, len: number): boolean {
  const six = prefix.includes(':');
  if (a.includes(':') !== six) return false;
  const bits = BigInt(six ? 128 : 32);
  const n = six ? v6n : v4n;
  const shift = bits - BigInt(len);
  return n(a) >> shift === n(prefix) >> shift;
}
const inRange = (x: number, lo: number, hi: number): boolean => x >= lo && x <= hi;

interface Case { id: number; what: string; filter: Record<string, unknown>; takes: (f: F) => boolean }

const CLASSIFIER: Case[] = [
  { id: 1, what: 'src_ports 1000-2000', filter: { src_ports: '1000-2000' }, takes: (f) => inRange(f.sport, 1000, 2000) },
  { id: 2, what: 'dst_ports 3000-4000', filter: { dst_ports: '3000-4000' }, takes: (f) => inRange(f.dport, 3000, 4000) },
  { id: 3, what: 'dst_ports 65000-65535', filter: { dst_ports: '65000-65535' }, takes: (f) => inRange(f.dport, 65000, 65535) },
  { id: 4, what: 'vlan 100-200', filter: { vlan: '100-200' }, takes: (f) => f.vlan !== undefined && inRange(f.vlan, 100, 200) },
  { id: 5, what: 'src 10.0.4.0/22', filter: { src: '10.0.4.0/22' }, takes: (f) => within(f.src, '10.0.4.0', 22) },
  { id: 6, what: 'dst 10.0.9.9 (a /32)', filter: { dst: '10.0.9.9' }, takes: (f) => within(f.dst, '10.0.9.9', 32) },
  { id: 7, what: 'dst fd00:0:0:10::/60', filter: { dst: 'fd00:0:0:10::/60' }, takes: (f) => within(f.dst, 'fd00:0:0:10::', 60) },
  { id: 8, what: 'src fd00::8/125', filter: { src: 'fd00::8/125' }, takes: (f) => within(f.src, 'fd00::8', 125) },
  { id: 9, what: 'udp src_ports 1000-2000 (a protocol narrows a range)', filter: { protocol: 'udp', src_ports: '1000-2000' }, takes: (f) => f.proto === 17 && inRange(f.sport, 1000, 2000) },
];

const TRANSLATE = {
  ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }],
  ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
  unmapped: 'mirror',
};

function keyOf(row: Record<string, string[]>): string {
  const id = row['ip.id']?.[0];
  if (id !== undefined) return `v4:${parseInt(id, 16)}`;
  const hl = row['ipv6.hlim']?.[0];
  if (hl !== undefined) return `v6:${hl}`;
  return '?';
}

test('the frame set covers both sides of every edge (the test\'s own precondition)', (t) => {
  for (const c of CLASSIFIER) {
    const n = frames.filter(c.takes).length;
    t.true(n >= 1 && n <= frames.length - 2, `${c.what}: ${n} of ${frames.length} frames inside`);
  }
  t.is(new Set(frames.map((f) => f.key)).size, frames.length, 'every frame has a key of its own');
});

test.serial('classifier: every range and prefix takes its edges and not one frame beyond them', async (t) => {
  if (skip) return t.fail(skip);
  const run = await runConfig({
    frames: frames.map((f) => f.frame),
    shadowPorts: CLASSIFIER.length,
    policy: {
      translate: TRANSLATE,
      match: 'all',
      targets: CLASSIFIER.map((c, i) => ({ name: `t${c.id}`, ports: [`shadow${i}`] })),
      sessions: CLASSIFIER.map((c) => ({ id: c.id, target: `t${c.id}`, filters: [{ id: 'edge', ...c.filter }] })),
    },
  });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.frame.toString('hex')), 'production forwarded byte for byte');
  for (const [i, c] of CLASSIFIER.entries()) {
    const rows = await decodeFields(run.shadowPaths[i]!, ['ip.id', 'ipv6.hlim']);
    const got = rows.map(keyOf).sort();
    const want = frames.filter(c.takes).map((f) => f.key).sort();
    t.deepEqual(got, want, `session ${c.id} (${c.what})`);
    const counters = sessionCounters(run, c.id);
    t.is(counters.matched, want.length, `session ${c.id}: matched`);
    t.is(counters.hits['edge'], want.length, `session ${c.id}: rule hits`);
  }
});

/** Security rules in shadow addresses (10.0/16 → 10.99/16, fd00::/16 → fd99::/16, host bits kept). */
const FIREWALL: { rule: Record<string, unknown>; allows: (f: F) => boolean }[] = [
  { rule: { id: 'sport', action: 'allow', src_ports: '1000-2000' }, allows: (f) => inRange(f.sport, 1000, 2000) },
  { rule: { id: 'dport', action: 'allow', protocol: 'tcp', dst_ports: '3000-4000' }, allows: (f) => f.proto === 6 && inRange(f.dport, 3000, 4000) },
  { rule: { id: 'dport-udp', action: 'allow', protocol: 'udp', dst_ports: ['3000-4000', '65000-65535'] }, allows: (f) => f.proto === 17 && (inRange(f.dport, 3000, 4000) || inRange(f.dport, 65000, 65535)) },
  { rule: { id: 'src4', action: 'allow', src: '10.99.4.0/22' }, allows: (f) => within(f.src, '10.0.4.0', 22) },
  { rule: { id: 'dst4', action: 'allow', dst: '10.99.9.9' }, allows: (f) => within(f.dst, '10.0.9.9', 32) },
  { rule: { id: 'dst6', action: 'allow', dst: 'fd99:0:0:10::/60' }, allows: (f) => within(f.dst, 'fd00:0:0:10::', 60) },
  { rule: { id: 'src6', action: 'allow', src: 'fd99::8/125' }, allows: (f) => within(f.src, 'fd00::8', 125) },
];

test.serial('shadow firewall: port ranges and prefixes allow their edges and deny the frames just outside', async (t) => {
  if (skip) return t.fail(skip);
  const run = await runConfig({
    frames: frames.map((f) => f.frame),
    policy: {
      translate: TRANSLATE,
      sessions: [{ id: 1 }],
      security: { enforce: true, default: 'deny', rules: FIREWALL.map((r) => r.rule) },
    },
  });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.frame.toString('hex')), 'production forwarded byte for byte, firewall or not');
  const rows = await decodeFields(run.shadowPaths[0]!, ['ip.id', 'ipv6.hlim']);
  const want = frames.filter((f) => FIREWALL.some((r) => r.allows(f))).map((f) => f.key).sort();
  t.true(want.length >= 10 && want.length <= frames.length - 10, `precondition: both sides populated (${want.length} of ${frames.length})`);
  t.deepEqual(rows.map(keyOf).sort(), want);
  const c = sessionCounters(run, 1);
  t.is(c.matched, frames.length);
  t.is(c.mirroredPackets, want.length);
  t.is(c.dropped.firewall, frames.length - want.length, 'every denied copy counted as a firewall drop');
});
