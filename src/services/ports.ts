/**
 * Read operations on ports and hw-profiles (GET /v1/ports, /v1/profiles and
 * the CLI commands over them): every configured port with what DPDK reported,
 * its hw-profile and probed capabilities from the placement plan, and its
 * counters (monotonic across data-plane restarts).
 */
import type { PlacementPlan } from '../offload/planner.js';
import { placementPlan } from '../offload/port-facts.js';
import { defaultProfiles, type Profile } from '../offload/profiles.js';
import type { OffloadOperations } from './offload.js';

const COUNTERS = ['rxPackets', 'rxBytes', 'txPackets', 'txBytes', 'txDropped', 'hwImissed', 'hwIerrors', 'hwOerrors', 'hwRxNombuf'] as const;

/** What the ports view reads from the data plane: the supervisor's status and counter totals. */
export interface PortSource {
  status(): { ports: readonly { name: string; role: string; device: string; portId: number | null; driver: string | null; mac: string | null }[] };
  stats(): { live: boolean; ports: readonly object[] } | null;
}

/** The placement plan in force, or one made on request from the configuration (nothing probed). */
export function currentPlacement(offload: Partial<OffloadOperations>): PlacementPlan | null {
  const live = offload.offloadPlan?.() ?? null;
  if (live) return live;
  const input = offload.planInput?.() ?? null;
  return input ? placementPlan(input) : null;
}

export function portsView(source: PortSource, offload: Partial<OffloadOperations>, onPlanError: (err: Error) => void = () => {}) {
  const status = source.status();
  const stats = source.stats();
  let plan: PlacementPlan | null = null;
  try {
    plan = currentPlacement(offload);
  } catch (err) {
    // The plan is extra; the ports and their counters still answer.
    onPlanError(err as Error);
  }
  return {
    live: stats?.live ?? false,
    ports: status.ports.map((p, index) => {
      const c = stats?.ports[index] as Record<string, number> | undefined;
      const o = plan?.ports.find((x) => x.index === index);
      const report = offload.probeReports?.().get(index);
      return {
        index,
        name: p.name,
        role: p.role,
        device: p.device,
        portId: p.portId,
        driver: p.driver,
        mac: p.mac,
        offload: o
          ? {
              profile: o.profile,
              matchedBy: o.matchedBy,
              matchReason: o.matchReason,
              probed: o.probed,
              disagreements: o.disagreements,
              placement: o.placement,
              rules: o.rules,
              ruleCapacity: o.ruleCapacity,
              notes: o.notes,
              // What rte_flow_validate said of each canonical rule: the probed capabilities.
              probes: (report?.results ?? []).map((r) => ({ probe: r.probe, ok: r.ok, ...(r.errno !== undefined ? { errno: r.errno } : {}), ...(typeof r.message === 'string' ? { message: r.message } : {}) })),
            }
          : null,
        counters: Object.fromEntries(COUNTERS.map((k) => [k, c?.[k] ?? 0])) as Record<(typeof COUNTERS)[number], number>,
      };
    }),
  };
}

export function listProfiles(): { profiles: readonly Profile[] } {
  return { profiles: defaultProfiles().profiles };
}
