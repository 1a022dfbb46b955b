/**
 * BGP across TCP segments and malformed routing packets, through the REAL
 * data plane, with messages from src/pcap/build-routing.ts (validated by
 * tshark's dissectors first).
 *
 * 1. One BGP UPDATE carrying every translated field, split into two segments
 *    at every byte position (one TCP flow per position, each opened by a
 *    SYN). The two shadow segments together must be byte for byte the UPDATE
 *    built with the translated values (length-preserving translation), TCP
 *    checksums good; the only first segments not sent are those cut inside
 *    the last byte of a router id whose router-id map and address map give
 *    different third bytes, counted as leak reason "segment".
 * 2. Malformed and truncated BGP and OSPF: every copy refused and counted,
 *    production byte-identical, the data plane carries on.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ether, ipv4, tcp } from '../../src/pcap/build.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import {
  bgpKeepalive, bgpOpen, bgpUpdate, externalLsaBody, lsa, networkLsaBody, ospfHello, ospfLsUpdate, routerLsaBody, summaryLsaBody,
  type BgpUpdateOptions,
} from '../../src/pcap/build-routing.js';
import { missingBuild, runConfig } from '../helpers/policy-run.js';
import { productionPrefixes, scanFrames } from '../../src/audit/leak.js';
import { routingConversations } from '../../src/tools/demo-routing.js';
import { checkOspf } from '../helpers/routing-check.js';
import { requireTshark } from '../helpers/tshark.js';

const skip = missingBuild();

const POLICY = {
  translate: {
    ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }],
    ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
    router_ids: [{ from: '10.0.2.1', to: '10.99.222.1' }],
    unmapped: 'drop',
  },
  sessions: [{ id: 1 }],
};

const UPDATE: BgpUpdateOptions = {
  withdrawn: ['10.0.7.0/24'],
  origin: 0,
  asPath: [65001],
  nextHop: '10.0.12.1',
  med: 5,
  aggregator: { as: 65001, address: '10.0.2.1' },
  originatorId: '10.0.2.1',
  clusterList: ['10.0.1.1', '10.0.2.1'],
  routeTargets: [{ address: '10.0.3.3', local: 7 }],
  mpReach: { afi: 2, nextHops: ['fd00:12::1', 'fe80::1'], nlri: ['fd00:100::/64'] },
  nlri: ['10.0.100.0/24', '10.0.96.0/20', '8.8.8.0/24'],
};
const TRANSLATED: BgpUpdateOptions = {
  ...UPDATE,
  withdrawn: ['10.99.7.0/24'],
  nextHop: '10.99.12.1',
  aggregator: { as: 65001, address: '10.99.222.1' },
  originatorId: '10.99.222.1',
  clusterList: ['10.99.1.1', '10.99.222.1'],
  routeTargets: [{ address: '10.99.3.3', local: 7 }],
  mpReach: { afi: 2, nextHops: ['fd99:12::1', 'fe80::1'], nlri: ['fd99:100::/64'] },
  nlri: ['10.99.100.0/24', '10.99.96.0/20', '8.8.8.0/24'],
};

const MAC = { src: '02:00:00:00:0a:01', dst: '02:00:00:00:0a:02' };
const seg = (sport: number, seq: number, flags: string, payload: Buffer, id: number) =>
  ether(MAC, ipv4({ src: '10.0.12.2', dst: '10.0.12.1', id, ttl: 1, payload: tcp({ sport, dport: 179, seq, ack: 1, flags, payload }) }));

function tsharkFields(frames: Buffer[], fields: string[], extra: string[] = []): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'st-rt-'));
  try {
    const p = join(dir, 'in.pcap');
    writePcap(p, frames);
    const r = spawnSync(requireTshark(), ['-r', p, ...extra, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test.serial('a BGP UPDATE split at every byte position: both segments translated wherever the fields fall', async (t) => {
  if (skip) return t.fail(skip);
  const msg = bgpUpdate(UPDATE);
  const want = bgpUpdate(TRANSLATED);
  t.is(want.length, msg.length, 'translation is length-preserving');
  // tshark's dissector reads the builder's UPDATE as meant
  const [row] = tsharkFields([seg(40000, 1, 'PA', msg, 1)], ['bgp.type', 'bgp.nlri_prefix', 'bgp.update.path_attribute.next_hop',
    'bgp.update.path_attribute.aggregator_origin', 'bgp.update.path_attribute.originator_id', 'bgp.path_attribute.cluster_id',
    'bgp.mp_reach_nlri_ipv6_prefix', 'bgp.withdrawn_prefix', '_ws.malformed']);
  t.deepEqual(row, ['2', '10.0.100.0,10.0.96.0,8.8.8.0', '10.0.12.1', '10.0.2.1', '10.0.2.1', '10.0.1.1,10.0.2.1', 'fd00:100::', '10.0.7.0', '']);

  // where the router id 10.0.2.1 sits: cut after its third byte, the
  // router-id map (10.99.222) and the address map (10.99.2) disagree
  const rid = Buffer.from([10, 0, 2, 1]);
  const ambiguous = new Set<number>();
  for (let i = msg.indexOf(rid); i >= 0; i = msg.indexOf(rid, i + 1)) ambiguous.add(i + 3);
  t.is(ambiguous.size, 3, 'AGGREGATOR, ORIGINATOR_ID and one CLUSTER_LIST id');

  const frames: Buffer[] = [];
  let id = 1;
  for (let k = 1; k < msg.length; k++) {
    const sport = 20000 + k;
    frames.push(seg(sport, 0, 'S', Buffer.alloc(0), id++));
    frames.push(seg(sport, 1, 'PA', msg.subarray(0, k), id++));
    frames.push(seg(sport, 1 + k, 'PA', msg.subarray(k), id++));
  }
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production byte-identical');
  const shadow = readPcap(run.shadowPaths[0]!).packets.map((p) => p.data);
  // group the shadow segments by flow (source port) and sequence number
  const got = new Map<number, Map<number, Buffer>>();
  for (const f of shadow) {
    const l4 = 14 + (f[14]! & 0xf) * 4;
    const sport = f.readUInt16BE(l4);
    const payload = f.subarray(l4 + (f[l4 + 12]! >> 4) * 4, 14 + f.readUInt16BE(16));
    if (payload.length === 0) continue;
    if (!got.has(sport)) got.set(sport, new Map());
    got.get(sport)!.set(f.readUInt32BE(l4 + 4), payload);
  }
  const missing: number[] = [];
  let whole = 0;
  for (let k = 1; k < msg.length; k++) {
    const segs = got.get(20000 + k) ?? new Map<number, Buffer>();
    const first = segs.get(1);
    const second = segs.get(1 + k);
    t.truthy(second, `split at ${k}: the second segment is sent`);
    t.deepEqual(second?.toString('hex'), want.subarray(k).toString('hex'), `split at ${k}: second segment translated`);
    if (first === undefined) missing.push(k);
    else {
      t.deepEqual(first.toString('hex'), want.subarray(0, k).toString('hex'), `split at ${k}: first segment translated`);
      whole++;
    }
  }
  t.deepEqual(missing, [...ambiguous].sort((a, b) => a - b), 'only the ambiguous cuts are refused');
  t.deepEqual(run.stats.leak, { bgp: { segment: { drop: ambiguous.size, pass: 0 } } }, 'and counted as leak reason "segment"');
  // 153 flows through a table of 128 (4-way sets): the oldest, finished ones make room, counted
  t.true((run.stats.bgpFlowsEvicted ?? 0) >= msg.length - 1 - 128, `flows evicted: ${run.stats.bgpFlowsEvicted}`);
  const ck = tsharkFields(shadow, ['tcp.checksum.status', 'ip.checksum.status'], ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE']);
  t.false(ck.some(([tc, ic]) => tc !== '1' || ic !== '1'), 'every TCP and IPv4 checksum verifies (tshark)');
  t.log(`${msg.length} bytes, ${msg.length - 1} splits, ${whole} sent whole, ${missing.length} first segments refused`);
});

test.serial('malformed and truncated BGP and OSPF: counted, never sent, never a crash; production untouched', async (t) => {
  if (skip) return t.fail(skip);
  const lsas = [
    lsa({ type: 1, id: '10.0.1.1', advRouter: '10.0.1.1', body: routerLsaBody([{ type: 2, id: '10.0.12.1', data: '10.0.12.1', metric: 10 }, { type: 3, id: '10.0.110.0', data: '255.255.255.0', metric: 10 }]) }),
    lsa({ type: 2, id: '10.0.12.1', advRouter: '10.0.1.1', body: networkLsaBody('255.255.255.0', ['10.0.1.1', '10.0.2.1']) }),
    lsa({ type: 3, id: '10.0.110.0', advRouter: '10.0.1.1', body: summaryLsaBody('255.255.255.0', 10) }),
    lsa({ type: 5, id: '10.0.150.0', advRouter: '10.0.1.1', body: externalLsaBody('255.255.255.0', 20, '10.0.12.9') }),
  ];
  const goodLsu = ospfLsUpdate({ routerId: '10.0.1.1', lsas });
  const ospfFrame = (p: Buffer, id: number) => ether({ src: MAC.src, dst: '01:00:5e:00:00:05' }, ipv4({ src: '10.0.12.1', dst: '224.0.0.5', id, ttl: 1, proto: 89, payload: p }));
  // the builder's OSPF passes this test's independent checks
  const good = ospfFrame(goodLsu, 1);
  const chk = checkOspf(good)!;
  t.true(chk.checksumOk && chk.lsas.length === 4 && chk.lsas.every((l) => l.ok), 'built LS update verifies');
  const hello = ospfFrame(ospfHello({ routerId: '10.0.1.1', mask: '255.255.255.0', dr: '10.0.12.1', bdr: '10.0.12.2', neighbors: ['10.0.2.1'] }), 2);

  const bad: [string, Buffer][] = [];
  const flip = (b: Buffer, at: number, v: number) => { const c = Buffer.from(b); c[at] = v; return c; };
  const set16 = (b: Buffer, at: number, v: number) => { const c = Buffer.from(b); c.writeUInt16BE(v, at); return c; };
  let sport = 30000;
  const bgpFlow = (payload: Buffer): Buffer[] => {
    sport++;
    return [seg(sport, 0, 'S', Buffer.alloc(0), 100 + sport), seg(sport, 1, 'PA', payload, 200 + sport)];
  };
  const upd = bgpUpdate(UPDATE);
  const bgpCases: [string, Buffer][] = [
    ['marker not all ones', flip(upd, 3, 0)],
    ['length under 19', set16(upd, 16, 12)],
    ['unknown message type', flip(upd, 18, 9)],
    ['withdrawn length past the message', set16(upd, 19, 500)],
    ['path attribute length past the message', set16(upd, 19 + 2 + 4, 900)],
    ['NLRI prefix length 33', flip(upd, upd.length - 4, 33)],
    ['NEXT_HOP of 5 bytes', (() => { const i = upd.indexOf(Buffer.from([0x40, 3, 4])); return flip(upd, i + 2, 5); })()],
    ['KEEPALIVE with a body', Buffer.concat([set16(bgpKeepalive(), 16, 20), Buffer.from([0])])],
    ['OPEN cut short', set16(bgpOpen({ as: 65001, identifier: '10.0.2.1' }).subarray(0, 25), 16, 25)],
    ['a prefix shorter than the map', bgpUpdate({ origin: 0, asPath: [65001], nextHop: '10.0.12.1', nlri: ['10.0.0.0/8'] })],
  ];
  for (const [name, payload] of bgpCases) {
    const [syn, data] = bgpFlow(payload);
    bad.push([`${name} (SYN)`, syn!]);
    bad.push([name, data!]);
  }
  const ospfCases: [string, Buffer][] = [
    ['OSPF length past the datagram', set16(goodLsu, 2, goodLsu.length + 40)],
    ['OSPF version 7', flip(goodLsu, 0, 7)],
    ['LSA length past the packet', set16(goodLsu, 24 + 4 + 18, 400)],
    ['LSA Fletcher checksum wrong', flip(goodLsu, 24 + 4 + 16, goodLsu[24 + 4 + 16]! ^ 0x5a)],
    ['router LSA link count too high', set16(goodLsu, 24 + 4 + 22, 60)],
    ['stub link mask not contiguous', (() => { const i = goodLsu.indexOf(Buffer.from([255, 255, 255, 0, 3])); return flip(goodLsu, i + 2, 0x0f); })()],
    ['unknown OSPF type', flip(goodLsu, 1, 9)],
    ['cryptographic authentication', set16(goodLsu, 14, 2)],
    ['hello cut inside its neighbours', set16(ospfHello({ routerId: '10.0.1.1', mask: '255.255.255.0', dr: '10.0.12.1', bdr: '0.0.0.0', neighbors: ['10.0.2.1'] }), 2, 46)],
  ];
  ospfCases.forEach(([name, p], i) => bad.push([name, ospfFrame(p, 50 + i)]));

  const frames = [good, hello, ...bad.map(([, f]) => f), good];
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production byte-identical');
  const shadow = readPcap(run.shadowPaths[0]!).packets.map((p) => p.data);
  const syns = bgpCases.length;
  t.is(shadow.length, 3 + syns, `only the good OSPF packets and the SYNs are mirrored (${shadow.length})`);
  const counts = run.stats.leak ?? {};
  const total = Object.values(counts).flatMap((r) => Object.values(r ?? {})).reduce((n, c) => n + (c?.drop ?? 0), 0);
  t.is(total, bgpCases.length + ospfCases.length, `every refused copy counted once: ${JSON.stringify(counts)}`);
  t.log(JSON.stringify(counts));
  t.is(counts.bgp?.prefix_length?.drop, 1, 'the short prefix as prefix_length');
  t.is(counts.ospf?.unsupported?.drop, 1, 'authentication as unsupported');
  t.is(counts.bgp?.malformed?.drop, bgpCases.length - 1, 'the other BGP cases as malformed');
  for (const f of shadow) {
    const o = checkOspf(f);
    if (o) t.true(o.checksumOk && o.lsas.every((l) => l.ok), 'mirrored OSPF verifies');
  }
});

test.serial('the demo capture\'s BGP and OSPF: tshark reads them as meant, the shadow copies are translated and the leak audit finds nothing in them', async (t) => {
  if (skip) return t.fail(skip);
  const frames = routingConversations().flat();
  const translate = { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }], unmapped: 'drop' };
  const input = tsharkFields(frames, ['bgp.type', 'ospf.msg', '_ws.malformed', 'tcp.checksum.status'], ['-o', 'tcp.check_checksum:TRUE']);
  t.is(input.filter(([b, o]) => b || o).length, frames.length - 5, 'every BGP segment with data and every OSPF packet decodes');
  t.false(input.some((r) => (r[2] ?? '') !== '' || r[3] === '0'), 'well formed, TCP checksums good');
  const run = await runConfig({ frames, policy: { translate, sessions: [{ id: 1 }] } });
  t.teardown(run.dispose);
  const shadow = readPcap(run.shadowPaths[0]!).packets.map((p) => p.data);
  t.is(shadow.length, frames.length, 'every demo routing frame mirrored');
  t.deepEqual(run.stats.leak ?? {}, {}, 'nothing left untranslated');
  const findings = scanFrames(shadow, productionPrefixes(translate));
  t.deepEqual(findings, [], 'the leak audit finds no production address in the demo\'s routing copies');
  for (const f of shadow) {
    const o = checkOspf(f);
    if (o) t.true(o.checksumOk && o.lsas.every((l) => l.ok), 'OSPF and LSA checksums verify');
  }
});
