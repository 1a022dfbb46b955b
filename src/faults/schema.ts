/**
 * The fault schema: one source for fault documents, API bodies and (later)
 * OpenAPI. Names follow netem's where netem has the parameter (delay time
 * and jitter, correlation, distribution, loss random/gemodel/state with p, r,
 * 1-h, 1-k and p13..p14, ecn, corrupt, duplicate, reorder and gap, rate with
 * packetOverhead/cellSize/cellOverhead, slot, limit, seed).
 *
 * Times, percentages, rates and sizes accept netem's spellings ("20ms",
 * "1%", "1mbit", "64kb") or numbers (milliseconds, percent, bit/s, bytes);
 * their syntax and ranges are checked by src/faults/check.ts, which names
 * the field in every problem. A fault may instead be written in netem's own
 * syntax (`netem: "delay 20ms 5ms 25% distribution normal"`): it is parsed
 * by src/faults/netem.ts into these fields.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { bool, expect, int, oneOf } from '../policy/schema-helpers.js';
import { AddressesSchema, ID_PATTERN, PortSpecSchema } from '../policy/schema.js';

export const FAULT_KINDS = ['impair', 'blackhole', 'link_down'] as const;
export const LOSS_MODELS = ['random', 'gemodel', 'state'] as const;
export const DISTRIBUTIONS = ['uniform', 'normal', 'pareto', 'paretonormal'] as const;
export const RATE_MODES = ['shape', 'police'] as const;
export const FAULT_DIRECTIONS = ['any', 'rx', 'tx'] as const;
export const ADDRESS_SPACES = ['production', 'shadow'] as const;

/** Faults active at once (native ST_IMP_MAX_FAULTS). */
export const MAX_FAULTS = 64;
/** Prefixes per list after shadow addresses are written back (ST_IMP_MAX_PREFIXES). */
export const MAX_PREFIXES = 8;
/** Custom distribution table entries (ST_IMP_MAX_TABLE). */
export const MAX_TABLE = 65536;

const TIME_TEXT = 'a time such as "20ms", "1.5s" or "800us" (a number is milliseconds)';
const PERCENT_TEXT = 'a percentage from 0 to 100 such as 1.5 or "1.5%"';

const time = (description: string) =>
  expect(Type.Union([Type.Number(), Type.String({ maxLength: 32 })], { description }), TIME_TEXT);
const percent = (description: string) =>
  expect(Type.Union([Type.Number(), Type.String({ maxLength: 32 })], { description }), PERCENT_TEXT);
const opt = <T extends TSchema>(s: T) => Type.Optional(s);

export const FaultMatchSchema = Type.Object(
  {
    src: opt(AddressesSchema),
    dst: opt(AddressesSchema),
    host: expect(Type.Optional(AddressesSchema), 'an address or prefix, or a list: matches as source or destination (a VM)'),
    addressSpace: oneOf(ADDRESS_SPACES, { default: 'production', description: 'Whether src, dst and host are written in production addresses or in shadow (translated) ones; shadow ones are written back through the translate maps.' }),
    protocol: expect(Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 255 }), Type.String({ maxLength: 16 })], { description: 'IP protocol: tcp, udp, icmp, ... or a number.' })), 'a protocol name (tcp, udp, icmp, ...) or a number 0 to 255'),
    sport: opt(PortSpecSchema),
    dport: opt(PortSpecSchema),
    session: expect(Type.Optional(Type.Integer({ minimum: 1, maximum: 4294967295, description: 'A mirror session id: only its copies.' })), 'a session id'),
    port: expect(Type.Optional(Type.String({ maxLength: 32, description: 'A shadow port name: only copies sent to it (a link).' })), 'the name of a shadow port'),
    direction: oneOf(FAULT_DIRECTIONS, { default: 'any', description: 'Copies of packets received on their port (rx), forwarded out of it (tx), or both.' }),
  },
  { additionalProperties: false, default: {}, description: 'Which shadow copies the fault applies to; every field given must hold. Empty: every copy.' },
);

