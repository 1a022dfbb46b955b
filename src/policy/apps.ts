/**
 * Named application classes: what `app: dns` means in a filter rule. Each
 * class is a set of alternatives over fields the classifier sees (EtherType,
 * IP version, protocol, ports); port-based classes match either direction
 * (the well-known port as source or as destination), so replies are caught
 * too. The compiler combines an alternative with the rule's own fields and
 * drops alternatives that contradict them.
 *
 * Ports are the IANA well-known (or de-facto standard) ones; classification
 * is by port, not by payload: traffic on other ports needs a rule of its own
 * or a signature.
 */

export interface AppAlternative {
  ethertype?: number;
  ipVersion?: 4 | 6;
  proto?: number;
  sport?: readonly [number, number];
  dport?: readonly [number, number];
}

export interface AppClass {
  description: string;
  alternatives: readonly AppAlternative[];
}

export const PROTO = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, ospf: 89, pim: 103, vrrp: 112, sctp: 132 } as const;

/** Either-direction rules for `proto` on each port or range. */
function ports(protos: readonly number[], list: readonly (number | readonly [number, number])[]): AppAlternative[] {
  const out: AppAlternative[] = [];
  for (const proto of protos) {
    for (const p of list) {
      const r: readonly [number, number] = typeof p === 'number' ? [p, p] : p;
      out.push({ proto, dport: r }, { proto, sport: r });
    }
  }
  return out;
}

const TCP = [PROTO.tcp];
const UDP = [PROTO.udp];
const BOTH = [PROTO.tcp, PROTO.udp];

export const APPS = {
  arp: { description: 'ARP (EtherType 0x0806)', alternatives: [{ ethertype: 0x0806 }] },
  lldp: { description: 'LLDP (EtherType 0x88cc)', alternatives: [{ ethertype: 0x88cc }] },
  icmp: { description: 'ICMP and ICMPv6 (IP protocols 1 and 58)', alternatives: [{ ipVersion: 4, proto: PROTO.icmp }, { ipVersion: 6, proto: PROTO.icmpv6 }] },
  dns: { description: 'DNS, UDP and TCP port 53', alternatives: ports(BOTH, [53]) },
  mdns: { description: 'multicast DNS, UDP port 5353', alternatives: ports(UDP, [5353]) },
  dhcp: { description: 'DHCPv4, UDP ports 67-68', alternatives: ports(UDP, [[67, 68]]) },
  dhcpv6: { description: 'DHCPv6, UDP ports 546-547', alternatives: ports(UDP, [[546, 547]]) },
  http: { description: 'HTTP, TCP ports 80 and 8080', alternatives: ports(TCP, [80, 8080]) },
  tls: { description: 'TLS (HTTPS), TCP ports 443 and 8443', alternatives: ports(TCP, [443, 8443]) },
  quic: { description: 'QUIC (HTTP/3), UDP port 443', alternatives: ports(UDP, [443]) },
  ssh: { description: 'SSH, TCP port 22', alternatives: ports(TCP, [22]) },
  telnet: { description: 'Telnet, TCP port 23', alternatives: ports(TCP, [23]) },
  ftp: { description: 'FTP control and data, TCP ports 20-21', alternatives: ports(TCP, [[20, 21]]) },
  smtp: { description: 'SMTP, TCP ports 25, 465 and 587', alternatives: ports(TCP, [25, 465, 587]) },
  imap: { description: 'IMAP, TCP ports 143 and 993', alternatives: ports(TCP, [143, 993]) },
  pop3: { description: 'POP3, TCP ports 110 and 995', alternatives: ports(TCP, [110, 995]) },
  ntp: { description: 'NTP, UDP port 123', alternatives: ports(UDP, [123]) },
  snmp: { description: 'SNMP and traps, UDP ports 161-162', alternatives: ports(UDP, [[161, 162]]) },
  syslog: { description: 'syslog, UDP 514 and TCP 514/6514', alternatives: [...ports(UDP, [514]), ...ports(TCP, [514, 6514])] },
  ldap: { description: 'LDAP, TCP ports 389 and 636', alternatives: ports(TCP, [389, 636]) },
  kerberos: { description: 'Kerberos, UDP and TCP port 88', alternatives: ports(BOTH, [88]) },
  radius: { description: 'RADIUS, UDP ports 1812-1813', alternatives: ports(UDP, [[1812, 1813]]) },
  tacacs: { description: 'TACACS+, TCP port 49', alternatives: ports(TCP, [49]) },
  bgp: { description: 'BGP, TCP port 179', alternatives: ports(TCP, [179]) },
  ospf: { description: 'OSPF (IP protocol 89)', alternatives: [{ proto: PROTO.ospf }] },
  rip: { description: 'RIP and RIPng, UDP ports 520-521', alternatives: ports(UDP, [[520, 521]]) },
  ldp: { description: 'MPLS LDP, UDP and TCP port 646', alternatives: ports(BOTH, [646]) },
  bfd: { description: 'BFD, UDP ports 3784-3785 and 4784', alternatives: ports(UDP, [[3784, 3785], 4784]) },
  vrrp: { description: 'VRRP (IP protocol 112)', alternatives: [{ proto: PROTO.vrrp }] },
  igmp: { description: 'IGMP (IP protocol 2)', alternatives: [{ ipVersion: 4, proto: PROTO.igmp }] },
  pim: { description: 'PIM (IP protocol 103)', alternatives: [{ proto: PROTO.pim }] },
  gre: { description: 'GRE (IP protocol 47)', alternatives: [{ proto: PROTO.gre }] },
  ipsec: { description: 'IPsec: ESP (50), AH (51), IKE and NAT-T (UDP 500, 4500)', alternatives: [{ proto: PROTO.esp }, { proto: PROTO.ah }, ...ports(UDP, [500, 4500])] },
  vxlan: { description: 'VXLAN, UDP port 4789', alternatives: ports(UDP, [4789]) },
  geneve: { description: 'GENEVE, UDP port 6081', alternatives: ports(UDP, [6081]) },
  sip: { description: 'SIP, UDP and TCP ports 5060-5061', alternatives: ports(BOTH, [[5060, 5061]]) },
  rdp: { description: 'RDP, TCP port 3389', alternatives: ports(TCP, [3389]) },
  smb: { description: 'SMB, TCP port 445', alternatives: ports(TCP, [445]) },
  nfs: { description: 'NFS, TCP and UDP port 2049', alternatives: ports(BOTH, [2049]) },
  mysql: { description: 'MySQL, TCP port 3306', alternatives: ports(TCP, [3306]) },
  postgres: { description: 'PostgreSQL, TCP port 5432', alternatives: ports(TCP, [5432]) },
  redis: { description: 'Redis, TCP port 6379', alternatives: ports(TCP, [6379]) },
  memcached: { description: 'memcached, TCP and UDP port 11211', alternatives: ports(BOTH, [11211]) },
  mongodb: { description: 'MongoDB, TCP port 27017', alternatives: ports(TCP, [27017]) },
  kafka: { description: 'Kafka, TCP port 9092', alternatives: ports(TCP, [9092]) },
} as const satisfies Record<string, AppClass>;

export type AppName = keyof typeof APPS;
export const APP_NAMES = Object.keys(APPS) as AppName[];
