/**
 * `shadowtap doctor [--for=vdev|pci|auto] [--port DEVICE]... [--json]`, ready
 * for the CLI to call: parses its own arguments, prints, returns the exit code
 * (0 all required present, 1 something required missing, 2 usage error).
 */
import { formatDoctorJson, formatDoctorTable, runDoctor, type DoctorMode, type DoctorOptions } from './doctor.js';

export const DOCTOR_USAGE = `usage: shadowtap doctor [--for=vdev|pci|auto] [--port DEVICE]... [--json]

Checks this host against what shadowtap needs (DPDK 22.11, hugepages, IOMMU,
vfio-pci, NICs and their binding, firmware, ice DDP package, /dev/net/tun)
and prints the fix for each gap. It only reads; it changes nothing.

  --for=vdev     only DPDK virtual devices will be used: hugepages, IOMMU and
                 vfio-pci are optional
  --for=pci      real ports will be used: they are required
  --for=auto     pci when a NIC other than the management interface is on the
                 PCI bus, else vdev (default)
  --port DEVICE  a port shadowtap will own (PCI address[,devargs]); its binding,
                 firmware and devargs become required. Repeatable.
  --json         print the report as JSON

Exit status: 0 when everything required is present, 1 when something required
is missing, 2 on a usage error.`;

export interface DoctorIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: DoctorIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

export function doctorCommand(argv: readonly string[], io: DoctorIo = defaultIo, extra: Partial<DoctorOptions> = {}): number {
  let mode: DoctorMode | 'auto' = 'auto';
  let json = false;
  const ports: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--help' || a === '-h') {
      io.stdout(`${DOCTOR_USAGE}\n`);
      return 0;
    } else if (a === '--json') json = true;
    else if (a.startsWith('--for=') || a === '--for') {
      const v = a === '--for' ? argv[++i] : a.slice('--for='.length);
      if (v !== 'vdev' && v !== 'pci' && v !== 'auto') {
        io.stderr(`shadowtap doctor: --for: expected vdev, pci or auto, got ${v === undefined ? 'nothing' : JSON.stringify(v)}\n`);
        return 2;
      }
      mode = v;
    } else if (a === '--port' || a.startsWith('--port=')) {
      const v = a === '--port' ? argv[++i] : a.slice('--port='.length);
      if (!v) {
        io.stderr('shadowtap doctor: --port: expected a device string such as 0000:3b:00.0\n');
        return 2;
      }
      ports.push(v);
    } else {
      io.stderr(`shadowtap doctor: unknown argument ${JSON.stringify(a)}\n${DOCTOR_USAGE}\n`);
      return 2;
    }
  }
  // `extra.ports` lets the CLI pass the ports of a loaded configuration; --port adds to them.
  const report = runDoctor({ ...extra, for: mode, ports: [...(extra.ports ?? []), ...ports] });
  io.stdout(json ? formatDoctorJson(report) : `${formatDoctorTable(report)}\n`);
  return report.exitCode;
}
