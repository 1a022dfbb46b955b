/**
 * Payload punts (issue 17): packets whose payload the software rewrite
 * translates under the leak policy (DNS, mDNS, LLMNR, BGP, OSPF, tunnels,
 * ICMP errors) never leave as a NIC-made copy, since the NIC would
 * translate their headers only and send the production addresses inside.
 *
 * Only the all-in-hardware path needs them: there the E-Switch copies,
 * rewrites and sends the copy, and software never sees it. A hybrid
 * session's copy goes through the software rewrite whole (a NIC copy is
 * finished there, a MARKed packet copied there), payloads included. So these
 * punts join the control-plane punts in the transfer domain only: a rule at
 * priority 0 MARKs the packet (a punt MARK: software treats it as unmarked)
 * and sends it back to its own port, where the software path classifies,
 * copies and translates it. A session whose rules overlap a punt the port
 * cannot write, or cannot order below it, is moved to its next path by the
 * port-wide checks (placement.ts, settle), exactly as for ARP, DHCP and ND.
 *
 * A kind whose leak action is `pass` is copied as it is by the software
 * path too (headers translated, payload untouched), so the NIC may copy it:
 * no punt. `drop` and `translate` (the default) are punted. Router
 * advertisements are ND, punted with it (matches.ts) when ND translation is
 * on (the software path translates RA options only then).
 *
 * The match is the software dispatch's (rewrite_payload.c, rw_pl_kind):
 * ports in either direction, but a tunnel's by destination only; IP
 * protocols for OSPF, GRE, IP-in-IP, IPv6-in-IP and PIM; ICMP and ICMPv6 for
 * the packets their errors quote. Extension headers and fragments need no
 * punt of their own: a punt has the same form as the session rule it
 * precedes (`ipv6 / udp src is 53` above `ipv6 / udp`), so whatever a NIC
 * reads past for one it reads past for the other.
 */
import { LEAK_ACTION, type LeakKind, type NativePolicy } from '../dataplane/native-types.js';
import { ANY16, ANY8, ANYVID, ICMP6, PAYLOAD_KINDS, PAYLOAD_MARKS, TCP, UDP, intersects, type Match, type PayloadKind, type Punt } from './matches.js';
import type { PlanPiece } from './plan-schema.js';
import type { SessionWork } from './placement.js';

// The kinds are declared beside the punt classes (matches.ts), which name them too.
export { PAYLOAD_KINDS, PAYLOAD_MARKS, type PayloadKind } from './matches.js';

/** How the plan names each kind. */
export const PAYLOAD_WORDS: Record<PayloadKind, string> = {
  dns: 'DNS', mdns: 'mDNS', llmnr: 'LLMNR', bgp: 'BGP', ospf: 'OSPF', tunnel: 'tunnelled packets', icmp_err: 'ICMP errors',
};

interface Shape {
  label: string;
  ip: (4 | 6)[];
  proto: number;
  sport?: number;
  dport?: number;
}

const both = (label: string, proto: number, port: number): Shape[] => [
  { label: `${label} (source port ${port})`, ip: [4, 6], proto, sport: port },
  { label: `${label} (destination port ${port})`, ip: [4, 6], proto, dport: port },
];

/** Per kind, what the software dispatch recognises it by. */
const SHAPES: Record<PayloadKind, Shape[]> = {
  dns: [...both('DNS over UDP', UDP, 53), ...both('DNS over TCP', TCP, 53)],
  mdns: both('mDNS', UDP, 5353),
  llmnr: [...both('LLMNR over UDP', UDP, 5355), ...both('LLMNR over TCP', TCP, 5355)],
  bgp: both('BGP', TCP, 179),
  ospf: [{ label: 'OSPF', ip: [4, 6], proto: 89 }],
  tunnel: [
    { label: 'VXLAN (UDP 4789)', ip: [4, 6], proto: UDP, dport: 4789 },
    { label: 'GENEVE (UDP 6081)', ip: [4, 6], proto: UDP, dport: 6081 },
    { label: 'GRE', ip: [4, 6], proto: 47 },
    { label: 'IP-in-IP', ip: [4, 6], proto: 4 },
    { label: 'IPv6-in-IP', ip: [4, 6], proto: 41 },
    { label: 'PIM', ip: [4, 6], proto: 103 },
  ],
  icmp_err: [{ label: 'ICMP', ip: [4], proto: 1 }, { label: 'ICMPv6', ip: [6], proto: ICMP6 }],
};

const L2_WORDS = { untagged: 'untagged', tagged: 'one VLAN tag', double: 'two VLAN tags' } as const;

/** The leak action of a kind (a policy without a leak table translates every kind). */
export function leakAction(policy: NativePolicy, kind: LeakKind): number {
  return policy.leak?.[kind] ?? LEAK_ACTION.translate;
}

/** The kinds the policy keeps in software (its leak action is not `pass`). */
export function puntedKinds(policy: NativePolicy): PayloadKind[] {
  return PAYLOAD_KINDS.filter((k) => leakAction(policy, k) !== LEAK_ACTION.pass);
}

