/**
 * The mirror policy's part of the one schema source: sessions, targets,
 * topology translation, shadow security rules and the policy-level match
 * mode. src/config/schema.ts places these at the top level of the
 * configuration; the admin API accepts exactly these keys as the body of
 * PUT /v1/policy (PolicySchema), so the YAML file and the API cannot drift.
 *
 * Only what JSON Schema can say is said here (types, ranges, closed
 * objects); what it cannot (CIDR syntax, port ranges, hex signatures, names
 * that must refer to ports or targets) is checked by src/policy/check.ts,
 * which names the field in every problem.
 */
import { Type, type Static } from '@sinclair/typebox';
import { bool, expect, int, MAC_PATTERN, mapAllow, oneOf, PORT_NAME_PATTERN } from './schema-helpers.js';
import { POLICY_LIMITS } from '../dataplane/native-types.js';
import { APP_NAMES } from './apps.js';

export const RULE_ACTIONS = ['accept', 'reject'] as const;
export const DIRECTIONS = ['rx', 'tx', 'both'] as const;
export const SAMPLE_MODES = ['flow', 'packet'] as const;
export const SIGNATURE_BASES = ['l2', 'l3', 'l4', 'payload'] as const;
export const MATCH_MODES = ['first', 'all'] as const;
export const POLICY_UNMAPPED_RULES = ['drop', 'mirror', 'count'] as const;
export const SECURITY_ACTIONS = ['allow', 'deny'] as const;
export const LEAK_ACTION_NAMES = ['translate', 'drop', 'pass'] as const;
export const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as const;

/** Operator ids for rules and targets: short, label-safe (they become metric labels). */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const PORT_RANGE_PATTERN = '^[0-9]{1,5}(-[0-9]{1,5})?$';
/** Lists inside one rule are kept short: a rule expands to their product. */
export const MAX_LIST = 64;

const ADDRESS_TEXT = 'an IPv4 or IPv6 address or prefix such as 10.0.0.0/16 or fd00::/16';
const ADDRESSES_TEXT = `${ADDRESS_TEXT}, or a list of up to ${MAX_LIST} of them`;
const PORT_TEXT = 'a port from 0 to 65535 or a range such as "1000-2000"';
const PORTS_TEXT = `${PORT_TEXT}, or a list of up to ${MAX_LIST} of them`;

const description = (text: string) =>
  expect(Type.Optional(Type.String({ maxLength: 200, description: text })), 'a text of up to 200 characters');

export const AddressSchema = expect(
  Type.String({ minLength: 1, maxLength: 64, description: 'An address (a host) or a prefix (address/length).' }),
  ADDRESS_TEXT,
);

export const AddressesSchema = expect(
  Type.Union([AddressSchema, Type.Array(AddressSchema, { minItems: 1, maxItems: MAX_LIST })], {
    description: 'One address or prefix, or a list (the rule matches any of them).',
  }),
  ADDRESSES_TEXT,
);

export const PortSpecSchema = expect(
  Type.Union([
    Type.Integer({ minimum: 0, maximum: 65535 }),
    Type.String({ pattern: PORT_RANGE_PATTERN }),
  ], { description: 'A port, or an inclusive range "low-high".' }),
  PORT_TEXT,
);

export const PortsSchema = expect(
  Type.Union([PortSpecSchema, Type.Array(PortSpecSchema, { minItems: 1, maxItems: MAX_LIST })], {
    description: 'One port or range, or a list (the rule matches any of them).',
  }),
  PORTS_TEXT,
);

export const ProtocolSchema = expect(
  Type.Union([Type.Integer({ minimum: 0, maximum: 255 }), Type.String({ minLength: 1, maxLength: 16 })], {
    description: 'IP protocol: a name (tcp, udp, icmp, icmpv6, sctp, gre, esp, ah, ospf, vrrp, igmp, pim) or a number 0-255.',
  }),
  'a protocol name such as tcp, udp, icmp, ospf, or a number from 0 to 255',
);

const flagList = (what: string) =>
  expect(
    Type.Array(oneOf(TCP_FLAG_NAMES, { description: 'A TCP flag.' }), { maxItems: 8, default: [], description: what }),
    `a list of TCP flags (${TCP_FLAG_NAMES.join(', ')})`,
  );

