/**
 * Reconfiguration under load: the data plane runs at full rate with a 1-rule
 * policy, and a 1,000-rule policy is installed while it runs (the 'policy'
 * message, an RCU swap in the data plane). Reported: the time to apply (as
 * the data plane measures it, and as the supervisor sees it round trip),
 * production packets lost over the whole period (egress tx refused + rx
 * missed, must be 0), the imbalance between production received and sent,
 * and the lowest throughput seen in any 20 ms window around the swap.
 *
 * With net_pcap infinite_rx as the source a stalled worker loses nothing (the
 * capture simply waits), so a stall would show as a dip in the window rates,
 * not as loss; on a NIC it would be rx-missed. Both are reported.
 */
import { SCENARIOS, policySupport, scenarioPolicy, startShadowtap } from './shadowtap.js';
import type { BenchEnv, Counters } from './types.js';
import { median, nowMs, sleep } from './util.js';

export interface ReconfigResult {
  unavailable: string | null;
  error: string | null;
  rules: number;
  applyMs: number | null;
  roundTripMs: number | null;
  baselineMpps: number | null;
  minWindowMpps: number | null;
  windowMs: number;
  productionLost: number | null;
  rxMinusTx: number | null;
  generationAfter: number | null;
  copiesPerInAfter: number | null;
}

const WINDOW_MS = 20;

export async function reconfigUnderLoad(env: BenchEnv, warmupMs: number): Promise<ReconfigResult> {
  const result: ReconfigResult = {
    unavailable: policySupport(),
    error: null,
    rules: 1000,
    applyMs: null,
    roundTripMs: null,
    baselineMpps: null,
    minWindowMpps: null,
    windowMs: WINDOW_MS,
    productionLost: null,
    rxMinusTx: null,
    generationAfter: null,
    copiesPerInAfter: null,
  };
  if (result.unavailable) return result;
  const scenario = SCENARIOS.find((s) => s.id === 'st-acl1')!;
  let running: Awaited<ReturnType<typeof startShadowtap>> | null = null;
  try {
    running = await startShadowtap(env, scenario, 'reconfig');
    const r = running;
    await sleep(warmupMs);
    const samples: Counters[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(await r.read());
        await sleep(WINDOW_MS);
      }
    })();
    await sleep(1000);
    const { policy: big } = await scenarioPolicy(scenario, r.built, 2, { rules: 'thousand' });
    if (!big) throw new Error('no policy to install (policy engine missing)');
    const sentAt = nowMs();
    const ans = await r.host.policy(big);
    const answeredAt = nowMs();
    await sleep(1000);
    sampling = false;
    await sampler;
    result.applyMs = ans.applyMs;
    result.roundTripMs = answeredAt - sentAt;
    result.generationAfter = (await r.host.policyStats()).generation;

    const rates = samples.slice(1).map((b, i) => {
      const a = samples[i]!;
      return { from: a.atMs, to: b.atMs, mpps: (b.inPkts - a.inPkts) / (b.atMs - a.atMs) / 1000 };
    });
    const before = rates.filter((x) => x.to < sentAt).map((x) => x.mpps);
    const around = rates.filter((x) => x.to >= sentAt && x.from <= answeredAt + 100).map((x) => x.mpps);
    result.baselineMpps = median(before);
    result.minWindowMpps = around.length ? Math.min(...around) : null;
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    result.productionLost = last.lostPkts - first.lostPkts;
    result.rxMinusTx = last.inPkts - first.inPkts - (last.outPkts - first.outPkts);
    const after = samples.filter((s) => s.atMs > answeredAt + 100);
    if (after.length >= 2) {
      const a = after[0]!;
      const b = after[after.length - 1]!;
      result.copiesPerInAfter = (b.shadowPkts - a.shadowPkts) / Math.max(1, b.inPkts - a.inPkts);
    }
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    await running?.stop();
  }
  return result;
}
