/**
 * PIM over IPv6 through the REAL data plane (issue 17): PIMv2's checksum
 * covers the IPv6 pseudo-header (RFC 7761 4.9), which the outer translation
 * changes, so it must follow the translated addresses: a Register (whose
 * checksum covers its 8-byte header only, never the packet it carries, which
 * is translated too, a DNS answer in it included) and a Hello (the whole message). tshark verifies the PIM
 * checksum by default; production is byte-identical.
 */
import test from 'ava';
import { ether, ipv4, ipv6, udp } from '../../src/pcap/build.js';
import { dnsMessage, DNS_TYPE } from '../../src/pcap/dns.js';
import { pimHello, pimRegister, TUNNEL_PROTO } from '../../src/pcap/tunnel.js';
import { productionPrefixes, scanFrames } from '../../src/audit/leak.js';
import { decodeFields, decodeFrameFields, missingBuild, runConfig } from '../helpers/policy-run.js';
import { CHECKSUM_GOOD } from '../helpers/tshark.js';

const skip = missingBuild();

const TRANSLATE = { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }], unmapped: 'drop' };
const E = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const RP = { src: 'fd00:9::1', dst: 'fd00:9::2' };
const HELLO = { src: 'fd00:9::1', dst: 'ff02::d' };
const inner = () => ipv6({ src: 'fd00:1::5', dst: 'ff3e::8000:1', hopLimit: 16, payload: udp({ sport: 5000, dport: 5001, payload: Buffer.from('multicast data') }) });

// A DNS answer in a UDP datagram without a checksum: its translation changes the carried
// packet's sum, which must stay out of the Register's checksum (8 header bytes only).
const innerDns = () => ipv4({ src: '10.0.1.7', dst: '239.1.1.1', id: 9, ttl: 16, payload: udp({ sport: 53, dport: 5001, checksum: 0, payload: dnsMessage({
  id: 7, response: true, questions: [{ name: 'api.demo.internal', type: DNS_TYPE.A }],
  answers: [{ name: 'api.demo.internal', type: DNS_TYPE.A, data: { address: '10.0.2.21' } }],
}) }) });

const FRAMES = {
  register: ether(E, ipv6({ ...RP, hopLimit: 64, nextHeader: TUNNEL_PROTO.pim, payload: pimRegister(inner(), { v6: RP }) })),
  nullRegister: ether(E, ipv6({ ...RP, hopLimit: 64, nextHeader: TUNNEL_PROTO.pim, payload: pimRegister(inner(), { v6: RP, nullRegister: true }) })),
  registerDns: ether(E, ipv6({ ...RP, hopLimit: 64, nextHeader: TUNNEL_PROTO.pim, payload: pimRegister(innerDns(), { v6: RP }) })),
  hello: ether({ ...E, dst: '33:33:00:00:00:0d' }, ipv6({ ...HELLO, hopLimit: 1, nextHeader: TUNNEL_PROTO.pim, payload: pimHello(105, { v6: HELLO }) })),
};
const FIELDS = ['ipv6.src', 'ipv6.dst', 'ip.src', 'pim.type', 'pim.cksum.status', 'udp.checksum.status', '_ws.malformed'] as const;

test.serial('PIM over IPv6: the checksum follows the translated pseudo-header (Register and Hello), tshark finds it good', async (t) => {
  if (skip) return t.fail(skip);
  const frames = Object.values(FRAMES);
  const names = Object.keys(FRAMES);
  const input = await decodeFrameFields(frames, FIELDS, ['udp.check_checksum:TRUE']);
  input.forEach((r, i) => t.deepEqual(r['pim.cksum.status'], [String(CHECKSUM_GOOD)], `input ${names[i]}: tshark accepts the builder's checksum`));

  const run = await runConfig({ frames, policy: { translate: TRANSLATE, sessions: [{ id: 1 }] } });
  t.teardown(run.dispose);
  t.deepEqual(run.production.map((b) => b.toString('hex')), frames.map((f) => f.toString('hex')), 'production untouched');
  const rows = await decodeFields(run.shadowPaths[0]!, FIELDS, ['udp.check_checksum:TRUE']);
  t.is(rows.length, frames.length, `every frame mirrored; leak ${JSON.stringify(run.stats.leak)} dropped ${JSON.stringify(run.stats.dropped)}`);
  rows.forEach((out, i) => {
    const where = names[i]!;
    t.deepEqual(out['_ws.malformed'], [], `${where}: well formed`);
    t.is(out['ipv6.src']![0], input[i]!['ipv6.src']![0]!.replace(/^fd00:/, 'fd99:'), `${where}: outer source translated`);
    t.deepEqual(out['pim.cksum.status'], [String(CHECKSUM_GOOD)], `${where}: PIM checksum over the translated pseudo-header`);
  });
  // The Register's packet is translated too, its own checksum with it.
  t.deepEqual(rows[0]!['ipv6.src'], ['fd99:9::1', 'fd99:1::5']);
  t.deepEqual(rows[0]!['udp.checksum.status'], [String(CHECKSUM_GOOD)]);
  t.deepEqual(rows[2]!['ip.src'], ['10.99.1.7'], 'the Register\'s IPv4 packet translated');
  t.deepEqual(scanFrames(run.shadow[0]!, productionPrefixes(TRANSLATE)), [], 'leak audit: nothing');
});
