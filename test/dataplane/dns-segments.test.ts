/**
 * DNS over TCP across segments, through the REAL data plane (the flow state
 * BGP uses, rewrite_rt.h, with the DNS message walker).
 *
 * 1. One DNS response (A and AAAA answers and an additional A, names
 *    compressed) after its 2-byte length, split into two segments at every
 *    byte position, the length prefix included (one TCP flow per position,
 *    each opened by a SYN). Both shadow segments of every flow are sent and
 *    together are byte for byte the response built with the translated
 *    addresses (length-preserving); tshark reassembles each flow and finds
 *    no A/AAAA in production space, TCP checksums good; the leak audit finds
 *    nothing; production byte-identical.
 * 2. A PTR response (its answer's owner a pointer to the question's reverse
 *    name) split at every byte position: a segment that would send address
 *    labels of a reverse name not complete yet is refused ("segment"), so is
 *    one completing a name whose changed label went out before; everything
 *    sent is the translated response's bytes.
 * 3. A segment out of order or after a missing one: counted as "segment",
 *    not sent, and so is the stream after it until a segment starts with
 *    whole messages (where the flow is followed again).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ether, ipv4, tcp } from '../../src/pcap/build.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import { bgpUpdate } from '../../src/pcap/build-routing.js';
import { dnsMessage, dnsTcpFraming, DNS_TYPE, reverseName, type DnsRecord } from '../../src/pcap/dns.js';
import { missingBuild, runConfig } from '../helpers/policy-run.js';
import { productionPrefixes, scanFrames } from '../../src/audit/leak.js';
import { requireTshark } from '../helpers/tshark.js';

const skip = missingBuild();

const TRANSLATE = {
  ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.1.0.0/16', to: '10.2.0.0/16' }],
  ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
  unmapped: 'drop',
};
const POLICY = { translate: TRANSLATE, sessions: [{ id: 1 }] };

const NAME = 'api.demo.internal';
function response(a: [string, string, string], aaaa: string, ns: string): Buffer {
  const answers: DnsRecord[] = [
    ...a.map((address) => ({ name: NAME, type: DNS_TYPE.A, data: { address } })),
    { name: NAME, type: DNS_TYPE.AAAA, data: { address: aaaa } },
  ];
  return dnsTcpFraming(dnsMessage({
    id: 9, response: true, questions: [{ name: NAME, type: DNS_TYPE.A }], answers,
    authority: [{ name: 'demo.internal', type: DNS_TYPE.NS, data: { name: 'ns1.demo.internal' } }],
    additional: [{ name: 'ns1.demo.internal', type: DNS_TYPE.A, data: { address: ns } }],
  }));
}
const STREAM = response(['10.0.2.21', '10.1.7.7', '8.8.8.8'], 'fd00:20::21', '10.0.0.53');
const WANT = response(['10.99.2.21', '10.2.7.7', '8.8.8.8'], 'fd99:20::21', '10.99.0.53');

const MAC = { src: '02:00:00:00:0b:01', dst: '02:00:00:00:0b:02' };
const seg = (dport: number, seq: number, flags: string, payload: Buffer, id: number) =>
  ether(MAC, ipv4({ src: '10.0.0.53', dst: '10.0.1.11', id, ttl: 64, payload: tcp({ sport: 53, dport, seq, ack: 1, flags, payload }) }));

function tsharkFields(frames: Buffer[], fields: string[], extra: string[] = []): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'st-dnsseg-'));
  try {
    const p = join(dir, 'in.pcap');
    writePcap(p, frames);
    const r = spawnSync(requireTshark(), ['-r', p, ...extra, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tshark: ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The payloads of TCP frames by destination port, then sequence number. */
function byFlow(frames: Buffer[]): Map<number, Map<number, Buffer>> {
  const got = new Map<number, Map<number, Buffer>>();
  for (const f of frames) {
    const l4 = 14 + (f[14]! & 0xf) * 4;
    const dport = f.readUInt16BE(l4 + 2);
    const payload = f.subarray(l4 + (f[l4 + 12]! >> 4) * 4, 14 + f.readUInt16BE(16));
    if (payload.length === 0) continue;
    if (!got.has(dport)) got.set(dport, new Map());
    got.get(dport)!.set(f.readUInt32BE(l4 + 4), payload);
  }
  return got;
}

