import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkFirmwareConfigs, loadFirmwareConfigs } from '../../src/offload/firmware-config.js';
import { firmwareConfigDir } from '../../src/offload/paths.js';
import { ProfileError, formatProblem } from '../../src/offload/problems.js';
import { loadProfiles } from '../../src/offload/profiles.js';

type Obj = Record<string, unknown>;
const profiles = loadProfiles();
const dir = firmwareConfigDir();

function shipped(): { file: string; data: unknown }[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.yaml'))
    .sort()
    .map((n) => ({ file: `firmware-config/${n}`, data: parse(readFileSync(join(dir, n), 'utf8')) as unknown }));
}

test('every firmware-config entry loads and every profile that names one has it', (t) => {
  const set = loadFirmwareConfigs({ profiles });
  t.deepEqual(set.entries.map((e) => e.family), ['bnxt', 'i40e', 'ice', 'ixgbe', 'mlx5', 'virtio']);
  for (const p of profiles.profiles) {
    if (p.firmwareConfig) t.truthy(set.byFamily(p.firmwareConfig), p.family);
  }
});

test('mlx5 needs the DV devargs, DevX and the bifurcated binding', (t) => {
  const mlx5 = loadFirmwareConfigs({ profiles }).byFamily('mlx5');
  t.is(mlx5?.binding.model, 'bifurcated');
  t.deepEqual(mlx5?.devargs.map((d) => d.name), ['dv_flow_en', 'dv_esw_en', 'dv_xmeta_en']);
  t.true(mlx5?.firmware.settings.some((s) => s.key === 'UCTX_EN' && s.required));
  t.true(mlx5?.firmware.settings.some((s) => s.key === 'FLEX_PARSER_PROFILE_ENABLE'));
  t.true(mlx5?.firmware.versions.some((v) => v.model === 'ConnectX-6 Dx' && v.kind === 'minimum' && v.version === '22.27.0090'));
  t.deepEqual(mlx5?.kernelModules, ['ib_uverbs', 'mlx5_core', 'mlx5_ib']);
});

test('ice needs its DDP package where the PMD looks for it', (t) => {
  const ice = loadFirmwareConfigs({ profiles }).byFamily('ice');
  t.true(ice?.ddp?.required);
  t.deepEqual(ice?.ddp?.searchPaths, ['/lib/firmware/updates/intel/ice/ddp', '/lib/firmware/intel/ice/ddp']);
  t.deepEqual(ice?.ddp?.files, ['ice-<serial>.pkg', 'ice.pkg']);
});

const bad: { name: string; file: string; edit: (d: Obj) => void; field: string; message: RegExp }[] = [
  { name: 'relative DDP path', file: 'ice', edit: (d) => ((d['ddp'] as Obj)['searchPaths'] = ['lib/firmware/intel/ice/ddp']), field: 'ddp.searchPaths[0]', message: /expected an absolute path/ },
  { name: 'unknown binding model', file: 'i40e', edit: (d) => ((d['binding'] as Obj)['model'] = 'uio'), field: 'binding.model', message: /expected one of "vfio", "bifurcated", got "uio"/ },
  { name: 'lower-case mlxconfig key', file: 'mlx5', edit: (d) => ((((d['firmware'] as Obj)['settings'] as Obj[])[0] as Obj)['key'] = 'uctx_en'), field: 'firmware.settings[0].key', message: /expected a string matching/ },
  { name: 'profile that does not exist', file: 'bnxt', edit: (d) => (d['profiles'] = ['bnxt', 'bnxt2']), field: 'profiles[1]', message: /"bnxt2" is not a profile in hw-profiles\// },
  { name: 'version rule for a PCI id the profile does not match', file: 'mlx5', edit: (d) => ((((d['firmware'] as Obj)['versions'] as Obj[])[0] as Obj)['pciIds'] = ['8086:1592']), field: 'firmware.versions[0].pciIds[0]', message: /PCI id 8086:1592 is not matched by profile mlx5/ },
  { name: 'unknown field', file: 'virtio', edit: (d) => (d['firmwre'] = {}), field: 'firmwre', message: /unknown field; expected one of: family, title, profiles/ },
];
for (const c of bad) {
  test(`bad firmware-config: ${c.name}`, (t) => {
    const entries = shipped().map((e) => {
      if (e.file !== `firmware-config/${c.file}.yaml`) return e;
      const data = e.data as Obj;
      c.edit(data);
      return { file: e.file, data };
    });
    const { problems } = checkFirmwareConfigs(entries, profiles);
    const hit = problems.find((p) => p.file === `firmware-config/${c.file}.yaml` && p.field === c.field);
    t.truthy(hit, problems.map(formatProblem).join('\n'));
    if (hit) t.regex(hit.message, c.message);
  });
}

test('a profile naming a missing firmware-config entry is reported on the profile', (t) => {
  const entries = shipped().filter((e) => e.file !== 'firmware-config/ixgbe.yaml');
  const { problems } = checkFirmwareConfigs(entries, profiles);
  t.true(problems.some((p) => p.file === 'hw-profiles/ixgbe.json' && p.field === 'firmwareConfig' && /firmware-config\/ixgbe\.yaml does not exist/.test(p.message)));
  t.true(new ProfileError('ST_ERR_FIRMWARE_CONFIG_INVALID', problems).message.includes('hw-profiles/ixgbe.json: firmwareConfig:'));
});
