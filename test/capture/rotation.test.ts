/**
 * The capture port (net_stcap, docs/captures.md) on a real data plane:
 * copies written as pcapng by the writer thread and rotated while running by
 * size (-C), count (-W) and time (-G), and across a data-plane restart. Every
 * file is read by tshark, never by the code under test; time is judged from
 * the records' own timestamps, not from the wall clock of the test.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { createMetricsRegistry } from '../../src/metrics/collector.js';
import { ether, ipv4, udp } from '../../src/pcap/build.js';
import { writePcap } from '../../src/pcap/pcap.js';
import type { SupervisorOptions } from '../../src/supervisor/supervisor.js';
import { decodeFields, type Rows } from '../helpers/policy-run.js';
import { EVENT_WAIT_MS, makeSupervisor, missingBuild, START_WAIT_MS, until } from '../helpers/supervised.js';

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'st-capture-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** n UDP frames numbered 1..n in the IPv4 id, `payload` bytes each. */
function frames(n: number, payload: number): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    ether(
      { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      ipv4({ src: '10.0.1.1', dst: '10.0.2.2', id: i + 1, payload: udp({ sport: 4000, dport: 5000, payload: Buffer.alloc(payload, i & 0xff) }) }),
    ),
  );
}

/** A data plane replaying `input` once (or forever) into a sink, copies to a capture port. */
function captureConfig(dir: string, input: string, capture: Record<string, unknown>, opts: { pps: number; infinite?: boolean }) {
  return validateConfig({
    run_dir: dir,
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      {
        name: 'prod-in',
        device: `net_pcap0,rx_pcap=${input},infinite_rx=${opts.infinite ? 1 : 0}`,
        egress: 'prod-out',
        rx_pps: opts.pps,
        rx_desc: 256,
        tx_desc: 256,
      },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'capture', device: 'net_stcap0', role: 'shadow', capture },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] },
  });
}

/** Files of a capture named `base` in dir: base, base.1, base.2 ... in sequence order. */
function sequenceFiles(dir: string, base: string): string[] {
  return readdirSync(dir)
    .filter((n) => n === base || (n.startsWith(`${base}.`) && /^[1-9][0-9]*$/.test(n.slice(base.length + 1))))
    .sort((a, b) => (a === base ? 0 : Number(a.slice(base.length + 1))) - (b === base ? 0 : Number(b.slice(base.length + 1))))
    .map((n) => join(dir, n));
}

const FIELDS = ['ip.id', 'ip.dst', 'frame.time_epoch', 'frame.len', 'frame.cap_len'];

/** Every test's set-up: a scratch dir, `count` frames of `payload` bytes replayed into a capture port, a supervisor (not started). */
function captureRun(
  t: { teardown(fn: () => void): void },
  tag: string,
  input: { count: number; payload: number },
  capture: Record<string, unknown>,
  opts: { pps: number; infinite?: boolean },
  over: Partial<SupervisorOptions> = {},
) {
  const dir = tmp(t);
  const pcap = join(dir, 'in.pcap');
  writePcap(pcap, frames(input.count, input.payload));
  const sup = makeSupervisor(`st_cap${tag}_${process.pid}`, captureConfig(dir, pcap, capture, opts), over);
  t.teardown(() => sup.stop());
  /** the capture port's counters */
  const cap = () => sup.stats().ports[2]!;
  return { dir, sup, cap, written: () => cap().capture?.packets ?? 0 };
}

/** Start, wait until the capture port has written `n` copies, stop. */
async function writeAndStop(run: ReturnType<typeof captureRun>, n: number): Promise<void> {
  await run.sup.start();
  await until('every copy written', () => run.written() >= n, EVENT_WAIT_MS);
  await run.sup.stop();
}

/** Each file read by tshark: one list of rows per file, in the files' order. */
function readFiles(files: readonly string[], fields: readonly string[]): Promise<Rows[]> {
  return Promise.all(files.map((f) => decodeFields(f, fields)));
}

/** The IPv4 ids of the copies in `rows` (the frames' numbers), in file order. */
function ids(rows: readonly Rows[]): number[] {
  return rows.flat().map((r) => Number(r['ip.id']![0]));
}

/** ns since the epoch from tshark's frame.time_epoch ("1700000000.123456789"), exactly. */
function epochNs(text: string): bigint {
  const [s, f = ''] = text.split('.');
  return BigInt(s!) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
}

