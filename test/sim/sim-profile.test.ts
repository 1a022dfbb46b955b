/**
 * The net_shadowsim profile file rendered from hw-profiles: every shipped
 * profile renders, and the facts the emulated NIC must model (issue 4, item 8)
 * come through: only mlx5 offers SAMPLE with rewrite, with the split-around-
 * sample semantics and the copy's action lists; ice and i40e classify only;
 * net_tap validates drop/queue/passthru and cannot create; net_null has no
 * rte_flow.
 */
import test from 'ava';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { EMULATED_QUIRKS, renderSimProfile } from '../../src/offload/sim-profile.js';

const set = defaultProfiles();

function lines(family: string, opts = {}): string[] {
  const p = set.byFamily(family);
  if (!p) throw new Error(`no profile ${family}`);
  return renderSimProfile(p, opts).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function words(ls: string[], keyword: string): string[] {
  return ls.filter((l) => l === keyword || l.startsWith(`${keyword} `)).flatMap((l) => l.slice(keyword.length).trim().split(/\s+/).filter(Boolean));
}

test('every shipped profile renders, deterministically, starting with the format line', (t) => {
  for (const p of set.profiles) {
    const a = renderSimProfile(p);
    t.is(a, renderSimProfile(p), p.family);
    t.is(a.split('\n').find((l) => !l.startsWith('#')), 'shadowsim-profile 1', p.family);
    t.true(a.includes(`\nfamily ${p.family}\n`), p.family);
    t.true(a.endsWith('\n'));
  }
});

test('mlx5: SAMPLE in NIC Rx and E-Switch, copy lists, split around SAMPLE', (t) => {
  const l = lines('mlx5');
  t.deepEqual(words(l, 'flow-api'), ['rte_flow']);
  t.deepEqual(words(l, 'capacity'), ['unlimited']);
  t.deepEqual(words(l, 'sample-domains'), ['ingress', 'transfer']);
  t.deepEqual(words(l, 'sample-ratios'), ['mirror', 'fractional']);
  t.deepEqual(words(l, 'sample-actions ingress'), ['mark', 'count', 'queue', 'rss']);
  t.deepEqual(words(l, 'sample-actions transfer'), ['port_id', 'raw_encap', 'vxlan_encap', 'nvgre_encap']);
  t.true(l.includes('sample-actions transfer-ratio-above-1'), 'nothing extra on the copy above ratio 1');
  t.true(l.includes('modify-with-sample split-around-sample'));
  t.true(l.includes('modify-before-sample original-and-copy'));
  t.true(l.includes('modify-after-sample original-only'));
  for (const d of ['ingress', 'egress', 'transfer']) {
    t.true(l.includes(`domain ${d} on`));
    t.true(words(l, `actions ${d}`).includes('set_ipv4_dst'));
    t.true(words(l, `actions ${d}`).includes('sample'));
  }
  t.true(words(l, 'items').includes('ipv4'));
  t.true(l.includes('error full ENOMEM unspecified cannot create flow: no memory left for the rule'));
});

test('ice and i40e: ingress only, no SAMPLE, no rewrite; the drivers own error wording and table sizes', (t) => {
  const ice = lines('ice');
  t.true(ice.includes('domain ingress on') && ice.includes('domain egress off') && ice.includes('domain transfer off'));
  t.false(words(ice, 'actions ingress').includes('sample'));
  t.false(words(ice, 'actions ingress').some((a) => a.startsWith('set_')));
  t.deepEqual(words(ice, 'sample-domains'), []);
  t.deepEqual(words(ice, 'capacity'), ['16384']);
  t.true(ice.includes('error action EINVAL action Invalid action.'));
  const i40e = lines('i40e');
  t.true(i40e.includes('attr group0-only') && i40e.includes('attr priority0-only'));
  t.deepEqual(words(i40e, 'capacity'), ['8192']);
  t.true(i40e.includes('error full ENOBUFS handle Fdir space full'));
});

test('net_tap: validate drop/queue/passthru, create fails, the error-unset quirk is available', (t) => {
  const l = lines('net_tap');
  t.deepEqual(words(l, 'actions ingress'), ['drop', 'passthru', 'queue']);
  t.true(l.some((x) => x.startsWith('create-fails EEXIST handle')));
  t.true(l.includes('quirk rss-validate-error-unset'));
});

test('net_null and the fallback have no rte_flow at all', (t) => {
  for (const f of ['net_null', 'generic-software', 'virtio']) {
    const l = lines(f);
    t.deepEqual(words(l, 'flow-api'), ['none'], f);
    t.deepEqual(words(l, 'items'), [], f);
  }
});

test('capacity override, and a bad one is refused naming the field', (t) => {
  t.deepEqual(words(lines('mlx5', { capacity: 64 }), 'capacity'), ['64']);
  t.throws(() => renderSimProfile(set.byFamily('mlx5')!, { capacity: -1 }), { message: /capacity: expected a whole number/ });
});

test('every quirk the emulator reproduces exists in some profile', (t) => {
  const ids = new Set(set.profiles.flatMap((p) => p.quirks.map((q) => q.id)));
  for (const id of Object.keys(EMULATED_QUIRKS)) t.true(ids.has(id), `${id} is in no hw-profile`);
});
