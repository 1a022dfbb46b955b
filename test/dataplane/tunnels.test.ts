/**
 * Tunnels and ICMP errors through the REAL data plane, from a policy: the
 * inner packets of VXLAN, GENEVE, GRE (with its checksum), IP-in-IP, 6in4
 * and PIM Register translated like outer ones, every checksum (outer and
 * inner) verified by tshark; the transport checksum an ICMP/ICMPv6 error
 * quotes follows its translated addresses (tshark checks it); the leak
 * audit finds no production address anywhere in the shadow output; what
 * cannot be translated (PPTP GRE, ERSPAN, a tunnel in a tunnel) is counted
 * and not sent, or passed when the leak policy says so. Production is
 * byte-identical throughout.
 */
import test from 'ava';
import { ether, icmpError, icmpv6Error, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { ETHERTYPE_TEB, geneve, gre, pimRegister, TUNNEL_PORT, TUNNEL_PROTO, vxlan } from '../../src/pcap/tunnel.js';
import { productionPrefixes, scanFrames } from '../../src/audit/leak.js';
import { decodeFields, decodeFrameFields, missingBuild, runConfig } from '../helpers/policy-run.js';
import { CHECKSUM_GOOD } from '../helpers/tshark.js';

const skip = missingBuild();

const TRANSLATE = {
  ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }],
  ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
  unmapped: 'drop',
};
const POLICY = { translate: TRANSLATE, sessions: [{ id: 1 }] };
const withLeak = (leak: Record<string, string>) => ({ ...POLICY, translate: { ...TRANSLATE, leak } });

const E = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const IE = { src: '02:00:00:00:01:05', dst: '02:00:00:00:02:06' };
const PAY = Buffer.from('tunnelled payload bytes');
const in4tcp = () => ipv4({ src: '10.0.1.5', dst: '10.0.2.6', id: 77, ttl: 63, payload: tcp({ sport: 40000, dport: 443, seq: 1, ack: 1, flags: 'PA', payload: PAY }) });
const in4udp = () => ipv4({ src: '10.0.1.5', dst: '10.0.2.6', id: 78, ttl: 63, payload: udp({ sport: 40001, dport: 8125, payload: PAY }) });
const in6tcp = () => ipv6({ src: 'fd00:1::5', dst: 'fd00:2::6', hopLimit: 63, payload: tcp({ sport: 40002, dport: 443, seq: 1, flags: 'S', payload: PAY }) });
const in6udp = () => ipv6({ src: 'fd00:1::5', dst: 'fd00:2::6', hopLimit: 63, payload: udp({ sport: 40003, dport: 8125, payload: PAY }) });
const out4 = (proto: number, payload: Buffer, id: number) => ether(E, ipv4({ src: '10.0.9.1', dst: '10.0.9.2', id, ttl: 64, proto, payload }));
const out6 = (nextHeader: number, payload: Buffer) => ether(E, ipv6({ src: 'fd00:9::1', dst: 'fd00:9::2', hopLimit: 64, nextHeader, payload }));

const GOOD = {
  vxlan4: ether(E, ipv4({ src: '10.0.9.1', dst: '10.0.9.2', id: 1, ttl: 64, payload: udp({ sport: 51234, dport: TUNNEL_PORT.vxlan, checksum: 0, payload: vxlan(5001, ether(IE, in4tcp())) }) })),
  vxlan6: ether(E, ipv6({ src: 'fd00:9::1', dst: 'fd00:9::2', hopLimit: 64, payload: udp({ sport: 51235, dport: TUNNEL_PORT.vxlan, payload: vxlan(5002, ether({ ...IE, type: 0x86dd }, in6udp())) }) })),
  geneve: ether(E, ipv4({ src: '10.0.9.1', dst: '10.0.9.2', id: 2, ttl: 64, payload: udp({ sport: 51236, dport: TUNNEL_PORT.geneve, payload: geneve(77, ETHERTYPE_TEB, ether(IE, in4udp()), Buffer.from([0x01, 0x02, 0x80, 0x01, 0, 0, 0, 1])) }) })),
  greIp: out4(TUNNEL_PROTO.gre, gre({ protocol: 0x0800, checksum: true, key: 42 }, in4udp()), 3),
  greTeb6: out6(TUNNEL_PROTO.gre, gre({ protocol: ETHERTYPE_TEB, checksum: true }, ether({ ...IE, type: 0x86dd }, in6tcp()))),
  ipip: out4(TUNNEL_PROTO.ipip, in4tcp(), 4),
  sixin4: out4(TUNNEL_PROTO.ipv6, in6tcp(), 5),
  pim: ether(E, ipv4({ src: '10.0.1.1', dst: '10.0.0.2', id: 6, ttl: 64, proto: TUNNEL_PROTO.pim, payload: pimRegister(ipv4({ src: '10.0.1.7', dst: '239.1.1.1', id: 79, ttl: 16, payload: udp({ sport: 5000, dport: 5001, payload: PAY }) })) })),
  icmpErr: ether(E, ipv4({ src: '10.0.2.6', dst: '10.0.1.5', id: 7, ttl: 64, payload: icmpError({ type: 3, code: 3, inner: in4udp() }) })),
  icmp6Err: ether(E, ipv6({ src: 'fd00:2::6', dst: 'fd00:1::5', hopLimit: 64, payload: icmpv6Error({ type: 1, code: 4, inner: in6udp() }) })),
};

