/**
 * The placement plan's shape: the planner's inputs (ports, capabilities,
 * options), the MARK values the software path reads, and the TypeBox schema
 * of the plan itself, the one source for `GET /v1/plan`, its OpenAPI
 * document, `shadowtap plan --json` and the types below.
 */
import { Type, type Static } from '@sinclair/typebox';
import { CONTROL_PLANE } from '../dataplane/native-types.js';
import type { FlowRule } from './flow.js';
import { PAYLOAD_KINDS, PAYLOAD_MARKS } from './matches.js';
import type { PortCapabilities } from './probe.js';
import type { ProfileSet } from './profiles.js';

// ---- inputs -------------------------------------------------------------------------

export interface PlanPort {
  /** index into the plan's ports (the data plane's port order) = the DPDK port id */
  index: number;
  name: string;
  role: 'production' | 'egress' | 'shadow' | string;
  /** rte_eth_dev_info.driver_name */
  driver: string;
  pciId?: string;
  /** rte_eth_dev_info.switch_info.domain_id: ports on one E-Switch can mirror to each other in hardware */
  switchDomain?: number;
}

export type CapsByPort = ReadonlyMap<number, PortCapabilities> | Readonly<Record<number, PortCapabilities | undefined>>;

export interface PlanOptions {
  /** the profile set used to match ports without capabilities (default: the shipped profiles) */
  profiles?: ProfileSet;
  /**
   * Paths the software path can honour today (default: all). A session whose
   * better paths are left out is placed on the best allowed one, and each
   * left-out path is named in its notTaken with `pathsReason`.
   */
  allowPaths?: ReadonlySet<SessionPath>;
  pathsReason?: string;
  /**
   * Run-time fallback: rule groups (`<port>/session-<id>`, `<port>/punt`)
   * whose creation failed, with why; they are planned in software. A punt
   * group takes every hardware session of its port along.
   */
  forceSoftware?: ReadonlyMap<string, string>;
  /**
   * Faults armed now (and dry runs): their copies must pass the software
   * impair stage, which a `hardware` session's copies (sent by the NIC
   * straight to the shadow port) never reach. A session a fault may match
   * (`session` absent: any) is planned on the best other path.
   */
  armedFaults?: readonly ArmedFault[];
}

/** A fault armed in the data plane, as the planner sees it. */
export interface ArmedFault {
  /** the fault's id */
  fault: string;
  /** the mirror session id it is restricted to; absent: any session */
  session?: number;
}

// ---- marks: what the software path reads -------------------------------------------

/**
 * MARK values: control-plane punts carry the control-plane bit, payload
 * punts 0x10 and up (payload-punts.ts); sessions their counter slot plus a
 * base. Every punt MARK is below both bases: software reads it as unmarked.
 */
export const MARK = {
  punt: { arp: CONTROL_PLANE.arp, dhcp: CONTROL_PLANE.dhcp, nd: CONTROL_PLANE.nd, ...PAYLOAD_MARKS },
  decidedBase: 0x100,
  copyBase: 0x1000,
} as const;

export const markDecided = (slot: number): number => MARK.decidedBase + slot;
export const markCopy = (slot: number): number => MARK.copyBase + slot;

// ---- the plan (JSON shape of GET /v1/plan; the schema is the one source) ------------

const PlacementT = Type.Union([Type.Literal('hardware'), Type.Literal('hybrid'), Type.Literal('software')]);
const PieceKindT = Type.Union(
  ['classification', 'sampling', 'mirroring', 'translation', 'encap', 'truncation', 'rate-cap', 'firewall', 'punt'].map((k) => Type.Literal(k)),
);
const StageT = Type.Union(['classify', 'sample', 'rate', 'copy', 'rewrite', 'firewall', 'encap', 'tx'].map((k) => Type.Literal(k)));
const PathT = Type.Union([Type.Literal('hardware'), Type.Literal('hybrid-mirror'), Type.Literal('hybrid-classify'), Type.Literal('software')]);
const PortRefT = Type.Object({ index: Type.Integer(), name: Type.String() }, { additionalProperties: false });