export const TcpFlagsSchema = Type.Object(
  {
    set: flagList('Flags that must be set.'),
    unset: flagList('Flags that must be clear.'),
  },
  { additionalProperties: false, description: 'TCP flags: those listed under set must be 1, those under unset 0, the others are not looked at. Implies protocol tcp.' },
);

export const SignatureSchema = Type.Object(
  {
    base: oneOf(SIGNATURE_BASES, {
      default: 'payload',
      description: 'Where offset counts from: l2 the Ethernet header, l3 the IP header, l4 the TCP/UDP/ICMP header, payload the first byte after the TCP/UDP header.',
    }),
    offset: int(0, 65535, 0, 'Bytes from base to the first compared byte.'),
    bytes: expect(
      Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The value, in hex ("474554", "47 45 54" or "0x474554"), 1 to 16 bytes.' })),
      'hex digits, two per byte, such as "474554"',
    ),
    text: expect(
      Type.Optional(Type.String({ minLength: 1, maxLength: 16, description: 'The value as ASCII text (instead of bytes), 1 to 16 characters.' })),
      'a text of 1 to 16 ASCII characters',
    ),
    mask: expect(
      Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Hex mask as long as the value; default all ones (ff per byte).' })),
      'hex digits, two per byte, as many bytes as the value',
    ),
  },
  { additionalProperties: false, description: `User signature: matches when (byte & mask) == value for each byte, all inside the frame. At most ${POLICY_LIMITS.signatures} distinct signatures per policy.` },
);

export const FilterSchema = Type.Object(
  {
    id: expect(
      Type.Optional(Type.String({ pattern: ID_PATTERN, description: "Rule id for counters and explanations (label rule=\"...\"); default its 1-based position in the session. Give ids to keep a rule's counters when rules are inserted above it." })),
      'an id of 1 to 64 letters, digits, "_", "." or "-"',
    ),
    description: description('Free text shown in explanations.'),
    action: oneOf(RULE_ACTIONS, { default: 'accept', description: 'accept mirrors the packet; reject stops this session from mirroring it. The first matching rule decides; no match = reject.' }),
    ethertype: expect(
      Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.String({ minLength: 1, maxLength: 32 })], {
        description: 'EtherType after any VLAN tags: a name (ipv4, ipv6, arp, rarp, lldp, lacp, mpls, mpls_mc, pppoe_disc, pppoe_sess, ptp, macsec, eapol) or a number such as 0x88cc.',
      })),
      'an EtherType name such as ipv4, arp, lldp, or a number from 0 to 65535 (e.g. 0x88cc)',
    ),
    vlan: expect(
      Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 4095 }), Type.String({ minLength: 1, maxLength: 16 })], {
        description: 'Outer VLAN id 0-4095, a range "100-200", or "untagged".',
      })),
      'a VLAN id from 0 to 4095, a range such as "100-200", or "untagged"',
    ),
    ip_version: expect(
      Type.Optional(Type.Union([Type.Literal(4), Type.Literal(6)], { description: 'IP version; unset = any, including non-IP frames.' })),
      '4 or 6',
    ),
    protocol: Type.Optional(ProtocolSchema),
    src: Type.Optional(AddressesSchema),
    dst: Type.Optional(AddressesSchema),
    src_ports: Type.Optional(PortsSchema),
    dst_ports: Type.Optional(PortsSchema),
    tcp_flags: Type.Optional(TcpFlagsSchema),
    app: expect(
      Type.Optional(Type.Union([oneOf(APP_NAMES, { description: 'An application class.' }), Type.Array(oneOf(APP_NAMES, { description: 'An application class.' }), { minItems: 1, maxItems: 16 })], {
        description: 'Application class(es) by well-known protocol and ports, either direction (docs/policy.md lists them). Combined with the rule\'s other fields.',
      })),
      `an application class (${APP_NAMES.join(', ')}) or a list of them`,
    ),
    signature: Type.Optional(SignatureSchema),
  },
  { additionalProperties: false, description: 'One filter rule; fields left out match anything. Lists (addresses, ports, apps) match any of their entries.' },
);

export const SourceSchema = Type.Object(
  {
    port: expect(Type.String({ pattern: PORT_NAME_PATTERN, description: 'A production or egress port by name.' }), 'a port name'),
    direction: oneOf(DIRECTIONS, {
      default: 'rx',
      description: 'rx: packets received on the port; tx: packets forwarded out of it (inline mode); both.',
    }),
  },
  { additionalProperties: false, description: 'Where a session takes packets from.' },
);

