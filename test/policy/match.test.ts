/**
 * The match algebra the compiler and the planner share (src/policy/match.ts):
 * ranges and prefixes at their edges, the IP/transport part, and the
 * compiler's shadow/overlap relations. Pure TypeScript; how the compiler
 * words its warnings is in compile.test.ts, how the planner uses the
 * relations in test/offload/planner.test.ts.
 */
import test from 'ava';
import { parseCidr, type Cidr } from '../../src/policy/fields.js';
import {
  classifierCovers,
  classifierIntersects,
  ipFieldsCover,
  ipFieldsMeet,
  isFullRange,
  prefixBitsAgree,
  prefixContains,
  prefixesMeet,
  rangeContains,
  rangeIntersection,
  rangesMeet,
  type ClassifierMatch,
  type Range,
} from '../../src/policy/match.js';

const cidr = (text: string): Cidr => {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

test('ranges: touching ends meet, one value apart do not', (t) => {
  const cases: [Range, Range, Range | null][] = [
    [[0, 10], [10, 20], [10, 10]],
    [[10, 20], [0, 10], [10, 10]],
    [[0, 9], [10, 20], null],
    [[5, 5], [5, 5], [5, 5]],
    [[0, 65535], [80, 443], [80, 443]],
  ];
  for (const [a, b, both] of cases) {
    t.deepEqual(rangeIntersection(a, b), both, `${a} ∩ ${b}`);
    t.is(rangesMeet(a, b), both !== null, `${a} meets ${b}`);
  }
  t.true(rangeContains([0, 100], [0, 100]));
  t.true(rangeContains([0, 100], [10, 20]));
  t.false(rangeContains([10, 20], [0, 100]));
  t.false(rangeContains([0, 100], [50, 101]));
  t.true(isFullRange([0, 4095], 4095));
  t.false(isFullRange([1, 4095], 4095));
  t.false(isFullRange([0, 4094], 4095));
});

test('prefixes: bits up to the shorter length decide; null is any address', (t) => {
  t.true(prefixBitsAgree([10, 0, 1, 0], [10, 0, 1, 255], 24));
  t.false(prefixBitsAgree([10, 0, 1, 0], [10, 0, 1, 255], 25));
  t.true(prefixBitsAgree([0b1010_0000], [0b1011_1111], 3));
  t.false(prefixBitsAgree([0b1010_0000], [0b1011_1111], 4));
  t.true(prefixBitsAgree([1, 2], [9, 9], 0));

  const net = cidr('10.0.0.0/16');
  const sub = cidr('10.0.1.0/24');
  const other = cidr('10.1.0.0/16');
  t.true(prefixesMeet(net, sub));
  t.true(prefixesMeet(sub, net));
  t.false(prefixesMeet(net, other));
  t.true(prefixesMeet(null, other));
  t.true(prefixesMeet(other, null));
  t.true(prefixContains(net, sub));
  t.false(prefixContains(sub, net));
  t.false(prefixContains(net, other));
  t.true(prefixContains(null, net));
  t.false(prefixContains(net, null));
  t.true(prefixContains(net, net));
  // IPv4 is IPv4-mapped in the compiler's 16 bytes: a v6 prefix outside ::ffff:0:0/96 never meets it.
  t.false(prefixesMeet(net, cidr('fd00::/16')));
  t.true(prefixesMeet(net, cidr('::/0')));
});

test('prefixes of different address sizes never meet (the planner writes IPv4 in 4 bytes, IPv6 in 16)', (t) => {
  const v4 = { addr: [0, 0, 0, 0], len: 0 };
  const v6 = { addr: new Array<number>(16).fill(0), len: 0 };
  t.false(prefixesMeet(v4, v6));
  t.true(prefixesMeet(v4, { addr: [10, 0, 0, 0], len: 8 }));
});

const ANY: ClassifierMatch = {
  ethertype: null, vlan: [0, 4096], ipVersion: 0, proto: null, src: null, dst: null,
  sport: [0, 65535], dport: [0, 65535], tcpFlags: 0, tcpFlagsMask: 0, signature: -1,
};
const m = (over: Partial<ClassifierMatch>): ClassifierMatch => ({ ...ANY, ...over });

test('the IP and transport part: protocol, addresses and ports', (t) => {
  const web = m({ proto: 6, dst: cidr('10.0.1.0/24'), dport: [80, 80] });
  t.true(ipFieldsMeet(web, m({ proto: 6 })));
  t.false(ipFieldsMeet(web, m({ proto: 17 })));
  t.false(ipFieldsMeet(web, m({ dport: [81, 65535] })));
  t.false(ipFieldsMeet(web, m({ src: null, dst: cidr('10.0.2.0/24') })));
  t.true(ipFieldsCover(m({ proto: 6, dst: cidr('10.0.0.0/16') }), web));
  t.false(ipFieldsCover(web, m({ proto: 6, dst: cidr('10.0.0.0/16') })));
  t.false(ipFieldsCover(m({ proto: 17 }), web));
  t.true(ipFieldsCover(ANY, web));
});

test('classifier rules: covers and intersects, as the compiler warns with them', (t) => {
  const arp = m({ ethertype: 0x0806 });
  const v4only = m({ ipVersion: 4 });
  const ipv4Type = m({ ethertype: 0x0800, ipVersion: 4 });
  // EtherType and IP version are separate wildcards: ARP and "ip_version: 4" intersect; ARP and EtherType IPv4 do not.
  t.true(classifierIntersects(arp, v4only));
  t.false(classifierIntersects(arp, ipv4Type));
  t.false(classifierIntersects(m({ ipVersion: 4 }), m({ ipVersion: 6 })));

  // VLAN ranges, 4096 = untagged.
  t.false(classifierIntersects(m({ vlan: [4096, 4096] }), m({ vlan: [10, 10] })));
  t.true(classifierCovers(ANY, m({ vlan: [4096, 4096] })));
  t.false(classifierCovers(m({ vlan: [0, 4095] }), m({ vlan: [4096, 4096] })));

  // TCP flags: under the common mask the values must agree; a rule looking at more flags is covered, not covering.
  const syn = m({ proto: 6, tcpFlags: 0x02, tcpFlagsMask: 0x02 });
  const synNoAck = m({ proto: 6, tcpFlags: 0x02, tcpFlagsMask: 0x12 });
  const ack = m({ proto: 6, tcpFlags: 0x10, tcpFlagsMask: 0x10 });
  const noSyn = m({ proto: 6, tcpFlags: 0, tcpFlagsMask: 0x02 });
  t.true(classifierCovers(syn, synNoAck));
  t.false(classifierCovers(synNoAck, syn));
  t.true(classifierIntersects(syn, ack));
  t.false(classifierIntersects(syn, noSyn));

  // Signatures: a rule with one covers only rules with the same one; intersection does not look.
  const sig0 = m({ signature: 0 });
  const sig1 = m({ signature: 1 });
  t.true(classifierCovers(ANY, sig0));
  t.false(classifierCovers(sig0, ANY));
  t.false(classifierCovers(sig0, sig1));
  t.true(classifierCovers(sig0, m({ signature: 0, proto: 17 })));
  t.true(classifierIntersects(sig0, sig1));
});
