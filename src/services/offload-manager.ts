/**
 * The offload manager: once the data plane runs, probe every port that has
 * rte_flow (rte_flow_validate on the canonical rules; the probe wins over the
 * profile), plan, flush leftovers and create the plan's rules.
 *
 * MARKs: with every 'flowProgram' the data plane is told which MARKs the
 * plan's rules set (sessions placed hybrid-mirror or hardware: "the NIC
 * decided and copied", and "a NIC-made copy") before any rule exists, so
 * the software path makes no second copy of what the NIC copied and never
 * forwards a NIC-made copy to production. Punts and hybrid-classify MARKs need
 * no table: software classifies such packets as if unmarked.
 *
 * A rule that cannot be created moves its group to software: re-plan with the
 * group forced to software, flush, create again. Traffic is never touched:
 * whatever is not (or no longer) in hardware is classified in software.
 */
import type { FromHost, HostFlowCount, HostFlowRule } from '../dataplane/protocol.js';
import { MARK_KIND, type NativeMark } from '../dataplane/native-types.js';
import { type PlacementPlan } from '../offload/planner.js';
import { planFromFacts, portFacts, type PlanInput, type PortFact } from '../offload/port-facts.js';
import { describeFailure, probeDefinitions, reconcile, type ProbeResult } from '../offload/probe.js';

export type FallbackReason = 'unsupported' | 'table_full' | 'no_memory' | 'other';
export const FALLBACK_REASONS: readonly FallbackReason[] = ['unsupported', 'table_full', 'no_memory', 'other'];

/**
 * The MARKs the software path must honour for a plan: per session whose NIC
 * makes the copy (hybrid-mirror, hardware), "decided" on its port; for
 * hybrid-mirror also "copy" (the copy comes back to the software path).
 */
export function marksOf(p: PlacementPlan): NativeMark[] {
  const out: NativeMark[] = [];
  for (const s of p.sessions) {
    if ((s.path !== 'hybrid-mirror' && s.path !== 'hardware') || s.rules.length === 0) continue;
    if (s.marks.decided !== undefined) out.push({ port: s.port.index, slot: s.slot, kind: MARK_KIND.nicDecided });
    if (s.path === 'hybrid-mirror' && s.marks.copy !== undefined) out.push({ port: s.port.index, slot: s.slot, kind: MARK_KIND.nicCopy });
  }
  return out;
}

export interface OffloadFallback {
  at: string;
  port: string;
  group: string;
  rule: string;
  reason: FallbackReason;
  errno?: number;
  message: string;
}

export interface ProbeReport {
  port: string;
  index: number;
  family: string;
  results: ProbeResult[];
  disagreements: string[];
}

/** What the manager asks of the data-plane child. */
export interface FlowChannel {
  request(req: { type: 'flowProbe'; port: number; defs: { name: string; rule: HostFlowRule['rule'] }[] }
    | { type: 'flowProgram'; flush: number[]; rules: HostFlowRule[]; marks: NativeMark[] }
    | { type: 'flowStats' }
    | { type: 'flowFlush'; ports: number[]; clearMarks?: boolean }, timeoutMs: number): Promise<FromHost>;
}

/** errno of a failed create, as the fallback metric's reason. */
export function fallbackReason(errno: number | undefined, message?: string): FallbackReason {
  const e = Math.abs(errno ?? 0);
  if (e === 28 || e === 7 || (message !== undefined && /table full|no space|too many/i.test(message))) return 'table_full';
  if (e === 12) return 'no_memory';
  if (e === 95 || e === 38 || e === 22 || e === 1) return 'unsupported';
  return 'other';
}

/** Families whose ports have no rte_flow at all: not probed (the plan says so). */
function hasFlowApi(f: PortFact): boolean {
  return f.capabilities.flowApi;
}

export class OffloadManager {
  /** per port index, the probe's results (kept across restarts: the hardware does not change) */
  readonly probes = new Map<number, ProbeReport>();
  readonly fallbacks: OffloadFallback[] = [];
  readonly fallbackCounts: Record<FallbackReason, number> = { unsupported: 0, table_full: 0, no_memory: 0, other: 0 };
  /** group -> why it is in software */
  private readonly forced = new Map<string, string>();
  private facts: PortFact[] | null = null;
  private input: PlanInput | null = null;
  private _plan: PlacementPlan | null = null;
  /** plan rule ids created in the running data plane */
  private programmed = new Set<string>();
  private counts = new Map<string, HostFlowCount>();
  /** every 'flowProgram' round sent to a data plane, oldest first (flush before create, what was created) */
  readonly programs: { at: string; flushed: { port: number; ok: boolean }[]; created: number; failed: number; withdrawn: number }[] = [];
  /** totals of rule hits from earlier data-plane processes, by port name and rule id */
  private carried = new Map<string, number>();

