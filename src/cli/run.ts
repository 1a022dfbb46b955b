/** `shadowtap run`: data plane under supervision + admin API until a signal. */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Level, Logger } from 'pino';
import { checkBind, loadCredentials, type ApiCredentials } from '../api/credentials.js';
import { buildServer, listen } from '../api/server.js';
import { checkedDefaultConfig, DEMO_FAULTS } from '../config/default.js';
import { loadCheckedConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigError, formatProblem, isShadowtapError } from '../errors.js';
import { createMetricsRegistry } from '../metrics/collector.js';
import { registerAlertMetrics } from '../services/alerts.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { restorePolicy } from '../services/policy.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { VERSION } from '../version.js';
import { createLogger, say, type LogFormat } from './log.js';
import { claimRunDir, pcapFiles, preflight, tapInterfaces } from './preflight.js';

export interface RunOptions {
  config?: string;
  logFormat: LogFormat;
  logLevel?: Level | 'silent';
  /** ms between progress lines; default 10 s */
  progressMs?: number;
  /** stop when a shadow capture file grows past this many MiB; 0 = no limit */
  maxCaptureMb?: number;
  /** rotated captures kept per capture file (FILE.1 ... FILE.N); 0 = all; default 10 */
  captureKeep?: number;
  /** move an unusable saved state aside and start from the file (--discard-state) */
  discardState?: boolean;
}

/** Exit status when the run stopped itself to protect the disk. */
export const EXIT_CAPTURE_LIMIT = 3;

