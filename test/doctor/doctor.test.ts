import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  NO_NIC_MESSAGE,
  compareVersions,
  formatDoctorJson,
  formatDoctorTable,
  runDoctor,
  type CommandRunner,
  type DoctorCheck,
  type DoctorReport,
} from '../../src/doctor/doctor.js';
import { doctorCommand } from '../../src/doctor/command.js';

function check(r: DoctorReport, id: string): DoctorCheck {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}; have ${r.checks.map((x) => x.id).join(', ')}`);
  return c;
}

// ---- this machine, read truthfully ---------------------------------------------------

/** An independent scan of the PCI bus, to hold doctor's report against. */
function ethernetControllers(): { pci: string; netdevs: string[] }[] {
  const base = '/sys/bus/pci/devices';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((d) => readFileSync(join(base, d, 'class'), 'utf8').trim().startsWith('0x0200'))
    .map((d) => {
      const netdevs = existsSync(join(base, d, 'net')) ? readdirSync(join(base, d, 'net')) : [];
      for (const sub of readdirSync(join(base, d)).filter((s) => /^virtio\d+$/.test(s))) {
        if (existsSync(join(base, d, sub, 'net'))) netdevs.push(...readdirSync(join(base, d, sub, 'net')));
      }
      return { pci: d, netdevs };
    });
}

function defaultRouteIfaces(): string[] {
  const route = existsSync('/proc/net/route') ? readFileSync('/proc/net/route', 'utf8') : '';
  return route
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === '00000000' && f[7] === '00000000')
    .map((f) => f[0] ?? '');
}

test('doctor reports this machine truthfully', (t) => {
  const report = runDoctor();
  const seen = ethernetControllers();
  t.deepEqual(report.nics.map((n) => n.pci).sort(), seen.map((n) => n.pci).sort(), 'doctor lists exactly the Ethernet controllers on the PCI bus');

  const mgmt = new Set(defaultRouteIfaces());
  const available = seen.filter((n) => !n.netdevs.some((d) => mgmt.has(d)));
  const nics = check(report, 'nics');
  if (seen.length === 0) {
    t.is(nics.detail, NO_NIC_MESSAGE);
  } else {
    for (const n of seen.filter((x) => x.netdevs.some((d) => mgmt.has(d)))) {
      t.true(report.nics.find((r) => r.pci === n.pci)?.management, `${n.pci} carries the default route`);
      t.regex(nics.detail, new RegExp(`${n.pci}.*management interface`));
    }
  }
  if (available.length === 0) {
    // The development machines: no NIC for shadowtap (at most the VM's own management virtio-net).
    t.is(report.mode, 'vdev');
    t.regex(nics.detail, /shadowtap can run only on virtual devices here/);
    t.is(nics.status, 'ok');
    t.false(check(report, 'hugepages').required, 'hugepages are optional for virtual devices');
    t.false(check(report, 'vfio-pci').required);
    t.false(check(report, 'iommu').required);
  }

  // DPDK: what pkg-config says, independently.
  const pc = spawnSync('pkg-config', ['--modversion', 'libdpdk'], { encoding: 'utf8' });
  const dpdk = check(report, 'dpdk');
  if (pc.status === 0 && pc.stdout.trim().startsWith('22.11')) {
    t.is(dpdk.status, 'ok');
    t.true(dpdk.detail.includes(pc.stdout.trim()));
  } else t.is(dpdk.status, 'fail');

  t.is(check(report, 'tun').status, existsSync('/dev/net/tun') ? 'ok' : 'warn');
  t.is(report.exitCode, report.checks.some((c) => c.status === 'fail') ? 1 : 0);
  t.true(report.checks.every((c) => c.status !== 'fail' || c.required), 'only required checks fail');
});

test('doctor --for=pci on this machine: fails naming --for=vdev when there is no NIC for shadowtap, requires hugepages either way', (t) => {
  const report = runDoctor({ for: 'pci' });
  const mgmt = defaultRouteIfaces();
  const available = ethernetControllers().filter((n) => !n.netdevs.some((d) => mgmt.includes(d)));
  t.is(report.mode, 'pci');
  t.true(check(report, 'nics').required);
  t.true(check(report, 'hugepages').required);
  if (available.length === 0) {
    t.is(check(report, 'nics').status, 'fail');
    t.regex(check(report, 'nics').fix ?? '', /--for=vdev/);
    t.is(report.exitCode, 1);
  } else {
    // A machine with a NIC for shadowtap (the fake-root tests below cover its checks in detail):
    // doctor lists each such NIC as not the management interface.
    for (const n of available) t.false(report.nics.find((r) => r.pci === n.pci)?.management ?? true, `${n.pci} available`);
  }
});

// ---- a fake host --------------------------------------------------------------------

interface FakeNic {
  pci: string;
  vendor: string;
  device: string;
  driver?: string;
  netdev?: string;
  fwVer?: string;
}

interface FakeHost {
  nics?: FakeNic[];
  hugepages?: boolean;
  iommu?: boolean;
  vfio?: boolean;
  tun?: boolean;
  modules?: string[];
  defaultRoute?: string;
  files?: Record<string, string>;
  links?: Record<string, string>;
}

function fakeRoot(h: FakeHost): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'st-doctor-'));
  const w = (rel: string, text: string): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  const l = (rel: string, target: string): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    symlinkSync(target, join(root, rel));
  };
  mkdirSync(join(root, 'sys/bus/pci/devices'), { recursive: true });
  for (const n of h.nics ?? []) {
    const d = `sys/bus/pci/devices/${n.pci}`;
    w(`${d}/class`, '0x020000\n');
    w(`${d}/vendor`, `0x${n.vendor}\n`);
    w(`${d}/device`, `0x${n.device}\n`);
    if (n.driver) l(`${d}/driver`, `../../../bus/pci/drivers/${n.driver}`);
    if (n.netdev) mkdirSync(join(root, d, 'net', n.netdev), { recursive: true });
    if (n.fwVer) w(`${d}/infiniband/mlx5_0/fw_ver`, `${n.fwVer}\n`);
  }
  // A non-Ethernet device, which doctor must ignore.
  w('sys/bus/pci/devices/0000:00:00.0/class', '0x060000\n');
  w('proc/meminfo', h.hugepages ? 'HugePages_Total:    1024\nHugePages_Free:     1024\nHugepagesize:       2048 kB\n' : 'HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n');
  w('proc/mounts', `sysfs /sys sysfs rw 0 0\n${h.hugepages ? 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n' : ''}`);
  w('proc/cmdline', h.iommu ? 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt\n' : 'BOOT_IMAGE=/vmlinuz root=/dev/sda1\n');
  w('proc/net/route', `Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n${h.defaultRoute ?? 'eno1'}\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n`);
  if (h.iommu) mkdirSync(join(root, 'sys/class/iommu/dmar0'), { recursive: true });
  if (h.iommu) mkdirSync(join(root, 'sys/kernel/iommu_groups/12'), { recursive: true });
  if (h.vfio) mkdirSync(join(root, 'sys/bus/pci/drivers/vfio-pci'), { recursive: true });
  if (h.tun) w('dev/net/tun', '');
  for (const m of h.modules ?? []) mkdirSync(join(root, 'sys/module', m), { recursive: true });
  for (const [rel, text] of Object.entries(h.files ?? {})) w(rel, text);
  for (const [rel, target] of Object.entries(h.links ?? {})) l(rel, target);
  w('usr/bin/dpdk-testpmd', '');
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** pkg-config says 22.11.11; ethtool answers from a table; nothing else exists. */
function fakeRunner(ethtool: Record<string, string> = {}): CommandRunner {
  return (cmd, args) => {
    if (cmd === 'pkg-config') return { status: 0, stdout: '22.11.11\n', stderr: '' };
    if (cmd === 'ethtool') {
      const fw = ethtool[args[1] ?? ''];
      return fw === undefined ? { status: 1, stdout: '', stderr: 'no such device' } : { status: 0, stdout: `driver: x\nversion: 1\nfirmware-version: ${fw}\nbus-info: x\n`, stderr: '' };
    }
    return null;
  };
}

const E810 = { pci: '0000:3b:00.0', vendor: '8086', device: '1592' };
const ready = { hugepages: true, iommu: true, vfio: true, tun: true };

test('fake host with no NIC: the no-NIC sentence, vdev mode, exit 0', (t) => {
  const f = fakeRoot({ tun: true });
  try {
    const r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin' });
    t.is(r.mode, 'vdev');
    t.is(check(r, 'nics').detail, NO_NIC_MESSAGE);
    t.is(check(r, 'nics').status, 'ok');
    t.is(check(r, 'hugepages').status, 'warn');
    t.is(check(r, 'vfio-pci').status, 'skip');
    t.is(r.exitCode, 0);
    t.deepEqual(r.nics, []);
  } finally {
    f.cleanup();
  }
});

test('fake host with an E810 on vfio-pci but no DDP package: the DDP check fails with the fix', (t) => {
  const f = fakeRoot({ ...ready, nics: [{ ...E810, driver: 'vfio-pci' }] });
  try {
    const r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin' });
    t.is(r.mode, 'pci');
    t.is(r.nics[0]?.profile, 'ice');
    t.is(r.nics[0]?.model, 'E810-C for QSFP');
    t.is(check(r, 'nic:0000:3b:00.0:binding').status, 'ok');
    t.is(check(r, 'hugepages').status, 'ok');
    t.is(check(r, 'iommu').status, 'ok');
    t.is(check(r, 'vfio-pci').status, 'ok');
    const ddp = check(r, 'ice:ddp');
    t.is(ddp.status, 'fail');
    t.true(ddp.required);
    t.regex(ddp.detail, /no loadable DDP package \(ice-<serial>\.pkg or ice\.pkg in \/lib\/firmware\/updates\/intel\/ice\/ddp or \/lib\/firmware\/intel\/ice\/ddp\) for 0000:3b:00\.0 \(E810-C for QSFP\)/);
    t.regex(ddp.detail, /safe mode/);
    t.regex(ddp.fix ?? '', /apt-get install firmware-misc-nonfree.*\/lib\/firmware\/intel\/ice\/ddp\/ice\.pkg/);
    t.is(check(r, 'nic:0000:3b:00.0:firmware').status, 'skip', 'no kernel netdev while on vfio-pci');
    t.is(r.exitCode, 1);
    t.regex(r.summary, /required and missing: ice:ddp/);
    t.regex(formatDoctorTable(r), /FAIL\s+ice DDP package/);
  } finally {
    f.cleanup();
  }
});

test('fake E810: a versioned DDP file without the ice.pkg link is not loadable; the link fixes it', (t) => {
  const f = fakeRoot({ ...ready, nics: [{ ...E810, driver: 'vfio-pci' }], files: { 'lib/firmware/intel/ice/ddp/ice-1.3.30.0.pkg': 'x' } });
  try {
    let r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin' });
    t.is(check(r, 'ice:ddp').status, 'fail');
    t.regex(check(r, 'ice:ddp').detail, /found \/lib\/firmware\/intel\/ice\/ddp\/ice-1\.3\.30\.0\.pkg, which the PMD does not load under that name/);
    t.is(check(r, 'ice:ddp').fix, 'ln -s ice-1.3.30.0.pkg /lib/firmware/intel/ice/ddp/ice.pkg');
    symlinkSync('ice-1.3.30.0.pkg', join(f.root, 'lib/firmware/intel/ice/ddp/ice.pkg'));
    r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin' });
    t.is(check(r, 'ice:ddp').status, 'ok');
    t.regex(check(r, 'ice:ddp').detail, /ice\.pkg -> ice-1\.3\.30\.0\.pkg/);
    t.is(r.exitCode, 0);
  } finally {
    f.cleanup();
  }
});

test('fake E810: a compressed ice.pkg.xz in the updates directory is loadable', (t) => {
  const f = fakeRoot({ ...ready, nics: [{ ...E810, driver: 'vfio-pci' }], files: { 'lib/firmware/updates/intel/ice/ddp/ice.pkg.xz': 'x' } });
  try {
    const r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin' });
    t.is(check(r, 'ice:ddp').status, 'ok');
  } finally {
    f.cleanup();
  }
});

test('fake E810 still on the kernel ice driver: binding and firmware reported; required only for configured ports', (t) => {
  const f = fakeRoot({ ...ready, nics: [{ ...E810, driver: 'ice', netdev: 'ens1f0' }], files: { 'lib/firmware/intel/ice/ddp/ice.pkg': 'x' } });
  try {
    const run = fakeRunner({ ens1f0: '3.20 0x8000d83e 1.3146.0' });
    let r = runDoctor({ root: f.root, run, uid: 0, path: '/usr/bin' });
    const bind = check(r, 'nic:0000:3b:00.0:binding');
    t.is(bind.status, 'warn');
    t.false(bind.required);
    t.regex(bind.detail, /bound to ice, which DPDK cannot drive here; expected vfio-pci or uio_pci_generic or igb_uio \(kernel interface ens1f0 goes away when rebound\)/);
    t.is(bind.fix, 'modprobe vfio-pci && dpdk-devbind.py --bind=vfio-pci 0000:3b:00.0 (only ports shadowtap owns)');
    const fw = check(r, 'nic:0000:3b:00.0:firmware');
    t.is(fw.status, 'warn');
    t.regex(fw.detail, /^3\.20 \(from ethtool -i ens1f0\); below 4\.10, the version DPDK 22\.11 was validated with/);
    t.is(check(r, 'nics').status, 'fail', 'pci mode with no port bound for DPDK');
    t.is(r.exitCode, 1);

    // Named in the configuration: the binding becomes required.
    r = runDoctor({ root: f.root, run: fakeRunner({ ens1f0: '4.20 0x8001 1.3' }), uid: 0, path: '/usr/bin', ports: ['0000:3b:00.0'] });
    t.is(check(r, 'nic:0000:3b:00.0:binding').status, 'fail');
    t.true(check(r, 'nic:0000:3b:00.0:binding').required);
    t.is(check(r, 'nic:0000:3b:00.0:firmware').status, 'ok');
    t.regex(check(r, 'nic:0000:3b:00.0:firmware').detail, /meets recommended 4\.10/);
  } finally {
    f.cleanup();
  }
});

test('fake ConnectX-6 Dx: bifurcated, so no vfio or IOMMU needed; modules, libraries and firmware minimum checked', (t) => {
  const cx6 = { pci: '0000:5e:00.0', vendor: '15b3', device: '101d', driver: 'mlx5_core', netdev: 'enp94s0f0np0', fwVer: '22.20.1010' };
  const f = fakeRoot({ hugepages: true, tun: true, nics: [cx6], modules: ['mlx5_core'] });
  try {
    const r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin', ports: ['0000:5e:00.0,dv_flow_en=2'] });
    t.is(r.mode, 'pci');
    t.is(check(r, 'iommu').status, 'skip');
    t.regex(check(r, 'iommu').detail, /not needed: every port is bifurcated \(mlx5\)/);
    t.is(check(r, 'vfio-pci').status, 'skip');
    t.is(check(r, 'nic:0000:5e:00.0:binding').status, 'ok');
    t.regex(check(r, 'nic:0000:5e:00.0:binding').detail, /bifurcated/);
    const mods = check(r, 'mlx5:modules');
    t.is(mods.status, 'fail');
    t.is(mods.fix, 'modprobe -a ib_uverbs mlx5_ib');
    t.is(check(r, 'mlx5:libraries').status, 'fail');
    t.is(check(r, 'mlx5:libraries').fix, 'apt-get install libibverbs1 ibverbs-providers');
    const fw = check(r, 'nic:0000:5e:00.0:firmware');
    t.is(fw.status, 'fail');
    t.regex(fw.detail, /22\.20\.1010 \(from infiniband\/mlx5_0\/fw_ver\); below the minimum 22\.27\.0090 for ConnectX-6 Dx/);
    const dev = check(r, 'nic:0000:5e:00.0:devargs');
    t.is(dev.status, 'fail');
    t.regex(dev.detail, /dv_flow_en=1 needed \(given 2\)/);
    t.is(check(r, 'mlx5:settings').status, 'skip', 'mlxconfig is not installed in the fake root');
    t.is(r.exitCode, 1);
  } finally {
    f.cleanup();
  }
});

test('fake ConnectX-7 with mlxconfig: DevX off fails, the flex parser profile only warns', (t) => {
  const cx7 = { pci: '0000:17:00.0', vendor: '15b3', device: '1021', driver: 'mlx5_core', netdev: 'ens2f0np0', fwVer: '28.39.1002' };
  const f = fakeRoot({
    hugepages: true,
    tun: true,
    nics: [cx7],
    modules: ['ib_uverbs', 'mlx5_core', 'mlx5_ib'],
    files: { 'usr/bin/mlxconfig': '', 'usr/lib/x86_64-linux-gnu/libibverbs.so.1': '', 'usr/lib/x86_64-linux-gnu/libmlx5.so.1': '' },
  });
  try {
    const base = fakeRunner();
    const run: CommandRunner = (cmd, args) =>
      cmd === 'mlxconfig'
        ? {
            status: 0,
            stdout: [
              'Device #1:',
              'Configurations:                              Default         Current         Next Boot',
              '         UCTX_EN                             True(1)         False(0)        True(1)',
              '*        FLEX_PARSER_PROFILE_ENABLE          0               0               0',
              '         SRIOV_EN                            False(0)        True(1)         True(1)',
            ].join('\n'),
            stderr: '',
          }
        : base(cmd, args);
    const r = runDoctor({ root: f.root, run, uid: 0, path: '/usr/bin' });
    t.is(check(r, 'mlx5:modules').status, 'ok');
    t.is(check(r, 'mlx5:libraries').status, 'ok');
    t.is(check(r, 'nic:0000:17:00.0:firmware').status, 'ok');
    const s = check(r, 'nic:0000:17:00.0:settings');
    t.is(s.status, 'fail');
    t.is(s.detail, 'UCTX_EN=0 (want 1, required, 1 after the next firmware reset), FLEX_PARSER_PROFILE_ENABLE=0 (want 2), SRIOV_EN=1');
    t.regex(s.fix ?? '', /mlxconfig -d 0000:17:00\.0 set UCTX_EN=1 FLEX_PARSER_PROFILE_ENABLE=2/);
  } finally {
    f.cleanup();
  }
});

test('fake host: the NIC that carries the default route is the management interface and is left alone', (t) => {
  const f = fakeRoot({ tun: true, defaultRoute: 'eth0', nics: [{ pci: '0000:00:03.0', vendor: '1af4', device: '1041', driver: 'virtio-pci', netdev: 'eth0' }] });
  try {
    const r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin' });
    t.is(r.mode, 'vdev');
    t.true(r.nics[0]?.management);
    t.is(r.nics[0]?.profile, 'virtio');
    t.regex(check(r, 'nics').detail, /0000:00:03\.0 virtio-net \(modern\) \(1af4:1041\), driver virtio-pci, interface eth0 - the management interface \(default route\), which shadowtap leaves alone\. No NIC is available to shadowtap; shadowtap can run only on virtual devices here/);
    t.false(r.checks.some((c) => c.id.startsWith('nic:0000:00:03.0')), 'no binding advice for the management interface');
    t.is(r.exitCode, 0);
  } finally {
    f.cleanup();
  }
});

test('fake host: an unknown Ethernet controller gets the generic software profile', (t) => {
  const f = fakeRoot({ ...ready, nics: [{ pci: '0000:01:00.0', vendor: '10ec', device: '8168', driver: 'vfio-pci' }] });
  try {
    const r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin' });
    t.is(r.nics[0]?.profile, 'generic-software');
    t.is(check(r, 'nic:0000:01:00.0:profile').status, 'warn');
    t.regex(check(r, 'nic:0000:01:00.0:profile').detail, /matches no hardware profile: everything on this port runs on the software path/);
    t.is(r.exitCode, 0);
  } finally {
    f.cleanup();
  }
});

test('not root and wrong DPDK: required in pci mode, reported with fixes', (t) => {
  const f = fakeRoot({ ...ready, nics: [{ ...E810, driver: 'vfio-pci' }], files: { 'lib/firmware/intel/ice/ddp/ice.pkg': 'x' } });
  try {
    const run: CommandRunner = (cmd) => (cmd === 'pkg-config' ? { status: 0, stdout: '23.11.0\n', stderr: '' } : null);
    const r = runDoctor({ root: f.root, run, uid: 1000, path: '/nowhere' });
    t.is(check(r, 'root').status, 'fail');
    t.is(check(r, 'dpdk').status, 'fail');
    t.regex(check(r, 'dpdk').detail, /libdpdk 23\.11\.0, but shadowtap is built against the 22\.11 LTS/);
    t.is(check(r, 'testpmd').status, 'warn');
    t.false(check(r, 'testpmd').required);
    const v = runDoctor({ root: f.root, run, uid: 1000, path: '/nowhere', for: 'vdev' });
    t.is(check(v, 'root').status, 'warn');
  } finally {
    f.cleanup();
  }
});

test('formatters: table and JSON', (t) => {
  const f = fakeRoot({ ...ready, nics: [{ ...E810, driver: 'vfio-pci' }] });
  try {
    const r = runDoctor({ root: f.root, run: fakeRunner(), uid: 0, path: '/usr/bin' });
    const table = formatDoctorTable(r);
    t.regex(table, /^shadowtap doctor: checking for pci ports/);
    t.regex(table, /fix: apt-get install firmware-misc-nonfree/);
    t.regex(table, /exit 1: something required is missing/);
    const json = JSON.parse(formatDoctorJson(r)) as DoctorReport;
    t.deepEqual(json, JSON.parse(JSON.stringify(r)));
    t.is(json.exitCode, 1);
    t.true(json.checks.every((c) => ['ok', 'warn', 'fail', 'skip'].includes(c.status) && typeof c.required === 'boolean'));
  } finally {
    f.cleanup();
  }
});

test('compareVersions', (t) => {
  t.is(compareVersions('16.33.1048', '16.21.1000'), 1);
  t.is(compareVersions('22.27.0090', '22.27.90'), 0);
  t.is(compareVersions('4.2', '4.10'), -1);
  t.is(compareVersions('3.20', '4.10'), -1);
});

test('the fake tree helper builds what sysfs looks like', (t) => {
  const f = fakeRoot({ nics: [{ ...E810, driver: 'vfio-pci' }] });
  try {
    t.is(basename(readlinkSync(join(f.root, 'sys/bus/pci/devices/0000:3b:00.0/driver'))), 'vfio-pci');
  } finally {
    f.cleanup();
  }
});

// ---- the command the CLI calls -----------------------------------------------------


function capture(argv: string[], extra: Parameters<typeof doctorCommand>[2] = {}): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = doctorCommand(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) }, extra);
  return { code, out, err };
}

