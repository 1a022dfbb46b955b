/**
 * netem's units, read the way tc reads them: times (tc get_time: a bare
 * number is microseconds there; in fault documents a bare number is
 * milliseconds), percentages, rates (tc get_rate: "kbit" is 1,000 bit/s,
 * "kbps" is 1,000 bytes/s, "kibit" 1,024 bit/s) and sizes. Each parser
 * returns the value or a message saying what was expected.
 */

export type Unit<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Unit<T> => ({ ok: true, value });
const bad = <T>(message: string): Unit<T> => ({ ok: false, message });

const TIME_UNITS: Readonly<Record<string, number>> = {
  h: 3600e9, hour: 3600e9, hours: 3600e9,
  min: 60e9, mins: 60e9,
  s: 1e9, sec: 1e9, secs: 1e9,
  ms: 1e6, msec: 1e6, msecs: 1e6,
  us: 1e3, usec: 1e3, usecs: 1e3,
  ns: 1, nsec: 1, nsecs: 1,
};

/**
 * A duration in nanoseconds: "20ms", "1.5s", "800us", "250ns", or a number
 * of `bareUnit` (milliseconds in documents, microseconds in netem text).
 */
export function parseTime(v: unknown, bareUnit: 'ms' | 'us' = 'ms'): Unit<number> {
  let ns: number;
  if (typeof v === 'number') {
    ns = v * (bareUnit === 'ms' ? 1e6 : 1e3);
  } else if (typeof v === 'string') {
    const m = /^(-?[0-9]+(?:\.[0-9]+)?)([a-z]*)$/.exec(v.trim());
    const unit = m?.[2] === '' ? bareUnit : m?.[2];
    if (!m || unit === undefined || TIME_UNITS[unit] === undefined) {
      return bad(`"${v}" is not a time; expected a number with a unit such as 20ms, 1.5s, 800us or 250ns`);
    }
    ns = Number(m[1]) * TIME_UNITS[unit]!;
  } else {
    return bad(`expected a time such as "20ms" (a bare number is ${bareUnit === 'ms' ? 'milliseconds' : 'microseconds'})`);
  }
  if (!Number.isFinite(ns)) return bad(`${String(v)} is not a finite time`);
  if (ns < 0) return bad(`${String(v)} is negative; expected a time of 0 or more`);
  return ok(Math.round(ns));
}

/** A percentage as a fraction 0..1: 1.5 or "1.5%" is 0.015. */
export function parsePercent(v: unknown): Unit<number> {
  let pct: number;
  if (typeof v === 'number') {
    pct = v;
  } else if (typeof v === 'string' && /^-?[0-9]+(\.[0-9]+)?%?$/.test(v.trim())) {
    pct = Number(v.trim().replace(/%$/, ''));
  } else {
    return bad(`expected a percentage from 0 to 100 such as 1.5 or "1.5%"`);
  }
  if (!Number.isFinite(pct) || pct < 0 || pct > 100) return bad(`${String(v)} is outside 0 to 100 %`);
  return ok(pct / 100);
}

const RATE_UNITS: Readonly<Record<string, number>> = {
  bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12,
  kibit: 1024, mibit: 1024 ** 2, gibit: 1024 ** 3, tibit: 1024 ** 4,
  bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12,
  kibps: 8 * 1024, mibps: 8 * 1024 ** 2, gibps: 8 * 1024 ** 3, tibps: 8 * 1024 ** 4,
};

/** A rate in bit/s: "1mbit", "100kbit", "1gbps" (bytes), or a number of bit/s. */
export function parseRate(v: unknown): Unit<number> {
  let bps: number;
  if (typeof v === 'number') {
    bps = v;
  } else if (typeof v === 'string') {
    const m = /^([0-9]+(?:\.[0-9]+)?)([a-z]*)$/i.exec(v.trim());
    const unit = m?.[2] === '' ? 'bit' : m?.[2]?.toLowerCase();
    if (!m || unit === undefined || RATE_UNITS[unit] === undefined) {
      return bad(`"${v}" is not a rate; expected e.g. 1mbit, 100kbit, 10gbit (bits) or 1mbps (bytes) per second`);
    }
    bps = Number(m[1]) * RATE_UNITS[unit]!;
  } else {
    return bad('expected a rate such as "1mbit"');
  }
  if (!Number.isFinite(bps) || bps < 8 || bps > 1e12) return bad(`${String(v)} is outside 8 bit/s to 1 Tbit/s`);
  return ok(Math.round(bps));
}

const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** A size in bytes: 1500, "64kb" (tc's get_size: k = 1,024). */
export function parseSize(v: unknown): Unit<number> {
  let n: number;
  if (typeof v === 'number') {
    n = v;
  } else if (typeof v === 'string') {
    const m = /^([0-9]+)([a-z]*)$/i.exec(v.trim());
    const unit = m?.[2] === '' ? 'b' : m?.[2]?.toLowerCase();
    if (!m || unit === undefined || SIZE_UNITS[unit] === undefined) return bad(`"${v}" is not a size; expected bytes such as 1500 or 64kb`);
    n = Number(m[1]) * SIZE_UNITS[unit]!;
  } else {
    return bad('expected a size in bytes such as 1500 or "64kb"');
  }
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 40) return bad(`${String(v)} is not a size from 0 to 1 TiB`);
  return ok(n);
}
