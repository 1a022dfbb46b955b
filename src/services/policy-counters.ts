/**
 * Per-session and per-rule counters as the operator sees them: by session id
 * and rule id, monotonic across data-plane restarts and policy updates.
 *
 * The data plane counts by slot (policy.h) and never resets a slot, so:
 * - a live child's value for a session is its slot's value, minus the
 *   slot's baseline when the slot was handed to this session while that
 *   child ran (a reused slot may hold a removed rule's counts);
 * - when a child dies, what it counted (for the sessions and rules of the
 *   current plan) moves into a base keyed by id, and baselines reset: the
 *   next child starts from zero;
 * - a rule's hits are the sum over the classifier rules it expanded into.
 * Packets counted after the last poll of a child that died are lost (at
 * most one poll interval's worth), as for the global counters.
 */
import { SESSION_DROP_REASONS, type NativeClassifier, type NativePolicyStats, type NativeSessionStats, type SessionDropReason } from '../dataplane/native-types.js';
import type { PolicyReport } from '../policy/compile.js';

export interface SessionCounters {
  matched: number;
  sampled: number;
  mirroredPackets: number;
  mirroredBytes: number;
  truncated: number;
  unmappedSeen: number;
  dropped: Record<SessionDropReason, number>;
}

export const SESSION_COUNTERS = ['matched', 'sampled', 'mirroredPackets', 'mirroredBytes', 'truncated', 'unmappedSeen'] as const;

export function zeroSessionCounters(): SessionCounters {
  return {
    matched: 0,
    sampled: 0,
    mirroredPackets: 0,
    mirroredBytes: 0,
    truncated: 0,
    unmappedSeen: 0,
    dropped: Object.fromEntries(SESSION_DROP_REASONS.map((r) => [r, 0])) as Record<SessionDropReason, number>,
  };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

function add(a: SessionCounters, b: Partial<NativeSessionStats> | undefined, minus?: Partial<NativeSessionStats>): SessionCounters {
  const out: SessionCounters = { ...a, dropped: { ...a.dropped } };
  if (!b) return out;
  for (const k of SESSION_COUNTERS) out[k] += Math.max(0, num(b[k]) - num(minus?.[k]));
  for (const r of SESSION_DROP_REASONS) out.dropped[r] += Math.max(0, num(b.dropped?.[r]) - num(minus?.dropped?.[r]));
  return out;
}

export interface RuleCounterView {
  id: string;
  index: number;
  line: string;
  hits: number;
}

export interface SessionCounterView extends SessionCounters {
  id: number;
  slot: number;
  /** how the data plane finds the session's deciding rule; absent until it says */
  classifier?: NativeClassifier;
  rules: RuleCounterView[];
}

const ruleId = (sessionId: number, id: string): string => `${sessionId}/${id}`;

export class PolicyCounters {
  private sessionBase = new Map<number, SessionCounters>();
  private ruleBase = new Map<string, number>();
  private sessionBaseline = new Map<number, NativeSessionStats>();
  private ruleBaseline = new Map<number, number>();
  private latest: NativePolicyStats | null = null;
  latestAt = 0;

  /** The live child's newest snapshot. */
  snapshot(stats: NativePolicyStats): void {
    this.latest = stats;
    this.latestAt = Date.now();
  }

  get generation(): number | null {
    return this.latest?.generation ?? null;
  }

  /** The fast path the live child's policy takes, when it says. */
  get path(): 'short' | 'general' | undefined {
    return this.latest?.path;
  }

  /** A child is gone: fold what it counted for `plan` into the base. */
  childGone(plan: PolicyReport): void {
    if (this.latest) {
      for (const v of this.live(plan)) {
        this.sessionBase.set(v.id, add(this.sessionBase.get(v.id) ?? zeroSessionCounters(), v));
        for (const r of v.rules) this.ruleBase.set(ruleId(v.id, r.id), (this.ruleBase.get(ruleId(v.id, r.id)) ?? 0) + r.hits);
      }
    }
    this.latest = null;
    this.sessionBaseline.clear();
    this.ruleBaseline.clear();
  }

  /**
   * A new plan is current. Slots handed out fresh start from the live
   * child's present value; sessions and rules that are gone are forgotten.
   */
  committed(plan: PolicyReport, freshSessionSlots: readonly number[], freshRuleSlots: readonly number[]): void {
    for (const slot of freshSessionSlots) {
      const cur = this.latest?.sessions[slot];
      if (cur) this.sessionBaseline.set(slot, structuredClone(cur));
      else this.sessionBaseline.delete(slot);
    }
    for (const slot of freshRuleSlots) {
      const cur = this.latest?.ruleHits[slot];
      if (cur) this.ruleBaseline.set(slot, cur);
      else this.ruleBaseline.delete(slot);
    }
    const ids = new Set(plan.sessions.map((s) => s.id));
    for (const id of [...this.sessionBase.keys()]) if (!ids.has(id)) this.sessionBase.delete(id);
    const rules = new Set(plan.sessions.flatMap((s) => s.rules.map((r) => ruleId(s.id, r.id))));
    for (const k of [...this.ruleBase.keys()]) if (!rules.has(k)) this.ruleBase.delete(k);
  }

  /** What the live child counted for the plan's sessions (baselines subtracted). */
  private live(plan: PolicyReport): SessionCounterView[] {
    return plan.sessions.map((s) => {
      const cur = this.latest?.sessions[s.slot];
      const counters = add(zeroSessionCounters(), cur, this.sessionBaseline.get(s.slot));
      return {
        ...counters,
        id: s.id,
        slot: s.slot,
        ...(this.latest?.classifiers?.[s.slot] !== undefined ? { classifier: this.latest.classifiers[s.slot]! } : {}),
        rules: s.rules.map((r) => ({
          id: r.id,
          index: r.index,
          line: r.line,
          hits: r.slots.reduce((n, slot) => n + Math.max(0, num(this.latest?.ruleHits[slot]) - (this.ruleBaseline.get(slot) ?? 0)), 0),
        })),
      };
    });
  }

  /** Totals per session of `plan`: base + live. */
  view(plan: PolicyReport): SessionCounterView[] {
    return this.live(plan).map((v) => {
      const base = this.sessionBase.get(v.id);
      const total = base ? add(base, v) : v;
      return {
        ...total,
        id: v.id,
        slot: v.slot,
        ...(v.classifier !== undefined ? { classifier: v.classifier } : {}),
        rules: v.rules.map((r) => ({ ...r, hits: r.hits + (this.ruleBase.get(ruleId(v.id, r.id)) ?? 0) })),
      };
    });
  }
}
