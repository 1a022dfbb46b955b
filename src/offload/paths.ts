/**
 * Where the project's data directories are, whether we run from src/ through
 * a loader or from the compiled dist/ tree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The directory holding shadowtap's package.json. */
export function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
        if (name === 'shadowtap') return (cachedRoot = dir);
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find shadowtap's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export function hwProfilesDir(): string {
  return join(projectRoot(), 'hw-profiles');
}

export function firmwareConfigDir(): string {
  return join(projectRoot(), 'firmware-config');
}

/**
 * DPDK's per-driver feature matrices: $SHADOWTAP_DPDK_FEATURES, else
 * ../shared/dpdk-features next to the repository.
 */
export function dpdkFeaturesDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['SHADOWTAP_DPDK_FEATURES'];
  if (fromEnv) return resolve(fromEnv);
  return resolve(projectRoot(), '..', 'shared', 'dpdk-features');
}

/** A path as shown in messages: relative to the project root when inside it. */
export function displayPath(path: string): string {
  const rel = relative(projectRoot(), path);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
  return path;
}