export const LossSchema = Type.Object(
  {
    model: oneOf(LOSS_MODELS, { default: 'random', description: 'random (independent, or correlated with `correlation`), gemodel (Gilbert-Elliott: p, r, 1-h, 1-k) or state (netem\'s 4-state Markov: p13, p31, p32, p23, p14).' }),
    percent: opt(percent('random: the loss probability.')),
    correlation: opt(percent('random: lag-1 correlation of successive loss decisions (the loss rate stays `percent`).')),
    p: opt(percent('gemodel: good to bad.')),
    r: opt(percent('gemodel: bad to good (default 100 % - p).')),
    '1-h': opt(percent('gemodel: loss probability in the bad state (default 100 %).')),
    '1-k': opt(percent('gemodel: loss probability in the good state (default 0).')),
    p13: opt(percent('state: gap to burst loss.')),
    p31: opt(percent('state: burst loss to gap (default 100 % - p13).')),
    p32: opt(percent('state: burst loss to burst transmit (default 0).')),
    p23: opt(percent('state: burst transmit to burst loss (default 100 %).')),
    p14: opt(percent('state: gap to isolated loss (default 0).')),
    ecn: bool(false, 'Mark ECN-capable packets CE instead of dropping them.'),
  },
  { additionalProperties: false, description: 'Packet loss.' },
);

export const DistributionSchema = expect(
  Type.Union([
    ...DISTRIBUTIONS.map((d) => Type.Literal(d)),
    Type.Object({ table: Type.Array(Type.Number(), { minItems: 2, maxItems: MAX_TABLE }) }, { additionalProperties: false }),
    Type.Object({ samples: Type.Array(Type.Number(), { minItems: 2, maxItems: 1_000_000 }) }, { additionalProperties: false }),
  ], { default: 'uniform', description: 'Shape of the jitter: uniform (netem\'s default: time +- jitter), normal, pareto, paretonormal, a table (standardised inverse CDF, non-decreasing, mean 0, sd 1) or samples of measured delays (made into a table).' }),
  `one of ${DISTRIBUTIONS.join(', ')}, {table: [...]} or {samples: [...]}`,
);

export const DelaySchema = Type.Object(
  {
    time: time('Constant delay.'),
    jitter: opt(time('uniform: half-width; other distributions: standard deviation.')),
    correlation: opt(percent('Lag-1 correlation of successive delays.')),
    distribution: Type.Optional(DistributionSchema),
    reorder: bool(false, 'false (default): a packet never leaves before the one matched before it; true: netem\'s jitter, each packet at its own time (reorders).'),
  },
  { additionalProperties: false, description: 'Delay and jitter.' },
);

const probability = (what: string) => Type.Object(
  { percent: percent(`Probability a packet is ${what}.`), correlation: opt(percent('Lag-1 correlation of successive decisions.')) },
  { additionalProperties: false },
);

export const CorruptSchema = Type.Object(
  {
    percent: percent('Probability a packet is corrupted.'),
    correlation: opt(percent('Lag-1 correlation of successive decisions.')),
    bits: int(1, 64, 1, 'Distinct bits flipped in a corrupted packet (netem: 1).'),
    offset: int(0, 65535, 0, 'First byte that may be flipped (0: the whole frame, as netem).'),
    fixChecksums: bool(false, 'Recompute IPv4, TCP and UDP checksums after the flips, so receivers see intact checksums over corrupted data.'),
  },
  { additionalProperties: false, description: 'Bit flips.' },
);

export const ReorderSchema = Type.Object(
  {
    percent: percent('Probability a packet is sent ahead of the delayed queue.'),
    correlation: opt(percent('Lag-1 correlation of successive decisions.')),
    gap: int(0, 1_000_000_000, 0, 'netem gap: after gap - 1 delayed packets (0 is 1).'),
  },
  { additionalProperties: false, description: 'Reordering (needs a delay).' },
);

