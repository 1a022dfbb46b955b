/** `shadowtap check-config FILE` */
import { availableParallelism } from 'node:os';
import { checkConfigText } from '../config/load.js';
import { readFile } from 'node:fs/promises';
import { compileStartPlan } from '../dataplane/start-plan.js';
import { formatProblem, isShadowtapError, type ConfigProblem } from '../errors.js';
import { preflight } from './preflight.js';

export interface CheckOutput {
  ok: boolean;
  lines: string[];
}

export async function checkConfigFile(file: string): Promise<CheckOutput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, lines: [`${file}: cannot read: ${e.code ?? ''} ${e.message}`.trim()] };
  }
  const { config, policy, problems } = checkConfigText(text, file);
  const all: ConfigProblem[] = [...problems];
  if (config) {
    try {
      compileStartPlan(config, { filePrefix: 'check', nproc: availableParallelism() });
    } catch (err) {
      if (!isShadowtapError(err)) throw err;
      all.push({ path: err.field, message: err.message });
    }
    all.push(...preflight(config, false).problems);
  }
  if (all.length === 0 && config && policy) {
    const roles = config.ports.map((p) => `${p.name} (${p.role})`).join(', ');
    const plan = policy.report;
    const c = plan.counts;
    const lines = [
      `${file}: OK: mode ${config.mode}, ${config.ports.length} ports: ${roles}`,
      `${file}: policy: ${config.sessions === undefined ? 'default session' : `${c.sessions} session${c.sessions === 1 ? '' : 's'}`}, ${c.classifierRules} classifier rule${c.classifierRules === 1 ? '' : 's'}, ${c.targets} target${c.targets === 1 ? '' : 's'}${plan.warnings.length ? `, ${plan.warnings.length} warning${plan.warnings.length === 1 ? '' : 's'}:` : ''}`,
      ...plan.warnings.map((w) => `  ${w.path ? `${w.path}: ` : ''}${w.message}`),
    ];
    return { ok: true, lines };
  }
  return {
    ok: false,
    lines: [
      `${file}: ${all.length} problem${all.length === 1 ? '' : 's'}:`,
      ...all.map((p) => `  ${formatProblem(p, file)}`),
    ],
  };
}
