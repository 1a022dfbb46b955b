/** Command dispatch for the shadowtap CLI; returns the exit status. */
import { parseArgs } from 'node:util';
import { LOG_LEVELS } from '../config/schema.js';
import { VERSION } from '../version.js';
import { auditCommand } from './audit.js';
import { checkConfigFile } from './check-config.js';
import { HELP } from './help.js';
import { LOG_FORMATS, say, type LogFormat } from './log.js';
import { planCommand } from './plan.js';
import type { CommandOutput, Endpoint } from './client.js';
import { endpointOf, write } from './command.js';
import { LIVE_HELP } from './help-live.js';
import { detectionsCommand } from './detections.js';
import { countersCommand, eventsCommand, healthCommand, metricsCommand, openapiCommand, portsCommand, profilesCommand, reliabilityCommand, statusCommand } from './live.js';
import { policyApply, policyShow, policyValidate } from './policy.js';
import { alertsCommand, dashboardCommand, queryCommand } from './alerts.js';
import { configCommand, mapsCommand, policyDiff, sessionsCommand, topologyApiCommand } from './sessions.js';
import { experimentCommand, faultCommand } from './faults.js';
import { didYouMean, optionError } from './suggest.js';
import { runCommand } from './run.js';
import { topologyExport } from './topology.js';

function emit(o: CommandOutput): number {
  if (o.stdout.length > 0) process.stdout.write(`${o.stdout.join('\n')}\n`);
  if (o.stderr.length > 0) process.stderr.write(`${o.stderr.join('\n')}\n`);
  return o.code;
}

/** `policy <validate|apply|show|diff>` */
async function policyCommand(rest: string[]): Promise<number> {
  const [sub, ...args] = rest;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP['policy']!);
    return sub === undefined ? 2 : 0;
  }
  const known = ['validate', 'apply', 'show', 'diff'];
  if (!known.includes(sub)) return usage('policy', `unknown subcommand "${sub}"${didYouMean(sub, known)}; expected validate, apply, show or diff`);
  const parsed = parseFor('policy', args, {
    url: { type: 'string' },
    token: { type: 'string' },
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean' },
    diff: { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
  });
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v['help']) {
    process.stdout.write(HELP['policy']!);
    return 0;
  }
  const json = v['json'] === true;
  if ((v['diff'] !== undefined || v['yes'] !== undefined) && sub !== 'apply') return usage('policy', `${sub}: --${v['diff'] !== undefined ? 'diff' : 'yes'} is an option of apply`);
  const named = typeof v['url'] === 'string' || process.env['SHADOWTAP_URL'] !== undefined;
  const ep = endpointOf('policy', v);
  if ('stdout' in ep) return write(ep);
  switch (sub) {
    case 'validate': {
      if (parsed.positionals.length !== 1) return usage('policy', 'validate: expected exactly one FILE');
      return emit(await policyValidate({ file: parsed.positionals[0]!, json, ...(typeof v['config'] === 'string' ? { config: v['config'] } : {}), ...(named ? { ep } : {}) }));
    }
    case 'diff': {
      if (parsed.positionals.length !== 1) return usage('policy', 'diff: expected exactly one FILE');
      if (v['config'] !== undefined) return usage('policy', 'diff: --config is not an option of diff (it compares FILE with the running policy)');
      const d = await policyDiff(ep, parsed.positionals[0]!);
      if ('stdout' in d) return write(d);
      if (json) return emit({ code: d.lines.length > 0 ? 1 : 0, stdout: [JSON.stringify({ generation: d.generation, differs: d.lines.length > 0, diff: d.lines }, null, 2)], stderr: [] });
      if (d.lines.length === 0) return emit({ code: 0, stdout: [`no differences: ${parsed.positionals[0]} is the running policy (generation ${d.generation})`], stderr: [] });
      return emit({ code: 1, stdout: d.lines, stderr: [] });
    }
    case 'apply': {
      if (parsed.positionals.length !== 1) return usage('policy', 'apply: expected exactly one FILE');
      if (v['config'] !== undefined) return usage('policy', 'apply: --config is not an option of apply (it sends FILE to --url)');
      const file = parsed.positionals[0]!;
      if (v['diff'] !== true) {
        if (v['yes'] !== undefined) return usage('policy', 'apply: --yes answers the confirmation of --diff; give both');
        return emit(await policyApply({ file, ep, json }));
      }
      const d = await policyDiff(ep, file);
      if ('stdout' in d) return write(d);
      if (d.lines.length === 0) {
        process.stdout.write(`no differences: ${file} is the running policy (generation ${d.generation}); nothing applied\n`);
        return 0;
      }
      process.stdout.write(`${d.lines.join('\n')}\n`);
      if (v['yes'] !== true) {
        if (!process.stdin.isTTY) return usage('policy', 'apply --diff: no terminal to confirm on; add --yes to apply the diff above without asking');
        const { createInterface } = await import('node:readline/promises');
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = (await rl.question(`apply this to the running policy (generation ${d.generation})? [y/N] `)).trim().toLowerCase();
        rl.close();
        if (answer !== 'y' && answer !== 'yes') {
          process.stdout.write('not applied\n');
          return 1;
        }
      }
      // If-Match: what was shown is what is replaced, or nothing is.
      return emit(await policyApply({ file, ep, json, ifMatch: d.etag }));
    }
    default: {
      if (parsed.positionals.length !== 0) return usage('policy', 'show: takes no FILE');
      return emit(await policyShow({ ep, json }));
    }
  }
}

