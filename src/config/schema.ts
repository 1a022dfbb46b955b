/**
 * The one schema source for shadowtap's configuration: the YAML file, the
 * admin API bodies and the OpenAPI document all derive from these TypeBox
 * schemas. Every object is closed (additionalProperties: false) so a typo is
 * an error, not a silently ignored key. Defaults live here and are filled by
 * Value.Default before validation.
 *
 * Only standard JSON Schema keywords are used (fastify's ajv runs in strict
 * mode); the operator-facing wording of "what was expected" is attached
 * beside the schema with `expect()` and read by the config loader.
 */
import { Type, type Static } from '@sinclair/typebox';
import { bool, expect, int, MAC_PATTERN, mapAllow, oneOf, PORT_NAME_PATTERN } from '../policy/schema-helpers.js';
import { MatchSchema, SecuritySchema, SessionsSchema, TargetsSchema, TranslateExtras } from '../policy/schema.js';
import { MeasurementSchema } from './measurement.js';

export { expectedText, MAC_PATTERN, PORT_NAME_PATTERN } from '../policy/schema-helpers.js';

export const MODES = ['inline', 'tap'] as const;
export const ROLES = ['production', 'egress', 'shadow'] as const;
export const IDLE_MODES = ['busy', 'adaptive'] as const;
export const UNMAPPED_RULES = ['drop', 'mirror', 'count'] as const;
export const EAL_LOG_LEVELS = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const MAX_PORTS = 16; // ST_MAX_PORTS
export const MAX_WORKERS = 16; // ST_MAX_WORKERS
export const MAX_MAPS = 256; // ST_MAX_MAPS
export const MAX_DEVICE_LEN = 511; // ST_DEV_LEN - 1


export const EalSchema = Type.Object(
  {
    hugepages: bool(false, 'Use hugepages; false runs EAL with --no-huge -m memory_mb.'),
    memory_mb: int(64, 1048576, 512, 'Memory EAL reserves, in megabytes (-m).'),
    log_level: oneOf(EAL_LOG_LEVELS, { default: 'notice', description: 'EAL --log-level.' }),
    extra_args: expect(
      Type.Array(Type.String(), { default: [], maxItems: 64, description: 'Appended verbatim to the EAL arguments.' }),
      'a list of strings',
    ),
  },
  { additionalProperties: false, default: {}, description: 'DPDK Environment Abstraction Layer settings.' },
);

export const MempoolSchema = Type.Object(
  {
    production_mbufs: int(0, 16777216, 0, 'Mbufs in the production pool; 0 = automatic.'),
    shadow_mbufs: int(0, 16777216, 0, 'Mbufs in the shadow pool; 0 = automatic.'),
  },
  { additionalProperties: false, default: {}, description: 'Packet buffer pools.' },
);

export const DataplaneSchema = Type.Object(
  {
    workers: int(1, MAX_WORKERS, 1, 'Worker lcores polling ports.'),
    cores: expect(
      Type.Array(expect(Type.Integer({ minimum: 0, maximum: 1023 }), 'a CPU id from 0 to 1023'), {
        default: [],
        maxItems: MAX_WORKERS,
        description: 'CPU ids the workers are pinned to, one per worker; empty = 1..workers (mod CPU count).',
      }),
      `a list of up to ${MAX_WORKERS} CPU ids`,
    ),
    burst: int(1, 64, 32, 'Packets per rx burst.'),
    idle: oneOf(IDLE_MODES, {
      default: 'adaptive',
      description: 'busy polls continuously; adaptive sleeps about 100 us after many empty polls.',
    }),
    eal: EalSchema,
    mempool: MempoolSchema,
  },
  { additionalProperties: false, default: {}, description: 'Data-plane process settings.' },
);

export const CaptureRotateSchema = Type.Object(
  {
    size_mb: expect(
      Type.Number({ minimum: 0, maximum: 1e9, default: 0, description: 'Start a new file before a record would take this one past N MB (1,000,000 bytes, as tcpdump -C; fractions allowed: 0.5 is 500,000 bytes). 0 = no size limit.' }),
      'a number of MB (1,000,000 bytes) from 0.001 up, or 0 for no size limit',
    ),
    seconds: int(0, 2678400, 0, 'Start a new file for a packet stamped this many seconds or more after the current file began (as tcpdump -G; the new file is named by that packet\'s time). 0 = no time limit.'),
    count: int(0, 100000, 0, 'Keep at most this many files of this capture, earlier runs\' included, removing the oldest (tcpdump -W overwrites; shadowtap never does). 0 = keep all.'),
  },
  { additionalProperties: false, default: {}, description: 'Rotation while running, as tcpdump -C, -G and -W.' },
);

