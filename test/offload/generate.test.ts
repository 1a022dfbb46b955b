import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_RELEASE, REFERENCE_RELEASE, generateHwProfiles, parseIni } from '../../src/offload/generate.js';
import { dpdkFeaturesDir, projectRoot } from '../../src/offload/paths.js';
import { ProfileError } from '../../src/offload/problems.js';

const root = projectRoot();
const featuresDir = dpdkFeaturesDir();
const haveFeatures = existsSync(join(featuresDir, BUILD_RELEASE, 'default.ini')) && existsSync(join(featuresDir, REFERENCE_RELEASE, 'default.ini'));
const skipWhy = `skipped: DPDK feature matrices not found at ${featuresDir} (set SHADOWTAP_DPDK_FEATURES)`;
const withFeatures = haveFeatures ? test : test.skip;
const title = (t: string): string => (haveFeatures ? t : `${t} (${skipWhy})`);

withFeatures(title('regenerating hw-profiles gives the committed files byte for byte'), (t) => {
  const files = generateHwProfiles({ root, featuresDir });
  const generated = new Set(files.map((f) => f.path));
  for (const f of files) {
    const path = join(root, f.path);
    t.true(existsSync(path), `${f.path} is generated but not committed`);
    if (existsSync(path)) t.is(readFileSync(path, 'utf8'), f.content, `${f.path} differs from what the generator produces; run node dist/scripts/gen-hw-profiles.js`);
  }
  const committed = readdirSync(join(root, 'hw-profiles')).filter((n) => n.endsWith('.json')).map((n) => `hw-profiles/${n}`);
  t.deepEqual(committed.filter((p) => !generated.has(p)), [], 'committed profiles without a source in hw-profiles/src');
  // Deterministic: a second run gives the same bytes.
  t.deepEqual(generateHwProfiles({ root, featuresDir }), files);
});

withFeatures(title('vocabulary.json is the rte_flow sections of default.ini'), (t) => {
  const ini = parseIni(readFileSync(join(featuresDir, BUILD_RELEASE, 'default.ini'), 'utf8'));
  const vocab = JSON.parse(readFileSync(join(root, 'hw-profiles', 'vocabulary.json'), 'utf8')) as { items: string[]; actions: string[] };
  t.deepEqual(vocab.items, [...(ini.get('rte_flow items')?.keys() ?? [])].sort());
  t.deepEqual(vocab.actions, [...(ini.get('rte_flow actions')?.keys() ?? [])].sort());
});

withFeatures(title('the generator script --check agrees with the committed files'), (t) => {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'gen-hw-profiles.js'), '--check', '--features', featuresDir], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /up to date/);
});

test('the generator script says where it looked when the matrices are missing', (t) => {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'gen-hw-profiles.js'), '--check', '--features', '/nonexistent/dpdk-features'], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /DPDK feature matrices not found at \/nonexistent\/dpdk-features; set SHADOWTAP_DPDK_FEATURES/);
});

test('parseIni reads sections, keys and values, and skips comments', (t) => {
  const ini = parseIni('; comment\n[Features]\nSpeed capabilities   = Y\n\n[rte_flow items]\neth                  = P\nipv4 = Y\n[rte_flow actions]\ncount = I\nempty =\n');
  t.deepEqual([...ini.keys()], ['Features', 'rte_flow items', 'rte_flow actions']);
  t.is(ini.get('Features')?.get('Speed capabilities'), 'Y');
  t.deepEqual(Object.fromEntries(ini.get('rte_flow items') ?? []), { eth: 'P', ipv4: 'Y' });
  t.deepEqual(Object.fromEntries(ini.get('rte_flow actions') ?? []), { count: 'I', empty: '' });
});