/** The payload punts of a policy, as matches (for the transfer domain). */
export function payloadPunts(policy: NativePolicy): Punt[] {
  const out: Punt[] = [];
  for (const l2 of ['untagged', 'tagged', 'double'] as const) {
    for (const cls of puntedKinds(policy)) {
      for (const s of SHAPES[cls]) {
        for (const ipVersion of s.ip) {
          out.push({
            cls,
            label: `${s.label}, IPv${ipVersion}, ${L2_WORDS[l2]}`,
            match: {
              l2, vid: ANYVID, ethertype: null, ipVersion, proto: s.proto, src: null, dst: null,
              sport: s.sport !== undefined ? [s.sport, s.sport] : ANY16,
              dport: s.dport !== undefined ? [s.dport, s.dport] : ANY16,
              icmpType: ANY8,
            },
          });
        }
      }
    }
  }
  return out;
}

const words = (kinds: readonly PayloadKind[]): string => kinds.map((k) => PAYLOAD_WORDS[k]).join(', ');

/**
 * A hardware session's payload piece: which payloads its rules can match
 * that punt rules keep in software, and which the leak policy lets the NIC
 * copy as they are. Undefined for sessions not all in hardware (software
 * translates their copies' payloads) and for sessions no payload kind can
 * reach.
 */
export function payloadPiece(w: SessionWork, policy: NativePolicy, puntIds: ReadonlyMap<string, readonly string[]>, punts: readonly Punt[]): PlanPiece | undefined {
  const hw = w.chosen;
  if (!hw || hw.path !== 'hardware') return undefined;
  const accepts = hw.intents.filter((it) => it.kind === 'accept').map((it) => it.match);
  const reach = (m: Match) => accepts.some((a) => intersects(a, m));
  const punted = PAYLOAD_KINDS.filter((k) => punts.some((p) => p.cls === k && reach(p.match)));
  const passed = PAYLOAD_KINDS.filter((k) => leakAction(policy, k) === LEAK_ACTION.pass && SHAPES[k].some((s) => s.ip.some((ipVersion) => reach({
    l2: 'any', vid: ANYVID, ethertype: null, ipVersion, proto: s.proto, src: null, dst: null,
    sport: s.sport !== undefined ? [s.sport, s.sport] : ANY16, dport: s.dport !== undefined ? [s.dport, s.dport] : ANY16, icmpType: ANY8,
  }))));
  if (punted.length === 0 && passed.length === 0) return undefined;
  const rules = punted.flatMap((k) => puntIds.get(k) ?? []).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const parts: string[] = [];
  if (punted.length) {
    parts.push(`${words(punted)} that these rules can match ${punted.length === 1 ? 'is' : 'are'} punted to the software path by ${rules.length} rule${rules.length === 1 ? '' : 's'} ahead of them (the NIC would translate their headers only and copy the production addresses inside): software translates the payloads under the leak policy, or drops the copy where it cannot`);
  }
  if (passed.length) {
    parts.push(`${words(passed)}: leak policy pass (translate.leak.${passed.join('/')}), so the NIC copies them with their headers translated and their payloads as they are`);
  }
  return { kind: 'punt', placement: punted.length ? 'hybrid' : 'hardware', stage: 'rewrite', reason: parts.join('; '), rules };
}

/**
 * The port's payload line in the plan's control-plane list; undefined when
 * no session of the port is all in hardware or no kind is kept in software.
 */
export function payloadPlacement(
  port: { index: number; name: string },
  policy: NativePolicy,
  hardwareSessions: number,
  puntIds: ReadonlyMap<string, readonly string[]>,
): { port: { index: number; name: string }; classes: PayloadKind[]; placement: 'software' | 'hybrid'; reason: string; rules: string[] } | undefined {
  const kinds = puntedKinds(policy);
  // Only a NIC that copies on its own (the all-in-hardware path) raises the question.
  if (kinds.length === 0 || hardwareSessions === 0) return undefined;
  const passed = PAYLOAD_KINDS.filter((k) => !kinds.includes(k));
  const passWords = passed.length ? `; ${words(passed)} pass as they are (leak policy pass), so the NIC may copy them` : '';
  const ids = kinds.flatMap((k) => puntIds.get(k) ?? []).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const base = { port: { index: port.index, name: port.name }, classes: kinds };
  if (ids.length === 0) {
    return {
      ...base, placement: 'software', rules: [],
      reason: `${words(kinds)} payloads are translated in software under the leak policy; no rule that copies in the NIC on ${port.name} can match them, so no punt rule is needed${passWords}`,
    };
  }
  return {
    ...base, placement: 'hybrid', rules: ids,
    reason: `${words(kinds)} payloads are translated in software under the leak policy: ${ids.length} punt rule${ids.length === 1 ? '' : 's'} ahead of the NIC's copying rules MARK them (${kinds.filter((k) => puntIds.has(k)).map((k) => `${PAYLOAD_WORDS[k]} 0x${PAYLOAD_MARKS[k].toString(16)}`).join(', ')}) and send them to the software path, so no NIC-made copy carries them with only its headers translated${passWords}`,
  };
}

