/**
 * The one schema source for hardware profiles (hw-profiles/*.json and their
 * hand-written halves in hw-profiles/src/*.yaml) and for firmware-config/*.yaml.
 *
 * A profile says what a NIC family can do with rte_flow, in DPDK's own words:
 * every capability key is a name from the `[rte_flow items]` / `[rte_flow
 * actions]` sections of DPDK's feature matrices (checked against
 * hw-profiles/vocabulary.json by profiles.ts, not here, because the schema
 * cannot know the vocabulary). The planner reads `limits` to decide what goes
 * to hardware; every documented limitation carries a `source` so a reader can
 * check it against the DPDK guide it came from.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** An rte_flow item or action name as DPDK's feature matrices spell it. */
const FLOW_NAME = '^[a-z][a-z0-9_]*$';
const FlowName = Type.String({ pattern: FLOW_NAME, description: "an rte_flow item or action name as in DPDK's feature matrices (e.g. set_ipv4_dst)" });
const ActionList = Type.Array(FlowName, { uniqueItems: true });

/** Y = supported, P = partially supported (see the driver's guide), I = can be indirect as well. */
export const CapabilityValue = Type.Union([Type.Literal('Y'), Type.Literal('P'), Type.Literal('I')], {
  description: "the value from DPDK's feature matrix: Y supported, P partial, I can be indirect as well",
});
const CapabilityMap = Type.Record(Type.String({ pattern: FLOW_NAME }), CapabilityValue, { additionalProperties: false });

const Source = Type.String({ minLength: 3, description: 'where a fact comes from: the DPDK guide section, source file, or measurement' });
const Note = Type.String({ minLength: 1 });

export const PCI_ID_PATTERN = '^[0-9a-f]{4}:[0-9a-f]{4}$';
const PciId = Type.String({ pattern: PCI_ID_PATTERN, description: 'PCI vendor:device, lower-case hex, e.g. 8086:1592' });

export const FAMILY_PATTERN = '^[a-z][a-z0-9_-]*$';

const PciModel = Type.Object(
  {
    id: PciId,
    model: Type.String({ minLength: 1 }),
    /** false: the PMD claims this device, but the facts of this profile were written for other models. */
    offloadTarget: Type.Boolean(),
    note: Type.Optional(Note),
  },
  { additionalProperties: false },
);

const Match = Type.Object(
  {
    /** Exactly as rte_eth_dev_info.driver_name reports it. */
    drivers: Type.Array(Type.String({ pattern: '^[a-z0-9_]+$' }), { uniqueItems: true }),
    driverSource: Type.Optional(Source),
    pci: Type.Array(PciModel),
    pciSource: Type.Optional(Source),
  },
  { additionalProperties: false },
);

export const DOMAINS = ['ingress', 'egress', 'transfer'] as const;
export type Domain = (typeof DOMAINS)[number];
const DomainName = Type.Union(DOMAINS.map((d) => Type.Literal(d)));

const DomainSupport = Type.Object(
  {
    supported: Type.Boolean(),
    /** When set, only these actions are accepted in this domain (a subset of capabilities.actions). */
    actions: Type.Optional(ActionList),
    requires: Type.Optional(Note),
    note: Type.Optional(Note),
    source: Type.Optional(Source),
  },
  { additionalProperties: false },
);

const Flow = Type.Object(
  {
    /** none: the driver has no rte_flow ops at all; every rule goes to software. */
    api: Type.Union([Type.Literal('rte_flow'), Type.Literal('none')]),
    note: Type.Optional(Note),
    source: Type.Optional(Source),
  },
  { additionalProperties: false },
);

const RuleCapacity = Type.Object(
  {
    /** null: no fixed documented number (bounded by device memory or firmware). */
    rules: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    note: Note,
    source: Source,
  },
  { additionalProperties: false },
);

