/**
 * DNS, mDNS and LLMNR payloads through the REAL data plane, from a policy:
 * every A/AAAA record in every section, reverse names, EDNS client subnet
 * and HTTPS address hints translated, checked field by field with tshark
 * (the input validated with tshark's dissectors first), checksums verified
 * by tshark; malformed messages counted by reason and never sent, the data
 * plane carrying on; the leak policy's translate/drop/pass each observed;
 * production byte-identical throughout.
 */
import test from 'ava';
import { ether, ipv4, ipv6, tcp, udp } from '../../src/pcap/build.js';
import { dnsMessage, dnsTcpFraming, DNS_TYPE, ednsClientSubnet, reverseName } from '../../src/pcap/dns.js';
import { translateAddress } from '../helpers/dataplane.js';
import { decodeFields, decodeFrameFields, missingBuild, runConfig, sessionCounters, type Rows } from '../helpers/policy-run.js';
import { CHECKSUM_GOOD } from '../helpers/tshark.js';

const skip = missingBuild();

const MAP4 = [
  { from: '10.0.0.0', to: '10.99.0.0', len: 16 },
  { from: '10.1.0.0', to: '10.2.0.0', len: 16 },
];
const MAP6 = [{ from: 'fd00::', to: 'fd99::', len: 16 }];
const POLICY = {
  translate: {
    ipv4: MAP4.map((m) => ({ from: `${m.from}/${m.len}`, to: `${m.to}/${m.len}` })),
    ipv6: MAP6.map((m) => ({ from: `${m.from}/${m.len}`, to: `${m.to}/${m.len}` })),
    unmapped: 'drop',
  },
  sessions: [{ id: 1 }],
};
const withLeak = (leak: Record<string, string>) => ({ ...POLICY, translate: { ...POLICY.translate, leak } });

const E = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const udp4 = (src: string, dst: string, sport: number, dport: number, payload: Buffer, id = 1) =>
  ether(E, ipv4({ src, dst, id, ttl: 64, payload: udp({ sport, dport, payload }) }));
const udp6 = (src: string, dst: string, sport: number, dport: number, payload: Buffer) =>
  ether(E, ipv6({ src, dst, hopLimit: 64, payload: udp({ sport, dport, payload }) }));

