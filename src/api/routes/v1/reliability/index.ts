/**
 * GET /v1/reliability: crash reports (from the flight recorder), the live
 * quarantine and forward-only; POST /v1/reliability/forward-only/clear: an
 * operator ends forward-only after a crash loop (docs/reliability.md).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorResponse } from '../../../schemas.js';

const CrashReport = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  pid: Type.Integer(),
  signal: Type.String(),
  stage: Type.String(),
  worker: Type.Union([Type.Integer(), Type.Null()]),
  lcore: Type.Union([Type.Integer(), Type.Null()]),
  faultAddress: Type.String(),
  packet: Type.Union([Type.String(), Type.Null()], { description: 'one line about the packet the worker was on' }),
  capture: Type.Union([Type.String(), Type.Null()], { description: 'the packet, saved as a pcap under run_dir/crashes/' }),
  signature: Type.Union([Type.String(), Type.Null()], { description: '"len:crc32c" of the quarantined signature' }),
  outageMs: Type.Union([Type.Number(), Type.Null()], { description: 'crash to the next data plane\'s workers running' }),
});

export const ReliabilityResponse = Type.Object({
  forwardOnly: Type.Object({ on: Type.Boolean(), since: Type.Union([Type.String(), Type.Null()]), reason: Type.Union([Type.String(), Type.Null()]) }),
  quarantine: Type.Array(Type.Object({ signature: Type.String(), len: Type.Integer(), crc: Type.Integer(), until: Type.String(), crash: Type.Integer() })),
  crashes: Type.Array(CrashReport),
  recentCrashes: Type.Integer(),
  settings: Type.Object({
    flight_recorder: Type.Boolean(),
    quarantine_s: Type.Integer(),
    crash_loop: Type.Object({ crashes: Type.Integer(), window_s: Type.Integer() }),
    standby: Type.Boolean(),
  }),
});
export type ReliabilityResponseT = Static<typeof ReliabilityResponse>;

export default async function reliabilityRoutes(fastify: FastifyInstance): Promise<void> {
  const service = () => fastify.services.reliability;
  fastify.get(
    '/v1/reliability',
    { schema: { summary: 'Crash reports from the flight recorder, the quarantine and forward-only', response: { 200: ReliabilityResponse, 503: ErrorResponse } } },
    async (_req, reply) => {
      const r = service();
      if (!r) return reply.code(503).send({ code: 'ST_ERR_NOT_READY', message: 'no reliability service in this process', field: '' });
      return r.view();
    },
  );
  fastify.post(
    '/v1/reliability/forward-only/clear',
    { schema: { summary: 'End forward-only after a crash loop: shadow work resumes', response: { 200: ReliabilityResponse, 409: ErrorResponse, 503: ErrorResponse } } },
    async (_req, reply) => {
      const r = service();
      if (!r) return reply.code(503).send({ code: 'ST_ERR_NOT_READY', message: 'no reliability service in this process', field: '' });
      return r.clearForwardOnly();
    },
  );
}
