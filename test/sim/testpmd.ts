/**
 * Drives dpdk-testpmd on the emulated SmartNIC: net_shadowsim loaded as a
 * plugin (-d build/sim/librte_net_shadowsim.so) with a profile rendered from
 * hw-profiles, and testpmd commands fed through standard input. Each command's
 * outcome is read back from testpmd's own output, so this also proves that
 * testpmd parses a command (the planner's rendered `flow create` rules reuse
 * it).
 *
 * Not a test file: test/sim/*.test.ts import it.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The plugin and the native test as the CMake build leaves them ($ST_SIM_BUILD_DIR moves both). */
const BUILD_SIM = process.env['ST_SIM_BUILD_DIR'] ?? join(ROOT, 'build', 'sim');
export const SIM_PLUGIN = join(BUILD_SIM, 'librte_net_shadowsim.so');
export const SIM_TEST_BIN = join(BUILD_SIM, 'st_sim_test');

export interface SimPort {
  /** hw-profile family rendered into the port's profile file */
  family: string;
  /** extra devargs, e.g. capacity=4 */
  devargs?: string;
}

export interface TestpmdRun {
  ports: SimPort[];
  commands: string[];
  /** rx/tx queues per port (QUEUE/RSS indices are checked against it) */
  queues?: number;
  timeoutMs?: number;
}

export type Outcome = 'ok' | 'error' | 'unparsed' | 'other';

export interface CommandResult {
  command: string;
  outcome: Outcome;
  /** everything testpmd printed for the command */
  output: string;
  /** for 'error': the PMD error type number testpmd printed, and the message */
  errorType?: number;
  message?: string;
}

export interface TestpmdResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  results: CommandResult[];
  output: string;
}

let prefixSeq = 0;

/** True when no directory from `dir` up to / is writable by others: EAL refuses
 * to load a -d plugin from under such a directory ("world-writable and
 * insecure"), and a checkout may well live under /tmp. */
function trustedDir(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o002) !== 0) return false;
    } catch {
      return false;
    }
    if (dirname(d) === d) return true;
  }
}

let pluginCopy: string | undefined;

/** The plugin path to give EAL: the build's own when its directory is
 * trusted, else a copy in a private directory (home cache, then /run). */
export function loadablePlugin(): string {
  if (trustedDir(dirname(SIM_PLUGIN))) return SIM_PLUGIN;
  if (pluginCopy && existsSync(pluginCopy)) return pluginCopy;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  for (const base of [join(homedir(), '.cache', 'shadowtap'), `/run/shadowtap-${uid}`]) {
    try {
      mkdirSync(base, { recursive: true, mode: 0o700 });
      if (!trustedDir(base)) continue;
      const target = join(base, `librte_net_shadowsim-${process.pid}.so`);
      copyFileSync(SIM_PLUGIN, target);
      process.once('exit', () => rmSync(target, { force: true }));
      pluginCopy = target;
      return target;
    } catch {
      // try the next place
    }
  }
  throw new Error(`${SIM_PLUGIN} sits under a world-writable directory, which EAL refuses for -d plugins, and no private directory could take a copy`);
}

function classify(command: string, output: string): CommandResult {
  // port_flow_complain(): Caught PMD error type 2 (flow rule (handle)): <cause: 0x..., >message: strerror
  const complain = /Caught PMD error type (\d+) \((?:[^()]|\([^()]*\))*\):\s*(?:cause: 0x[0-9a-f]+, )?(.*)/.exec(output);
  if (complain) return { command, outcome: 'error', output, errorType: Number(complain[1]), message: complain[2]!.trim() };
  if (/Bad arguments|Command not found|Unknown command|Invalid|Ambiguous command/.test(output) && !/Flow rule/.test(output)) {
    return { command, outcome: 'unparsed', output };
  }
  if (/Flow rule (validated|#\d+ created|#\d+ destroyed)/.test(output)) return { command, outcome: 'ok', output };
  if (/^\s*(set |flow (list|query|flush))/.test(command)) return { command, outcome: 'ok', output };
  return { command, outcome: 'other', output };
}

/**
 * Runs testpmd once with the given ports (port i = net_shadowsim<i>) and
 * commands; `quit` is appended. Resolves with one result per command.
 */
export async function runTestpmd(run: TestpmdRun): Promise<TestpmdResult> {
  if (!existsSync(SIM_PLUGIN)) throw new Error(`${SIM_PLUGIN} is missing: build with \`npx cmake-js compile --out build\``);
  const dir = mkdtempSync(join(tmpdir(), 'shadowsim-testpmd-'));
  const prefix = `st_testpmd_${process.pid}_${prefixSeq++}`;
  const set = defaultProfiles();
  const args = ['-oL', '-eL', 'dpdk-testpmd', '-d', loadablePlugin(), '--no-huge', '-m', '512', '--no-pci', '--file-prefix', prefix,
    '--log-level=lib.eal:error'];
  run.ports.forEach((p, i) => {
    const profile = set.byFamily(p.family);
    if (!profile) throw new Error(`no hw-profile ${p.family}`);
    const file = join(dir, `${p.family}-${i}.sim`);
    writeFileSync(file, renderSimProfile(profile));
    args.push('--vdev', `net_shadowsim${i},profile=${file}${p.devargs ? `,${p.devargs}` : ''}`);
  });
  const q = String(run.queues ?? 2);
  args.push('--', '-i', `--rxq=${q}`, `--txq=${q}`, '--total-num-mbufs=4096', '--no-lsc-interrupt');

  // stdout and stderr into one pipe, line-buffered, so that each PMD complaint
  // (stderr) stays next to the command that caused it (stdout).
  const child = spawn('sh', ['-c', 'exec "$@" 2>&1', 'sh', 'stdbuf', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  // One command per line, then quit; testpmd reads them as typed at its prompt.
  child.stdin.end(`${[...run.commands, 'quit'].join('\n')}\n`);
  const timer = setTimeout(() => child.kill('SIGKILL'), run.timeoutMs ?? 60_000);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (c, s) => resolve({ code: c, signal: s })),
  );
  clearTimeout(timer);
  rmSync(dir, { recursive: true, force: true });
  rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });

  // testpmd echoes each command after its prompt: split the transcript there.
  // Matched in order, so a command given twice gets its own result each time.
  const chunks = output.split('testpmd> ').slice(1);
  let next = 0;
  const results: CommandResult[] = run.commands.map((command) => {
    const i = chunks.findIndex((c, k) => k >= next && c.startsWith(command));
    if (i < 0) return { command, outcome: 'other' as const, output: '' };
    next = i + 1;
    return classify(command, chunks[i]!.slice(command.length));
  });
  return { code, signal, results, output };
}