test.serial('size rotation (-C): every copy in exactly one file, in order; no file past its bound; totals match the counters', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  t.timeout(EVENT_WAIT_MS + 60_000);
  const N = 600;
  const bound = 50_000;
  const run = captureRun(t, 'size', { count: N, payload: 1000 }, { path: 'shadow.pcapng', rotate: { size_mb: bound / 1e6 } }, { pps: 5000 });
  const { dir, sup, cap } = run;
  const t0 = BigInt(Date.now()) * 1_000_000n;
  await writeAndStop(run, N);
  // /metrics says the same as the snapshot (after the stop: the last counters are kept).
  const metrics = new Map(
    (await createMetricsRegistry({ source: sup, defaultMetrics: false }).metrics())
      .split('\n')
      .filter((l) => l.startsWith('shadowtap_capture_'))
      .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))] as const),
  );

  const files = sequenceFiles(dir, 'shadow.pcapng');
  t.is(metrics.get('shadowtap_capture_packets_total{port="capture"}'), N);
  t.is(metrics.get('shadowtap_capture_rotations_total{port="capture"}'), files.length - 1);
  t.is(metrics.get('shadowtap_capture_bytes_total{port="capture"}'), cap().capture!.bytes);
  t.is(metrics.get('shadowtap_capture_files_removed_total{port="capture"}'), 0);
  t.is(metrics.get('shadowtap_capture_dropped_total{port="capture",reason="ring_full"}'), 0);
  t.true(files.length >= 10, `${files.length} files for ${N} copies of about 1,100 bytes at ${bound} bytes a file`);
  const decoded = await readFiles(files, FIELDS);
  t.deepEqual(ids(decoded), Array.from({ length: N }, (_, i) => i + 1), 'each copy once, in the order sent, across the files');
  t.true(decoded.flat().every((r) => r['ip.dst']![0] === '10.99.2.2'), 'translated copies');
  // Stamped while the test ran (DPDK 22.11.11's own pcapng clock was centuries off).
  const t1 = BigInt(Date.now()) * 1_000_000n;
  const stamps = decoded.flat().map((r) => epochNs(r['frame.time_epoch']![0]!));
  t.true(stamps.every((x) => x >= t0 && x <= t1), `records stamped from ${stamps[0]} to ${stamps.at(-1)}, the test ran from ${t0} to ${t1}`);
  t.true(stamps.every((x, i) => i === 0 || x >= stamps[i - 1]!), 'in time order');
  files.forEach((f, i) => {
    const size = statSync(f).size;
    if (decoded[i]!.length > 1) t.true(size <= bound, `${f}: ${size} bytes > ${bound}`);
    // and rotated for a reason: the next record would not have fitted
    if (i < files.length - 1) t.true(size > bound - 2 * 1100, `${f}: ${size} bytes, rotated early`);
  });
  const c = cap();
  t.is(c.txPackets, N, 'the capture port accepted every copy');
  t.is(c.txDropped, 0);
  t.is(c.capture!.packets, N);
  t.is(c.capture!.rotations, files.length - 1);
  t.is(c.capture!.bytes, files.reduce((a, f) => a + statSync(f).size, 0) - headerBytes(files), 'bytes: the records written');
  t.is(c.capture!.ringFull + c.capture!.nomem + c.capture!.writeErrors, 0);
});

/** Bytes of the section header and interface blocks at the start of each file (what precedes its first record). */
function headerBytes(files: readonly string[]): number {
  let total = 0;
  for (const f of files) {
    const b = readFileSync(f);
    let off = 0;
    // pcapng blocks: type (4), total length (4) ... ; records are type 6 (EPB)
    while (off + 8 <= b.length && b.readUInt32LE(off) !== 6) off += b.readUInt32LE(off + 4);
    total += off;
  }
  return total;
}

test.serial('count (-W): at most count files remain, the oldest removed; they hold the newest copies, contiguous', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  t.timeout(EVENT_WAIT_MS + 60_000);
  const N = 600;
  const run = captureRun(t, 'count', { count: N, payload: 1000 }, { path: 'shadow.pcapng', rotate: { size_mb: 0.05, count: 4 } }, { pps: 5000 });
  const { dir, cap } = run;
  await writeAndStop(run, N);

  const files = sequenceFiles(dir, 'shadow.pcapng');
  t.is(files.length, 4, files.join(' '));
  const c = cap().capture!;
  const created = c.rotations + 1;
  t.true(created >= 10, `${created} files made`);
  t.is(c.filesRemoved, created - 4);
  // The survivors are the last four made: sequence numbers created-4 .. created-1.
  t.deepEqual(files.map((f) => f.slice(f.lastIndexOf('.') + 1)), [created - 4, created - 3, created - 2, created - 1].map(String));
  const kept = ids(await readFiles(files, ['ip.id']));
  t.true(kept.length > 0);
  t.is(kept[kept.length - 1], N, 'the newest copy is kept');
  t.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => N - kept.length + 1 + i), 'the newest copies, none missing between');
});

const TIME_NAME = /^shadow-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})\.pcapng$/;

