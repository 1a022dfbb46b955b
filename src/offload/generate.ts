/**
 * Generate hw-profiles/<family>.json and hw-profiles/vocabulary.json from the
 * hand-written hw-profiles/src/<family>.yaml and DPDK's per-driver feature
 * matrices (doc/guides/nics/features/<driver>.ini, copied verbatim into
 * ../shared/dpdk-features/<release>/).
 *
 * The capability half is DPDK's own declaration, kept as written (Y, P, I);
 * the hand-written half holds what the matrices cannot say (domains, SAMPLE
 * sub-action lists, the split around SAMPLE, capacities), each with its
 * source. The output is deterministic (sorted keys, no absolute paths, no
 * timestamps) so that a test can regenerate it and compare byte for byte.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { checkProfile, VOCABULARY_FILE } from './profiles.js';
import { ProfileError, schemaProblems, type Problem } from './problems.js';
import { ProfileSourceSchema, type Profile, type ProfileSource, type Vocabulary } from './profile-schema.js';

/** The release we build against (Debian 12's libdpdk-dev 22.11.11). */
export const BUILD_RELEASE = 'v22.11.11';
/** A newer release, recorded for reference only. */
export const REFERENCE_RELEASE = 'v26.07';

export const ITEMS_SECTION = 'rte_flow items';
export const ACTIONS_SECTION = 'rte_flow actions';

const GENERATOR = 'scripts/gen-hw-profiles.ts';

export type Ini = Map<string, Map<string, string>>;
type Caps = Profile['capabilities']['items'];

/** DPDK's feature .ini: `[section]`, `key = value`, `;` comments. */
export function parseIni(text: string): Ini {
  const out: Ini = new Map();
  let section: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head && head[1] !== undefined) {
      section = new Map();
      out.set(head[1].trim(), section);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) continue;
    section.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

export interface GeneratedFile {
  /** relative to the project root, '/'-separated */
  path: string;
  content: string;
}

export interface GenerateOptions {
  /** project root (hw-profiles/src is read from here) */
  root: string;
  /** directory holding <release>/<driver>.ini */
  featuresDir: string;
  release?: string;
  referenceRelease?: string;
}

function sortedRecord(map: Map<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of [...(map?.keys() ?? [])].sort()) out[key] = map?.get(key) ?? '';
  return out;
}

function readIni(path: string): Ini {
  return parseIni(readFileSync(path, 'utf8'));
}

function vocabularyFrom(featuresDir: string, release: string, referenceRelease: string): Vocabulary {
  const base = readIni(join(featuresDir, release, 'default.ini'));
  const ref = readIni(join(featuresDir, referenceRelease, 'default.ini'));
  const names = (ini: Ini, section: string): string[] => [...(ini.get(section)?.keys() ?? [])].sort();
  return {
    generated: {
      by: GENERATOR,
      from: `${release}/default.ini and ${referenceRelease}/default.ini of DPDK's doc/guides/nics/features`,
      warning: 'Generated file: do not edit. It is the rte_flow vocabulary every profile capability key is checked against.',
    },
    release,
    items: names(base, ITEMS_SECTION),
    actions: names(base, ACTIONS_SECTION),
    reference: { release: referenceRelease, items: names(ref, ITEMS_SECTION), actions: names(ref, ACTIONS_SECTION) },
  };
}

const VALUES = new Set(['Y', 'P', 'I']);

function capabilitySection(ini: Ini, section: string, file: string, problems: Problem[]): Record<string, string> {
  const rec = sortedRecord(ini.get(section));
  for (const [key, value] of Object.entries(rec)) {
    if (!VALUES.has(value)) problems.push({ file, field: `[${section}] ${key}`, message: `value "${value}"; expected Y, P or I` });
  }
  return rec;
}

function referenceDiff(
  base: Record<string, string>,
  ref: Record<string, string>,
): { added: Record<string, string>; removed: string[]; changed: Record<string, string> } {
  const added: Record<string, string> = {};
  const changed: Record<string, string> = {};
  for (const key of Object.keys(ref).sort()) {
    const v = ref[key] ?? '';
    if (!(key in base)) added[key] = v;
    else if (base[key] !== v) changed[key] = v;
  }
  const removed = Object.keys(base).filter((k) => !(k in ref)).sort();
  return { added, removed, changed };
}

