/**
 * GET /v1/plan: the placement plan of the policy in force — per port its
 * profile and how it was matched, per session and port where each piece runs
 * (hardware, hybrid, software) and why, the control-plane punts, every
 * hardware rule with its dpdk-testpmd commands, the MARK table
 * (docs/offload.md). Made on request from the running configuration, its
 * compiled policy and the ports as the data plane reported them; nothing is
 * probed yet, and each port says so.
 */
import type { FastifyInstance } from 'fastify';
import { stError } from '../../../../errors.js';
import { PlacementPlanSchema, planJson } from '../../../../offload/planner.js';
import { placementPlan } from '../../../../offload/port-facts.js';
import { ErrorResponse } from '../../../schemas.js';

export default async function planRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get(
    '/v1/plan',
    { schema: { response: { 200: PlacementPlanSchema, 500: ErrorResponse, 503: ErrorResponse } } },
    async () => {
      const live = fastify.services.offload.offloadPlan?.() ?? null;
      if (live) return planJson(live);
      const input = fastify.services.offload.planInput?.() ?? null;
      if (!input) throw stError('ST_ERR_NOT_READY', 'no configuration is loaded yet: the plan is made from the running configuration and its compiled policy');
      return planJson(placementPlan(input));
    },
  );
}
