import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hwProfilesDir } from '../../src/offload/paths.js';
import { ProfileError, formatProblem } from '../../src/offload/problems.js';
import {
  checkProfileEntries,
  loadProfiles,
  loadVocabulary,
  matchProfile,
  normalisePciId,
  profileSetFrom,
  type Profile,
  type ProfileEntry,
} from '../../src/offload/profiles.js';

type Obj = Record<string, unknown>;

const dir = hwProfilesDir();
const vocabulary = loadVocabulary();
const set = loadProfiles();

function shipped(): ProfileEntry[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json') && n !== 'vocabulary.json')
    .sort()
    .map((n) => ({ file: `hw-profiles/${n}`, data: JSON.parse(readFileSync(join(dir, n), 'utf8')) as unknown }));
}

function profile(family: string): Profile {
  const p = set.byFamily(family);
  if (!p) throw new Error(`no profile ${family}`);
  return p;
}

/** Set a value at a dotted path with [i] indexes; undefined deletes it. */
function put(obj: Obj, path: string, value: unknown): void {
  const segs = path.match(/[^.[\]]+/g)!.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  let cur = obj as Record<string | number, unknown>;
  for (const s of segs.slice(0, -1)) cur = cur[s] as Record<string | number, unknown>;
  const last = segs[segs.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

// ---- what ships ---------------------------------------------------------------

test('every shipped profile loads, with exactly one fallback', (t) => {
  t.deepEqual(
    set.profiles.map((p) => p.family),
    ['bnxt', 'generic-software', 'i40e', 'ice', 'ixgbe', 'mlx5', 'net_af_packet', 'net_null', 'net_pcap', 'net_ring', 'net_tap', 'virtio'],
  );
  t.is(set.fallback.family, 'generic-software');
  t.is(set.profiles.filter((p) => p.kind === 'fallback').length, 1);
  t.true(Object.isFrozen(set.profiles[0]));
});

test("every capability key of every shipped profile is a name from DPDK's [rte_flow items]/[rte_flow actions]", (t) => {
  const items = new Set(vocabulary.items);
  const actions = new Set(vocabulary.actions);
  let checked = 0;
  for (const p of set.profiles) {
    for (const k of Object.keys(p.capabilities.items)) {
      t.true(items.has(k), `${p.family}: item ${k}`);
      checked++;
    }
    for (const k of Object.keys(p.capabilities.actions)) {
      t.true(actions.has(k), `${p.family}: action ${k}`);
      checked++;
    }
    // Names used in limits are rte_flow actions too.
    const named = [
      ...p.limits.headerModify.actions,
      ...p.limits.encap.actions,
      ...Object.values(p.limits.sample.subActions ?? {}).flat(),
      ...['ingress', 'egress', 'transfer'].flatMap((d) => p.domains[d as 'ingress'].actions ?? []),
    ];
    for (const a of named) t.true(a in p.capabilities.actions, `${p.family}: ${a} named in limits but not declared`);
  }
  t.true(checked > 100);
  t.is(vocabulary.release, 'v22.11.11');
  t.true(vocabulary.actions.includes('sample') && vocabulary.items.includes('ipv4'));
});

test('capability values keep what DPDK wrote (Y, P, I)', (t) => {
  t.is(profile('mlx5').capabilities.actions['count'], 'I');
  t.is(profile('mlx5').capabilities.actions['sample'], 'Y');
  t.is(profile('ice').capabilities.items['eth'], 'P');
  t.is(profile('net_tap').capabilities.items['vlan'], 'P');
});

test('only mlx5 offers SAMPLE together with header rewrite, split around SAMPLE', (t) => {
  const both = set.profiles.filter((p) => p.limits.sample.supported && p.limits.headerModify.supported);
  // bnxt declares both in its matrix, but combining them is not documented: unsupported.
  t.deepEqual(both.map((p) => p.family), ['bnxt', 'mlx5']);
  const combinable = set.profiles.filter((p) => p.limits.mirrorWithModify.semantics === 'split-around-sample');
  t.deepEqual(combinable.map((p) => p.family), ['mlx5']);
  t.is(profile('bnxt').limits.mirrorWithModify.semantics, 'unsupported');

  const m = profile('mlx5').limits;
  t.deepEqual(m.sample.subActions?.ingress, ['mark', 'count', 'queue', 'rss']);
  t.deepEqual(m.sample.subActions?.transfer, ['port_id', 'raw_encap', 'vxlan_encap', 'nvgre_encap']);
  t.deepEqual(m.sample.subActions?.transferRatioAbove1, []);
  t.deepEqual(m.sample.domains, ['ingress', 'transfer']);
  t.is(m.mirrorWithModify.modifyBeforeSample, 'original-and-copy');
  t.is(m.mirrorWithModify.modifyAfterSample, 'original-only');
  t.false(m.mirrorWithModify.copyOnlyInOneRule);
  t.regex(m.sample.source, /mlx5\.rst.*Sample flow/);
  t.regex(m.mirrorWithModify.source, /flow_create_split_sample/);
});

test('ice, i40e, ixgbe and net_tap classify, mark, queue or drop only', (t) => {
  for (const fam of ['ice', 'i40e', 'ixgbe', 'net_tap']) {
    const p = profile(fam);
    t.false(p.limits.sample.supported, fam);
    t.false(p.limits.headerModify.supported, fam);
    t.is(p.limits.mirrorWithModify.semantics, 'not-applicable', fam);
    t.false('sample' in p.capabilities.actions, fam);
    t.deepEqual(Object.keys(p.capabilities.actions).filter((a) => a.startsWith('set_') || a === 'modify_field'), [], fam);
    t.true('drop' in p.capabilities.actions && 'queue' in p.capabilities.actions, fam);
  }
  const tap = profile('net_tap');
  t.deepEqual(tap.domains.ingress.actions, ['drop', 'queue', 'passthru']);
  t.deepEqual(tap.quirks.map((q) => q.id), ['flow-create-needs-tc', 'rss-validate-error-unset']);
});

test('net_null, net_ring, net_pcap, net_af_packet and virtio have no rte_flow at all', (t) => {
  for (const fam of ['net_null', 'net_ring', 'net_pcap', 'net_af_packet', 'virtio', 'generic-software']) {
    const p = profile(fam);
    t.is(p.flow.api, 'none', fam);
    t.deepEqual(p.capabilities.items, {}, fam);
    t.deepEqual(p.capabilities.actions, {}, fam);
    t.false(p.domains.ingress.supported || p.domains.egress.supported || p.domains.transfer.supported, fam);
  }
  t.is(profile('net_null').featureMatrix, null);
  t.is(profile('net_pcap').featureMatrix, 'pcap');
});

test('driver names are the ones rte_eth_dev_info reports', (t) => {
  const drivers = Object.fromEntries(set.profiles.map((p) => [p.family, p.match.drivers]));
  t.deepEqual(drivers, {
    bnxt: ['net_bnxt'],
    'generic-software': [],
    i40e: ['net_i40e'],
    ice: ['net_ice'],
    ixgbe: ['net_ixgbe'],
    mlx5: ['mlx5_pci'],
    net_af_packet: ['net_af_packet'],
    net_null: ['net_null'],
    net_ring: ['net_ring'],
    net_pcap: ['net_pcap'],
    net_tap: ['net_tap'],
    virtio: ['net_virtio'],
  });
  t.true(profile('mlx5').match.pci.some((m) => m.id === '15b3:101d' && m.model === 'ConnectX-6 Dx' && m.offloadTarget));
  t.true(profile('ice').match.pci.some((m) => m.id === '8086:1592' && m.offloadTarget));
});

test('every documented limitation names its source', (t) => {
  for (const p of set.profiles) {
    const l = p.limits;
    for (const [k, v] of Object.entries({ ruleCapacity: l.ruleCapacity, sample: l.sample, headerModify: l.headerModify, mirrorWithModify: l.mirrorWithModify, encap: l.encap })) {
      t.regex(v.source, /\.(rst|ini|c|h|md)\b|measured|design/, `${p.family}: limits.${k}.source`);
    }
    for (const q of p.quirks) t.true(q.source.length > 3, `${p.family}: quirk ${q.id}`);
    for (const d of p.devargs) t.true(d.source.length > 3, `${p.family}: devarg ${d.name}`);
  }
});

// ---- matching -------------------------------------------------------------------

const matchCases: { name: string; port: { driver: string; pciId?: string }; family: string; by: 'driver' | 'pci' | 'fallback'; reason: RegExp }[] = [
  { name: 'mlx5 by driver', port: { driver: 'mlx5_pci', pciId: '15b3:1017' }, family: 'mlx5', by: 'driver', reason: /driver mlx5_pci matches profile mlx5 \(ConnectX-5, 15b3:1017\)/ },
  { name: 'ice by driver', port: { driver: 'net_ice' }, family: 'ice', by: 'driver', reason: /driver net_ice matches profile ice/ },
  { name: 'vdev by driver', port: { driver: 'net_pcap' }, family: 'net_pcap', by: 'driver', reason: /net_pcap/ },
  { name: 'PCI id when the driver is unknown', port: { driver: 'net_mystery', pciId: '0x8086:0x1592' }, family: 'ice', by: 'pci', reason: /no profile lists driver net_mystery; PCI id 8086:1592 \(E810-C for QSFP\) matches profile ice/ },
  { name: 'upper-case PCI id', port: { driver: 'x', pciId: '15B3:A2DC' }, family: 'mlx5', by: 'pci', reason: /BlueField-3/ },
  { name: 'the running driver wins over the PCI id', port: { driver: 'net_i40e', pciId: '8086:1592' }, family: 'i40e', by: 'driver', reason: /listed by profile ice, but the running driver decides/ },
  { name: 'non-target model says so', port: { driver: 'mlx5_pci', pciId: '15b3:1015' }, family: 'mlx5', by: 'driver', reason: /ConnectX-4 Lx.*probe decides/ },
  { name: 'DCF falls back', port: { driver: 'net_ice_dcf', pciId: '8086:1889' }, family: 'generic-software', by: 'fallback', reason: /neither driver net_ice_dcf nor PCI id 8086:1889 matches a profile; using generic-software: every piece of the policy runs on the software path/ },
  { name: 'unknown vdev falls back', port: { driver: 'net_shadowsim' }, family: 'generic-software', by: 'fallback', reason: /driver net_shadowsim matches no profile/ },
  { name: 'garbage PCI id falls back', port: { driver: 'nope', pciId: 'zz' }, family: 'generic-software', by: 'fallback', reason: /"zz" is not a PCI vendor:device id/ },
];
for (const c of matchCases) {
  test(`matchProfile: ${c.name}`, (t) => {
    const r = matchProfile(c.port, set);
    t.is(r.profile.family, c.family);
    t.is(r.matchedBy, c.by);
    t.regex(r.reason, c.reason);
  });
}

test('matchProfile uses the shipped profiles by default', (t) => {
  t.is(matchProfile({ driver: 'net_ring' }).profile.family, 'net_ring');
});

test('normalisePciId', (t) => {
  t.is(normalisePciId('8086:1592'), '8086:1592');
  t.is(normalisePciId('0x15B3:0x101D'), '15b3:101d');
  t.is(normalisePciId('8086 159b'), '8086:159b');
  t.is(normalisePciId('8086-1592'), undefined);
  t.is(normalisePciId(''), undefined);
});

// ---- bad profiles ------------------------------------------------------------------

interface BadCase {
  name: string;
  /** family of the shipped profile to start from */
  from: string;
  edit: (p: Obj) => void;
  /** extra entries added to the set (for duplicates) */
  extra?: (p: Obj) => ProfileEntry[];
  file: string;
  field: string;
  message: RegExp;
}

const clone = (fam: string): Obj => structuredClone(set.byFamily(fam)) as unknown as Obj;

const badCases: BadCase[] = [
  {
    name: 'unknown rte_flow action',
    from: 'ice',
    edit: (p) => put(p, 'capabilities.actions.set_ipv4_dstt', 'Y'),
    file: 'hw-profiles/ice.json',
    field: 'capabilities.actions.set_ipv4_dstt',
    message: /^unknown rte_flow action; expected a name from DPDK's \[rte_flow actions\]$/,
  },
  {
    name: 'unknown rte_flow item',
    from: 'ice',
    edit: (p) => put(p, 'capabilities.items.ipv44', 'Y'),
    file: 'hw-profiles/ice.json',
    field: 'capabilities.items.ipv44',
    message: /^unknown rte_flow item; expected a name from DPDK's \[rte_flow items\]$/,
  },
  {
    name: 'capability value outside Y/P/I',
    from: 'ice',
    edit: (p) => put(p, 'capabilities.actions.drop', 'N'),
    file: 'hw-profiles/ice.json',
    field: 'capabilities.actions.drop',
    message: /expected the value from DPDK's feature matrix: Y supported, P partial, I can be indirect as well, got "N"/,
  },
  {
    name: 'capability key that is not an rte_flow name at all',
    from: 'i40e',
    edit: (p) => put(p, 'capabilities.actions.SET-IP', 'Y'),
    file: 'hw-profiles/i40e.json',
    field: 'capabilities.actions.SET-IP',
    message: /unknown key; expected a name matching/,
  },
  {
    name: 'unknown field',
    from: 'mlx5',
    edit: (p) => put(p, 'colour', 'blue'),
    file: 'hw-profiles/mlx5.json',
    field: 'colour',
    message: /unknown field; expected one of: generated, family, title, kind/,
  },
  {
    name: 'misspelt nested field',
    from: 'mlx5',
    edit: (p) => put(p, 'limits.sample.ratios', [1]),
    file: 'hw-profiles/mlx5.json',
    field: 'limits.sample.ratios',
    message: /unknown field; expected one of: supported, domains, mirror, fractionalRatio, subActions/,
  },
  {
    name: 'missing required field',
    from: 'ixgbe',
    edit: (p) => put(p, 'limits.sample', undefined),
    file: 'hw-profiles/ixgbe.json',
    field: 'limits.sample',
    message: /^missing; expected a mapping$/,
  },
  {
    name: 'bad PCI id',
    from: 'ice',
    edit: (p) => put(p, 'match.pci[0].id', '8086:1592:0'),
    file: 'hw-profiles/ice.json',
    field: 'match.pci[0].id',
    message: /expected PCI vendor:device, lower-case hex/,
  },
  {
    name: 'bad kind',
    from: 'net_tap',
    edit: (p) => put(p, 'kind', 'virtual'),
    file: 'hw-profiles/net_tap.json',
    field: 'kind',
    message: /expected one of "pci", "vdev", "fallback", got "virtual"/,
  },
  {
    name: 'family differs from the file name',
    from: 'ice',
    edit: (p) => put(p, 'family', 'e810'),
    file: 'hw-profiles/ice.json',
    field: 'family',
    message: /"e810"; expected "ice", the file's name/,
  },
  {
    name: 'SAMPLE claimed where the matrix has none',
    from: 'ice',
    edit: (p) => {
      put(p, 'limits.sample.supported', true);
      put(p, 'limits.sample.domains', ['ingress']);
      put(p, 'limits.sample.mirror', true);
    },
    file: 'hw-profiles/ice.json',
    field: 'limits.sample.supported',
    message: /true, but DPDK's ice\.ini does not declare the sample action/,
  },
  {
    name: 'rewrite action the driver does not declare',
    from: 'ice',
    edit: (p) => {
      put(p, 'limits.headerModify.supported', true);
      put(p, 'limits.headerModify.actions', ['set_ipv4_dst']);
    },
    file: 'hw-profiles/ice.json',
    field: 'limits.headerModify.actions[0]',
    message: /"set_ipv4_dst" is not in capabilities\.actions: DPDK's ice\.ini does not declare it/,
  },
  {
    name: 'non-rewrite action listed as a rewrite',
    from: 'mlx5',
    edit: (p) => put(p, 'limits.headerModify.actions', ['drop']),
    file: 'hw-profiles/mlx5.json',
    field: 'limits.headerModify.actions[0]',
    message: /"drop" is not a header-rewrite action/,
  },
  {
    name: 'unknown SAMPLE sub-action',
    from: 'mlx5',
    edit: (p) => put(p, 'limits.sample.subActions.ingress', ['mark', 'mirror']),
    file: 'hw-profiles/mlx5.json',
    field: 'limits.sample.subActions.ingress[1]',
    message: /^unknown rte_flow action; expected a name from DPDK's \[rte_flow actions\]$/,
  },
  {
    name: 'domain restriction naming an undeclared action',
    from: 'net_tap',
    edit: (p) => put(p, 'domains.ingress.actions', ['drop', 'mark']),
    file: 'hw-profiles/net_tap.json',
    field: 'domains.ingress.actions[1]',
    message: /"mark" is not in capabilities\.actions: DPDK's tap\.ini does not declare it/,
  },
  {
    name: 'mirror-with-modify semantics that contradict the limits',
    from: 'i40e',
    edit: (p) => put(p, 'limits.mirrorWithModify.semantics', 'split-around-sample'),
    file: 'hw-profiles/i40e.json',
    field: 'limits.mirrorWithModify.semantics',
    message: /does not offer both SAMPLE and header rewrite; expected "not-applicable"/,
  },
  {
    name: 'rte_flow capabilities on a driver said to have no rte_flow',
    from: 'net_pcap',
    edit: (p) => put(p, 'capabilities.actions.drop', 'Y'),
    file: 'hw-profiles/net_pcap.json',
    field: 'flow.api',
    message: /"none", but DPDK's pcap\.ini declares rte_flow capabilities/,
  },
  {
    name: 'duplicate driver match',
    from: 'ixgbe',
    edit: () => {},
    extra: () => {
      const twin = clone('ixgbe');
      put(twin, 'family', 'ixgbe-copy');
      put(twin, 'match.pci', []);
      return [{ file: 'hw-profiles/ixgbe-copy.json', data: twin }];
    },
    file: 'hw-profiles/ixgbe.json',
    field: 'match.drivers[0]',
    message: /driver "net_ixgbe" is already matched by hw-profiles\/ixgbe-copy\.json \(match\.drivers\[0\]\); a driver name may appear in one profile only/,
  },
  {
    name: 'duplicate PCI id match',
    from: 'ice',
    edit: (p) => put(p, 'match.pci[0].id', '8086:1572'),
    file: 'hw-profiles/ice.json',
    field: 'match.pci[0].id',
    message: /PCI id 8086:1572 is already matched by hw-profiles\/i40e\.json \(match\.pci\[0\]\); a PCI id may appear in one profile only/,
  },
  {
    name: 'a second fallback',
    from: 'net_ring',
    edit: (p) => {
      put(p, 'kind', 'fallback');
      put(p, 'match.drivers', []);
    },
    file: 'hw-profiles/net_ring.json',
    field: 'kind',
    message: /"fallback", but hw-profiles\/generic-software\.json is already the fallback; expected exactly one/,
  },
];

for (const c of badCases) {
  test(`bad profile: ${c.name}`, (t) => {
    const entries = shipped().map((e) => {
      if (e.file !== `hw-profiles/${c.from}.json`) return e;
      const data = e.data as Obj;
      c.edit(data);
      return { file: e.file, data };
    });
    const all = c.extra ? [...(c.extra({}) ?? []), ...entries] : entries;
    const { problems, profiles } = checkProfileEntries(all, vocabulary);
    t.deepEqual(profiles, [], 'nothing is returned from a set with problems');
    const hit = problems.find((p) => p.file === c.file && p.field === c.field);
    t.truthy(hit, `expected a problem at ${c.file}: ${c.field}; got:\n${problems.map(formatProblem).join('\n')}`);
    if (hit) t.regex(hit.message, c.message);
    const err = t.throws(() => profileSetFrom(all, vocabulary), { instanceOf: ProfileError });
    t.is(err?.code, 'ST_ERR_PROFILE_INVALID');
    t.true(err?.message.includes(`${c.file}: ${c.field}: `));
  });
}

test('the exact message for an unknown action names the file and the field', (t) => {
  const entries = shipped().map((e) => {
    if (e.file !== 'hw-profiles/ice.json') return e;
    const data = e.data as Obj;
    put(data, 'capabilities.actions.set_ipv4_dstt', 'Y');
    return { file: e.file, data };
  });
  const err = t.throws(() => profileSetFrom(entries, vocabulary), { instanceOf: ProfileError });
  t.is(err?.message, "hw-profiles/ice.json: capabilities.actions.set_ipv4_dstt: unknown rte_flow action; expected a name from DPDK's [rte_flow actions]");
  t.is(err?.file, 'hw-profiles/ice.json');
  t.is(err?.field, 'capabilities.actions.set_ipv4_dstt');
});

test('loadProfiles refuses a directory with a broken profile and names the file', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'st-profiles-'));
  try {
    for (const n of readdirSync(dir).filter((x) => x.endsWith('.json'))) writeFileSync(join(tmp, n), readFileSync(join(dir, n)));
    writeFileSync(join(tmp, 'net_null.json'), '{ not json');
    const ice = JSON.parse(readFileSync(join(dir, 'ice.json'), 'utf8')) as Obj;
    put(ice, 'capabilities.actions.sample', 'Y');
    writeFileSync(join(tmp, 'ice.json'), JSON.stringify(ice));
    const err = t.throws(() => loadProfiles({ dir: tmp }), { instanceOf: ProfileError });
    t.regex(err?.message ?? '', /net_null\.json: \(file\): cannot be read as JSON/);
    // sample is a known action, so ice.json is self-consistent: the problem is only the JSON file.
    t.is(err?.problems.length, 1);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