export const CaptureSchema = Type.Object(
  {
    path: expect(
      Type.String({ minLength: 1, maxLength: 4000, description: 'pcapng file to write, relative to run_dir. The file name may hold strftime conversions (%Y %m %d %H %M %S %j %y %s, UTC), expanded when each file is opened. An existing file is never overwritten: the next free FILE.N is used.' }),
      'a file path such as shadow-%Y%m%d-%H%M%S.pcapng',
    ),
    snaplen: int(64, 65000, 65000, 'Bytes of each copy written; longer copies are cut (the record keeps the original length).'),
    ring: int(64, 65536, 4096, 'Copies waiting for the writer, per worker; when full, copies are dropped and counted (the workers never wait).'),
    rotate: CaptureRotateSchema,
  },
  { additionalProperties: false, description: "shadowtap's capture writer (device net_stcapN): writes the copies sent to this shadow port as pcapng, rotated while running (docs/captures.md)." },
);

export const PortSchema = Type.Object(
  {
    name: expect(
      Type.String({ pattern: PORT_NAME_PATTERN, description: "Operator's name for the port." }),
      'a name of 1 to 32 characters: lower-case letters, digits, "_" or "-", starting with a letter or digit',
    ),
    device: expect(
      Type.String({
        minLength: 1,
        maxLength: MAX_DEVICE_LEN,
        description: 'PCI address with optional devargs ("0000:3b:00.0,rxq_cqe_comp_en=0") or a vdev spec ("net_pcap0,rx_pcap=in.pcap").',
      }),
      'a PCI address such as "0000:3b:00.0" or a vdev spec such as "net_pcap0,rx_pcap=FILE"',
    ),
    role: oneOf(ROLES, { default: 'production', description: 'production is mirrored; egress carries production onward; shadow receives the copies.' }),
    // expect() goes outside: Type.Optional() returns a new schema object.
    egress: expect(
      Type.Optional(Type.String({ pattern: PORT_NAME_PATTERN, description: "Inline mode: the port this port's traffic is forwarded to." })),
      'a port name',
    ),
    promiscuous: bool(true, 'Enable promiscuous mode.'),
    rx_desc: int(64, 16384, 1024, 'Rx descriptors per queue.'),
    tx_desc: int(64, 16384, 1024, 'Tx descriptors per queue.'),
    rx_pps: int(0, 100000000, 0, 'Pace this port\'s rx to at most N packets/s (0 = unpaced). For replay sources such as net_pcap infinite_rx; on a real NIC, unread packets are dropped by the NIC (imissed).'),
    capture: expect(Type.Optional(CaptureSchema), 'a mapping with path and optionally snaplen, ring and rotate'),
  },
  { additionalProperties: false, description: 'One DPDK port.' },
);

const Mac = (dflt: string, description: string) =>
  expect(Type.String({ pattern: MAC_PATTERN, default: dflt, description }), 'a unicast MAC address such as "02:53:48:00:00:01"');

export const ShadowSchema = Type.Object(
  {
    mac: Type.Object(
      {
        src: Mac('02:53:48:00:00:01', 'Source MAC written into every shadow copy.'),
        dst: Mac('02:53:48:00:00:02', 'Destination MAC written into every shadow copy.'),
      },
      { additionalProperties: false, default: {}, description: 'MACs of the shadow copies; MAC maps (translate.macs) take precedence.' },
    ),
  },
  { additionalProperties: false, default: {}, description: 'How copies are addressed on the shadow network.' },
);

const map = (family: 'IPv4' | 'IPv6', example: string) =>
  Type.Object(
    {
      from: expect(Type.String({ description: `Production ${family} prefix.` }), `an ${family} prefix such as ${example}`),
      to: expect(Type.String({ description: `Shadow ${family} prefix of the same length.` }), `an ${family} prefix such as ${example}`),
      allow: mapAllow(),
    },
    { additionalProperties: false, description: `One ${family} prefix map.` },
  );

