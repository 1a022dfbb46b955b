/**
 * `shadowtap policy validate|apply|show`: the policy operations from a shell.
 * validate checks a file locally (a whole config, or a policy section with
 * --config giving the ports) or through a running shadowtap (--url); apply
 * and show talk to the admin API, so they reach the same service functions
 * as any other client.
 *
 * A policy file is YAML or JSON: either a whole configuration (its policy
 * keys are used) or just the policy keys (translate, match, sessions,
 * targets, security).
 */
import { readFile } from 'node:fs/promises';
import { checkConfig, loadConfigFile, parseYamlText, type Locator } from '../config/load.js';
import { POLICY_KEYS } from '../config/schema.js';
import { ConfigError, formatProblem, isShadowtapError, type ConfigProblem } from '../errors.js';
import type { PolicyReport } from '../policy/compile.js';
import { checkPolicy } from '../services/policy.js';
import { out, request, type ApiAnswer, type CommandOutput, type Endpoint } from './client.js';

export { DEFAULT_URL } from './client.js';
export type { CommandOutput } from './client.js';

interface PolicyFile {
  /** the policy keys */
  section: Record<string, unknown>;
  /** the whole config, when the file is one */
  whole: Record<string, unknown> | null;
  locate: Locator;
}

async function readPolicyFile(file: string): Promise<PolicyFile | CommandOutput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return out(1, [], [`${file}: cannot read: ${e.code ?? ''} ${e.message}`.trim()]);
  }
  const parsed = parseYamlText(text);
  if ('problems' in parsed) return out(1, [], problemLines(file, parsed.problems));
  const raw = parsed.raw;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return out(1, [], [`${file}: expected a mapping with keys ${POLICY_KEYS.join(', ')} (or a whole configuration)`]);
  }
  const obj = raw as Record<string, unknown>;
  if ('ports' in obj) {
    const section: Record<string, unknown> = {};
    for (const k of POLICY_KEYS) if (obj[k] !== undefined) section[k] = obj[k];
    return { section, whole: obj, locate: parsed.locate };
  }
  return { section: obj, whole: null, locate: parsed.locate };
}

function problemLines(source: string, problems: readonly ConfigProblem[]): string[] {
  return [`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:`, ...problems.map((p) => `  ${formatProblem(p, source)}`)];
}

/** A compiled plan in words: the summary line, warnings, then the explanation. */
export function reportLines(source: string, plan: PolicyReport, verb = 'OK'): string[] {
  const c = plan.counts;
  const lines = [
    `${source}: ${verb}: generation ${plan.generation}, ${c.sessions} session${c.sessions === 1 ? '' : 's'}, ${c.filterRules} filter rule${c.filterRules === 1 ? '' : 's'} -> ${c.classifierRules} classifier rule${c.classifierRules === 1 ? '' : 's'}, ${c.targets} target${c.targets === 1 ? '' : 's'}, ${c.signatures} signature${c.signatures === 1 ? '' : 's'}, ${c.securityRules} security rule${c.securityRules === 1 ? '' : 's'}`,
  ];
  if (plan.warnings.length > 0) {
    lines.push(`warnings (${plan.warnings.length}):`);
    for (const w of plan.warnings) lines.push(`  ${w.path ? `${w.path}: ` : ''}${w.message}`);
  }
  lines.push('plan:');
  for (const e of plan.explain) lines.push(`  ${e}`);
  return lines;
}

async function api(ep: Endpoint, method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, ifMatch?: string | null): Promise<ApiAnswer | CommandOutput> {
  return request(ep, method, path, { ...(body !== undefined ? { body } : {}), ...(ifMatch ? { ifMatch } : {}) });
}

