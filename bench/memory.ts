/**
 * Hugepages for the run, when the machine can give them, and always given
 * back: the previous nr_hugepages is restored and our hugetlbfs mount
 * removed in the cleanup (finally, SIGINT, SIGTERM, and synchronously on
 * process exit).
 *
 * Every process gets `--huge-dir <our mount> --huge-unlink`: its page files
 * are unlinked as soon as they are mapped, so its pages return to the pool
 * the moment it exits, whatever way it exits, and nothing is left in the
 * mount. Without hugepages every contender runs `--no-huge` with the same -m.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MemoryMode } from './types.js';
import { readText, type Cleanup } from './util.js';

const NR = '/proc/sys/vm/nr_hugepages';
export const MEMORY_MB = 1024;

function meminfo(key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readText('/proc/meminfo'));
  return m ? Number(m[1]) : 0;
}

function noHuge(why: string): MemoryMode {
  return {
    hugepages: false,
    hugeDir: null,
    pages: 0,
    memoryMb: MEMORY_MB,
    ealArgs: ['--no-huge', '-m', String(MEMORY_MB)],
    describe: `no hugepages (--no-huge -m ${MEMORY_MB}) for every contender: ${why}`,
  };
}

function writeNr(n: number): boolean {
  try {
    writeFileSync(NR, `${n}\n`);
    return true;
  } catch {
    return false;
  }
}

function umount(dir: string): void {
  let r = spawnSync('umount', [dir], { encoding: 'utf8' });
  // Busy only if a process we started is still mapping it; detach then.
  if (r.status !== 0) r = spawnSync('umount', ['-l', dir], { encoding: 'utf8' });
  try {
    rmdirSync(dir);
  } catch {
    // not empty or gone: leave it to the temp-dir removal
  }
}

/**
 * Reserve hugepages and mount our own hugetlbfs under tmp, or explain why not.
 * want: 'auto' (use them when possible), 'hugepages' (required), 'nohuge'.
 */
export function setupMemory(tmp: string, want: 'auto' | 'hugepages' | 'nohuge', cleanup: Cleanup): MemoryMode {
  if (want === 'nohuge') return noHuge('asked for with --memory=nohuge');
  const fail = (why: string): MemoryMode => {
    if (want === 'hugepages') throw new Error(`hugepages required (--memory=hugepages) but ${why}`);
    return noHuge(why);
  };
  if (process.getuid?.() !== 0) return fail('not running as root (reserving hugepages needs root)');
  const pageKb = meminfo('Hugepagesize');
  if (pageKb !== 2048) return fail(`the default hugepage size is ${pageKb} kB, not 2048 kB`);
  const prevText = readText(NR).trim();
  const prev = Number(prevText);
  if (prevText === '' || !Number.isInteger(prev)) return fail(`${NR} is not readable`);

  // One process at a time holds MEMORY_MB; half as much again for safety.
  const pages = Math.ceil((MEMORY_MB * 1.5) / 2);
  const freeBefore = meminfo('HugePages_Free');
  const target = prev + Math.max(0, pages - freeBefore);
  const restoreNr = () => {
    writeNr(prev);
  };
  if (target !== prev) {
    if (!writeNr(target)) return fail(`${NR} cannot be written`);
    cleanup.push(`restore ${NR}=${prev}`, restoreNr, restoreNr);
  }
  const free = meminfo('HugePages_Free');
  if (free < pages) {
    restoreNr();
    return fail(`the kernel gave only ${free} free 2 MiB pages of the ${pages} asked for`);
  }

  const dir = join(tmp, 'hugetlbfs');
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'hugetlbfs', '-o', 'pagesize=2M', 'nodev', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    restoreNr();
    return fail(`mounting hugetlbfs failed: ${(r.stderr || '').trim()}`);
  }
  const undoMount = () => {
    // --huge-unlink leaves nothing, but a crashed contender might have.
    try {
      for (const f of readdirSync(dir)) spawnSync('rm', ['-f', join(dir, f)]);
    } catch {
      // unmounted already
    }
    umount(dir);
  };
  // Pushed after the nr_hugepages restore, so it runs first (pages must be unused to shrink the pool).
  cleanup.push(`unmount ${dir}`, undoMount, undoMount);
  return {
    hugepages: true,
    hugeDir: dir,
    pages,
    memoryMb: MEMORY_MB,
    ealArgs: ['--huge-dir', dir, '--huge-unlink', '-m', String(MEMORY_MB)],
    describe: `2 MiB hugepages (${pages} reserved for the run, given back afterwards; -m ${MEMORY_MB} --huge-unlink) for every contender`,
  };
}
