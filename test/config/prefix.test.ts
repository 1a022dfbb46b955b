import test from 'ava';
import {
  bytesToIPv6,
  formatPrefix6,
  ipv6ToBytes,
  overlaps4,
  overlaps6,
  parsePrefix4,
  parsePrefix6,
  type Prefix4,
  type Prefix6,
} from '../../src/policy/prefix.js';

test('IPv4 prefixes parse to host-order integers', (t) => {
  t.deepEqual(parsePrefix4('10.0.0.0/16'), { family: 4, addr: 0x0a000000, len: 16 });
  t.deepEqual(parsePrefix4('255.255.255.255/32'), { family: 4, addr: 0xffffffff, len: 32 });
  t.deepEqual(parsePrefix4('0.0.0.0/0'), { family: 4, addr: 0, len: 0 });
  t.is(parsePrefix4('10.0.0.1/16'), 'host_bits');
  t.is(parsePrefix4('1.0.0.0/0'), 'host_bits');
  for (const bad of ['10.0.0/8', '10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/08', '010.0.0.0/8', '10.0.0.0/8/8', 'fd00::/16', ' 10.0.0.0/8']) {
    t.is(parsePrefix4(bad), 'syntax', bad);
  }
});

test('IPv6 addresses parse to 16 bytes, including :: and an IPv4 tail', (t) => {
  t.deepEqual(Array.from(ipv6ToBytes('fd00::')!), [0xfd, 0, ...new Array(14).fill(0)]);
  t.deepEqual(Array.from(ipv6ToBytes('::1')!), [...new Array(15).fill(0), 1]);
  t.deepEqual(Array.from(ipv6ToBytes('::ffff:10.0.0.1')!), [...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1]);
  t.deepEqual(Array.from(ipv6ToBytes('1:2:3:4:5:6:7:8')!), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  t.is(ipv6ToBytes('fe80::1%eth0'), null);
  t.is(ipv6ToBytes('1::2::3'), null);
  t.is(bytesToIPv6(ipv6ToBytes('fd00:0:0:0:0:0:0:1')!), 'fd00::1');
  t.is(bytesToIPv6(ipv6ToBytes('2001:db8:0:1:0:0:0:0')!), '2001:db8:0:1::');
});

test('IPv6 prefixes check host bits at any bit position', (t) => {
  const p = parsePrefix6('fd99::/16') as Prefix6;
  t.is(p.len, 16);
  t.is(formatPrefix6(p), 'fd99::/16');
  t.not(parsePrefix6('fd00:8000::/17'), 'host_bits');
  t.is(parsePrefix6('fd00:4000::/17'), 'host_bits');
  t.is(parsePrefix6('::/0') === 'syntax', false);
  t.is(parsePrefix6('fd00::/129'), 'syntax');
});

test('overlap: containment either way, not siblings', (t) => {
  const p4 = (s: string) => parsePrefix4(s) as Prefix4;
  t.true(overlaps4(p4('10.0.0.0/16'), p4('10.0.5.0/24')));
  t.true(overlaps4(p4('10.0.5.0/24'), p4('10.0.0.0/16')));
  t.true(overlaps4(p4('0.0.0.0/0'), p4('192.0.2.0/24')));
  t.false(overlaps4(p4('10.0.0.0/16'), p4('10.1.0.0/16')));
  const p6 = (s: string) => parsePrefix6(s) as Prefix6;
  t.true(overlaps6(p6('fd00::/16'), p6('fd00:1::/32')));
  t.false(overlaps6(p6('fd00::/16'), p6('fd01::/16')));
});
