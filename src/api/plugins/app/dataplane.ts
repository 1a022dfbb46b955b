/**
 * Decorates the instance with what routes read: the data-plane source
 * (the supervisor; a fake one in route tests) and the metrics registry.
 * Not encapsulated (fastify-plugin's skip-override), so every route sees them.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { MetricsSource } from '../../../metrics/collector.js';
import type { PlacementPlan } from '../../../offload/planner.js';
import type { PlanInput } from '../../../offload/port-facts.js';
import type { PolicyPlan } from '../../../policy/compile.js';
import type { PolicyView, SessionsView } from '../../../supervisor/supervisor.js';

/**
 * The policy operations (one service function each; the CLI reaches the same
 * ones through these routes). The Supervisor implements them.
 */
export interface PolicyService {
  policyView(): PolicyView;
  sessionStats(): SessionsView;
  /** throws PolicyError (400, every problem) */
  validatePolicy(section: unknown): PolicyPlan;
  /** throws PolicyError, ST_ERR_BUSY (409) or a data-plane error; nothing changes on failure */
  applyPolicy(section: unknown): Promise<PolicyView>;
  /** what GET /v1/plan plans from; absent or null: no configuration yet (503) */
  planInput?(): PlanInput | null;
  /** the plan in force in the running data plane (probed, programmed, with fallbacks); null: none yet */
  offloadPlan?(): PlacementPlan | null;
}

export type DataplaneSource = MetricsSource & PolicyService;

declare module 'fastify' {
  interface FastifyInstance {
    dataplane: DataplaneSource;
    metricsRegistry: Registry;
  }
}

export interface DataplanePluginOptions {
  dataplane: DataplaneSource;
  registry: Registry;
}

async function dataplanePlugin(fastify: FastifyInstance, opts: DataplanePluginOptions): Promise<void> {
  fastify.decorate('dataplane', opts.dataplane);
  fastify.decorate('metricsRegistry', opts.registry);
}

// What fastify-plugin does: share the decorators with the parent scope.
(dataplanePlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
(dataplanePlugin as unknown as Record<symbol, string>)[Symbol.for('fastify.display-name')] = 'shadowtap-dataplane';

export default dataplanePlugin;
