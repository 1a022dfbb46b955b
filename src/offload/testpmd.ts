/**
 * FlowRule → dpdk-testpmd commands (DPDK 22.11 flow grammar), so an operator
 * can replay any rule of the plan by hand, and a checker that feeds commands
 * to a real dpdk-testpmd and reports the ones it could not parse.
 *
 * A rule renders to one `flow create|validate` line, preceded by the `set`
 * commands testpmd needs for actions whose configuration lives outside the
 * line: `set sample_actions N ...` for SAMPLE's copy list, `set vxlan...` for
 * VXLAN_ENCAP, `set raw_encap N ... / end_set` for RAW_ENCAP. Each rule's
 * lines are self-contained (indexes start at 0 per rule), so pasting one
 * rule's block reproduces that rule.
 *
 * testpmd reads a command line into a 512-byte buffer: a longer line is
 * refused as "Bad arguments". Masked addresses are written as `spec/mask`
 * (what the operator reads in the policy); when that is too long, contiguous
 * masks are written as `prefix N` instead.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ITEM_FIELDS,
  checkFlowRule,
  type FlowAction,
  type FlowItem,
  type FlowRule,
} from './flow.js';

/** Longest command line testpmd 22.11 accepts (its line buffer is 512 bytes with the newline). */
export const TESTPMD_MAX_LINE = 510;

/**
 * The `set sample_actions` index never set by a rendering: SAMPLE with an
 * empty copy list (mlx5 E-Switch sampling above ratio 1) refers to it, and
 * testpmd's sample buffers start out as an empty list.
 */
export const EMPTY_SAMPLE_INDEX = 7;

/**
 * A rule that is malformed or that testpmd's grammar cannot express. Internal:
 * the planner turns it into a note on the rule, so it has no catalogue code.
 */
export class FlowRenderError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

export interface RenderOptions {
  /** `create` (default) or `validate` */
  command?: 'create' | 'validate';
  /** first index for `set sample_actions` / `set raw_encap` (testpmd keeps 8 of each: 0..7; sample index 7 stays empty) */
  firstIndex?: number;
}

/** Fields an operator reads in hex: EtherTypes, tags, flags. */
const HEX_FIELDS = new Set(['eth.type', 'vlan.inner_type', 'vlan.tci', 'tcp.flags', 'geneve.protocol']);

function value(item: string, field: string, v: string | number): string {
  if (typeof v === 'number' && HEX_FIELDS.has(`${item}.${field}`)) return `0x${v.toString(16).padStart(field === 'flags' ? 2 : 4, '0')}`;
  return String(v);
}

/** Prefix length of a contiguous mask (IPv4 dotted or IPv6 text), or undefined. */
function maskPrefix(mask: string): number | undefined {
  let bits = '';
  if (mask.includes('.')) {
    bits = mask.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  } else {
    const halves = mask.split('::');
    const head = halves[0] ? halves[0].split(':') : [];
    const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
    const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
    bits = groups.map((g) => parseInt(g || '0', 16).toString(2).padStart(16, '0')).join('');
  }
  const m = /^(1*)(0*)$/.exec(bits);
  return m ? m[1]!.length : undefined;
}

function renderItem(item: FlowItem, usePrefix: boolean): string {
  const parts: string[] = [item.type];
  const spec = (item.spec ?? {}) as Record<string, string | number | undefined>;
  const mask = (item.mask ?? {}) as Record<string, string | number | undefined>;
  for (const field of Object.keys(ITEM_FIELDS[item.type])) {
    const s = spec[field];
    if (s === undefined) continue;
    const m = mask[field];
    if (m === undefined) {
      parts.push(`${field} is ${value(item.type, field, s)}`);
      continue;
    }
    const prefix = usePrefix && typeof m === 'string' ? maskPrefix(m) : undefined;
    if (prefix !== undefined) parts.push(`${field} spec ${value(item.type, field, s)} ${field} prefix ${prefix}`);
    else parts.push(`${field} spec ${value(item.type, field, s)} ${field} mask ${typeof m === 'number' ? `0x${m.toString(16)}` : m}`);
  }
  return parts.join(' ');
}