const Sample = Type.Object(
  {
    supported: Type.Boolean(),
    domains: Type.Array(DomainName, { uniqueItems: true }),
    /** ratio 1: every packet copied */
    mirror: Type.Boolean(),
    /** ratio > 1: one packet in N copied */
    fractionalRatio: Type.Boolean(),
    /** Actions allowed in rte_flow_action_sample.actions (the copy), per case; null when undocumented. */
    subActions: Type.Union([
      Type.Object(
        {
          /** NIC Rx rule, any ratio */
          ingress: Type.Optional(ActionList),
          /** NIC Tx rule, any ratio */
          egress: Type.Optional(ActionList),
          /** transfer (E-Switch) rule, mirror (ratio 1) */
          transfer: Type.Optional(ActionList),
          /** transfer (E-Switch) rule, ratio above 1 */
          transferRatioAbove1: Type.Optional(ActionList),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    note: Type.Optional(Note),
    source: Source,
  },
  { additionalProperties: false },
);

const HeaderModify = Type.Object(
  {
    supported: Type.Boolean(),
    actions: ActionList,
    note: Type.Optional(Note),
    source: Source,
  },
  { additionalProperties: false },
);

export const MIRROR_WITH_MODIFY = ['split-around-sample', 'unsupported', 'not-applicable'] as const;
const Copy = Type.Union([Type.Literal('original-and-copy'), Type.Literal('original-only'), Type.Literal('copy-only')]);

const MirrorWithModify = Type.Object(
  {
    /**
     * split-around-sample: the PMD splits the rule at SAMPLE (mlx5);
     * unsupported: SAMPLE and rewrite exist but must not be combined;
     * not-applicable: the family has no SAMPLE or no rewrite.
     */
    semantics: Type.Union(MIRROR_WITH_MODIFY.map((s) => Type.Literal(s))),
    /** Which packets a rewrite placed before SAMPLE changes. */
    modifyBeforeSample: Type.Optional(Copy),
    /** Which packets a rewrite placed after SAMPLE changes. */
    modifyAfterSample: Type.Optional(Copy),
    /** Whether "rewrite only the copy" can be written as one rule. */
    copyOnlyInOneRule: Type.Boolean(),
    note: Type.Optional(Note),
    source: Source,
  },
  { additionalProperties: false },
);

const Encap = Type.Object(
  {
    actions: ActionList,
    note: Type.Optional(Note),
    source: Source,
  },
  { additionalProperties: false },
);

const Limits = Type.Object(
  {
    ruleCapacity: RuleCapacity,
    sample: Sample,
    headerModify: HeaderModify,
    mirrorWithModify: MirrorWithModify,
    encap: Encap,
  },
  { additionalProperties: false },
);

const Quirk = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }),
    description: Note,
    source: Source,
  },
  { additionalProperties: false },
);

const Devarg = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z][a-z0-9_-]*$' }),
    /** absent: the value depends on the deployment (the `why` says how to choose) */
    value: Type.Optional(Type.String({ minLength: 1 })),
    why: Note,
    source: Source,
  },
  { additionalProperties: false },
);

/** The hand-written half: hw-profiles/src/<family>.yaml. */
export const ProfileSourceSchema = Type.Object(
  {
    family: Type.String({ pattern: FAMILY_PATTERN }),
    title: Type.String({ minLength: 1 }),
    /** pci: a physical or virtual function; vdev: a DPDK virtual device; fallback: the generic software profile. */
    kind: Type.Union([Type.Literal('pci'), Type.Literal('vdev'), Type.Literal('fallback')]),
    /** Basename of DPDK's doc/guides/nics/features/<name>.ini, or null when DPDK ships none for this driver. */
    featureMatrix: Type.Union([Type.String({ pattern: '^[a-z0-9_]+$' }), Type.Null()]),
    /** Name of firmware-config/<name>.yaml, or null. */
    firmwareConfig: Type.Union([Type.String({ pattern: FAMILY_PATTERN }), Type.Null()]),
    match: Match,
    flow: Flow,
    domains: Type.Object(
      { ingress: DomainSupport, egress: DomainSupport, transfer: DomainSupport },
      { additionalProperties: false },
    ),
    limits: Limits,
    quirks: Type.Array(Quirk),
    devargs: Type.Array(Devarg),
    notes: Type.Array(Note),
  },
  { additionalProperties: false },
);
export type ProfileSource = Static<typeof ProfileSourceSchema>;