const NAME = 'api.demo.internal';
const GOOD = {
  query: udp4('10.0.1.11', '10.0.0.53', 53001, 53, dnsMessage({ id: 1, questions: [{ name: NAME, type: DNS_TYPE.A }], additional: [ednsClientSubnet('10.0.1.0', 24)] })),
  response: udp4('10.0.0.53', '10.0.1.11', 53, 53001, dnsMessage({
    id: 1, response: true,
    questions: [{ name: NAME, type: DNS_TYPE.A }],
    answers: [
      { name: NAME, type: DNS_TYPE.CNAME, data: { name: 'www.demo.internal' } },
      { name: 'www.demo.internal', type: DNS_TYPE.A, data: { address: '10.0.2.21' } },
      { name: 'www.demo.internal', type: DNS_TYPE.A, data: { address: '10.1.7.7' } },
      { name: 'www.demo.internal', type: DNS_TYPE.A, data: { address: '8.8.8.8' } },
    ],
    authority: [{ name: 'demo.internal', type: DNS_TYPE.NS, data: { name: 'ns1.demo.internal' } }],
    additional: [
      { name: 'ns1.demo.internal', type: DNS_TYPE.A, data: { address: '10.0.0.53' } },
      { name: 'ns1.demo.internal', type: DNS_TYPE.AAAA, data: { address: 'fd00::53' } },
      ednsClientSubnet('10.0.1.0', 24),
    ],
  }), 2),
  overV6: udp6('fd00:20::53', 'fd00:10::11', 53, 53002, dnsMessage({
    id: 2, response: true,
    questions: [{ name: NAME, type: DNS_TYPE.HTTPS }],
    answers: [
      { name: NAME, type: DNS_TYPE.HTTPS, data: { https: { priority: 1, target: '.', ipv4hint: ['10.0.2.21', '192.0.2.1'], ipv6hint: ['fd00:20::21'] } } },
      { name: NAME, type: DNS_TYPE.AAAA, data: { address: 'fd00:20::21' } },
    ],
    additional: [ednsClientSubnet('fd00:10::', 48)],
  })),
  ptr4: udp4('10.0.0.53', '10.0.1.11', 53, 53003, dnsMessage({
    id: 3, response: true,
    questions: [{ name: reverseName('10.1.7.7'), type: DNS_TYPE.PTR }],
    answers: [{ name: reverseName('10.1.7.7'), type: DNS_TYPE.PTR, data: { name: 'host7.demo.internal' } }],
    // the zone's name is compressed into the question's (1.10.in-addr.arpa: a /16)
    authority: [{ name: '1.10.in-addr.arpa', type: DNS_TYPE.SOA, data: { soa: { mname: 'ns1.demo.internal', rname: 'hostmaster.demo.internal', serial: 7 } } }],
  }), 3),
  ptr6: udp6('fd00:20::53', 'fd00:10::11', 53, 53004, dnsMessage({
    id: 4, response: true,
    questions: [{ name: reverseName('fd00:20::21'), type: DNS_TYPE.PTR }],
    answers: [{ name: reverseName('fd00:20::21'), type: DNS_TYPE.PTR, data: { name: 'api.demo.internal' } }],
  })),
  mdns: udp4('10.0.1.20', '224.0.0.251', 5353, 5353, dnsMessage({
    id: 0, response: true, flags: 0x0400,
    answers: [
      { name: 'printer.local', type: DNS_TYPE.A, cls: 0x8001, ttl: 120, data: { address: '10.0.1.20' } },
      { name: 'printer.local', type: DNS_TYPE.AAAA, cls: 0x8001, ttl: 120, data: { address: 'fd00:10::20' } },
      { name: reverseName('10.1.1.20'), type: DNS_TYPE.PTR, cls: 0x8001, ttl: 120, data: { name: 'printer.local' } },
    ],
  }), 4),
  llmnr: udp6('fd00:10::6', 'fd00:10::5', 5355, 50123, dnsMessage({
    id: 5, response: true, flags: 0,
    questions: [{ name: 'filesrv', type: DNS_TYPE.A }],
    answers: [{ name: 'filesrv', type: DNS_TYPE.A, data: { address: '10.0.1.6' } }],
  })),
  tcp: ether(E, ipv4({ src: '10.0.0.53', dst: '10.0.1.11', id: 5, ttl: 64, df: true, payload: tcp({
    sport: 53, dport: 50000, seq: 1000, ack: 2000, flags: 'PA', window: 501,
    payload: dnsTcpFraming(
      dnsMessage({ id: 6, response: true, questions: [{ name: NAME, type: DNS_TYPE.A }], answers: [{ name: NAME, type: DNS_TYPE.A, data: { address: '10.0.2.21' } }] }),
      dnsMessage({ id: 7, response: true, questions: [{ name: NAME, type: DNS_TYPE.AAAA }], answers: [{ name: NAME, type: DNS_TYPE.AAAA, data: { address: 'fd00:20::21' } }] }),
    ),
  }) })),
};

const FIELDS = [
  'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status',
  'dns.id', 'dns.qry.name', 'dns.resp.name', 'dns.a', 'dns.aaaa', 'dns.ptr.domain_name', 'dns.opt.client.addr4', 'dns.opt.client.addr6',
  'dns.svcb.svcparam.ipv4hint.ip', 'dns.svcb.svcparam.ipv6hint.ip', '_ws.malformed', '_ws.expert.severity',
] as const;

