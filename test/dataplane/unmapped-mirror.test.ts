/**
 * (b) Unmapped rule = mirror: every IP packet is copied; addresses a map
 * covers are translated, the others kept.
 */
import test from 'ava';
import { ETHERTYPE, arp, ether, icmpEcho, icmpv6Echo, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { buildDemoFrames, DEMO_MAP4, DEMO_MAP6 } from '../../src/tools/gen-demo-capture.js';
import { compareFrames, referenceShadow, runDataplane, SHADOW_DST_MAC, SHADOW_SRC_MAC, translateAddress, translation, zeroAnomalies } from '../helpers/dataplane.js';
import { badChecksums, decodePcapFile, type TsharkPacket } from '../helpers/tshark.js';

const E = { src: '02:00:00:00:00:aa', dst: '02:00:00:00:00:bb' };

function oneSided(): Buffer[] {
  const p = Buffer.from('one side unmapped');
  return [
    ether(E, ipv4({ src: '10.0.1.5', dst: '192.0.2.7', id: 1, payload: tcp({ sport: 40000, dport: 443, seq: 9, flags: 'PA', payload: p }) })),
    ether(E, ipv4({ src: '198.51.100.9', dst: '10.0.2.6', id: 2, payload: udp({ sport: 40001, dport: 40002, payload: p }) })),
    ether(E, ipv4({ src: '192.0.2.1', dst: '198.51.100.1', id: 3, payload: udp({ sport: 40001, dport: 40002, payload: p }) })),
    ether(E, ipv4({ src: '10.0.1.5', dst: '192.0.2.7', id: 4, payload: icmpEcho({ id: 5, seq: 6, payload: p }) })),
    ether(E, ipv4({ src: '10.0.1.5', dst: '192.0.2.7', id: 5, payload: udp({ sport: 40001, dport: 40002, checksum: 0, payload: p }) })),
    ether(E, ipv6({ src: 'fd00:10::5', dst: '2001:db8::7', payload: tcp({ sport: 40000, dport: 443, flags: 'S' }) })),
    ether(E, ipv6({ src: '2001:db8::9', dst: 'fd00:20::6', payload: udp({ sport: 40001, dport: 40002, payload: p }) })),
    ether(E, ipv6({ src: '2001:db8::9', dst: 'fd00:20::6', payload: icmpv6Echo({ id: 1, seq: 2, payload: p }) })),
    ether(E, ipv6({ src: '2001:db8::9', dst: '2001:db8::10', payload: icmpv6Echo({ id: 1, seq: 3 }) })),
    ether({ ...E, type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: E.src, senderIp: '192.0.2.1', targetIp: '192.0.2.2' })),
  ];
}

test.serial('unmapped = mirror: one-sided packets are mirrored with only the covered address translated', async (t) => {
  const frames = [...buildDemoFrames(), ...oneSided()];
  const tr = translation({ map4: DEMO_MAP4, map6: DEMO_MAP6, unmapped: 'mirror' });
  const run = await runDataplane({ frames, ...tr });
  t.teardown(run.dispose);

  t.deepEqual(compareFrames('production', frames, frames, run.production), []);

  const expected = frames.map((f) => referenceShadow(f, tr));
  const mirrored = expected.flatMap((e) => (e.action === 'mirror' ? [e.frame] : []));
  const translatedCount = expected.filter((e) => e.action === 'mirror' && e.translated).length;
  const notIp = expected.filter((e) => e.action === 'drop' && e.reason === 'not_ip').length;
  t.is(expected.filter((e) => e.action === 'drop' && e.reason !== 'not_ip').length, 0);
  const inputs = frames.filter((_, i) => expected[i]?.action === 'mirror');
  // Byte for byte against the reference, which translates headers only: BGP and OSPF payloads (and
  // the checksums over them) are translated too, and checked in routing-frr/routing-segments.test.ts.
  const routing = (f: Buffer): boolean => f.readUInt16BE(12) === 0x0800 && (f[23] === 89 ||
    (f[23] === 6 && [f.readUInt16BE(14 + (f[14]! & 0xf) * 4), f.readUInt16BE(16 + (f[14]! & 0xf) * 4)].includes(179)));
  t.is(run.shadow.length, mirrored.length, 'one copy per mirrored frame');
  const keep = inputs.map((f) => !routing(f));
  t.true(keep.some((k) => !k), 'the demo frames include BGP or OSPF');
  t.deepEqual(compareFrames('shadow', inputs.filter((_, i) => keep[i]), mirrored.filter((_, i) => keep[i]), run.shadow.filter((_, i) => keep[i])), []);

  // Independently: tshark on the shadow output.
  const rows = await decodePcapFile(run.shadowPath);
  t.is(rows.length, mirrored.length);
  t.deepEqual(badChecksums(rows), []);
  const inRows = await decodePcapFile(run.inputPath);
  const ipIn = inRows.filter((r) => r.ipSrc !== undefined || r.ip6Src !== undefined);
  const pair = (r: TsharkPacket | undefined): [string | undefined, string | undefined] => [r?.ipSrc ?? r?.ip6Src, r?.ipDst ?? r?.ip6Dst];
  let oneSidedSeen = 0;
  rows.forEach((out, i) => {
    const [s, d] = pair(ipIn[i]);
    if (s === undefined || d === undefined) return t.fail(`shadow frame ${i + 1} has no input IP packet`);
    const ts = translateAddress(s, tr);
    const td = translateAddress(d, tr);
    if ((ts === null) !== (td === null)) oneSidedSeen++;
    t.deepEqual(pair(out), [ts ?? s, td ?? d], `shadow frame ${i + 1}: covered addresses translated, others kept`);
    t.is(out.ethSrc, SHADOW_SRC_MAC);
    t.is(out.ethDst, SHADOW_DST_MAC);
  });
  t.true(oneSidedSeen >= 10, `${oneSidedSeen} one-sided packets checked`);

  const s = run.stats;
  t.is(s.ports[0]?.rxPackets, frames.length);
  t.is(s.ports[1]?.txPackets, frames.length);
  t.is(s.mirrorPackets, mirrored.length);
  t.is(s.ports[2]?.txPackets, mirrored.length);
  t.is(s.translatedPackets, translatedCount, 'translatedPackets counts copies with at least one address rewritten');
  t.deepEqual(s.dropped, { unmapped: 0, not_ip: notIp, malformed: 0, nomem: 0, tx_full: 0, nic_copy: 0, leak: 0 });
  t.deepEqual(s.anomalies, zeroAnomalies());
});
