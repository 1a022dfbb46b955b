/**
 * GET /v1/plan: the placement plan of the policy in force — per port its
 * profile and how it was matched, per session and port where each piece runs
 * (hardware, hybrid, software) and why, the control-plane punts, every
 * hardware rule with its dpdk-testpmd commands, the MARK table
 * (docs/offload.md). The plan programmed in the running data plane when there
 * is one; otherwise made on request from the configuration in force, its
 * compiled policy and the ports as the data plane reported them (nothing
 * probed, and each port says so). GET /v1/plan/explain: the same plan in words.
 */
import type { FastifyInstance } from 'fastify';
import { stError } from '../../../../errors.js';
import { explain, PlacementPlanSchema, planJson, type PlacementPlan } from '../../../../offload/planner.js';
import { currentPlacement } from '../../../../services/ports.js';
import { ErrorResponse } from '../../../schemas.js';
import { PlanExplainResponse } from '../../../schemas-v1.js';

export default async function planRoutes(fastify: FastifyInstance): Promise<void> {
  const plan = (): PlacementPlan => {
    const p = currentPlacement(fastify.services.offload);
    if (!p) throw stError('ST_ERR_NOT_READY', 'no configuration is loaded yet: the plan is made from the running configuration and its compiled policy');
    return p;
  };

  fastify.get(
    '/v1/plan',
    { schema: { summary: 'The placement plan: where each piece of the policy runs, and why', response: { 200: PlacementPlanSchema, 500: ErrorResponse, 503: ErrorResponse } } },
    async () => planJson(plan()),
  );

  fastify.get(
    '/v1/plan/explain',
    { schema: { summary: 'The placement plan in words, with every hardware rule as dpdk-testpmd commands', response: { 200: PlanExplainResponse, 500: ErrorResponse, 503: ErrorResponse } } },
    async () => {
      const p = plan();
      return { generation: p.generation, text: explain(p) };
    },
  );
}
