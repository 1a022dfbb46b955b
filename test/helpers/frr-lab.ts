/**
 * A two-router FRR lab in network namespaces, for captures of real BGP and
 * OSPF exchanges (test/dataplane/routing-frr.test.ts).
 *
 * Router A (AS 65001, router id 10.0.1.1) and router B (AS 65002, 10.0.2.1)
 * share one veth pair (10.0.12.0/24, fd00:12::/64); A also has a stub network
 * in area 1 (10.0.110.0/24 on a veth pair of its own: A is an ABR, so there
 * are summary LSAs) and static routes it redistributes into OSPF and OSPFv3
 * (AS-external LSAs). Both speak eBGP over IPv4 (IPv4 unicast: NLRI,
 * NEXT_HOP, an aggregate with AGGREGATOR) and over IPv6 (IPv6 unicast:
 * MP_REACH_NLRI with global and link-local next hops). dumpcap captures on
 * A's side of the link. Timers are 1 s / 3 s, so everything is exchanged in
 * a few seconds.
 *
 * Names carry the pid; everything is removed by stop(), which the caller
 * registers as a teardown. Nothing outside the two namespaces is touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FRR_DIR = '/usr/lib/frr';
const DAEMONS = ['zebra', 'staticd', 'ospfd', 'ospf6d', 'bgpd'] as const;

/** Why the lab cannot run here, or null. */
export function frrMissing(): string | null {
  if (process.getuid?.() !== 0) return 'the FRR lab needs root (network namespaces)';
  for (const d of DAEMONS) if (!existsSync(join(FRR_DIR, d))) return `${FRR_DIR}/${d} missing: install Debian's frr (node scripts/bootstrap.mjs --for=test does)`;
  if (spawnSync('dumpcap', ['-v']).status !== 0) return 'dumpcap missing (tshark package)';
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return '`ip netns` does not work here';
  return null;
}

function sh(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
}

function confA(ifc: string): string {
  return `hostname a
ip route 10.0.100.0/24 blackhole
ip route 10.0.150.0/24 blackhole
ipv6 route fd00:100::/64 blackhole
ipv6 route fd00:150::/64 blackhole
interface ${ifc}
 ip ospf hello-interval 1
 ip ospf dead-interval 3
 ip ospf priority 10
 ipv6 ospf6 area 0
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 3
router ospf6
 ospf6 router-id 10.0.1.1
 redistribute static
router ospf
 ospf router-id 10.0.1.1
 network 10.0.12.0/24 area 0
 network 10.0.110.0/24 area 1
 redistribute static
router bgp 65001
 bgp router-id 10.0.1.1
 no bgp default ipv4-unicast
 no bgp network import-check
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor 10.0.12.2 remote-as 65002
 neighbor 10.0.12.2 timers connect 1
 neighbor 10.0.12.2 advertisement-interval 0
 neighbor fd00:12::2 remote-as 65002
 neighbor fd00:12::2 timers connect 1
 neighbor fd00:12::2 advertisement-interval 0
 address-family ipv4 unicast
  network 10.0.100.0/24
  aggregate-address 10.0.96.0/20
  neighbor 10.0.12.2 activate
 exit-address-family
 address-family ipv6 unicast
  network fd00:100::/64
  neighbor fd00:12::2 activate
 exit-address-family
`;
}

function confB(ifc: string): string {
  return `hostname b
interface ${ifc}
 ip ospf hello-interval 1
 ip ospf dead-interval 3
 ipv6 ospf6 area 0
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 3
router ospf6
 ospf6 router-id 10.0.2.1
router ospf
 ospf router-id 10.0.2.1
 network 10.0.12.0/24 area 0
router bgp 65002
 bgp router-id 10.0.2.1
 no bgp default ipv4-unicast
 no bgp network import-check
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor 10.0.12.1 remote-as 65001
 neighbor 10.0.12.1 timers connect 1
 neighbor 10.0.12.1 advertisement-interval 0
 neighbor fd00:12::1 remote-as 65001
 neighbor fd00:12::1 timers connect 1
 neighbor fd00:12::1 advertisement-interval 0
 address-family ipv4 unicast
  network 10.0.200.0/24
  neighbor 10.0.12.1 activate
 exit-address-family
 address-family ipv6 unicast
  network fd00:200::/64
  neighbor fd00:12::1 activate
 exit-address-family
`;
}

