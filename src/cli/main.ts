/** Command dispatch for the shadowtap CLI; returns the exit status. */
import { parseArgs } from 'node:util';
import { LOG_LEVELS } from '../config/schema.js';
import { VERSION } from '../version.js';
import { auditCommand } from './audit.js';
import { checkConfigFile } from './check-config.js';
import { HELP } from './help.js';
import { LOG_FORMATS, say, type LogFormat } from './log.js';
import { planCommand } from './plan.js';
import { DEFAULT_URL, policyApply, policyShow, policyValidate, type CommandOutput } from './policy.js';
import { runCommand } from './run.js';
import { topologyExport } from './topology.js';

function emit(o: CommandOutput): number {
  if (o.stdout.length > 0) process.stdout.write(`${o.stdout.join('\n')}\n`);
  if (o.stderr.length > 0) process.stderr.write(`${o.stderr.join('\n')}\n`);
  return o.code;
}

/** `policy <validate|apply|show>` */
async function policyCommand(rest: string[]): Promise<number> {
  const [sub, ...args] = rest;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP['policy']!);
    return sub === undefined ? 2 : 0;
  }
  if (!['validate', 'apply', 'show'].includes(sub)) return usage('policy', `unknown subcommand "${sub}"; expected validate, apply or show`);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args, { url: { type: 'string' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  } catch (err) {
    return usage('policy', (err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v['help']) {
    process.stdout.write(HELP['policy']!);
    return 0;
  }
  const url = (v['url'] as string | undefined) ?? process.env['SHADOWTAP_URL'];
  const json = v['json'] === true;
  switch (sub) {
    case 'validate': {
      if (parsed.positionals.length !== 1) return usage('policy', 'validate: expected exactly one FILE');
      return emit(await policyValidate({ file: parsed.positionals[0]!, json, ...(typeof v['config'] === 'string' ? { config: v['config'] } : {}), ...(url ? { url } : {}) }));
    }
    case 'apply': {
      if (parsed.positionals.length !== 1) return usage('policy', 'apply: expected exactly one FILE');
      if (v['config'] !== undefined) return usage('policy', 'apply: --config is not an option of apply (it sends FILE to --url)');
      return emit(await policyApply({ file: parsed.positionals[0]!, url: url ?? DEFAULT_URL, json }));
    }
    default: {
      if (parsed.positionals.length !== 0) return usage('policy', 'show: takes no FILE');
      return emit(await policyShow({ url: url ?? DEFAULT_URL, json }));
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
  if (sub !== 'export') return usage('topology', `unknown subcommand "${sub}"; expected export`);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args, {
      config: { type: 'string', short: 'c' },
      in: { type: 'string' },
      out: { type: 'string', short: 'o' },
      security: { type: 'boolean' },
      strict: { type: 'boolean' },
    });
  } catch (err) {
    return usage('topology', (err as Error).message);
  }
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
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(rest, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, max: { type: 'string' }, strict: { type: 'boolean' } });
  } catch (err) {
    return usage('audit', (err as Error).message);
  }
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
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(rest, { config: { type: 'string', short: 'c' }, url: { type: 'string' }, explain: { type: 'boolean' }, json: { type: 'boolean' } });
  } catch (err) {
    return usage('plan', (err as Error).message);
  }
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
  return emit(
    await planCommand({
      ...(typeof v['config'] === 'string' ? { config: v['config'] } : {}),
      ...(typeof v['url'] === 'string' ? { url: v['url'] } : {}),
      explain: v['explain'] === true,
      json: v['json'] === true,
    }),
  );
}

function usage(cmd: string, problem: string): number {
  say(`shadowtap ${cmd}: ${problem}`);
  say(`run \`shadowtap ${cmd === 'main' ? '' : `${cmd} `}--help\` for usage`);
  return 2;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse(args: string[], options: OptionSpec) {
  return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
}

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
    if (!text) return usage('help', `unknown command "${topic}"; expected one of run, check-config, policy, plan, topology, audit, doctor, version`);
    process.stdout.write(text);
    return 0;
  }
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
        return usage('main', `unknown command "${cmd}"; expected one of run, check-config, policy, plan, topology, audit, doctor, version, help`);
    }
  } catch (err) {
    return usage(cmd, (err as Error).message);
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
      return runCommand({
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