export const Map4Schema = map('IPv4', '10.0.0.0/16');
export const Map6Schema = map('IPv6', 'fd00::/16');

export const TranslateSchema = Type.Object(
  {
    ipv4: expect(Type.Array(Map4Schema, { default: [], maxItems: MAX_MAPS, description: 'IPv4 prefix maps, 1:1, host bits kept.' }), `a list of up to ${MAX_MAPS} {from, to} prefix pairs`),
    ipv6: expect(Type.Array(Map6Schema, { default: [], maxItems: MAX_MAPS, description: 'IPv6 prefix maps, 1:1, host bits kept.' }), `a list of up to ${MAX_MAPS} {from, to} prefix pairs`),
    ...TranslateExtras,
  },
  { additionalProperties: false, default: {}, description: 'Production to shadow address translation.' },
);

export const TOKEN_ROLES = ['read', 'admin'] as const;
export const OPEN_PROBES = ['loopback', 'anywhere'] as const;

const filePath = (description: string) => expect(Type.Optional(Type.String({ minLength: 1, description })), 'a file path');

export const ApiTlsSchema = Type.Object(
  {
    cert: expect(Type.String({ minLength: 1, description: 'PEM certificate (chain) the API presents.' }), 'a file path'),
    key: expect(Type.String({ minLength: 1, description: 'PEM private key of the certificate.' }), 'a file path'),
    ca: filePath('PEM CA bundle client certificates are checked against (with request_cert).'),
    request_cert: bool(false, 'Ask clients for a certificate and refuse those the ca does not sign (mutual TLS).'),
  },
  { additionalProperties: false, description: 'Serve the API over HTTPS. Unset: plain HTTP.' },
);

export const RateLimitSchema = Type.Object(
  {
    per_second: int(0, 100000, 20, 'Requests per second each client may sustain (a token bucket per token, or per address without one); 0 = no limit.'),
    burst: int(1, 100000, 60, 'Requests a client may send at once before the per_second rate applies.'),
  },
  { additionalProperties: false, default: {}, description: 'Rate limit on /v1 routes, per client; over it: 429 with Retry-After.' },
);

export const ApiSchema = Type.Object(
  {
    host: expect(
      Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address the admin API binds to. A non-loopback address needs a token (tokens_file or tokens_env): shadowtap refuses to start without one.' }),
      'an IP address or host name',
    ),
    port: int(0, 65535, 9465, 'TCP port of the admin API (0 = any free port).'),
    tokens_file: filePath('File of bearer tokens, one per line: "NAME:ROLE:SECRET" (ROLE read or admin, SECRET at least 16 characters; # starts a comment). With any token configured, every /v1 route needs one.'),
    tokens_env: expect(
      Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', default: 'SHADOWTAP_API_TOKENS', description: 'Environment variable with more tokens, "NAME:ROLE:SECRET" entries separated by commas or newlines.' }),
      'an environment variable name',
    ),
    open_probes: oneOf(OPEN_PROBES, {
      default: 'loopback',
      description: '/healthz, /readyz and /metrics answer without a token to loopback clients only (loopback), or to anyone (anywhere); others need a read token.',
    }),
    tls: expect(Type.Optional(ApiTlsSchema), 'a mapping with cert, key and optionally ca and request_cert'),
    body_limit: int(1024, 67108864, 1048576, 'Largest request body in bytes; larger is refused with 413.'),
    json_depth: int(2, 512, 64, 'Deepest nesting of objects and arrays a JSON body may have; deeper is refused with 400.'),
    rate_limit: RateLimitSchema,
  },
  { additionalProperties: false, default: {}, description: 'Admin API and /metrics.' },
);

