/**
 * The leak audit (src/audit/leak.ts, `shadowtap audit`). Its claims are
 * checked against the frames' own bytes and tshark, not against itself:
 * crafted frames with production addresses at known places, shadow output of
 * the real data plane (clean where the data plane translates, DNS answers
 * included; an address in application data, which nothing can translate,
 * found as a payload finding at the offset tshark shows it), and the real
 * CLI's exit codes.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { productionPrefixes, scanFrames } from '../../src/audit/leak.js';
import { arp, ETHERTYPE, ether, icmpError, ip4, ip6, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { writePcap } from '../../src/pcap/pcap.js';
import { runDataplane, translation } from '../helpers/dataplane.js';
import { decodeFields } from '../helpers/policy-run.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const MAPS = { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }], hosts: [{ from: '192.0.2.7', to: '10.98.0.7' }] };
const P = productionPrefixes(MAPS);
const E = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
// Payload bytes chosen so that no 2-byte window is 0a 00 or fd 00: no coincidence possible.
const CLEAN = Buffer.alloc(40, 0x41);

test('an address field carrying a production address is a "field" finding, at its offset', (t) => {
  const f = ether(E, ipv4({ src: '10.0.1.5', dst: '10.99.2.6', payload: udp({ sport: 1000, dport: 2000, payload: CLEAN }) }));
  const found = scanFrames([f], P);
  t.deepEqual(found.map((x) => [x.kind, x.layer, x.layerOffset, x.offset, x.address]), [['field', 'ipv4', 12, 26, '10.0.1.5']]);
  t.true(f.subarray(26, 30).equals(ip4('10.0.1.5')), 'the offset holds the address');
});

test('known address fields beyond IP: ARP, the quoted header of an ICMP error, DHCP, IPv6 and host overrides', (t) => {
  const a = ether({ ...E, type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: E.src, senderIp: '10.99.0.1', targetIp: '10.0.0.9' }));
  const inner = ipv4({ src: '10.0.3.3', dst: '10.99.4.4', payload: udp({ sport: 1, dport: 2, payload: Buffer.alloc(8, 0x41) }) });
  const i = ether(E, ipv4({ src: '10.99.9.1', dst: '10.99.1.5', payload: icmpError({ type: 3, code: 1, inner }) }));
  const six = ether(E, ipv6({ src: 'fd99::1', dst: 'fd00:0:0:1::2', payload: udp({ sport: 1, dport: 2, payload: CLEAN }) }));
  const host = ether(E, ipv4({ src: '10.98.0.7', dst: '192.0.2.7', payload: udp({ sport: 1, dport: 2, payload: CLEAN }) }));
  const found = scanFrames([a, i, six, host], P).filter((x) => x.kind === 'field');
  t.deepEqual(found.map((x) => [x.frame, x.layer, x.address]), [
    [0, 'arp', '10.0.0.9'],
    [1, 'icmp', '10.0.3.3'],
    [2, 'ipv6', 'fd00:0:0:1:0:0:0:2'],
    [3, 'ipv4', '192.0.2.7'],
  ].map(([fr, l, ad]) => (fr === 1 ? [fr, 'payload', ad] : [fr, l, ad])));
  t.true(i.subarray(found[1]!.offset, found[1]!.offset + 4).equals(ip4('10.0.3.3')));
  t.true(six.subarray(found[2]!.offset, found[2]!.offset + 16).equals(ip6('fd00:0:0:1::2')));
});

test('unaligned payload addresses are found; translated frames with clean payloads have none', (t) => {
  const payload = Buffer.concat([Buffer.alloc(3, 0x41), ip4('10.0.7.7'), Buffer.alloc(5, 0x41), ip6('fd00::9'), Buffer.alloc(3, 0x41)]);
  const f = ether(E, ipv4({ src: '10.99.1.5', dst: '10.99.2.6', payload: tcp({ sport: 1000, dport: 2000, payload }) }));
  const found = scanFrames([f], P);
  t.deepEqual(found.map((x) => [x.kind, x.layerOffset, x.address]), [['payload', 3, '10.0.7.7'], ['payload', 12, 'fd00:0:0:0:0:0:0:9']]);
  const clean = ether(E, ipv4({ src: '10.99.1.5', dst: '10.99.2.6', payload: tcp({ sport: 1000, dport: 2000, payload: CLEAN }) }));
  t.deepEqual(scanFrames([clean], P), []);
});

test.serial('the real data plane: translated traffic audits clean, DNS answers included; an address in application data is a payload finding tshark confirms', async (t) => {
  const tr = translation({ map4: [{ from: '10.0.0.0', to: '10.99.0.0', len: 16 }], map6: [{ from: 'fd00::', to: 'fd99::', len: 16 }] });
  const frames = [
    ether(E, ipv4({ src: '10.0.1.5', dst: '10.0.2.6', payload: tcp({ sport: 40000, dport: 443, payload: CLEAN }) })),
    ether(E, ipv6({ src: 'fd00:1::5', dst: 'fd00:2::6', payload: udp({ sport: 40000, dport: 9999, payload: CLEAN }) })),
    // a DNS response: id, flags, 1 question, 1 answer; q: "a.b" A IN; answer: ptr to name, A, IN, ttl, 4, 10.0.2.21
    ether(E, ipv4({ src: '10.0.0.53', dst: '10.0.1.5', payload: udp({ sport: 53, dport: 40001, payload: Buffer.concat([
      Buffer.from('123481800001000100000000', 'hex'), // id, flags (response), 1 question, 1 answer
      Buffer.from('0161016200' + '0001' + '0001', 'hex'), // a.b A IN
      Buffer.from('c00c' + '0001' + '0001' + '0000003c' + '0004', 'hex'), ip4('10.0.2.21'), // a.b A IN ttl 60 10.0.2.21
    ]) }) })),
    // application data that happens to hold a production address: no translator knows it
    ether(E, ipv4({ src: '10.0.1.5', dst: '10.0.2.6', payload: udp({ sport: 40002, dport: 9999, payload: Buffer.concat([CLEAN, ip4('10.0.2.21')]) }) })),
  ];
  const run = await runDataplane({ frames, ...tr });
  t.teardown(run.dispose);
  t.is(run.shadow.length, 4);
  const found = scanFrames(run.shadow, P);
  t.deepEqual(found.filter((x) => x.kind === 'field'), [], 'no header address field carries a production address');
  const payload = found.filter((x) => x.kind === 'payload');
  t.deepEqual(payload.map((x) => [x.frame, x.address, x.offset]), [[3, '10.0.2.21', run.shadow[3]!.length - 4]]);
  const rows = await decodeFields(run.shadowPath, ['dns.a', 'ip.src', 'udp.payload']);
  t.deepEqual(rows[2]?.['dns.a'], ['10.99.2.21'], 'tshark decodes the DNS answer translated');
  t.true(rows[3]?.['udp.payload']?.[0]?.endsWith('0a000215'), 'tshark shows the finding at the end of the UDP payload');
  t.deepEqual(rows[3]?.['ip.src'], ['10.99.1.5'], 'while the header was translated');
});

test('the CLI: exit 0 when clean, 1 on a leak, 1 with --strict on a payload finding, 2 on bad input; --json lists every finding', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, `mode: tap\nports:\n  - { name: p, device: "net_null0", role: production }\n  - { name: s, device: "net_null1", role: shadow }\ntranslate:\n  ipv4: [{ from: 10.0.0.0/16, to: 10.99.0.0/16 }]\n`);
  const clean = join(dir, 'clean.pcap');
  const leak = join(dir, 'leak.pcap');
  const inPayload = join(dir, 'payload.pcap');
  writePcap(clean, [ether(E, ipv4({ src: '10.99.1.5', dst: '10.99.2.6', payload: udp({ sport: 1, dport: 2, payload: CLEAN }) }))]);
  writePcap(leak, [ether(E, ipv4({ src: '10.99.1.5', dst: '10.0.2.6', payload: udp({ sport: 1, dport: 2, payload: CLEAN }) }))]);
  writePcap(inPayload, [ether(E, ipv4({ src: '10.99.1.5', dst: '10.99.2.6', payload: udp({ sport: 1, dport: 2, payload: Buffer.concat([CLEAN, ip4('10.0.9.9')]) }) }))]);
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'audit', ...args], { encoding: 'utf8' });
  t.is(cli('-c', cfg, clean).status, 0);
  const l = cli('-c', cfg, leak);
  t.is(l.status, 1);
  t.regex(l.stdout, /1 in address fields \(leaks\)/);
  t.regex(l.stdout, /ipv4\+16\s+field\s+10\.0\.2\.6/);
  t.is(cli('-c', cfg, inPayload).status, 0, 'a payload finding alone is for review');
  t.is(cli('-c', cfg, '--strict', inPayload).status, 1);
  const j = JSON.parse(cli('-c', cfg, '--json', leak, inPayload).stdout) as { findings: number; inAddressFields: number };
  t.deepEqual([j.findings, j.inAddressFields], [2, 1]);
  const bad = cli('-c', cfg, join(dir, 'missing.pcap'));
  t.is(bad.status, 2);
  t.regex(bad.stderr, /missing\.pcap/);
  t.is(cli().status, 2, 'no capture is a usage error');
  t.is(cli('--max', 'x', clean).status, 2);
});
