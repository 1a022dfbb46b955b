/**
 * Packet builder for tests, fixtures and the demo capture.
 *
 * Layers compose inside-out: `ether({...}, ipv4({..., payload: tcp({...})}))`.
 * Transport builders (tcp, udp, icmp, icmpv6) return a deferred segment
 * because their checksums need the IP pseudo-header; the IP builder that
 * wraps them fills it in. Every checksum is computed from scratch, so a frame
 * from here is the reference a rewritten frame is compared against.
 * Overrides (checksum, ihl, totalLength, ...) exist to make malformed frames
 * on purpose; the frame-level helpers (damage.ts) damage finished frames.
 *
 * This file is the builder's one entry: import from here. The layers live
 * in bytes.ts (numbers, addresses, checksum), transport.ts (TCP, UDP, ICMP,
 * ICMPv6 and ND), ip.ts (IPv4, IPv6), l2.ts (Ethernet, VLAN, ARP, DHCP),
 * fragment.ts and damage.ts (parse, re-checksum and damage finished frames).
 */
export { ETHERTYPE, IPPROTO, ip4, ip6, mac, ip4ToString, ip6ToString, macToString, onesComplementSum, internetChecksum } from './bytes.js';
export {
  type Pseudo,
  type Transport,
  isTransport,
  tcpFlags,
  type TcpOptions,
  tcp,
  type UdpOptions,
  udp,
  type IcmpOptions,
  icmp,
  icmpEcho,
  icmpError,
  icmpv6,
  icmpv6Echo,
  icmpv6Error,
  neighborSolicitation,
  neighborAdvertisement,
} from './transport.js';
export { type Ipv4Options, ipv4SourceRouteFinal, ipv4, type Ipv6Ext, type Ipv6Options, ipv6 } from './ip.js';
export { type VlanTag, type EtherOptions, ether, type ArpOptions, arp, DHCP_MESSAGE_TYPE, type DhcpMessageType, type DhcpOptions, dhcp } from './l2.js';
export { fragmentIpv4, fragmentIpv6 } from './fragment.js';
export {
  type ParsedFrame,
  parseFrame,
  recomputeChecksums,
  l3Offset,
  truncate,
  padFrame,
  setByte,
  fixIpv4HeaderChecksum,
  setIpv4Ihl,
  setIpv4Version,
  setIpv4TotalLength,
  setIpv6PayloadLength,
} from './damage.js';
