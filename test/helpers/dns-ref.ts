/**
 * An independent reference for the DNS translation of shadow copies
 * (native/dataplane/stages/rewrite_dns.h says what it does), written from
 * that specification in TypeScript for referenceShadow(): what a DNS, mDNS
 * or LLMNR payload becomes, or why it cannot be translated.
 */
export interface RefMap {
  from: string;
  to: string;
  len: number;
}

type Lookup = (addr: Buffer, v6: boolean) => { to: Buffer; len: number } | null;

/** Longest-prefix match over the maps (host bits kept). */
export function refLookup(map4: ReadonlyArray<{ from: Buffer; to: Buffer; len: number }>, map6: ReadonlyArray<{ from: Buffer; to: Buffer; len: number }>): Lookup {
  return (a, v6) => {
    let best: { from: Buffer; to: Buffer; len: number } | null = null;
    for (const m of v6 ? map6 : map4) {
      if (best && best.len >= m.len) continue;
      let ok = true;
      for (let bit = 0; bit < m.len && ok; bit++) {
        const mask = 0x80 >> (bit & 7);
        ok = ((a[bit >> 3]! ^ m.from[bit >> 3]!) & mask) === 0;
      }
      if (ok) best = m;
    }
    if (!best) return null;
    const out = Buffer.from(a);
    for (let bit = 0; bit < best.len; bit++) {
      const mask = 0x80 >> (bit & 7);
      out[bit >> 3] = (out[bit >> 3]! & ~mask) | (best.to[bit >> 3]! & mask);
    }
    return { to: out, len: best.len };
  };
}

export type DnsRefResult = { edits: Array<{ off: number; bytes: Buffer }> } | { reason: string };