/** `topology export` */
async function topologyCommand(rest: string[]): Promise<number> {
  const [sub, ...args] = rest;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP['topology']!);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'export' && sub !== 'import') return usage('topology', `unknown subcommand "${sub}"${didYouMean(sub, ['export', 'import'])}; expected export or import`);
  // Through a running shadowtap: import always, export when no --config names the maps.
  if (sub === 'import' || (!args.some((a) => a === '--config' || a === '-c' || a.startsWith('--config=')) && !args.includes('--help') && !args.includes('-h'))) {
    return write(await topologyApiCommand(sub, args));
  }
  const parsed = parseFor('topology', args, {
    config: { type: 'string', short: 'c' },
    in: { type: 'string' },
    out: { type: 'string', short: 'o' },
    security: { type: 'boolean' },
    strict: { type: 'boolean' },
  });
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v['help']) {
    process.stdout.write(HELP['topology']!);
    return 0;
  }
  if (typeof v['config'] !== 'string') return usage('topology', 'export: --config FILE is required (its maps translate the topology)');
  if (typeof v['in'] !== 'string') return usage('topology', 'export: --in FILE is required (the production topology, JSON)');
  if (parsed.positionals.length > 0) return usage('topology', `export: unexpected argument "${parsed.positionals[0]}"`);
  return emit(
    await topologyExport({
      config: v['config'],
      input: v['in'],
      ...(typeof v['out'] === 'string' ? { output: v['out'] } : {}),
      security: v['security'] === true,
      strict: v['strict'] === true,
    }),
  );
}

/** `audit CAPTURE... [--config FILE] [--json] [--max N]` */
async function auditCli(rest: string[]): Promise<number> {
  const parsed = parseFor('audit', rest, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, max: { type: 'string' }, strict: { type: 'boolean' } });
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v['help']) {
    process.stdout.write(HELP['audit']!);
    return 0;
  }
  if (parsed.positionals.length === 0) return usage('audit', 'expected at least one CAPTURE (a pcap file of shadow traffic)');
  const max = v['max'] === undefined ? undefined : Number(v['max']);
  if (max !== undefined && !(Number.isInteger(max) && max >= 0)) return usage('audit', `--max: expected a whole number, got "${String(v['max'])}"`);
  return emit(
    await auditCommand({
      captures: parsed.positionals,
      ...(typeof v['config'] === 'string' ? { config: v['config'] } : {}),
      json: v['json'] === true,
      strict: v['strict'] === true,
      ...(max !== undefined ? { max } : {}),
    }),
  );
}

