/**
 * Prometheus metrics, pulled at scrape time: every collect() reads the
 * supervisor's merged counters (one snapshot per scrape, shared by all
 * metrics) and never throws. When the data plane cannot be read,
 * shadowtap_native_up is 0 and the counters keep their carried totals.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { ANOMALIES, DROP_REASONS, RX_INVALID_REASONS, SESSION_DROP_REASONS } from '../dataplane/native-types.js';
import type { ReliabilityStats } from '../services/reliability.js';
import { registerFaultMetrics, type FaultMetricsView } from './faults.js';
import type { ProcessUsage } from '../supervisor/process-usage.js';
import { registerMeasureMetrics, type MeasureMetricsSource } from './measure.js';
import type { SessionsView, SupervisorState, SupervisorStats, SupervisorStatus } from '../supervisor/supervisor.js';

/** What the collector reads; the Supervisor provides it. */
export interface MetricsSource extends MeasureMetricsSource {
  status(): SupervisorStatus;
  stats(): SupervisorStats | null;
  /** per-session counters of the current policy (absent: no session metrics) */
  sessionStats?(): SessionsView | null;
  /** rte_flow offload state (absent: no offload metrics) */
  offloadStats?(): OffloadStats | null;
  /** crashes, quarantine and forward-only (absent: no reliability metrics) */
  reliabilityStats?(): ReliabilityStats | null;
  /** the data-plane process's CPU time and memory (absent: no such metrics) */
  dataplaneUsage?(): ProcessUsage | null;
  /** faults and experiments (absent: no fault metrics) */
  faultMetrics?(): FaultMetricsView | null;
}


/** What the offload manager reports to /metrics. */
export interface OffloadStats {
  rules: { port: string; placement: string; rules: number }[];
  hits: { port: string; rule: string; hits: number }[];
  fallbacks: Record<string, number>;
  disagreements: { port: string; count: number }[];
}

export interface MetricsOptions {
  source: MetricsSource;
  version?: string;
  /** also export Node process metrics as shadowtap_process_* / shadowtap_nodejs_* */
  defaultMetrics?: boolean;
  onError?: (err: unknown) => void;
}

const STATES: readonly SupervisorState[] = ['stopped', 'starting', 'running', 'backoff', 'failed'];

type PortCounterKey = keyof Omit<SupervisorStats['ports'][number], 'name' | 'role' | 'capture'>;

/** metric name suffix, counter field, help */
const PORT_METRICS: readonly [string, PortCounterKey, string][] = [
  ['rx_packets_total', 'rxPackets', 'Packets received on the port by the workers.'],
  ['rx_bytes_total', 'rxBytes', 'Bytes received on the port by the workers.'],
  ['tx_packets_total', 'txPackets', 'Packets sent on the port (production forward or shadow copies).'],
  ['tx_bytes_total', 'txBytes', 'Bytes sent on the port.'],
  ['tx_dropped_total', 'txDropped', 'Packets freed because the tx queue was full.'],
  ['hw_ipackets_total', 'hwIpackets', 'ethdev ipackets: packets the device received.'],
  ['hw_opackets_total', 'hwOpackets', 'ethdev opackets: packets the device sent.'],
  ['hw_ibytes_total', 'hwIbytes', 'ethdev ibytes.'],
  ['hw_obytes_total', 'hwObytes', 'ethdev obytes.'],
  ['hw_imissed_total', 'hwImissed', 'ethdev imissed: packets the device dropped because rx queues were full.'],
  ['hw_ierrors_total', 'hwIerrors', 'ethdev ierrors: erroneous received packets.'],
  ['hw_oerrors_total', 'hwOerrors', 'ethdev oerrors: failed transmissions.'],
  ['hw_rx_nombuf_total', 'hwRxNombuf', 'ethdev rx_nombuf: rx mbuf allocation failures.'],
];

interface Snapshot {
  status: SupervisorStatus | null;
  stats: SupervisorStats | null;
  sessions: SessionsView | null;
}

type SessionCounterKey = 'matched' | 'sampled' | 'mirroredPackets' | 'mirroredBytes' | 'truncated' | 'unmappedSeen';

