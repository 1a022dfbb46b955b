/**
 * (a) The demo capture through the real data plane, unmapped rule = drop.
 * Expectations come from tshark's reading of the input, not from shadowtap.
 */
import test from 'ava';
import { buildDemoFrames, DEMO_MAP4, DEMO_MAP6 } from '../../src/tools/gen-demo-capture.js';
import { compareFrames, referenceShadow, runDataplane, SHADOW_DST_MAC, SHADOW_SRC_MAC, translateAddress, translation, zeroAnomalies } from '../helpers/dataplane.js';
import { productionPrefixes, scanFrames } from '../../src/audit/leak.js';
import { badChecksums, CHECKSUM_GOOD, decodeFrames, decodePcapFile, type TsharkPacket } from '../helpers/tshark.js';

const sum = (xs: ReadonlyArray<Buffer>): number => xs.reduce((n, b) => n + b.length, 0);

test.serial('demo capture: production unchanged, shadow = both-mapped IP packets translated with good checksums, counters add up', async (t) => {
  const frames = buildDemoFrames();
  const tr = translation({ map4: DEMO_MAP4, map6: DEMO_MAP6, unmapped: 'drop' });
  const run = await runDataplane({ frames, ...tr });
  t.teardown(run.dispose);

  // Production: byte-identical, packet for packet.
  t.deepEqual(compareFrames('production', frames, frames, run.production), []);

  // What should be mirrored, from tshark's view of the input.
  const input = await decodeFrames(frames);
  t.is(input.length, frames.length);
  const addrs = (r: TsharkPacket): [string, string] | null => {
    if (r.ipSrc !== undefined && r.ipDst !== undefined) return [r.ipSrc, r.ipDst];
    if (r.ip6Src !== undefined && r.ip6Dst !== undefined) return [r.ip6Src, r.ip6Dst];
    return null;
  };
  const ipRows = input.filter((r) => addrs(r) !== null);
  const notIp = input.length - ipRows.length;
  const mirrored = ipRows.filter((r) => {
    const [s, d] = addrs(r) as [string, string];
    return translateAddress(s, tr) !== null && translateAddress(d, tr) !== null;
  });
  const unmapped = ipRows.length - mirrored.length;
  t.true(mirrored.length > 150 && unmapped >= 8 && notIp >= 4, `mirrored ${mirrored.length}, unmapped ${unmapped}, not IP ${notIp}`);

  const shadow = await decodePcapFile(run.shadowPath);
  t.is(shadow.length, mirrored.length, 'shadow packet count');
  t.deepEqual(badChecksums(shadow), [], 'tshark finds no bad checksum in the shadow output');
  shadow.forEach((out, i) => {
    const src = mirrored[i];
    if (!src) return;
    const [s, d] = addrs(src) as [string, string];
    const where = `shadow frame ${i + 1} (input frame ${src.frame})`;
    t.deepEqual(addrs(out), [translateAddress(s, tr), translateAddress(d, tr)], `${where}: addresses`);
    t.is(out.ethSrc, SHADOW_SRC_MAC, `${where}: eth.src`);
    t.is(out.ethDst, SHADOW_DST_MAC, `${where}: eth.dst`);
    t.is(out.len, src.len, `${where}: length`);
    t.deepEqual(out.protocols, src.protocols, `${where}: protocol stack`);
    t.is(out.srcPort, src.srcPort, `${where}: source port`);
    t.is(out.dstPort, src.dstPort, `${where}: destination port`);
    if (out.ipSrc !== undefined) t.is(out.ipChecksumStatus, CHECKSUM_GOOD, `${where}: ip checksum`);
    for (const [status, name] of [
      [out.tcpChecksumStatus, 'tcp'],
      [out.udpChecksumStatus, 'udp'],
      [out.icmpChecksumStatus, 'icmp'],
      [out.icmpv6ChecksumStatus, 'icmpv6'],
    ] as const) {
      if (status !== undefined) t.is(status, CHECKSUM_GOOD, `${where}: ${name} checksum`);
    }
    t.true(out.tcpChecksumStatus !== undefined || out.udpChecksumStatus !== undefined || out.icmpChecksumStatus !== undefined || out.icmpv6ChecksumStatus !== undefined, `${where}: an L4 checksum was verified`);
  });

  // The leak audit: no production address at any offset of any shadow frame, DNS answers,
  // reverse names and DNS over TCP included (issue 17).
  const prod = productionPrefixes({ ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] });
  const inputPayload = scanFrames(frames, prod).filter((f) => f.kind === 'payload').length;
  t.true(inputPayload >= 10, `the input has production addresses in DNS payloads: ${inputPayload}`);
  // Findings of kind "header" are bytes across fields (a client port 0xcf0a before DNS's 0x0035
  // reads 10.0.53.0 under a /16): coincidences the audit reports as such, never addresses.
  const findings = scanFrames(run.shadow, prod);
  t.deepEqual(findings.filter((f) => f.kind !== 'header'), [], 'leak audit of the shadow output: no finding in an address field or a payload');
  t.log(`leak audit: ${findings.length} header-coincidence findings (bytes across fields), no leak`);
  const dnsRows = (await decodeFrames(run.shadow)).filter((r) => r.protocols.includes('dns'));
  t.true(dnsRows.length >= 16, `DNS frames in the shadow output: ${dnsRows.length}`);

  // Byte for byte against the independent reference translation, which
  // translates headers only: BGP payloads (and the TCP checksum over them)
  // are translated too and checked in routing-segments.test.ts.
  const expected = frames.map((f) => referenceShadow(f, tr)).flatMap((e) => (e.action === 'mirror' ? [e.frame] : []));
  const bgp = (f: Buffer): boolean => f.readUInt16BE(12) === 0x0800 && f[23] === 6 &&
    [f.readUInt16BE(14 + (f[14]! & 0xf) * 4), f.readUInt16BE(16 + (f[14]! & 0xf) * 4)].includes(179);
  const pairs = expected.map((e, i) => [e, run.shadow[i]] as const);
  t.deepEqual(compareFrames('shadow', [], pairs.filter(([e]) => !bgp(e)).map(([e]) => e), pairs.filter(([e]) => !bgp(e)).map(([, g]) => g!)), []);
  t.is(run.shadow.length, expected.length);

  // Counters.
  const s = run.stats;
  t.is(s.ports[0]?.rxPackets, frames.length, 'port 0 rxPackets');
  t.is(s.ports[0]?.rxBytes, sum(frames), 'port 0 rxBytes');
  t.is(s.ports[1]?.txPackets, frames.length, 'port 1 (production egress) txPackets');
  t.is(s.ports[1]?.txBytes, sum(frames), 'port 1 txBytes');
  t.is(s.ports[1]?.txDropped, 0);
  t.is(s.ports[2]?.txPackets, mirrored.length, 'port 2 (shadow) txPackets');
  t.is(s.ports[2]?.txBytes, sum(run.shadow));
  t.is(s.mirrorPackets, mirrored.length, 'mirrorPackets');
  t.is(s.mirrorBytes, sum(run.shadow), 'mirrorBytes');
  t.is(s.translatedPackets, mirrored.length, 'translatedPackets');
  t.deepEqual(s.dropped, { unmapped, not_ip: notIp, malformed: 0, nomem: 0, tx_full: 0, nic_copy: 0, leak: 0 }, 'dropped');
  t.deepEqual(s.anomalies, zeroAnomalies(), 'anomalies');
  t.is(s.shadowRxPackets, 0);
  t.is(s.workers.reduce((n, w) => n + w.rxPackets, 0), frames.length, 'worker rxPackets');
});
