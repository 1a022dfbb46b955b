/**
 * A fake data-plane source (the Supervisor's status()/stats() surface) for
 * API route and metrics-mapping tests only. Claims about packets are made
 * against the real addon, never against this.
 */
import { zeroStats } from '../../src/supervisor/stats.js';
import type { SupervisorStats, SupervisorStatus } from '../../src/supervisor/supervisor.js';

export interface FakeDataplane {
  statusValue: SupervisorStatus;
  statsValue: SupervisorStats | null;
  status(): SupervisorStatus;
  stats(): SupervisorStats | null;
}

export function fakeDataplane(overrides: Partial<SupervisorStatus> = {}): FakeDataplane {
  const base = zeroStats(3, [1]);
  const names = [['prod-in', 'production'], ['prod-out', 'egress'], ['shadow0', 'shadow']] as const;
  const statsValue: SupervisorStats = {
    ...base,
    ports: base.ports.map((p, i) => ({ ...p, name: names[i]![0], role: names[i]![1] })),
    workers: base.workers.map((w) => ({ ...w, loops: 1000, busyLoops: 250, busyRatio: 0.25 })),
    mirrorPackets: 900,
    mirrorBytes: 90000,
    translatedPackets: 850,
    shadowRxPackets: 3,
    live: true,
    at: Date.now(),
  };
  statsValue.ports[0] = { ...statsValue.ports[0]!, rxPackets: 1000, rxBytes: 100000, hwImissed: 7, hwIpackets: 1007 };
  statsValue.ports[1] = { ...statsValue.ports[1]!, txPackets: 1000, txBytes: 100000 };
  statsValue.ports[2] = { ...statsValue.ports[2]!, txPackets: 900, txBytes: 90000, txDropped: 2 };
  statsValue.dropped = { ...statsValue.dropped, unmapped: 40, not_ip: 60 };
  statsValue.anomalies = { ...statsValue.anomalies, vlan: 5 };
  const statusValue: SupervisorStatus = {
    state: 'running',
    pid: 4242,
    restarts: 2,
    filePrefix: 'shadowtap-1-3',
    uptimeSeconds: 12,
    since: new Date(0).toISOString(),
    nativeVersion: 'shadowtap-dataplane 0.1.0 (DPDK 22.11.11)',
    ports: names.map(([name, role], i) => ({ name, role, device: `net_null${i}`, portId: i, driver: 'net_null', mac: '02:00:00:00:00:0' + i })),
    lastError: null,
    nextRestartAt: null,
    ...overrides,
  };
  return {
    statusValue,
    statsValue,
    status() {
      return this.statusValue;
    },
    stats() {
      return this.statsValue;
    },
  };
}