const FIELDS = [
  'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'eth.src', 'eth.dst',
  'ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status', 'gre.checksum.status', 'pim.cksum.status',
  '_ws.malformed', 'frame.protocols',
] as const;
const PREFS: string[] = []; // tshark verifies GRE and PIM checksums by default

const PROD = [/^10\.0\./, /^fd00:/];
const isProd = (v: string): boolean => PROD.some((r) => r.test(v));
const prod = productionPrefixes(TRANSLATE);

test.serial('tunnels and ICMP errors: every inner address translated, every checksum good (tshark), the leak audit finds nothing', async (t) => {
  if (skip) return t.fail(skip);
  const frames = Object.values(GOOD);
  const names = Object.keys(GOOD);
  const input = await decodeFrameFields(frames, FIELDS, PREFS);
  input.forEach((r, i) => {
    t.deepEqual(r['_ws.malformed'], [], `input ${names[i]} well formed`);
    t.true([...(r['ip.src'] ?? []), ...(r['ipv6.src'] ?? [])].length >= 2, `input ${names[i]}: tshark sees the inner header`);
  });
  t.true(scanFrames(frames, prod).length > 20, 'the input is full of production addresses');

  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production untouched');
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS, PREFS);
  t.is(rows.length, frames.length, `every frame mirrored; leak ${JSON.stringify(run.stats.leak)} dropped ${JSON.stringify(run.stats.dropped)}`);
  rows.forEach((out, i) => {
    const inp = input[i]!;
    const where = names[i]!;
    t.deepEqual(out['_ws.malformed'], [], `${where}: well formed`);
    t.deepEqual(out['frame.protocols'], inp['frame.protocols'], `${where}: the same protocol stack`);
    for (const f of ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst'] as const) {
      t.is((out[f] ?? []).length, (inp[f] ?? []).length, `${where}: ${f} count`);
      t.deepEqual((out[f] ?? []).filter(isProd), [], `${where}: no production address in any ${f} (outer or inner)`);
      t.deepEqual(out[f], (inp[f] ?? []).map((a) => a.replace(/^10\.0\./, '10.99.').replace(/^fd00:/, 'fd99:')), `${where}: ${f} through the maps`);
    }
    for (const f of ['ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status', 'gre.checksum.status', 'pim.cksum.status'] as const) {
      t.deepEqual(out[f], inp[f], `${where}: ${f} as in the input`);
      for (const v of out[f] ?? []) t.not(Number(v), 0, `${where}: ${f} not bad`);
    }
  });
  // The checks above are not vacuous: tshark verified inner checksums too.
  t.true(rows[0]!['tcp.checksum.status']!.map(Number).every((v) => v === CHECKSUM_GOOD));
  t.deepEqual(rows[3]!['gre.checksum.status']!.map(Number), [CHECKSUM_GOOD], 'GRE checksum over the translated inner packet');
  t.true(rows[8]!['udp.checksum.status']!.map(Number).includes(CHECKSUM_GOOD), 'the quoted UDP checksum of the ICMP error verifies');
  t.true(rows[9]!['udp.checksum.status']!.map(Number).includes(CHECKSUM_GOOD), 'the quoted UDP checksum of the ICMPv6 error verifies');
  // The inner Ethernet header: the shadow MACs, like the outer one.
  t.deepEqual(rows[0]!['eth.src'], ['02:5a:00:00:00:01', '02:5a:00:00:00:01']);
  t.deepEqual(scanFrames(run.shadow[0]!, prod), [], 'leak audit: no production address at any offset of any shadow frame');
  t.deepEqual(run.stats.leak ?? {}, {});
  t.is(run.stats.translatedPackets, frames.length);
});