export const SampleSchema = Type.Object(
  {
    percent: expect(
      Type.Number({ minimum: 0, maximum: 100, default: 100, description: 'Share of flows (or packets) mirrored, 0 to 100.' }),
      'a number from 0 to 100',
    ),
    mode: oneOf(SAMPLE_MODES, {
      default: 'flow',
      description: 'flow: a symmetric hash of the 5-tuple decides, so a sampled flow is mirrored whole, both directions; packet: each packet independently.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Sampling.' },
);

export const RateSchema = Type.Object(
  {
    pps: int(0, 1e12, 0, 'Packets per second this session may send to the shadow side; 0 = no cap.'),
    bps: int(0, 1e15, 0, 'Bits per second on the shadow wire (encapsulation included); 0 = no cap.'),
  },
  { additionalProperties: false, default: {}, description: 'Rate cap; copies over it are dropped and counted (reason rate).' },
);

export const SessionSchema = Type.Object(
  {
    id: int(1, 4294967295, undefined, 'Session number, unique; labels its counters (session="...").'),
    description: description('Free text shown in explanations.'),
    enabled: expect(
      Type.Optional(Type.Boolean({ description: 'false: kept in the policy (and its counters), left out of the compiled policy, so it mirrors nothing until enabled again. Default true.' })),
      'true or false',
    ),
    priority: int(0, 65535, 100, 'Evaluation order, lowest first (then by id); with match: first, the first accepting session per target takes the packet.'),
    sources: expect(
      Type.Optional(Type.Array(SourceSchema, { minItems: 1, maxItems: 32, description: 'Ports and directions; default every production port, rx.' })),
      'a list of {port, direction} (at least one)',
    ),
    filters: expect(
      Type.Array(FilterSchema, { default: [], maxItems: POLICY_LIMITS.rules, description: 'Ordered rules; the first that matches decides. Empty = mirror everything.' }),
      'a list of filter rules',
    ),
    sample: SampleSchema,
    snaplen: int(0, 65535, 0, 'Copy at most this many bytes of each packet (0 = whole frame; otherwise at least 64), but never cut into a header the copy is translated in: L2, IP and TCP/UDP/ICMP headers are kept whole, DHCP and IPv6 ND messages too.'),
    rate: RateSchema,
    target: expect(
      Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'Target name; default: every shadow port, no encapsulation.' })),
      'a target name',
    ),
  },
  { additionalProperties: false, description: 'A mirror session.' },
);

const MacSchema = (description: string) =>
  expect(Type.String({ pattern: MAC_PATTERN, description }), 'a MAC address such as "02:53:48:00:00:01"');

export const OuterSchema = Type.Object(
  {
    src: expect(Type.String({ minLength: 1, maxLength: 64, description: 'Outer source IP (IPv4 or IPv6, same family as dst): the local tunnel endpoint, a unicast address (not multicast, broadcast or unspecified).' }), 'an IPv4 or IPv6 address'),
    dst: expect(Type.String({ minLength: 1, maxLength: 64, description: 'Outer destination IP: the remote tunnel endpoint (not the unspecified address).' }), 'an IPv4 or IPv6 address'),
    src_mac: expect(Type.Optional(MacSchema('Outer source MAC; default shadow.mac.src.')), 'a MAC address such as "02:53:48:00:00:01"'),
    dst_mac: expect(Type.Optional(MacSchema('Outer destination MAC (the next hop toward dst); default shadow.mac.dst.')), 'a MAC address such as "02:53:48:00:00:02"'),
    ttl: int(1, 255, 64, 'Outer TTL / hop limit.'),
    udp_port: expect(
      Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Outer UDP destination port; default 4789 (VXLAN) or 6081 (GENEVE).' })),
      'an integer from 1 to 65535',
    ),
  },
  { additionalProperties: false, description: 'Outer headers of a tunnel toward a remote shadow network.' },
);

const tunnel = (name: string) =>
  Type.Object(
    {
      vni: int(0, 16777215, undefined, `${name} network identifier (24 bits).`),
      outer: OuterSchema,
    },
    { additionalProperties: false, description: `${name} encapsulation.` },
  );

