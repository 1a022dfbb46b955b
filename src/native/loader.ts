/**
 * The only module that loads the native addon (shadowtap.node).
 *
 * Candidates, in order: $SHADOWTAP_ADDON, <pkgroot>/build/Release/shadowtap.node,
 * <pkgroot>/build/Debug/shadowtap.node. When none loads, the error lists every
 * path tried and why it failed, so "the addon is missing" and "DPDK's shared
 * libraries are missing" never look alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stError, type ShadowtapError } from '../errors.js';
import type { NativeBinding } from '../dataplane/native-types.js';

const REQUIRED_EXPORTS = ['version', 'ealInit', 'portList', 'start', 'stats', 'stop', 'ealCleanup'] as const;

export interface LoadAttempt {
  path: string;
  /** where the candidate came from: "$SHADOWTAP_ADDON", "Release", "Debug" */
  source: string;
  reason: string;
}

export type LoadResult =
  | { binding: NativeBinding; path: string }
  | { error: ShadowtapError; attempts: LoadAttempt[] };

let cached: { binding: NativeBinding; path: string } | null = null;

/**
 * The package root: the nearest directory above this module holding our
 * package.json (dist/src/native/loader.js when compiled, src/native when not).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
        if (name === 'shadowtap') return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  // Fall back to the layout of the compiled file: dist/src/native/loader.js.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export function candidatePaths(env: NodeJS.ProcessEnv = process.env): Array<{ path: string; source: string }> {
  const root = packageRoot();
  const out: Array<{ path: string; source: string }> = [];
  const fromEnv = env['SHADOWTAP_ADDON'];
  if (fromEnv !== undefined && fromEnv !== '') out.push({ path: resolve(fromEnv), source: '$SHADOWTAP_ADDON' });
  out.push({ path: join(root, 'build', 'Release', 'shadowtap.node'), source: 'Release' });
  out.push({ path: join(root, 'build', 'Debug', 'shadowtap.node'), source: 'Debug' });
  return out;
}

function why(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

function isBinding(mod: unknown): mod is NativeBinding {
  if (mod === null || typeof mod !== 'object') return false;
  const rec = mod as Record<string, unknown>;
  return REQUIRED_EXPORTS.every((k) => typeof rec[k] === 'function');
}

/** Try every candidate; never throws. */
export function tryLoadNative(env: NodeJS.ProcessEnv = process.env): LoadResult {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const attempts: LoadAttempt[] = [];
  for (const { path, source } of candidatePaths(env)) {
    if (!existsSync(path)) {
      attempts.push({
        path,
        source,
        reason: source === '$SHADOWTAP_ADDON' ? 'no such file' : 'not built (run `npm run build:native`)',
      });
      continue;
    }
    let mod: unknown;
    try {
      mod = require(path);
    } catch (err) {
      // dlopen errors name the missing shared library (e.g. librte_eal.so.23).
      attempts.push({ path, source, reason: why(err) });
      continue;
    }
    if (!isBinding(mod)) {
      const rec = (mod ?? {}) as Record<string, unknown>;
      const missing = REQUIRED_EXPORTS.filter((k) => typeof rec[k] !== 'function');
      attempts.push({ path, source, reason: `not a shadowtap addon of this version: missing ${missing.join(', ')}` });
      continue;
    }
    cached = { binding: mod, path };
    return cached;
  }
  const lines = attempts.map((a) => `  - ${a.path} [${a.source}]: ${a.reason}`);
  const error = stError('ST_ERR_ADDON_LOAD', `cannot load the native addon shadowtap.node; tried:\n${lines.join('\n')}`);
  return { error, attempts };
}

/** The binding, loaded once; throws ST_ERR_ADDON_LOAD listing every path tried. */
export function loadNative(env: NodeJS.ProcessEnv = process.env): NativeBinding {
  const r = tryLoadNative(env);
  if ('error' in r) throw r.error;
  return r.binding;
}
