/**
 * The data-plane detectors on the real data plane: one capture with every
 * attack (ARP flip-flop, a gratuitous ARP storm, a rogue DHCP offer, DHCPv6
 * advertise and router advertisement, a port scan, a host scan, a SYN flood)
 * raises exactly the expected findings with their evidence; a clean capture
 * with as many frames, the same detectors and thresholds, raises none.
 */
import test from 'ava';
import {
  arpFlipFlop, CLIENT_MAC, dhcpOffer, dhcpv6Advertise, garpStorm, routerAdvertisement, synBurst, synProbes, at,
} from '../../src/pcap/build-measure.js';
import { ether, ipv4, udp } from '../../src/pcap/build.js';
import type { PcapFrame } from '../../src/pcap/pcap.js';
import type { NativeDetection } from '../../src/dataplane/measure-types.js';
import { onlyDetectors, runMeasured } from '../helpers/measure-run.js';
import { missingBuild } from '../helpers/policy-run.js';

const skip = missingBuild();
const t = skip ? test.skip : test.serial;

const REAL_MAC = '02:00:00:00:01:01';
const SPOOF_MAC = '02:00:00:00:0e:0e';
const SCANNER = '10.1.0.66';

const MEASUREMENT = {
  enabled: true,
  detectors: onlyDetectors({
    arp_spoof: true, garp_storm: true, garp_per_second: 50,
    rogue_dhcp: true, dhcp_allow: ['10.0.0.1'],
    rogue_dhcpv6: true, dhcpv6_allow: ['fe80::1'],
    rogue_ra: true, ra_allow: ['fe80::1'],
    port_scan: true, host_scan: true, scan_ports: 15, scan_hosts: 25, scan_window_s: 300,
    syn_flood: true, syn_flood_min: 200, syn_flood_answer_pct: 50, syn_flood_window_ms: 1000,
  }),
};

function filler(n: number, t0: number): PcapFrame[] {
  return Array.from({ length: n }, (_, i) => at(t0 + i * 100, ether({ src: CLIENT_MAC, dst: '02:00:00:00:00:0b' }, ipv4({ src: '10.1.0.10', dst: '10.1.0.20', payload: udp({ sport: 5000, dport: 6000, payload: Buffer.alloc(16) }) }))));
}

function capture(attack: boolean): PcapFrame[] {
  const frames: PcapFrame[] = [
    ...arpFlipFlop({ t0: 0, ip: '10.1.0.1', mac: REAL_MAC, spoofMac: SPOOF_MAC, victimIp: '10.1.0.10', flip: attack }),
    ...garpStorm({ t0: 1_000_000, n: 60, spanUs: 500_000, gratuitous: attack }),
    dhcpOffer({ t: 2_000_000, server: attack ? '10.0.0.66' : '10.0.0.1', serverMac: attack ? SPOOF_MAC : REAL_MAC, yiaddr: '10.0.0.50', xid: 0x1234 }),
    dhcpv6Advertise({ t: 2_100_000, server: attack ? 'fe80::66' : 'fe80::1', serverMac: attack ? SPOOF_MAC : REAL_MAC, xid: 0x99 }),
    routerAdvertisement({ t: 2_200_000, router: attack ? 'fe80::66' : 'fe80::1', routerMac: attack ? SPOOF_MAC : REAL_MAC }),
    // 15 ports of one host (attack) or 15 connections to one port (clean).
    ...synProbes({ t0: 3_000_000, src: SCANNER, dst: () => '10.1.0.50', dport: (i) => (attack ? 1000 + i * 7 : 80), n: 15, stepUs: 100_000 }),
    // 25 hosts on port 22 (attack) or 25 connections to one host (clean).
    ...synProbes({ t0: 5_000_000, src: SCANNER, dst: (i) => (attack ? `10.1.2.${i + 1}` : '10.1.2.1'), dport: () => 22, n: 25, stepUs: 10_000 }),
    // 300 SYNs to one server within 0.5 s: 10 answered (attack), all answered (clean).
    ...synBurst({ t0: 7_000_000, dst: '10.1.0.80', dport: 80, n: 300, spanUs: 500_000, answered: attack ? 10 : 300 }),
  ];
  if (attack) frames.push(...filler(290, 8_000_000));
  return frames;
}

function find(ds: NativeDetection[], detector: string): NativeDetection[] {
  return ds.filter((d) => d.detector === detector);
}

t('every detector fires on its attack with its evidence, and only once', async (tt) => {
  const frames = capture(true);
  tt.is(frames.length, capture(false).length, 'the clean capture has as many frames');
  const run = await runMeasured({ frames, measurement: MEASUREMENT });
  try {
    const ds = run.detections;
    tt.is(ds.length, 9, JSON.stringify(ds, null, 1));
    const arp = find(ds, 'arp_spoof');
    tt.is(arp.length, 2);
    tt.like(arp[0], { kind: 'changed', severity: 'warning', subject: '10.1.0.1', mac: SPOOF_MAC, previousMac: REAL_MAC });
    tt.like(arp[1], { kind: 'flip_flop', severity: 'critical', subject: '10.1.0.1', mac: REAL_MAC, previousMac: SPOOF_MAC });
    const [garp] = find(ds, 'garp_storm');
    tt.like(garp, { count: 50, threshold: 50, severity: 'warning' });
    tt.true(garp!.windowUs < 1_000_000);
    tt.like(find(ds, 'rogue_dhcp')[0], { subject: '10.0.0.66', mac: SPOOF_MAC, extra: 2, severity: 'critical' });
    tt.like(find(ds, 'rogue_dhcpv6')[0], { subject: 'fe80::66', mac: SPOOF_MAC, extra: 2 });
    tt.like(find(ds, 'rogue_ra')[0], { subject: 'fe80::66', mac: SPOOF_MAC });
    const [ps] = find(ds, 'port_scan');
    tt.like(ps, { subject: SCANNER, target: '10.1.0.50', count: 15, threshold: 15 });
    tt.deepEqual(ps!.values, Array.from({ length: 15 }, (_, i) => 1000 + i * 7));
    tt.is(ps!.windowUs, 14 * 100_000);
    const [hs] = find(ds, 'host_scan');
    tt.like(hs, { subject: SCANNER, port: 22, count: 25, threshold: 25, target: '10.1.2.25' });
    tt.is(hs!.windowUs, 24 * 10_000);
    const [sf] = find(ds, 'syn_flood');
    tt.like(sf, { target: '10.1.0.80', port: 80, count: 200, extra: 10, severity: 'critical' });
    // The packet time is the capture's: 7 s after its start plus 199 of 300 steps of 0.5 s.
    tt.is(sf!.tsUs, 1_700_000_000 * 1e6 + 7_000_000 + Math.floor((199 * 500_000) / 300));
    // Production is forwarded untouched while the detectors run.
    tt.is(run.production.length, frames.length);
  } finally {
    run.dispose();
  }
});

t('a clean capture of the same size raises nothing', async (tt) => {
  const run = await runMeasured({ frames: capture(false), measurement: MEASUREMENT });
  try {
    tt.deepEqual(run.detections, []);
    tt.is(run.measure.events, 0);
  } finally {
    run.dispose();
  }
});
