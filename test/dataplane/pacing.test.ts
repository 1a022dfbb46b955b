/**
 * Replay pacing (ports[].rx_pps) on the real data plane: an infinite net_pcap
 * replay must be held to the configured rate, never above it (plus one burst
 * of saved credit), and must keep flowing (not starve). The bounds are loose
 * on the low side because a shared 2-core CI machine can stall a worker; the
 * high side is the property that protects the demo's disk.
 */
import test from 'ava';
import { makeSupervisor, missingBuild, scratch, until, vdevConfig } from '../helpers/supervised.js';

const skip = missingBuild();
const PPS = 500;
const BURST = 32;

test('rx_pps holds an infinite replay to the configured rate', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('pacing');
  const config = vdevConfig(s.capture);
  const paced = {
    ...config,
    ports: config.ports.map((p, i) => (i === 0 ? { ...p, rx_pps: PPS } : p)),
  };
  const sup = makeSupervisor(`st-pacing-${process.pid}`, paced);
  try {
    await sup.start();
    await until('the first packets', () => sup.stats().ports[0]!.rxPackets > 0 && sup.stats().live);
    const a = sup.stats();
    const t0 = a.at;
    await new Promise((r) => setTimeout(r, 3000));
    await until('a fresh poll', () => sup.stats().at > t0 + 2500);
    const b = sup.stats();
    const seconds = (b.at - t0) / 1000;
    const got = b.ports[0]!.rxPackets - a.ports[0]!.rxPackets;
    const ceiling = PPS * seconds + 2 * BURST;
    t.true(got <= ceiling, `received ${got} packets in ${seconds.toFixed(2)} s; at ${PPS} pps the most is ${ceiling.toFixed(0)}`);
    t.true(got >= PPS * seconds * 0.4, `received only ${got} packets in ${seconds.toFixed(2)} s at ${PPS} pps: pacing starves the port`);
    // Everything received was forwarded and mirrored or counted: nothing lost.
    t.is(b.ports[1]!.txPackets, b.ports[0]!.rxPackets, 'production forwarded every paced packet');
  } finally {
    await sup.stop();
    s.dispose();
  }
});
