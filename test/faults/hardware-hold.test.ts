/**
 * An armed fault and a session placed all in hardware (issue 13, item 3).
 *
 * On the `hardware` path the emulated mlx5's E-Switch sends a session's
 * copies straight to the shadow port: they never reach the software impair
 * stage. So while a fault that may match a session is armed, the planner
 * keeps that session off the hardware path (hybrid-mirror: the NIC copies to
 * software, which impairs), and puts it back when the fault is disarmed.
 *
 * Real data plane on net_shadowsim (mlx5 profile, one E-Switch), the fault
 * service arming a blackhole on session 2 only; the shadow output decoded
 * by tshark, with the sim's wall-clock tx timestamps against the timeline.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { PlacementPlan } from '../../src/offload/planner.js';
import { defaultProfiles } from '../../src/offload/profiles.js';
import { renderSimProfile } from '../../src/offload/sim-profile.js';
import { ether, ipv4, tcp, udp } from '../../src/pcap/build.js';
import { readPcap, writePcap } from '../../src/pcap/pcap.js';
import { leftovers, makeSupervisor, missingBuild, scratch, until } from '../helpers/supervised.js';
import { decodePcapFile } from '../helpers/tshark.js';

const skip = missingBuild();
const A = '10.0.1.10';
const B = '10.0.2.20';

/** Session 1: UDP A->B; session 2: TCP B->A. */
function frames(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    out.push(ether({ src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' }, ipv4({ src: A, dst: B, ttl: 64, id: i, payload: udp({ sport: 10000 + (i % 7), dport: 5300 }) })));
    out.push(ether({ src: '02:00:00:00:00:0b', dst: '02:00:00:00:00:0a' }, ipv4({ src: B, dst: A, ttl: 63, id: 1000 + i, payload: tcp({ sport: 443, dport: 20000 + (i % 5), seq: i * 100, flags: 'PA' }) })));
  }
  return out;
}

const session = (p: PlacementPlan | null, id: number) => {
  const x = p?.sessions.find((s) => s.session === id && s.port.name === 'prod-in');
  if (!x) throw new Error(`no placement of session ${id} on prod-in`);
  return x;
};

test.serial('a fault armed on a hardware-placed session moves it to hybrid-mirror: no copy bypasses the fault; disarmed, it returns to hardware', async (t) => {
  if (skip) return t.fail(skip);
  const s = scratch('hw-hold');
  const input = join(s.dir, 'in.pcap');
  const sent = frames();
  writePcap(input, sent);
  const profile = join(s.dir, 'mlx5.sim');
  writeFileSync(profile, renderSimProfile(defaultProfiles().byFamily('mlx5')!));
  const prodOut = join(s.dir, 'prod.pcap');
  const shadowOut = join(s.dir, 'shadow.pcap');
  const config = validateConfig({
    dataplane: { workers: 1, idle: 'adaptive' },
    ports: [
      { name: 'prod-in', device: `net_shadowsim0,profile=${profile},rx_pcap=${input},infinite_rx=1,switch_domain=7`, egress: 'prod-out', rx_desc: 512, tx_desc: 512, rx_pps: 2000 },
      { name: 'prod-out', device: `net_shadowsim1,profile=${profile},tx_pcap=${prodOut}`, role: 'egress', rx_desc: 512, tx_desc: 512 },
      { name: 'shadow0', device: `net_shadowsim2,profile=${profile},tx_pcap=${shadowOut},switch_domain=7`, role: 'shadow', rx_desc: 512, tx_desc: 512 },
    ],
    translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }], control_plane: { arp: false, dhcp: false, nd: false } },
    sessions: [
      { id: 1, target: 'lab', filters: [{ protocol: 'udp', src: [`${A}/32`], dst: [`${B}/32`] }] },
      { id: 2, target: 'lab', filters: [{ protocol: 'tcp', src: [`${B}/32`], dst: [`${A}/32`] }] },
    ],
    targets: [{ name: 'lab', ports: ['shadow0'] }],
  });
  const prefixBase = `st_hwhold_${process.pid}`;
  const sup = makeSupervisor(prefixBase, config, { stateDir: join(s.dir, 'state'), runDir: s.dir });
  const faults = sup.services.faults;
  const hits = (id: number) => {
    const rules = new Set((sup.offloadPlan()?.rules ?? []).filter((r) => r.session === id).map((r) => r.id));
    return sup.offloadStats().hits.filter((h) => rules.has(h.rule)).reduce((a, h) => a + h.hits, 0);
  };
  let held: ReturnType<typeof session> | undefined;
  let heldOther = '';
  let releasedPath = '';
  let dropped = 0;
  let armedAt = 0;
  let disarmDue = 0;
  let disarmedAt = 0;
  try {
    await sup.start();
    await sup.offloadSettled();
    t.is(session(sup.offloadPlan(), 1).path, 'hardware', session(sup.offloadPlan(), 1).notTaken.join('\n'));
    t.is(session(sup.offloadPlan(), 2).path, 'hardware');
    await until('hardware copies of session 2', () => hits(2) > 0, 20_000, 100);

    await faults.createFault({ id: 'vm-b-down', kind: 'blackhole', match: { session: 2 } }, { start: true });
    await sup.offloadSettled();
    held = session(sup.offloadPlan(), 2);
    heldOther = session(sup.offloadPlan(), 1).path;
    const on = faults.timelineEntries({ fault: 'vm-b-down' }).find((e) => e.type === 'activate')!;
    armedAt = on.atMs;
    // armed a while (about 1000 copies of session 2 at this pace): one that bypassed the fault would show
    await new Promise((r) => setTimeout(r, 1500));
    dropped = faults.getFault('vm-b-down').counters.dropped;

    await faults.stopFault('vm-b-down');
    await sup.offloadSettled();
    const off = faults.timelineEntries({ fault: 'vm-b-down' }).find((e) => e.type === 'deactivate')!;
    disarmDue = off.dueMs;
    disarmedAt = off.atMs;
    releasedPath = session(sup.offloadPlan(), 2).path;
    const back = hits(2);
    await until('hardware copies of session 2 again', () => hits(2) > back + 50, 20_000, 100);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await sup.stop();
  }
  t.deepEqual(leftovers(prefixBase), []);

  // tshark on the shadow output, by the sim's tx time against the timeline
  const shadowRecs = readPcap(shadowOut).packets;
  const decoded = await decodePcapFile(shadowOut);
  t.is(decoded.length, shadowRecs.length);
  const ms = (i: number) => shadowRecs[i]!.tsSec * 1000 + shadowRecs[i]!.tsUsec / 1000;
  const s2 = decoded.map((p, i) => ({ p, at: ms(i) })).filter(({ p }) => p.ipSrc === '10.99.2.20' && p.ipDst === '10.99.1.10' && p.protocols.includes('tcp'));
  const s1 = decoded.filter((p) => p.ipSrc === '10.99.1.10' && p.ipDst === '10.99.2.20' && p.protocols.includes('udp'));
  const during = s2.filter(({ at }) => at > armedAt + 1 && at < disarmDue - 1);
  t.log(`session 2 copies on the shadow port: ${s2.filter(({ at }) => at < armedAt).length} before the fault, ${during.length} while armed, ${s2.filter(({ at }) => at > disarmedAt + 1).length} after; session 1: ${s1.length}`);
  t.true(disarmDue - armedAt > 500, `armed for ${disarmDue - armedAt} ms`);
  t.is(during.length, 0, 'no copy of session 2 reaches the shadow port while the blackhole is armed');
  t.true(s2.some(({ at }) => at < armedAt), 'copies of session 2 before the fault');
  t.true(s2.filter(({ at }) => at > disarmedAt + 1).length > 50, 'copies of session 2 again after the disarm');
  t.true(s1.length > 200, `session 1 copied throughout (${s1.length})`);
  t.true(dropped > 500, `the fault dropped ${dropped} copies of session 2`);
  // the plan said so
  t.is(held?.path, 'hybrid-mirror', 'session 2 leaves the hardware path while the fault is armed');
  t.true(held?.notTaken.some((n) => n.startsWith('hardware: armed fault vm-b-down impairs this session')), held?.notTaken.join('\n'));
  t.is(heldOther, 'hardware', 'a session the fault cannot match stays in hardware');
  t.is(releasedPath, 'hardware', 'disarmed: back to the hardware path');
  t.false(decoded.some((p) => p.malformed));

  // production: the input, over and over, byte for byte
  const prod = readPcap(prodOut).packets.map((p) => p.data);
  t.true(prod.length > sent.length * 2);
  t.true(prod.every((b, i) => b.equals(sent[i % sent.length]!)), 'production byte-identical to the replayed input');
  s.dispose();
});