test('doctorCommand: usage errors exit 2, --json prints the report, --port makes the port required', (t) => {
  t.is(capture(['--for=hardware']).code, 2);
  t.regex(capture(['--for=hardware']).err, /--for: expected vdev, pci or auto, got "hardware"/);
  t.is(capture(['--bogus']).code, 2);
  t.is(capture(['--port']).code, 2);
  t.regex(capture(['--help']).out, /usage: shadowtap doctor/);

  const f = fakeRoot({ ...ready, nics: [{ ...E810, driver: 'ice', netdev: 'ens1f0' }], files: { 'lib/firmware/intel/ice/ddp/ice.pkg': 'x' } });
  try {
    const extra = { root: f.root, run: fakeRunner({ ens1f0: '4.20 0x1 1.1' }), uid: 0, path: '/usr/bin' };
    const j = capture(['--json', '--port', '0000:3b:00.0'], extra);
    t.is(j.code, 1);
    const report = JSON.parse(j.out) as DoctorReport;
    t.is(report.mode, 'pci');
    t.is(check(report, 'nic:0000:3b:00.0:binding').status, 'fail');
    const v = capture(['--for', 'vdev'], extra);
    t.regex(v.out, /checking for vdev ports \(--for=vdev\)/);
  } finally {
    f.cleanup();
  }
});