const tr = { map4: MAP4, map6: MAP6 };
const addr = (a: string): string => translateAddress(a, tr) ?? a;
/** A reverse name as the data plane must translate it: the address (or zone prefix) through the maps. */
function reverse(name: string): string {
  const m4 = /^((?:\d+\.){1,4})in-addr\.arpa$/i.exec(name);
  if (m4) {
    const oct = m4[1]!.slice(0, -1).split('.').reverse();
    const full = [...oct, '0', '0', '0', '0'].slice(0, 4).join('.');
    const out = addr(full).split('.').slice(0, oct.length);
    return `${out.reverse().join('.')}.in-addr.arpa`;
  }
  const m6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/i.exec(name);
  if (!m6) return name;
  const nib = m6[1]!.slice(0, -1).split('.').reverse().join('');
  return reverseOf(addr(nib.match(/.{4}/g)!.join(':')));
}
function expand(a: string): string {
  const [h, t] = a.split('::');
  const hs = h ? h.split(':') : [];
  const ts = t ? t.split(':') : [];
  return [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts].map((x) => x.padStart(4, '0')).join(':');
}
function reverseOf(a6: string): string {
  return `${expand(a6).replace(/:/g, '').split('').reverse().join('.')}.ip6.arpa`;
}

const PROD = [/^10\.0\./, /^10\.1\./, /^fd00:/];
const isProd = (v: string): boolean => PROD.some((r) => r.test(v));

test.serial('DNS, mDNS, LLMNR: every address record, reverse name, client subnet and hint translated (tshark), checksums good', async (t) => {
  if (skip) return t.fail(skip);
  const frames = Object.values(GOOD);
  // The input first: tshark's dissectors read every message as built, nothing malformed.
  const input = await decodeFrameFields(frames, FIELDS);
  t.is(input.length, frames.length);
  input.forEach((r, i) => t.deepEqual(r['_ws.malformed'], [], `input frame ${i + 1} is well formed`));
  const inA = input.flatMap((r) => r['dns.a'] ?? []);
  t.true(inA.filter(isProd).length >= 6, `production A records in the input: ${inA.join(' ')}`);

  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production untouched');
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.is(rows.length, frames.length, 'every DNS frame mirrored');
  rows.forEach((out, i) => {
    const inp = input[i]!;
    const where = `frame ${i + 1} (${Object.keys(GOOD)[i]})`;
    t.deepEqual(out['_ws.malformed'], [], `${where}: well formed`);
    for (const f of ['dns.a', 'dns.aaaa', 'dns.opt.client.addr4', 'dns.svcb.svcparam.ipv4hint.ip', 'dns.svcb.svcparam.ipv6hint.ip'] as const) {
      t.deepEqual(out[f], (inp[f] ?? []).map(addr), `${where}: ${f}`);
    }
    // ECS over IPv6: a /48 prefix, printed by tshark as the address it carries
    t.deepEqual(out['dns.opt.client.addr6'], (inp['dns.opt.client.addr6'] ?? []).map((a) => a.replace(/^fd00:/, 'fd99:')), `${where}: ECS v6`);
    t.deepEqual(out['dns.qry.name'], (inp['dns.qry.name'] ?? []).map(reverse), `${where}: question names`);
    t.deepEqual(out['dns.resp.name'], (inp['dns.resp.name'] ?? []).map(reverse), `${where}: owner names`);
    t.deepEqual(out['dns.ptr.domain_name'], inp['dns.ptr.domain_name'], `${where}: PTR targets are host names, kept`);
    for (const f of ['dns.a', 'dns.aaaa', 'dns.opt.client.addr4', 'dns.svcb.svcparam.ipv4hint.ip', 'dns.svcb.svcparam.ipv6hint.ip'] as const) {
      t.deepEqual((out[f] ?? []).filter(isProd), [], `${where}: no production address left in ${f}`);
    }
    for (const f of ['ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status'] as const) {
      for (const v of out[f] ?? []) t.is(Number(v), CHECKSUM_GOOD, `${where}: ${f}`);
    }
    t.true((out['udp.checksum.status'] ?? out['tcp.checksum.status'] ?? []).length > 0 || (out['tcp.checksum.status'] ?? []).length > 0, `${where}: a transport checksum verified`);
  });
  // Spot checks that the reference above is not vacuous.
  t.true(rows[1]!['dns.a']!.includes('10.99.2.21') && rows[1]!['dns.a']!.includes('10.2.7.7') && rows[1]!['dns.a']!.includes('8.8.8.8'));
  t.deepEqual(rows[3]!['dns.qry.name'], ['7.7.2.10.in-addr.arpa']);
  t.true(rows[3]!['dns.resp.name']!.includes('2.10.in-addr.arpa'), 'the SOA zone, compressed into the question name, follows it');
  t.deepEqual(rows[4]!['dns.qry.name'], [reverseOf('fd99:20::21')]);
  t.is(run.stats.translatedPackets, frames.length);
  t.deepEqual(run.stats.leak ?? {}, {}, 'nothing counted as a leak');
  t.is(sessionCounters(run, 1).mirroredPackets, frames.length);
});

