/**
 * netem's own parameter syntax (tc-netem(8), as iproute2's q_netem.c reads
 * it) turned into fault fields, so that an operator's tc habits carry over:
 *
 *   delay 20ms 5ms 25% distribution normal loss gemodel 1% 10% 70% 0.1%
 *   corrupt 0.1% duplicate 1% reorder 25% 50% gap 5 rate 1mbit 20 slot 800us 1ms
 *
 * Read as tc reads it: optional numbers follow their keyword while the next
 * word starts with a digit; a bare time is microseconds; the defaults tc
 * fills are filled here (gemodel r = 100 % - p, 1-h = 100 %, 1-k = 0; state
 * p31 = 100 % - p13, p32 = 0, p23 = 100 %, p14 = 0; gap 1 with reorder), and
 * tc's refusals are refusals here (reorder or distribution without a delay,
 * gap without reorder, ecn without loss, a keyword twice). Values keep their
 * text; src/faults/check.ts checks their ranges.
 */
import type { Fault } from './schema.js';
import { DISTRIBUTIONS } from './schema.js';
import { parseTime } from './units.js';

export type NetemFields = Pick<Fault, 'loss' | 'delay' | 'corrupt' | 'duplicate' | 'reorder' | 'rate' | 'slot' | 'limit' | 'seed'>;
export type NetemResult = { ok: true; fields: NetemFields } | { ok: false; message: string };

const isNumber = (w: string | undefined) => w !== undefined && /^[0-9.]/.test(w);
const isSigned = (w: string | undefined) => w !== undefined && /^-?[0-9]/.test(w);

/** A bare netem time is microseconds: give it its unit. */
function netemTime(w: string): string {
  return /^[0-9.]+$/.test(w) ? `${w}us` : w;
}

