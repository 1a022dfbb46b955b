/**
 * What the demo capture adds for the detectors (docs/detection.md): a port
 * scan, 16 SYNs from one host to 16 ports of another inside the demo maps,
 * so `npm start` shows a port_scan detection (once per scan window: the
 * capture loops) next to the RTT histograms of its TCP flows.
 */
import { ether, ipv4, tcp } from '../pcap/build.js';

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
