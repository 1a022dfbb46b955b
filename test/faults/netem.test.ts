/**
 * netem's own syntax into fault fields: the example in full, tc's
 * defaults, and what tc refuses.
 */
import test from 'ava';
import { parseNetem } from '../../src/faults/netem.js';

const EXAMPLE = 'delay 20ms 5ms 25% distribution normal loss gemodel 1% 10% 70% 0.1% corrupt 0.1% duplicate 1% reorder 25% 50% gap 5 rate 1mbit 20 slot 800us 1ms';

test('the full example becomes the fields, value for value', (t) => {
  const r = parseNetem(EXAMPLE);
  if (!r.ok) return t.fail(r.message);
  t.deepEqual(r.fields, {
    delay: { time: '20ms', jitter: '5ms', correlation: '25%', distribution: 'normal', reorder: false },
    loss: { model: 'gemodel', p: '1%', r: '10%', '1-h': '70%', '1-k': '0.1%', ecn: false },
    corrupt: { percent: '0.1%', bits: 1, offset: 0, fixChecksums: false },
    duplicate: { percent: '1%' },
    reorder: { percent: '25%', correlation: '50%', gap: 5 },
    rate: { rate: '1mbit', packetOverhead: 20, cellSize: 0, cellOverhead: 0, mode: 'shape' },
    slot: { min: '800us', max: '1ms', packets: 0 },
  });
});

test("tc's defaults: gemodel, state, gap, bare times in microseconds, loss without a model word", (t) => {
  const ge = parseNetem('loss gemodel 2%');
  t.deepEqual(ge.ok && ge.fields.loss, { model: 'gemodel', p: '2%', r: '98%', '1-h': '100%', '1-k': '0%', ecn: false });
  const st = parseNetem('loss state 1% ecn');
  t.deepEqual(st.ok && st.fields.loss, { model: 'state', p13: '1%', p31: '99%', p32: '0%', p23: '100%', p14: '0%', ecn: true });
  const ro = parseNetem('delay 10 reorder 5%');
  t.deepEqual(ro.ok && [ro.fields.delay?.time, ro.fields.reorder?.gap], ['10us', 1]);
  const lo = parseNetem('drop 0.5 25 limit 2000 seed 42');
  t.deepEqual(lo.ok && [lo.fields.loss, lo.fields.limit, lo.fields.seed], [{ model: 'random', percent: '0.5', correlation: '25', ecn: false }, 2000, '42']);
  const rate = parseNetem('rate 10mbit -4 48 5');
  t.deepEqual(rate.ok && rate.fields.rate, { rate: '10mbit', packetOverhead: -4, cellSize: 48, cellOverhead: 5, mode: 'shape' });
  const slot = parseNetem('slot 1ms packets 4 bytes 3000');
  t.deepEqual(slot.ok && slot.fields.slot, { min: '1ms', packets: 4, bytes: '3000' });
});

const REFUSED: [string, RegExp][] = [
  ['reorder 25%', /reorder.*without a delay/],
  ['delay 0ms reorder 25%', /reorder.*without a delay/],
  ['delay 10ms gap 5', /gap.*without reorder/],
  ['delay 10ms distribution normal', /distribution.*jitter/],
  ['ecn', /ecn.*without a loss/],
  ['loss 1% loss 2%', /"loss" is given twice/],
  ['loss trace file', /not a percentage, random, gemodel or state/],
  ['delay fast', /delay: "fast" is not a time/],
  ['rate 50%', /percentage of the device rate/],
  ['slot distribution normal 1ms 1ms', /slot distribution.*not supported/],
  ['jitter 5ms', /"jitter" is not a netem parameter/],
  ['delay 10ms distribution lognormal 1ms', /not one of uniform, normal, pareto, paretonormal/],
  ['limit', /limit: "" is not a number/],
];

for (const [text, want] of REFUSED) {
  test(`refused like tc: ${text}`, (t) => {
    const r = parseNetem(text);
    t.false(r.ok);
    t.regex(r.ok ? '' : r.message, want);
  });
}
