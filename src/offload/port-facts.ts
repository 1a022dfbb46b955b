/**
 * What the planner needs to know about each configured port, and where it
 * comes from: the device string (a vdev's name is its driver), the host's
 * sysfs (a PCI function's vendor:device id and kernel driver) and, once the
 * data plane has started, the driver name DPDK itself reports — which wins,
 * since it names the PMD that is actually running.
 *
 * Each port is matched to a hw-profile and given that profile's capabilities.
 * Nothing is probed here (rte_flow_validate needs the running data plane):
 * every port says "not probed", and the plan's facts are the profile's.
 * Which E-Switch a port is on (its switch domain, which a hardware mirror
 * between two ports needs) is known only once the data plane reports it.
 *
 * net_shadowsim (the emulated SmartNIC) reports its own driver name whatever
 * it emulates; the family comes from its `profile=` file, trusted only when
 * it is exactly what src/offload/sim-profile.ts renders from that family's
 * hw-profile today (else the emulator may accept something else than the
 * profile says, and the port plans as generic-software: fail closed).
 *
 * placementPlan() is the one service function behind `GET /v1/plan` and
 * `shadowtap plan`.
 */
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ethdevName, isPciDevice } from '../config/load.js';
import type { Config, Port } from '../config/schema.js';
import type { NativePolicy, NativePortInfo } from '../dataplane/native-types.js';
import { plan, type ArmedFault, type PlacementPlan, type PlanOptions, type PlanPort } from './planner.js';
import { capabilitiesFromProfile, type PortCapabilities } from './probe.js';
import { defaultProfiles, matchProfile, normalisePciId, type Profile, type ProfileSet } from './profiles.js';
import { renderSimProfile } from './sim-profile.js';

/** The driver name DPDK reports for the emulated SmartNIC, whatever family it emulates. */
export const SIM_DRIVER = 'net_shadowsim';

/** Shown as the driver of a PCI port whose driver is not known (device absent, or bound to nothing). */
export const UNKNOWN_DRIVER = 'unknown';

export interface PortFactsOptions {
  /**
   * What the data plane reported, per configured port (same order as
   * config.ports); null or absent before the data plane has started.
   */
  live?: readonly (NativePortInfo | null | undefined)[] | null;
  /** filesystem root holding sys/ (default '/'); tests point it at a fake tree */
  root?: string;
  /** the profile set (default: the shipped hw-profiles) */
  profiles?: ProfileSet;
  /** directory a relative `profile=` devarg is read from, as EAL would (default: the working directory) */
  cwd?: string;
}

/** Where a port's driver name came from. */
export type DriverSource = 'dataplane' | 'device-name' | 'sysfs' | 'none';

export interface PortFact {
  /** the planner's port input */
  port: PlanPort;
  device: string;
  kind: 'pci' | 'vdev';
  driverSource: DriverSource;
  profile: Profile;
  /** how the profile was chosen; `sim-profile`: from a net_shadowsim profile= file */
  matchedBy: 'driver' | 'pci' | 'fallback' | 'sim-profile';
  /** one sentence for the plan's port section */
  reason: string;
  /** the profile's facts (nothing probed) */
  capabilities: PortCapabilities;
  /** what the operator should know about these facts */
  notes: string[];
}

// ---- small readers ------------------------------------------------------------------

/** Devargs of a device string (`net_pcap0,rx_pcap=a.pcap,infinite_rx=1`), commas inside [...] kept. */
export function deviceArgs(device: string): Map<string, string> {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of device) {
    if (ch === '[') depth++;
    else if (ch === ']') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const out = new Map<string, string>();
  for (const kv of parts.slice(1)) {
    const eq = kv.indexOf('=');
    if (eq > 0) out.set(kv.slice(0, eq).trim(), kv.slice(eq + 1).trim());
    else if (kv.trim()) out.set(kv.trim(), '');
  }
  return out;
}

/**
 * The driver name DPDK gives a vdev: its device name without the instance
 * number (`net_pcap0` → `net_pcap`). Undefined for a PCI address.
 */