export const ReliabilitySchema = Type.Object(
  {
    flight_recorder: bool(true, 'Keep a flight recorder (run_dir/flight/): after a data-plane crash, the packet and stage it died on are saved under run_dir/crashes/ and reported (GET /v1/reliability).'),
    quarantine_s: int(0, 86400, 600, 'After a crash attributed to a packet, packets with its signature (length and first 128 bytes) skip all shadow work for this long (0 = no quarantine). Production gets them as always.'),
    crash_loop: Type.Object(
      {
        crashes: int(2, 100, 3, 'Crashes within window_s that make a crash loop: the data plane then runs forward-only (no shadow work) until an operator clears it.'),
        window_s: int(1, 86400, 300, 'The window crashes are counted in, in seconds.'),
      },
      { additionalProperties: false, default: {}, description: 'When repeated crashes stop shadow work instead of restarting forever.' },
    ),
    standby: bool(true, 'Keep a standby data-plane process prepared (EAL up, pools made, no device) that takes the devices over when the running one dies, so inline production is interrupted for milliseconds instead of a full start. Costs a second copy of the EAL memory and pools.'),
  },
  { additionalProperties: false, default: {}, description: 'What keeps a poison packet from taking production down (docs/reliability.md).' },
);

export const FaultHooksSchema = Type.Object(
  {
    commands: bool(false, 'Allow experiment steps to run VM stop/start hooks that are commands (run by the supervisor as its own user). Off by default: an admin token could otherwise run any program. Webhooks to loopback addresses are always allowed.'),
  },
  { additionalProperties: false, default: {}, description: 'Experiment VM hooks (docs/faults.md).' },
);

export const ReportsSchema = Type.Object(
  {
    keep: int(1, 10_000, 50, 'Experiment reports kept under run_dir/reports (HTML and JSON each); the oldest beyond this are removed.'),
    enabled: bool(true, 'Write a report when an experiment ends (completed, stopped or aborted).'),
  },
  { additionalProperties: false, default: {}, description: 'Experiment reports (docs/experiments.md).' },
);

export const LogSchema = Type.Object(
  { level: oneOf(LOG_LEVELS, { default: 'info', description: 'Log level.' }) },
  { additionalProperties: false, default: {}, description: 'Logging.' },
);

export const ConfigSchema = Type.Object(
  {
    mode: oneOf(MODES, { default: 'inline', description: 'inline forwards production traffic; tap only receives a copy of it.' }),
    dataplane: DataplaneSchema,
    ports: expect(
      Type.Array(PortSchema, { minItems: 1, maxItems: MAX_PORTS, description: 'Ports in order.' }),
      `a list of 1 to ${MAX_PORTS} ports`,
    ),
    shadow: ShadowSchema,
    translate: TranslateSchema,
    match: MatchSchema,
    sessions: SessionsSchema,
    targets: TargetsSchema,
    security: SecuritySchema,
    api: ApiSchema,
    run_dir: expect(
      Type.String({ minLength: 1, default: 'run', description: 'Directory for captures, pid file and state.' }),
      'a directory path',
    ),
    log: LogSchema,
    reliability: ReliabilitySchema,
    measurement: MeasurementSchema,
    fault_hooks: FaultHooksSchema,
    reports: ReportsSchema,
  },
  { additionalProperties: false, $id: 'ShadowtapConfig', description: 'shadowtap configuration.' },
);

/**
 * The policy section: the top-level keys PUT /v1/policy replaces as a whole
 * (and `shadowtap policy apply` sends). The rest of the configuration
 * (ports, data plane, API) needs a restart to change.
 */
export const POLICY_KEYS = ['translate', 'match', 'sessions', 'targets', 'security'] as const;
export type PolicyKey = (typeof POLICY_KEYS)[number];

export const PolicySchema = Type.Object(
  {
    translate: TranslateSchema,
    match: MatchSchema,
    sessions: SessionsSchema,
    targets: TargetsSchema,
    security: SecuritySchema,
  },
  { additionalProperties: false, $id: 'ShadowtapPolicy', description: 'The mirror policy: translation, sessions, targets and shadow security rules.' },
);

export type ConfigInput = Static<typeof ConfigSchema>;
export type PolicyInput = Static<typeof PolicySchema>;
export type PortConfig = Static<typeof PortSchema>;

export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A validated, defaulted, deeply frozen configuration. */
export type Config = DeepReadonly<ConfigInput>;
export type Port = DeepReadonly<PortConfig>;
/** The policy keys of a validated configuration. */
export type PolicySection = DeepReadonly<PolicyInput>;
