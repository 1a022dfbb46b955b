/**
 * Schemas of the /v1 resources beyond status and the whole policy: ports,
 * profiles, one session, address maps, topology, the configuration, the
 * event feed. Same TypeBox source as everything else; the OpenAPI document
 * (src/api/openapi.ts) is derived from the routes that use them.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ConfigSchema, TranslateSchema } from '../config/schema.js';
import { TopologySchema } from '../config/topology.js';
import { ProfileSchema } from '../offload/profile-schema.js';
import { SessionSchema } from '../policy/schema.js';
import { EVENT_TYPES } from '../services/events.js';
import { SessionsResponse } from './schemas.js';

/** One schema object may serve several routes only without an $id. */
export function bare<T extends TSchema>(s: T): T {
  const { $id: _id, ...rest } = s as T & { $id?: string };
  return rest as T;
}

export const SessionIdParams = Type.Object(
  { id: Type.Integer({ minimum: 1, maximum: 4294967295, description: 'Session id.' }) },
  { additionalProperties: false },
);

const SessionCounters = (SessionsResponse.properties.sessions as unknown as { items: TSchema }).items;

export const SessionBody = bare(SessionSchema);

export const SessionDetailResponse = Type.Object(
  {
    generation: Type.Integer({ description: 'Policy generation in force.' }),
    enabled: Type.Boolean({ description: 'false: kept in the policy, not compiled, mirrors nothing.' }),
    session: SessionBody,
    counters: Type.Union([SessionCounters, Type.Null()], { description: 'Its counters while compiled in; null while disabled.' }),
  },
  { additionalProperties: false },
);

const PortCounters = Type.Object(
  {
    rxPackets: Type.Number(),
    rxBytes: Type.Number(),
    txPackets: Type.Number(),
    txBytes: Type.Number(),
    txDropped: Type.Number(),
    hwImissed: Type.Number({ description: 'Dropped by the NIC: rx ring full.' }),
    hwIerrors: Type.Number(),
    hwOerrors: Type.Number(),
    hwRxNombuf: Type.Number(),
  },
  { additionalProperties: false },
);

const PortOffload = Type.Object(
  {
    profile: Type.String({ description: 'hw-profile family (hw-profiles/<family>.json).' }),
    matchedBy: Type.String({ description: 'driver, pci, fallback or capabilities.' }),
    matchReason: Type.String(),
    probed: Type.Integer({ description: 'rte_flow_validate probe results applied; 0 = the profile\'s facts only.' }),
    disagreements: Type.Array(Type.String(), { description: 'Where the probe and the profile disagree (the probe wins).' }),
    placement: Type.String({ description: 'hardware, hybrid, software or none.' }),
    rules: Type.Integer({ description: 'Hardware rules planned on this port.' }),
    ruleCapacity: Type.Union([Type.Integer(), Type.Null()]),
    notes: Type.Array(Type.String()),
    probes: Type.Array(
      Type.Object(
        { probe: Type.String(), ok: Type.Boolean(), errno: Type.Optional(Type.Integer()), message: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
      { description: 'rte_flow_validate of each canonical rule on this port (empty: not probed yet; the plan then uses the profile\'s facts).' },
    ),
  },
  { additionalProperties: false },
);

export const PortsResponse = Type.Object(
  {
    live: Type.Boolean({ description: 'Counters come from the running data plane.' }),
    ports: Type.Array(
      Type.Object(
        {
          index: Type.Integer(),
          name: Type.String(),
          role: Type.String(),
          device: Type.String(),
          portId: Type.Union([Type.Integer(), Type.Null()]),
          driver: Type.Union([Type.String(), Type.Null()], { description: 'As DPDK reported it (null before the first start).' }),
          mac: Type.Union([Type.String(), Type.Null()]),
          offload: Type.Union([PortOffload, Type.Null()], { description: 'Its hw-profile and probed capabilities (null: no plan yet).' }),
          counters: PortCounters,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ProfilesResponse = Type.Object(
  { profiles: Type.Array(bare(ProfileSchema)) },
  { additionalProperties: false },
);

export const MapsResponse = Type.Object(
  { generation: Type.Integer(), translate: bare(TranslateSchema) },
  { additionalProperties: false },
);

export const MapsBody = bare(TranslateSchema);

export const TopologyBody = bare(TopologySchema);

/** The shadow replica (src/config/topology.ts ShadowTopology); left open: its parts follow the input. */
export const ShadowTopologyResponse = Type.Object(
  {
    kind: Type.String(),
    name: Type.Optional(Type.String()),
    subnets: Type.Array(Type.Unknown()),
    instances: Type.Array(Type.Unknown()),
    security: Type.Unknown({ description: 'The translated security rules, in the configuration\'s security syntax.' }),
    unmapped: Type.Array(Type.Object({ path: Type.String(), address: Type.String(), message: Type.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const TopologyImportQuery = Type.Object(
  { enforce: Type.Optional(Type.Boolean({ default: true, description: 'Enforce the imported security rules on the copies (default true).' })) },
  { additionalProperties: false },
);

export const ConfigBody = bare(ConfigSchema);

export const ConfigResponse = Type.Object({}, { additionalProperties: true, description: 'The configuration in force (docs/config.md), defaults filled, the policy as last applied.' });

export const PlanExplainResponse = Type.Object(
  { generation: Type.Integer(), text: Type.String({ description: 'The placement plan in words, with every hardware rule as dpdk-testpmd commands.' }) },
  { additionalProperties: false },
);

export const FeedEventSchema = Type.Object(
  {
    id: Type.Integer({ description: 'Increases by one per event; send it back as Last-Event-ID to resume.' }),
    type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
    at: Type.String({ format: 'date-time' }),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  {
    additionalProperties: false,
    description:
      'One server-sent event (text/event-stream): `id:`, `event:` (the type) and `data:` (this object as JSON). Types: state (every data-plane state change), ready, exited, restarting, failed, policy (a new generation), offload (rules programmed), fallback (a rule moved to software), crash, forwardOnly, fault (a fault created, updated, started, stopped or deleted), experiment (an experiment running, completed, stopped, or aborted by a stop condition: data.reason, crossedAt, disarmedAt).',
  },
);

export const EventsQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'Replay kept events with a greater id first (as Last-Event-ID).' })),
    follow: Type.Optional(Type.Boolean({ default: true, description: 'false: send the kept events and end the stream.' })),
  },
  { additionalProperties: false },
);