/** `plan [--config FILE | --url URL] [--explain | --json]` */
async function planCli(rest: string[]): Promise<number> {
  const parsed = parseFor('plan', rest, { config: { type: 'string', short: 'c' }, url: { type: 'string' }, token: { type: 'string' }, explain: { type: 'boolean' }, json: { type: 'boolean' } });
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v['help']) {
    process.stdout.write(HELP['plan']!);
    return 0;
  }
  if (parsed.positionals.length > 0) return usage('plan', `unexpected argument "${parsed.positionals[0]}"; use --config FILE`);
  if (v['explain'] === true && v['json'] === true) return usage('plan', '--explain and --json: choose one');
  if (typeof v['url'] === 'string' && typeof v['config'] === 'string') {
    return usage('plan', '--config and --url: choose one (--url shows the running shadowtap\'s plan, of its own configuration)');
  }
  let ep: Endpoint | undefined;
  if (typeof v['url'] === 'string') {
    const e = endpointOf('plan', v);
    if ('stdout' in e) return write(e);
    ep = e;
  }
  return emit(
    await planCommand({
      ...(typeof v['config'] === 'string' ? { config: v['config'] } : {}),
      ...(ep ? { ep } : {}),
      explain: v['explain'] === true,
      json: v['json'] === true,
    }),
  );
}

