/**
 * `shadowtap topology export --config F --in prod.json`: the shadow replica
 * of a production topology, every address translated by F's maps, as JSON
 * on stdout (or --out FILE). With --security, only the translated security
 * rules, as the YAML `security:` section of a configuration.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { loadConfigFile, parseYamlText, pathToSegments } from '../config/load.js';
import { ConfigError, formatProblem, isShadowtapError, TopologyError } from '../errors.js';
import { checkSecuritySection, exportShadowTopology, parseTopology } from '../config/topology.js';
import type { CommandOutput } from './policy.js';

export interface TopologyExportOptions {
  config: string;
  input: string;
  output?: string;
  security?: boolean;
  strict?: boolean;
}

export async function topologyExport(o: TopologyExportOptions): Promise<CommandOutput> {
  let config;
  try {
    config = await loadConfigFile(o.config);
  } catch (err) {
    if (err instanceof ConfigError) return { code: 1, stdout: [], stderr: [err.message] };
    if (isShadowtapError(err)) return { code: 1, stdout: [], stderr: [`${err.code}: ${err.message}`] };
    throw err;
  }
  let text: string;
  try {
    text = await readFile(o.input, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { code: 1, stdout: [], stderr: [`${o.input}: cannot read: ${e.code ?? ''} ${e.message}`.trim()] };
  }
  // JSON is YAML: one parser gives line numbers for both.
  const parsed = parseYamlText(text);
  if ('problems' in parsed) return { code: 1, stdout: [], stderr: parsed.problems.map((p) => formatProblem(p, o.input)) };
  let topo;
  try {
    topo = parseTopology(parsed.raw, o.input);
  } catch (err) {
    if (err instanceof TopologyError) {
      const lines = err.problems.map((p) => {
        const line = parsed.locate(p.path === '' ? [] : pathToSegments(p.path));
        return `  ${formatProblem(line === undefined ? p : { ...p, line }, o.input)}`;
      });
      return { code: 1, stdout: [], stderr: [`${o.input}: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}:`, ...lines] };
    }
    throw err;
  }
  const shadow = exportShadowTopology(topo, config);
  const stderr: string[] = [];
  for (const u of shadow.unmapped) stderr.push(`${o.input}: ${u.path}: ${u.message}`);
  for (const p of checkSecuritySection(shadow.security)) stderr.push(`translated security rules: ${p.path}: ${p.message}`);
  const body = o.security ? stringify({ security: shadow.security }) : `${JSON.stringify(shadow, null, 2)}\n`;
  const code = o.strict && shadow.unmapped.length > 0 ? 1 : 0;
  if (o.output) {
    await writeFile(o.output, body);
    return { code, stdout: [], stderr };
  }
  return { code, stdout: [body.replace(/\n$/, '')], stderr };
}
