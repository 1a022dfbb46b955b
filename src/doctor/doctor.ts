/**
 * `shadowtap doctor`: what this host has against what shadowtap needs, with
 * the fix for each gap.
 *
 * It only reads: sysfs, procfs, /dev, the firmware directories, and the
 * output of read-only commands (pkg-config, ethtool -i, mlxconfig query). It
 * never binds, loads or writes anything, and never runs DPDK itself.
 *
 * Which checks are required depends on what the host is for:
 *  - `vdev`: shadowtap on DPDK virtual devices only (net_pcap, net_null,
 *    net_ring, net_tap). DPDK 22.11 is required; hugepages, IOMMU and vfio-pci
 *    are not (EAL runs with --no-huge).
 *  - `pci`: shadowtap owns real ports. Hugepages, IOMMU and vfio-pci (unless
 *    every port is bifurcated mlx5), a correct binding per port, and each
 *    family's firmware needs (DDP package, kernel modules...) are required.
 *  - `auto` (default): `pci` when an Ethernet controller other than the
 *    management interface is on the PCI bus, else `vdev`.
 * A check that fails is always a required one; a missing optional thing is a
 * warning. The exit code is 1 when any check fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { loadFirmwareConfigs, type FirmwareConfig, type FirmwareConfigSet } from '../offload/firmware-config.js';
import { loadProfiles, normalisePciId, type Profile, type ProfileSet } from '../offload/profiles.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';
export type DoctorMode = 'vdev' | 'pci';

export interface DoctorCheck {
  /** stable id: `dpdk`, `hugepages`, `nic:0000:3b:00.0:binding`, `ice:ddp` ... */
  id: string;
  title: string;
  status: CheckStatus;
  /** whether this check can fail (and so make the exit code non-zero) in this mode */
  required: boolean;
  detail: string;
  fix?: string;
}

export interface NicInfo {
  /** PCI address, e.g. 0000:3b:00.0 */
  pci: string;
  /** vendor:device, e.g. 8086:1592 */
  id: string;
  /** kernel driver the device is bound to, or null */
  driver: string | null;
  netdevs: string[];
  /** carries the default route: the host's own management interface, never shadowtap's */
  management: boolean;
  /** hw-profiles family matched by PCI id, or the fallback */
  profile: string;
  model: string | null;
  firmware: string | null;
}

export interface DoctorReport {
  mode: DoctorMode;
  modeReason: string;
  /** filesystem root the host was read from ('/' except in tests) */
  root: string;
  nics: NicInfo[];
  checks: DoctorCheck[];
  exitCode: 0 | 1;
  summary: string;
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}
/** Runs a read-only command; returns null when the command does not exist. */
export type CommandRunner = (cmd: string, args: readonly string[]) => CommandResult | null;

export interface DoctorOptions {
  /** filesystem root holding sys/, proc/, dev/, lib/firmware, usr/lib (default '/') */
  root?: string;
  for?: DoctorMode | 'auto';
  /** device strings of the ports shadowtap is configured to own (PCI address[,devargs]); their checks become required */
  ports?: readonly string[];
  /** command runner; default spawns real commands when root is '/', and none otherwise */
  run?: CommandRunner;
  /** effective uid (default process.geteuid()) */
  uid?: number;
  /** PATH to look for executables in (default process.env.PATH), taken under root */
  path?: string;
  profiles?: ProfileSet;
  firmwareConfigs?: FirmwareConfigSet;
}

export const NO_NIC_MESSAGE = 'no Ethernet controllers found on the PCI bus; shadowtap can run only on virtual devices here';
export const DPDK_SERIES = '22.11';

const defaultRunner: CommandRunner = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? r.error.message : '') };
};
const noRunner: CommandRunner = () => null;

class Host {
  constructor(
    readonly root: string,
    readonly run: CommandRunner,
    readonly pathDirs: readonly string[],
  ) {}

  p(...parts: string[]): string {
    return join(this.root, ...parts);
  }
  read(...parts: string[]): string | null {
    try {
      return readFileSync(this.p(...parts), 'utf8');
    } catch {
      return null;
    }
  }
  exists(...parts: string[]): boolean {
    return existsSync(this.p(...parts));
  }
  list(...parts: string[]): string[] {
    try {
      return readdirSync(this.p(...parts)).sort();
    } catch {
      return [];
    }
  }
  link(...parts: string[]): string | null {
    try {
      return readlinkSync(this.p(...parts));
    } catch {
      return null;
    }
  }
  which(name: string): string | null {
    for (const dir of this.pathDirs) {
      const full = join(this.root, dir, name);
      try {
        if (statSync(full).isFile()) return join(dir, name);
      } catch {
        // not here
      }
    }
    return null;
  }
}