/** A miniature project + feature tree, so generator errors are tested without ../shared. */
function miniature(source: string, driverIni: string): { root: string; features: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'st-gen-'));
  const proj = join(base, 'proj');
  const features = join(base, 'features');
  mkdirSync(join(proj, 'hw-profiles', 'src'), { recursive: true });
  for (const rel of [BUILD_RELEASE, REFERENCE_RELEASE]) {
    mkdirSync(join(features, rel), { recursive: true });
    writeFileSync(join(features, rel, 'default.ini'), '[rte_flow items]\neth =\nipv4 =\n[rte_flow actions]\ndrop =\nqueue =\nmark =\n');
    writeFileSync(join(features, rel, 'toy.ini'), driverIni);
  }
  writeFileSync(join(proj, 'hw-profiles', 'src', 'toy.yaml'), source);
  return { root: proj, features, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

const toySource = (over: Record<string, string> = {}): string => {
  const lines = {
    family: 'toy',
    kind: 'pci',
    featureMatrix: 'toy',
    ...over,
  };
  return `family: ${lines.family}
title: Toy NIC
kind: ${lines.kind}
featureMatrix: ${lines.featureMatrix}
firmwareConfig: null
match: { drivers: [net_toy], pci: [{ id: "1234:5678", model: Toy, offloadTarget: true }] }
flow: { api: rte_flow }
domains: { ingress: { supported: true }, egress: { supported: false }, transfer: { supported: false } }
limits:
  ruleCapacity: { rules: 16, note: toy, source: toy.rst }
  sample: { supported: false, domains: [], mirror: false, fractionalRatio: false, subActions: null, source: toy.ini }
  headerModify: { supported: false, actions: [], source: toy.ini }
  mirrorWithModify: { semantics: not-applicable, copyOnlyInOneRule: false, source: toy.ini }
  encap: { actions: [], source: toy.ini }
quirks: []
devargs: []
notes: []
`;
};

test('the generator merges a source with its matrix', (t) => {
  const m = miniature(toySource(), '[rte_flow items]\neth = P\n[rte_flow actions]\ndrop = Y\nmark = Y\n');
  try {
    const files = generateHwProfiles({ root: m.root, featuresDir: m.features });
    t.deepEqual(files.map((f) => f.path), ['hw-profiles/toy.json', 'hw-profiles/vocabulary.json']);
    const toy = JSON.parse(files[0]!.content) as { capabilities: unknown; reference: unknown; generated: { featureMatrix: string } };
    t.deepEqual(toy.capabilities, { release: BUILD_RELEASE, items: { eth: 'P' }, actions: { drop: 'Y', mark: 'Y' } });
    t.is(toy.generated.featureMatrix, `${BUILD_RELEASE}/toy.ini`);
    t.deepEqual(toy.reference, { release: REFERENCE_RELEASE, itemsAdded: {}, itemsRemoved: [], actionsAdded: {}, actionsRemoved: [], valuesChanged: {} });
  } finally {
    m.cleanup();
  }
});

const genBad: { name: string; source: string; ini: string; field: string; message: RegExp }[] = [
  { name: 'unknown action in the driver matrix', source: toySource(), ini: '[rte_flow actions]\ndrop = Y\nteleport = Y\n', field: 'capabilities.actions.teleport', message: /unknown rte_flow action; expected a name from DPDK's \[rte_flow actions\]/ },
  { name: 'bad value in the driver matrix', source: toySource(), ini: '[rte_flow actions]\ndrop = maybe\n', field: '[rte_flow actions] drop', message: /value "maybe"; expected Y, P or I/ },
  { name: 'missing feature matrix', source: toySource({ featureMatrix: 'nosuch' }), ini: '[rte_flow actions]\ndrop = Y\n', field: 'featureMatrix', message: /"nosuch", but v22\.11\.11\/nosuch\.ini does not exist/ },
  { name: 'source schema error', source: toySource({ kind: 'nic' }), ini: '[rte_flow actions]\ndrop = Y\n', field: 'kind', message: /expected one of "pci", "vdev", "fallback", got "nic"/ },
  { name: 'YAML syntax error', source: 'family: [toy\n', ini: '', field: '', message: /YAML syntax error at line/ },
];
for (const c of genBad) {
  test(`generator refuses: ${c.name}`, (t) => {
    const m = miniature(c.source, c.ini);
    try {
      const err = t.throws(() => generateHwProfiles({ root: m.root, featuresDir: m.features }), { instanceOf: ProfileError });
      const hit = err?.problems.find((p) => p.field === c.field);
      t.truthy(hit, err?.message);
      if (hit) {
        t.regex(hit.message, c.message);
        t.regex(hit.file, /toy/);
      }
    } finally {
      m.cleanup();
    }
  });
}
