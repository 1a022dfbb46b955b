/**
 * Regenerate hw-profiles/*.json and hw-profiles/vocabulary.json.
 *
 *   node dist/scripts/gen-hw-profiles.js           write the files
 *   node dist/scripts/gen-hw-profiles.js --check   exit 1 if a committed file differs
 *   --features DIR                                 DPDK feature matrices
 *                                                  (default: $SHADOWTAP_DPDK_FEATURES,
 *                                                   else ../shared/dpdk-features)
 */
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateHwProfiles } from '../src/offload/generate.js';
import { dpdkFeaturesDir, projectRoot } from '../src/offload/paths.js';
import { ProfileError } from '../src/offload/problems.js';

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: node dist/scripts/gen-hw-profiles.js [--check] [--features DIR]');
    return 0;
  }
  const check = argv.includes('--check');
  const fi = argv.indexOf('--features');
  const featuresDir = fi >= 0 && argv[fi + 1] ? argv[fi + 1]! : dpdkFeaturesDir();
  if (!existsSync(featuresDir)) {
    console.error(`gen-hw-profiles: DPDK feature matrices not found at ${featuresDir}; set SHADOWTAP_DPDK_FEATURES or pass --features DIR`);
    return 2;
  }
  const root = projectRoot();
  let files;
  try {
    files = generateHwProfiles({ root, featuresDir });
  } catch (err) {
    if (err instanceof ProfileError) {
      console.error(`gen-hw-profiles: ${err.message}`);
      return 1;
    }
    throw err;
  }

  const wanted = new Set(files.map((f) => f.path));
  // A profile whose source was deleted must not linger as a stale .json.
  const stale = readdirSync(join(root, 'hw-profiles'))
    .filter((n) => n.endsWith('.json'))
    .map((n) => `hw-profiles/${n}`)
    .filter((p) => !wanted.has(p));

  if (check) {
    const drift = files.filter((f) => {
      const path = join(root, f.path);
      return !existsSync(path) || readFileSync(path, 'utf8') !== f.content;
    });
    for (const f of drift) console.error(`gen-hw-profiles: ${f.path} is not what the generator produces`);
    for (const p of stale) console.error(`gen-hw-profiles: ${p} has no source in hw-profiles/src/`);
    if (drift.length + stale.length > 0) {
      console.error('gen-hw-profiles: run `node dist/scripts/gen-hw-profiles.js` and commit the result');
      return 1;
    }
    console.log(`gen-hw-profiles: ${files.length} files up to date`);
    return 0;
  }
  for (const f of files) writeFileSync(join(root, f.path), f.content);
  for (const p of stale) unlinkSync(join(root, p));
  console.log(`gen-hw-profiles: wrote ${files.length} files${stale.length ? `, removed ${stale.join(', ')}` : ''} (features: ${featuresDir})`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