function renderPattern(items: readonly FlowItem[], usePrefix: boolean): string {
  return [...items.map((i) => renderItem(i, usePrefix)), 'end'].join(' / ');
}

/** `set vxlan...` for a VXLAN_ENCAP definition, in the one testpmd form that carries all of it. */
function renderSetVxlan(def: readonly FlowItem[], field: string): string {
  const find = <T extends FlowItem['type']>(t: T) => def.find((i) => i.type === t) as Extract<FlowItem, { type: T }> | undefined;
  const eth = find('eth');
  const vlan = find('vlan');
  const ip4 = find('ipv4');
  const ip6 = find('ipv6');
  const udp = find('udp');
  const vx = find('vxlan');
  const ip = ip4 ?? ip6;
  const need = (v: string | number | undefined, what: string): string | number => {
    if (v === undefined) throw new FlowRenderError(field, `VXLAN_ENCAP needs ${what} in its definition for testpmd's set vxlan`);
    return v;
  };
  const tos = ip4?.spec?.tos ?? ip6?.spec?.tc;
  const ttl = ip4?.spec?.ttl ?? ip6?.spec?.hop;
  const withTosTtl = tos !== undefined || ttl !== undefined;
  if (vlan && withTosTtl) {
    throw new FlowRenderError(field, 'testpmd has no set vxlan form with both a VLAN tag and IP TOS/TTL; expected one of them (or RAW_ENCAP)');
  }
  const head = vlan ? 'set vxlan-with-vlan' : withTosTtl ? 'set vxlan-tos-ttl' : 'set vxlan';
  const parts = [
    head,
    `ip-version ${ip4 ? 'ipv4' : 'ipv6'}`,
    `vni ${need(vx?.spec?.vni, 'vxlan vni')}`,
    `udp-src ${udp?.spec?.src ?? 0}`,
    `udp-dst ${udp?.spec?.dst ?? 4789}`,
  ];
  if (withTosTtl) parts.push(`ip-tos ${tos ?? 0}`, `ip-ttl ${ttl ?? 64}`);
  parts.push(`ip-src ${need(ip?.spec?.src, 'the outer IP source')}`, `ip-dst ${need(ip?.spec?.dst, 'the outer IP destination')}`);
  if (vlan) parts.push(`vlan-tci ${need(vlan.spec?.tci ?? vlan.spec?.vid, 'vlan tci')}`);
  parts.push(`eth-src ${need(eth?.spec?.src, 'eth src')}`, `eth-dst ${need(eth?.spec?.dst, 'eth dst')}`);
  return parts.join(' ');
}

interface Ctx {
  pre: string[];
  next: { sample: number; raw: number };
}

