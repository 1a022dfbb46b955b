/**
 * EAL inside the test's own process, for tests that drive the addon directly
 * (one EAL per process: each such file runs in its own ava worker). No
 * hugepages, no PCI, a file prefix of the test's own; EAL is cleaned up and its
 * runtime directory removed however `fn` ends.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeBinding } from '../../src/dataplane/native-types.js';

export interface InProcessEal {
  /** EAL --file-prefix; /var/run/dpdk/<prefix> is removed afterwards */
  prefix: string;
  memoryMb?: number;
  /** --vdev arguments, in port order */
  vdevs?: string[];
}

export async function withEal<T>(native: NativeBinding, o: InProcessEal, fn: () => T | Promise<T>): Promise<T> {
  try {
    native.ealInit(['shadowtap', '--no-huge', '-m', String(o.memoryMb ?? 256), '--no-pci', '--file-prefix', o.prefix,
      '--log-level=lib.eal:error', ...(o.vdevs ?? []).flatMap((v) => ['--vdev', v])]);
    try {
      return await fn();
    } finally {
      native.ealCleanup();
    }
  } finally {
    rmSync(join('/var/run/dpdk', o.prefix), { recursive: true, force: true });
  }
}
