/**
 * `shadowtap plan`: the placement plan (docs/offload.md) from a shell.
 *
 * Offline (the default): a configuration file (or the embedded demo) is
 * validated, its policy compiled, its ports identified from the device
 * strings and this host's sysfs, and the plan made exactly as GET /v1/plan
 * makes it (the same service function). With --url, the running shadowtap's
 * plan is fetched instead (it knows the drivers DPDK reported).
 */
import { readFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { checkedDefaultConfig } from '../config/default.js';
import { checkConfigText, type CheckedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { formatProblem, isShadowtapError } from '../errors.js';
import { explain, planJson, PlacementPlanSchema, type PlacementPlan } from '../offload/planner.js';
import { placementPlan } from '../offload/port-facts.js';
import { ProfileError } from '../offload/problems.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { answerError, request, type CommandOutput, type Endpoint } from './client.js';

export interface PlanCommandOptions {
  /** configuration file; absent (and no url): the embedded demo */
  config?: string;
  /** a running shadowtap's admin API */
  ep?: Endpoint;
  /** print explain(): every piece, rule and testpmd command */
  explain?: boolean;
  /** print the JSON of GET /v1/plan */
  json?: boolean;
  /** filesystem root holding sys/ (default '/'; tests use a fake tree) */
  root?: string;
}

const out = (code: number, stdout: string[] = [], stderr: string[] = []): CommandOutput => ({ code, stdout, stderr });

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The default output: one line per port and per session placement, then where to look further. */
export function planSummary(source: string, p: PlacementPlan): string[] {
  const s = p.summary;
  const lines = [
    `${source}: placement plan for policy generation ${p.generation}: ${plural(p.sessions.length, 'session placement')} (${s.hardware} hardware, ${s.hybrid} hybrid, ${s.software} software), ${plural(s.rules, 'hardware rule')}`,
    'ports:',
  ];
  const w = Math.max(...p.ports.map((x) => x.name.length), 4);
  for (const port of p.ports) {
    const probe = port.probed > 0 ? `probed (${port.probed})` : 'not probed';
    const how = port.matchedBy === 'fallback' ? 'no profile matched' : `by ${port.matchedBy}`;
    const placed = port.placement === 'none' ? '' : `: ${port.placement}, ${plural(port.rules, 'hardware rule')}`;
    lines.push(`  ${port.name.padEnd(w)}  ${port.role.padEnd(10)} driver ${port.driver}${port.pciId ? ` (${port.pciId})` : ''}, profile ${port.profile} (${how}), ${probe}${placed}`);
  }
  if (p.sessions.length > 0) lines.push('sessions:');
  // The reason starts with the placement; the path adds which hybrid it is.
  for (const sp of p.sessions) lines.push(`  session ${sp.session} on ${sp.port.name} ${sp.direction}: ${sp.reason}${sp.path.startsWith('hybrid-') ? ` [${sp.path}]` : ''}`);
  for (const cp of p.controlPlane) lines.push(`  control plane on ${cp.port.name}: ${cp.placement}`);
  if (p.warnings.length > 0) {
    lines.push(`warnings (${p.warnings.length}):`);
    for (const x of p.warnings) lines.push(`  ${x}`);
  }
  lines.push('`shadowtap plan --explain` shows every piece with its reason, every hardware rule and its dpdk-testpmd commands.');
  return lines;
}

function render(source: string, p: PlacementPlan, o: PlanCommandOptions, origin: string): CommandOutput {
  if (o.json) return out(0, [JSON.stringify(planJson(p), null, 2)]);
  if (o.explain) return out(0, [`${source}: ${origin}`, '', explain(p).replace(/\n$/, '')]);
  return out(0, planSummary(source, p));
}

async function loadConfig(file: string): Promise<CheckedConfig | CommandOutput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return out(1, [], [`${file}: cannot read: ${e.code ?? ''} ${e.message}`.trim()]);
  }
  // The same checks as check-config's first step: schema, semantics, and the policy compiled.
  const { config, policy, problems } = checkConfigText(text, file);
  if (config && policy) return { config, policy };
  return out(1, [], [`${file}: ${plural(problems.length, 'problem')}:`, ...problems.map((p) => `  ${formatProblem(p, file)}`)]);
}

async function fromUrl(ep: Endpoint, o: PlanCommandOptions): Promise<CommandOutput> {
  const url = ep.url;
  // --explain: the server's own words (GET /v1/plan/explain); otherwise the plan, checked and rendered here.
  const a = await request(ep, 'GET', o.explain ? '/v1/plan/explain' : '/v1/plan', { timeoutMs: 60_000 });
  if ('stdout' in a) return { ...a, stderr: [...a.stderr.slice(0, 1), 'is `shadowtap run` running? (or plan offline with --config FILE)'] };
  const body = a.body;
  if (a.status !== 200) return answerError(url, a);
  if (o.explain) {
    const text = (body as { text?: unknown }).text;
    if (typeof text !== 'string') return out(1, [], [`${url}: GET /v1/plan/explain answered no text; is it the same shadowtap version?`]);
    return out(0, [`${url}: the running shadowtap's plan (drivers as DPDK reported them)`, '', text.replace(/\n$/, '')]);
  }
  if (!Value.Check(PlacementPlanSchema, body)) {
    const first = [...Value.Errors(PlacementPlanSchema, body)].slice(0, 3).map((e) => `${e.path || '/'}: ${e.message}`);
    return out(1, [], [`${url}: GET /v1/plan answered something that is not a placement plan this CLI reads (${first.join('; ')}); is it the same shadowtap version?`]);
  }
  return render(url, body as PlacementPlan, o, 'the running shadowtap\'s plan (drivers as DPDK reported them)');
}

export async function planCommand(o: PlanCommandOptions): Promise<CommandOutput> {
  if (o.ep !== undefined) return fromUrl(o.ep, o);
  let config: Config;
  let policy: CompiledPolicy;
  let source: string;
  if (o.config !== undefined) {
    const loaded = await loadConfig(o.config);
    if ('code' in loaded) return loaded;
    ({ config, policy } = loaded);
    source = o.config;
  } else {
    ({ config, policy } = checkedDefaultConfig());
    source = 'embedded demo config';
  }
  let p: PlacementPlan;
  try {
    p = placementPlan({ config, policy: policy.native, ports: null }, o.root !== undefined ? { root: o.root } : {});
  } catch (err) {
    if (err instanceof ProfileError) return out(1, [], [`${err.code}: ${err.message}`]);
    if (isShadowtapError(err)) return out(1, [], [`${err.code}: ${err.message}`]);
    throw err;
  }
  return render(source, p, o, 'offline plan: drivers from the device names and this host\'s sysfs; nothing probed');
}