export function parseNetem(text: string): NetemResult {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const out: NetemFields = {};
  const seen = new Set<string>();
  let ecn = false;
  let gap: number | undefined;
  let i = 0;
  const fail = (message: string): NetemResult => ({ ok: false, message });
  // a keyword's value; undefined at the end (each caller names what is missing)
  const next = (_what: string): string | undefined => words[++i];
  const once = (kw: string): string | null => {
    if (seen.has(kw)) return `"${kw}" is given twice`;
    seen.add(kw);
    return null;
  };

  for (; i < words.length; i++) {
    const kw = words[i]!.toLowerCase();
    const twice = kw === 'ecn' || kw === 'help' ? null : once(kw === 'drop' ? 'loss' : kw === 'latency' ? 'delay' : kw);
    if (twice) return fail(twice);
    switch (kw) {
      case 'limit': {
        const v = next('limit');
        if (v === undefined || !/^[0-9]+$/.test(v)) return fail(`limit: "${v ?? ''}" is not a number of packets`);
        out.limit = Number(v);
        break;
      }
      case 'delay':
      case 'latency': {
        const t = next('delay');
        if (t === undefined || !isNumber(t)) return fail(`delay: "${t ?? ''}" is not a time such as 20ms`);
        out.delay = { time: netemTime(t), reorder: false };
        if (isNumber(words[i + 1])) {
          out.delay.jitter = netemTime(words[++i]!);
          if (isNumber(words[i + 1])) out.delay.correlation = words[++i]!;
        }
        break;
      }
      case 'distribution': {
        const d = next('distribution');
        if (d === undefined || !(DISTRIBUTIONS as readonly string[]).includes(d)) {
          return fail(`distribution: "${d ?? ''}" is not one of ${DISTRIBUTIONS.join(', ')} (custom tables go in the delay.distribution field)`);
        }
        (out as { _dist?: string })._dist = d;
        break;
      }
      case 'loss':
      case 'drop': {
        let w = next('loss');
        if (w === undefined) return fail('loss: a value is missing');
        if (w === 'random' || isNumber(w)) {
          if (w === 'random') w = next('loss random');
          if (w === undefined || !isNumber(w)) return fail(`loss random: "${w ?? ''}" is not a percentage`);
          out.loss = { model: 'random', percent: w, ecn: false };
          if (isNumber(words[i + 1])) out.loss.correlation = words[++i]!;
        } else if (w === 'gemodel') {
          const p = next('loss gemodel');
          if (p === undefined || !isNumber(p)) return fail(`loss gemodel: "${p ?? ''}" is not a percentage`);
          const v = [p];
          while (v.length < 4 && isNumber(words[i + 1])) v.push(words[++i]!);
          out.loss = { model: 'gemodel', p: v[0]!, ecn: false };
          if (v[1] !== undefined) out.loss.r = v[1];
          if (v[2] !== undefined) out.loss['1-h'] = v[2];
          if (v[3] !== undefined) out.loss['1-k'] = v[3];
        } else if (w === 'state') {
          const p = next('loss state');
          if (p === undefined || !isNumber(p)) return fail(`loss state: "${p ?? ''}" is not a percentage`);
          const v = [p];
          while (v.length < 5 && isNumber(words[i + 1])) v.push(words[++i]!);
          out.loss = { model: 'state', p13: v[0]!, ecn: false };
          if (v[1] !== undefined) out.loss.p31 = v[1];
          if (v[2] !== undefined) out.loss.p32 = v[2];
          if (v[3] !== undefined) out.loss.p23 = v[3];
          if (v[4] !== undefined) out.loss.p14 = v[4];
        } else {
          return fail(`loss: "${w}" is not a percentage, random, gemodel or state (loss traces are not supported)`);
        }
        break;
      }
      case 'ecn':
        ecn = true;
        break;
      case 'corrupt':
      case 'duplicate':
      case 'reorder': {
        const p = next(kw);
        if (p === undefined || !isNumber(p)) return fail(`${kw}: "${p ?? ''}" is not a percentage`);
        const f: { percent: string; correlation?: string } = { percent: p };
        if (isNumber(words[i + 1])) f.correlation = words[++i]!;
        if (kw === 'corrupt') out.corrupt = { ...f, bits: 1, offset: 0, fixChecksums: false };
        else if (kw === 'duplicate') out.duplicate = f;
        else out.reorder = { ...f, gap: 0 };
        break;
      }
      case 'gap': {
        const g = next('gap');
        if (g === undefined || !/^[0-9]+$/.test(g)) return fail(`gap: "${g ?? ''}" is not a number of packets`);
        gap = Number(g);
        break;
      }
      case 'rate': {
        const r = next('rate');
        if (r === undefined || !isNumber(r)) return fail(`rate: "${r ?? ''}" is not a rate such as 1mbit`);
        if (r.includes('%')) return fail('rate: a percentage of the device rate is not supported; give a rate such as 1mbit');
        out.rate = { rate: r, packetOverhead: 0, cellSize: 0, cellOverhead: 0, mode: 'shape' };
        if (isSigned(words[i + 1])) out.rate.packetOverhead = Number(words[++i]);
        if (isNumber(words[i + 1])) out.rate.cellSize = Number(words[++i]);
        if (isSigned(words[i + 1])) out.rate.cellOverhead = Number(words[++i]);
        for (const [k, v] of Object.entries({ packetOverhead: out.rate.packetOverhead, cellSize: out.rate.cellSize, cellOverhead: out.rate.cellOverhead })) {
          if (!Number.isInteger(v)) return fail(`rate: ${k} is not an integer`);
        }
        break;
      }
      case 'slot': {
        const a = next('slot');
        if (a === 'distribution') return fail('slot: "slot distribution" is not supported; give slot MIN [MAX] [packets N] [bytes B]');
        if (a === undefined || !isNumber(a)) return fail(`slot: "${a ?? ''}" is not a time`);
        out.slot = { min: netemTime(a), packets: 0 };
        if (isNumber(words[i + 1])) out.slot.max = netemTime(words[++i]!);
        while (words[i + 1] === 'packets' || words[i + 1] === 'bytes') {
          const which = words[++i]!;
          const v = next(`slot ${which}`);
          if (v === undefined || !isNumber(v)) return fail(`slot ${which}: "${v ?? ''}" is not a number`);
          if (which === 'packets') out.slot.packets = Number(v);
          else out.slot.bytes = v;
        }
        break;
      }
      case 'seed': {
        const s = next('seed');
        if (s === undefined || !/^[0-9]{1,20}$/.test(s)) return fail(`seed: "${s ?? ''}" is not a number`);
        out.seed = s;
        break;
      }
      default:
        return fail(`"${words[i]}" is not a netem parameter (limit, delay, distribution, loss, ecn, corrupt, duplicate, reorder, gap, rate, slot, seed)`);
    }
  }

  const dist = (out as { _dist?: string })._dist;
  delete (out as { _dist?: string })._dist;
  if (dist !== undefined) {
    if (!out.delay || out.delay.jitter === undefined) return fail('distribution: needs a delay with a jitter (as in tc)');
    out.delay.distribution = dist as (typeof DISTRIBUTIONS)[number];
  }
  if (out.reorder) {
    const t = out.delay === undefined ? undefined : parseTime(out.delay.time, 'us');
    if (t === undefined || (t.ok && t.value === 0)) return fail('reorder: reordering is not possible without a delay (as in tc)');
    out.reorder.gap = gap ?? 1;
  } else if (gap !== undefined && gap > 0) {
    return fail('gap: given without reorder (as in tc)');
  }
  if (ecn) {
    if (!out.loss) return fail('ecn: requested without a loss model (as in tc)');
    out.loss.ecn = true;
  }
  if (out.loss?.model === 'gemodel') {
    out.loss.r ??= `${100 - pct(out.loss.p)}%`;
    out.loss['1-h'] ??= '100%';
    out.loss['1-k'] ??= '0%';
  } else if (out.loss?.model === 'state') {
    out.loss.p31 ??= `${100 - pct(out.loss.p13)}%`;
    out.loss.p32 ??= '0%';
    out.loss.p23 ??= '100%';
    out.loss.p14 ??= '0%';
  }
  return { ok: true, fields: out };
}

function pct(v: unknown): number {
  return Number(String(v).replace(/%$/, ''));
}
