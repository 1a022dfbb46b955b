/**
 * `npm run bench`: shadowtap against dpdk-testpmd and Open vSwitch with DPDK,
 * on the same captures, cores and memory mode, alternately, several rounds.
 *
 *   node dist/bench/run.js [--rounds=5] [--seconds=5] [--warmup=3] [--quick]
 *     [--only=ID,...] [--json FILE] [--memory=auto|hugepages|nohuge]
 *     [--no-docs] [--verbose]
 *
 * Everything it starts (processes, hugepages, a hugetlbfs mount, OVS
 * databases, captures) is given back in a finally block, on SIGINT/SIGTERM,
 * and, synchronously, on exit.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { removeEalLeftovers } from '../src/supervisor/runtime-dir.js';
import { writeCaptures } from './captures.js';
import { measureOnce } from './measure.js';
import { setupMemory } from './memory.js';
import { ovsContender, ovsVersion } from './ovs.js';
import { reconfigUnderLoad, type ReconfigResult } from './reconfig.js';
import { checkTargets, describeMachine, markdown, noiseSummary, summarise, textTable, textTargets, type Report } from './report.js';
import { SCENARIOS, shadowtapContender } from './shadowtap.js';
import { FAULT_SCENARIOS } from './faults.js';
import { supervisorCost, type SupervisorCostResult } from './supervisor-cost.js';
import { testpmdContender, testpmdVersion } from './testpmd.js';
import type { BenchEnv, Contender, ContenderResult } from './types.js';
import { Cleanup } from './util.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: node dist/bench/run.js [options]   (or: npm run bench -- [options])
  --rounds=N        rounds of alternating contenders (default 5)
  --seconds=S       measurement window per contender (default 5)
  --warmup=S        warm-up before the window (default 3)
  --quick           smoke run: 1 round, 1 s warm-up, 2 s window; leaves docs/benchmarks.md alone
  --only=ID[,ID]    only these contenders (ids below; "st-*" for a prefix), plus "reconfig", "supervisor"
  --json FILE       also write the JSON results to FILE
  --memory=MODE     auto (hugepages when possible), hugepages (required), nohuge
  --no-docs         do not regenerate docs/benchmarks.md
  --docs            regenerate it even with --quick or --only
  --from-json FILE  measure nothing: print the table and regenerate docs/benchmarks.md from a results file
  --faults-from F2  with --from-json: the failure-injection rows (st-fault-*) from another results file
                    (e.g. a quick run), named as such in the docs
  --nice=N          niceness of every contender (default -10, the same for all, so that other
                    work on a shared machine disturbs the pinned workers less; 0 = unchanged)
  --verbose         show the contenders' own output`;

/** Every contender, in the order of a round. */
export function allContenders(): Contender[] {
  const st = new Map(SCENARIOS.map((s) => [s.id, shadowtapContender(s)]));
  const pick = (id: string) => st.get(id)!;
  return [
    testpmdContender('io', 'udp64', 1),
    testpmdContender('5tswap', 'udp64', 1),
    ovsContender('mirror'),
    ovsContender('rewrite'),
    pick('st-fwd'),
    pick('st-mirror'),
    pick('st-mirror-xlate'),
    ...FAULT_SCENARIOS.map((f) => pick(f.id)),
    pick('st-meas-xlate'),
    pick('st-measure'),
    pick('st-tap'),
    pick('st-catchall1'),
    pick('st-acl1'),
    pick('st-acl1000'),
    pick('st-sample0'),
    pick('st-sample10'),
    pick('st-vxlan'),
    testpmdContender('io', 'imix', 1),
    pick('st-imix'),
    pick('st-trunc128'),
    testpmdContender('io', 'ctrl', 1),
    pick('st-ctrl'),
    testpmdContender('io', 'udp64', 2),
    pick('st-mirror-xlate-2w'),
  ];
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'string' },
      memory: { type: 'string', default: 'auto' },
      'no-docs': { type: 'boolean', default: false },
      docs: { type: 'boolean', default: false },
      'from-json': { type: 'string' },
      'faults-from': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      nice: { type: 'string', default: '-10' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const num = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}=${v}: expected a number ≥ ${min}`);
    return n;
  };
  const quick = values.quick ?? false;
  const memory = values.memory ?? 'auto';
  if (memory !== 'auto' && memory !== 'hugepages' && memory !== 'nohuge') throw new Error(`--memory=${memory}: expected auto, hugepages or nohuge`);
  return {
    help: values.help ?? false,
    quick,
    rounds: Math.floor(num('rounds', values.rounds, quick ? 1 : 5, 1)),
    measureS: num('seconds', values.seconds, quick ? 2 : 5, 0.5),
    warmupS: num('warmup', values.warmup, quick ? 1 : 3, 0),
    only: values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : null,
    json: values.json ?? null,
    memory: memory as 'auto' | 'hugepages' | 'nohuge',
    docs: !(values['no-docs'] ?? false),
    forceDocs: values.docs ?? false,
    fromJson: values['from-json'] ?? null,
    faultsFrom: values['faults-from'] ?? null,
    verbose: values.verbose ?? false,
    nice: (() => {
      const n = Number(values.nice ?? '-10');
      if (!Number.isInteger(n) || n < -20 || n > 19) throw new Error(`--nice=${values.nice}: expected an integer from -20 to 19`);
      return n;
    })(),
  };
}

function log(msg: string): void {
  process.stdout.write(`[bench] ${msg}\n`);
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseOptions>;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const contenders = allContenders();
  if (opts.fromJson) {
    const report = JSON.parse(readFileSync(resolve(opts.fromJson), 'utf8')) as Report;
    if (opts.faultsFrom) {
      const other = JSON.parse(readFileSync(resolve(opts.faultsFrom), 'utf8')) as Report;
      const o = other.options;
      report.contenders = [...report.contenders.filter((c) => !c.id.startsWith('st-fault-')), ...other.contenders.filter((c) => c.id.startsWith('st-fault-'))];
      report.faultRun = {
        date: other.date,
        command: `npm run bench -- ${o.quick ? '--quick ' : ''}--only=${(o.only ?? []).join(',')}`,
        noise: other.noise,
      };
    }
    report.rows = summarise(report.contenders);
    report.targets = checkTargets(report.contenders, report.rows);
    process.stdout.write(`${textTable(report.rows)}\n\nTargets:\n${textTargets(report.targets)}\n`);
    const o = report.options;
    writeFileSync(join(root, 'docs', 'benchmarks.md'), markdown(report, `npm run bench -- --rounds=${o.rounds} --seconds=${o.measureS} --warmup=${o.warmupS}`));
    log(`docs: ${join(root, 'docs', 'benchmarks.md')} (from ${opts.fromJson})`);
    return 0;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n\ncontenders: ${contenders.map((c) => c.id).join(', ')}, reconfig, supervisor\n`);
    return 0;
  }
  const wanted = (id: string) => opts.only === null || opts.only.some((o) => id === o || (o.endsWith('*') && id.startsWith(o.slice(0, -1))));
  const selected = contenders.filter((c) => wanted(c.id));
  if (opts.only && selected.length === 0 && !wanted('reconfig') && !wanted('supervisor')) {
    process.stderr.write(`--only=${opts.only.join(',')} matches nothing; contenders: ${contenders.map((c) => c.id).join(', ')}, reconfig, supervisor\n`);
    return 2;
  }

  const cleanup = new Cleanup();
  const tmp = mkdtempSync(join(tmpdir(), 'shadowtap-bench-'));
  const rmTmp = () => rmSync(tmp, { recursive: true, force: true });
  cleanup.push(`remove ${tmp}`, rmTmp, rmTmp);
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) {
      process.stderr.write('[bench] second signal: giving back what is left and exiting now\n');
      cleanup.runAllSync();
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`[bench] ${sig}: stopping contenders, giving back hugepages, removing temporary files...\n`);
    void cleanup.runAll().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => cleanup.runAllSync());

  try {
    const captures = writeCaptures(tmp);
    const mem = setupMemory(tmp, opts.memory, cleanup);
    let seq = 0;
    const env: BenchEnv = {
      root,
      tmp,
      mem,
      captures,
      cleanup,
      nproc: availableParallelism(),
      prefix: (tag) => {
        const p = `stbench-${process.pid}-${++seq}-${tag.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 60);
        // Normally removed when the contender stops; this covers a Ctrl-C or a crash.
        const undo = () => void removeEalLeftovers(p);
        cleanup.push(`remove EAL files of ${p}`, undo, undo);
        return p;
      },
      log,
      verbose: opts.verbose,
      nice: process.getuid?.() === 0 ? opts.nice : Math.max(0, opts.nice),
    };
    const machine = describeMachine(root, testpmdVersion(), ovsVersion());
    log(`${machine.cpuModel}, ${machine.cpus} CPUs, kernel ${machine.kernel}, DPDK ${machine.dpdk}, OVS ${machine.ovs || 'absent'}`);
    log(`memory: ${mem.describe}`);
    if (env.nproc < 2) log('warning: fewer than 2 CPUs; the worker shares its CPU with everything else');
    log(`${opts.rounds} round(s), ${opts.warmupS} s warm-up + ${opts.measureS} s window per contender${env.nice ? `, every contender at nice ${env.nice}` : ''}`);

    const results: ContenderResult[] = [];
    for (const c of selected) {
      const why = await c.unavailable(env);
      results.push({ id: c.id, label: c.label, kind: c.kind, capture: c.capture, workers: c.workers, describe: c.describe, unavailable: why, errors: [], samples: [] });
      if (why) log(`${c.id}: ${why}`);
    }
    const runnable = selected.filter((_, i) => results[i]!.unavailable === null);
    for (let round = 1; round <= opts.rounds && !interrupted; round++) {
      log(`round ${round}/${opts.rounds}: ${runnable.length} contenders, about ${Math.ceil((runnable.length * (opts.warmupS + opts.measureS + 4)) / 60)} min`);
      for (const [k, c] of runnable.entries()) {
        if (interrupted) break;
        const res = results.find((r) => r.id === c.id)!;
        // A contender that failed in every round so far is not retried forever.
        if (res.errors.length >= 2 && res.samples.length === 0) continue;
        const head = `round ${round}/${opts.rounds} · ${c.id} (${k + 1}/${runnable.length})`;
        try {
          const s = await measureOnce(env, c, round, { warmupMs: opts.warmupS * 1000, measureMs: opts.measureS * 1000 });
          res.samples.push(s);
          log(`${head}: ${s.mpps.toFixed(2)} Mpps, ${s.gbps.toFixed(2)} Gbit/s${c.kind !== 'testpmd' ? `, copies/in ${s.shadowPerIn.toFixed(2)}` : ''}${s.lost ? `, lost ${s.lost}` : ''}  [cpu0 ${Math.round((s.cpuBusy[0] ?? 0) * 100)} %, load ${loadavg()[0]!.toFixed(2)}]`);
        } catch (err) {
          const msg = (err as Error).message;
          res.errors.push(`round ${round}: ${msg}`);
          log(`${head}: FAILED: ${msg.slice(0, 500)}`);
        }
      }
    }

    let reconfig: ReconfigResult | null = null;
    if (!interrupted && wanted('reconfig')) {
      log('reconfiguration under load: 1-rule → 1,000-rule policy while forwarding at full rate');
      reconfig = await reconfigUnderLoad(env, opts.warmupS * 1000);
      log(reconfig.unavailable ? `reconfig: ${reconfig.unavailable}` : reconfig.error ? `reconfig: FAILED: ${reconfig.error}` : `reconfig: applied in ${reconfig.applyMs?.toFixed(1)} ms, production lost ${reconfig.productionLost}`);
    }
    let supervisor: SupervisorCostResult | null = null;
    if (!interrupted && wanted('supervisor')) {
      log('supervisor costs: /metrics scrape and admin API latency');
      supervisor = await supervisorCost(env, { scrapes: opts.quick ? 20 : 100, apiMs: opts.quick ? 2000 : 5000, apiRate: 200 });
      log(supervisor.error ? `supervisor: FAILED: ${supervisor.error}` : `supervisor: /metrics p50 ${supervisor.scrape?.p50Ms.toFixed(1)} ms; API p50 ${supervisor.api?.p50Ms.toFixed(2)} ms p99 ${supervisor.api?.p99Ms.toFixed(2)} ms`);
    }
    if (interrupted) return 130;

    machine.loadAvgEnd = loadavg();
    const rows = summarise(results);
    const targets = checkTargets(results, rows);
    const date = new Date().toISOString();
    const report: Report = {
      date,
      machine,
      memory: mem,
      options: { rounds: opts.rounds, warmupS: opts.warmupS, measureS: opts.measureS, quick: opts.quick, only: opts.only, nice: env.nice },
      captures: Object.fromEntries(Object.entries(captures).map(([k, v]) => [k, { name: v.name, frames: v.frames, meanBytes: v.meanBytes, describe: v.describe }])) as Report['captures'],
      contenders: results,
      rows,
      targets,
      reconfig,
      supervisor,
      noise: noiseSummary(rows, machine),
    };

    process.stdout.write(`\n${textTable(rows)}\n\nwire rate: frame + 4 B FCS + 20 B preamble/IFG per packet; ×io = over testpmd io on the same capture (and workers); ×OVS rw = over OVS mirror + rewrite (64 B)\n`);
    process.stdout.write(`\nTargets:\n${textTargets(targets)}\n`);
    process.stdout.write(`\nNoise: ${report.noise}\n`);

    const resultsDir = join(root, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    // Only a full run owns <date>.json (the file docs/benchmarks.md names):
    // a partial or smoke run must not replace the figures the docs quote.
    const partial = opts.quick ? '-quick' : opts.only !== null ? '-partial' : '';
    const jsonPath = join(resultsDir, `${date.slice(0, 10)}${partial}.json`);
    const json = `${JSON.stringify(report, null, 2)}\n`;
    writeFileSync(jsonPath, json);
    log(`results: ${jsonPath}`);
    if (opts.json) {
      writeFileSync(resolve(opts.json), json);
      log(`results: ${resolve(opts.json)}`);
    }
    if (opts.forceDocs || (opts.docs && !opts.quick && opts.only === null)) {
      const docs = join(root, 'docs', 'benchmarks.md');
      writeFileSync(docs, markdown(report, `npm run bench -- --rounds=${opts.rounds} --seconds=${opts.measureS} --warmup=${opts.warmupS}`));
      log(`docs: ${docs}`);
    } else if (opts.docs) {
      log('docs/benchmarks.md left alone (--quick or --only); a full run regenerates it');
    }
    return 0;
  } finally {
    await cleanup.runAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[bench] error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
