/**
 * net_shadowsim is part of the data plane: the addon registers the PMD
 * (RTE_PMD_REGISTER_VDEV in the st_dataplane objects), so shadowtap's own EAL
 * can be given `--vdev net_shadowsim0,profile=...` with no plugin to load.
 * One EAL per process: this file runs alone in its ava worker.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative } from '../../src/native/loader.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { withEal } from '../helpers/host.js';

test('the addon registers net_shadowsim: a port appears with that driver name', async (t) => {
  const native = loadNative();
  const dir = mkdtempSync(join(tmpdir(), 'shadowsim-addon-'));
  const profile = join(dir, 'mlx5.sim');
  writeFileSync(profile, renderSimProfile(defaultProfiles().byFamily('mlx5')!));
  try {
    await withEal(native, { prefix: `st_sim_addon_${process.pid}`, vdevs: [`net_shadowsim0,profile=${profile}`] }, () => {
      const ports = native.portList();
      t.is(ports.length, 1);
      t.like(ports[0], { name: 'net_shadowsim0', driver: 'net_shadowsim', maxRxQueues: 16 });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