const BAD: Record<string, { frame: Buffer; reason: string }> = {
  'GRE version 1 (PPTP)': { frame: out4(TUNNEL_PROTO.gre, gre({ protocol: 0x880b, flags: 0x2001 }, Buffer.concat([Buffer.alloc(4), in4tcp()])), 20), reason: 'unsupported' },
  'GRE carrying ERSPAN': { frame: out4(TUNNEL_PROTO.gre, gre({ protocol: 0x88be, seq: 1 }, Buffer.concat([Buffer.alloc(8), ether(IE, in4tcp())])), 21), reason: 'unsupported' },
  'VXLAN in VXLAN': {
    frame: ether(E, ipv4({ src: '10.0.9.1', dst: '10.0.9.2', id: 22, payload: udp({ sport: 1, dport: TUNNEL_PORT.vxlan, checksum: 0, payload: vxlan(1, ether(IE, ipv4({ src: '10.0.8.1', dst: '10.0.8.2', id: 23, payload: udp({ sport: 2, dport: TUNNEL_PORT.vxlan, checksum: 0, payload: vxlan(2, ether(IE, in4tcp())) }) }))) }) })),
    reason: 'nested',
  },
  'IP-in-IP whose inner header lies about its length': { frame: out4(TUNNEL_PROTO.ipip, (() => { const b = in4tcp(); b.writeUInt16BE(400, 2); return b; })(), 24), reason: 'malformed' },
  'VXLAN without the I flag': { frame: ether(E, ipv4({ src: '10.0.9.1', dst: '10.0.9.2', id: 25, payload: udp({ sport: 3, dport: TUNNEL_PORT.vxlan, checksum: 0, payload: vxlan(3, ether(IE, in4tcp()), 0) }) })), reason: 'malformed' },
};

test.serial('tunnels that cannot be translated: counted by reason, not sent; leak policy pass sends them as they were', async (t) => {
  if (skip) return t.fail(skip);
  const bad = Object.values(BAD);
  const frames = [GOOD.ipip, ...bad.map((b) => b.frame), GOOD.greIp];
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production forwards every frame unchanged');
  t.is(run.shadow[0]!.length, 2, 'only the two good ones mirrored');
  const want: Record<string, number> = {};
  for (const b of bad) want[b.reason] = (want[b.reason] ?? 0) + 1;
  t.deepEqual(Object.fromEntries(Object.entries(run.stats.leak?.tunnel ?? {}).map(([r, n]) => [r, n.drop])), want);
  t.deepEqual(scanFrames(run.shadow[0]!, prod), []);

  const passed = await runConfig({ frames: bad.map((b) => b.frame), policy: withLeak({ tunnel: 'pass' }) });
  t.teardown(passed.dispose);
  t.is(passed.shadow[0]!.length, bad.length, 'pass: all sent');
  const rows = await decodeFields(passed.shadowPaths[0]!, ['ip.src']);
  t.deepEqual(rows.map((r) => r['ip.src']![0]), bad.map(() => '10.99.9.1'), 'the outer header translated');
  t.true(scanFrames(passed.shadow[0]!, prod).length > 0, 'and the inner one not: the audit sees it');
  t.deepEqual(passed.stats.leak, { tunnel: { policy: { drop: 0, pass: bad.length } } });

  const dropped = await runConfig({ frames: [GOOD.vxlan4, GOOD.icmpErr], policy: withLeak({ tunnel: 'drop' }) });
  t.teardown(dropped.dispose);
  t.is(dropped.shadow[0]!.length, 1, 'drop: the tunnel is not sent, the ICMP error is');
  t.deepEqual(dropped.stats.leak, { tunnel: { policy: { drop: 1, pass: 0 } } });
});
