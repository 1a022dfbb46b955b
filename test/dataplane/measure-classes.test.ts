/**
 * Packet and byte rates per application class on the real data plane
 * (net_pcap vdevs): a crafted capture with a known mix of DNS, HTTP, TLS,
 * SSH, NTP, ARP, ICMP and unclassified UDP, on the production side (as
 * mirrored) and, in the shadow address space with another mix, on the shadow
 * port's rx. tshark is the independent reference for what each packet is:
 * each frame's class is the application protocol tshark decodes it as, and
 * the measure stage's counts per (side, class, vm) must equal tshark's,
 * packets and bytes, exactly. The /metrics rendering gives both sides the
 * same labels.
 */
import test from 'ava';
import { Registry } from 'prom-client';
import { arp, ether, icmpEcho, ipv4, tcp, udp, ETHERTYPE } from '../../src/pcap/build.js';
import { dnsMessage } from '../../src/pcap/dns.js';
import { writePcap, type PcapFrame } from '../../src/pcap/pcap.js';
import { at } from '../../src/pcap/build-measure.js';
import { registerMeasureMetrics } from '../../src/metrics/measure.js';
import { onlyDetectors, runMeasured } from '../helpers/measure-run.js';
import { decodeFields, missingBuild } from '../helpers/policy-run.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const skip = missingBuild();
const t = skip ? test.skip : test.serial;

