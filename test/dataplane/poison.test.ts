/**
 * A poison packet never takes the data plane down (issue 10, item 1): no
 * length a packet or the driver claims is trusted before it is checked.
 *
 * DPDK 22.11's net_pcap reads a capture record of 64 KiB or more into one
 * mbuf whose pkt_len says the whole record while its segments hold far
 * fewer bytes (the jumbo read's length is a uint16_t). Before the rx check,
 * copying such a frame walked past the last segment (SIGSEGV in
 * rte_pktmbuf_copy on the short path).
 */
import test from 'ava';
import { ether, ipv4, ipv6, setIpv4TotalLength, tcp, udp, type EtherOptions } from '../../src/pcap/build.js';
import { compareFrames, referenceShadow, runDataplane, translation, zeroAnomalies, zeroDrops, type Translation } from '../helpers/dataplane.js';
import { badChecksums, decodePcapFile } from '../helpers/tshark.js';

const TR: Translation = translation({
  map4: [{ from: '10.0.0.0', to: '10.99.0.0', len: 16 }],
  map6: [{ from: 'fd00::', to: 'fd99::', len: 16 }],
  unmapped: 'drop',
});
const E: EtherOptions = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const A4 = { src: '10.0.1.5', dst: '10.0.2.6' };
const A6 = { src: 'fd00:10::5', dst: 'fd00:20::6' };

const udp4 = (n: number): Buffer => ether(E, ipv4({ ...A4, id: n, payload: udp({ sport: 40000, dport: 40001, payload: Buffer.from(`datagram ${n}`) }) }));

/** A TCP segment padded to `size` bytes on the wire (what big TCP / GRO hands over). */
function bigFrame(size: number, tot0 = false): Buffer {
  const f = ether(E, ipv4({ ...A4, id: 9, payload: tcp({ sport: 40000, dport: 443, seq: 1, flags: 'PA', payload: Buffer.alloc(1400, 0x61) }) }));
  const big = Buffer.concat([f, Buffer.alloc(size - f.length, 0x62)]);
  return tot0 ? setIpv4TotalLength(big, 0) : big;
}

test.serial('frames of 64 KiB and more from net_pcap: the data plane survives, the frames are counted by reason and never copied', async (t) => {
  // Records the driver reads into a consistent chain (up to 64 KiB) are
  // ordinary multi-segment frames: copied. Longer records come with a
  // pkt_len their segments do not hold: counted, forwarded, never copied.
  const whole = [9_000, 65_535];
  const cut = [67_584, 80_000, 131_071];
  const frames: Buffer[] = [udp4(0)];
  [...whole, ...cut].forEach((size, i) => frames.push(bigFrame(size, size === 80_000), udp4(i + 1)));
  const run = await runDataplane({ frames, ...TR });
  t.teardown(run.dispose);

  // Every frame reached production, in order. net_pcap's tx writes at most
  // 16,128 bytes of a chained frame, and a cut record as what its segments
  // hold: each big frame must be a prefix of its record.
  t.is(run.production.length, frames.length, 'every frame forwarded');
  frames.forEach((f, i) => {
    const got = run.production[i] as Buffer;
    if (f.length < 2000) t.true(got.equals(f), `frame ${i} byte-identical`);
    else t.true(got.length >= 2000 && got.equals(f.subarray(0, got.length)), `big frame ${i}: production got a prefix of the record (${got.length} of ${f.length} bytes)`);
  });
  // Copies: the small frames and the whole big ones, translated.
  const copied = frames.filter((f) => f.length < 2000 || whole.includes(f.length));
  t.is(run.shadow.length, copied.length, 'copies of the small frames and of the records read whole, none of the cut ones');
  copied.forEach((f, i) => {
    const ref = referenceShadow(f, TR);
    const got = run.shadow[i] as Buffer;
    t.true(ref.action === 'mirror' && got.length > 0 && got.equals(ref.frame.subarray(0, got.length)), `copy ${i} (${f.length} bytes) translated`);
  });
  t.deepEqual(badChecksums(await decodePcapFile(run.shadowPath)), []);
  const s = run.stats;
  t.deepEqual(s.rxInvalid, { pkt_len: cut.length, nb_segs: 0, seg_overrun: 0, chain: 0 }, 'each cut record counted once, by reason');
  t.deepEqual(s.dropped, zeroDrops(), 'an invalid mbuf is not a shadow drop: it is never offered');
  t.is(s.mirrorPackets, copied.length);
  t.is(s.ports[0]?.rxPackets, frames.length);
  t.is(s.ports[1]?.txPackets, frames.length);
});

test.serial('UDP length fields that disagree with the IP payload: counted malformed, never copied; production unchanged', async (t) => {
  const good = udp4(1);
  const setUdpLen = (f: Buffer, l3: number, ihl: number, v: number): Buffer => {
    const c = Buffer.from(f);
    c.writeUInt16BE(v, l3 + ihl + 4);
    return c;
  };
  const g6 = ether(E, ipv6({ ...A6, payload: udp({ sport: 40000, dport: 40001, payload: Buffer.from('six') }) }));
  const cases = [
    setUdpLen(good, 14, 20, 8 + 'datagram 1'.length + 1), // one past the IP payload
    setUdpLen(good, 14, 20, 7), // shorter than its own header
    setUdpLen(good, 14, 20, 0xffff),
    setUdpLen(g6, 14, 40, 8 + 3 + 1),
    setUdpLen(g6, 14, 40, 0),
  ];
  const frames = [good, ...cases, g6];
  const run = await runDataplane({ frames, ...TR });
  t.teardown(run.dispose);
  t.deepEqual(compareFrames('production', frames, frames, run.production), []);
  t.is(run.shadow.length, 2, 'only the two consistent datagrams are copied');
  t.deepEqual(run.stats.dropped, { ...zeroDrops(), malformed: cases.length });
  t.deepEqual(run.stats.anomalies, { ...zeroAnomalies(), truncated_l4: cases.length });
});

