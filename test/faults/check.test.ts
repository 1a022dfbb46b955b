/**
 * Fault documents: every bad input refused with its field named and what
 * was expected (table-driven), nothing returned when anything is wrong; the
 * defaults tc would fill; shadow addresses written back through the maps;
 * faults that can match nothing accepted and flagged.
 */
import test from 'ava';
import { checkFaults, type FaultContext } from '../../src/faults/check.js';
import { builtinTable, tableFromSamples } from '../../src/faults/distributions.js';
import { ANY16, DIST, LOSS_MODEL, RATE_MODE } from '../../src/faults/native-types.js';

const CTX: FaultContext = {
  ports: [
    { name: 'prod-in', role: 'production' },
    { name: 'prod-out', role: 'egress' },
    { name: 'shadow-a', role: 'shadow' },
    { name: 'shadow-b', role: 'shadow' },
  ],
  sessions: new Map([[10, 0], [20, 1]]),
  maps: [{ from: '10.0.0.0/16', to: '10.200.0.0/16' }],
  line: { pps: 100_000, capacity: 65_536, wheelSpanMs: 1000 },
};

const one = (f: Record<string, unknown>) => checkFaults([{ id: 'f1', ...f }], CTX);

const BAD: [string, Record<string, unknown>, string, RegExp][] = [
  ['negative delay', { delay: { time: '-5ms' } }, 'faults[0].delay.time', /negative/],
  ['negative delay as a number', { delay: { time: -5 } }, 'faults[0].delay.time', /negative/],
  ['absurd delay', { delay: { time: '2d' } }, 'faults[0].delay.time', /not a time/],
  ['delay over 60 s', { delay: { time: '61s' } }, 'faults[0].delay.time', /over 60 s/],
  ['loss above 100 %', { loss: { percent: '150%' } }, 'faults[0].loss.percent', /outside 0 to 100/],
  ['loss without a percent', { loss: { model: 'random' } }, 'faults[0].loss.percent', /needs percent/],
  ['GE field on random', { loss: { percent: 1, r: 10 } }, 'faults[0].loss.r', /another loss model/],
  ['GE p above 100 %', { loss: { model: 'gemodel', p: 101 } }, 'faults[0].loss.p', /outside 0 to 100/],
  ['4-state out of state 1 > 100 %', { loss: { model: 'state', p13: 70, p14: 50 } }, 'faults[0].loss.p14', /exceed 100 %/],
  ['correlation 100 %', { delay: { time: '10ms', jitter: '1ms', correlation: 100 } }, 'faults[0].delay.correlation', /below 100 %/],
  ['table not monotone', { delay: { time: '10ms', jitter: '1ms', distribution: { table: [-1, 1, 0.5, -0.5] } } }, 'faults[0].delay.distribution.table', /not a distribution/],
  ['table not standardised', { delay: { time: '10ms', jitter: '1ms', distribution: { table: [0, 1, 2, 3] } } }, 'faults[0].delay.distribution.table', /not a standardised distribution/],
  ['samples all equal', { delay: { time: '10ms', distribution: { samples: [5, 5, 5] } } }, 'faults[0].delay.distribution.samples', /all equal/],
  ['distribution without jitter', { delay: { time: '10ms', jitter: 0, distribution: 'normal' } }, 'faults[0].delay.distribution', /jitter above 0/],
  ['reorder without delay', { reorder: { percent: 25 } }, 'faults[0].reorder.percent', /needs delay.time/],
  ['delay the line cannot hold', { delay: { time: '1s' } }, 'faults[0].delay.time', /cannot hold this delay: up to 1000.000 ms at 100000 packets\/s needs 100000 packets, the line holds 65536/],
  ['a limit over the line', { delay: { time: '1ms' }, limit: 70000 }, 'faults[0].limit', /cannot hold/],
  ['jitter beyond the wheel', { delay: { time: '100ms', jitter: '200ms', distribution: 'normal', reorder: true }, limit: 10 }, 'faults[0].delay.jitter', /timing wheel/],
  ['reordering jitter with a shaper', { delay: { time: '1ms', jitter: '1ms', reorder: true }, rate: { rate: '1mbit' } }, 'faults[0].delay.reorder', /cannot be combined/],
  ['slot end before start', { slot: { min: '2ms', max: '1ms' } }, 'faults[0].slot.max', /ends before slot.min/],
  ['rate 0', { rate: { rate: 0 } }, 'faults[0].rate.rate', /outside 8 bit\/s/],
  ['burst with shaping', { rate: { rate: '1mbit', burst: 3000 } }, 'faults[0].rate.burst', /police mode only/],
  ['unknown port', { match: { port: 'prod-in' } }, 'faults[0].match.port', /"prod-in" is not a shadow port; expected one of shadow-a, shadow-b/],
  ['unknown session', { match: { session: 99 } }, 'faults[0].match.session', /session 99 does not exist; expected one of 10, 20/],
  ['bad prefix', { match: { src: '10.0.0.1/16' } }, 'faults[0].match.src', /host bits set/],
  ['bad prefix in a list', { match: { host: ['10.1.0.0/16', 'nope'] } }, 'faults[0].match.host[1]', /not an address/],
  ['too many prefixes', { match: { dst: ['1.0.0.0/8', '2.0.0.0/8', '3.0.0.0/8', '4.0.0.0/8', '5.0.0.0/8', '6.0.0.0/8', '7.0.0.0/8', '8.0.0.0/8', '9.0.0.0/8'] } }, 'faults[0].match.dst', /at most 8/],
  ['port range backwards', { match: { dport: '2000-1000' } }, 'faults[0].match.dport', /runs backwards/],
  ['end before start', { schedule: { start: '2026-12-07T18:00:00Z', end: '2026-12-07T17:00:00Z' } }, 'faults[0].schedule.end', /not after the start/],
  ['end before now', { schedule: { end: '2000-01-01T00:00:00Z' } }, 'faults[0].schedule.end', /not after the start \(now\)/],
  ['end and duration', { schedule: { end: '2099-01-01T00:00:00Z', duration: '5s' } }, 'faults[0].schedule.end', /not both/],
  ['bad start', { schedule: { start: 'tomorrow' } }, 'faults[0].schedule.start', /ISO 8601/],
  ['netem and fields', { netem: 'loss 1%', delay: { time: '1ms' } }, 'faults[0].netem', /either as netem text or as fields/],
  ['netem tc refuses', { netem: 'reorder 25%' }, 'faults[0].netem', /without a delay/],
  ['netem value out of range', { netem: 'loss 150%' }, 'faults[0].loss.percent', /outside 0 to 100/],
  ['blackhole with loss', { kind: 'blackhole', loss: { percent: 1 } }, 'faults[0].kind', /would never apply/],
  ['link down without a port', { kind: 'link_down' }, 'faults[0].match.port', /needs the shadow port/],
  ['unknown field', { lose: { percent: 1 } }, 'faults[0].lose', /did you mean `loss`/],
  ['unknown kind', { kind: 'meteor' }, 'faults[0].kind', /one of impair, blackhole, link_down/],
  ['bad id', { id: 'has space' }, 'faults[0].id', /letters, digits/],
];

