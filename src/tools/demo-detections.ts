/**
 * What the demo capture adds for the detectors (docs/detection.md): a port
 * scan, 16 SYNs from one host to 16 ports of another inside the demo maps,
 * so `npm start` shows a port_scan detection (once per scan window: the
 * capture loops) next to the RTT histograms of its TCP flows; and an ARP
 * flip: the gateway's address answered from another MAC, then from its own
 * again, so the arp_spoof detector raises a `changed` (warning) and a
 * `flip_flop` (critical) finding (each once per repeat_s: the capture loops).
 */
import { arp, ether, ETHERTYPE, ipv4, tcp } from '../pcap/build.js';

export const DEMO_SCANNER = '10.0.3.66';
export const DEMO_SCAN_TARGET = '10.0.2.30';

export function demoScanFrames(): Buffer[] {
  const ports = [21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 443, 445, 993, 3306, 3389, 8080];
  return ports.map((dport, i) =>
    ether(
      { src: '02:04:0a:00:03:42', dst: '02:04:0a:00:02:1e' },
      ipv4({ src: DEMO_SCANNER, dst: DEMO_SCAN_TARGET, id: 0x4200 + i, payload: tcp({ sport: 51000 + i, dport, seq: 0x5ca40000 + i, flags: 'S', window: 1024 }) }),
    ),
  );
}

export const DEMO_ARP_IP = '10.0.2.1';
export const DEMO_ARP_SPOOF_MAC = '02:66:66:00:02:01';

/** ARP replies for DEMO_ARP_IP: from its own MAC, from the spoofing MAC, from its own again. */
export function demoArpFlipFrames(ownMac: string): Buffer[] {
  return [ownMac, DEMO_ARP_SPOOF_MAC, ownMac].map((mac) =>
    ether({ src: mac, dst: '02:04:0a:00:02:14', type: ETHERTYPE.arp }, arp({ op: 'reply', senderMac: mac, senderIp: DEMO_ARP_IP, targetMac: '02:04:0a:00:02:14', targetIp: '10.0.2.20' })),
  );
}
