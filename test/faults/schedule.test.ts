/** Schedules as pure functions of (schedule, anchor, time): windows, boundaries, repetition, end. */
import test from 'ava';
import { checkFaults } from '../../src/faults/check.js';
import { scheduleState, stepState } from '../../src/faults/schedule.js';

const CTX = {
  ports: [{ name: 'prod', role: 'production' }, { name: 'shadow-a', role: 'shadow' }],
  sessions: new Map([[10, 0]]),
  maps: [],
  line: { pps: 100_000, capacity: 65_536, wheelSpanMs: 1000 },
};

test('one window: armed from the anchor for the duration, then done', (t) => {
  const spec = { durationNs: 2e9 };
  t.deepEqual(scheduleState(spec, 1000, 999), { armed: false, since: 1000, next: 1000, done: false, index: -1 });
  t.deepEqual(scheduleState(spec, 1000, 1000), { armed: true, since: 1000, next: 3000, done: false, index: 0 });
  t.deepEqual(scheduleState(spec, 1000, 2999), { armed: true, since: 1000, next: 3000, done: false, index: 0 });
  t.deepEqual(scheduleState(spec, 1000, 3000), { armed: false, since: 3000, next: null, done: true, index: 0 });
});

test('no duration: armed until stopped; a start time in the future waits for it', (t) => {
  t.deepEqual(scheduleState({}, 5, 1e12), { armed: true, since: 5, next: null, done: false, index: 0 });
  const st = scheduleState({ startMs: 10_000, endMs: 12_000 }, 5, 9_000);
  t.is(st.armed, false);
  t.is(st.next, 10_000);
  t.is(scheduleState({ startMs: 10_000, endMs: 12_000 }, 5, 11_000).next, 12_000);
  t.true(scheduleState({ startMs: 10_000, endMs: 12_000 }, 5, 12_000).done);
});

test('every N for M, K times: the windows and the gaps between them', (t) => {
  const spec = { durationNs: 1e9, everyNs: 3e9, times: 3 };
  const at = (ms: number) => scheduleState(spec, 0, ms);
  t.like(at(0), { armed: true, index: 0, since: 0, next: 1000 });
  t.like(at(1000), { armed: false, index: 0, since: 1000, next: 3000, done: false });
  t.like(at(3500), { armed: true, index: 1, since: 3000, next: 4000 });
  t.like(at(6999), { armed: true, index: 2, since: 6000, next: 7000 });
  t.like(at(7000), { armed: false, done: true, next: null, since: 7000 });
  t.like(at(60_000), { armed: false, done: true, since: 7000, index: 2 });
});

test('every without times repeats until stopped; an end cuts the window it falls in and starts no other', (t) => {
  t.like(scheduleState({ durationNs: 1e9, everyNs: 2e9 }, 0, 2_000_001), { armed: true, index: 1000, since: 2_000_000 });
  const spec = { durationNs: 1e9, everyNs: 2e9, endMs: 4500 };
  t.like(scheduleState(spec, 0, 4200), { armed: true, index: 2, next: 4500 });
  t.like(scheduleState(spec, 0, 4500), { armed: false, done: true, since: 4500 });
  t.like(scheduleState({ durationNs: 1e9, everyNs: 2e9, endMs: 3500 }, 0, 3600), { armed: false, done: true, since: 3000 });
});

test('experiment steps: consecutive windows; the last may run until stopped', (t) => {
  t.like(stepState([1000, 2000], 100, 50), { index: -1, next: 100 });
  t.like(stepState([1000, 2000], 100, 100), { index: 0, since: 100, next: 1100 });
  t.like(stepState([1000, 2000], 100, 1100), { index: 1, since: 1100, next: 3100 });
  t.like(stepState([1000, 2000], 100, 3100), { index: 2, done: true, since: 3100 });
  t.like(stepState([1000, null], 0, 1e9), { index: 1, next: null, done: false });
});

const one = (schedule: Record<string, unknown>) => checkFaults([{ id: 'f', match: {}, netem: 'loss 1%', schedule }], CTX);

test('schedule checks name the field: every not above duration, times without every, every without duration, zero or huge spans', (t) => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ duration: '5s', every: '5s' }, 'faults[0].schedule.every', /not longer than the duration/],
    [{ times: 3, duration: '1s' }, 'faults[0].schedule.times', /give `every` too/],
    [{ every: '10s' }, 'faults[0].schedule.duration', /needs the duration/],
    [{ duration: '0s' }, 'faults[0].schedule.duration', /not above 0/],
    [{ duration: '9000h' }, 'faults[0].schedule.duration', /over 366 days/],
    [{ duration: 'soon' }, 'faults[0].schedule.duration', /not a time/],
    [{ times: 0, every: '2s', duration: '1s' }, 'faults[0].schedule.times', /./],
  ];
  for (const [schedule, path, re] of cases) {
    const r = one(schedule);
    t.true(r.problems.length > 0, JSON.stringify(schedule));
    t.is(r.problems[0]!.path, path, JSON.stringify(schedule));
    t.regex(r.problems[0]!.message, re);
  }
  const ok = one({ duration: '5min', every: '1h', times: 24 });
  t.deepEqual(ok.problems, []);
  t.deepEqual(ok.faults![0]!.schedule, { durationNs: 300e9, everyNs: 3600e9, times: 24 });
});
