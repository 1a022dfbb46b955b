/**
 * Stop conditions, evaluated on the data plane's own stats snapshots (the
 * lifecycle's `stats` event, polled at least every 100 ms while an
 * experiment with stop conditions runs). Pure: fed samples, it says the
 * first condition crossed and at which sample.
 *
 *   shadow_delivery_ratio  Δ(tx packets on shadow ports) / Δ(copies made), over the window
 *   shadow_tx_pps          Δ(tx packets on shadow ports) / Δt
 *   mirror_pps             Δ(copies made) / Δt
 *   drops_per_second       Δ(drops) / Δt
 *   drops                  drops since the experiment started
 *
 * drops = copies lost on the shadow path: dropped or overflowed by a fault,
 * not sent because a shadow tx queue was full or no mbuf was left;
 * copies made = copies sent on shadow ports + drops. Copies the policy
 * decided not to make (unmapped addresses, not IP, malformed) are neither:
 * a stop condition guards what faults do to delivery, not the policy.
 *
 * A rate needs two samples at least `window` apart (the newest and the
 * newest one that old), so one slow poll does not read as a collapse; a
 * ratio with no copies made in the window is not evaluated. A child that
 * restarted (counters going down) starts the history again; `drops` keeps
 * what the dead child counted.
 */
import type { NativeStats } from '../dataplane/native-types.js';
import type { CheckedStop } from '../faults/experiment.js';

export interface ConditionSample {
  /** when the data plane read its counters, ms since the epoch */
  at: number;
  mirror: number;
  shadowTx: number;
  drops: number;
}

/** The fault counters a stats snapshot carries (faultStats()), as far as drops go. */
interface FaultDropCounters {
  faults?: { dropped?: number; overflowed?: number }[];
}

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function sampleOf(stats: NativeStats, shadowPorts: readonly number[], at: number): ConditionSample {
  let shadowTx = 0;
  let drops = 0;
  for (const i of shadowPorts) {
    shadowTx += n(stats.ports[i]?.txPackets);
    drops += n(stats.ports[i]?.txDropped);
  }
  drops += n(stats.dropped?.nomem) + n(stats.dropped?.tx_full);
  const faults = (stats as NativeStats & { faults?: FaultDropCounters }).faults?.faults ?? [];
  for (const f of faults) drops += n(f.dropped) + n(f.overflowed);
  return { at, mirror: shadowTx + drops, shadowTx, drops };
}

export interface Crossing {
  condition: CheckedStop;
  value: number;
  /** the sample that crossed: its read time is the crossing time */
  at: number;
  /** the window the value was computed over, ms */
  overMs: number;
}

export class ConditionWatch {
  private history: ConditionSample[] = [];
  private dropsBase: number | null = null;
  private carried = 0;

  constructor(
    private readonly conditions: readonly CheckedStop[],
    private readonly startedAt: number,
  ) {}

  /** Add a sample; the first condition it crosses, or null. */
  push(s: ConditionSample): Crossing | null {
    const last = this.history.at(-1);
    if (last && s.at <= last.at) return null; // the same snapshot twice
    if (last && (s.mirror < last.mirror || s.shadowTx < last.shadowTx || s.drops < last.drops)) {
      // a new child: its counters start from zero
      this.carried += last.drops - (this.dropsBase ?? 0);
      this.dropsBase = 0;
      this.history = [];
    }
    if (this.dropsBase === null) this.dropsBase = s.drops;
    this.history.push(s);
    const longest = Math.max(500, ...this.conditions.map((c) => c.windowMs));
    while (this.history.length > 2 && this.history[1]!.at <= s.at - longest) this.history.shift();
    for (const c of this.conditions) {
      if (s.at - this.startedAt < c.afterMs) continue;
      const v = this.value(c, s);
      if (v === null) continue;
      if (c.op === 'below' ? v.value < c.value : v.value > c.value) return { condition: c, value: v.value, at: s.at, overMs: v.overMs };
    }
    return null;
  }

  private value(c: CheckedStop, s: ConditionSample): { value: number; overMs: number } | null {
    if (c.metric === 'drops') return { value: this.carried + s.drops - (this.dropsBase ?? s.drops), overMs: s.at - this.startedAt };
    let old: ConditionSample | undefined;
    for (let i = this.history.length - 2; i >= 0; i--) {
      if (this.history[i]!.at <= s.at - c.windowMs) {
        old = this.history[i];
        break;
      }
    }
    if (!old) return null;
    const dt = s.at - old.at;
    const per = (d: number) => (d * 1000) / dt;
    switch (c.metric) {
      case 'shadow_delivery_ratio': {
        const made = s.mirror - old.mirror;
        return made > 0 ? { value: (s.shadowTx - old.shadowTx) / made, overMs: dt } : null;
      }
      case 'shadow_tx_pps':
        return { value: per(s.shadowTx - old.shadowTx), overMs: dt };
      case 'mirror_pps':
        return { value: per(s.mirror - old.mirror), overMs: dt };
      default:
        return { value: per(s.drops - old.drops), overMs: dt };
    }
  }
}
