import test from 'ava';
import { addStats, busyRatios, zeroStats } from '../../src/supervisor/stats.js';
import { explanatoryLines } from '../../src/supervisor/supervisor.js';

test('addStats adds every counter and tolerates a partial snapshot', (t) => {
  const a = zeroStats(2, [1]);
  a.ports[0]!.rxPackets = 5;
  a.dropped.unmapped = 1;
  const b = zeroStats(2, [1]);
  b.ports[0]!.rxPackets = 7;
  b.ports[1]!.hwImissed = 3;
  b.workers[0]!.loops = 10;
  b.mirrorPackets = 4;
  b.dropped.unmapped = 2;
  b.anomalies.vlan = 9;
  const sum = addStats(a, b);
  t.is(sum.ports[0]!.rxPackets, 12);
  t.is(sum.ports[1]!.hwImissed, 3);
  t.is(sum.workers[0]!.loops, 10);
  t.is(sum.workers[0]!.lcore, 1);
  t.is(sum.mirrorPackets, 4);
  t.is(sum.dropped.unmapped, 3);
  t.is(sum.anomalies.vlan, 9);
  t.is(a.ports[0]!.rxPackets, 5, 'inputs untouched');
  const partial = { ports: [], workers: [] } as unknown as ReturnType<typeof zeroStats>;
  t.deepEqual(addStats(a, partial), a);
  // the optional counters are carried too (a restart must not send them backwards)
  const c = { ...zeroStats(0, []), leak: { bgp: { segment: { drop: 2, pass: 0 } } }, bgpFlowsEvicted: 3 };
  const d = { ...zeroStats(0, []), leak: { bgp: { segment: { drop: 1, pass: 4 } }, dns: { truncated: { drop: 5, pass: 0 } } }, dnsTcpFlowsEvicted: 7 };
  const cd = addStats(c, d);
  t.deepEqual(cd.leak, { bgp: { segment: { drop: 3, pass: 4 } }, dns: { truncated: { drop: 5, pass: 0 } } });
  t.is(cd.bgpFlowsEvicted, 3);
  t.is(cd.dnsTcpFlowsEvicted, 7);
  t.deepEqual(c.leak, { bgp: { segment: { drop: 2, pass: 0 } } }, 'inputs untouched');
});

test('busy ratio is over the last interval', (t) => {
  const p = zeroStats(0, [1, 2]);
  p.workers[0]!.loops = 100;
  p.workers[0]!.busyLoops = 10;
  const c = zeroStats(0, [1, 2]);
  c.workers[0]!.loops = 200;
  c.workers[0]!.busyLoops = 60;
  t.deepEqual(busyRatios(p, c), [0.5, 0]);
  t.deepEqual(busyRatios(null, c), [0.3, 0]);
});

test('EAL usage text is dropped from quoted output, the reason kept once', (t) => {
  const out = [
    "shadowtap: unrecognized option '--x'",
    "shadowtap: unrecognized option '--x'",
    'Usage: shadowtap [options]',
    'EAL common options:',
    '  -c COREMASK         Hexadecimal bitmask of cores to run on',
    'EAL options for DEBUG use only:',
    '  --huge-unlink       Unlink hugepage files after init',
    "EAL: FATAL: Invalid 'command line' arguments.",
  ];
  t.deepEqual(explanatoryLines(out), ["shadowtap: unrecognized option '--x'", "EAL: FATAL: Invalid 'command line' arguments."]);
});