/** Compare dotted versions numerically: 16.33.1048 vs 16.21.1000. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function defaultRouteIfaces(h: Host): Set<string> {
  const out = new Set<string>();
  for (const line of (h.read('proc/net/route') ?? '').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[1] === '00000000' && f[7] === '00000000' && f[0]) out.add(f[0]);
  }
  for (const line of (h.read('proc/net/ipv6_route') ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && /^0{32}$/.test(f[0] ?? '') && f[1] === '00' && f[9] && f[9] !== 'lo') out.add(f[9]);
  }
  return out;
}

function scanNics(h: Host, profiles: ProfileSet, mgmt: Set<string>): NicInfo[] {
  const nics: NicInfo[] = [];
  const base = ['sys', 'bus', 'pci', 'devices'];
  for (const pci of h.list(...base)) {
    const cls = (h.read(...base, pci, 'class') ?? '').trim().toLowerCase();
    // PCI class 0x02 (network), subclass 0x00 (Ethernet controller).
    if (!cls.startsWith('0x0200')) continue;
    const vendor = (h.read(...base, pci, 'vendor') ?? '').trim();
    const device = (h.read(...base, pci, 'device') ?? '').trim();
    const id = normalisePciId(`${vendor}:${device}`) ?? `${vendor}:${device}`;
    const drv = h.link(...base, pci, 'driver');
    const netdevs = [...h.list(...base, pci, 'net')];
    for (const sub of h.list(...base, pci)) {
      if (/^virtio[0-9]+$/.test(sub)) netdevs.push(...h.list(...base, pci, sub, 'net'));
    }
    const profile = profiles.profiles.find((p) => p.match.pci.some((m) => m.id === id)) ?? profiles.fallback;
    const model = profile.match.pci.find((m) => m.id === id)?.model ?? null;
    nics.push({
      pci,
      id,
      driver: drv ? basename(drv) : null,
      netdevs,
      management: netdevs.some((n) => mgmt.has(n)),
      profile: profile.family,
      model,
      firmware: null,
    });
  }
  return nics;
}

function describeNic(n: NicInfo): string {
  const what = n.model ? `${n.model} (${n.id})` : `unknown device ${n.id}`;
  const bound = n.driver ? `driver ${n.driver}` : 'no driver bound';
  const ifs = n.netdevs.length ? `, interface ${n.netdevs.join(', ')}` : '';
  return `${n.pci} ${what}, ${bound}${ifs}`;
}

function readFirmware(h: Host, n: NicInfo, cfg: FirmwareConfig | undefined): { version: string | null; how: string } {
  const base = ['sys', 'bus', 'pci', 'devices', n.pci];
  const from = cfg?.firmware.versionFrom ?? ['ethtool'];
  if (from.includes('infiniband-sysfs')) {
    for (const ib of h.list(...base, 'infiniband')) {
      const v = h.read(...base, 'infiniband', ib, 'fw_ver')?.trim();
      if (v) return { version: v, how: `infiniband/${ib}/fw_ver` };
    }
  }
  if (from.includes('ethtool') && n.netdevs[0]) {
    const r = h.run('ethtool', ['-i', n.netdevs[0]]);
    if (!r) return { version: null, how: 'ethtool is not installed' };
    const m = /^firmware-version:[ \t]*(.*)$/m.exec(r.stdout);
    const v = m?.[1]?.trim().split(/\s+/)[0];
    return v ? { version: v, how: `ethtool -i ${n.netdevs[0]}` } : { version: null, how: `ethtool -i ${n.netdevs[0]} reports no firmware version` };
  }
  if (n.netdevs.length === 0) return { version: null, how: `no kernel interface while bound to ${n.driver ?? 'no driver'} (read it with ethtool -i before binding to vfio-pci)` };
  return { version: null, how: 'the family has no firmware version to read' };
}

function deviceDevargs(device: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of device.split(',').slice(1)) {
    const eq = kv.indexOf('=');
    if (eq > 0) out.set(kv.slice(0, eq).trim(), kv.slice(eq + 1).trim());
    else if (kv.trim()) out.set(kv.trim(), '');
  }
  return out;
}

/** Run every check against the host. */
export function runDoctor(opts: DoctorOptions = {}): DoctorReport {
  const root = opts.root ?? '/';
  const run = opts.run ?? (root === '/' ? defaultRunner : noRunner);
  const pathDirs = (opts.path ?? process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin').split(delimiter).filter(Boolean);
  const h = new Host(root, run, pathDirs);
  const uid = opts.uid ?? (typeof process.geteuid === 'function' ? process.geteuid() : -1);
  const profiles = opts.profiles ?? loadProfiles();
  const fwConfigs = opts.firmwareConfigs ?? loadFirmwareConfigs({ profiles });
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck): void => {
    checks.push(c);
  };
  /** fail when required, warn otherwise */
  const bad = (required: boolean): CheckStatus => (required ? 'fail' : 'warn');

  // ---- what is on the PCI bus, and what this host is for --------------------
  const mgmt = defaultRouteIfaces(h);
  const nics = scanNics(h, profiles, mgmt);
  const portDevices = (opts.ports ?? []).map((d) => ({ device: d, pci: (d.split(',')[0] ?? '').trim().toLowerCase() }));
  const pciPorts = portDevices.filter((p) => /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(p.pci));
  const candidates = pciPorts.length > 0 ? nics.filter((n) => pciPorts.some((p) => p.pci === n.pci)) : nics.filter((n) => !n.management);
  const requested = opts.for ?? 'auto';
  let mode: DoctorMode;
  let modeReason: string;
  if (requested !== 'auto') {
    mode = requested;
    modeReason = `--for=${requested}`;
  } else if (pciPorts.length > 0) {
    mode = 'pci';
    modeReason = `the configuration names PCI ports (${pciPorts.map((p) => p.pci).join(', ')})`;
  } else if (candidates.length > 0) {
    mode = 'pci';
    modeReason = `${candidates.length} Ethernet controller${candidates.length === 1 ? '' : 's'} other than the management interface found; use --for=vdev to check for virtual devices only`;
  } else {
    mode = 'vdev';
    modeReason = 'no Ethernet controller available to shadowtap on the PCI bus; use --for=pci to require real ports';
  }
  const pci = mode === 'pci';

  // ---- privileges -------------------------------------------------------------
  add(
    uid === 0
      ? { id: 'root', title: 'running as root', status: 'ok', required: pci, detail: 'effective uid 0' }
      : {
          id: 'root',
          title: 'running as root',
          status: bad(pci),
          required: pci,
          detail: `effective uid ${uid}: ${pci ? 'binding ports, vfio and hugepages need root' : 'virtual devices mostly work, but net_tap needs CAP_NET_ADMIN and EAL keeps its runtime files under $XDG_RUNTIME_DIR instead of /var/run/dpdk'}`,
          fix: 'run shadowtap as root (sudo, or a systemd unit with User=root)',
        },
  );

  // ---- DPDK ---------------------------------------------------------------------
  {
    const r = h.run('pkg-config', ['--modversion', 'libdpdk']);
    const fix = 'apt-get install libdpdk-dev dpdk-dev pkg-config (Debian 12 ships the DPDK 22.11 LTS)';
    if (!r) add({ id: 'dpdk', title: `DPDK ${DPDK_SERIES} (pkg-config libdpdk)`, status: 'fail', required: true, detail: 'pkg-config is not installed (or was not run: no command runner)', fix });
    else if (r.status !== 0) add({ id: 'dpdk', title: `DPDK ${DPDK_SERIES} (pkg-config libdpdk)`, status: 'fail', required: true, detail: `pkg-config does not know libdpdk: ${r.stderr.trim().split('\n')[0] ?? ''}`, fix });
    else {
      const v = r.stdout.trim();
      const okSeries = v === DPDK_SERIES || v.startsWith(`${DPDK_SERIES}.`);
      add({
        id: 'dpdk',
        title: `DPDK ${DPDK_SERIES} (pkg-config libdpdk)`,
        status: okSeries ? 'ok' : 'fail',
        required: true,
        detail: okSeries ? `libdpdk ${v}` : `libdpdk ${v}, but shadowtap is built against the ${DPDK_SERIES} LTS (ABI 23)`,
        ...(okSeries ? {} : { fix }),
      });
    }
    const testpmd = h.which('dpdk-testpmd');
    add(
      testpmd
        ? { id: 'testpmd', title: 'dpdk-testpmd', status: 'ok', required: false, detail: `${testpmd} (rendered hardware rules can be replayed with it by hand)` }
        : { id: 'testpmd', title: 'dpdk-testpmd', status: 'warn', required: false, detail: 'not found in PATH; only needed to replay rendered `flow create` rules by hand', fix: 'apt-get install dpdk' },
    );
  }

  // ---- hugepages ----------------------------------------------------------------
  {
    const meminfo = h.read('proc', 'meminfo') ?? '';
    const num = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? '0');
    const pools: string[] = [];
    let totalKb = 0;
    let freePages = 0;
    for (const dir of h.list('sys', 'kernel', 'mm', 'hugepages')) {
      const size = Number(/hugepages-(\d+)kB/.exec(dir)?.[1] ?? '0');
      const nr = Number((h.read('sys', 'kernel', 'mm', 'hugepages', dir, 'nr_hugepages') ?? '0').trim());
      const free = Number((h.read('sys', 'kernel', 'mm', 'hugepages', dir, 'free_hugepages') ?? '0').trim());
      if (nr > 0) pools.push(`${nr} × ${size >= 1048576 ? `${size / 1048576} GB` : `${size / 1024} MB`} (${free} free)`);
      totalKb += nr * size;
      freePages += free;
    }
    if (pools.length === 0 && num('HugePages_Total') > 0) {
      pools.push(`${num('HugePages_Total')} × ${num('Hugepagesize') / 1024} MB (${num('HugePages_Free')} free)`);
      totalKb = num('HugePages_Total') * num('Hugepagesize');
      freePages = num('HugePages_Free');
    }
    const mounts = (h.read('proc', 'mounts') ?? '')
      .split('\n')
      .map((l) => l.split(/\s+/))
      .filter((f) => f[2] === 'hugetlbfs')
      .map((f) => f[1] ?? '?');
    const have = totalKb > 0 && mounts.length > 0;
    const state = `${totalKb > 0 ? `reserved: ${pools.join(', ')}` : 'none reserved'}; hugetlbfs ${mounts.length ? `mounted at ${mounts.join(', ')}` : 'not mounted'}`;
    add({
      id: 'hugepages',
      title: 'hugepages',
      status: have ? (freePages > 0 ? 'ok' : bad(pci)) : bad(pci),
      required: pci,
      detail: have && freePages === 0 ? `${state}; none free` : pci ? state : `${state}${have ? '' : ' (virtual devices run EAL with --no-huge instead, at about half the packet rate)'}`,
      ...(have && freePages > 0
        ? {}
        : {
            fix: `echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages${mounts.length ? '' : ' && mount -t hugetlbfs nodev /dev/hugepages'} (or reserve at boot: default_hugepagesz=1G hugepagesz=1G hugepages=4)`,
          }),
    });
  }

  // ---- IOMMU and vfio-pci --------------------------------------------------------
  const cmdline = (h.read('proc', 'cmdline') ?? '').trim();
  const famCfg = (n: NicInfo): FirmwareConfig | undefined => {
    const prof = profiles.byFamily(n.profile);
    return prof?.firmwareConfig ? fwConfigs.byFamily(prof.firmwareConfig) : undefined;
  };
  // With no port known yet, assume the usual case: a port DPDK drives through vfio-pci.
  const allBifurcated = candidates.length > 0 && candidates.every((n) => famCfg(n)?.binding.model === 'bifurcated');
  const needsVfio = !allBifurcated;
  const vfioRequired = pci && needsVfio;
  {
    const units = h.list('sys', 'class', 'iommu');
    const groups = h.list('sys', 'kernel', 'iommu_groups');
    const noiommu = (h.read('sys', 'module', 'vfio', 'parameters', 'enable_unsafe_noiommu_mode') ?? '').trim() === 'Y';
    const onCmdline = /\b(intel_iommu=on|amd_iommu=on|iommu=pt)\b/.test(cmdline);
    const present = units.length > 0 || groups.length > 0;
    let detail: string;
    if (present) detail = `${units.length ? `IOMMU ${units.join(', ')}` : 'IOMMU active'}, ${groups.length} group${groups.length === 1 ? '' : 's'}`;
    else if (noiommu) detail = 'no IOMMU; vfio is in unsafe no-IOMMU mode (no DMA protection)';
    else detail = `no IOMMU (/sys/class/iommu is empty${onCmdline ? ', although the kernel command line asks for one' : '; the kernel command line does not enable one'})`;
    if (!pci) detail += '; not needed for virtual devices';
    else if (!needsVfio) detail += '; not needed: every port is bifurcated (mlx5)';
    add({
      id: 'iommu',
      title: 'IOMMU',
      status: present ? 'ok' : !vfioRequired ? 'skip' : noiommu ? 'warn' : 'fail',
      required: vfioRequired,
      detail,
      ...(present || !vfioRequired ? {} : { fix: 'enable the IOMMU in firmware setup and add intel_iommu=on iommu=pt (Intel) or amd_iommu=on (AMD) to the kernel command line, then reboot' }),
    });
  }
  {
    const loaded = h.exists('sys', 'bus', 'pci', 'drivers', 'vfio-pci');
    const noModules = /(^|\s)nomodule(\s|$)/.test(cmdline);
    let detail = loaded ? 'vfio-pci driver registered (/sys/bus/pci/drivers/vfio-pci)' : 'vfio-pci is not loaded';
    if (!loaded && noModules) detail += '; the kernel was booted with `nomodule`, so it cannot be loaded on this boot';
    if (!pci) detail += '; not needed for virtual devices';
    else if (!needsVfio) detail += '; not needed: every port is bifurcated (mlx5)';
    add({
      id: 'vfio-pci',
      title: 'vfio-pci driver',
      status: loaded ? 'ok' : vfioRequired ? 'fail' : 'skip',
      required: vfioRequired,
      detail,
      ...(loaded || !vfioRequired ? {} : { fix: noModules ? 'boot without `nomodule` (or with vfio-pci built in), then modprobe vfio-pci' : 'modprobe vfio-pci (and add it to /etc/modules-load.d/ to keep it across reboots)' }),
    });
  }

  // ---- /dev/net/tun (net_tap) ------------------------------------------------------
  add(
    h.exists('dev', 'net', 'tun')
      ? { id: 'tun', title: '/dev/net/tun (net_tap)', status: 'ok', required: false, detail: 'present: the shadow side can be a tap interface' }
      : { id: 'tun', title: '/dev/net/tun (net_tap)', status: 'warn', required: false, detail: 'missing: net_tap ports (a tap interface for the shadow side) cannot be created', fix: 'modprobe tun' },
  );

  // ---- NICs ---------------------------------------------------------------------------
  {
    let detail: string;
    let status: CheckStatus = 'ok';
    let fix: string | undefined;
    const usable = candidates.filter((n) => {
      const cfg = famCfg(n);
      return n.driver !== null && (cfg ? cfg.binding.usableDrivers.includes(n.driver) : ['vfio-pci', 'uio_pci_generic', 'igb_uio'].includes(n.driver));
    });
    if (nics.length === 0) {
      detail = NO_NIC_MESSAGE;
    } else {
      const parts = nics.map((n) => {
        const tag = n.management ? ' - the management interface (default route), which shadowtap leaves alone' : ` - profile ${n.profile}`;
        return `${describeNic(n)}${tag}`;
      });
      detail = `${nics.length} Ethernet controller${nics.length === 1 ? '' : 's'} on the PCI bus: ${parts.join('; ')}`;
      if (candidates.length === 0) detail += '. No NIC is available to shadowtap; shadowtap can run only on virtual devices here';
      else {
        const offload = candidates.filter((n) => profiles.byFamily(n.profile)?.flow.api === 'rte_flow');
        detail += `. Available to shadowtap: ${candidates.map((n) => n.pci).join(', ')} (${usable.length} bound for DPDK, ${offload.length} with rte_flow offload)`;
      }
    }
    for (const p of pciPorts) {
      if (!nics.some((n) => n.pci === p.pci)) {
        detail += `. Configured port ${p.pci} is not an Ethernet controller on this PCI bus`;
        status = 'fail';
        fix = 'check the PCI address in the configuration (lspci -D)';
      }
    }
    if (pci && usable.length === 0 && status !== 'fail') {
      status = 'fail';
      fix = candidates.length === 0 ? 'run with --for=vdev (virtual devices only), or install a NIC for shadowtap' : 'bind the ports shadowtap owns to the driver their family needs (see the binding checks below)';
    }
    add({ id: 'nics', title: 'Ethernet controllers', status, required: pci, detail, ...(fix ? { fix } : {}) });
  }

  // ---- per NIC available to shadowtap ---------------------------------------------------
  const families = new Map<string, NicInfo[]>();
  for (const n of candidates) {
    const required = pci && pciPorts.length > 0;
    const prof: Profile = profiles.byFamily(n.profile) ?? profiles.fallback;
    const cfg = famCfg(n);
    add(
      prof.kind === 'fallback'
        ? { id: `nic:${n.pci}:profile`, title: `${n.pci} profile`, status: 'warn', required: false, detail: `${n.id} matches no hardware profile: everything on this port runs on the software path (${prof.family})` }
        : { id: `nic:${n.pci}:profile`, title: `${n.pci} profile`, status: 'ok', required: false, detail: `${n.model ?? n.id}: profile ${prof.family} (${prof.flow.api === 'rte_flow' ? 'rte_flow offload' : 'no rte_flow: software path'})` },
    );

    // Binding.
    {
      const usableDrivers = cfg?.binding.usableDrivers ?? ['vfio-pci', 'uio_pci_generic', 'igb_uio'];
      const target = usableDrivers[0] ?? 'vfio-pci';
      const ok = n.driver !== null && usableDrivers.includes(n.driver);
      let detail: string;
      if (ok) {
        detail = `bound to ${n.driver}${cfg?.binding.model === 'bifurcated' ? ' (bifurcated: DPDK shares the port with the kernel)' : ''}`;
        if (cfg?.binding.model === 'vfio' && n.driver !== 'vfio-pci') detail += '; vfio-pci is preferred (IOMMU protection)';
      } else {
        detail = n.driver ? `bound to ${n.driver}, which DPDK cannot drive here; expected ${usableDrivers.join(' or ')}` : `no driver bound; expected ${usableDrivers.join(' or ')}`;
        if (n.netdevs.length) detail += ` (kernel interface ${n.netdevs.join(', ')} goes away when rebound)`;
        if (!required && pci) detail += '; not required: no configuration names this port';
      }
      add({
        id: `nic:${n.pci}:binding`,
        title: `${n.pci} driver binding`,
        status: ok ? 'ok' : bad(required),
        required,
        detail,
        ...(ok ? {} : { fix: cfg?.binding.model === 'bifurcated' ? `dpdk-devbind.py --bind=${target} ${n.pci}` : `modprobe vfio-pci && dpdk-devbind.py --bind=${target} ${n.pci} (only ports shadowtap owns)` }),
      });
    }

    // Firmware version.
    {
      const fw = readFirmware(h, n, cfg);
      n.firmware = fw.version;
      const rules = (cfg?.firmware.versions ?? []).filter((v) => v.pciIds.includes(n.id));
      if (!fw.version) {
        add({ id: `nic:${n.pci}:firmware`, title: `${n.pci} firmware`, status: 'skip', required: false, detail: `not read: ${fw.how}` });
      } else {
        const below = rules.filter((r) => compareVersions(fw.version ?? '', r.version) < 0);
        const min = below.find((r) => r.kind === 'minimum');
        const rec = below.find((r) => r.kind === 'recommended');
        const status: CheckStatus = min ? bad(required) : rec ? 'warn' : 'ok';
        let detail = `${fw.version} (from ${fw.how})`;
        if (min) detail += `; below the minimum ${min.version} for ${min.model} (${min.source})`;
        else if (rec) detail += `; below ${rec.version}, the version DPDK ${DPDK_SERIES} was validated with${rec.note ? ` (${rec.note})` : ''}`;
        else if (rules.length) detail += `; meets ${rules.map((r) => `${r.kind} ${r.version}`).join(', ')}`;
        add({
          id: `nic:${n.pci}:firmware`,
          title: `${n.pci} firmware`,
          status,
          required: required && !!min,
          detail,
          ...(status === 'ok' ? {} : { fix: `update the ${n.model ?? 'NIC'} firmware (vendor tool: ${cfg?.firmware.tool ?? 'the vendor NVM update utility'})` }),
        });
      }
    }

    // devargs given in the configuration.
    const port = portDevices.find((p) => p.pci === n.pci);
    if (port && cfg && cfg.devargs.some((d) => d.required)) {
      const given = deviceDevargs(port.device);
      const problems: string[] = [];
      for (const d of cfg.devargs.filter((x) => x.required && x.value !== undefined)) {
        const v = given.get(d.name) ?? d.default;
        if (v !== d.value) problems.push(`${d.name}=${d.value} needed (${given.has(d.name) ? `given ${given.get(d.name)}` : `default ${d.default ?? 'unset'}`}): ${d.why}`);
      }
      add({
        id: `nic:${n.pci}:devargs`,
        title: `${n.pci} devargs`,
        status: problems.length ? 'fail' : 'ok',
        required: true,
        detail: problems.length ? problems.join('; ') : `required devargs satisfied (${cfg.devargs.filter((x) => x.required).map((x) => `${x.name}=${x.value}`).join(', ')})`,
        ...(problems.length ? { fix: `add them to the device string: ${port.device.split(',')[0]},${cfg.devargs.filter((x) => x.required).map((x) => `${x.name}=${x.value}`).join(',')}` } : {}),
      });
    }

    if (cfg) families.set(cfg.family, [...(families.get(cfg.family) ?? []), n]);
  }

  // ---- per family: modules, libraries, DDP, firmware settings --------------------------
  for (const [family, members] of families) {
    const cfg = fwConfigs.byFamily(family);
    if (!cfg) continue;
    const required = pci;
    if (cfg.kernelModules.length > 0) {
      const missing = cfg.kernelModules.filter((m) => !h.exists('sys', 'module', m));
      add({
        id: `${family}:modules`,
        title: `${family} kernel modules`,
        status: missing.length ? bad(required) : 'ok',
        required,
        detail: missing.length ? `not loaded: ${missing.join(', ')} (needed: ${cfg.kernelModules.join(', ')})` : `loaded: ${cfg.kernelModules.join(', ')}`,
        ...(missing.length ? { fix: `modprobe -a ${missing.join(' ')}` } : {}),
      });
    }
    if (cfg.libraries.length > 0) {
      const libDirs = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'usr/lib64', 'usr/lib'];
      const missing = cfg.libraries.filter((l) => !libDirs.some((d) => h.exists(d, l.file)));
      add({
        id: `${family}:libraries`,
        title: `${family} libraries`,
        status: missing.length ? bad(required) : 'ok',
        required,
        detail: missing.length ? `missing: ${missing.map((l) => l.file).join(', ')}` : `present: ${cfg.libraries.map((l) => l.file).join(', ')}`,
        ...(missing.length ? { fix: `apt-get install ${[...new Set(missing.map((l) => l.debianPackage))].join(' ')}` } : {}),
      });
    }
    if (cfg.ddp) {
      const ddp = cfg.ddp;
      const loadable: string[] = [];
      const versioned: string[] = [];
      for (const dir of ddp.searchPaths) {
        for (const f of h.list(dir)) {
          const stem = ddp.compressedSuffixes.reduce((s, suf) => (s.endsWith(suf) ? s.slice(0, -suf.length) : s), f);
          // The PMD loads only ice-<16 hex digit serial>.pkg and ice.pkg; a versioned file needs the ice.pkg link.
          if (stem === 'ice.pkg' || /^ice-[0-9a-f]{16}\.pkg$/.test(stem)) {
            const target = h.link(dir, f);
            loadable.push(`${join(dir, f)}${target ? ` -> ${target}` : ''}`);
          } else if (/^ice.*\.pkg$/.test(stem)) versioned.push(join(dir, f));
        }
      }
      const ok = loadable.length > 0;
      const names = members.map((m) => `${m.pci} (${m.model ?? m.id})`).join(', ');
      add({
        id: `${family}:ddp`,
        title: `${family} DDP package`,
        status: ok ? 'ok' : bad(required && ddp.required),
        required: required && ddp.required,
        detail: ok
          ? `found ${loadable.join(', ')}`
          : `no loadable DDP package (${ddp.files.join(' or ')} in ${ddp.searchPaths.join(' or ')}) for ${names}${versioned.length ? `; found ${versioned.join(', ')}, which the PMD does not load under that name` : ''}: ${ddp.withoutIt}`,
        ...(ok
          ? {}
          : {
              fix: versioned.length
                ? `ln -s ${basename(versioned[0] ?? 'ice-x.pkg')} ${join(ddp.searchPaths[ddp.searchPaths.length - 1] ?? '', 'ice.pkg')}`
                : `apt-get install ${ddp.debianPackage} (Debian non-free-firmware; provides ${join(ddp.searchPaths[ddp.searchPaths.length - 1] ?? '', 'ice.pkg')}), or copy Intel's ice-<version>.pkg there and link ice.pkg to it; then restart the port`,
            }),
      });
    }
    if (cfg.firmware.settings.length > 0) {
      const keys = cfg.firmware.settings.map((s) => s.key);
      const tool = h.which('mlxconfig');
      if (!tool) {
        add({
          id: `${family}:settings`,
          title: `${family} firmware settings`,
          status: 'skip',
          required: false,
          detail: `mlxconfig (NVIDIA MFT) is not installed, so ${keys.join(', ')} cannot be read; required: ${cfg.firmware.settings.filter((s) => s.required).map((s) => `${s.key}=${s.value}`).join(', ') || 'none'}`,
          fix: `install NVIDIA MFT, then: ${cfg.firmware.settings.map((s) => s.check).join('; ')}`,
        });
      } else {
        for (const n of members) {
          // `-e` prints the Default, Current and Next Boot columns; "True(1)" reads as 1.
          const r = h.run('mlxconfig', ['-d', n.pci, '-e', 'query', ...keys]);
          const current = new Map<string, string>();
          const nextBoot = new Map<string, string>();
          const value = (v: string): string => /\((\d+)\)/.exec(v)?.[1] ?? v;
          for (const line of (r?.stdout ?? '').split('\n')) {
            const m = /^\s*\*?\s*([A-Z][A-Z0-9_]+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(line);
            if (m?.[1] && m[3] && m[4] && keys.includes(m[1])) {
              current.set(m[1], value(m[3]));
              nextBoot.set(m[1], value(m[4]));
            }
          }
          const wrong = cfg.firmware.settings.filter((s) => current.get(s.key) !== s.value);
          const hard = wrong.filter((s) => s.required);
          add({
            id: `nic:${n.pci}:settings`,
            title: `${n.pci} firmware settings`,
            status: hard.length ? bad(required) : wrong.length ? 'warn' : 'ok',
            required: required && hard.length > 0,
            detail:
              current.size === 0
                ? `mlxconfig returned nothing readable for ${keys.join(', ')}`
                : cfg.firmware.settings
                    .map((s) => {
                      const cur = current.get(s.key) ?? '?';
                      const next = nextBoot.get(s.key);
                      const pending = next !== undefined && next !== cur ? `, ${next} after the next firmware reset` : '';
                      return `${s.key}=${cur}${cur === s.value ? '' : ` (want ${s.value}${s.required ? ', required' : ''}${pending})`}`;
                    })
                    .join(', '),
            ...(wrong.length ? { fix: `mlxconfig -d ${n.pci} set ${wrong.map((s) => `${s.key}=${s.value}`).join(' ')}, then mlxfwreset or a cold reboot` } : {}),
          });
        }
      }
    }
  }

  const failed = checks.filter((c) => c.status === 'fail');
  const count = (s: CheckStatus): number => checks.filter((c) => c.status === s).length;
  const summary = `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail, ${count('skip')} skip${failed.length ? `; required and missing: ${failed.map((c) => c.id).join(', ')}` : ''}`;
  return { mode, modeReason, root, nics, checks, exitCode: failed.length > 0 ? 1 : 0, summary };
}