function renderActions(actions: readonly FlowAction[], ctx: Ctx, path: string): string {
  const parts: string[] = [];
  actions.forEach((a, i) => {
    const p = `${path}[${i}]`;
    switch (a.type) {
      case 'count':
      case 'drop':
      case 'passthru':
        parts.push(a.type);
        break;
      case 'mark': parts.push(`mark id ${a.id}`); break;
      case 'queue': parts.push(`queue index ${a.index}`); break;
      case 'rss': parts.push(a.queues ? `rss queues ${a.queues.join(' ')} end` : 'rss'); break;
      case 'jump': parts.push(`jump group ${a.group}`); break;
      case 'port_id': parts.push(`port_id id ${a.id}`); break;
      case 'represented_port': parts.push(`represented_port ethdev_port_id ${a.ethdev_port_id}`); break;
      case 'set_ipv4_src':
      case 'set_ipv4_dst': parts.push(`${a.type} ipv4_addr ${a.ipv4_addr}`); break;
      case 'set_ipv6_src':
      case 'set_ipv6_dst': parts.push(`${a.type} ipv6_addr ${a.ipv6_addr}`); break;
      case 'set_mac_src':
      case 'set_mac_dst': parts.push(`${a.type} mac_addr ${a.mac_addr}`); break;
      case 'of_push_vlan': parts.push(`of_push_vlan ethertype 0x${a.ethertype.toString(16).padStart(4, '0')}`); break;
      case 'of_set_vlan_vid': parts.push(`of_set_vlan_vid vlan_vid ${a.vlan_vid}`); break;
      case 'of_set_vlan_pcp': parts.push(`of_set_vlan_pcp vlan_pcp ${a.vlan_pcp}`); break;
      case 'vxlan_encap':
        ctx.pre.push(renderSetVxlan(a.definition, `${p}.definition`));
        parts.push('vxlan_encap');
        break;
      case 'raw_encap': {
        const idx = ctx.next.raw++;
        if (idx > 7) throw new FlowRenderError(p, 'more than 8 RAW_ENCAP headers in one rule; testpmd keeps 8 (index 0..7)');
        ctx.pre.push(`set raw_encap ${idx} ${a.header.map((it) => renderItem(it, false)).join(' / ')} / end_set`);
        parts.push(`raw_encap index ${idx}`);
        break;
      }
      case 'sample': {
        // testpmd cannot `set` an empty copy list ("Bad arguments"); its
        // buffers start empty, so an empty list uses the index kept for it.
        if (a.actions.length === 0) {
          parts.push(`sample ratio ${a.ratio} index ${EMPTY_SAMPLE_INDEX}`);
          break;
        }
        const idx = ctx.next.sample++;
        if (idx >= EMPTY_SAMPLE_INDEX) throw new FlowRenderError(p, `more than ${EMPTY_SAMPLE_INDEX} SAMPLE copy lists in one rule; testpmd keeps 8 (index ${EMPTY_SAMPLE_INDEX} stays empty)`);
        // The copy's own `set` lines (vxlan, raw_encap) must come before its sample_actions line.
        const list = renderActions(a.actions, ctx, `${p}.actions`);
        ctx.pre.push(`set sample_actions ${idx} ${list}`);
        parts.push(`sample ratio ${a.ratio} index ${idx}`);
        break;
      }
    }
  });
  return [...parts, 'end'].join(' / ');
}

/**
 * The testpmd command lines for one rule: any `set` lines it needs, then the
 * `flow create|validate` line. Throws FlowRenderError (naming the field) for a
 * malformed rule or one testpmd cannot express.
 */