const Generated = Type.Object(
  {
    by: Type.String(),
    from: Type.String(),
    /** e.g. v22.11.11/mlx5.ini, or null when DPDK ships no matrix for the driver */
    featureMatrix: Type.Union([Type.String(), Type.Null()]),
    reference: Type.Union([Type.String(), Type.Null()]),
    warning: Type.String(),
  },
  { additionalProperties: false },
);

const Capabilities = Type.Object(
  {
    release: Type.String({ pattern: '^v[0-9]+\\.[0-9]+(\\.[0-9]+)?$' }),
    items: CapabilityMap,
    actions: CapabilityMap,
  },
  { additionalProperties: false },
);

/** What a newer DPDK release declares differently, for reference only: the planner never uses it. */
const Reference = Type.Object(
  {
    release: Type.String({ pattern: '^v[0-9]+\\.[0-9]+(\\.[0-9]+)?$' }),
    itemsAdded: CapabilityMap,
    itemsRemoved: Type.Array(FlowName),
    actionsAdded: CapabilityMap,
    actionsRemoved: Type.Array(FlowName),
    /** name → value in the reference release, where it differs */
    valuesChanged: CapabilityMap,
  },
  { additionalProperties: false },
);

/** A generated, commit-ready profile: hw-profiles/<family>.json. */
export const ProfileSchema = Type.Object(
  {
    generated: Generated,
    ...ProfileSourceSchema.properties,
    capabilities: Capabilities,
    reference: Type.Union([Reference, Type.Null()]),
  },
  { additionalProperties: false },
);
export type Profile = Static<typeof ProfileSchema>;

