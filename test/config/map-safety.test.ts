/**
 * Address-map safety (issue 14, item 4): colliding, identity, chained and
 * overlapping-shadow maps are refused with the field named, or accepted only
 * with `allow` on the map, which the compiled policy states; nested `from`
 * prefixes are accepted and translated longest first, checked through the
 * real data plane with tshark.
 */
import test from 'ava';
import { checkConfig } from '../../src/config/load.js';
import { ether, ipv4, ipv6, udp } from '../../src/pcap/build.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { decodeFields, missingBuild, PROD_MAC, runConfig } from '../helpers/policy-run.js';

type Obj = Record<string, unknown>;

function config(translate: Obj): Obj {
  return {
    ports: [
      { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap', egress: 'prod-out' },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
      { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow' },
    ],
    translate,
  };
}

const problems = (translate: Obj) => checkConfig(config(translate)).problems.map((p) => ({ path: p.path, message: p.message }));

interface Case {
  title: string;
  translate: Obj;
  path: string;
  kind: RegExp;
}

const refused: Case[] = [
  {
    title: 'colliding: two production prefixes onto one shadow prefix',
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.1.0.0/16', to: '10.99.0.0/16' }] },
    path: 'translate.ipv4[1].to',
    kind: /^shadow range 10\.99\.0\.0\/16 overlaps the shadow range of translate\.ipv4\[0\] \(10\.0\.0\.0\/16 -> 10\.99\.0\.0\/16\): two production addresses would become one shadow address; expected distinct shadow ranges \(or allow: \[colliding\] on the map to accept it\)$/,
  },
  {
    title: 'overlapping shadow ranges of different lengths',
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '192.168.7.0/24', to: '10.99.3.0/24' }] },
    path: 'translate.ipv4[1].to',
    kind: /two production addresses would become one shadow address/,
  },
  {
    title: 'identity map',
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.0.0.0/16' }] },
    path: 'translate.ipv4[0].to',
    kind: /^10\.0\.0\.0\/16 is the same as from: production addresses would reach the shadow network unchanged; expected a shadow prefix distinct from the production one \(or allow: \[identity\] on the map to accept it\)$/,
  },
  {
    title: 'identity host override',
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], hosts: [{ from: '192.0.2.1', to: '192.0.2.1' }] },
    path: 'translate.hosts[0].to',
    kind: /is the same as from/,
  },
  {
    title: 'chained: a shadow range that is another map\'s production range',
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.99.0.0/16', to: '10.98.0.0/16' }] },
    path: 'translate.ipv4[0].to',
    kind: /^shadow range 10\.99\.0\.0\/16 overlaps the production range of translate\.ipv4\[1\] \(10\.99\.0\.0\/16 -> 10\.98\.0\.0\/16\): a shadow address would also be a production address/,
  },
  {
    title: 'chained IPv6, partly: a shadow range inside a production range',
    translate: { ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }, { from: 'fd99:1::/32', to: 'fd98:1::/32' }] },
    path: 'translate.ipv6[0].to',
    kind: /overlaps the production range of translate\.ipv6\[1\]/,
  },
  {
    title: 'host override onto an address a prefix map produces',
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], hosts: [{ from: '192.0.2.1', to: '10.99.0.1' }] },
    path: 'translate.hosts[0].to',
    kind: /overlaps the shadow range of translate\.ipv4\[0\]/,
  },
  {
    title: 'host override onto a production address',
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], hosts: [{ from: '10.0.1.1', to: '10.0.1.2' }] },
    path: 'translate.hosts[0].to',
    kind: /overlaps the production range of translate\.ipv4\[0\]/,
  },
  {
    title: 'a host override that repeats a /32 prefix map',
    translate: { ipv4: [{ from: '192.0.2.1/32', to: '10.98.0.9/32' }], hosts: [{ from: '192.0.2.1', to: '10.98.0.1' }] },
    path: 'translate.hosts[0].from',
    kind: /^192\.0\.2\.1 is already the production side of translate\.ipv4\[0\]/,
  },
];

for (const c of refused) {
  test(`refused: ${c.title}`, (t) => {
    const found = problems(c.translate);
    const hit = found.find((p) => p.path === c.path);
    t.truthy(hit, `expected a problem at ${c.path}, got ${JSON.stringify(found)}`);
    t.regex(hit!.message, c.kind);
  });
}

