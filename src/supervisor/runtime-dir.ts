/**
 * What a dead EAL process leaves behind. EAL keeps its runtime files (config,
 * mp socket, telemetry socket) under <runtime>/dpdk/<file-prefix>, and with
 * hugepages its page files as <hugetlbfs>/<file-prefix>map_N. A process that
 * was SIGKILLed cleans none of them, and since every restart uses a fresh
 * prefix nothing would ever reuse them: the supervisor removes them.
 */
import { readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** EAL's choice in eal_create_runtime_dir(): /var/run for root, else XDG_RUNTIME_DIR or /tmp. */
export function dpdkRuntimeBase(env: NodeJS.ProcessEnv = process.env): string {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const base = root ? '/var/run' : (env['XDG_RUNTIME_DIR'] ?? '/tmp');
  return join(base, 'dpdk');
}

export function dpdkRuntimeDir(prefix: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(dpdkRuntimeBase(env), prefix);
}

function hugetlbfsMounts(): string[] {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[2] === 'hugetlbfs' && f[1])
      .map((f) => f[1]!.replace(/\\040/g, ' '));
  } catch {
    return [];
  }
}

/** Remove the runtime dir and hugepage files of a prefix; returns what was removed. */
export function removeEalLeftovers(prefix: string, env: NodeJS.ProcessEnv = process.env): string[] {
  // Never act on an empty or path-like prefix: it would name a shared directory.
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix) || prefix === '.' || prefix === '..') return [];
  const removed: string[] = [];
  const dir = dpdkRuntimeDir(prefix, env);
  try {
    readdirSync(dir);
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  } catch {
    // not there
  }
  for (const mount of hugetlbfsMounts()) {
    let names: string[];
    try {
      names = readdirSync(mount);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith(`${prefix}map_`)) continue;
      try {
        unlinkSync(join(mount, name));
        removed.push(join(mount, name));
      } catch {
        // raced with someone else, or not ours to remove
      }
    }
  }
  return removed;
}