/** hw-profiles/vocabulary.json: the rte_flow names of DPDK's default.ini. */
export const VocabularySchema = Type.Object(
  {
    generated: Type.Object({ by: Type.String(), from: Type.String(), warning: Type.String() }, { additionalProperties: false }),
    release: Type.String(),
    items: Type.Array(FlowName, { uniqueItems: true }),
    actions: Type.Array(FlowName, { uniqueItems: true }),
    reference: Type.Object(
      {
        release: Type.String(),
        items: Type.Array(FlowName, { uniqueItems: true }),
        actions: Type.Array(FlowName, { uniqueItems: true }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type Vocabulary = Static<typeof VocabularySchema>;

// ---- firmware-config/<family>.yaml ------------------------------------------

const AbsPath = Type.String({ pattern: '^/', description: 'an absolute path' });
const Version = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)+$', description: 'a dotted version such as 16.21.1000' });

export const FirmwareConfigSchema = Type.Object(
  {
    family: Type.String({ pattern: FAMILY_PATTERN }),
    title: Type.String({ minLength: 1 }),
    /** hw-profiles families this entry applies to */
    profiles: Type.Array(Type.String({ pattern: FAMILY_PATTERN }), { minItems: 1, uniqueItems: true }),
    binding: Type.Object(
      {
        /**
         * vfio: the port must be bound to vfio-pci (the kernel driver released);
         * bifurcated: the port stays on its kernel driver and DPDK shares it (mlx5).
         */
        model: Type.Union([Type.Literal('vfio'), Type.Literal('bifurcated')]),
        /** drivers a port may be bound to for DPDK to use it */
        usableDrivers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
        /** the kernel's own netdev driver for the family (what a port is bound to before dpdk-devbind) */
        kernelDriver: Type.String({ minLength: 1 }),
        note: Type.Optional(Note),
        source: Source,
      },
      { additionalProperties: false },
    ),
    /** kernel modules that must be loaded (from the PMD's kmod dependency string) */
    kernelModules: Type.Array(Type.String({ pattern: '^[a-z0-9_]+$' })),
    /** shared libraries the PMD needs at run time, by file name */
    libraries: Type.Array(
      Type.Object({ file: Type.String({ minLength: 1 }), debianPackage: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    ),
    devargs: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[a-z][a-z0-9_-]*$' }),
          value: Type.Optional(Type.String({ minLength: 1 })),
          default: Type.Optional(Type.String({ minLength: 1 })),
          required: Type.Boolean(),
          why: Note,
          source: Source,
        },
        { additionalProperties: false },
      ),
    ),
    firmware: Type.Object(
      {
        /** how doctor reads the running version: ethtool -i, or the infiniband fw_ver file */
        versionFrom: Type.Array(Type.Union([Type.Literal('ethtool'), Type.Literal('infiniband-sysfs')])),
        /**
         * minimum: below it the PMD is not supported (doctor fails);
         * recommended: the matching release DPDK was validated with (doctor warns).
         * Written as the running firmware reports it (ethtool -i, fw_ver).
         */
        versions: Type.Array(
          Type.Object(
            {
              model: Type.String({ minLength: 1 }),
              pciIds: Type.Array(PciId, { minItems: 1 }),
              version: Version,
              kind: Type.Union([Type.Literal('minimum'), Type.Literal('recommended')]),
              note: Type.Optional(Note),
              source: Source,
            },
            { additionalProperties: false },
          ),
        ),
        tool: Type.Optional(Type.String({ minLength: 1 })),
        settings: Type.Array(
          Type.Object(
            {
              key: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$' }),
              value: Type.String({ minLength: 1 }),
              required: Type.Boolean(),
              why: Note,
              check: Note,
              source: Source,
            },
            { additionalProperties: false },
          ),
        ),
        note: Type.Optional(Note),
      },
      { additionalProperties: false },
    ),
    ddp: Type.Union([
      Type.Object(
        {
          required: Type.Boolean(),
          /** searched in this order by the PMD */
          searchPaths: Type.Array(AbsPath, { minItems: 1 }),
          /** file names looked for in each search path; <serial> is the device serial number */
          files: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
          /** compressed variants the loader also accepts */
          compressedSuffixes: Type.Array(Type.String({ pattern: '^\\.' })),
          debianPackage: Type.String({ minLength: 1 }),
          withoutIt: Note,
          source: Source,
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    notes: Type.Array(
      Type.Object({ text: Note, source: Type.Optional(Source) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type FirmwareConfig = Static<typeof FirmwareConfigSchema>;

/** Names of the header-rewrite actions, used to check headerModify lists. */
export const MODIFY_ACTIONS: ReadonlySet<string> = new Set([
  'set_mac_src', 'set_mac_dst', 'set_ipv4_src', 'set_ipv4_dst', 'set_ipv6_src', 'set_ipv6_dst',
  'set_tp_src', 'set_tp_dst', 'set_ttl', 'dec_ttl', 'set_ipv4_dscp', 'set_ipv6_dscp', 'modify_field',
  'of_set_vlan_vid', 'of_set_vlan_pcp', 'of_set_nw_ttl', 'of_dec_nw_ttl', 'inc_tcp_seq', 'dec_tcp_seq',
  'inc_tcp_ack', 'dec_tcp_ack', 'mac_swap',
]);

/** Names of the encapsulation actions (tunnel or tag push), used to check encap lists. */
export const ENCAP_ACTIONS: ReadonlySet<string> = new Set([
  'vxlan_encap', 'nvgre_encap', 'raw_encap', 'of_push_vlan', 'of_push_mpls',
]);

export type AnySchema = TSchema;