test.serial('time rotation (-G): a new file for a copy stamped a period after the file began, named by its time (UTC)', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  t.timeout(EVENT_WAIT_MS + 60_000);
  const N = 500;
  // 200 copies/s for 2.5 s, 1 s periods.
  const run = captureRun(t, 'time', { count: N, payload: 100 }, { path: 'shadow-%Y%m%d-%H%M%S.pcapng', rotate: { seconds: 1 } }, { pps: 200 });
  const { dir, sup } = run;
  await writeAndStop(run, N);

  const names = readdirSync(dir).filter((n) => n.startsWith('shadow-')).sort();
  t.true(names.every((n) => TIME_NAME.test(n)), `names: ${names.join(' ')}`);
  const decoded = await readFiles(names.map((n) => join(dir, n)), FIELDS);
  t.deepEqual(ids(decoded), Array.from({ length: N }, (_, i) => i + 1), 'each copy once, in order, across the files');
  const S = 1_000_000_000n;
  const ts = decoded.map((rows) => rows.map((r) => epochNs(r['frame.time_epoch']![0]!)));
  const span = ts.flat().at(-1)! - ts.flat()[0]!;
  // Each file holds less than a period of records, so a span past one period needs two files at least.
  t.true(span > S, `the copies span ${span} ns`);
  t.true(names.length >= 2, `${names.length} files`);
  const nameSecs = names.map((n) => {
    const m = TIME_NAME.exec(n)!;
    return BigInt(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000);
  });
  names.forEach((n, k) => {
    const first = ts[k]![0];
    if (first === undefined) return; // the first file may be empty (opened at start)
    const start = k === 0 ? nameSecs[0]! * S : first; // file 0 began when the port started, within its named second
    for (const x of ts[k]!) t.true(x < start + (k === 0 ? 2n : 1n) * S, `${n}: a record ${x - start} ns after the file began`);
    if (k >= 1) {
      t.is(nameSecs[k], first / S, `${n} is named by its first record's second (UTC)`);
      const prevStart = k === 1 ? nameSecs[0]! * S : ts[k - 1]![0]!;
      t.true(first >= prevStart + S, `${n} began ${first - prevStart} ns after the previous file`);
      t.true(first > ts[k - 1]!.at(-1)!, `after every record of the previous file: ${first} vs ${ts[k - 1]!.at(-1)!} (${names[k - 1]} ${ts[k - 1]!.slice(-5).join(" ")} / ${ts[k]!.slice(0, 5).join(" ")})`);
    }
  });
  t.is(sup.stats().ports[2]!.capture!.rotations, names.length - 1);
});

test.serial('a data-plane crash and restart: earlier files are never truncated or rewritten; the new data plane writes new ones', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  t.timeout(EVENT_WAIT_MS + 60_000);
  // A long first backoff: the crashed run's files are read before the next data plane starts.
  const { dir, sup, written } = captureRun(t, 'restart', { count: 100, payload: 1000 }, { path: 'shadow.pcapng', rotate: { size_mb: 0.05 } },
    { pps: 2000, infinite: true }, { backoff: { initialMs: 3000, jitter: 0 } });
  await sup.start();
  await until('three files of copies', () => written() > 150, EVENT_WAIT_MS);
  const pid = sup.childPid()!;
  process.kill(pid, 'SIGKILL');
  await until('the crashed data plane gone', () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, EVENT_WAIT_MS);
  const before = new Map(sequenceFiles(dir, 'shadow.pcapng').map((f) => [f, readFileSync(f)]));
  t.true(before.size >= 3, `${before.size} files before the crash`);
  await until('restarted', () => sup.restartCount() === 1 && sup.state === 'running' && sup.childPid() !== pid, EVENT_WAIT_MS);
  const base = written();
  await until('copies written by the new data plane', () => written() > base + 150, EVENT_WAIT_MS);
  await sup.stop();

  const after = sequenceFiles(dir, 'shadow.pcapng');
  for (const [f, bytes] of before) {
    t.true(existsSync(f), `${f} still there`);
    t.true(readFileSync(f).equals(bytes), `${f} unchanged by the next data plane`);
  }
  const added = after.filter((f) => !before.has(f));
  t.true(added.length >= 3, `${added.length} new files`);
  const seq = (f: string) => (f.endsWith('.pcapng') ? 0 : Number(f.slice(f.lastIndexOf('.') + 1)));
  const lastBefore = Math.max(...[...before.keys()].map(seq));
  t.true(added.every((f) => seq(f) > lastBefore), 'the new data plane numbers on from the last file');
  // Every file, the crashed run's last one included, is a capture tshark reads to the end
  // (the crashed run's newest may hold only its headers: killed before its first write).
  const rows = await readFiles(after, ['ip.dst']);
  t.true(rows.every((r) => r.every((x) => x['ip.dst']![0] === '10.99.2.2')));
  const count = (files: string[]) => files.reduce((a, f) => a + rows[after.indexOf(f)]!.length, 0);
  t.true(count([...before.keys()]) >= 150, 'the crashed run\'s copies');
  t.true(count(added) >= 150, 'the new run\'s copies');
});