export function vdevDriver(device: string): string | undefined {
  if (isPciDevice(device)) return undefined;
  const name = ethdevName(device);
  const driver = name.replace(/[0-9]+$/, '');
  return driver === '' ? undefined : driver;
}

export interface PciFacts {
  /** canonical lower-case address, e.g. 0000:3b:00.0 */
  bdf: string;
  /** the device is under sys/bus/pci/devices */
  present: boolean;
  /** vendor:device, e.g. 8086:1592; undefined when it cannot be read */
  pciId?: string;
  /** the kernel driver it is bound to (ice, mlx5_core, vfio-pci...), null when unbound */
  kernelDriver: string | null;
  /** sysfs directory read */
  path: string;
}

function readTrim(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** vendor, device and driver of one PCI function, from <root>/sys/bus/pci/devices/<bdf>/. */
export function readPciFacts(bdf: string, root = '/'): PciFacts {
  const addr = bdf.toLowerCase();
  const path = join(root, 'sys', 'bus', 'pci', 'devices', addr);
  let present = false;
  try {
    present = statSync(path).isDirectory();
  } catch {
    present = false;
  }
  if (!present) return { bdf: addr, present, kernelDriver: null, path };
  const vendor = readTrim(join(path, 'vendor'));
  const device = readTrim(join(path, 'device'));
  const pciId = vendor !== null && device !== null ? normalisePciId(`${vendor}:${device}`) : undefined;
  let kernelDriver: string | null = null;
  try {
    kernelDriver = basename(readlinkSync(join(path, 'driver')));
  } catch {
    kernelDriver = null;
  }
  return { bdf: addr, present, ...(pciId !== undefined ? { pciId } : {}), kernelDriver, path };
}

export type SimProfileCheck =
  | { ok: true; profile: Profile; capacity: number | null; file: string }
  | { ok: false; why: string; file?: string };

const meaningful = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

/**
 * The hw-profile a net_shadowsim device emulates: its `profile=` file must be
 * a net_shadowsim profile (first line `shadowsim-profile 1`), name a known
 * family, and say exactly what renderSimProfile() says for that family
 * (comments and the capacity line aside: capacity is a deliberate knob).
 */
export function simProfileOf(device: string, set: ProfileSet, cwd = process.cwd()): SimProfileCheck {
  const args = deviceArgs(device);
  const given = args.get('profile');
  if (given === undefined || given === '') return { ok: false, why: 'it has no profile= devarg (the PMD needs one to know what to emulate)' };
  const file = resolve(cwd, given);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, why: `its profile file ${file} cannot be read (${e.code ?? e.message})`, file };
  }
  const lines = meaningful(text);
  if (lines[0] !== 'shadowsim-profile 1') {
    return { ok: false, why: `${file} is not a net_shadowsim profile (its first line is not "shadowsim-profile 1"; make one with scripts/sim-profile.ts)`, file };
  }
  const family = lines.find((l) => l.startsWith('family '))?.slice('family '.length).trim();
  if (!family) return { ok: false, why: `${file} names no family`, file };
  const profile = set.byFamily(family);
  if (!profile) return { ok: false, why: `${file} emulates family "${family}", which no hw-profile describes`, file };
  const capLine = lines.find((l) => l.startsWith('capacity '))?.slice('capacity '.length).trim();
  let capacity: number | null = profile.limits.ruleCapacity.rules;
  if (capLine === 'unlimited') capacity = null;
  else if (capLine !== undefined && /^[0-9]+$/.test(capLine)) capacity = Number(capLine);
  const noCap = (l: string) => !l.startsWith('capacity ');
  const want = meaningful(renderSimProfile(profile)).filter(noCap);
  const have = lines.filter(noCap);
  const at = want.findIndex((l, i) => have[i] !== l);
  if (at >= 0 || have.length !== want.length) {
    const i = at >= 0 ? at : want.length;
    const differs = `"${have[i] ?? '(end of file)'}" where hw-profiles/${family}.json gives "${want[i] ?? '(end of file)'}"`;
    return { ok: false, why: `${file} is not what src/offload/sim-profile.ts renders from hw-profiles/${family}.json today (${differs}); regenerate it`, file };
  }
  const devargCap = args.get('capacity');
  if (devargCap !== undefined && /^[0-9]+$/.test(devargCap)) capacity = Number(devargCap);
  return { ok: true, profile, capacity, file };
}

