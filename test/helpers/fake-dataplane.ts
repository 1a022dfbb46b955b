/**
 * A fake data-plane source (the Supervisor's status()/stats() surface and
 * its policy operations) for API route and metrics-mapping tests only.
 * Claims about packets are made against the real addon, never against this.
 *
 * The policy operations run the real checks and compiler over a small vdev
 * configuration; only the install in the data plane is faked (it can be
 * told to fail, to show that a failed install changes nothing).
 */
import { checkPolicyUpdate, policySection, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { SESSION_DROP_REASONS, type NativePortInfo, type SessionDropReason } from '../../src/dataplane/native-types.js';
import type { PlanInput } from '../../src/offload/port-facts.js';
import { PolicyError, stError } from '../../src/errors.js';
import { requireWholePolicy, type ApplyOptions } from '../../src/services/policy.js';
import { compilePolicy, type CompiledPolicy, type PolicyReport } from '../../src/policy/compile.js';
import { zeroStats } from '../../src/supervisor/stats.js';
import type { PolicyView, SessionsView, SupervisorStats, SupervisorStatus } from '../../src/supervisor/supervisor.js';

export interface FakeDataplane {
  statusValue: SupervisorStatus;
  statsValue: SupervisorStats | null;
  config: Config;
  compiled: CompiledPolicy;
  /** the next applyPolicy fails with this after validation (as a native install failure would) */
  installError: Error | null;
  /** sections that were installed, in order */
  installed: unknown[];
  /** the ports as the data plane reported them (GET /v1/plan); null: not started yet */
  livePorts: NativePortInfo[] | null;
  /** false: planInput() answers null, as a source without a configuration would */
  hasConfig: boolean;
  status(): SupervisorStatus;
  stats(): SupervisorStats | null;
  policyView(): PolicyView;
  configInForce(): Config;
  sessionStats(): SessionsView;
  validatePolicy(section: unknown): Promise<PolicyReport>;
  applyPolicy(section: unknown, options?: ApplyOptions): Promise<PolicyView>;
  planInput(): PlanInput | null;
}

export const FAKE_CONFIG_INPUT = {
  ports: [
    { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap', egress: 'prod-out' },
    { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
    { name: 'shadow0', device: 'net_null1,no-rx=1', role: 'shadow' },
  ],
  translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] },
};

/** Counters the fake reports: session i gets (i + 1) * 100 matched, rule j of it (j + 1) * 10 hits. */
function fakeSessions(plan: PolicyReport, generation: number): SessionsView {
  return {
    generation,
    live: true,
    at: 1_700_000_000_000,
    path: plan.sessions.length === 1 ? 'short' : 'general',
    sessions: plan.sessions.map((s, i) => ({
      id: s.id,
      slot: s.slot,
      priority: s.priority,
      target: s.target,
      ...(s.description !== undefined ? { description: s.description } : {}),
      matched: (i + 1) * 100,
      sampled: (i + 1) * 90,
      mirroredPackets: (i + 1) * 80,
      mirroredBytes: (i + 1) * 8000,
      truncated: i,
      unmappedSeen: 0,
      dropped: Object.fromEntries(SESSION_DROP_REASONS.map((r) => [r, r === 'rate' ? (i + 1) * 5 : r === 'tx_full' ? 3 : 0])) as Record<SessionDropReason, number>,
      rules: s.rules.map((r, j) => ({ id: r.id, index: r.index, line: r.line, hits: (j + 1) * 10 })),
    })),
  };
}

export function fakeDataplane(overrides: Partial<SupervisorStatus> = {}, configInput: Record<string, unknown> = FAKE_CONFIG_INPUT): FakeDataplane {
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
    nicCopies: 0,
    nicDecided: 0,
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
  const config = validateConfig(configInput, { source: 'fake config' });
  let since = new Date(0).toISOString();
  let applyMs: number | null = null;
  let source: PolicyView['source'] = 'config';
  return {
    statusValue,
    statsValue,
    config,
    compiled: compilePolicy(config),
    installError: null,
    installed: [],
    livePorts: null,
    hasConfig: true,
    status() {
      return this.statusValue;
    },
    stats() {
      return this.statsValue;
    },
    policyView() {
      return {
        generation: this.compiled.native.generation,
        applied: this.statusValue.state === 'running',
        since,
        applyMs,
        source,
        policy: policySection(this.config),
        plan: this.compiled.report,
      };
    },
    configInForce() {
      return this.config;
    },
    planInput() {
      return this.hasConfig ? { config: this.config, policy: this.compiled.native, ports: this.livePorts } : null;
    },
    sessionStats() {
      return fakeSessions(this.compiled.report, this.compiled.native.generation);
    },
    async validatePolicy(section) {
      const checked = checkPolicyUpdate(this.config, section, { source: 'policy' });
      if (!checked.config) throw new PolicyError(checked.problems);
      return compilePolicy(checked.config, { generation: this.compiled.native.generation + 1, slots: this.compiled.slots }).report;
    },
    async applyPolicy(section, options = {}) {
      // The service's own rules for what a replacement must be and replace.
      requireWholePolicy(section);
      const current = this.compiled.native.generation;
      if (options.expectGenerations && !options.expectGenerations.includes(current)) {
        throw stError('ST_ERR_PRECONDITION_FAILED', `the policy is at generation ${current}`);
      }
      const checked = checkPolicyUpdate(this.config, section, { source: 'policy' });
      if (!checked.config) throw new PolicyError(checked.problems);
      const next = compilePolicy(checked.config, { generation: this.compiled.native.generation + 1, slots: this.compiled.slots });
      if (this.installError) throw this.installError;
      this.installed.push(section);
      this.config = checked.config;
      this.compiled = next;
      since = new Date(1_700_000_000_000).toISOString();
      applyMs = 1.5;
      source = 'api';
      return this.policyView();
    },
  };
}
