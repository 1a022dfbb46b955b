import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePcap, encodePcap, readPcap, writePcap, DEFAULT_TS_SEC } from '../../src/pcap/pcap.js';
import { ether, ipv4, udp } from '../../src/pcap/build.js';
import { decodePcapFile } from '../helpers/tshark.js';

const E = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };

function frames(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    ether(E, ipv4({ src: '10.0.1.5', dst: '10.0.2.6', id: i, payload: udp({ sport: 40000 + i, dport: 40999, payload: Buffer.alloc(i * 7, i) }) })),
  );
}

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'st-pcap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A classic pcap written by hand in the given byte order and precision, independent of encodePcap. */
function handMade(bigEndian: boolean, nano: boolean, recs: Array<{ sec: number; frac: number; data: Buffer; orig?: number }>): Buffer {
  const w32 = (b: Buffer, v: number, off: number): void => {
    if (bigEndian) b.writeUInt32BE(v >>> 0, off);
    else b.writeUInt32LE(v >>> 0, off);
  };
  const w16 = (b: Buffer, v: number, off: number): void => {
    if (bigEndian) b.writeUInt16BE(v, off);
    else b.writeUInt16LE(v, off);
  };
  const gh = Buffer.alloc(24);
  w32(gh, nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(gh, 2, 4);
  w16(gh, 4, 6);
  w32(gh, 65535, 16);
  w32(gh, 1, 20);
  const parts: Buffer[] = [gh];
  for (const r of recs) {
    const rh = Buffer.alloc(16);
    w32(rh, r.sec, 0);
    w32(rh, r.frac, 4);
    w32(rh, r.data.length, 8);
    w32(rh, r.orig ?? r.data.length, 12);
    parts.push(rh, r.data);
  }
  return Buffer.concat(parts);
}

test('write then read returns the same frames, timestamps and linktype', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'a.pcap');
  const fs = frames(5);
  writePcap(path, [...fs.slice(0, 4).map((data, i) => ({ data, tsSec: 1234 + i, tsUsec: 999_999 - i })), fs[4] as Buffer]);
  const got = readPcap(path);
  t.is(got.linktype, 1);
  t.false(got.nanosecond);
  t.false(got.bigEndian);
  t.is(got.packets.length, 5);
  got.packets.forEach((p, i) => {
    t.deepEqual(p.data, fs[i]);
    t.is(p.origLen, fs[i]?.length ?? -1);
  });
  t.is(got.packets[0]?.tsSec, 1234);
  t.is(got.packets[0]?.tsUsec, 999_999);
  t.is(got.packets[3]?.tsUsec, 999_996);
  t.is(got.packets[4]?.tsSec, DEFAULT_TS_SEC);
  t.is(got.packets[4]?.tsUsec, 4000);
});

test('tshark reads what writePcap wrote: count, lengths, timestamps', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'b.pcap');
  const fs = frames(20);
  writePcap(path, fs);
  const rows = await decodePcapFile(path);
  t.is(rows.length, 20);
  rows.forEach((r, i) => {
    t.is(r.frame, i + 1);
    t.is(r.len, fs[i]?.length ?? -1);
    t.is(r.ipSrc, '10.0.1.5');
    t.is(r.srcPort, 40000 + i);
  });
});

test('reads all four magic forms (µs/ns × little/big endian)', (t) => {
  const data = frames(2);
  for (const bigEndian of [false, true]) {
    for (const nano of [false, true]) {
      const buf = handMade(bigEndian, nano, [
        { sec: 100, frac: nano ? 123_456_789 : 123_456, data: data[0] as Buffer },
        { sec: 101, frac: nano ? 999 : 7, data: data[1] as Buffer, orig: 1500 },
      ]);
      const got = decodePcap(buf);
      const what = `${bigEndian ? 'BE' : 'LE'} ${nano ? 'ns' : 'µs'}`;
      t.is(got.bigEndian, bigEndian, what);
      t.is(got.nanosecond, nano, what);
      t.is(got.linktype, 1, what);
      t.is(got.snaplen, 65535, what);
      t.is(got.packets.length, 2, what);
      t.deepEqual(got.packets[0]?.data, data[0], what);
      t.is(got.packets[0]?.tsSec, 100, what);
      t.is(got.packets[0]?.tsUsec, 123_456, what);
      t.is(got.packets[0]?.tsNsec, nano ? 123_456_789 : 123_456_000, what);
      t.is(got.packets[1]?.tsUsec, nano ? 0 : 7, what);
      t.is(got.packets[1]?.origLen, 1500, what);
    }
  }
});

test('a nanosecond big-endian file written by hand is also what tshark sees', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'c.pcap');
  const data = frames(3);
  writeFileSync(path, handMade(true, true, data.map((d, i) => ({ sec: 200 + i, frac: 5, data: d }))));
  const mine = readPcap(path);
  const rows = await decodePcapFile(path);
  t.is(rows.length, mine.packets.length);
  rows.forEach((r, i) => t.is(r.len, mine.packets[i]?.data.length ?? -1));
});

test('snaplen cuts captured bytes and keeps origLen', (t) => {
  const fs = frames(3);
  const got = decodePcap(encodePcap(fs, { snaplen: 40 }));
  t.is(got.snaplen, 40);
  got.packets.forEach((p, i) => {
    t.is(p.data.length, 40);
    t.is(p.origLen, fs[i]?.length ?? -1);
    t.deepEqual(p.data, fs[i]?.subarray(0, 40));
  });
});

test('errors name what is wrong', (t) => {
  t.throws(() => decodePcap(Buffer.alloc(10)), { message: /global header needs 24 bytes/ });
  t.throws(() => decodePcap(Buffer.alloc(24, 0x0a)), { message: /not a classic pcap magic/ });
  const good = encodePcap(frames(1));
  t.throws(() => decodePcap(good.subarray(0, good.length - 3)), { message: /record 1 says \d+ captured bytes/ });
  t.throws(() => decodePcap(good.subarray(0, 30)), { message: /record 1 header truncated/ });
  t.throws(() => encodePcap([{ data: Buffer.alloc(1), tsUsec: 1_000_000 }]), { message: /frames\[0\]\.tsUsec/ });
  t.is(decodePcap(encodePcap([])).packets.length, 0);
});