export function renderTestpmd(rule: FlowRule, opts: RenderOptions = {}): string[] {
  const problems = checkFlowRule(rule);
  if (problems.length > 0) throw new FlowRenderError(problems[0]!.field, problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  const first = opts.firstIndex ?? 0;
  const ctx: Ctx = { pre: [], next: { sample: first, raw: first } };
  const actions = renderActions(rule.actions, ctx, 'actions');
  const a = rule.attr;
  const head = [`flow ${opts.command ?? 'create'} ${rule.port}`];
  if (a.group) head.push(`group ${a.group}`);
  if (a.priority) head.push(`priority ${a.priority}`);
  if (a.ingress) head.push('ingress');
  if (a.egress) head.push('egress');
  if (a.transfer) head.push('transfer');
  const line = (usePrefix: boolean) => `${head.join(' ')} pattern ${renderPattern(rule.pattern, usePrefix)} actions ${actions}`;
  let flow = line(false);
  if (flow.length > TESTPMD_MAX_LINE) flow = line(true);
  return [...ctx.pre, flow];
}

// ---- replaying commands through a real dpdk-testpmd ---------------------------------

export interface TestpmdLineResult {
  command: string;
  /** what testpmd printed in answer (stdout and stderr, in order) */
  output: string;
  /** testpmd's command-line parser refused it */
  parseError: boolean;
  /** the PMD answered (validate/create reached the driver): net_null says "Function not implemented" */
  reachedDriver: boolean;
}

export interface TestpmdParseResult {
  ok: boolean;
  lines: TestpmdLineResult[];
  /** the whole transcript, for failure messages */
  transcript: string;
  exitCode: number | null;
  timedOut: boolean;
}

export interface TestpmdParseOptions {
  binary?: string;
  /** EAL file prefix; default st-tpmd-<pid>-<n> (its /var/run/dpdk directory is removed afterwards) */
  filePrefix?: string;
  timeoutMs?: number;
  /** where DPDK keeps per-prefix runtime directories */
  runtimeDir?: string;
}

const PARSE_ERRORS = [/bad arguments/i, /command not found/i, /ambiguous command/i, /bad argument/i];
let prefixSeq = 0;

/**
 * Feed `commands` to dpdk-testpmd on a net_null vdev (no rte_flow, so every
 * rule that parses is answered "Function not implemented") and report, per
 * command, whether the parser refused it. EAL runs with --no-huge --no-pci
 * and a unique file prefix; the process is killed (by its pid) on timeout and
 * its runtime directory removed.
 */
export async function parseWithTestpmd(commands: readonly string[], opts: TestpmdParseOptions = {}): Promise<TestpmdParseResult> {
  for (const [i, c] of commands.entries()) {
    if (c.includes('\n')) throw new FlowRenderError(`commands[${i}]`, 'contains a newline; expected one command per entry');
  }
  const prefix = opts.filePrefix ?? `st-tpmd-${process.pid}-${prefixSeq++}`;
  const runtimeDir = opts.runtimeDir ?? '/var/run/dpdk';
  const args = [
    '--no-huge', '-m', '256', '--no-pci', '--file-prefix', prefix, '--log-level', 'lib.eal:error',
    '--vdev', 'net_null0,no-rx=1',
    '--', '-i', '--nb-cores=1', '--total-num-mbufs=2048',
  ];
  // stdout and stderr share one file, so testpmd's answers (parser errors on
  // stdout, PMD errors on stderr) stay in the order it wrote them; two pipes
  // would be read independently and interleave.
  const dir = mkdtempSync(join(tmpdir(), 'st-tpmd-'));
  const outPath = join(dir, 'transcript');
  const fd = openSync(outPath, 'w');
  let transcript = '';
  let timedOut = false;
  let exitCode: number | null = null;
  try {
    const child = spawn(opts.binary ?? 'dpdk-testpmd', args, { stdio: ['pipe', fd, fd] });
    exitCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, opts.timeoutMs ?? 60_000);
      child.on('error', () => {
        clearTimeout(timer);
        resolve(null);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      child.stdin?.on('error', () => { /* testpmd exited early; reported through the transcript */ });
      child.stdin?.end([...commands, 'quit', ''].join('\n'));
    });
  } finally {
    closeSync(fd);
    transcript = readFileSync(outPath, 'utf8');
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(join(runtimeDir, prefix), { recursive: true, force: true });

  // testpmd echoes each line after its prompt; what follows, up to the next
  // prompt, is its answer (stderr is unbuffered and testpmd writes its prompt
  // and parser errors straight to the terminal fd, so the order holds).
  const segments = transcript.split('testpmd> ').slice(1);
  const lines: TestpmdLineResult[] = commands.map((command, i) => {
    const seg = segments[i] ?? '';
    const output = seg.startsWith(command) ? seg.slice(command.length).trim() : seg.trim();
    return {
      command,
      output,
      parseError: segments[i] === undefined || PARSE_ERRORS.some((re) => re.test(output)),
      reachedDriver: /Function not implemented|Caught PMD error/.test(output),
    };
  });
  const quitSeen = segments.length > commands.length && (segments[commands.length] ?? '').startsWith('quit');
  return {
    ok: !timedOut && quitSeen && lines.every((l) => !l.parseError),
    lines,
    transcript,
    exitCode,
    timedOut,
  };
}