export const EncapSchema = expect(
  Type.Union(
    [
      Type.Literal('none'),
      Type.Object(
        {
          vlan: Type.Object(
            {
              id: int(1, 4094, undefined, 'VLAN id of the pushed 802.1Q tag (0 and 4095 are reserved).'),
              pcp: int(0, 7, 0, 'Priority code point of the tag.'),
            },
            { additionalProperties: false, description: 'Push an 802.1Q tag.' },
          ),
        },
        { additionalProperties: false },
      ),
      Type.Object({ vxlan: tunnel('VXLAN') }, { additionalProperties: false }),
      Type.Object({ geneve: tunnel('GENEVE') }, { additionalProperties: false }),
    ],
    { default: 'none', description: 'none, or exactly one of {vlan: {id, pcp}}, {vxlan: {vni, outer}}, {geneve: {vni, outer}}.' },
  ),
  'none, or a mapping with exactly one of vlan, vxlan, geneve',
);

export const TargetSchema = Type.Object(
  {
    name: expect(Type.String({ pattern: ID_PATTERN, description: 'Target name sessions refer to.' }), 'a name of 1 to 64 letters, digits, "_", "." or "-"'),
    description: description('Free text.'),
    ports: expect(
      Type.Optional(Type.Array(Type.String({ pattern: PORT_NAME_PATTERN }), { minItems: 1, maxItems: 16, description: 'Shadow ports copies leave by (spread by flow); default every shadow port.' })),
      'a list of shadow port names',
    ),
    encap: EncapSchema,
  },
  { additionalProperties: false, description: 'Where a session sends its copies.' },
);

const hostMap = Type.Object(
  {
    from: expect(Type.String({ minLength: 1, maxLength: 64, description: 'Production address (one host).' }), 'an IPv4 or IPv6 address'),
    to: expect(Type.String({ minLength: 1, maxLength: 64, description: 'Shadow address of the same family.' }), 'an IPv4 or IPv6 address'),
    allow: mapAllow(),
  },
  { additionalProperties: false, description: 'One host override; wins over the prefix maps.' },
);

const macMap = Type.Object(
  {
    from: MacSchema('Production MAC.'),
    to: MacSchema('Shadow MAC it becomes.'),
  },
  { additionalProperties: false, description: 'One MAC map.' },
);

/** One payload kind's leak action (native/dataplane/stages/leak.h). */
function leakAction(what: string) {
  return oneOf(LEAK_ACTION_NAMES, {
    default: 'translate',
    description: `${what}: translate (what cannot be translated is not sent, and counted), drop every copy carrying it, or pass it untranslated (counted).`,
  });
}

/** The policy-era parts of `translate`; the prefix maps stay in src/config/schema.ts. */
export const TranslateExtras = {
  hosts: expect(
    Type.Array(hostMap, { default: [], maxItems: POLICY_LIMITS.maps, description: 'Host overrides: exact addresses translated to exact addresses, before the prefix maps.' }),
    `a list of up to ${POLICY_LIMITS.maps} {from, to} address pairs`,
  ),
  macs: expect(
    Type.Array(macMap, { default: [], maxItems: POLICY_LIMITS.macMaps, description: 'MAC maps for Ethernet, ARP, DHCP chaddr and ND link-layer options; other MACs become shadow.mac.src/dst.' }),
    `a list of up to ${POLICY_LIMITS.macMaps} {from, to} MAC pairs`,
  ),
  unmapped: oneOf(POLICY_UNMAPPED_RULES, {
    default: 'drop',
    description: 'A copy with an address outside every map: drop it (counted), mirror it with only covered addresses translated, or count it only (not sent).',
  }),
  router_ids: expect(
    Type.Array(
      Type.Object(
        {
          from: expect(Type.String({ pattern: '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$', description: 'Production router id (BGP identifier, OSPF router id), dotted quad.' }), 'an IPv4 dotted quad'),
          to: expect(Type.String({ pattern: '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$', description: 'Shadow router id it becomes.' }), 'an IPv4 dotted quad'),
        },
        { additionalProperties: false, description: 'One router-id map.' },
      ),
      { default: [], maxItems: 256, description: 'Router ids translated exactly, before the address maps (router ids outside them are translated as addresses when a map covers them, else kept).' },
    ),
    'a list of up to 256 {from, to} router-id pairs',
  ),
  control_plane: Type.Object(
    {
      arp: bool(true, 'Translate ARP sender/target IP and MAC inside the payload.'),
      dhcp: bool(true, 'Translate DHCPv4 ciaddr/yiaddr/siaddr/giaddr, chaddr and address options (router, DNS, server id, requested address...).'),
      nd: bool(true, 'Translate IPv6 Neighbor Discovery target addresses, link-layer options and router advertisements\' prefix, route and DNS server options.'),
    },
    { additionalProperties: false, default: {}, description: 'Control-plane payload translation (every checksum recomputed).' },
  ),
  leak: Type.Object(
    {
      arp: leakAction('ARP sender/target addresses'),
      dhcp: leakAction('DHCPv4 addresses and options'),
      nd: leakAction('IPv6 Neighbor Discovery targets and options'),
      dns: leakAction('DNS (port 53, UDP and TCP): A/AAAA records, reverse names, EDNS client subnet, SVCB/HTTPS address hints'),
      mdns: leakAction('Multicast DNS (UDP 5353), as DNS'),
      llmnr: leakAction('LLMNR (port 5355), as DNS'),
      bgp: leakAction('BGP (TCP 179) UPDATE and OPEN payloads'),
      ospf: leakAction('OSPFv2/v3 payloads'),
      ra: leakAction('IPv6 router advertisement prefix and route options'),
      tunnel: leakAction('The inner packet of VXLAN, GENEVE, GRE, IP-in-IP and PIM Register'),
      icmp_err: leakAction('The packet quoted by an ICMP or ICMPv6 error'),
    },
    { additionalProperties: false, default: {}, description: 'The leak policy: what happens to shadow copies whose payload carries addresses (docs/policy.md, "Leak policy"). Fail-closed by default.' },
  ),
};