test.serial('a writer that falls behind costs copies, counted, never production: a 64-copy ring under an unpaced replay', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  t.timeout(EVENT_WAIT_MS + 60_000);
  const N = 5000;
  const { dir, sup } = captureRun(t, 'ring', { count: N, payload: 1000 }, { path: 'shadow.pcapng', ring: 64, rotate: { size_mb: 1 } }, { pps: 0 });
  await sup.start();
  const s = () => sup.stats();
  const settled = () => {
    const c = s().ports[2]!;
    return c.capture !== undefined && c.capture.packets + c.capture.ringFull === N;
  };
  await until('every copy written or refused', settled, EVENT_WAIT_MS);
  await until('production forwarded', () => s().ports[1]!.txPackets === N, EVENT_WAIT_MS);
  await sup.stop();
  const st = s();
  const c = st.ports[2]!;
  t.is(st.ports[0]!.rxPackets, N);
  t.is(st.ports[1]!.txPackets, N, 'production: every frame forwarded');
  t.is(st.ports[1]!.txDropped, 0);
  t.is(c.txPackets, c.capture!.packets, 'what the ring took was written');
  t.is(c.txDropped, c.capture!.ringFull, 'what the ring refused the worker dropped and counted');
  t.is(st.dropped.tx_full, c.capture!.ringFull, 'as shadowtap_mirror_dropped_total{reason="tx_full"}');
  const got = ids(await readFiles(sequenceFiles(dir, 'shadow.pcapng'), ['ip.id']));
  t.is(got.length, c.capture!.packets, 'the files hold every copy written');
  t.true(got.every((x, i) => i === 0 || x > got[i - 1]!), 'in order, none twice');
  t.log(`${c.capture!.packets} copies written, ${c.capture!.ringFull} refused by the full ring`);
});

test.serial('the standby takes a crashed data plane\'s capture port over (hot-plugged with its arguments) and writes on in new files', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  t.timeout(EVENT_WAIT_MS + 60_000);
  const { dir, sup, written } = captureRun(t, 'standby', { count: 100, payload: 1000 }, { path: 'shadow.pcapng', rotate: { size_mb: 0.05 } },
    { pps: 2000, infinite: true }, { standby: true, startTimeoutMs: START_WAIT_MS });
  let prepared = 0;
  const ready: boolean[] = [];
  sup.on('standby', () => prepared++);
  sup.on('ready', (r) => ready.push(r.standby));
  await sup.start();
  await until('copies written', () => written() > 100, EVENT_WAIT_MS);
  await until('a standby prepared', () => prepared > 0, EVENT_WAIT_MS);
  const pid = sup.childPid()!;
  const before = new Set(sequenceFiles(dir, 'shadow.pcapng'));
  process.kill(pid, 'SIGKILL');
  await until('taken over', () => sup.restartCount() === 1 && sup.state === 'running' && sup.childPid() !== pid, EVENT_WAIT_MS);
  const base = written();
  await until('copies written after the takeover', () => written() > base + 100, EVENT_WAIT_MS);
  await sup.stop();
  t.deepEqual(ready, [false, true], 'the second data plane was the standby');
  const added = sequenceFiles(dir, 'shadow.pcapng').filter((f) => !before.has(f));
  t.true(added.length >= 1, 'new files');
  const rows = (await readFiles(added, ['ip.dst'])).flat();
  t.true(rows.length >= 100 && rows.every((r) => r['ip.dst']![0] === '10.99.2.2'), `${rows.length} copies in the new files`);
});

test.serial('a capture path that cannot be written fails the start, saying which port and why', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  const { dir, sup } = captureRun(t, 'bad', { count: 10, payload: 100 }, { path: 'not-a-dir/shadow.pcapng' }, { pps: 100 },
    { backoff: { initialMs: 60_000, jitter: 0 } });
  // A regular file where the capture's directory should be (before the start: the config only names it).
  writePcap(join(dir, 'not-a-dir'), []);
  let err: { code?: string; field?: string; message?: string } | undefined;
  try {
    await sup.start();
  } catch (e) {
    err = e as typeof err;
  }
  t.is(err?.code, 'ST_ERR_PORT_CONFIG');
  t.is(err?.field, 'ports[2].device');
  t.regex(err?.message ?? '', /port 'capture' \(net_stcap0\): rte_eth_dev_start failed: Not a directory/);
  t.regex(err?.message ?? '', /net_stcap0: cannot create .*not-a-dir\/shadow\.pcapng: Not a directory/, 'the writer says which file');
});
