/**
 * Write the net_shadowsim profile file for a hw-profile.
 *
 *   node dist/scripts/sim-profile.js <family | path/to/family.json> [-o FILE] [--capacity N]
 *
 * A family name is looked up in hw-profiles/ (the whole set is checked, as at
 * start-up); a path to a .json reads that directory's set. Without -o the file
 * goes to standard output. Then:
 *
 *   dpdk-testpmd -d build/sim/librte_net_shadowsim.so --vdev net_shadowsim0,profile=FILE ...
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadProfiles } from '../src/offload/profiles.js';
import { displayPath } from '../src/offload/paths.js';
import { ProfileError } from '../src/offload/problems.js';
import { renderSimProfile } from '../src/offload/sim-profile.js';

const USAGE = 'usage: node dist/scripts/sim-profile.js <family | path/to/family.json> [-o FILE] [--capacity N]';

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let target: string | undefined;
  let outFile: string | undefined;
  let capacity: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-o' || a === '--out') {
      outFile = argv[++i];
      if (!outFile) return usage(`${a}: expected a file name`);
    } else if (a === '--capacity') {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) return usage(`--capacity: expected a whole number, got ${v ?? 'nothing'}`);
      capacity = Number(v);
    } else if (a.startsWith('-')) {
      return usage(`unknown option ${a}`);
    } else if (target === undefined) {
      target = a;
    } else {
      return usage(`unexpected argument ${a}`);
    }
  }
  if (target === undefined) return usage('expected a family name or a profile .json');

  const isPath = target.endsWith('.json');
  const family = isPath ? basename(target, '.json') : target;
  let text: string;
  try {
    const set = loadProfiles(isPath ? { dir: dirname(resolve(target)) } : {});
    const profile = set.byFamily(family);
    if (!profile) {
      return usage(`no hw-profile for family ${family} in ${displayPath(set.dir)}; known: ${set.profiles.map((p) => p.family).join(', ')}`);
    }
    text = renderSimProfile(profile, { ...(capacity !== undefined ? { capacity } : {}), source: displayPath(`${set.dir}/${family}.json`) });
  } catch (err) {
    if (err instanceof ProfileError) {
      console.error(`sim-profile: ${err.message}`);
      return 1;
    }
    throw err;
  }
  if (outFile) writeFileSync(outFile, text);
  else process.stdout.write(text);
  return 0;
}

function usage(msg: string): number {
  console.error(`sim-profile: ${msg}\n${USAGE}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
