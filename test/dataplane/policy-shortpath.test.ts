/**
 * The short path (policy_node.c and copy_node.c, "the short path") serves the common policy
 * shape: one session copying every packet whole to one target, with no
 * classifier, sampling, rate cap, snaplen, encapsulation or firewall. It must
 * be indistinguishable from the general path: the same capture goes through
 * a short-path policy and through the same policy made general by a second
 * session that takes nothing, and both runs must produce the same shadow
 * frames in the same order, the same production frames and the same
 * counters, inline and in tap mode. tshark then checks the short path's copies
 * on its own (addresses in the shadow prefix, no bad checksum).
 *
 * The capture holds every shape the rewrite tells apart: plain IPv4 UDP/TCP
 * (the rewrite's short IPv4 path), a zero UDP checksum, unmapped addresses,
 * VLAN tags, IPv6, ARP, DHCP, a fragment, IP options, broken headers and a
 * runt.
 */
import test from 'ava';
import { CONTROL_PLANE, UNMAPPED_RULE, type NativePolicy } from '../../src/dataplane/native-types.js';
import { arp, dhcp, ETHERTYPE, ether, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { missingBuild, policy, rule, runPolicy, session, type RunResult } from '../helpers/policy-host.js';
import { badChecksums, decodeFrames } from '../helpers/tshark.js';

const skip = missingBuild();
const M = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };

const SHAPES: Buffer[] = [
  ether(M, ipv4({ src: '10.0.1.5', dst: '10.0.2.7', payload: udp({ sport: 4000, dport: 5000, payload: Buffer.alloc(18, 1) }) })),
  ether(M, ipv4({ src: '10.0.1.6', dst: '10.0.9.9', payload: tcp({ sport: 40000, dport: 80, flags: 'S' }) })),
  ether(M, ipv4({ src: '10.0.1.7', dst: '10.0.2.8', payload: udp({ sport: 4001, dport: 5001, checksum: 0, payload: Buffer.alloc(10, 2) }) })),
  ether(M, ipv4({ src: '192.0.2.1', dst: '10.0.2.7', payload: udp({ sport: 1, dport: 2 }) })), // unmapped source: dropped
  ether({ ...M, vlans: [100] }, ipv4({ src: '10.0.3.1', dst: '10.0.3.2', payload: tcp({ sport: 1234, dport: 443, flags: 'A' }) })),
  ether(M, ipv6({ src: 'fd00:1::5', dst: 'fd00:2::7', payload: udp({ sport: 5000, dport: 53 }) })),
  ether({ ...M, type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: M.src, senderIp: '10.0.1.5', targetIp: '10.0.1.1' })),
  ether(M, ipv4({ src: '10.0.1.9', dst: '10.0.255.255', payload: udp({ sport: 68, dport: 67, payload: dhcp({ messageType: 'request', xid: 7, chaddr: M.src }) }) })),
  ether(M, ipv4({ src: '10.0.5.5', dst: '10.0.6.6', proto: 17, fragOffset: 8, payload: Buffer.alloc(40) })),
  ether(M, ipv4({ src: '10.0.7.1', dst: '10.0.7.2', options: Buffer.from([1, 1, 1, 0]), payload: udp({ sport: 7, dport: 9 }) })),
  ether(M, ipv4({ src: '10.0.8.1', dst: '10.0.8.2', ihl: 3, payload: udp({ sport: 7, dport: 9 }) })), // malformed header
  ether(M, ipv4({ src: '10.0.8.3', dst: '10.0.8.4', totalLength: 900, payload: udp({ sport: 7, dport: 9 }) })), // length past the frame
  Buffer.from('0200000000020200000000', 'hex'), // runt: shorter than an Ethernet header
];
/** Every shape 9 times, interleaved: several bursts, runts in the middle of them. */
const INPUT: Buffer[] = Array.from({ length: 9 }, () => SHAPES).flat();

const map4 = [{ from: 0x0a000000, to: 0x0a630000, len: 16 }]; // 10.0.0.0/16 → 10.99.0.0/16
// fd00::/16 → fd99::/16
const map6 = [{ from: Uint8Array.from([0xfd, 0, ...new Array<number>(14).fill(0)]), to: Uint8Array.from([0xfd, 0x99, ...new Array<number>(14).fill(0)]), len: 16 }];

function shortPolicy(): NativePolicy {
  return policy({
    sessions: [session({ slot: 0 })],
    rules: [rule(0, 0)],
    map4,
    map6,
    unmapped: UNMAPPED_RULE.drop,
    controlPlane: CONTROL_PLANE.arp | CONTROL_PLANE.dhcp | CONTROL_PLANE.nd,
  });
}

/** The same policy, made general: a second session (no rule, so it takes nothing). */
function generalPolicy(): NativePolicy {
  const p = shortPolicy();
  return { ...p, sessions: [...p.sessions, session({ slot: 1 })] };
}

function counters(r: RunResult): unknown {
  const s = r.stats;
  return {
    mirror: [s.mirrorPackets, s.mirrorBytes, s.translatedPackets],
    dropped: s.dropped,
    anomalies: s.anomalies,
    ports: s.ports.map((p) => [p.rxPackets, p.rxBytes, p.txPackets, p.txBytes, p.txDropped]),
    session0: r.policy.sessions[0],
    ruleHits: r.policy.ruleHits.slice(0, 2),
  };
}

for (const mode of ['inline', 'tap'] as const) {
  test(`${mode}: the short path gives the general path's copies and counters`, async (t) => {
    if (skip) return t.fail(skip);
    const short = await runPolicy(INPUT, shortPolicy(), { mode, shadowPorts: 1 });
    const general = await runPolicy(INPUT, generalPolicy(), { mode, shadowPorts: 1 });
    t.is(short.policy.path, 'short');
    t.is(general.policy.path, 'general');

    const copies = short.shadow[0]!;
    // Dropped: the unmapped source, the two broken headers (malformed), the runt (never copied).
    t.is(copies.length, INPUT.length - 4 * 9, 'copies sent');
    t.is(short.stats.dropped.unmapped, 9);
    t.is(short.stats.dropped.malformed, 3 * 9);
    t.is(short.policy.sessions[0]!.matched, INPUT.length - 9, 'every frame but the runt matched');
    t.deepEqual(copies.map((f) => f.toString('hex')), general.shadow[0]!.map((f) => f.toString('hex')), 'same copies, same order');
    t.deepEqual(short.production.map((f) => f.toString('hex')), general.production.map((f) => f.toString('hex')));
    t.is(short.production.length, mode === 'inline' ? INPUT.length : 0);
    t.deepEqual(counters(short), counters(general));

    // The copies on their own, through tshark.
    const rows = await decodeFrames(copies);
    t.deepEqual(badChecksums(rows), []);
    const ip4 = rows.flatMap((r) => [r.ipSrc, r.ipDst]).filter((a): a is string => !!a && a !== '255.255.255.255' && a !== '0.0.0.0');
    t.is(ip4.length, 7 * 9 * 2, 'IPv4 addresses decoded (7 IPv4 shapes sent)');
    t.deepEqual(ip4.filter((a) => !a.startsWith('10.99.')), [], 'every IPv4 address in the shadow prefix');
    const ip6 = rows.filter((r) => r.ip6Src).map((r) => `${r.ip6Src} > ${r.ip6Dst}`);
    t.deepEqual(ip6, new Array<string>(9).fill('fd99:1::5 > fd99:2::7'));
  });
}