const CLASSES = ['dns', 'http', 'tls', 'ssh', 'ntp', 'arp', 'icmp'];
const E = { src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' };

/** A mix of `counts[kind]` frames each, client in net.0.10, server (the VM) in net.0.20, others in net.0.30. */
function mix(net: string, counts: Record<string, number>, t0: number): PcapFrame[] {
  const c = `${net}.0.10`, s = `${net}.0.20`, o = `${net}.0.30`;
  const make: Record<string, (i: number) => Buffer> = {
    dns: (i) => ether(E, ipv4({ src: c, dst: s, payload: udp({ sport: 41000 + i, dport: 53, payload: dnsMessage({ id: i + 1, questions: [{ name: `host${i}.example`, type: 1 }] }) }) })),
    http: (i) => ether(E, ipv4({ src: c, dst: s, payload: tcp({ sport: 42000 + i, dport: 80, seq: 1000, ack: 1, flags: 'PA', payload: Buffer.from(`GET /item/${i} HTTP/1.1\r\nHost: web\r\n\r\n`) }) })),
    tls: (i) => ether(E, ipv4({ src: s, dst: c, payload: tcp({ sport: 443, dport: 43000 + i, seq: 5000, ack: 1, flags: 'PA', payload: Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x08]), Buffer.alloc(8, i)]) }) })),
    ssh: (i) => ether(E, ipv4({ src: c, dst: s, payload: tcp({ sport: 44000 + i, dport: 22, seq: 1, ack: 1, flags: 'PA', payload: Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n') }) })),
    ntp: (i) => {
      const b = Buffer.alloc(48);
      b[0] = 0x23; // LI 0, version 4, mode 3 (client)
      b.writeUInt32BE(0xe7000000 + i, 40);
      return ether(E, ipv4({ src: c, dst: s, payload: udp({ sport: 123, dport: 123, payload: b }) }));
    },
    arp: (i) => ether({ src: E.src, dst: 'ff:ff:ff:ff:ff:ff', type: ETHERTYPE.arp }, arp({ op: 'request', senderMac: E.src, senderIp: c, targetIp: `${net}.0.${40 + i}` })),
    icmp: (i) => ether(E, ipv4({ src: c, dst: o, payload: icmpEcho({ id: 7, seq: i, payload: Buffer.alloc(24, 0x61) }) })),
    other: (i) => ether(E, ipv4({ src: c, dst: o, payload: udp({ sport: 45000 + i, dport: 9999, payload: Buffer.from(`plain datagram ${i}`) }) })),
  };
  const out: PcapFrame[] = [];
  let n = 0;
  // Interleaved, so a class is never one run of a burst.
  const left = { ...counts };
  while (Object.values(left).some((v) => v > 0)) {
    for (const k of Object.keys(left)) {
      if (left[k]! <= 0) continue;
      out.push(at(t0 + 100 * n++, make[k]!(counts[k]! - left[k]!)));
      left[k]!--;
    }
  }
  return out;
}

/** tshark's reading of a capture: per (class, vm) packets and bytes. The class is the application protocol tshark decodes. */
async function reference(frames: PcapFrame[], vmOf: (src: string, dst: string) => string): Promise<Map<string, { packets: number; bytes: number }>> {
  const dir = mkdtempSync(join(tmpdir(), 'st-cls-'));
  try {
    const path = join(dir, 'ref.pcap');
    writePcap(path, frames);
    const rows = await decodeFields(path, ['frame.protocols', 'frame.len', 'ip.src', 'ip.dst']);
    const out = new Map<string, { packets: number; bytes: number }>();
    for (const r of rows) {
      const protos = (r['frame.protocols']?.[0] ?? '').split(':');
      const cls = CLASSES.find((k) => protos.includes(k)) ?? 'other';
      const vm = vmOf(r['ip.src']?.[0] ?? '', r['ip.dst']?.[0] ?? '');
      const key = `${cls}|${vm}`;
      const e = out.get(key) ?? { packets: 0, bytes: 0 };
      e.packets++;
      e.bytes += Number(r['frame.len']?.[0]);
      out.set(key, e);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MEASUREMENT = { enabled: true, shadow_tx: false, vms: [{ name: 'web', prefix: '10.1.0.20' }], classes: [...CLASSES], detectors: onlyDetectors({}) };

t('packets and bytes per application class equal tshark\'s reading, on both sides, under the same labels', async (tt) => {
  const prodCounts = { dns: 5, http: 4, tls: 3, ssh: 2, ntp: 3, arp: 2, icmp: 2, other: 4 };
  const shadowCounts = { dns: 2, http: 6, tls: 1, ssh: 3, ntp: 1, arp: 1, icmp: 4, other: 2 };
  const prod = mix('10.1', prodCounts, 0);
  const shadow = mix('10.201', shadowCounts, 0);
  const run = await runMeasured({ frames: prod, shadowIn: shadow, measurement: MEASUREMENT });
  try {
    const labels = [...CLASSES, 'other'];
    for (const [side, frames, server] of [['production', prod, '10.1.0.20'], ['shadow', shadow, '10.201.0.20']] as const) {
      // The VM of a packet: its destination's, else its source's (ARP: other).
      const ref = await reference(frames, (src, dst) => (dst === server || src === server ? 'web' : 'other'));
      const vms = ['web', 'other'];
      let total = 0;
      vms.forEach((vm, vi) => {
        const v = run.measure.sides[side][vi]!;
        tt.is(v.classes.packets.length, labels.length);
        labels.forEach((cls, ci) => {
          const want = ref.get(`${cls}|${vm}`) ?? { packets: 0, bytes: 0 };
          tt.is(v.classes.packets[ci], want.packets, `${side} ${cls} ${vm} packets`);
          tt.is(v.classes.bytes[ci], want.bytes, `${side} ${cls} ${vm} bytes`);
          total += v.classes.packets[ci]!;
        });
      });
      tt.is(total, frames.length, `${side}: every packet in exactly one class`);
    }
    // The mix is what it was built to be, as tshark reads it (the reference is not empty or lopsided).
    const ref = await reference(prod, () => 'any');
    const sorted = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
    tt.deepEqual(sorted(Object.fromEntries([...ref].map(([k, v]) => [k.split('|')[0]!, v.packets]))), sorted(prodCounts));

    // /metrics: one query compares the sides for a class.
    const registry = new Registry();
    registerMeasureMetrics(registry, { measurementView: () => ({ vms: ['web', 'other'], classes: labels, stats: run.measure }) }, (e) => tt.fail(String(e)));
    const text = await registry.metrics();
    tt.regex(text, /shadowtap_measure_class_packets_total\{side="production",class="http",vm="web"\} 4\n/);
    tt.regex(text, /shadowtap_measure_class_packets_total\{side="shadow",class="http",vm="web"\} 6\n/);
    tt.regex(text, /shadowtap_measure_class_packets_total\{side="production",class="other",vm="other"\} 4\n/);
    // No series for a (class, vm) neither side saw: bounded by what was seen.
    tt.notRegex(text, /class="dns",vm="other"/);
  } finally {
    run.dispose();
  }
});

t('classes: [] counts no class series and classifies nothing', async (tt) => {
  const prod = mix('10.1', { dns: 2, http: 2, other: 1 }, 0);
  const run = await runMeasured({ frames: prod, measurement: { ...MEASUREMENT, classes: [] } });
  try {
    for (const v of run.measure.sides.production) tt.deepEqual(v.classes.packets, [0]);
    tt.is(run.measure.sides.production.reduce((n, v) => n + v.packets.udp + v.packets.tcp, 0), 5);
  } finally {
    run.dispose();
  }
});