export const RateSchema = Type.Object(
  {
    rate: expect(Type.Union([Type.Number(), Type.String({ maxLength: 32 })], { description: 'Link rate.' }), 'a rate such as "1mbit" or a number of bit/s'),
    packetOverhead: int(-65535, 65535, 0, 'Bytes added to (or taken from) each packet.'),
    cellSize: int(0, 65535, 0, 'Cell size in bytes (0: no cells).'),
    cellOverhead: int(-65535, 65535, 0, 'Bytes added to each cell.'),
    mode: oneOf(RATE_MODES, { default: 'shape', description: 'shape (netem: queued and paced) or police (token bucket: above the rate, dropped).' }),
    burst: expect(Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ maxLength: 32 })], { description: 'police: bucket size.' })), 'a size in bytes such as 3000 or "64kb"'),
  },
  { additionalProperties: false, description: 'Rate limit.' },
);

export const SlotSchema = Type.Object(
  {
    min: time('Shortest gap between slots.'),
    max: opt(time('Longest gap (default min).')),
    packets: int(0, 1_000_000_000, 0, 'Packets per slot (0: no limit).'),
    bytes: expect(Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ maxLength: 32 })])), 'a size in bytes'),
  },
  { additionalProperties: false, description: 'netem slotting: packets leave in bursts at slot times.' },
);

export const ScheduleSchema = Type.Object(
  {
    start: expect(Type.Optional(Type.String({ maxLength: 64, description: '"now" (default: when the fault is started) or an ISO 8601 time.' })), '"now" or an ISO 8601 time such as 2026-12-07T18:00:00Z'),
    end: expect(Type.Optional(Type.String({ maxLength: 64, description: 'An ISO 8601 time: armed until then (with `every`: no repetition starts after it).' })), 'an ISO 8601 time'),
    duration: opt(time('How long the fault stays armed (each time, with `every`).')),
    every: opt(time('Repeat: armed for `duration` every this long (from the start).')),
    times: expect(Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'With `every`: how many times (default: until stopped).' })), 'a whole number of repetitions from 1'),
  },
  { additionalProperties: false, description: 'When the fault is armed once started: from `start`, for `duration` (or until `end`, or until stopped), repeated `every` so long `times` times (or until stopped).' },
);

export const FaultSchema = Type.Object(
  {
    id: expect(Type.String({ pattern: ID_PATTERN, description: 'Fault name, unique; part of every random decision\'s key.' }), 'a name of 1 to 64 letters, digits, "_", "." or "-"'),
    description: expect(Type.Optional(Type.String({ maxLength: 200 })), 'a text of up to 200 characters'),
    kind: oneOf(FAULT_KINDS, { default: 'impair', description: 'impair (the netem actions), blackhole (a VM or prefix delivers nothing) or link_down (a shadow port delivers nothing).' }),
    match: FaultMatchSchema,
    netem: expect(Type.Optional(Type.String({ maxLength: 1000, description: 'The impairments in netem\'s syntax, instead of the fields below.' })), 'netem parameters such as "delay 20ms 5ms 25% distribution normal loss 1%"'),
    loss: Type.Optional(LossSchema),
    delay: Type.Optional(DelaySchema),
    corrupt: Type.Optional(CorruptSchema),
    duplicate: Type.Optional(probability('duplicated')),
    reorder: Type.Optional(ReorderSchema),
    rate: Type.Optional(RateSchema),
    slot: Type.Optional(SlotSchema),
    limit: expect(Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'Packets the fault may hold in the delay line; default sized from its delay at the line rate.' })), 'a number of packets from 1'),
    seed: expect(Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]{1,20}$' })], { description: 'This fault\'s seed (netem seed); default the experiment\'s.' })), 'a positive integer below 2^64'),
    schedule: Type.Optional(ScheduleSchema),
  },
  { additionalProperties: false },
);

export const FaultsSchema = expect(
  Type.Array(FaultSchema, { maxItems: MAX_FAULTS, description: 'Faults in evaluation order: the first whose match holds handles a copy.' }),
  `a list of up to ${MAX_FAULTS} faults`,
);

export type Fault = Static<typeof FaultSchema>;
export type FaultMatch = Static<typeof FaultMatchSchema>;
