/**
 * Fault documents checked once, in TypeScript, before anything reaches the
 * data plane: the schema (src/faults/schema.ts), then what a schema cannot
 * say, every problem naming its field (`faults[2].delay.time`) and what was
 * expected: negative or absurd times, percentages outside 0..100, an end
 * before a start, an unknown port or session (target), a distribution table
 * that is not a distribution, a delay the delay line cannot hold at the
 * configured rate, netem text that tc would refuse. Nothing is changed when
 * there is a problem.
 *
 * A fault that can match nothing (an IPv4 source with an IPv6 destination,
 * ports with a protocol that has none) is accepted and flagged.
 */
import { Type } from '@sinclair/typebox';
import { formatPath, schemaCheck, type Segment } from '../config/load.js';
import type { ConfigProblem } from '../errors.js';
import { listOf, parseCidr, parsePortSpec, parseProtocol, PORT_PROTOCOLS, type Cidr } from '../policy/fields.js';
import { distributionMax, tableFromSamples, tableProblem } from './distributions.js';
import { parseNetem } from './netem.js';
import { ANY16, DIST, FAULT_KIND, IMP_DIR, LOSS_MODEL, RATE_MODE, type NativeFaultConf, type NativeImpPrefix } from './native-types.js';
import { FaultsSchema, MAX_PREFIXES, type Fault } from './schema.js';
import { parsePercent, parseRate, parseSize, parseTime, type Unit } from './units.js';

/** What the faults refer to and the delay line they must fit in. */
export interface FaultContext {
  /** plan ports in plan order (index = plan index) */
  ports: readonly { name: string; role: string }[];
  /** policy session id -> counter slot */
  sessions: ReadonlyMap<number, number>;
  /** translate prefix maps, production -> shadow, same length */
  maps: readonly { from: string; to: string }[];
  /** per worker: the packet rate the line is sized for, its size, the wheel's reach */
  line: { pps: number; capacity: number; wheelSpanMs: number };
}

export interface CheckedFault {
  id: string;
  /** the native description without id, epoch and slot (compile.ts adds them) */
  native: Omit<NativeFaultConf, 'id' | 'epoch' | 'slot'>;
  schedule: { startMs?: number; endMs?: number; durationNs?: number; everyNs?: number; times?: number };
  /** packets the fault may hold (after defaults), 0 when it holds none */
  limit: number;
}

export interface FaultCheck {
  faults?: CheckedFault[];
  problems: ConfigProblem[];
  /** accepted, but worth a look: a fault that can match nothing */
  flags: ConfigProblem[];
}

const IMPAIRMENTS = ['loss', 'delay', 'corrupt', 'duplicate', 'reorder', 'rate', 'slot', 'limit', 'seed'] as const;
const MAX_TIME_NS = 60e9;
const MAX_SCHEDULE_NS = 366 * 86400e9;

function prefixOf(c: Cidr): NativeImpPrefix {
  return { addr: c.addr, len: c.len, v4: c.family === 4 };
}

function within(inner: Cidr, outer: Cidr): boolean {
  if (inner.family !== outer.family || inner.len < outer.len) return false;
  for (let bit = 0; bit < outer.len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((inner.addr[bit >> 3]! & m) !== (outer.addr[bit >> 3]! & m)) return false;
  }
  return true;
}

/**
 * Shadow prefixes written back into production ones through the maps: the
 * part inside a map's shadow side becomes the same part of its production
 * side; a prefix not wholly inside one map is also kept as it is (an
 * address outside every map is mirrored untranslated).
 */
export function toProduction(c: Cidr, maps: readonly { from: Cidr; to: Cidr }[]): Cidr[] {
  const out: Cidr[] = [];
  for (const m of maps) {
    if (within(c, m.to)) {
      const addr = new Uint8Array(c.addr);
      for (let bit = 0; bit < m.to.len; bit++) {
        const mask = 0x80 >> (bit & 7);
        addr[bit >> 3] = (addr[bit >> 3]! & ~mask) | (m.from.addr[bit >> 3]! & mask);
      }
      return [{ ...c, addr, text: `${c.text} (shadow)` }];
    }
    if (within(m.to, c)) out.push(m.from);
  }
  out.push(c);
  return out;
}