const DECODE = ['-o', 'tcp.check_checksum:TRUE', '-o', 'tcp.desegment_tcp_streams:TRUE', '-o', 'ip.check_checksum:TRUE'];

test.serial('a DNS response over TCP split at every byte position (its length too): every segment sent, translated wherever the addresses fall', async (t) => {
  if (skip) return t.fail(skip);
  t.is(WANT.length, STREAM.length, 'translation is length-preserving');
  // tshark reads the built response as meant, compression included
  const [row] = tsharkFields([seg(40000, 1, 'PA', STREAM, 1)], ['dns.a', 'dns.aaaa', 'dns.count.answers', '_ws.malformed']);
  t.deepEqual(row, ['10.0.2.21,10.1.7.7,8.8.8.8,10.0.0.53', 'fd00:20::21', '4', '']);
  t.true(STREAM.indexOf(Buffer.from([0xc0, 0x0c])) > 0, 'names compressed');

  const frames: Buffer[] = [];
  let id = 1;
  for (let k = 1; k < STREAM.length; k++) {
    const dport = 20000 + k;
    frames.push(seg(dport, 0, 'S', Buffer.alloc(0), id++));
    frames.push(seg(dport, 1, 'PA', STREAM.subarray(0, k), id++));
    frames.push(seg(dport, 1 + k, 'PA', STREAM.subarray(k), id++));
  }
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production byte-identical');
  const shadow = readPcap(run.shadowPaths[0]!).packets.map((p) => p.data);
  const got = byFlow(shadow);
  for (let k = 1; k < STREAM.length; k++) {
    const segs = got.get(20000 + k);
    t.is(segs?.get(1)?.toString('hex'), WANT.subarray(0, k).toString('hex'), `split at ${k}: first segment translated`);
    t.is(segs?.get(1 + k)?.toString('hex'), WANT.subarray(k).toString('hex'), `split at ${k}: second segment translated`);
  }
  t.deepEqual(run.stats.leak ?? {}, {}, 'nothing counted');

  // tshark reassembles every flow: each response decodes, no A/AAAA in production space
  const rows = tsharkFields(shadow, ['tcp.checksum.status', 'ip.checksum.status', 'dns.a', 'dns.aaaa', '_ws.malformed'], DECODE);
  t.is(rows.length, shadow.length);
  t.false(rows.some(([tc, ic]) => tc !== '1' || ic !== '1'), 'every TCP and IPv4 checksum verifies (tshark)');
  const answers = rows.filter((r) => (r[2] ?? '') !== '');
  t.is(answers.length, STREAM.length - 1, 'one reassembled response per flow');
  t.false(rows.some((r) => (r[4] ?? '') !== ''), 'nothing malformed');
  const prod = /^(10\.0\.|10\.1\.|fd00:)/;
  t.deepEqual(answers.flatMap((r) => [...r[2]!.split(','), ...(r[3] ?? '').split(',')]).filter((a) => prod.test(a)), [], 'every A/AAAA out of production space');
  t.true(answers.every((r) => r[2] === '10.99.2.21,10.2.7.7,8.8.8.8,10.99.0.53' && r[3] === 'fd99:20::21'), 'and as translated');
  // 'header' findings are bytes of IP ids and checksums that happen to read as
  // a production address (the audit says so); address fields and payloads must be clean
  t.deepEqual(scanFrames(shadow, productionPrefixes(TRANSLATE)).filter((x) => x.kind !== 'header'), [], 'the leak audit finds nothing in an address field or payload');
});