/** metric name suffix, counter field, help */
const SESSION_METRICS: readonly [string, SessionCounterKey, string][] = [
  ['matched_total', 'matched', 'Packets a filter rule of the session accepted.'],
  ['sampled_total', 'sampled', 'Accepted packets that passed the session\'s sampling.'],
  ['mirrored_packets_total', 'mirroredPackets', 'Copies the session handed to shadow tx.'],
  ['mirrored_bytes_total', 'mirroredBytes', 'Bytes of the copies the session handed to shadow tx (after truncation and encapsulation).'],
  ['truncated_total', 'truncated', 'Copies cut to the session\'s snaplen.'],
  ['unmapped_seen_total', 'unmappedSeen', 'Copies with an address outside every map, counted and not sent (translate.unmapped: count).'],
];

export function createMetricsRegistry(options: MetricsOptions): Registry {
  const registry = new Registry();
  const { source } = options;
  const onError = options.onError ?? (() => undefined);

  // One read serves every metric of a scrape; a scrape takes far less than 100 ms.
  let cached: Snapshot = { status: null, stats: null, sessions: null };
  let cachedAt = -Infinity;
  const read = (): Snapshot => {
    const now = performance.now();
    if (now - cachedAt < 100) return cached;
    let status: SupervisorStatus | null = null;
    let stats: SupervisorStats | null = null;
    try {
      status = source.status();
    } catch (err) {
      onError(err);
    }
    try {
      stats = source.stats();
    } catch (err) {
      onError(err);
    }
    let sessions: SessionsView | null = null;
    try {
      sessions = source.sessionStats?.() ?? null;
    } catch (err) {
      onError(err);
    }
    cached = { status, stats, sessions };
    cachedAt = now;
    return cached;
  };

  /** Wrap a collect body so a bug in it costs one metric's freshness, not the scrape. */
  const safe = (fn: (this: Gauge, snap: Snapshot) => void) =>
    function collect(this: Gauge): void {
      try {
        fn.call(this, read());
      } catch (err) {
        onError(err);
      }
    };

  new Gauge({
    name: 'shadowtap_native_up',
    help: '1 when the data plane is running and answered the last stats poll, else 0.',
    registers: [registry],
    collect: function (this: Gauge) {
      try {
        const { stats } = read();
        this.set(stats?.live ? 1 : 0);
      } catch (err) {
        this.set(0);
        onError(err);
      }
    },
  });

  new Gauge({
    name: 'shadowtap_dataplane_state',
    help: 'Data-plane supervisor state (1 for the current state).',
    labelNames: ['state'],
    registers: [registry],
    collect: safe(function (this: Gauge, { status }: Snapshot) {
      if (!status) return;
      for (const s of STATES) this.set({ state: s }, status.state === s ? 1 : 0);
    }),
  });

  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter, snap: Snapshot) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect: function (this: Counter) {
        try {
          const snap = read();
          if (!snap.stats && !snap.status && !snap.sessions) return; // keep the last values
          // Counters are absolute totals read from the data plane: reset, then set by inc.
          this.reset();
          fill(this, snap);
        } catch (err) {
          onError(err);
        }
      },
    });

  counter('shadowtap_dataplane_restarts_total', 'Data-plane restarts after an unexpected exit.', [], (c, { status }) => {
    c.inc(status?.restarts ?? 0);
  });

  new Gauge({
    name: 'shadowtap_dataplane_uptime_seconds',
    help: 'Seconds the current data-plane process has been running (0 when not running).',
    registers: [registry],
    collect: safe(function (this: Gauge, { status }: Snapshot) {
      this.set(status?.uptimeSeconds ?? 0);
    }),
  });

  new Gauge({
    name: 'shadowtap_port_info',
    help: 'Configured ports: role and driver (value is always 1).',
    labelNames: ['port', 'role', 'driver'],
    registers: [registry],
    collect: safe(function (this: Gauge, { status }: Snapshot) {
      if (!status) return;
      this.reset();
      for (const p of status.ports) this.set({ port: p.name, role: p.role, driver: p.driver ?? '' }, 1);
    }),
  });

  for (const [suffix, key, help] of PORT_METRICS) {
    counter(`shadowtap_port_${suffix}`, help, ['port'], (c, { stats }) => {
      for (const p of stats?.ports ?? []) c.inc({ port: p.name }, p[key]);
    });
  }

  // Capture ports (net_stcap): what the writer wrote, rotated, removed and lost.
  counter('shadowtap_capture_packets_total', 'Copies a capture port wrote to its files.', ['port'], (c, { stats }) => {
    for (const p of stats?.ports ?? []) if (p.capture) c.inc({ port: p.name }, p.capture.packets);
  });
  counter('shadowtap_capture_bytes_total', 'Bytes a capture port wrote to its files (pcapng framing included).', ['port'], (c, { stats }) => {
    for (const p of stats?.ports ?? []) if (p.capture) c.inc({ port: p.name }, p.capture.bytes);
  });
  counter('shadowtap_capture_rotations_total', 'Capture files closed for a new one while running (size or time).', ['port'], (c, { stats }) => {
    for (const p of stats?.ports ?? []) if (p.capture) c.inc({ port: p.name }, p.capture.rotations);
  });
  counter('shadowtap_capture_files_removed_total', 'Oldest capture files removed to keep rotate.count.', ['port'], (c, { stats }) => {
    for (const p of stats?.ports ?? []) if (p.capture) c.inc({ port: p.name }, p.capture.filesRemoved);
  });
  counter(
    'shadowtap_capture_dropped_total',
    'Copies a capture port did not write: ring_full (the writer was behind; the worker dropped the copy), nomem, write_error.',
    ['port', 'reason'],
    (c, { stats }) => {
      for (const p of stats?.ports ?? []) {
        if (!p.capture) continue;
        c.inc({ port: p.name, reason: 'ring_full' }, p.capture.ringFull);
        c.inc({ port: p.name, reason: 'nomem' }, p.capture.nomem);
        c.inc({ port: p.name, reason: 'write_error' }, p.capture.writeErrors);
      }
    },
  );

  counter('shadowtap_mirror_packets_total', 'Shadow copies handed to shadow tx.', [], (c, { stats }) => c.inc(stats?.mirrorPackets ?? 0));
  counter('shadowtap_mirror_bytes_total', 'Bytes of shadow copies handed to shadow tx.', [], (c, { stats }) => c.inc(stats?.mirrorBytes ?? 0));
  counter(
    'shadowtap_mirror_translated_packets_total',
    'Shadow copies with at least one address rewritten by the maps.',
    [],
    (c, { stats }) => c.inc(stats?.translatedPackets ?? 0),
  );
  counter('shadowtap_mirror_dropped_total', 'Shadow copies not sent, by reason.', ['reason'], (c, { stats }) => {
    for (const r of DROP_REASONS) c.inc({ reason: r }, stats?.dropped[r] ?? 0);
  });
  counter(
    'shadowtap_leak_total',
    'Shadow copies whose payload carried addresses that were not translated: dropped (fail-closed, or the leak policy says drop) or passed as they were (leak policy pass), by payload protocol and reason.',
    ['protocol', 'reason', 'action'],
    (c, { stats }) => {
      for (const [protocol, byReason] of Object.entries(stats?.leak ?? {})) {
        for (const [reason, n] of Object.entries(byReason ?? {})) {
          if (n.drop > 0) c.inc({ protocol, reason, action: 'drop' }, n.drop);
          if (n.pass > 0) c.inc({ protocol, reason, action: 'pass' }, n.pass);
        }
      }
    },
  );
  counter(
    'shadowtap_bgp_flows_evicted_total',
    'BGP flow states (per-worker table, 128 flows) evicted to make room for new flows; an evicted flow picks up again at its next segment that starts a message.',
    [],
    (c, { stats }) => c.inc(stats?.bgpFlowsEvicted ?? 0),
  );
  counter(
    'shadowtap_dns_tcp_flows_evicted_total',
    'DNS and LLMNR over TCP flow states (a per-worker table of 128 flows of their own, apart from BGP\'s) evicted to make room for new flows; an evicted flow picks up again at its next segment that starts with whole messages.',
    [],
    (c, { stats }) => c.inc(stats?.dnsTcpFlowsEvicted ?? 0),
  );
  counter('shadowtap_packet_anomalies_total', 'Malformed or unusual production frames, by kind.', ['kind'], (c, { stats }) => {
    for (const k of ANOMALIES) c.inc({ kind: k }, stats?.anomalies[k] ?? 0);
  });
  const reliability = (): ReliabilityStats | null => {
    try {
      return source.reliabilityStats?.() ?? null;
    } catch (err) {
      onError(err);
      return null;
    }
  };
  new Counter({
    name: 'shadowtap_dataplane_crashes_total',
    help: 'Data-plane crashes the flight recorder attributed to a stage (a worker took a fatal signal there).',
    labelNames: ['stage'],
    registers: [registry],
    collect: function (this: Counter) {
      const r = reliability();
      if (!r) return;
      this.reset();
      for (const [stage, n] of Object.entries(r.crashesByStage)) this.inc({ stage }, n);
    },
  });
  new Gauge({
    name: 'shadowtap_quarantine_entries',
    help: 'Packet signatures in quarantine: packets with one of them skip all shadow work until it expires.',
    registers: [registry],
    collect: function (this: Gauge) {
      const r = reliability();
      if (r) this.set(r.quarantineEntries);
    },
  });
  new Gauge({
    name: 'shadowtap_forward_only',
    help: '1 while the data plane runs forward-only after a crash loop (no shadow work until an operator clears it).',
    registers: [registry],
    collect: function (this: Gauge) {
      const r = reliability();
      if (r) this.set(r.forwardOnly ? 1 : 0);
    },
  });
  new Gauge({
    name: 'shadowtap_dataplane_last_outage_seconds',
    help: 'How long the last data-plane crash interrupted production: from the crash to the next data plane\'s workers running.',
    registers: [registry],
    collect: function (this: Gauge) {
      const r = reliability();
      if (r && r.lastOutageMs !== null) this.set(r.lastOutageMs / 1000);
    },
  });
  counter('shadowtap_quarantined_packets_total', 'Production packets forwarded without shadow work because their signature is in quarantine.', [], (c, { stats }) => {
    c.inc(stats?.quarantined ?? 0);
  });

  counter(
    'shadowtap_rx_invalid_total',
    'Received mbufs whose lengths disagree with their own segment chain (a driver or firmware fault), by reason; never copied, forwarded only where safe.',
    ['reason'],
    (c, { stats }) => {
      for (const r of RX_INVALID_REASONS) c.inc({ reason: r }, stats?.rxInvalid?.[r] ?? 0);
    },
  );
  counter(
    'shadowtap_shadow_rx_packets_total',
    'Packets received on shadow ports (counted, then dropped: never forwarded to production).',
    [],
    (c, { stats }) => c.inc(stats?.shadowRxPackets ?? 0),
  );
  counter(
    'shadowtap_nic_copies_total',
    'Copies made by the NIC (a hardware SAMPLE, MARKed as a copy) and finished in software; never forwarded to production.',
    [],
    (c, { stats }) => c.inc(stats?.nicCopies ?? 0),
  );
  counter(
    'shadowtap_nic_decided_packets_total',
    'Production packets whose session the NIC decided and copied in hardware (MARKed as decided); software made no copy of them.',
    [],
    (c, { stats }) => c.inc(stats?.nicDecided ?? 0),
  );

  counter('shadowtap_worker_loops_total', 'Poll loops per worker lcore.', ['lcore'], (c, { stats }) => {
    for (const w of stats?.workers ?? []) c.inc({ lcore: String(w.lcore) }, w.loops);
  });
  counter('shadowtap_worker_busy_loops_total', 'Poll loops that received packets, per worker lcore.', ['lcore'], (c, { stats }) => {
    for (const w of stats?.workers ?? []) c.inc({ lcore: String(w.lcore) }, w.busyLoops);
  });
  new Gauge({
    name: 'shadowtap_worker_busy_ratio',
    help: 'Share of poll loops that found packets over the last poll interval, per worker lcore.',
    labelNames: ['lcore'],
    registers: [registry],
    collect: safe(function (this: Gauge, { stats }: Snapshot) {
      if (!stats) return;
      this.reset();
      for (const w of stats.workers) this.set({ lcore: String(w.lcore) }, w.busyRatio);
    }),
  });

  // ---- the mirror policy: per session, per rule
  new Gauge({
    name: 'shadowtap_policy_generation',
    help: 'Generation of the current mirror policy (increases with every applied policy).',
    registers: [registry],
    collect: safe(function (this: Gauge, { sessions }: Snapshot) {
      if (sessions) this.set(sessions.generation);
    }),
  });
  for (const [suffix, key, help] of SESSION_METRICS) {
    counter(`shadowtap_session_${suffix}`, help, ['session'], (c, { sessions }) => {
      for (const s of sessions?.sessions ?? []) c.inc({ session: String(s.id) }, s[key]);
    });
  }
  counter('shadowtap_session_dropped_total', 'Copies of the session not sent, by reason (rate cap, no mbuf, shadow tx full, unmapped, malformed, firewall, encapsulation, not IP).', ['session', 'reason'], (c, { sessions }) => {
    for (const s of sessions?.sessions ?? []) for (const r of SESSION_DROP_REASONS) c.inc({ session: String(s.id), reason: r }, s.dropped[r] ?? 0);
  });
  counter('shadowtap_rule_hits_total', 'Packets a filter rule decided (accepted or rejected), per session and rule id.', ['session', 'rule'], (c, { sessions }) => {
    for (const s of sessions?.sessions ?? []) for (const r of s.rules) c.inc({ session: String(s.id), rule: r.id }, r.hits);
  });

  // ---- rte_flow offload (read at scrape time; hits are COUNT queries at poll time)
  const offload = (): OffloadStats | null => {
    try {
      return source.offloadStats?.() ?? null;
    } catch (err) {
      onError(err);
      return null;
    }
  };
  if (source.offloadStats) {
    new Gauge({
      name: 'shadowtap_offload_rules',
      help: 'rte_flow rules installed in the NIC, per port and placement (punt, hybrid-classify...).',
      labelNames: ['port', 'placement'],
      registers: [registry],
      collect: safe(function (this: Gauge) {
        this.reset();
        for (const r of offload()?.rules ?? []) this.set({ port: r.port, placement: r.placement }, r.rules);
      }),
    });
    new Gauge({
      name: 'shadowtap_offload_probe_disagreements',
      help: 'Capabilities where rte_flow_validate disagreed with the port\'s profile (the probe wins).',
      labelNames: ['port'],
      registers: [registry],
      collect: safe(function (this: Gauge) {
        this.reset();
        for (const d of offload()?.disagreements ?? []) this.set({ port: d.port }, d.count);
      }),
    });
    counter('shadowtap_offload_rule_hits_total', 'Packets an rte_flow rule matched in the NIC (COUNT), per port and plan rule id.', ['port', 'rule'], (c) => {
      for (const h of offload()?.hits ?? []) c.inc({ port: h.port, rule: h.rule }, h.hits);
    });
    counter('shadowtap_offload_fallbacks_total', 'Groups of rte_flow rules moved to the software path because a create failed, by reason (counted once per group).', ['reason'], (c) => {
      for (const [reason, n] of Object.entries(offload()?.fallbacks ?? {})) c.inc({ reason }, n);
    });
  }

  if (source.dataplaneUsage) {
    const usage = (): ProcessUsage | null => {
      try {
        return source.dataplaneUsage!();
      } catch (err) {
        onError(err);
        return null;
      }
    };
    new Counter({
      name: 'shadowtap_dataplane_cpu_seconds_total',
      help: 'User and system CPU time of the data-plane processes (from /proc/<pid>/stat), carried across restarts.',
      registers: [registry],
      collect: function (this: Counter) {
        const u = usage();
        if (!u) return;
        this.reset();
        this.inc(u.cpuSeconds);
      },
    });
    new Gauge({
      name: 'shadowtap_dataplane_resident_memory_bytes',
      help: 'Resident memory of the running data-plane process (VmRSS; 0 when none runs). Hugepages are not part of it.',
      registers: [registry],
      collect: safe(function (this: Gauge) {
        const u = usage();
        if (u) this.set(u.residentBytes);
      }),
    });
  }

  new Gauge({
    name: 'shadowtap_build_info',
    help: 'shadowtap and native data-plane versions (value is always 1).',
    labelNames: ['version', 'native'],
    registers: [registry],
    collect: safe(function (this: Gauge, { status }: Snapshot) {
      this.reset();
      this.set({ version: options.version ?? 'unknown', native: status?.nativeVersion ?? '' }, 1);
    }),
  });

  // Measurement and detection (absent in the source: no such metrics).
  registerMeasureMetrics(registry, source, onError);
  if (source.faultMetrics) registerFaultMetrics(registry, () => source.faultMetrics!(), onError);

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'shadowtap_' });
  return registry;
}