// ---- facts --------------------------------------------------------------------------

const softwareOnly = (set: ProfileSet) => `using ${set.fallback.family}: every piece of the policy runs on the software path`;

function notProbed(profile: Profile): string {
  return `not probed: planned on profile ${profile.family}'s facts alone (no rte_flow_validate probe of the running port yet)`;
}

/** One configured port's facts; `index` is its position in config.ports (the policy's port index). */
export function portFact(port: Port, index: number, opts: PortFactsOptions = {}): PortFact {
  const set = opts.profiles ?? defaultProfiles();
  const root = opts.root ?? '/';
  const live = opts.live?.[index] ?? null;
  const notes: string[] = [];
  // Only the running data plane can tell which E-Switch a port is on.
  const switchDomain = live?.switchDomain;
  const base = { index, name: port.name, role: port.role, ...(switchDomain !== undefined ? { switchDomain } : {}) };
  const fact = (driver: string, driverSource: DriverSource, pciId: string | undefined, kind: PortFact['kind']): PortFact => {
    const m = matchProfile({ driver, ...(pciId !== undefined ? { pciId } : {}) }, set);
    return {
      port: { ...base, driver, ...(pciId !== undefined ? { pciId } : {}) },
      device: port.device,
      kind,
      driverSource,
      profile: m.profile,
      matchedBy: m.matchedBy,
      reason: m.reason,
      capabilities: capabilitiesFromProfile(m.profile),
      notes,
    };
  };
  if (live && live.portId !== index) {
    notes.push(`the data plane reports DPDK port id ${live.portId} for it; the plan's rules name port ${index}, its position in the configuration`);
  }
  if (switchDomain !== undefined) {
    notes.push(`E-Switch domain ${switchDomain} (rte_eth_dev_info.switch_info.domain_id, as the data plane reported it): a hardware mirror may send to a port of the same domain`);
  }

  if (isPciDevice(port.device)) {
    const pci = readPciFacts(ethdevName(port.device), root);
    if (deviceArgs(port.device).has('representor')) notes.push(`representor port: the PCI id is that of ${pci.bdf}, the function it belongs to`);
    if (live) {
      return withNote(fact(live.driver, 'dataplane', pci.pciId, 'pci'), notProbed);
    }
    if (!pci.present) {
      const f = fact(UNKNOWN_DRIVER, 'none', undefined, 'pci');
      f.profile = set.fallback;
      f.matchedBy = 'fallback';
      f.capabilities = capabilitiesFromProfile(set.fallback);
      f.reason = `PCI device ${pci.bdf} is not on this host (no ${pci.path}): its driver and PCI id are unknown; ${softwareOnly(set)}`;
      return withNote(f, notProbed);
    }
    if (pci.kernelDriver === null) {
      notes.push(`${pci.bdf} is bound to no driver: DPDK cannot use it until it is bound (vfio-pci; mlx5 stays on mlx5_core)`);
      const f = fact(UNKNOWN_DRIVER, 'none', pci.pciId, 'pci');
      const id = pci.pciId ?? '(unreadable)';
      f.reason = f.matchedBy === 'pci'
        ? `${pci.bdf} is bound to no driver; its PCI id ${id} (${f.profile.match.pci.find((m) => m.id === pci.pciId)?.model ?? 'listed'}) matches profile ${f.profile.family}`
        : `${pci.bdf} is bound to no driver and its PCI id ${id} matches no profile; ${softwareOnly(set)}`;
      return withNote(f, notProbed);
    }
    notes.push(`driver ${pci.kernelDriver} is the kernel driver sysfs reports; the PMD's own name is known once the data plane runs`);
    return withNote(fact(pci.kernelDriver, 'sysfs', pci.pciId, 'pci'), notProbed);
  }

  const driver = live?.driver ?? vdevDriver(port.device) ?? ethdevName(port.device);
  const source: DriverSource = live ? 'dataplane' : 'device-name';
  if (driver !== SIM_DRIVER) return withNote(fact(driver, source, undefined, 'vdev'), notProbed);

  const sim = simProfileOf(port.device, set, opts.cwd);
  const f = fact(driver, source, undefined, 'vdev');
  if (!sim.ok) {
    f.profile = set.fallback;
    f.matchedBy = 'fallback';
    f.capabilities = capabilitiesFromProfile(set.fallback);
    f.reason = `${SIM_DRIVER} emulates no known profile: ${sim.why}; ${softwareOnly(set)}`;
    return withNote(f, notProbed);
  }
  f.profile = sim.profile;
  f.matchedBy = 'sim-profile';
  f.capabilities = { ...capabilitiesFromProfile(sim.profile), ruleCapacity: sim.capacity };
  const cap = sim.capacity === null ? 'no rule capacity' : `a capacity of ${sim.capacity} rules`;
  f.reason = `${SIM_DRIVER} emulates ${sim.profile.family} (${sim.profile.title}): profile=${sim.file} is rendered from hw-profiles/${sim.profile.family}.json, with ${cap}`;
  return withNote(f, notProbed);
}

