/**
 * A fake filesystem root with sys/bus/pci/devices/<address>/{vendor,device,driver}
 * laid out as Linux does (the device directory a symlink into sys/devices, the
 * driver a relative symlink into sys/bus/pci/drivers), for port-fact tests.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakePci {
  /** 0000:3b:00.0 */
  pci: string;
  vendor: string;
  device: string;
  /** kernel driver, or none: unbound */
  driver?: string;
}

/** Intel E810-C for QSFP, Mellanox ConnectX-6 Dx. */
export const E810: FakePci = { pci: '0000:3b:00.0', vendor: '8086', device: '1592', driver: 'vfio-pci' };
export const CX6DX: FakePci = { pci: '0000:5e:00.0', vendor: '15b3', device: '101d', driver: 'mlx5_core' };

export function fakeSysfs(devices: readonly FakePci[]): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'st-sysfs-'));
  mkdirSync(join(root, 'sys/bus/pci/devices'), { recursive: true });
  for (const d of devices) {
    const real = join(root, 'sys/devices/pci0000:00', d.pci);
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'class'), '0x020000\n');
    writeFileSync(join(real, 'vendor'), `0x${d.vendor}\n`);
    writeFileSync(join(real, 'device'), `0x${d.device}\n`);
    if (d.driver) {
      mkdirSync(join(root, 'sys/bus/pci/drivers', d.driver), { recursive: true });
      symlinkSync(`../../../bus/pci/drivers/${d.driver}`, join(real, 'driver'));
    }
    symlinkSync(`../../../devices/pci0000:00/${d.pci}`, join(root, 'sys/bus/pci/devices', d.pci));
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