export interface FrrLab {
  capture: string;
  dir: string;
  /** stop the capture (flushed) and every daemon, remove the namespaces and files */
  stop(): void;
  /** stop the capture only (the file is complete afterwards) */
  stopCapture(): Promise<void>;
  logs(): string;
}

export function startFrrLab(): FrrLab {
  const id = `${process.pid}`;
  const nsA = `st-rt-a-${id}`;
  const nsB = `st-rt-b-${id}`;
  const ifA = `strta${id}`.slice(0, 15);
  const ifB = `strtb${id}`.slice(0, 15);
  const dir = mkdtempSync(join(tmpdir(), 'st-frr-'));
  chmodSync(dir, 0o777);
  const capture = join(dir, 'routing.pcap');
  let dumpcap: ChildProcess | null = null;
  const made: string[] = [];
  const stop = (): void => {
    if (dumpcap && dumpcap.exitCode === null) dumpcap.kill('SIGTERM');
    for (const r of ['a', 'b']) {
      for (const d of DAEMONS) {
        const pidFile = join(dir, r, `${d}.pid`);
        if (!existsSync(pidFile)) continue;
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        if (pid > 0) try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      }
    }
    // deleting a namespace removes its veth ends (and the peer with them)
    for (const ns of made) spawnSync('ip', ['netns', 'del', ns]);
    made.length = 0;
  };
  try {
    for (const ns of [nsA, nsB]) {
      sh(['ip', 'netns', 'add', ns]);
      made.push(ns);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', '-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    sh(['ip', '-n', nsA, 'addr', 'add', '10.0.12.1/24', 'dev', ifA]);
    sh(['ip', '-n', nsB, 'addr', 'add', '10.0.12.2/24', 'dev', ifB]);
    sh(['ip', '-n', nsA, '-6', 'addr', 'add', 'fd00:12::1/64', 'dev', ifA, 'nodad']);
    sh(['ip', '-n', nsB, '-6', 'addr', 'add', 'fd00:12::2/64', 'dev', ifB, 'nodad']);
    sh(['ip', '-n', nsA, 'addr', 'add', '10.0.1.1/32', 'dev', 'lo']);
    sh(['ip', '-n', nsB, 'addr', 'add', '10.0.2.1/32', 'dev', 'lo']);
    // area 1 of A: a veth pair inside A (this kernel has no dummy links)
    sh(['ip', '-n', nsA, 'link', 'add', 'stub1', 'type', 'veth', 'peer', 'name', 'stub2']);
    sh(['ip', '-n', nsA, 'addr', 'add', '10.0.110.1/24', 'dev', 'stub1']);
    for (const [ns, l] of [[nsA, ifA], [nsB, ifB], [nsA, 'stub1'], [nsA, 'stub2']] as const) sh(['ip', '-n', ns, 'link', 'set', l, 'up']);
    dumpcap = spawn('ip', ['netns', 'exec', nsA, 'dumpcap', '-q', '-P', '-i', ifA, '-w', capture,
      '-f', 'tcp port 179 or ip proto 89 or ip6 proto 89'], { stdio: 'ignore' });
    for (const [r, ns, conf] of [['a', nsA, confA(ifA)], ['b', nsB, confB(ifB)]] as const) {
      const d = join(dir, r);
      spawnSync('mkdir', ['-p', d]);
      chmodSync(d, 0o777);
      writeFileSync(join(d, 'frr.conf'), conf);
      for (const daemon of DAEMONS) {
        sh(['ip', 'netns', 'exec', ns, join(FRR_DIR, daemon), '-d', '-f', join(d, 'frr.conf'), '-i', join(d, `${daemon}.pid`),
          '-z', join(d, 'zserv.api'), '--vty_socket', d, '-P', '0', '--log', `file:${join(d, `${daemon}.log`)}`]);
      }
    }
  } catch (e) {
    stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    capture,
    dir,
    stop: () => {
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
    stopCapture: () => new Promise<void>((resolve) => {
      if (!dumpcap || dumpcap.exitCode !== null) return resolve();
      dumpcap.once('exit', () => resolve());
      dumpcap.kill('SIGTERM');
    }),
    logs: () => {
      const out: string[] = [];
      for (const r of ['a', 'b']) {
        for (const d of DAEMONS) {
          const p = join(dir, r, `${d}.log`);
          if (existsSync(p)) out.push(`--- ${r}/${d}\n${readFileSync(p, 'utf8').split('\n').slice(-5).join('\n')}`);
        }
      }
      return out.join('\n');
    },
  };
}
