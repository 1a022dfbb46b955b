/**
 * Copies a delay fault holds leave from the worker's deadline step, not
 * through the shadow stage list; they must still be measured on the shadow
 * side as they go (measure_stage.c, st_measure_released). Before that, the
 * shadow side showed no packets at all while a delay held every copy, and
 * an experiment's report could not see the shadow side of a delay step.
 * Real data plane on net_pcap; the shadow output counted from the capture.
 */
import test from 'ava';
import { knownConversation } from '../../src/pcap/build-measure.js';
import { onlyDetectors, runMeasured } from '../helpers/measure-run.js';
import { faultTable } from '../helpers/fault-run.js';
import { missingBuild } from '../helpers/policy-run.js';

const skip = missingBuild();
const t = skip ? test.skip : test.serial;

const CONV = { client: '10.1.0.10', server: '10.1.0.20', sport: 43210, synRttUs: 1234, ackRttUs: 567, serverRttUs: 2345, clientRttUs: 89, rounds: 6 };
// The shadow port only sends here, so the copies leaving are the shadow side's traffic.
const MEASUREMENT = { enabled: true, shadow_tx: true, vms: [{ name: 'web', prefix: '10.1.0.20' }], detectors: onlyDetectors({}) };

const shadowTcp = (sides: { packets: { tcp: number } }[]): number => sides.reduce((n, v) => n + v.packets.tcp, 0);

t('copies held by a delay fault are measured on the shadow side when the delay line releases them', async (tt) => {
  const conv = knownConversation(CONV);
  const n = conv.frames.length;
  const held = await runMeasured({ frames: conv.frames, measurement: MEASUREMENT, faults: faultTable([{ id: 'hold', delay: { time: '5ms' } }]) });
  try {
    // Every copy was held and then sent (a delay drops nothing)...
    tt.is(held.shadow.length, n, 'copies in the shadow capture');
    const f = held.stats.faults?.faults[0];
    tt.is(f?.delayed, n, 'copies the fault delayed');
    tt.is(f?.released, n, 'copies the delay line released');
    // ...and each was measured once, on the way out.
    tt.is(shadowTcp(held.measure.sides.shadow), n, 'shadow-side TCP packets measured');
    tt.is(shadowTcp(held.measure.sides.production), n, 'production-side TCP packets measured');
  } finally {
    held.dispose();
  }
  // The same run without the fault measures the same count (the stage list's measure stage).
  const plain = await runMeasured({ frames: conv.frames, measurement: MEASUREMENT });
  try {
    tt.is(plain.shadow.length, n);
    tt.is(shadowTcp(plain.measure.sides.shadow), n);
  } finally {
    plain.dispose();
  }
});
