/**
 * The embedded demo configuration `shadowtap run` uses without --config: the
 * demo capture replayed in a loop as production traffic, forwarded to a sink,
 * copies written to a capture file (and to a tap interface when we may
 * create one), with the demo maps the capture was built for.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { DEMO_MAP4, DEMO_MAP6 } from '../tools/gen-demo-capture.js';
import { ConfigError } from '../errors.js';
import { checkConfig, type CheckedConfig } from './load.js';
import type { Config } from './schema.js';

export interface DefaultConfigOptions {
  /** where captures go; default "run" (relative to the working directory) */
  runDir?: string;
  /** add a net_tap shadow port; default: /dev/net/tun is usable and we are root */
  tap?: boolean;
}

/** The tap shadow interface the default config creates when it can. */
export const DEMO_TAP_IFACE = 'st-shadow0';

/** Packets/s the demo replays its capture at (infinite_rx would otherwise run at line rate). */
export const DEMO_RATE_PPS = 2000;

export function demoCapturePath(runDir: string): string {
  return join(runDir, 'demo', 'demo.pcap');
}

export function shadowCapturePath(runDir: string): string {
  return join(runDir, 'shadow.pcap');
}

/**
 * The demo's scheduled fault (`npm start`): the demo's client-to-server
 * traffic (to 10.0.2.0/24) gets WAN latency and loss for 10 s every 30 s,
 * from the start, until stopped. Visible in /metrics (shadowtap_fault_*),
 * on the timeline (GET /v1/faults/timeline, `shadowtap fault timeline`) and
 * in the shadow capture (fewer, later copies to 10.200.2.x while armed).
 */
export const DEMO_FAULTS: readonly Record<string, unknown>[] = [
  {
    id: 'demo-wan',
    description: 'WAN latency and loss towards the demo servers, 10 s every 30 s',
    match: { dst: '10.0.2.0/24' },
    netem: 'delay 20ms 5ms distribution normal loss 10%',
    schedule: { duration: '10s', every: '30s' },
  },
];

/** net_tap needs /dev/net/tun and CAP_NET_ADMIN; we only try it as root. */
export function canCreateTap(): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function defaultConfigInput(options: DefaultConfigOptions = {}): Record<string, unknown> {
  const runDir = options.runDir ?? 'run';
  const tap = options.tap ?? canCreateTap();
  const ports: Record<string, unknown>[] = [
    {
      name: 'prod-in',
      device: `net_pcap0,rx_pcap=${demoCapturePath(runDir)},infinite_rx=1`,
      role: 'production',
      egress: 'prod-out',
      // Replayed at a demo pace, not line rate: about 830 KiB/s of capture (measured; run --help).
      rx_pps: DEMO_RATE_PPS,
    },
    // A sink: no-rx=1, or net_null would generate packets of its own.
    { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
    { name: 'shadow0', device: `net_pcap1,tx_pcap=${shadowCapturePath(runDir)}`, role: 'shadow' },
  ];
  if (tap) ports.push({ name: 'shadow1', device: `net_tap0,iface=${DEMO_TAP_IFACE}`, role: 'shadow' });
  return {
    mode: 'inline',
    // A demo shares the machine: sleep when idle instead of spinning a core.
    dataplane: { workers: 1, idle: 'adaptive' },
    ports,
    translate: {
      ipv4: DEMO_MAP4.map((m) => ({ from: `${m.from}/${m.len}`, to: `${m.to}/${m.len}` })),
      ipv6: DEMO_MAP6.map((m) => ({ from: `${m.from}/${m.len}`, to: `${m.to}/${m.len}` })),
      unmapped: 'drop',
    },
    run_dir: runDir,
    // RTT histograms per VM and the detectors (the demo capture holds a port scan).
    measurement: {
      enabled: true,
      vms: [
        { name: 'web', prefix: '10.0.2.20' },
        { name: 'api', prefix: '10.0.2.21' },
        { name: 'db', prefix: '10.0.2.22' },
      ],
    },
  };
}

export function defaultConfig(options: DefaultConfigOptions = {}): Config {
  return checkedDefaultConfig(options).config;
}

/** The embedded default configuration with the policy its check compiled (nothing compiles it again). */
export function checkedDefaultConfig(options: DefaultConfigOptions = {}): CheckedConfig {
  const source = 'embedded default config';
  const { config, policy, problems } = checkConfig(defaultConfigInput(options), { source });
  if (!config || !policy) throw new ConfigError(problems, source);
  return { config, policy };
}