for (const [name, fault, path, msg] of BAD) {
  test(`refused: ${name}`, (t) => {
    const r = one(fault);
    t.is(r.faults, undefined, 'nothing returned');
    const p = r.problems.find((x) => x.path === path);
    t.truthy(p, `no problem at ${path}: ${JSON.stringify(r.problems)}`);
    t.regex(p?.message ?? '', msg);
  });
}

test('refused: two faults with one id, and two faults that together overflow the line', (t) => {
  const r = checkFaults([{ id: 'a' }, { id: 'a' }], CTX);
  t.deepEqual(r.problems.map((p) => p.path), ['faults[1].id']);
  const l = checkFaults([{ id: 'a', delay: { time: '400ms' } }, { id: 'b', delay: { time: '300ms' } }], CTX);
  t.deepEqual(l.problems.map((p) => p.path), ['faults[1].delay.time']);
  t.regex(l.problems[0]!.message, /40000 of the line's 65536 are taken/);
});

test('the netem example checks into exact native values', (t) => {
  const r = one({ netem: 'delay 20ms 5ms 25% distribution normal loss gemodel 1% 10% 70% 0.1% corrupt 0.1% duplicate 1% reorder 25% 50% gap 5 rate 1mbit 20 slot 800us 1ms' });
  t.deepEqual(r.problems, []);
  const n = r.faults![0]!.native;
  t.is(n.delayNs, 20e6);
  t.is(n.jitterNs, 5e6);
  t.is(n.delayCorr, 0.25);
  t.is(n.dist, DIST.normal);
  t.is(n.lossModel, LOSS_MODEL.gemodel);
  t.deepEqual(n.loss, [0.01, 0.1, 0.7, 0.001, 0]);
  t.is(n.corrupt, 0.001);
  t.is(n.duplicate, 0.01);
  t.deepEqual([n.reorder, n.reorderCorr, n.gap], [0.25, 0.5, 5]);
  t.deepEqual([n.rateMode, n.rateBps, n.overhead], [RATE_MODE.shape, 1e6, 20]);
  t.deepEqual([n.slotMinNs, n.slotMaxNs], [800e3, 1e6]);
  t.deepEqual([n.match.session, n.match.port, n.match.proto], [ANY16, ANY16, 0]);
  // max delay 20 + 6 x 5 ms + 1 ms slot = 51 ms at 100 kpps, + 1,024 for the shaper
  t.is(r.faults![0]!.limit, Math.ceil(0.051 * 100_000) + 1024);
});

test('targets: a shadow port, a session slot, a direction, a VM in shadow addresses', (t) => {
  const r = one({ kind: 'blackhole', match: { host: '10.200.5.0/24', addressSpace: 'shadow', port: 'shadow-b', session: 20, direction: 'tx', protocol: 'tcp', dport: '80-90' } });
  t.deepEqual(r.problems, []);
  const m = r.faults![0]!.native.match;
  t.is(m.port, 3);
  t.is(m.session, 1);
  t.is(m.dir, 2);
  t.is(m.proto, 6);
  t.deepEqual([m.dportLo, m.dportHi, m.sportLo, m.sportHi], [80, 90, 0, 65535]);
  t.is(m.hosts.length, 1);
  t.deepEqual([...m.hosts[0]!.addr.slice(12)], [10, 0, 5, 0], '10.200.5.0/24 in shadow addresses is 10.0.5.0/24 in production');
  t.is(m.hosts[0]!.len, 96 + 24);
  const wide = one({ match: { host: '10.0.0.0/8', addressSpace: 'shadow' } });
  t.deepEqual(wide.faults![0]!.native.match.hosts.map((h) => [[...h.addr.slice(12)], h.len]), [[[10, 0, 0, 0], 112], [[10, 0, 0, 0], 104]],
    'a shadow prefix around a map: the map\'s production side, and the prefix itself');
});

test('a fault that can match nothing is accepted and flagged', (t) => {
  const r = one({ match: { src: '10.0.0.0/8', dst: 'fd00::/16' } });
  t.is(r.faults?.length, 1);
  t.deepEqual(r.flags.map((f) => f.path), ['faults[0].match']);
  t.regex(r.flags[0]!.message, /matches nothing/);
  const icmp = one({ match: { protocol: 'icmp', dport: 80 } });
  t.is(icmp.faults?.length, 1);
  t.regex(icmp.flags[0]?.message ?? '', /no ports/);
});

test('distributions: built-in tables standardised, samples made into one', (t) => {
  for (const d of ['pareto', 'paretonormal'] as const) {
    const tb = builtinTable(d);
    const mean = tb.reduce((a, v) => a + v, 0) / tb.length;
    const sd = Math.sqrt(tb.reduce((a, v) => a + (v - mean) ** 2, 0) / tb.length);
    t.true(Math.abs(mean) < 1e-9 && Math.abs(sd - 1) < 1e-9, d);
    t.true(tb.every((v, i) => i === 0 || v >= tb[i - 1]!), `${d} non-decreasing`);
  }
  const s = tableFromSamples([10, 12, 11, 30, 9, 10, 13]);
  if (typeof s === 'string') return t.fail(s);
  t.true(Math.abs(s.mean - 95 / 7) < 1e-9);
  const r = one({ delay: { time: '13.57ms', distribution: { samples: [10, 12, 11, 30, 9, 10, 13] } } });
  t.deepEqual(r.problems, []);
  t.is(r.faults![0]!.native.dist, DIST.custom);
  t.is(r.faults![0]!.native.jitterNs, Math.round(s.sd * 1e6), 'jitter defaults to the samples\' sd');
  t.is(r.faults![0]!.native.table?.length, 7);
});