/** Parse and schema-check one hand-written profile source. */
export function readProfileSource(path: string, shownAs: string): { source?: ProfileSource; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file: shownAs, field: '', message: `YAML syntax error at line ${pos.line}: ${e.message.split('\n')[0]}` };
      }),
    };
  }
  const data: unknown = doc.toJS();
  const problems = schemaProblems(ProfileSourceSchema, data, shownAs);
  if (problems.length > 0) return { problems };
  const source = data as ProfileSource;
  const expected = basename(path).replace(/\.ya?ml$/, '');
  if (source.family !== expected) {
    return { problems: [{ file: shownAs, field: 'family', message: `"${source.family}"; expected "${expected}", the file's name` }] };
  }
  return { source, problems: [] };
}

/**
 * Build every generated file. Throws ProfileError when a source is invalid,
 * a feature matrix is missing, or a generated profile fails the same checks
 * the loader applies.
 */
export function generateHwProfiles(opts: GenerateOptions): GeneratedFile[] {
  const release = opts.release ?? BUILD_RELEASE;
  const referenceRelease = opts.referenceRelease ?? REFERENCE_RELEASE;
  const srcDir = join(opts.root, 'hw-profiles', 'src');
  const problems: Problem[] = [];
  const vocabulary = vocabularyFrom(opts.featuresDir, release, referenceRelease);
  const files: GeneratedFile[] = [];

  const names = readdirSync(srcDir).filter((n) => /\.ya?ml$/.test(n)).sort();
  for (const name of names) {
    const shownAs = `hw-profiles/src/${name}`;
    const { source, problems: srcProblems } = readProfileSource(join(srcDir, name), shownAs);
    problems.push(...srcProblems);
    if (!source) continue;

    let items: Record<string, string> = {};
    let actions: Record<string, string> = {};
    let reference: Profile['reference'] = null;
    let matrixPath: string | null = null;
    let referencePath: string | null = null;
    if (source.featureMatrix) {
      const iniName = `${source.featureMatrix}.ini`;
      const basePath = join(opts.featuresDir, release, iniName);
      if (!existsSync(basePath)) {
        problems.push({ file: shownAs, field: 'featureMatrix', message: `"${source.featureMatrix}", but ${release}/${iniName} does not exist in ${opts.featuresDir}` });
        continue;
      }
      matrixPath = `${release}/${iniName}`;
      const base = readIni(basePath);
      items = capabilitySection(base, ITEMS_SECTION, matrixPath, problems);
      actions = capabilitySection(base, ACTIONS_SECTION, matrixPath, problems);
      const refPath = join(opts.featuresDir, referenceRelease, iniName);
      if (existsSync(refPath)) {
        referencePath = `${referenceRelease}/${iniName}`;
        const ref = readIni(refPath);
        const it = referenceDiff(items, capabilitySection(ref, ITEMS_SECTION, referencePath, problems));
        const ac = referenceDiff(actions, capabilitySection(ref, ACTIONS_SECTION, referencePath, problems));
        // Values were checked by capabilitySection(); a bad one is reported there.
        reference = {
          release: referenceRelease,
          itemsAdded: it.added as Caps,
          itemsRemoved: it.removed,
          actionsAdded: ac.added as Caps,
          actionsRemoved: ac.removed,
          valuesChanged: { ...it.changed, ...ac.changed } as Caps,
        };
      }
    }

    const profile = {
      generated: {
        by: GENERATOR,
        from: shownAs,
        featureMatrix: matrixPath,
        reference: referencePath,
        warning: `Generated file: do not edit. Edit ${shownAs} and run \`node dist/scripts/gen-hw-profiles.js\`.`,
      },
      ...source,
      capabilities: { release, items: items as Caps, actions: actions as Caps },
      reference,
    } as Profile;
    const out = `hw-profiles/${source.family}.json`;
    problems.push(...checkProfile(profile, vocabulary, `${out} (from ${shownAs})`));
    files.push({ path: out, content: `${JSON.stringify(profile, null, 2)}\n` });
  }
  if (problems.length > 0) throw new ProfileError('ST_ERR_PROFILE_INVALID', problems);
  files.push({ path: `hw-profiles/${VOCABULARY_FILE}`, content: `${JSON.stringify(vocabulary, null, 2)}\n` });
  return files;
}