// ---- what cannot be translated ------------------------------------------------------

const resp = (payload: Buffer, id: number) => udp4('10.0.0.53', '10.0.1.11', 53, 53100 + id, payload, 100 + id);
const okMsg = dnsMessage({ id: 9, response: true, questions: [{ name: NAME, type: DNS_TYPE.A }], answers: [{ name: NAME, type: DNS_TYPE.A, data: { address: '10.0.2.21' } }] });
const at = (b: Buffer, off: number, v: number): Buffer => {
  const c = Buffer.from(b);
  c[off] = v;
  return c;
};
// okMsg: header 12, question name 19 bytes + 4, answer at 35: c0 0c, type, class, ttl, rdlen (at 45), rdata at 47
const BAD: Record<string, { frame: Buffer; reason: string }> = {
  'answer count larger than the records': { frame: resp(dnsMessage({ id: 10, response: true, questions: [{ name: NAME, type: 1 }], answers: [{ name: NAME, type: 1, data: { address: '10.0.2.21' } }], counts: { an: 2 } }), 1), reason: 'malformed' },
  'answer count smaller (a record left over)': { frame: resp(dnsMessage({ id: 11, response: true, questions: [{ name: NAME, type: 1 }], answers: [{ name: NAME, type: 1, data: { address: '10.0.2.21' } }, { name: NAME, type: 1, data: { address: '10.0.2.22' } }], counts: { an: 1 } }), 2), reason: 'malformed' },
  'compression pointer forwards': { frame: resp(at(at(okMsg, 35, 0xc0), 36, 40), 3), reason: 'malformed' },
  'compression pointer to itself': { frame: resp(at(at(okMsg, 35, 0xc0), 36, 35), 4), reason: 'malformed' },
  'label type 0x40': { frame: resp(at(okMsg, 12, 0x43), 5), reason: 'malformed' },
  'A record with rdlength 5': { frame: resp(at(okMsg, 46, 5), 6), reason: 'malformed' },
  'message cut inside the header': { frame: resp(okMsg.subarray(0, 10), 7), reason: 'malformed' },
  'message cut inside an A record': { frame: resp(okMsg.subarray(0, okMsg.length - 2), 8), reason: 'malformed' },
  'reverse name whose translation changes length': { frame: resp(dnsMessage({ id: 12, response: true, questions: [{ name: reverseName('10.0.2.21'), type: DNS_TYPE.PTR }] }), 9), reason: 'name_length' },
  'reverse zone shorter than its map': { frame: resp(dnsMessage({ id: 13, response: true, questions: [{ name: '10.in-addr.arpa', type: DNS_TYPE.SOA }] }), 10), reason: 'prefix_length' },
  'TCP segment ending inside a message': {
    frame: ether(E, ipv4({ src: '10.0.0.53', dst: '10.0.1.11', id: 120, ttl: 64, payload: tcp({ sport: 53, dport: 50001, seq: 1, ack: 1, flags: 'PA', window: 501, payload: dnsTcpFraming(okMsg).subarray(0, 30) }) })),
    reason: 'segment',
  },
};