function withNote(f: PortFact, note: (p: Profile) => string): PortFact {
  f.notes.push(note(f.profile));
  return f;
}

/** Every configured port's facts, in configuration order. */
export function portFacts(ports: readonly Port[], opts: PortFactsOptions = {}): PortFact[] {
  return ports.map((p, i) => portFact(p, i, opts));
}

/** The planner's inputs: ports and, per port index, the capabilities to plan with. */
export function planInputs(facts: readonly PortFact[]): { ports: PlanPort[]; capsByPort: Map<number, PortCapabilities> } {
  return {
    ports: facts.map((f) => f.port),
    capsByPort: new Map(facts.map((f) => [f.port.index, f.capabilities])),
  };
}

/**
 * plan() over the facts, with each port's section saying where its facts came
 * from: the facts' match reason replaces the planner's (which sees only the
 * driver name: for net_shadowsim it would say generic-software), and the
 * facts' notes come first.
 */
export function planFromFacts(policy: NativePolicy, facts: readonly PortFact[], profiles?: ProfileSet, options: Omit<PlanOptions, 'profiles'> = {}): PlacementPlan {
  const set = profiles ?? defaultProfiles();
  const { ports, capsByPort } = planInputs(facts);
  const p = plan(policy, ports, capsByPort, { ...options, profiles: set });
  for (const summary of p.ports) {
    const f = facts.find((x) => x.port.index === summary.index);
    if (!f) continue;
    summary.matchReason = f.reason;
    // The planner notices the given capabilities differ from what the driver
    // name matches; for a net_shadowsim port that is the point, said above.
    const planned = f.matchedBy === 'sim-profile'
      ? summary.notes.filter((n) => n !== `capabilities given for family ${f.profile.family}; the driver matches ${set.fallback.family}: the given capabilities are used`)
      : summary.notes;
    summary.notes = [...f.notes, ...planned];
  }
  return p;
}

/** What a plan is made from: the configuration in force, its compiled policy, the ports as the data plane reported them. */
export interface PlanInput {
  config: Config;
  policy: NativePolicy;
  /** per configured port, from the data plane once it has started; null before */
  ports: readonly (NativePortInfo | null | undefined)[] | null;
  /** faults armed now: sessions they may match stay off the hardware path (PlanOptions.armedFaults) */
  faults?: readonly ArmedFault[];
}

/** The placement plan for a configuration and its compiled policy (GET /v1/plan, `shadowtap plan`). */
export function placementPlan(input: PlanInput, opts: Omit<PortFactsOptions, 'live'> = {}): PlacementPlan {
  const facts = portFacts(input.config.ports, { ...opts, live: input.ports });
  return planFromFacts(input.policy, facts, opts.profiles, input.faults && input.faults.length > 0 ? { armedFaults: input.faults } : {});
}