export const SecurityRuleSchema = Type.Object(
  {
    id: expect(Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'Rule id for explanations.' })), 'an id of 1 to 64 letters, digits, "_", "." or "-"'),
    description: description('Free text.'),
    action: oneOf(SECURITY_ACTIONS, { description: 'allow or deny.' }),
    ip_version: expect(Type.Optional(Type.Union([Type.Literal(4), Type.Literal(6)], { description: 'IP version; unset = both.' })), '4 or 6'),
    protocol: Type.Optional(ProtocolSchema),
    src: Type.Optional(AddressesSchema),
    dst: Type.Optional(AddressesSchema),
    src_ports: Type.Optional(PortsSchema),
    dst_ports: Type.Optional(PortsSchema),
  },
  { additionalProperties: false, description: 'One 5-tuple rule, in shadow addresses (as `shadowtap topology export` writes them).' },
);

export const SecuritySchema = Type.Object(
  {
    enforce: bool(false, 'Enforce the rules on the shadow copies (after translation); copies denied are dropped and counted (reason firewall).'),
    default: oneOf(SECURITY_ACTIONS, { default: 'allow', description: 'What happens to a copy no rule matches.' }),
    rules: expect(
      Type.Array(SecurityRuleSchema, { default: [], maxItems: POLICY_LIMITS.fwRules, description: 'Ordered 5-tuple allow/deny rules; the first match decides.' }),
      `a list of up to ${POLICY_LIMITS.fwRules} rules`,
    ),
  },
  { additionalProperties: false, default: {}, description: 'Security rules of the shadow network (translated from production by `shadowtap topology export`).' },
);

export const MatchSchema = oneOf(MATCH_MODES, {
  default: 'first',
  description: 'first: each target gets a packet from the first accepting session (cloud mirroring semantics); all: every accepting session mirrors it.',
});

export const SessionsSchema = expect(
  Type.Optional(Type.Array(SessionSchema, { maxItems: POLICY_LIMITS.sessions, description: 'Mirror sessions. Left out: one default session mirrors everything received on production ports to every shadow port.' })),
  `a list of up to ${POLICY_LIMITS.sessions} sessions`,
);

export const TargetsSchema = expect(
  Type.Array(TargetSchema, { default: [], maxItems: POLICY_LIMITS.targets, description: 'Named targets sessions send copies to.' }),
  `a list of up to ${POLICY_LIMITS.targets} targets`,
);

export type SessionInput = Static<typeof SessionSchema>;
export type FilterInput = Static<typeof FilterSchema>;
export type TargetInput = Static<typeof TargetSchema>;
export type SecurityInput = Static<typeof SecuritySchema>;
export type SecurityRuleInput = Static<typeof SecurityRuleSchema>;
export type EncapInput = Static<typeof EncapSchema>;
