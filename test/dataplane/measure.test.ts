/**
 * The measure stage on the real data plane (net_pcap vdevs, the captures'
 * own timestamps as rx timestamps): handshake and timestamp RTTs equal the
 * known values to the microsecond, retransmissions, out-of-order segments,
 * resets and zero windows counted exactly, production and shadow sides with
 * the same VM labels, a flow table overfilled counts its evictions, and
 * production output is byte-identical with measurement on. tshark (an
 * independent decoder) confirms the handshake timing of the input capture.
 */
import test from 'ava';
import { readPcap } from '../../src/pcap/pcap.js';
import { knownConversation, synProbes } from '../../src/pcap/build-measure.js';
import type { MeasureHist } from '../../src/dataplane/measure-types.js';
import { onlyDetectors, runMeasured } from '../helpers/measure-run.js';
import { decodeFields, missingBuild } from '../helpers/policy-run.js';

const skip = missingBuild();
const t = skip ? test.skip : test.serial;

const CONV = { client: '10.1.0.10', server: '10.1.0.20', sport: 43210, synRttUs: 1234, ackRttUs: 567, serverRttUs: 2345, clientRttUs: 89, rounds: 3 };
// What comes back from the replica: the same conversation in the shadow
// address space (10.201/16), slower.
const SHADOW_CONV = { client: '10.201.0.10', server: '10.201.0.20', sport: 43210, synRttUs: 4321, ackRttUs: 765, serverRttUs: 5432, clientRttUs: 98, rounds: 2 };

// The shadow port here receives the replica's whole conversation (a SPAN):
// the copies leaving are not measured again.
const MEASUREMENT = { enabled: true, shadow_tx: false, vms: [{ name: 'web', prefix: '10.1.0.20' }], detectors: onlyDetectors({}) };

const BOUNDS_US = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000];

/** The histogram a list of samples makes (bucket i: above bound i-1, at most bound i). */
function histOf(samplesUs: number[]): MeasureHist {
  const buckets = Array<number>(BOUNDS_US.length + 1).fill(0);
  for (const s of samplesUs) {
    let i = 0;
    while (i < BOUNDS_US.length && s > BOUNDS_US[i]!) i++;
    buckets[i]!++;
  }
  return { buckets, count: samplesUs.length, sumNs: samplesUs.reduce((a, b) => a + b, 0) * 1000 };
}

t('handshake and timestamp RTT to the microsecond, TCP events exact, both sides under one VM label, production unchanged', async (tt) => {
  const prod = knownConversation(CONV);
  const shadow = knownConversation(SHADOW_CONV);
  const run = await runMeasured({ frames: prod.frames, shadowIn: shadow.frames, measurement: MEASUREMENT });
  try {
    const m = run.measure;
    tt.deepEqual(m.bucketsUs, BOUNDS_US);
    // Every packet timed by its rx timestamp (the capture's), none by the TSC.
    tt.is(m.timestamps.rx, prod.frames.length + shadow.frames.length);
    tt.is(m.timestamps.tsc, 0);
    for (const [side, conv] of [['production', prod], ['shadow', shadow]] as const) {
      const web = m.sides[side][0]!;
      tt.deepEqual(web.rtt.syn_synack, histOf([conv.synRttUs]), `${side} SYN to SYN/ACK`);
      tt.deepEqual(web.rtt.synack_ack, histOf([conv.ackRttUs]), `${side} SYN/ACK to ACK`);
      tt.deepEqual(web.rtt.timestamp, histOf(conv.tsRttUs), `${side} timestamp RTT`);
      tt.is(web.tcp.retransmissions, conv.retransmissions, `${side} retransmissions`);
      tt.is(web.tcp.out_of_order, conv.outOfOrder, `${side} out of order`);
      tt.is(web.tcp.resets, conv.resets, `${side} resets`);
      tt.is(web.tcp.zero_windows, conv.zeroWindows, `${side} zero windows`);
      tt.is(web.tcp.syn, 1);
      tt.is(web.tcp.synack, 1);
      tt.is(web.tcp.flows, 1);
      tt.is(web.packets.tcp, conv.frames.length, `${side} packets of vm web`);
      tt.is(web.bytes.tcp, conv.frames.reduce((n, f) => n + f.data.length, 0));
      // Nothing in "other".
      tt.is(m.sides[side][1]!.packets.tcp, 0);
    }
    // Production output is the input, byte for byte.
    tt.deepEqual(run.production, readPcap(run.inputPath).packets.map((p) => p.data));
    // An independent reading of the input capture: tshark's initial RTT is SYN to the handshake's ACK.
    const rows = await decodeFields(run.inputPath, ['tcp.analysis.initial_rtt']);
    const irtt = rows.map((r) => r['tcp.analysis.initial_rtt']?.[0]).find((x) => x !== undefined);
    tt.is(Math.round(Number(irtt) * 1e6), CONV.synRttUs + CONV.ackRttUs);
  } finally {
    run.dispose();
  }
});

t('the flow table holds what it can and counts every eviction', async (tt) => {
  // 300 SYNs of distinct flows into a table of 64 entries (16 sets of 4).
  const frames = synProbes({ t0: 0, src: '10.1.0.10', dst: (i) => `10.1.${1 + (i >> 7)}.${(i & 127) + 1}`, dport: () => 443, n: 300, stepUs: 100 });
  const run = await runMeasured({ frames, measurement: { ...MEASUREMENT, flows: 64 } });
  try {
    const f = run.measure.flows;
    tt.is(f.capacity, 64);
    tt.is(f.created, 300);
    tt.true(f.active <= 64 && f.active >= 48, `active ${f.active}`);
    tt.is(f.evicted, f.created - f.active);
    tt.is(f.expired, 0);
    tt.is(run.measure.sides.production.reduce((n, v) => n + v.tcp.syn, 0), 300);
    tt.is(run.production.length, 300);
  } finally {
    run.dispose();
  }
});

t('measurement off: no snapshot, the same production output', async (tt) => {
  const prod = knownConversation(CONV);
  const run = await runMeasured({ frames: prod.frames });
  try {
    tt.is(run.stats.measure ?? null, null);
    tt.deepEqual(run.production, readPcap(run.inputPath).packets.map((p) => p.data));
  } finally {
    run.dispose();
  }
});