class Fail extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Translate the DNS payload [s, e) of frame f in place on a copy; offsets are absolute. */
export function dnsRef(f: Buffer, s: number, e: number, tcp: boolean, lookup: Lookup): DnsRefResult {
  const edits = new Map<number, Buffer>();
  const edit = (off: number, b: Buffer): void => {
    if (f.subarray(off, off + b.length).equals(b)) return;
    for (const [o, x] of edits) {
      if (off < o + x.length && o < off + b.length) {
        if (o === off && x.equals(b)) return;
        throw new Fail('unsupported');
      }
    }
    if (edits.size >= 64) throw new Fail('unsupported');
    edits.set(off, b);
  };
  const addr = (off: number, v6: boolean): void => {
    const r = lookup(f.subarray(off, off + (v6 ? 16 : 4)), v6);
    if (r) edit(off, r.to);
  };
  const msg = (m: number, end: number): void => {
    const names = (p0: number): { next: number; labels: Array<[number, number]> } => {
      let i = p0;
      let after = 0;
      let total = 1;
      let ptrs = 0;
      const labels: Array<[number, number]> = [];
      for (;;) {
        if (i >= end) throw new Fail('malformed');
        const l = f[i]!;
        if ((l & 0xc0) === 0xc0) {
          if (i + 2 > end || ++ptrs > 64) throw new Fail('malformed');
          const to = m + (((l & 0x3f) << 8) | f[i + 1]!);
          if (to >= i) throw new Fail('malformed');
          if (after === 0) after = i + 2;
          i = to;
          continue;
        }
        if (l & 0xc0) throw new Fail('malformed');
        if (l === 0) return { next: after || i + 1, labels };
        total += 1 + l;
        if (total > 255 || i + 1 + l > end) throw new Fail('malformed');
        if (labels.length < 128) labels.push([i + 1, l]);
        i += 1 + l;
      }
    };
    const text = (x: [number, number]): string => f.subarray(x[0], x[0] + x[1]).toString('latin1').toLowerCase();
    const owner = (p: number): number => {
      const { next, labels } = names(p);
      const n = labels.length;
      if (n < 3 || text(labels[n - 1]!) !== 'arpa') return next;
      const sfx = text(labels[n - 2]!);
      if (sfx !== 'in-addr' && sfx !== 'ip6') return next;
      const v4 = sfx === 'in-addr';
      const addrLabels: Array<[number, number]> = [];
      while (addrLabels.length < (v4 ? 4 : 32) && addrLabels.length + 2 < n) {
        const lab = labels[n - 3 - addrLabels.length]!;
        const t = text(lab);
        if (v4 ? !/^(0|[1-9][0-9]{0,2})$/.test(t) || Number(t) > 255 : !/^[0-9a-f]$/.test(t)) break;
        addrLabels.push(lab);
      }
      const k = addrLabels.length;
      if (k === 0) return next;
      const a = Buffer.alloc(v4 ? 4 : 16);
      addrLabels.forEach((lab, j) => {
        if (v4) a[j] = Number(text(lab));
        else a[j >> 1]! |= parseInt(text(lab), 16) << (j & 1 ? 0 : 4);
      });
      const r = lookup(a, !v4);
      if (!r) return next;
      if (r.len > (v4 ? 8 * k : 4 * k)) throw new Fail('prefix_length');
      addrLabels.forEach((lab, j) => {
        if (v4) {
          const s2 = String(r.to[j]);
          if (s2.length !== lab[1]) throw new Fail('name_length');
          edit(lab[0], Buffer.from(s2, 'latin1'));
        } else {
          const nib = j & 1 ? r.to[j >> 1]! & 15 : r.to[j >> 1]! >> 4;
          if (parseInt(text(lab), 16) !== nib) edit(lab[0], Buffer.from(nib.toString(16), 'latin1'));
        }
      });
      return next;
    };
    if (end - m < 12) throw new Fail('malformed');
    const qd = f.readUInt16BE(m + 4);
    const rr = f.readUInt16BE(m + 6) + f.readUInt16BE(m + 8) + f.readUInt16BE(m + 10);
    let p = m + 12;
    for (let i = 0; i < qd; i++) {
      p = owner(p);
      if (p + 4 > end) throw new Fail('malformed');
      p += 4;
    }
    for (let i = 0; i < rr; i++) {
      p = owner(p);
      if (p + 10 > end) throw new Fail('malformed');
      const type = f.readUInt16BE(p);
      const inClass = (f.readUInt16BE(p + 2) & 0x7fff) === 1;
      const len = f.readUInt16BE(p + 8);
      p += 10;
      if (p + len > end) throw new Fail('malformed');
      if ((type === 1 || type === 28 || type === 11) && inClass) {
        if (type === 1 ? len !== 4 : type === 28 ? len !== 16 : len < 5) throw new Fail('malformed');
        addr(p, type === 28);
      } else if (type === 41) {
        for (let s2 = p; s2 < p + len; ) {
          if (s2 + 4 > p + len) throw new Fail('malformed');
          const code = f.readUInt16BE(s2);
          const olen = f.readUInt16BE(s2 + 2);
          if (s2 + 4 + olen > p + len) throw new Fail('malformed');
          if (code === 8) {
            if (olen < 4) throw new Fail('malformed');
            const fam = f.readUInt16BE(s2 + 4);
            const src = f[s2 + 6]!;
            if (fam !== 1 && fam !== 2) throw new Fail('unsupported');
            const nb = Math.ceil(src / 8);
            if (src > (fam === 1 ? 32 : 128) || olen !== 4 + nb) throw new Fail('malformed');
            if (nb > 0) {
              const a = Buffer.alloc(fam === 1 ? 4 : 16);
              f.copy(a, 0, s2 + 8, s2 + 8 + nb);
              const r = lookup(a, fam === 2);
              if (r && r.len > src) throw new Fail('prefix_length');
              if (r) edit(s2 + 8, r.to.subarray(0, nb));
            }
          }
          s2 += 4 + olen;
        }
      } else if (type === 64 || type === 65) {
        const e2 = p + len;
        if (p + 2 > e2) throw new Fail('malformed');
        // the target name, inside the rdata (names() reads msg's `end`)
        let s2 = p + 2;
        const saveEnd = end;
        end = e2;
        try {
          s2 = names(s2).next;
        } finally {
          end = saveEnd;
        }
        while (s2 < e2) {
          if (s2 + 4 > e2) throw new Fail('malformed');
          const key = f.readUInt16BE(s2);
          const vlen = f.readUInt16BE(s2 + 2);
          if (s2 + 4 + vlen > e2) throw new Fail('malformed');
          const w = key === 4 ? 4 : key === 6 ? 16 : 0;
          if (w && (vlen === 0 || vlen % w)) throw new Fail('malformed');
          for (let i2 = 0; w && i2 < vlen; i2 += w) addr(s2 + 4 + i2, w === 16);
          s2 += 4 + vlen;
        }
      } else if (type === 38 || type === 42) {
        throw new Fail('unsupported');
      }
      p += len;
    }
    for (; p < end; p++) if (f[p] !== 0) throw new Fail('malformed');
  };
  try {
    if (s >= e) return { edits: [] };
    if (!tcp) msg(s, e);
    else {
      for (let p = s; p < e; ) {
        if (p + 2 > e) throw new Fail('segment');
        const len = f.readUInt16BE(p);
        if (p + 2 + len > e) throw new Fail('segment');
        msg(p + 2, p + 2 + len);
        p += 2 + len;
      }
    }
  } catch (err) {
    if (err instanceof Fail) return { reason: err.reason };
    throw err;
  }
  return { edits: [...edits].map(([off, bytes]) => ({ off, bytes })) };
}
