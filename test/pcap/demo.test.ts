import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDemoFrames, DEMO_MAP4, DEMO_MAP6 } from '../../src/tools/gen-demo-capture.js';
import { readPcap } from '../../src/pcap/pcap.js';
import { badChecksums, decodePcapFile } from '../helpers/tshark.js';

const CLI = fileURLToPath(new URL('../../src/tools/gen-demo-capture.js', import.meta.url));

test('the demo capture: a few hundred packets, deterministic, zero checksum errors in tshark', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-demo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'demo.pcap');
  const out = execFileSync(process.execPath, [CLI, path], { encoding: 'utf8' });
  t.regex(out, /\d+ packets/);
  const file = readPcap(path);
  const frames = buildDemoFrames();
  t.true(frames.length >= 200 && frames.length <= 1000, `${frames.length} packets`);
  t.deepEqual(file.packets.map((p) => p.data), frames, 'CLI output equals buildDemoFrames()');
  t.deepEqual(buildDemoFrames(), frames, 'deterministic');

  const rows = await decodePcapFile(path);
  t.is(rows.length, frames.length);
  t.deepEqual(badChecksums(rows), []);
  t.deepEqual(rows.filter((r) => r.malformed).map((r) => r.frame), []);

  const has = (pred: (r: (typeof rows)[number]) => boolean): number => rows.filter(pred).length;
  const proto = (p: string) => (r: (typeof rows)[number]): boolean => r.protocols.includes(p);
  t.true(has(proto('arp')) >= 2, 'ARP request/reply');
  t.deepEqual(rows.filter(proto('dhcp')).map((r) => r.fields['dhcp.option.dhcp'][0]), ['1', '2', '3', '5'], 'DHCP DORA');
  t.true(rows.filter(proto('dhcp')).every((r) => r.ipDst === '255.255.255.255'));
  t.true(rows.filter(proto('dhcp')).some((r) => r.ipSrc === '0.0.0.0'));
  t.true(rows.filter(proto('dhcp')).some((r) => r.ipSrc === '10.0.0.1'));
  t.true(has((r) => proto('dns')(r) && r.ipDst === '10.0.0.53') >= 1, 'DNS query to 10.0.0.53');
  t.true(has((r) => proto('dns')(r) && r.ipSrc === '10.0.0.53') >= 1, 'DNS response from 10.0.0.53');
  t.true(has((r) => r.fields['icmp.type'][0] === '8') >= 1 && has((r) => r.fields['icmp.type'][0] === '0') >= 1, 'ICMP echo');
  t.true(has((r) => proto('tcp')(r) && proto('ipv6')(r)) >= 10, 'IPv6 TCP');
  t.true(has((r) => proto('udp')(r) && proto('ipv6')(r)) >= 2, 'IPv6 UDP');
  const v6 = rows.filter((r) => r.ip6Src?.startsWith('fd00:10::') && r.ip6Dst?.startsWith('fd00:20::'));
  t.true(v6.length > 0, 'fd00:10::/64 → fd00:20::/64');
  // TCP flows: handshake, data both ways, FIN both ways.
  const v4tcp = rows.filter((r) => proto('tcp')(r) && r.ipSrc?.startsWith('10.0.1.') && r.ipDst?.startsWith('10.0.2.'));
  const flows = new Set(v4tcp.map((r) => `${r.ipSrc}:${r.srcPort}`));
  t.true(flows.size >= 4, `${flows.size} IPv4 client flows`);
  const flagsOf = (r: (typeof rows)[number]): number => parseInt(r.fields['tcp.flags'][0] ?? '0', 16);
  t.true(has((r) => flagsOf(r) === 0x02) >= flows.size, 'SYNs');
  t.true(has((r) => flagsOf(r) === 0x12) >= flows.size, 'SYN-ACKs');
  t.true(has((r) => (flagsOf(r) & 0x01) !== 0) >= 2 * flows.size, 'FINs both ways');
  t.true(has((r) => r.ipSrc?.startsWith('10.0.2.') === true && Number(r.fields['tcp.len'][0] ?? 0) > 0) > 0, 'server data');
  // Outside the maps.
  const outside = (a: string | undefined): boolean => a !== undefined && (a.startsWith('192.0.2.') || a.startsWith('198.51.100.'));
  t.true(has((r) => outside(r.ipSrc) || outside(r.ipDst)) >= 4, 'packets outside the demo maps');
  t.deepEqual(DEMO_MAP4, [{ from: '10.0.0.0', to: '10.99.0.0', len: 16 }]);
  t.deepEqual(DEMO_MAP6, [{ from: 'fd00::', to: 'fd99::', len: 16 }]);
});
