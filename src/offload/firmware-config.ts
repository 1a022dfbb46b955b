/**
 * Load and check firmware-config/<family>.yaml: per NIC family, the driver
 * binding, kernel modules, libraries, devargs, firmware versions and
 * settings, and (ice) the DDP package that hardware offload needs. doctor
 * compares the host against these.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { displayPath, firmwareConfigDir } from './paths.js';
import { ProfileError, schemaProblems, type Problem } from './problems.js';
import { FirmwareConfigSchema, type FirmwareConfig } from './profile-schema.js';
import type { ProfileSet } from './profiles.js';

export type { FirmwareConfig } from './profile-schema.js';

export interface FirmwareConfigSet {
  readonly dir: string;
  readonly entries: readonly FirmwareConfig[];
  byFamily(family: string): FirmwareConfig | undefined;
}

function parse(path: string, file: string): { data?: unknown; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({
        file,
        field: '',
        message: `YAML syntax error at line ${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  return { data: doc.toJS(), problems: [] };
}

/** Check parsed entries; `profiles` (when given) is used to check the cross references both ways. */
export function checkFirmwareConfigs(entries: readonly { file: string; data: unknown }[], profiles?: ProfileSet): { configs: FirmwareConfig[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const configs: FirmwareConfig[] = [];
  const fileOf = new Map<string, string>();
  for (const { file, data } of entries) {
    // An entry with schema problems still exists: do not also report it as missing.
    fileOf.set(basename(file).replace(/\.ya?ml$/, ''), file);
    const issues = schemaProblems(FirmwareConfigSchema, data, file);
    if (issues.length > 0) {
      problems.push(...issues);
      continue;
    }
    const cfg = data as FirmwareConfig;
    const expected = basename(file).replace(/\.ya?ml$/, '');
    if (cfg.family !== expected) problems.push({ file, field: 'family', message: `"${cfg.family}"; expected "${expected}", the file's name` });
    if (profiles) {
      cfg.profiles.forEach((fam, i) => {
        const p = profiles.byFamily(fam);
        if (!p) problems.push({ file, field: `profiles[${i}]`, message: `"${fam}" is not a profile in hw-profiles/` });
        else if (p.firmwareConfig !== cfg.family) {
          problems.push({ file, field: `profiles[${i}]`, message: `"${fam}", but hw-profiles/${fam}.json names firmwareConfig ${JSON.stringify(p.firmwareConfig)}` });
        }
      });
      cfg.firmware.versions.forEach((v, i) => {
        v.pciIds.forEach((id, j) => {
          const known = cfg.profiles.some((fam) => profiles.byFamily(fam)?.match.pci.some((m) => m.id === id));
          if (!known) problems.push({ file, field: `firmware.versions[${i}].pciIds[${j}]`, message: `PCI id ${id} is not matched by profile ${cfg.profiles.join(', ')}` });
        });
      });
    }
    fileOf.set(cfg.family, file);
    configs.push(cfg);
  }
  if (profiles) {
    for (const p of profiles.profiles) {
      if (p.firmwareConfig && !fileOf.has(p.firmwareConfig)) {
        problems.push({ file: `hw-profiles/${p.family}.json`, field: 'firmwareConfig', message: `"${p.firmwareConfig}", but firmware-config/${p.firmwareConfig}.yaml does not exist` });
      }
    }
  }
  return { configs, problems };
}

export function loadFirmwareConfigs(opts: { dir?: string; profiles?: ProfileSet } = {}): FirmwareConfigSet {
  const dir = opts.dir ?? firmwareConfigDir();
  const names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
  const entries: { file: string; data: unknown }[] = [];
  const problems: Problem[] = [];
  for (const name of names) {
    const file = displayPath(join(dir, name));
    const { data, problems: p } = parse(join(dir, name), file);
    problems.push(...p);
    if (p.length === 0) entries.push({ file, data });
  }
  const { configs, problems: more } = checkFirmwareConfigs(entries, opts.profiles);
  problems.push(...more);
  if (problems.length > 0) throw new ProfileError('ST_ERR_FIRMWARE_CONFIG_INVALID', problems);
  const byFamily = new Map(configs.map((c) => [c.family, c]));
  return Object.freeze({ dir, entries: Object.freeze(configs), byFamily: (f: string) => byFamily.get(f) });
}