const PieceT = Type.Object(
  {
    kind: PieceKindT,
    placement: PlacementT,
    /** the software pipeline stage that does (the software part of) it */
    stage: Type.Optional(StageT),
    reason: Type.String(),
    /** ids of the hardware rules that do (the hardware part of) it */
    rules: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const SessionPlacementT = Type.Object(
  {
    session: Type.Integer({ description: "the operator's session id" }),
    slot: Type.Integer(),
    port: PortRefT,
    direction: Type.Union([Type.Literal('rx'), Type.Literal('tx')]),
    placement: PlacementT,
    path: PathT,
    /** the one-line summary */
    reason: Type.String(),
    marks: Type.Object({ decided: Type.Optional(Type.Integer()), copy: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
    pieces: Type.Array(PieceT),
    rules: Type.Array(Type.String()),
    /** why the paths above this one were not taken, most capable first */
    notTaken: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const ControlPlaneT = Type.Object(
  {
    port: PortRefT,
    /** control-plane classes (arp, dhcp, nd) or the payload kinds punted under the leak policy */
    classes: Type.Array(Type.Union(['arp', 'dhcp', 'nd', ...PAYLOAD_KINDS].map((k) => Type.Literal(k)))),
    placement: PlacementT,
    reason: Type.String(),
    rules: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const PlannedRuleT = Type.Object(
  {
    id: Type.String(),
    port: PortRefT,
    domain: Type.Union([Type.Literal('ingress'), Type.Literal('egress'), Type.Literal('transfer')]),
    /** what it is for, in words */
    purpose: Type.String(),
    session: Type.Optional(Type.Integer()),
    /**
     * The unit of run-time fallback: when any rule of a group cannot be
     * created, every rule of the group moves to software together (a session's
     * reject rule without its accept rules would change what is mirrored);
     * a punt group's failure takes every hardware session of its port along.
     */
    group: Type.String(),
    rule: Type.Unsafe<FlowRule>(Type.Object({}, { additionalProperties: true, description: 'src/offload/flow.ts FlowRule' })),
    /** dpdk-testpmd commands that reproduce it */
    testpmd: Type.Array(Type.String()),
    notes: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const PortSummaryT = Type.Object(
  {
    index: Type.Integer(),
    name: Type.String(),
    role: Type.String(),
    driver: Type.String(),
    pciId: Type.Optional(Type.String()),
    profile: Type.String(),
    matchedBy: Type.Union([Type.Literal('driver'), Type.Literal('pci'), Type.Literal('fallback'), Type.Literal('capabilities')]),
    matchReason: Type.String(),
    /** probe results applied; 0 = profile facts only */
    probed: Type.Integer(),
    disagreements: Type.Array(Type.String()),
    placement: Type.Union([PlacementT, Type.Literal('none')]),
    rules: Type.Integer(),
    ruleCapacity: Type.Union([Type.Integer(), Type.Null()]),
    notes: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const MarkEntryT = Type.Object(
  {
    mark: Type.Integer(),
    kind: Type.Union([Type.Literal('punt'), Type.Literal('decided'), Type.Literal('copy')]),
    meaning: Type.String(),
    session: Type.Optional(Type.Integer()),
    slot: Type.Optional(Type.Integer()),
    /** decided marks: whether software still makes the copy (hybrid-classify) */
    softwareCopies: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const PlacementPlanSchema = Type.Object(
  {
    version: Type.Literal(1),
    generation: Type.Integer(),
    ports: Type.Array(PortSummaryT),
    sessions: Type.Array(SessionPlacementT),
    controlPlane: Type.Array(ControlPlaneT),
    rules: Type.Array(PlannedRuleT),
    marks: Type.Array(MarkEntryT),
    summary: Type.Object(
      {
        hardware: Type.Integer(),
        hybrid: Type.Integer(),
        software: Type.Integer(),
        rules: Type.Integer(),
      },
      { additionalProperties: false },
    ),
    warnings: Type.Array(Type.String()),
  },
  { additionalProperties: false, description: 'The placement plan (GET /v1/plan)' },
);

export type Placement = Static<typeof PlacementT>;
export type PieceKind = Static<typeof PieceKindT>;
export type SoftwareStage = Static<typeof StageT>;
export type SessionPath = Static<typeof PathT>;
export type PlanPiece = Static<typeof PieceT>;
export type SessionPlacement = Static<typeof SessionPlacementT>;
export type ControlPlanePlacement = Static<typeof ControlPlaneT>;
export type PlannedRule = Omit<Static<typeof PlannedRuleT>, 'rule'> & { rule: FlowRule };
export type PortSummary = Static<typeof PortSummaryT>;
export type MarkEntry = Static<typeof MarkEntryT>;
export type PlacementPlan = Omit<Static<typeof PlacementPlanSchema>, 'rules'> & { rules: PlannedRule[] };

/** The JSON body of GET /v1/plan (the plan itself is plain JSON; this is the checked view). */
export function planJson(p: PlacementPlan): Static<typeof PlacementPlanSchema> {
  return JSON.parse(JSON.stringify(p)) as Static<typeof PlacementPlanSchema>;
}
