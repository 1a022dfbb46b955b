/**
 * End to end: a real TCP server in a network namespace behind a net_tap
 * shadow port answers the mirrored, translated SYN, and the shadow side's
 * handshake RTT is measured from the copy leaving (the shadow stage list's
 * measure stage) to the SYN/ACK coming back (shadow rx). The production SYN
 * is replayed at one packet per second after ten fillers, so the namespace
 * is set up ten seconds before it arrives (setting it up takes well under
 * one). Needs root (net_tap, ip netns); skipped otherwise, the reason in its title.
 */
import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileStartPlan } from '../../src/dataplane/start-plan.js';
import type { NativeStats } from '../../src/dataplane/native-types.js';
import { ether, ipv4, tcp, udp } from '../../src/pcap/build.js';
import { writePcap } from '../../src/pcap/pcap.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { HostChannel } from '../helpers/host.js';
import { onlyDetectors } from '../helpers/measure-run.js';
import { missingBuild, SHADOW_DST_MAC, SHADOW_SRC_MAC, testConfig } from '../helpers/policy-run.js';

function canTap(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (net_tap, ip netns)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return 'no /dev/net/tun';
  }
  return missingBuild();
}

const why = canTap();
const t = why ? test.skip : test.serial;

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

t(`a real server behind a tap shadow port answers the mirrored SYN: shadow handshake RTT measured${why ? ` (skipped: ${why})` : ''}`, async (tt) => {
  const dir = mkdtempSync(join(tmpdir(), 'st-meas-e2e-'));
  const ns = `stm-${process.pid}`;
  const iface = `stm${process.pid % 100000}`;
  const prefix = `st-meas-e2e-${process.pid}`;
  let host: HostChannel | undefined;
  let server: ChildProcess | undefined;
  try {
    const fillers = Array.from({ length: 10 }, (_, i) =>
      ether({ src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' }, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', payload: udp({ sport: 9, dport: 9, payload: Buffer.alloc(8, i) }) })));
    const syn = ether({ src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' }, ipv4({ src: '10.1.0.10', dst: '10.1.0.20', payload: tcp({ sport: 40000, dport: 8080, seq: 1000, flags: 'S', window: 64240 }) }));
    writePcap(join(dir, 'in.pcap'), [...fillers, syn]);
    const config = testConfig(dir, {
      translate: { ipv4: [{ from: '10.1.0.0/16', to: '10.201.0.0/16' }] },
      measurement: { enabled: true, vms: [{ name: 'web', prefix: '10.1.0.20' }], detectors: onlyDetectors({}) },
    }, 1, 256, {
      dataplane: { burst: 1 },
      ports: (d) => [
        { name: 'prod-in', device: `net_pcap0,rx_pcap=${join(d, 'in.pcap')}`, egress: 'prod-out', rx_pps: 1 },
        { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
        { name: 'shadow0', device: `net_tap0,iface=${iface}`, role: 'shadow' },
      ],
    });
    const { ealArgs, native: startPlan } = compileStartPlan(config, { filePrefix: prefix, nproc: 2, programName: 'shadowtap-test' });
    const h = new HostChannel(prefix);
    host = h;
    await h.waitFor('hello', null, 30_000);
    h.send({ type: 'start', id: 1, ealArgs, plan: startPlan, policy: compilePolicy(config).native });
    await h.waitFor('started', 1, 60_000);

    // The replica: the tap in its own namespace, with the shadow addresses and MACs.
    ip('netns', 'add', ns);
    ip('link', 'set', iface, 'netns', ns);
    const inNs = (...args: string[]): string => ip('netns', 'exec', ns, ...args);
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
    inNs('ip', 'link', 'set', iface, 'address', SHADOW_DST_MAC);
    inNs('ip', 'addr', 'add', '10.201.0.20/16', 'dev', iface);
    inNs('ip', 'link', 'set', iface, 'up');
    inNs('ip', 'neigh', 'add', '10.201.0.10', 'lladdr', SHADOW_SRC_MAC, 'dev', iface, 'nud', 'permanent');
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', "require('net').createServer((s) => s.destroy()).listen(8080, '10.201.0.20', () => console.log('listening'))"], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (d: Buffer) => (d.toString().includes('listening') ? resolve() : undefined));
      server!.on('exit', (code) => reject(new Error(`the server exited (${code})`)));
    });

    let s: NativeStats | undefined;
    const deadline = Date.now() + 60_000;
    for (;;) {
      s = await h.stats();
      const web = s.measure?.sides.shadow[0];
      if ((web?.tcp.synack ?? 0) >= 1 && (web?.rtt.syn_synack.count ?? 0) >= 1) break;
      if (Date.now() > deadline) throw new Error(`no SYN/ACK measured on the shadow side: ${JSON.stringify(s.measure?.sides.shadow)} ${JSON.stringify(s.ports)}${h.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const prod = s.measure!.sides.production[0]!;
    const shadow = s.measure!.sides.shadow[0]!;
    tt.is(prod.tcp.syn, 1, 'the production SYN');
    tt.is(prod.tcp.synack, 0, 'production never answered');
    tt.is(shadow.tcp.syn, 1, 'the translated copy, as it left');
    tt.true(shadow.tcp.synack >= 1, 'the replica answered');
    const rtt = shadow.rtt.syn_synack;
    tt.is(rtt.count, 1);
    // A real kernel's answer over a tap: more than nothing, far less than a second.
    tt.true(rtt.sumNs > 0 && rtt.sumNs < 1e9, `shadow handshake RTT ${rtt.sumNs} ns`);
    tt.is(s.ports[0]?.txPackets ?? -1, 0, 'prod-in forwards nothing back');
    tt.is(s.ports[1]?.txPackets, 11, 'production forwarded everything, untouched by the shadow side');
    tt.log(`shadow handshake RTT ${(rtt.sumNs / 1e3).toFixed(1)} µs`);
    await h.stop();
  } finally {
    if (server?.pid !== undefined) {
      try {
        process.kill(server.pid);
      } catch {
        /* gone */
      }
    }
    await host?.kill();
    try {
      ip('netns', 'del', ns);
    } catch {
      /* never created */
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
