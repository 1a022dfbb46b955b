/**
 * The shape every API-backed command shares: its options (with --url,
 * --token, --json and --help), parsed strictly with suggestions for a
 * mistyped option, and its endpoint resolved (flags, environment, config
 * file). Subcommands are looked up with a suggestion for a mistyped one.
 */
import { parseArgs } from 'node:util';
import { EXIT, out, resolveEndpoint, type CommandOutput, type Endpoint } from './client.js';
import { didYouMean, optionError } from './suggest.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export const API_OPTIONS: OptionSpec = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function usageError(cmd: string, problem: string): CommandOutput {
  return out(EXIT.usage, [], [`shadowtap ${cmd}: ${problem}`, `run \`shadowtap ${cmd} --help\` for usage`]);
}

/** Parse strictly; an unknown option is a usage error with the closest known one. */
export function parseOptions(cmd: string, args: string[], options: OptionSpec): Parsed | CommandOutput {
  const all: OptionSpec = { help: { type: 'boolean', short: 'h' }, ...options };
  try {
    const p = parseArgs({ args, options: all, allowPositionals: true, strict: true });
    return { values: p.values as Parsed['values'], positionals: p.positionals };
  } catch (err) {
    return usageError(cmd, optionError((err as Error).message, Object.keys(all)));
  }
}

export function endpointOf(cmd: string, v: Parsed['values']): Endpoint | CommandOutput {
  const ep = resolveEndpoint({
    ...(typeof v['url'] === 'string' ? { url: v['url'] } : {}),
    ...(typeof v['token'] === 'string' ? { token: v['token'] } : {}),
  });
  if ('error' in ep) return usageError(cmd, ep.error);
  return ep;
}

/** `sub` among `known`, or a usage error naming the closest. */
export function subcommand(cmd: string, sub: string | undefined, known: readonly string[]): string | CommandOutput {
  if (sub === undefined) return usageError(cmd, `expected a subcommand: ${known.join(', ')}`);
  if (known.includes(sub)) return sub;
  return usageError(cmd, `unknown subcommand "${sub}"${didYouMean(sub, known)}; expected ${known.join(', ')}`);
}

export function write(o: CommandOutput): number {
  if (o.stdout.length > 0) process.stdout.write(`${o.stdout.join('\n')}\n`);
  if (o.stderr.length > 0) process.stderr.write(`${o.stderr.join('\n')}\n`);
  return o.code;
}
