/**
 * Decorates the instance with what routes read: the data-plane source
 * (status and counters: the supervisor; a fake one in route tests), the
 * services routes call for every operation (src/services/), and the metrics
 * registry. Not encapsulated (fastify-plugin's skip-override), so every
 * route sees them.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { MetricsSource } from '../../../metrics/collector.js';
import type { OffloadOperations } from '../../../services/offload.js';
import type { EventSource } from '../../../services/events.js';
import type { FaultService } from '../../../services/faults.js';
import type { AlertOperations } from '../../../services/alerts.js';
import type { SeriesOperations } from '../../../services/series.js';
import type { ReportOperations } from '../../../services/reports.js';
import type { PolicyOperations } from '../../../services/policy.js';
import type { ReliabilityOperations } from '../../../services/reliability.js';
import type { DetectionOperations } from '../../../services/measurement.js';

/**
 * The operations routes call, one service per area (the CLI reaches the
 * same ones through these routes). An offload service may be absent (503
 * from GET /v1/plan) or answer only from the configuration.
 */
export interface ApiServices {
  policy: PolicyOperations;
  offload: Partial<OffloadOperations>;
  /** crashes, quarantine, forward-only (absent in route tests that do not need it: 503) */
  reliability?: ReliabilityOperations;
  /** the event feed of GET /v1/events (absent: 503) */
  events?: EventSource;
  /** detections (absent: 503 from GET /v1/detections) */
  measurement?: DetectionOperations;
  /** faults and experiments (absent: 503) */
  faults?: FaultOperations;
  /** the in-memory series and their queries (absent: 503) */
  series?: SeriesOperations;
  /** alert rules and alerts (absent: 503) */
  alerts?: AlertOperations;
  /** experiment reports (absent: 503) */
  reports?: ReportOperations;
}

/** What /v1/faults and /v1/experiments call (src/services/faults.ts). */
export type FaultOperations = Pick<
  FaultService,
  | 'listFaults' | 'getFault' | 'createFault' | 'replaceFault' | 'deleteFault' | 'startFault' | 'stopFault' | 'dryRun'
  | 'listExperiments' | 'getExperiment' | 'createExperiment' | 'deleteExperiment' | 'startExperiment' | 'stopExperiment'
  | 'timelineEntries' | 'tableGeneration'
>;

/** One object that is both (a fake in route tests): its methods serve as the services. */
export type DataplaneSource = MetricsSource & PolicyOperations & Partial<OffloadOperations>;

declare module 'fastify' {
  interface FastifyInstance {
    dataplane: MetricsSource;
    services: ApiServices;
    metricsRegistry: Registry;
  }
}

export type DataplanePluginOptions =
  | { dataplane: DataplaneSource; services?: ApiServices; registry: Registry }
  | { dataplane: MetricsSource; services: ApiServices; registry: Registry };

async function dataplanePlugin(fastify: FastifyInstance, opts: DataplanePluginOptions): Promise<void> {
  fastify.decorate('dataplane', opts.dataplane);
  fastify.decorate('services', opts.services ?? { policy: opts.dataplane as DataplaneSource, offload: opts.dataplane as DataplaneSource });
  fastify.decorate('metricsRegistry', opts.registry);
}

// What fastify-plugin does: share the decorators with the parent scope.
(dataplanePlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
(dataplanePlugin as unknown as Record<symbol, string>)[Symbol.for('fastify.display-name')] = 'shadowtap-dataplane';

export default dataplanePlugin;