function apiError(source: string, a: ApiAnswer): CommandOutput {
  const b = a.body as { code?: string; message?: string; problems?: ConfigProblem[] } | string;
  if (typeof b === 'object' && b !== null && Array.isArray(b.problems)) {
    return out(1, [], problemLines(source, b.problems));
  }
  if (typeof b === 'object' && b !== null) return out(a.status === 401 || a.status === 403 ? 5 : a.status === 404 ? 4 : 1, [], [`${source}: ${a.status} ${b.code ?? ''}: ${b.message ?? ''}`.trim()]);
  return out(1, [], [`${source}: HTTP ${a.status}: ${String(b).slice(0, 500)}`]);
}

export interface ValidateOptions {
  file: string;
  config?: string;
  /** a running shadowtap, when one was named (--url or the environment) */
  ep?: Endpoint;
  json?: boolean;
}

export async function policyValidate(o: ValidateOptions): Promise<CommandOutput> {
  const f = await readPolicyFile(o.file);
  if ('code' in f) return f;
  let plan: PolicyReport;
  if (o.ep !== undefined && o.config === undefined && !f.whole) {
    const a = await api(o.ep, 'POST', '/v1/policy/validate', f.section);
    if ('code' in a) return a;
    if (a.status !== 200) return apiError(o.file, a);
    plan = (a.body as { plan: PolicyReport }).plan;
  } else if (f.whole) {
    const r = checkConfig(f.whole, { source: o.file, locate: f.locate });
    if (!r.policy) return out(1, [], problemLines(o.file, r.problems));
    plan = r.policy.report;
  } else if (o.config !== undefined) {
    let base;
    try {
      base = await loadConfigFile(o.config);
    } catch (err) {
      if (err instanceof ConfigError) return out(1, [], problemLines(o.config, err.problems));
      if (isShadowtapError(err)) return out(1, [], [`${err.code}: ${err.message}`]);
      throw err;
    }
    const r = checkPolicy(base, f.section, { source: o.file, locate: f.locate });
    if ('problems' in r) return out(1, [], problemLines(o.file, r.problems));
    plan = r.policy.report;
  } else {
    return out(2, [], [`shadowtap policy validate: ${o.file} holds only policy keys; give --config FILE (for its ports) or --url URL (a running shadowtap)`]);
  }
  if (o.json) return out(0, [JSON.stringify({ valid: true, plan }, null, 2)]);
  return out(0, reportLines(o.file, plan));
}

export async function policyApply(o: { file: string; ep: Endpoint; json?: boolean; ifMatch?: string | null }): Promise<CommandOutput> {
  const f = await readPolicyFile(o.file);
  if ('code' in f) return f;
  // The file is the whole intent: it replaces whatever runs (If-Match: *), unless the caller names the version it was made from.
  const a = await api(o.ep, 'PUT', '/v1/policy', f.section, o.ifMatch ?? '*');
  if ('code' in a) return a;
  if (a.status !== 200) return apiError(o.file, a);
  if (o.json) return out(0, [JSON.stringify(a.body, null, 2)]);
  const v = a.body as { generation: number; applied: boolean; applyMs: number | null; plan: PolicyReport };
  const how = v.applied ? `installed in ${v.applyMs === null ? '?' : v.applyMs.toFixed(1)} ms` : 'stored; it applies when the data plane starts';
  return out(0, reportLines(o.file, v.plan, `applied generation ${v.generation} (${how})`));
}

export async function policyShow(o: { ep: Endpoint; json?: boolean }): Promise<CommandOutput> {
  const a = await api(o.ep, 'GET', '/v1/policy');
  if ('code' in a) return a;
  if (a.status !== 200) return apiError(o.ep.url, a);
  if (o.json) return out(0, [JSON.stringify(a.body, null, 2)]);
  const v = a.body as { generation: number; applied: boolean; since: string; source: string; plan: PolicyReport };
  return out(0, reportLines(o.ep.url, v.plan, `generation ${v.generation} from ${v.source} since ${v.since}${v.applied ? '' : ' (not installed: the data plane is not running)'}`));
}