  constructor(private readonly onFallback: (f: OffloadFallback) => void = () => {}) {}

  get plan(): PlacementPlan | null {
    return this._plan;
  }

  /** Rules of the plan that are in hardware now, per port name and placement. */
  ruleGauge(): { port: string; placement: string; rules: number }[] {
    const out = new Map<string, { port: string; placement: string; rules: number }>();
    const p = this._plan;
    if (!p) return [];
    for (const r of p.rules) {
      if (!this.programmed.has(r.id)) continue;
      const s = r.session !== undefined ? p.sessions.find((x) => x.session === r.session && x.port.index === r.port.index) : undefined;
      const placement = s ? s.path : 'punt';
      const key = `${r.port.name}\u0000${placement}`;
      const e = out.get(key) ?? { port: r.port.name, placement, rules: 0 };
      e.rules++;
      out.set(key, e);
    }
    return [...out.values()];
  }

  /** COUNT of every programmed rule, monotonic across restarts. */
  ruleHits(): { port: string; rule: string; hits: number }[] {
    const out = new Map<string, { port: string; rule: string; hits: number }>();
    for (const [key, hits] of this.carried) {
      const [port, rule] = key.split('\u0000') as [string, string];
      out.set(key, { port, rule, hits });
    }
    for (const c of this.counts.values()) {
      const port = this.facts?.[c.port]?.port.name ?? `port${c.port}`;
      const key = `${port}\u0000${c.key}`;
      const e = out.get(key) ?? { port, rule: c.key, hits: 0 };
      e.hits += c.hits;
      out.set(key, e);
    }
    return [...out.values()];
  }

  disagreements(): { port: string; count: number }[] {
    return [...this.probes.values()].map((p) => ({ port: p.port, count: p.disagreements.length }));
  }

  /** A data-plane process is gone: its counters become carried totals. */
  childGone(): void {
    for (const h of this.ruleHits()) this.carried.set(`${h.port}\u0000${h.rule}`, h.hits);
    this.counts.clear();
    this.programmed.clear();
  }

