/** netem's units, as tc reads them. */
import test from 'ava';
import { parsePercent, parseRate, parseSize, parseTime } from '../../src/faults/units.js';

const val = <T>(r: { ok: true; value: T } | { ok: false; message: string }) => (r.ok ? r.value : r.message);

test('times', (t) => {
  t.is(val(parseTime('20ms')), 20e6);
  t.is(val(parseTime('1.5s')), 1.5e9);
  t.is(val(parseTime('800us')), 800e3);
  t.is(val(parseTime('800usec')), 800e3);
  t.is(val(parseTime(20)), 20e6, 'a bare number is milliseconds in documents');
  t.is(val(parseTime('20', 'us')), 20e3, 'and microseconds in netem text');
  t.regex(String(val(parseTime('-5ms'))), /negative/);
  t.regex(String(val(parseTime(-1))), /negative/);
  t.regex(String(val(parseTime('5 parsecs'))), /not a time/);
});

test('percentages', (t) => {
  t.is(val(parsePercent('1.5%')), 0.015);
  t.is(val(parsePercent(25)), 0.25);
  t.is(val(parsePercent('100')), 1);
  t.regex(String(val(parsePercent('150%'))), /outside 0 to 100/);
  t.regex(String(val(parsePercent(-1))), /outside 0 to 100/);
  t.regex(String(val(parsePercent('lots'))), /expected a percentage/);
});

test('rates and sizes: kbit is 1,000 bit/s, kbps 1,000 bytes/s, kibit 1,024 bit/s', (t) => {
  t.is(val(parseRate('1mbit')), 1e6);
  t.is(val(parseRate('100kbit')), 1e5);
  t.is(val(parseRate('1kbps')), 8000);
  t.is(val(parseRate('1kibit')), 1024);
  t.is(val(parseRate(5e6)), 5e6);
  t.regex(String(val(parseRate('2tbit'))), /outside/);
  t.regex(String(val(parseRate('fast'))), /not a rate/);
  t.is(val(parseSize('64kb')), 65536);
  t.is(val(parseSize(1500)), 1500);
  t.regex(String(val(parseSize('1.5kb'))), /not a size/);
});