function printProblems(source: string, problems: readonly { path: string; message: string; line?: number }[]): void {
  say(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was started:`);
  for (const p of problems) say(`  ${formatProblem(p, source)}`);
}

export async function runCommand(opts: RunOptions): Promise<number> {
  // 1. Configuration: every problem is printed, nothing starts.
  let config: Config;
  let compiled: CompiledPolicy;
  const source = opts.config ?? 'embedded default config';
  try {
    ({ config, policy: compiled } = opts.config ? await loadCheckedConfigFile(opts.config) : checkedDefaultConfig());
  } catch (err) {
    if (err instanceof ConfigError) {
      printProblems(source, err.problems);
      return 2;
    }
    if (isShadowtapError(err)) {
      say(`${err.code}: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ format: opts.logFormat, level: opts.logLevel ?? config.log.level });

  const pre = preflight(config, false);
  if (pre.problems.length > 0) {
    printProblems(source, pre.problems);
    return 2;
  }

  // Who may use the API, before anything starts: an open API on the network is refused.
  let credentials: ApiCredentials;
  try {
    credentials = loadCredentials(config.api);
    checkBind(config.api, credentials);
  } catch (err) {
    if (!isShadowtapError(err)) throw err;
    logger.error({ err: { code: err.code, message: err.message, field: err.field } }, 'the admin API is not safe to start');
    say(`${err.code}: ${err.message}`);
    return 1;
  }
  if (credentials.tokens.length === 0) logger.info('no API tokens configured: the API is open to local users only (api.host is loopback)');

  // A policy applied through the API survives a restart, unless the file's has changed since;
  // a saved state that cannot be used stops here, with the way out.
  let restored: ReturnType<typeof restorePolicy>;
  try {
    restored = restorePolicy(config, logger, compiled, { discardState: opts.discardState === true });
  } catch (err) {
    if (!isShadowtapError(err)) throw err;
    logger.error({ err: { code: err.code, message: err.message } }, 'cannot restore the saved policy');
    say(`${err.code}: ${err.message}`);
    return 1;
  }

  let supervisor: Supervisor;
  try {
    supervisor = new Supervisor({
      config: restored.config,
      ...(restored.policy ? { policy: restored.policy } : {}),
      logger: logger.child({ component: 'supervisor' }),
      nproc: availableParallelism(),
      stateDir: join(config.run_dir, 'state'),
      runDir: config.run_dir,
      stateBaseHash: restored.baseHash,
      policyGeneration: restored.generation,
      policySource: restored.source,
      ...(opts.captureKeep !== undefined ? { captureKeep: opts.captureKeep } : {}),
      ...(opts.discardState === true ? { discardState: true } : {}),
      // The demo (no --config) runs a scheduled fault on its traffic.
      ...(opts.config ? {} : { faults: structuredClone(DEMO_FAULTS) as unknown[] }),
    });
  } catch (err) {
    if (!isShadowtapError(err)) throw err;
    const problems = (err as { problems?: { path: string; message: string }[] }).problems;
    printProblems(source, problems ?? [{ path: err.field, message: err.message }]);
    return 2;
  }

  // 2. Run directory, demo capture, pid file.
  let release: () => void = () => undefined;
  try {
    const prepared = preflight(config, true);
    if (prepared.demo) logger.info({ file: prepared.demo }, 'generated the demo capture');
    release = claimRunDir(config.run_dir);
  } catch (err) {
    if (!isShadowtapError(err)) throw err;
    logger.error({ err: { code: err.code, message: err.message } }, 'cannot prepare the run directory');
    say(`${err.code}: ${err.message}`);
    return 1;
  }

  // 3. API first: /healthz and /readyz answer while the data plane starts.
  const registry = createMetricsRegistry({
    source: supervisor,
    version: VERSION,
    onError: (err) => logger.warn({ err }, 'metrics collection failed'),
  });
  // The series store samples what /metrics shows, every second; alerts evaluate on each sample.
  registerAlertMetrics(registry, supervisor.services.alerts, supervisor.services.series);
  supervisor.services.series.readFrom(registry);
  const server = await buildServer({
    logger,
    dataplane: supervisor,
    services: supervisor.services,
    registry,
    tls: credentials.tls,
    security: {
      tokens: credentials.tokens,
      bodyLimit: config.api.body_limit,
      jsonDepth: config.api.json_depth,
      rateLimit: { perSecond: config.api.rate_limit.per_second, burst: config.api.rate_limit.burst },
      openProbes: config.api.open_probes,
      auditFile: join(config.run_dir, 'audit.jsonl'),
    },
  });
  let url: string;
  try {
    url = await listen(server, config.api.host, config.api.port);
  } catch (err) {
    release();
    const e = err as Error & { code?: string };
    logger.error({ err: { code: e.code, message: e.message } }, 'cannot start the admin API');
    say(`${e.code ?? 'Error'}: ${e.message}`);
    return 1;
  }

  let stopping: Promise<number> | null = null;
  let progress: NodeJS.Timeout | null = null;
  const shutdown = (why: string, code: number): Promise<number> => {
    if (stopping) return stopping;
    logger.info({ reason: why }, 'shutting down');
    if (progress) clearInterval(progress);
    stopping = (async () => {
      await supervisor.stop().catch((err: unknown) => logger.error({ err }, 'stopping the data plane failed'));
      await server.close().catch((err: unknown) => logger.error({ err }, 'closing the API failed'));
      release();
      logger.info('stopped');
      return code;
    })();
    return stopping;
  };

  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    void shutdown(signal, 0).then(resolveDone);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // 4. Data plane. A failed first start is fatal: the config is wrong for this host.
  logSupervisorEvents(supervisor, logger);
  try {
    await supervisor.start();
  } catch (err) {
    const e = err as Error & { code?: string };
    logger.error({ err: { code: e.code, message: e.message } }, 'the data plane could not start');
    if (opts.logFormat === 'json') say(`${e.code ?? 'Error'}: ${e.message}`); // pretty logs said it already
    if (!stopping) await shutdown('start failed', 1);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return 1;
  }

  const { write } = pcapFiles(config);
  const shadowCaptures = write.filter((f) => config.ports[f.port]?.role === 'shadow').map((f) => resolve(f.path));
  const taps = tapInterfaces(config).filter((t) => config.ports.find((p) => p.name === t.name)?.role === 'shadow');
  const parts = [`metrics at ${url}/metrics`, `dashboard at ${url}/dashboard/`];
  if (shadowCaptures.length) parts.push(`shadow capture ${shadowCaptures.join(', ')}`);
  if (taps.length) parts.push(`tap interface ${taps.map((t) => t.iface).join(', ')}`);
  logger.info(
    { dashboard: `${url}/dashboard/`, metrics: `${url}/metrics`, status: `${url}/v1/status`, shadowCaptures, tapInterfaces: taps.map((t) => t.iface), config: source },
    `shadowtap ${VERSION} running: ${parts.join('; ')}`,
  );

  // 5. Progress: what an operator watching the terminal wants to see move.
  let lastMirrored = supervisor.stats().mirrorPackets;
  let lastAt = Date.now();
  const every = opts.progressMs ?? 10_000;
  progress = setInterval(() => {
    const s = supervisor.stats();
    const now = Date.now();
    const rate = Math.round(((s.mirrorPackets - lastMirrored) * 1000) / Math.max(1, now - lastAt));
    lastMirrored = s.mirrorPackets;
    lastAt = now;
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
    logger.info(
      { mirrored: s.mirrorPackets, translated: s.translatedPackets, dropped, ratePps: rate, state: supervisor.state, restarts: supervisor.restartCount() },
      `mirrored ${s.mirrorPackets} packets (${rate}/s), ${s.translatedPackets} translated, ${dropped} not mirrored`,
    );
  }, every);
  progress.unref();

  // 6. A pcap vdev writes every copy: at full replay speed that is hundreds of
  // MB per second, so a capture past the limit ends the run before the disk fills.
  const limitMb = opts.maxCaptureMb ?? 2048;
  if (limitMb > 0 && shadowCaptures.length > 0) {
    const guard = setInterval(() => {
      for (const file of shadowCaptures) {
        let size = 0;
        try {
          size = statSync(file).size;
        } catch {
          continue;
        }
        if (size > limitMb * 1024 * 1024) {
          clearInterval(guard);
          logger.error(
            { file, sizeMb: Math.round(size / 1048576), limitMb },
            `shadow capture ${file} passed ${limitMb} MiB; stopping to protect the disk (see --max-capture-mb)`,
          );
          void shutdown('capture size limit', EXIT_CAPTURE_LIMIT).then(resolveDone);
          return;
        }
      }
    }, 1000);
    guard.unref();
  }

  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}

function logSupervisorEvents(supervisor: Supervisor, logger: Logger): void {
  supervisor.on('restarting', ({ attempt, delayMs, reason }) =>
    logger.warn({ attempt, delayMs }, `data plane restart ${attempt} in ${delayMs} ms: ${reason}`),
  );
  supervisor.on('ready', ({ pid, restarts }) => {
    if (restarts > 0) logger.info({ dataplanePid: pid, restarts }, 'data plane restarted');
  });
}