test.serial('malformed and untranslatable DNS: not sent, counted per reason, production forwarded, the data plane carries on', async (t) => {
  if (skip) return t.fail(skip);
  const bad = Object.values(BAD);
  const frames = [GOOD.response, ...bad.map((b) => b.frame), GOOD.mdns];
  const run = await runConfig({ frames, policy: POLICY });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production forwards every frame unchanged');
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.deepEqual(rows.map((r) => r['dns.id']?.[0]), ['0x0001', '0x0000'], 'only the good frames are mirrored');
  const want: Record<string, number> = {};
  for (const b of bad) want[b.reason] = (want[b.reason] ?? 0) + 1;
  const got = Object.fromEntries(Object.entries(run.stats.leak?.dns ?? {}).map(([r, n]) => [r, n.drop]));
  t.deepEqual(got, want, 'leak counts by reason');
  t.is(sessionCounters(run, 1).dropped.leak, bad.length);
  t.is(run.stats.dropped.leak, bad.length);
  t.is(run.stats.ports[1]?.txPackets, frames.length);
});

test.serial('leak policy: drop sends no copy, pass sends it untranslated, translate translates; each counted', async (t) => {
  if (skip) return t.fail(skip);
  const frames = [GOOD.response, GOOD.mdns, GOOD.llmnr];
  const run = await runConfig({ frames, policy: withLeak({ dns: 'drop', mdns: 'pass', llmnr: 'translate' }) });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production untouched');
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.is(rows.length, 2, 'the DNS response is dropped');
  const [mdns, llmnr] = rows as Rows;
  t.deepEqual(mdns!['ip.src'], ['10.99.1.20'], 'pass: headers translated');
  t.deepEqual(mdns!['dns.a'], ['10.0.1.20'], 'pass: the payload is not');
  t.deepEqual(mdns!['dns.aaaa'], ['fd00:10::20']);
  t.is(Number(mdns!['udp.checksum.status']?.[0]), CHECKSUM_GOOD);
  t.deepEqual(llmnr!['dns.a'], ['10.99.1.6'], 'translate');
  t.deepEqual(run.stats.leak, { dns: { policy: { drop: 1, pass: 0 } }, mdns: { policy: { drop: 0, pass: 1 } } });
  t.is(run.stats.dropped.leak, 1);
});

test.serial('leak policy pass: an untranslatable message is sent as it was, counted with its reason', async (t) => {
  if (skip) return t.fail(skip);
  const frames = [BAD['reverse name whose translation changes length']!.frame, BAD['compression pointer forwards']!.frame];
  const run = await runConfig({ frames, policy: withLeak({ dns: 'pass' }) });
  t.teardown(run.dispose);
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.is(rows.length, 2);
  t.deepEqual(rows[0]!['dns.qry.name'], ['21.2.0.10.in-addr.arpa'], 'untranslated');
  t.deepEqual(rows[0]!['ip.src'], ['10.99.0.53']);
  t.deepEqual(run.stats.leak, { dns: { policy: { drop: 0, pass: 2 } } }, 'pass decides before any parsing: reason policy');
});

test.serial('a snaplen never cuts a DNS message: the copy keeps it whole, translated', async (t) => {
  if (skip) return t.fail(skip);
  const frames = [GOOD.response];
  t.true(GOOD.response.length > 120);
  const run = await runConfig({ frames, policy: { ...POLICY, sessions: [{ id: 1, snaplen: 80 }] } });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')));
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS);
  t.is(rows.length, 1);
  t.is(run.shadow[0]![0]!.length, GOOD.response.length, 'whole');
  t.deepEqual(rows[0]!['dns.a'], ['10.99.2.21', '10.2.7.7', '8.8.8.8', '10.99.0.53']);
  t.deepEqual(run.stats.leak ?? {}, {});
});