test.serial('DNS over TCP: a segment out of order or after a missing one is counted as "segment" and not sent', async (t) => {
  if (skip) return t.fail(skip);
  // cut inside the first A record's address and inside the AAAA's: the
  // middle part neither starts nor ends a message
  const a = STREAM.indexOf(Buffer.from([10, 0, 2, 21])) + 2;
  const b = STREAM.indexOf(Buffer.from([0xfd, 0, 0, 0x20])) + 5;
  const parts = [STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)];
  const want = [WANT.subarray(0, a), WANT.subarray(a, b), WANT.subarray(b)];
  const seqs = [1, 1 + a, 1 + b];
  const next = 1 + STREAM.length;
  const frames: Buffer[] = [
    // flow 30001: the last part before the middle one (out of order); the
    // flow has lost its place until a segment starts with whole messages
    seg(30001, 0, 'S', Buffer.alloc(0), 1),
    seg(30001, seqs[0]!, 'PA', parts[0]!, 2),
    seg(30001, seqs[2]!, 'PA', parts[2]!, 3),
    seg(30001, seqs[1]!, 'PA', parts[1]!, 4),
    seg(30001, next, 'PA', STREAM, 5),
    // flow 30002: the middle part missing
    seg(30002, 0, 'S', Buffer.alloc(0), 6),
    seg(30002, seqs[0]!, 'PA', parts[0]!, 7),
    seg(30002, seqs[2]!, 'PA', parts[2]!, 8),
  ];
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((x) => x.toString('hex')), frames.map((f) => f.toString('hex')), 'production byte-identical');
  const shadow = readPcap(run.shadowPaths[0]!).packets.map((p) => p.data);
  t.is(shadow.length, frames.length - 3, 'all but the out-of-order, the one after it and the after-a-gap segments mirrored');
  const got = byFlow(shadow);
  t.deepEqual([...(got.get(30001)?.keys() ?? [])], [seqs[0], next], 'flow 30001: the first part, then the whole message that resynchronises it');
  t.is(got.get(30001)?.get(seqs[0]!)?.toString('hex'), want[0]!.toString('hex'), 'first part translated');
  t.is(got.get(30001)?.get(next)?.toString('hex'), WANT.toString('hex'), 'whole message translated');
  t.deepEqual([...(got.get(30002)?.keys() ?? [])], [seqs[0]], 'flow 30002: only the part before the gap');
  t.is(got.get(30002)?.get(seqs[0]!)?.toString('hex'), want[0]!.toString('hex'));
  t.deepEqual(run.stats.leak, { dns: { segment: { drop: 3, pass: 0 } } }, 'the three counted as leak reason "segment"');
  // 'header' findings are bytes of IP ids and checksums that happen to read as
  // a production address (the audit says so); address fields and payloads must be clean
  t.deepEqual(scanFrames(shadow, productionPrefixes(TRANSLATE)).filter((x) => x.kind !== 'header'), [], 'the leak audit finds nothing in an address field or payload');
});

test.serial('a PTR response over TCP split at every byte position: reverse-name labels never sent untranslated; cut ones counted as "segment"', async (t) => {
  if (skip) return t.fail(skip);
  const ptr = (a: string) => dnsTcpFraming(dnsMessage({
    id: 10, response: true, questions: [{ name: reverseName(a), type: DNS_TYPE.PTR }],
    answers: [{ name: reverseName(a), type: DNS_TYPE.PTR, data: { name: 'host7.demo.internal' } }],
    additional: [{ name: 'host7.demo.internal', type: DNS_TYPE.A, data: { address: a } }],
  }));
  const stream = ptr('10.1.7.7');
  const want = ptr('10.2.7.7');
  t.is(want.length, stream.length);
  // 7.7.1.10.in-addr.arpa from byte 14: the label "1" (-> "2") and the name's end
  const one = stream.indexOf(Buffer.from([1, 0x31]), 14) + 1;
  const end = stream.indexOf(Buffer.from('arpa')) + 4;
  t.is(stream[end], 0);
  t.is(want[one], 0x32, 'the label that changes');
  const frames: Buffer[] = [];
  let id = 1;
  for (let k = 1; k < stream.length; k++) {
    frames.push(seg(20000 + k, 0, 'S', Buffer.alloc(0), id++));
    frames.push(seg(20000 + k, 1, 'PA', stream.subarray(0, k), id++));
    frames.push(seg(20000 + k, 1 + k, 'PA', stream.subarray(k), id++));
  }
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production byte-identical');
  const shadow = readPcap(run.shadowPaths[0]!).packets.map((p) => p.data);
  const got = byFlow(shadow);
  const refused: number[] = [];
  for (let k = 1; k < stream.length; k++) {
    const first = got.get(20000 + k)?.get(1);
    const second = got.get(20000 + k)?.get(1 + k);
    // a first segment holding address labels of the unfinished name is refused
    const firstOk = k <= 15 || k > end;
    // a second one completing the name after its "1" went out is refused
    const secondOk = k <= one || k > end;
    t.is(first?.toString('hex'), firstOk ? want.subarray(0, k).toString('hex') : undefined, `split at ${k}: first segment`);
    t.is(second?.toString('hex'), secondOk ? want.subarray(k).toString('hex') : undefined, `split at ${k}: second segment`);
    if (!firstOk) refused.push(k);
    if (!secondOk) refused.push(k);
  }
  t.deepEqual(run.stats.leak, { dns: { segment: { drop: refused.length, pass: 0 } } }, 'every refused segment counted as "segment"');
  // the flows sent whole: tshark reassembles the translated reverse name and address
  const whole = shadow.filter((f) => {
    const k = f.readUInt16BE(14 + 20 + 2) - 20000;
    return k <= 15 || k > end;
  });
  const rows = tsharkFields(whole, ['tcp.checksum.status', 'dns.qry.name', 'dns.a'], DECODE).filter((r) => (r[1] ?? '') !== '');
  t.is(rows.length, stream.length - 1 - (end - 15), 'one reassembled response per flow sent whole');
  t.true(rows.every((r) => r[0] === '1' && r[1] === reverseName('10.2.7.7') && r[2] === '10.2.7.7'), 'translated, checksums good (tshark)');
  t.log(`${stream.length} bytes: ${refused.length} segments refused`);
});