const MARK: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** A human table: one line per check, wrapped detail, fix underneath. */
export function formatDoctorTable(report: DoctorReport, width = 100): string {
  const idWidth = Math.min(34, Math.max(...report.checks.map((c) => c.title.length), 5));
  const indent = 6 + idWidth + 2;
  const wrap = (text: string, first: string): string[] => {
    const room = Math.max(30, width - indent);
    const words = text.split(/\s+/);
    const lines: string[] = [];
    let cur = '';
    for (const w of words) {
      if (cur && cur.length + 1 + w.length > room) {
        lines.push(cur);
        cur = w;
      } else cur = cur ? `${cur} ${w}` : w;
    }
    if (cur) lines.push(cur);
    return lines.map((l, i) => (i === 0 ? first + l : ' '.repeat(indent) + l));
  };
  const out = [`shadowtap doctor: checking for ${report.mode} ports (${report.modeReason})`, ''];
  for (const c of report.checks) {
    const head = `${MARK[c.status].padEnd(4)}  ${c.title.padEnd(idWidth)}  `;
    out.push(...wrap(`${c.detail}${c.required ? '' : c.status === 'warn' ? ' [optional]' : ''}`, head));
    if (c.fix && c.status !== 'ok') out.push(...wrap(`fix: ${c.fix}`, ' '.repeat(indent)));
  }
  out.push('', `${report.summary}`, report.exitCode === 0 ? 'everything required is present' : 'exit 1: something required is missing (FAIL above)');
  return out.join('\n');
}

export function formatDoctorJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
