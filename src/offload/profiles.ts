/**
 * Load, check and match hardware profiles (hw-profiles/*.json).
 *
 * Loading fails closed: a profile that breaks the schema, names an rte_flow
 * item or action that DPDK does not know, contradicts itself (a SAMPLE limit
 * on a driver whose matrix has no SAMPLE) or matches a driver or PCI id that
 * another profile already matches is refused, and the error names the file and
 * the field. A port that matches no profile gets the generic software profile,
 * and the match result says why.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { displayPath, hwProfilesDir } from './paths.js';
import { ProfileError, schemaProblems, type Problem } from './problems.js';
import {
  DOMAINS,
  ENCAP_ACTIONS,
  MODIFY_ACTIONS,
  ProfileSchema,
  VocabularySchema,
  type Profile,
  type ProfileSource,
  type Vocabulary,
} from './profile-schema.js';

export type { Profile, Vocabulary } from './profile-schema.js';

export const VOCABULARY_FILE = 'vocabulary.json';
export const FALLBACK_FAMILY = 'generic-software';

export interface ProfileSet {
  /** directory the profiles were read from */
  readonly dir: string;
  readonly vocabulary: Vocabulary;
  /** every profile, the fallback included, sorted by family */
  readonly profiles: readonly Profile[];
  readonly fallback: Profile;
  byFamily(family: string): Profile | undefined;
}

export interface PortIdentity {
  /** rte_eth_dev_info.driver_name, e.g. net_ice, mlx5_pci, net_pcap */
  driver: string;
  /** PCI vendor:device, e.g. 8086:1592 (any case, optional 0x prefixes) */
  pciId?: string;
}