test.serial('a flood of DNS-over-TCP connections evicts DNS flows only: a BGP message split around it is still translated', async (t) => {
  if (skip) return t.fail(skip);
  // BGP and DNS over TCP keep their flows in separate per-worker tables (128 flows each):
  // 300 DNS connections, each left with a message in progress, arrive between the two
  // segments of one BGP UPDATE. Sharing a table, the BGP flow would be evicted and its
  // second segment refused ("segment") for want of state.
  const update = bgpUpdate({ origin: 0, asPath: [65001], nextHop: '10.0.12.1', nlri: ['10.0.100.0/24', '10.1.96.0/20'] });
  const want = bgpUpdate({ origin: 0, asPath: [65001], nextHop: '10.99.12.1', nlri: ['10.99.100.0/24', '10.2.96.0/20'] });
  const cut = update.length - 6;   // inside the last NLRI
  const bgp = (seq: number, flags: string, payload: Buffer, id: number) =>
    ether(MAC, ipv4({ src: '10.0.12.1', dst: '10.0.12.2', id, ttl: 1, payload: tcp({ sport: 179, dport: 40179, seq, ack: 1, flags, payload }) }));
  const FLOOD = 300;
  const frames: Buffer[] = [bgp(0, 'S', Buffer.alloc(0), 1), bgp(1, 'PA', update.subarray(0, cut), 2)];
  let id = 10;
  for (let k = 0; k < FLOOD; k++) {
    frames.push(seg(30000 + k, 0, 'S', Buffer.alloc(0), id++));
    frames.push(seg(30000 + k, 1, 'PA', STREAM.subarray(0, 20), id++));
  }
  frames.push(bgp(1 + cut, 'PA', update.subarray(cut), 3));
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production byte-identical');
  const shadow = readPcap(run.shadowPaths[0]!).packets.map((p) => p.data);
  const bgpPayloads = shadow.filter((f) => f.readUInt16BE(14 + 20) === 179).map((f) => f.subarray(14 + 20 + 20, 14 + f.readUInt16BE(16)));
  t.deepEqual(bgpPayloads.map((p) => p.toString('hex')), ['', want.subarray(0, cut).toString('hex'), want.subarray(cut).toString('hex')], 'both BGP segments sent, translated');
  t.is(run.stats.bgpFlowsEvicted, 0, 'no BGP flow evicted');
  t.true((run.stats.dnsTcpFlowsEvicted ?? 0) >= FLOOD - 128, `DNS flows evicted: ${run.stats.dnsTcpFlowsEvicted}`);
  t.deepEqual(run.stats.leak ?? {}, {}, 'nothing refused');
  // tshark reassembles the BGP message from the two shadow segments: translated NLRI
  const rows = tsharkFields(shadow.filter((f) => f.readUInt16BE(14 + 20) === 179), ['bgp.nlri_prefix', 'bgp.update.path_attribute.next_hop'], DECODE).filter((r) => (r[0] ?? '') !== '');
  t.deepEqual(rows, [['10.99.100.0,10.2.96.0', '10.99.12.1']]);
});