test('allow: accepts exactly the kind it names, and the plan states it', (t) => {
  const colliding = { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.1.0.0/16', to: '10.99.0.0/16', allow: ['colliding'] }] };
  const r = checkConfig(config(colliding));
  t.deepEqual(r.problems, []);
  const plan = r.policy!.report;
  t.true(plan.warnings.some((w) => w.path === 'translate.ipv4[1].to' && /^colliding map accepted by allow: \[colliding\]: shadow range 10\.99\.0\.0\/16 overlaps/.test(w.message)), JSON.stringify(plan.warnings));
  t.true(plan.explain.includes('  translate.ipv4[1].to: colliding map accepted (allow: [colliding])'), plan.explain.join('\n'));
  // The wrong kind does not help.
  const wrong = { ipv4: [{ from: '10.0.0.0/16', to: '10.0.0.0/16', allow: ['chained'] }] };
  t.deepEqual(problems(wrong).map((p) => p.path), ['translate.ipv4[0].to']);
  const identity = { ipv4: [{ from: '10.0.0.0/16', to: '10.0.0.0/16', allow: ['identity'] }] };
  t.deepEqual(problems(identity), []);
  // An unknown kind is a schema problem naming the field.
  const bad = problems({ ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16', allow: ['loops'] }] });
  t.is(bad[0]?.path, 'translate.ipv4[0].allow[0]');
  t.regex(bad[0]!.message, /expected one of identity, chained, colliding/);
});

test('nested from prefixes are accepted; a nested map consistent with the outer one is not a collision', (t) => {
  t.deepEqual(problems({ ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.0.5.0/24', to: '10.98.5.0/24' }, { from: '10.0.5.7/32', to: '10.97.0.7/32' }] }), []);
  t.deepEqual(problems({ ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.0.5.0/24', to: '10.99.5.0/24' }] }), []);
  t.deepEqual(problems({ ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }, { from: 'fd00:1::/32', to: 'fd98:1::/32' }] }), []);
  // The demo's maps stay valid.
  t.deepEqual(problems({ ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }], hosts: [{ from: '10.0.1.1', to: '10.98.0.1' }] }), []);
});

const skip = missingBuild();
const M = PROD_MAC;
const p = (src: string, dst: string, id: number) => ether(M, ipv4({ src, dst, id, payload: udp({ sport: 1000, dport: 2000 }) }));
const p6 = (src: string, dst: string) => ether(M, ipv6({ src, dst, payload: udp({ sport: 1000, dport: 2000 }) }));

test.serial('nested from prefixes through the real data plane: the longest prefix wins, listed in either order', async (t) => {
  if (skip) return t.fail(skip);
  const frames = [
    p('10.0.1.5', '10.0.5.9', 1), // /16 and /24
    p('10.0.5.7', '10.0.9.1', 2), // /32 and /16
    p('10.0.5.8', '10.0.5.7', 3), // /24 and /32
    p6('fd00:1::5', 'fd00:2::5'), // /32 and /16
  ];
  const maps4 = [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.0.5.0/24', to: '10.98.5.0/24' }, { from: '10.0.5.7/32', to: '10.97.0.7/32' }];
  const maps6 = [{ from: 'fd00::/16', to: 'fd99::/16' }, { from: 'fd00:1::/32', to: 'fd98:1::/32' }];
  const expected = [
    ['10.99.1.5', '10.98.5.9'],
    ['10.97.0.7', '10.99.9.1'],
    ['10.98.5.8', '10.97.0.7'],
    ['fd98:1::5', 'fd99:2::5'],
  ];
  for (const order of ['outer first', 'inner first'] as const) {
    const translate = order === 'outer first' ? { ipv4: maps4, ipv6: maps6 } : { ipv4: [...maps4].reverse(), ipv6: [...maps6].reverse() };
    const run = await runConfig({ frames, policy: { translate, sessions: [{ id: 1 }] } });
    t.teardown(run.dispose);
    const rows = await decodeFields(run.shadowPaths[0]!, ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst']);
    const got = rows.map((r) => [r['ip.src']?.[0] ?? r['ipv6.src']?.[0], r['ip.dst']?.[0] ?? r['ipv6.dst']?.[0]]);
    t.deepEqual(got, expected, order);
    // The compiler's plan and the offline checker agree with the data plane.
    t.is(compilePolicy(run.config).report.counts.map4, 3);
  }
});