function usage(cmd: string, problem: string): number {
  say(`shadowtap${cmd === 'main' ? '' : ` ${cmd}`}: ${problem}`);
  say(`run \`shadowtap ${cmd === 'main' ? '' : `${cmd} `}--help\` for usage`);
  return 2;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse(args: string[], options: OptionSpec) {
  return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
}

/** parse, or the usage exit status with a suggestion for a mistyped option. */
function parseFor(cmd: string, args: string[], options: OptionSpec): ReturnType<typeof parse> | number {
  try {
    return parse(args, options);
  } catch (err) {
    return usage(cmd, optionError((err as Error).message, ['help', ...Object.keys(options)]));
  }
}

/** Commands over the admin API (src/cli/live.ts, src/cli/sessions.ts). */
const LIVE: Record<string, (args: string[]) => Promise<CommandOutput>> = {
  status: statusCommand,
  health: healthCommand,
  metrics: metricsCommand,
  counters: countersCommand,
  ports: portsCommand,
  profiles: profilesCommand,
  events: (args) => eventsCommand(args),
  openapi: openapiCommand,
  sessions: sessionsCommand,
  maps: mapsCommand,
  config: configCommand,
  reliability: reliabilityCommand,
  detections: detectionsCommand,
  fault: faultCommand,
  experiment: experimentCommand,
  alerts: alertsCommand,
  query: queryCommand,
  dashboard: dashboardCommand,
};

export const COMMANDS = ['run', 'check-config', 'status', 'reliability', 'detections', 'health', 'sessions', 'fault', 'experiment', 'counters', 'ports', 'profiles', 'maps', 'policy', 'plan', 'events', 'config', 'topology', 'audit', 'metrics', 'alerts', 'query', 'dashboard', 'openapi', 'doctor', 'version', 'help'];

/** The addon's own version line (it names the DPDK it runs on); loading it does not start EAL. */
async function nativeVersion(): Promise<string> {
  const { tryLoadNative } = await import('../native/loader.js');
  const loaded = tryLoadNative();
  if ('error' in loaded) return `unavailable (${loaded.error.code}: ${loaded.error.message.split('\n')[0]})`;
  try {
    return `${loaded.binding.version()} (${loaded.path})`;
  } catch (err) {
    return `unavailable (${(err as Error).message})`;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    process.stdout.write(HELP['main']!);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'help') {
    const topic = rest[0] ?? 'main';
    const text = HELP[topic];
    if (topic === 'doctor') {
      const { DOCTOR_USAGE } = await import('../doctor/command.js');
      process.stdout.write(`${DOCTOR_USAGE}\n`);
      return 0;
    }
    const live = LIVE_HELP[topic];
    if (live) {
      process.stdout.write(live);
      return 0;
    }
    if (!text) return usage('help', `unknown command "${topic}"${didYouMean(topic, COMMANDS)}; expected one of ${COMMANDS.join(', ')}, exit-codes`);
    process.stdout.write(text);
    return 0;
  }
  const live = LIVE[cmd];
  if (live) return write(await live(rest));
  if (cmd === 'policy') return policyCommand(rest);
  if (cmd === 'topology') return topologyCommand(rest);
  if (cmd === 'plan') return planCli(rest);
  if (cmd === 'audit') return auditCli(rest);
  if (cmd === 'doctor') {
    // doctor parses its own options (repeatable --port, --for=...).
    const { doctorCommand } = await import('../doctor/command.js');
    return doctorCommand(rest);
  }
  let parsed: ReturnType<typeof parse>;
  try {
    switch (cmd) {
      case 'run':
        parsed = parse(rest, {
          config: { type: 'string', short: 'c' },
          'log-format': { type: 'string' },
          'log-level': { type: 'string' },
          'max-capture-mb': { type: 'string' },
          'capture-keep': { type: 'string' },
          'discard-state': { type: 'boolean' },
        });
        break;
      case 'check-config':
      case 'version':
        parsed = parse(rest, {});
        break;
      case '--version':
      case '-v':
        parsed = parse([], {});
        break;
      default:
        return usage('main', `unknown command "${cmd}"${didYouMean(cmd, COMMANDS)}; expected one of ${COMMANDS.join(', ')}`);
    }
  } catch (err) {
    return usage(cmd, optionError((err as Error).message, ['help', 'config', 'log-format', 'log-level', 'max-capture-mb', 'capture-keep']));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const name = cmd === '--version' || cmd === '-v' ? 'version' : cmd;
  if (values['help']) {
    process.stdout.write(HELP[name]!);
    return 0;
  }

  switch (name) {
    case 'version': {
      if (parsed.positionals.length > 0) return usage(name, 'takes no arguments');
      process.stdout.write(`shadowtap ${VERSION}\nnode ${process.version}\nnative ${await nativeVersion()}\n`);
      return 0;
    }
    case 'check-config': {
      if (parsed.positionals.length !== 1) return usage(name, 'expected exactly one FILE');
      const out = await checkConfigFile(parsed.positionals[0]!);
      (out.ok ? process.stdout : process.stderr).write(`${out.lines.join('\n')}\n`);
      return out.ok ? 0 : 1;
    }
    case 'run': {
      if (parsed.positionals.length > 0) return usage(name, `unexpected argument "${parsed.positionals[0]}"; use --config FILE`);
      const format = (values['log-format'] as string | undefined) ?? 'json';
      if (!(LOG_FORMATS as readonly string[]).includes(format)) {
        return usage(name, `--log-format "${format}": expected one of ${LOG_FORMATS.join(', ')}`);
      }
      const level = values['log-level'] as string | undefined;
      if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
        return usage(name, `--log-level "${level}": expected one of ${LOG_LEVELS.join(', ')}`);
      }
      const capText = values['max-capture-mb'] as string | undefined;
      const maxCaptureMb = capText === undefined ? undefined : Number(capText);
      if (maxCaptureMb !== undefined && (!Number.isInteger(maxCaptureMb) || maxCaptureMb < 0)) {
        return usage(name, `--max-capture-mb "${capText}": expected a whole number of MiB (0 = no limit)`);
      }
      const keepText = values['capture-keep'] as string | undefined;
      const captureKeep = keepText === undefined ? undefined : Number(keepText);
      if (captureKeep !== undefined && (!/^[0-9]+$/.test(keepText!) || captureKeep > 100000)) {
        return usage(name, `--capture-keep "${keepText}": expected a whole number of rotated files to keep (0 = keep all)`);
      }
      return runCommand({
        ...(captureKeep !== undefined ? { captureKeep } : {}),
        ...(maxCaptureMb !== undefined ? { maxCaptureMb } : {}),
        ...(typeof values['config'] === 'string' ? { config: values['config'] } : {}),
        logFormat: format as LogFormat,
        ...(level ? { logLevel: level as (typeof LOG_LEVELS)[number] } : {}),
        ...(values['discard-state'] === true ? { discardState: true } : {}),
      });
    }
    default:
      return usage('main', `unknown command "${cmd}"`);
  }
}
