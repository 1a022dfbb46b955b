/**
 * What a service needs from the data plane, and nothing more: the state of
 * the child's lifecycle, the running child (to install a policy, program
 * rte_flow, read per-session counters) and the ports it reported.
 *
 * The lifecycle (src/supervisor/lifecycle.ts) implements this; services
 * depend on the contract, never on the supervisor, so the supervisor can
 * wire services into the lifecycle without an import circle.
 */
import type { NativePolicy, NativePolicyStats, NativePortInfo } from '../dataplane/native-types.js';
import type { FlowChannel } from './offload-manager.js';

/**
 *   stopped ──start()──► starting ──ok──► running ──child died──► backoff
 *      ▲                    │                                      │
 *      │                 failed (first start only)      starting ◄─┘ (timer)
 *      └────────stop() from any state──────────────────────────────
 */
export type DataplaneState = 'stopped' | 'starting' | 'running' | 'backoff' | 'failed';

/** One running data-plane process, as services talk to it (src/supervisor/host-child.ts). */
export interface DataplaneChild extends FlowChannel {
  readonly pid: number;
  readonly alive: boolean;
  /** install a policy (RCU swap); resolves once it is current */
  policy(policy: NativePolicy, timeoutMs: number): Promise<{ generation: number; applyMs: number }>;
  policyStats(timeoutMs: number): Promise<NativePolicyStats>;
  /** kill it (SIGKILL) for a reason its exit report gives; the lifecycle restarts it */
  killFor(why: string): void;
}

export interface DataplaneHandle {
  readonly state: DataplaneState;
  /** the running child; null unless the state is 'running' */
  readonly child: DataplaneChild | null;
  /** the ports as the data plane last reported them (kept across restarts); empty before the first start */
  readonly ports: readonly NativePortInfo[];
  /** ms to wait for an ordinary answer (stats, rte_flow) */
  readonly requestTimeoutMs: number;
  /** ms between two stats polls; counters older than three polls are not live */
  readonly pollIntervalMs: number;
}
