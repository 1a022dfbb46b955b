/**
 * Captures survive data-plane restarts (issue 14, item 6): net_pcap
 * truncates its tx_pcap file whenever a data plane opens it, so the
 * supervisor rotates the previous capture aside before every start. A real
 * supervised data plane is made to exit twice; the three captures are read
 * by tshark. And the rotation itself: numbering, the keep limit, empty files.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { writePcap } from '../../src/pcap/pcap.js';
import { captureFiles, rotateCapture } from '../../src/supervisor/captures.js';
import { buildDemoFrames } from '../../src/tools/gen-demo-capture.js';
import { decodeFields } from '../helpers/policy-run.js';
import { makeSupervisor, missingBuild, until } from '../helpers/supervised.js';

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'st-captures-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const HEADER = Buffer.alloc(24, 1);

test('rotation: FILE -> FILE.1 -> FILE.2, at most keep rotated files, never truncating; nothing to rotate is left alone', (t) => {
  const dir = tmp(t);
  const f = join(dir, 'shadow.pcap');
  t.is(rotateCapture(f, 3), null, 'no file');
  writeFileSync(f, HEADER);
  t.is(rotateCapture(f, 3), null, 'only a pcap header: nothing to keep');
  for (let i = 1; i <= 5; i++) {
    writeFileSync(f, Buffer.concat([HEADER, Buffer.from(`run ${i}`)]));
    const r = rotateCapture(f, 3)!;
    t.is(r.to, `${f}.1`);
    t.false(existsSync(f), 'moved, not copied: the next data plane creates a new one');
  }
  const read = (p: string) => readFileSync(p).subarray(24).toString();
  t.deepEqual([1, 2, 3].map((i) => read(`${f}.${i}`)), ['run 5', 'run 4', 'run 3']);
  t.false(existsSync(`${f}.4`));
  writeFileSync(f, Buffer.concat([HEADER, Buffer.from('run 6')]));
  t.deepEqual(rotateCapture(f, 0)!.removed, [], 'keep 0 keeps every one');
  t.is(read(`${f}.4`), 'run 3');
});

test('captureFiles: the tx_pcap files of net_pcap and net_shadowsim ports, resolved', (t) => {
  const config = validateConfig({
    ports: [
      { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap,tx_pcap=/x/prod-tx.pcap', egress: 'prod-out' },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
      { name: 'shadow0', device: 'net_pcap1,tx_pcap=shadow.pcap', role: 'shadow' },
      { name: 'shadow1', device: 'net_tap0,iface=st-x', role: 'shadow' },
    ],
  });
  t.deepEqual(captureFiles(config), ['/x/prod-tx.pcap', join(process.cwd(), 'shadow.pcap')]);
});

test.serial('a capture survives two data-plane restarts: three files, each a complete capture of one data plane, in order', async (t) => {
  const skip = missingBuild();
  if (skip) return t.fail(skip);
  const dir = tmp(t);
  const input = join(dir, 'in.pcap');
  writePcap(input, buildDemoFrames());
  const shadow = join(dir, 'shadow.pcap');
  const config = validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_pcap0,rx_pcap=${input},infinite_rx=1`, egress: 'prod-out', rx_pps: 2000, rx_desc: 256, tx_desc: 256 },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', rx_desc: 256, tx_desc: 256 },
      { name: 'shadow0', device: `net_pcap1,tx_pcap=${shadow}`, role: 'shadow', rx_desc: 256, tx_desc: 256 },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }] },
  });
  // A capture left by an earlier run is rotated at the first start too.
  writePcap(shadow, buildDemoFrames().slice(0, 3));
  const sup = makeSupervisor(`st_captures_${process.pid}`, config, { captureKeep: 5 });
  t.teardown(() => sup.stop());
  await sup.start();
  const shadowTx = () => sup.stats().ports[2]!.txPackets;
  for (let restart = 1; restart <= 2; restart++) {
    const before = shadowTx();
    await until('copies written by this data plane', () => shadowTx() > before + 200, 30_000);
    const pid = sup.childPid()!;
    // SIGTERM: the host stops cleanly (its capture flushed), unasked: the supervisor restarts it.
    process.kill(pid, 'SIGTERM');
    await until(`restart ${restart}`, () => sup.restartCount() === restart && sup.state === 'running' && sup.childPid() !== pid, 30_000);
  }
  // The event feed (GET /v1/events) heard both: an exit, a restart and a ready for each.
  const feed = sup.services.events.since(0);
  t.is(feed.filter((e) => e.type === 'restarting').length, 2);
  t.is(feed.filter((e) => e.type === 'exited').length, 2);
  t.deepEqual(feed.filter((e) => e.type === 'ready').map((e) => e.data['restarts']), [0, 1, 2]);
  t.deepEqual(feed.map((e) => e.id), feed.map((_, i) => i + 1), 'numbered from 1, none missing');
  const last = shadowTx();
  await until('copies written by the third data plane', () => shadowTx() > last + 200, 30_000);
  await sup.stop();

  // .3: the earlier run's; .2: the first data plane's; .1: the second's; the file: the third's.
  const files = [`${shadow}.3`, `${shadow}.2`, `${shadow}.1`, shadow];
  for (const f of files) t.true(existsSync(f), f);
  t.false(existsSync(`${shadow}.4`));
  const decoded = await Promise.all(files.map((f) => decodeFields(f, ['frame.time_epoch', 'ip.dst'])));
  t.is(decoded[0]!.length, 3, 'the earlier run\'s capture, untouched');
  const spans = decoded.slice(1).map((rows, i) => {
    t.true(rows.length > 200, `${files[i + 1]}: ${rows.length} copies`);
    // Translated, or an address that names no host (broadcast, multicast), which stays.
    t.deepEqual(rows.flatMap((r) => r['ip.dst'] ?? []).filter((a) => !a.startsWith('10.99.') && a !== '255.255.255.255' && !/^2(2[4-9]|3\d)\./.test(a)), [], 'every IPv4 copy translated');
    const ts = rows.map((r) => Number(r['frame.time_epoch']![0]));
    return [Math.min(...ts), Math.max(...ts)] as const;
  });
  // Each data plane's capture ends before the next one's begins: three runs, none overwritten.
  t.true(spans[0]![1] <= spans[1]![0], `first ${spans[0]} before second ${spans[1]}`);
  t.true(spans[1]![1] <= spans[2]![0], `second ${spans[1]} before third ${spans[2]}`);
});