  /** Probe (first time), plan and program in a freshly started data plane. */
  async apply(ch: FlowChannel, input: PlanInput, timeoutMs: number): Promise<PlacementPlan> {
    this.input = input;
    const facts = portFacts(input.config.ports, { live: input.ports });
    this.facts = facts;
    const flowPorts = facts.filter(hasFlowApi);
    for (const f of flowPorts) {
      const index = f.port.index;
      let report = this.probes.get(index);
      const shadow = facts.find((x) => x.port.role === 'shadow');
      const defs = probeDefinitions(index, { family: f.profile.family, ...(shadow ? { peerPort: shadow.port.index } : {}) });
      if (!report) {
        const msg = await ch.request({ type: 'flowProbe', port: index, defs: defs.map((d) => ({ name: d.name, rule: d.rule })) }, timeoutMs);
        if (msg.type !== 'flowProbed') throw new Error(`expected "flowProbed", got "${msg.type}"`);
        report = { port: f.port.name, index, family: f.profile.family, results: msg.results, disagreements: [] };
        this.probes.set(index, report);
      }
      const caps = reconcile(f.profile, report.results, { definitions: defs, port: `${f.port.name} (port ${index})` });
      // The devarg capacity (net_shadowsim) is not something validate can tell.
      f.capabilities = { ...caps, ruleCapacity: f.capabilities.ruleCapacity };
      report.disagreements = caps.disagreements.map((d) => d.message);
      f.notes.splice(0, f.notes.length, ...f.notes.filter((n) => !n.startsWith('not probed')),
        `probed: ${report.results.filter((r) => r.ok).length} of ${report.results.length} rte_flow_validate probes accepted`);
    }
    const flush = flowPorts.map((f) => f.port.index);
    // Fallback loop: each round moves at least one group to software, so it ends.
    for (let round = 0; round < 64; round++) {
      const p = this.makePlan(input);
      if (flush.length === 0) {
        this._plan = p;
        return p;
      }
      const rules: HostFlowRule[] = p.rules.map((r) => ({ key: r.id, rule: r.rule, group: r.group }));
      const msg = await ch.request({ type: 'flowProgram', flush, rules, marks: marksOf(p) }, timeoutMs);
      if (msg.type !== 'flowProgrammed') throw new Error(`expected "flowProgrammed", got "${msg.type}"`);
      this.programs.push({ at: new Date().toISOString(), flushed: msg.flushed.map((f) => ({ port: f.port, ok: f.ok })), created: msg.results.filter((r) => r.ok).length, failed: msg.results.filter((r) => !r.ok && !r.withdrawn && !r.skipped).length, withdrawn: msg.results.filter((r) => r.withdrawn === true).length });
      this.programmed = new Set(msg.results.filter((r) => r.ok).map((r) => r.key));
      // Withdrawn and skipped rules are the host's consequence of a failure, not failures of their own.
      const failed = msg.results.filter((r) => !r.ok && !r.withdrawn && !r.skipped);
      if (failed.length === 0) {
        this._plan = p;
        return p;
      }
      for (const f of failed) {
        const planned = p.rules.find((r) => r.id === f.key);
        if (!planned || this.forced.has(planned.group)) continue;
        const reason = fallbackReason(f.errno, f.message);
        const why = describeFailure({ probe: f.key, ok: false, ...(f.errno !== undefined ? { errno: f.errno } : {}), ...(f.message !== undefined ? { message: f.message } : {}), ...(f.errorType !== undefined ? { errorType: f.errorType } : {}) });
        const fb: OffloadFallback = {
          at: new Date().toISOString(), port: planned.port.name, group: planned.group, rule: f.key, reason,
          ...(f.errno !== undefined ? { errno: f.errno } : {}),
          message: `creating rule ${f.key} (${planned.purpose}) failed: ${why}; group ${planned.group} moves to software`,
        };
        this.forced.set(planned.group, `rte_flow_create of ${f.key} failed (${reason}): ${why}`);
        this.fallbacks.push(fb);
        this.fallbackCounts[reason]++;
        this.onFallback(fb);
      }
    }
    throw new Error('offload fallback did not settle');
  }

  /**
   * apply() failed part-way: remove whatever it created, so the NIC marks
   * nothing the plan no longer vouches for; every piece runs in software.
   */
  async abandon(ch: FlowChannel, timeoutMs: number): Promise<void> {
    const ports = (this.facts ?? []).filter(hasFlowApi).map((f) => f.port.index);
    this.programmed.clear();
    if (ports.length > 0) await ch.request({ type: 'flowFlush', ports, clearMarks: true }, timeoutMs);
  }

  private makePlan(input: PlanInput): PlacementPlan {
    const p = planFromFacts(input.policy, this.facts!, undefined, { forceSoftware: this.forced, ...(input.faults && input.faults.length > 0 ? { armedFaults: input.faults } : {}) });
    for (const fb of this.fallbacks) {
      const port = p.ports.find((x) => x.name === fb.port);
      port?.notes.push(`fallback: ${fb.message}`);
      p.warnings.push(`offload fallback (${fb.reason}) on ${fb.port}: ${fb.message}`);
    }
    for (const pr of this.probes.values()) {
      const port = p.ports.find((x) => x.index === pr.index);
      if (!port) continue;
      for (const r of pr.results) port.notes.push(`probe ${r.probe}: ${r.ok ? 'accepted' : describeFailure(r)}`);
    }
    return p;
  }

  /** The plan with the latest counters; null before the first apply. */
  current(): PlacementPlan | null {
    return this._plan;
  }

  /** COUNT of every rule, asked at poll time. */
  async poll(ch: FlowChannel, timeoutMs: number): Promise<void> {
    if (this.programmed.size === 0) return;
    const msg = await ch.request({ type: 'flowStats' }, timeoutMs);
    if (msg.type !== 'flowStats') return;
    this.counts = new Map(msg.counts.map((c) => [c.key, c]));
  }

  /** Remove this manager's rules (on stop). */
  async remove(ch: FlowChannel, timeoutMs: number): Promise<void> {
    const ports = [...this.probes.keys()];
    if (ports.length === 0) return;
    await ch.request({ type: 'flowFlush', ports }, timeoutMs);
    this.programmed.clear();
  }

  counters(): ReadonlyMap<string, HostFlowCount> {
    return this.counts;
  }

  inputOf(): PlanInput | null {
    return this.input;
  }
}