export function checkFaults(raw: unknown, ctx: FaultContext): FaultCheck {
  const problems: ConfigProblem[] = [];
  const flags: ConfigProblem[] = [];
  const add = (segs: Segment[], message: string) => problems.push({ path: formatPath(segs), message });
  const flag = (segs: Segment[], message: string) => flags.push({ path: formatPath(segs), message });

  const { value, problems: schemaProblems } = schemaCheck(Type.Object({ faults: FaultsSchema }), { faults: raw });
  problems.push(...schemaProblems.map(({ path, message }) => ({ path, message })));
  if (problems.length > 0) return { problems, flags };
  const docs = value['faults'] as Fault[];

  const maps: { from: Cidr; to: Cidr }[] = [];
  for (const m of ctx.maps) {
    const from = parseCidr(m.from);
    const to = parseCidr(m.to);
    if (from.ok && to.ok) maps.push({ from: from.value, to: to.value });
  }
  const ids = new Set<string>();
  const out: CheckedFault[] = [];
  let held = 0;

  docs.forEach((doc, i) => {
    const at = (...s: Segment[]): Segment[] => ['faults', i, ...s];
    const before = problems.length;
    let f: Fault = doc;
    if (ids.has(f.id)) add(at('id'), `"${f.id}" is used by an earlier fault; expected a unique id`);
    ids.add(f.id);

    if (f.netem !== undefined) {
      const given = IMPAIRMENTS.filter((k) => f[k] !== undefined);
      if (given.length > 0) add(at('netem'), `give the impairments either as netem text or as fields, not both (also given: ${given.join(', ')})`);
      const r = parseNetem(f.netem);
      if (!r.ok) add(at('netem'), r.message);
      else f = { ...f, ...r.fields };
    }
    if (f.kind !== 'impair') {
      const given = IMPAIRMENTS.filter((k) => f[k] !== undefined && k !== 'seed' && k !== 'limit');
      if (given.length > 0) add(at('kind'), `a ${f.kind} drops every packet it matches; ${given.join(', ')} would never apply`);
      if (f.kind === 'link_down' && f.match.port === undefined) add(at('match', 'port'), 'link_down needs the shadow port (the link) that goes down');
    }

    const num = <T>(r: Unit<T>, segs: Segment[], dflt: T): T => {
      if (r.ok) return r.value;
      add(segs, r.message);
      return dflt;
    };
    const pct = (v: unknown, segs: Segment[]): number => (v === undefined ? 0 : num(parsePercent(v), segs, 0));
    const corr = (v: unknown, segs: Segment[]): number => {
      const c = pct(v, segs);
      if (c >= 1) add(segs, 'a correlation of 100 % would repeat one decision forever; expected below 100 %');
      return c;
    };
    const time = (v: unknown, segs: Segment[]): number => {
      const t = v === undefined ? 0 : num(parseTime(v), segs, 0);
      if (t > MAX_TIME_NS) add(segs, `${String(v)} is over 60 s; expected a shorter time`);
      return t;
    };

    // ---- match
    const m = f.match;
    const prefixes = (field: 'src' | 'dst' | 'host'): NativeImpPrefix[] => {
      const list = listOf(m[field]);
      const res: Cidr[] = [];
      list.forEach((text, j) => {
        const segs = Array.isArray(m[field]) ? at('match', field, j) : at('match', field);
        const c = parseCidr(text);
        if (!c.ok) return add(segs, c.message);
        res.push(...(m.addressSpace === 'shadow' ? toProduction(c.value, maps) : [c.value]));
      });
      if (res.length > MAX_PREFIXES) add(at('match', field), `${res.length} prefixes${m.addressSpace === 'shadow' ? ' after writing shadow addresses back through the maps' : ''}; at most ${MAX_PREFIXES}`);
      return res.map(prefixOf);
    };
    const src = prefixes('src');
    const dst = prefixes('dst');
    const hosts = prefixes('host');
    let proto = 0;
    if (m.protocol !== undefined) {
      const p = parseProtocol(m.protocol);
      if (!p.ok) add(at('match', 'protocol'), p.message);
      else proto = p.value;
    }
    const range = (field: 'sport' | 'dport'): [number, number] => {
      if (m[field] === undefined) return [0, 65535];
      const r = parsePortSpec(m[field]!);
      if (!r.ok) {
        add(at('match', field), r.message);
        return [0, 65535];
      }
      return [r.value[0], r.value[1]];
    };
    const [sportLo, sportHi] = range('sport');
    const [dportLo, dportHi] = range('dport');
    let port = ANY16;
    if (m.port !== undefined) {
      const shadow = ctx.ports.map((p, k) => ({ ...p, k })).filter((p) => p.role === 'shadow');
      const hit = shadow.find((p) => p.name === m.port);
      if (!hit) add(at('match', 'port'), `"${m.port}" is not a shadow port; expected one of ${shadow.map((p) => p.name).join(', ') || '(none configured)'}`);
      else port = hit.k;
    }
    let session = ANY16;
    if (m.session !== undefined) {
      const slot = ctx.sessions.get(m.session);
      if (slot === undefined) add(at('match', 'session'), `session ${m.session} does not exist; expected one of ${[...ctx.sessions.keys()].join(', ') || '(no sessions)'}`);
      else session = slot;
    }
    const fams = (l: NativeImpPrefix[]) => new Set(l.map((p) => (p.v4 ? 4 : 6)));
    const fs = fams(src);
    const fd = fams(dst);
    if (fs.size === 1 && fd.size === 1 && [...fs][0] !== [...fd][0]) flag(at('match'), 'src and dst are of different IP versions: this fault matches nothing');
    if ((m.sport !== undefined || m.dport !== undefined) && proto !== 0 && !PORT_PROTOCOLS.has(proto)) flag(at('match'), `protocol ${proto} has no ports: this fault matches nothing`);

    // ---- loss
    const loss: [number, number, number, number, number] = [0, 0, 0, 0, 0];
    let lossModel: number = LOSS_MODEL.none;
    let lossCorr = 0;
    const l = f.loss;
    if (l !== undefined) {
      const foreign = (names: readonly string[]) => {
        for (const k of names) if ((l as Record<string, unknown>)[k] !== undefined) add(at('loss', k), `${k} belongs to another loss model than ${l.model}`);
      };
      const need = (k: string) => {
        if ((l as Record<string, unknown>)[k] === undefined) add(at('loss', k), `loss model ${l.model} needs ${k}`);
      };
      const gv = (k: keyof typeof l, dflt: number) => ((l[k] as unknown) === undefined ? dflt : pct(l[k], at('loss', k)));
      if (l.model === 'random') {
        lossModel = LOSS_MODEL.random;
        need('percent');
        foreign(['p', 'r', '1-h', '1-k', 'p13', 'p31', 'p32', 'p23', 'p14']);
        loss[0] = pct(l.percent, at('loss', 'percent'));
        lossCorr = corr(l.correlation, at('loss', 'correlation'));
      } else if (l.model === 'gemodel') {
        lossModel = LOSS_MODEL.gemodel;
        need('p');
        foreign(['percent', 'correlation', 'p13', 'p31', 'p32', 'p23', 'p14']);
        loss[0] = gv('p', 0);
        loss[1] = gv('r', 1 - loss[0]);
        loss[2] = gv('1-h', 1);
        loss[3] = gv('1-k', 0);
      } else {
        lossModel = LOSS_MODEL.state;
        need('p13');
        foreign(['percent', 'correlation', 'p', 'r', '1-h', '1-k']);
        loss[0] = gv('p13', 0);
        loss[1] = gv('p31', 1 - loss[0]);
        loss[2] = gv('p32', 0);
        loss[3] = gv('p23', 1);
        loss[4] = gv('p14', 0);
        if (loss[0] + loss[4] > 1) add(at('loss', 'p14'), `p13 + p14 is ${((loss[0] + loss[4]) * 100).toFixed(3)} %: the ways out of state 1 exceed 100 %`);
        if (loss[1] + loss[2] > 1) add(at('loss', 'p32'), `p31 + p32 is ${((loss[1] + loss[2]) * 100).toFixed(3)} %: the ways out of state 3 exceed 100 %`);
      }
    }

    // ---- delay
    const d = f.delay;
    const delayNs = d ? time(d.time, at('delay', 'time')) : 0;
    let jitterNs = d?.jitter !== undefined ? time(d.jitter, at('delay', 'jitter')) : 0;
    const delayCorr = d ? corr(d.correlation, at('delay', 'correlation')) : 0;
    let dist: number = DIST.uniform;
    let table: Float64Array | null = null;
    let distName = 'uniform';
    if (d?.distribution !== undefined) {
      const dd = d.distribution;
      if (typeof dd === 'string') {
        dist = DIST[dd];
        distName = dd;
      } else if ('table' in dd) {
        const p = tableProblem(dd.table);
        if (p) add(at('delay', 'distribution', 'table'), p);
        table = Float64Array.from(dd.table);
        dist = DIST.custom;
        distName = 'custom';
      } else {
        const r = tableFromSamples(dd.samples);
        if (typeof r === 'string') add(at('delay', 'distribution', 'samples'), r);
        else {
          table = Float64Array.from(r.table);
          if (d.jitter === undefined) jitterNs = Math.round(r.sd * 1e6);   // samples are milliseconds
        }
        dist = DIST.custom;
        distName = 'custom';
      }
      if (jitterNs === 0 && d.jitter !== undefined) add(at('delay', 'distribution'), 'a distribution shapes the jitter: give a jitter above 0');
    }
    const reorderJitter = d?.reorder === true && jitterNs > 0;

    // ---- corrupt, duplicate, reorder
    const c = f.corrupt;
    const rd = f.reorder;
    if (rd !== undefined && delayNs === 0) add(at('reorder', 'percent'), 'reordering sends some packets ahead of delayed ones: it needs delay.time above 0 (as in netem)');

    // ---- rate and slot
    const r = f.rate;
    const rateBps = r ? num(parseRate(r.rate), at('rate', 'rate'), 0) : 0;
    const burstBytes = r?.burst !== undefined ? num(parseSize(r.burst), at('rate', 'burst'), 0) : 0;
    if (r && r.mode === 'shape' && r.burst !== undefined) add(at('rate', 'burst'), 'a burst applies to police mode only');
    const s = f.slot;
    const slotMinNs = s ? time(s.min, at('slot', 'min')) : 0;
    const slotMaxNs = s?.max !== undefined ? time(s.max, at('slot', 'max')) : slotMinNs;
    if (s && slotMaxNs < slotMinNs) add(at('slot', 'max'), `${String(s.max)} ends before slot.min (${String(s.min)}); expected max >= min`);
    const slotBytes = s?.bytes !== undefined ? num(parseSize(s.bytes), at('slot', 'bytes'), 0) : 0;
    if (reorderJitter && ((r && r.mode === 'shape') || s)) add(at('delay', 'reorder'), 'reordering jitter cannot be combined with rate shaping or slotting, which pace packets in order');

    // ---- seed and schedule
    let seed = 0n;
    if (f.seed !== undefined) {
      seed = BigInt(f.seed);
      if (seed <= 0n || seed >= 2n ** 64n) add(at('seed'), `${String(f.seed)} is outside 1 to 2^64 - 1`);
    }
    const schedule: CheckedFault['schedule'] = {};
    if (f.schedule) {
      const sc = f.schedule;
      const when = (v: string | undefined, k: string): number | undefined => {
        if (v === undefined || v === 'now') return undefined;
        const ms = Date.parse(v);
        if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(v)) add(at('schedule', k), `"${v}" is not an ISO 8601 time such as 2026-12-07T18:00:00Z${k === 'start' ? ' or "now"' : ''}`);
        return Number.isNaN(ms) ? undefined : ms;
      };
      const startMs = when(sc.start, 'start');
      const endMs = when(sc.end, 'end');
      if (startMs !== undefined) schedule.startMs = startMs;
      if (endMs !== undefined) schedule.endMs = endMs;
      // Schedules run for minutes or days: their own bound, not the impairments' 60 s.
      const span = (v: unknown, k: string): number => {
        const t = num(parseTime(v), at('schedule', k), 0);
        if (t <= 0) add(at('schedule', k), `${String(v)} is not above 0; expected a time such as "30s"`);
        else if (t > MAX_SCHEDULE_NS) add(at('schedule', k), `${String(v)} is over 366 days; expected a shorter time`);
        return t;
      };
      if (sc.duration !== undefined) schedule.durationNs = span(sc.duration, 'duration');
      if (sc.every !== undefined) schedule.everyNs = span(sc.every, 'every');
      if (sc.times !== undefined) schedule.times = sc.times;
      if (endMs !== undefined && sc.duration !== undefined && sc.every === undefined) add(at('schedule', 'end'), 'give an end or a duration, not both (with `every`, the end bounds the repetitions)');
      if (sc.every !== undefined && sc.duration === undefined) add(at('schedule', 'duration'), 'a repetition (every) needs the duration each one lasts');
      if (sc.times !== undefined && sc.every === undefined) add(at('schedule', 'times'), 'times counts repetitions: give `every` too');
      if (schedule.everyNs !== undefined && schedule.durationNs !== undefined && schedule.durationNs > 0 && schedule.everyNs <= schedule.durationNs) {
        add(at('schedule', 'every'), `${String(sc.every)} is not longer than the duration (${String(sc.duration)}): the fault would never be disarmed between repetitions; expected every > duration`);
      }
      const startRef = startMs ?? (sc.start === undefined || sc.start === 'now' ? Date.now() : undefined);
      if (endMs !== undefined && startRef !== undefined && endMs <= startRef) add(at('schedule', 'end'), `${sc.end} is not after the start (${sc.start ?? 'now'}); expected an end after the start`);
    }

    // ---- the delay line: the same sizing as impair_ctl.c
    const delays = f.kind === 'impair' && (delayNs > 0 || jitterNs > 0 || (r?.mode === 'shape') || s !== undefined);
    let limit = 0;
    if (delays && problems.length === before) {
      const top = distributionMax(distName, table ? [...table] : undefined);
      const maxNs = delayNs + jitterNs * top + slotMaxNs;
      limit = f.limit ?? Math.max(1, Math.ceil((maxNs / 1e9) * ctx.line.pps) + (r?.mode === 'shape' ? 1024 : 0));
      const field = at(f.limit !== undefined ? 'limit' : 'delay');
      if (f.limit === undefined && field.at(-1) === 'delay') field.push('time');
      if (limit > ctx.line.capacity) {
        add(field, `the delay line cannot hold this delay: up to ${(maxNs / 1e6).toFixed(3)} ms at ${ctx.line.pps} packets/s needs ${limit} packets, the line holds ${ctx.line.capacity}`);
      } else if (held + limit > ctx.line.capacity) {
        add(field, `the delay line cannot hold this fault too: it needs ${limit} packets, ${held} of the line's ${ctx.line.capacity} are taken by the faults before it`);
      }
      held += limit;
      if (reorderJitter && delayNs + jitterNs * top > 0.9 * ctx.line.wheelSpanMs * 1e6) {
        add(at('delay', 'jitter'), `reordering jitter reaches ${((delayNs + jitterNs * top) / 1e6).toFixed(3)} ms, beyond 90 % of the timing wheel's ${ctx.line.wheelSpanMs} ms`);
      }
    }
    if (problems.length > before) return;

    out.push({
      id: f.id,
      schedule,
      limit,
      native: {
        seed,
        kind: FAULT_KIND[f.kind],
        match: {
          src, dst, hosts,
          ipVersion: 0,
          proto, sportLo, sportHi, dportLo, dportHi, session, port,
          dir: IMP_DIR[m.direction],
        },
        lossModel, loss, lossCorr,
        ecn: l?.ecn === true,
        delayNs, jitterNs, delayCorr, dist, reorderJitter, table,
        corrupt: c ? pct(c.percent, at('corrupt', 'percent')) : 0,
        corruptCorr: c ? corr(c.correlation, at('corrupt', 'correlation')) : 0,
        corruptBits: c?.bits ?? 1,
        corruptOffset: c?.offset ?? 0,
        corruptFixCsum: c?.fixChecksums === true,
        duplicate: f.duplicate ? pct(f.duplicate.percent, at('duplicate', 'percent')) : 0,
        duplicateCorr: f.duplicate ? corr(f.duplicate.correlation, at('duplicate', 'correlation')) : 0,
        reorder: rd ? pct(rd.percent, at('reorder', 'percent')) : 0,
        reorderCorr: rd ? corr(rd.correlation, at('reorder', 'correlation')) : 0,
        gap: rd ? Math.max(1, rd.gap) : 0,
        rateMode: r ? RATE_MODE[r.mode] : RATE_MODE.none,
        rateBps,
        overhead: r?.packetOverhead ?? 0,
        cellSize: r?.cellSize ?? 0,
        cellOverhead: r?.cellOverhead ?? 0,
        burstBytes,
        slotMinNs, slotMaxNs,
        slotPackets: s?.packets ?? 0,
        slotBytes,
        limit: f.limit ?? 0,
      },
    });
  });
  return problems.length > 0 ? { problems, flags } : { faults: out, problems, flags };
}