export interface MatchResult {
  profile: Profile;
  matchedBy: 'driver' | 'pci' | 'fallback';
  /** one sentence for the plan and the logs */
  reason: string;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** `8086:1592` from `0x8086:0x1592`, `8086:1592`, `8086 1592`; undefined when it is not a PCI id. */
export function normalisePciId(id: string): string | undefined {
  const m = /^\s*(?:0x)?([0-9a-fA-F]{1,4})[:\s](?:0x)?([0-9a-fA-F]{1,4})\s*$/.exec(id);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  return `${m[1].toLowerCase().padStart(4, '0')}:${m[2].toLowerCase().padStart(4, '0')}`;
}

const UNKNOWN_ITEM = "unknown rte_flow item; expected a name from DPDK's [rte_flow items]";
const UNKNOWN_ACTION = "unknown rte_flow action; expected a name from DPDK's [rte_flow actions]";

/**
 * Every vocabulary and consistency problem of one profile (schema problems are
 * found before this runs). `file` is how the file is shown in messages.
 */
export function checkProfile(profile: Profile | (ProfileSource & Pick<Profile, 'capabilities'>), vocab: Vocabulary, file: string): Problem[] {
  const out: Problem[] = [];
  const items = new Set(vocab.items);
  const actions = new Set(vocab.actions);
  const add = (field: string, message: string): void => {
    out.push({ file, field, message });
  };

  for (const name of Object.keys(profile.capabilities.items)) {
    if (!items.has(name)) add(`capabilities.items.${name}`, UNKNOWN_ITEM);
  }
  for (const name of Object.keys(profile.capabilities.actions)) {
    if (!actions.has(name)) add(`capabilities.actions.${name}`, UNKNOWN_ACTION);
  }

  if ('reference' in profile && profile.reference) {
    const ref = profile.reference;
    const refItems = new Set(vocab.reference.items);
    const refActions = new Set(vocab.reference.actions);
    const inRef = `in DPDK ${vocab.reference.release}`;
    for (const name of Object.keys(ref.itemsAdded)) {
      if (!refItems.has(name)) add(`reference.itemsAdded.${name}`, `unknown rte_flow item ${inRef}; expected a name from its [rte_flow items]`);
    }
    for (const name of Object.keys(ref.actionsAdded)) {
      if (!refActions.has(name)) add(`reference.actionsAdded.${name}`, `unknown rte_flow action ${inRef}; expected a name from its [rte_flow actions]`);
    }
    for (const name of Object.keys(ref.valuesChanged)) {
      if (!refItems.has(name) && !refActions.has(name)) add(`reference.valuesChanged.${name}`, `unknown rte_flow name ${inRef}`);
    }
    ref.itemsRemoved.forEach((name, i) => {
      if (!items.has(name)) add(`reference.itemsRemoved[${i}]`, UNKNOWN_ITEM);
    });
    ref.actionsRemoved.forEach((name, i) => {
      if (!actions.has(name)) add(`reference.actionsRemoved[${i}]`, UNKNOWN_ACTION);
    });
  }

  const declared = profile.capabilities.actions;
  const matrix = profile.featureMatrix ? `DPDK's ${profile.featureMatrix}.ini` : 'this driver (DPDK ships no feature matrix for it)';
  /** An action named in a limit must be a known action that this driver declares. */
  const actionRef = (field: string, name: string, kind?: { set: ReadonlySet<string>; what: string }): void => {
    if (!actions.has(name)) return add(field, UNKNOWN_ACTION);
    if (kind && !kind.set.has(name)) return add(field, `"${name}" is not ${kind.what}; expected one of ${[...kind.set].join(', ')}`);
    if (!(name in declared)) add(field, `"${name}" is not in capabilities.actions: ${matrix} does not declare it`);
  };

  const { sample, headerModify, encap, mirrorWithModify } = profile.limits;
  if (sample.supported && !('sample' in declared)) {
    add('limits.sample.supported', `true, but ${matrix} does not declare the sample action`);
  }
  if (sample.supported && sample.domains.length === 0) add('limits.sample.domains', 'empty; a supported SAMPLE needs the domains it works in');
  if (!sample.supported && (sample.mirror || sample.fractionalRatio || sample.domains.length > 0)) {
    add('limits.sample', 'supported is false, so mirror, fractionalRatio and domains must be false/empty');
  }
  if (sample.subActions) {
    for (const [key, list] of Object.entries(sample.subActions)) {
      (list ?? []).forEach((name, i) => actionRef(`limits.sample.subActions.${key}[${i}]`, name));
    }
  }
  headerModify.actions.forEach((name, i) =>
    actionRef(`limits.headerModify.actions[${i}]`, name, { set: MODIFY_ACTIONS, what: 'a header-rewrite action' }),
  );
  if (headerModify.supported !== headerModify.actions.length > 0) {
    add('limits.headerModify.supported', headerModify.supported ? 'true, but actions is empty' : 'false, but actions lists rewrite actions');
  }
  encap.actions.forEach((name, i) => actionRef(`limits.encap.actions[${i}]`, name, { set: ENCAP_ACTIONS, what: 'an encapsulation action' }));

  const both = sample.supported && headerModify.supported;
  if (mirrorWithModify.semantics === 'not-applicable' && both) {
    add('limits.mirrorWithModify.semantics', '"not-applicable", but the profile offers both SAMPLE and header rewrite; expected "split-around-sample" or "unsupported"');
  }
  if (mirrorWithModify.semantics !== 'not-applicable' && !both) {
    add('limits.mirrorWithModify.semantics', `"${mirrorWithModify.semantics}", but the profile does not offer both SAMPLE and header rewrite; expected "not-applicable"`);
  }
  if (mirrorWithModify.semantics === 'split-around-sample' && (!mirrorWithModify.modifyBeforeSample || !mirrorWithModify.modifyAfterSample)) {
    add('limits.mirrorWithModify', 'split-around-sample needs modifyBeforeSample and modifyAfterSample');
  }

  for (const d of DOMAINS) {
    const dom = profile.domains[d];
    (dom.actions ?? []).forEach((name, i) => actionRef(`domains.${d}.actions[${i}]`, name));
    if (profile.flow.api === 'none' && dom.supported) add(`domains.${d}.supported`, 'true, but flow.api is "none"');
  }
  sample.domains.forEach((d, i) => {
    if (!profile.domains[d].supported) add(`limits.sample.domains[${i}]`, `"${d}", but domains.${d}.supported is false`);
  });

  if (profile.flow.api === 'none') {
    if (Object.keys(profile.capabilities.items).length > 0 || Object.keys(declared).length > 0) {
      add('flow.api', `"none", but ${matrix} declares rte_flow capabilities`);
    }
  } else if (Object.keys(declared).length === 0) {
    add('flow.api', `"rte_flow", but ${matrix} declares no rte_flow action`);
  }

  if (profile.kind === 'fallback' && (profile.match.drivers.length > 0 || profile.match.pci.length > 0)) {
    add('match', 'the fallback profile matches nothing by itself; expected empty drivers and pci');
  }
  if (profile.kind !== 'fallback' && profile.match.drivers.length === 0) {
    add('match.drivers', 'empty; expected at least one driver name as rte_eth_dev_info reports it');
  }
  if (profile.kind === 'vdev' && profile.match.pci.length > 0) add('match.pci', 'a virtual device has no PCI id; expected an empty list');
  return out;
}

export interface ProfileEntry {
  /** file name as shown in messages, e.g. hw-profiles/ice.json */
  file: string;
  data: unknown;
}

/**
 * Check a whole set of parsed profile files: schema, vocabulary, consistency,
 * duplicate matches, exactly one fallback. Returns the problems; profiles are
 * returned only when there are none.
 */
export function checkProfileEntries(entries: readonly ProfileEntry[], vocabulary: Vocabulary): { profiles: Profile[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const good: { file: string; profile: Profile }[] = [];
  for (const { file, data } of entries) {
    const schemaIssues = schemaProblems(ProfileSchema, data, file);
    if (schemaIssues.length > 0) {
      problems.push(...schemaIssues);
      continue;
    }
    const profile = data as Profile;
    const expected = basename(file).replace(/\.json$/, '');
    if (profile.family !== expected) {
      problems.push({ file, field: 'family', message: `"${profile.family}"; expected "${expected}", the file's name` });
    }
    const issues = checkProfile(profile, vocabulary, file);
    problems.push(...issues);
    if (issues.length === 0) good.push({ file, profile });
  }

  const drivers = new Map<string, string>();
  const pciIds = new Map<string, string>();
  for (const { file, profile } of good) {
    profile.match.drivers.forEach((driver, i) => {
      const where = `${file} (match.drivers[${i}])`;
      const prev = drivers.get(driver);
      if (prev) problems.push({ file, field: `match.drivers[${i}]`, message: `driver "${driver}" is already matched by ${prev}; a driver name may appear in one profile only` });
      else drivers.set(driver, where);
    });
    profile.match.pci.forEach((m, i) => {
      const where = `${file} (match.pci[${i}])`;
      const prev = pciIds.get(m.id);
      if (prev) problems.push({ file, field: `match.pci[${i}].id`, message: `PCI id ${m.id} is already matched by ${prev}; a PCI id may appear in one profile only` });
      else pciIds.set(m.id, where);
    });
  }

  const fallbacks = good.filter((g) => g.profile.kind === 'fallback');
  if (fallbacks.length === 0 && problems.length === 0) {
    problems.push({ file: entries[0] ? entries[0].file.replace(/[^/]*$/, '') + `${FALLBACK_FAMILY}.json` : `${FALLBACK_FAMILY}.json`, field: '', message: `missing; expected exactly one profile of kind "fallback" (${FALLBACK_FAMILY})` });
  }
  for (const extra of fallbacks.slice(1)) {
    problems.push({ file: extra.file, field: 'kind', message: `"fallback", but ${fallbacks[0]?.file} is already the fallback; expected exactly one` });
  }
  return { profiles: problems.length === 0 ? good.map((g) => g.profile) : [], problems };
}

export function loadVocabulary(dir: string = hwProfilesDir()): Vocabulary {
  const path = join(dir, VOCABULARY_FILE);
  const file = displayPath(path);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ProfileError('ST_ERR_PROFILE_INVALID', [{ file, field: '', message: `cannot be read as JSON: ${(err as Error).message}` }]);
  }
  const problems = schemaProblems(VocabularySchema, data, file);
  if (problems.length > 0) throw new ProfileError('ST_ERR_PROFILE_INVALID', problems);
  return data as Vocabulary;
}

function makeSet(dir: string, vocabulary: Vocabulary, profiles: Profile[]): ProfileSet {
  const sorted = [...profiles].sort((a, b) => a.family.localeCompare(b.family));
  const fallback = sorted.find((p) => p.kind === 'fallback');
  if (!fallback) throw new Error('unreachable: checked profile set without fallback');
  const byFamily = new Map(sorted.map((p) => [p.family, p]));
  return deepFreeze({
    dir,
    vocabulary,
    profiles: sorted,
    fallback,
    byFamily: (family: string) => byFamily.get(family),
  });
}

/** Read and check every hw-profiles/*.json. Throws ProfileError listing every problem. */
export function loadProfiles(opts: { dir?: string } = {}): ProfileSet {
  const dir = opts.dir ?? hwProfilesDir();
  const vocabulary = loadVocabulary(dir);
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.json') && n !== VOCABULARY_FILE)
    .sort();
  const entries: ProfileEntry[] = [];
  const readProblems: Problem[] = [];
  for (const name of names) {
    const file = displayPath(join(dir, name));
    try {
      entries.push({ file, data: JSON.parse(readFileSync(join(dir, name), 'utf8')) });
    } catch (err) {
      readProblems.push({ file, field: '', message: `cannot be read as JSON: ${(err as Error).message}` });
    }
  }
  const { profiles, problems } = checkProfileEntries(entries, vocabulary);
  if (readProblems.length + problems.length > 0) throw new ProfileError('ST_ERR_PROFILE_INVALID', [...readProblems, ...problems]);
  return makeSet(dir, vocabulary, profiles);
}

/** Build a set from already-parsed profiles (tests, the emulated NIC). */
export function profileSetFrom(entries: readonly ProfileEntry[], vocabulary: Vocabulary, dir = '(memory)'): ProfileSet {
  if (!Value.Check(VocabularySchema, vocabulary)) throw new ProfileError('ST_ERR_PROFILE_INVALID', schemaProblems(VocabularySchema, vocabulary, VOCABULARY_FILE));
  const { profiles, problems } = checkProfileEntries(entries, vocabulary);
  if (problems.length > 0) throw new ProfileError('ST_ERR_PROFILE_INVALID', problems);
  return makeSet(dir, vocabulary, profiles);
}

let defaultSet: ProfileSet | undefined;

/** The shipped profiles, loaded once. */
export function defaultProfiles(): ProfileSet {
  defaultSet ??= loadProfiles();
  return defaultSet;
}

/**
 * The profile for a port: by driver name first (it names the PMD that is
 * actually running), then by PCI id, else the generic software profile.
 */
export function matchProfile(port: PortIdentity, set: ProfileSet = defaultProfiles()): MatchResult {
  const pciId = port.pciId === undefined ? undefined : normalisePciId(port.pciId);
  const byDriver = set.profiles.find((p) => p.match.drivers.includes(port.driver));
  const byPci = pciId ? set.profiles.find((p) => p.match.pci.some((m) => m.id === pciId)) : undefined;
  const model = pciId ? byPci?.match.pci.find((m) => m.id === pciId) : undefined;

  if (byDriver) {
    let reason = `driver ${port.driver} matches profile ${byDriver.family}`;
    if (pciId && byPci && byPci !== byDriver) {
      reason += `; PCI id ${pciId} is listed by profile ${byPci.family}, but the running driver decides`;
    } else if (model) {
      reason += ` (${model.model}, ${pciId})`;
      if (!model.offloadTarget) reason += `; this model is not one the profile's offload facts were written for, so the probe decides`;
    }
    return { profile: byDriver, matchedBy: 'driver', reason };
  }
  if (byPci && model) {
    return {
      profile: byPci,
      matchedBy: 'pci',
      reason: `no profile lists driver ${port.driver}; PCI id ${pciId} (${model.model}) matches profile ${byPci.family}`,
    };
  }
  let why: string;
  if (pciId) why = `neither driver ${port.driver} nor PCI id ${pciId} matches a profile`;
  else if (port.pciId !== undefined) why = `driver ${port.driver} matches no profile ("${port.pciId}" is not a PCI vendor:device id)`;
  else why = `driver ${port.driver} matches no profile`;
  return {
    profile: set.fallback,
    matchedBy: 'fallback',
    reason: `${why}; using ${set.fallback.family}: every piece of the policy runs on the software path`,
  };
}
