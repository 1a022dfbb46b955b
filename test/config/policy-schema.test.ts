/**
 * The policy part of the configuration, field by field: a valid base with
 * every feature in use, then one case per way to get each field wrong. Each
 * case must give exactly one problem, at the field, saying what was expected.
 */
import test from 'ava';
import { checkConfig, checkConfigText, checkPolicyUpdate, validateConfig } from '../../src/config/load.js';
import { APP_NAMES } from '../../src/policy/apps.js';
import { policyBase, set } from '../helpers/policy-config.js';
import { LEAK_KINDS } from '../../src/dataplane/native-types.js';

type Obj = Record<string, unknown>;

interface Case {
  title: string;
  edit: (c: Obj) => void;
  path: string;
  message: string | RegExp;
}

const S = 'sessions[0]';
const F = (i: number) => `${S}.filters[${i}]`;
const at = (p: string, v: unknown) => (c: Obj) => set(c, p, v);

const cases: Case[] = [
  // ---- match
  { title: 'match unknown', edit: at('match', 'any'), path: 'match', message: 'expected one of first, all, got "any"' },
  // ---- sessions: the list and the session
  { title: 'sessions not a list', edit: at('sessions', { id: 1 }), path: 'sessions', message: /^expected a list of up to 1024 sessions, got a mapping$/ },
  { title: 'session not a mapping', edit: at('sessions[1]', 'web'), path: 'sessions[1]', message: /^expected a mapping with keys id, description, enabled, priority, sources, filters/ },
  { title: 'session enabled not a boolean', edit: at('sessions[0].enabled', 'no'), path: 'sessions[0].enabled', message: 'expected true or false, got "no"' },
  { title: 'session unknown key', edit: at(`${S}.filter`, []), path: `${S}.filter`, message: /^unknown key `sessions\[0\]\.filter` \(did you mean `filters`\?\)/ },
  { title: 'session id missing', edit: at(`${S}.id`, undefined), path: `${S}.id`, message: 'missing; expected an integer from 1 to 4294967295' },
  { title: 'session id 0', edit: at(`${S}.id`, 0), path: `${S}.id`, message: 'expected an integer from 1 to 4294967295, got 0' },
  { title: 'session id fractional', edit: at(`${S}.id`, 1.5), path: `${S}.id`, message: 'expected an integer from 1 to 4294967295, got 1.5' },
  { title: 'session id duplicate', edit: at('sessions[1].id', 10), path: 'sessions[1].id', message: 'duplicate session id 10 (also sessions[0].id); expected unique ids' },
  { title: 'session description too long', edit: at(`${S}.description`, 'x'.repeat(201)), path: `${S}.description`, message: /^expected a text of up to 200 characters/ },
  { title: 'priority negative', edit: at(`${S}.priority`, -1), path: `${S}.priority`, message: 'expected an integer from 0 to 65535, got -1' },
  { title: 'priority too large', edit: at(`${S}.priority`, 70000), path: `${S}.priority`, message: 'expected an integer from 0 to 65535, got 70000' },
  // ---- sources
  { title: 'sources empty', edit: at(`${S}.sources`, []), path: `${S}.sources`, message: 'expected a list of {port, direction} (at least one), got a list of 0 items' },
  { title: 'source port unknown', edit: at(`${S}.sources[0].port`, 'prod-x'), path: `${S}.sources[0].port`, message: 'unknown port "prod-x"; expected a production or egress port (one of prod-in, prod-out)' },
  { title: 'source port is a shadow port', edit: at(`${S}.sources[0].port`, 'shadow0'), path: `${S}.sources[0].port`, message: /^"shadow0" is a shadow port; expected a production or egress port/ },
  { title: 'source port bad name', edit: at(`${S}.sources[0].port`, 'Prod In'), path: `${S}.sources[0].port`, message: 'expected a port name, got "Prod In"' },
  { title: 'source port missing', edit: at(`${S}.sources[0]`, { direction: 'rx' }), path: `${S}.sources[0].port`, message: 'missing; expected a port name' },
  { title: 'direction unknown', edit: at(`${S}.sources[0].direction`, 'in'), path: `${S}.sources[0].direction`, message: 'expected one of rx, tx, both, got "in"' },
  {
    title: 'direction tx on a port nothing forwards to',
    edit: (c) => {
      set(c, 'ports[1].egress', undefined);
      set(c, `${S}.sources[0].direction`, 'tx');
    },
    path: `${S}.sources[0].direction`,
    message: 'tx: no port forwards to "prod-in" (no port has egress: prod-in); expected rx, or a port that is another port\'s egress',
  },
  { title: 'source unknown key', edit: at(`${S}.sources[0].directon`, 'rx'), path: `${S}.sources[0].directon`, message: /^unknown key `sessions\[0\]\.sources\[0\]\.directon` \(did you mean `direction`\?\); expected one of port, direction$/ },
  // ---- sample, snaplen, rate, target
  { title: 'sample percent over 100', edit: at(`${S}.sample.percent`, 100.5), path: `${S}.sample.percent`, message: 'expected a number from 0 to 100, got 100.5' },
  { title: 'sample percent negative', edit: at(`${S}.sample.percent`, -1), path: `${S}.sample.percent`, message: 'expected a number from 0 to 100, got -1' },
  { title: 'sample percent a string', edit: at(`${S}.sample.percent`, '10%'), path: `${S}.sample.percent`, message: 'expected a number from 0 to 100, got "10%"' },
  { title: 'sample mode unknown', edit: at(`${S}.sample.mode`, 'session'), path: `${S}.sample.mode`, message: 'expected one of flow, packet, got "session"' },
  { title: 'sample unknown key', edit: at(`${S}.sample.rate`, 5), path: `${S}.sample.rate`, message: /^unknown key `sessions\[0\]\.sample\.rate`/ },
  { title: 'snaplen too short', edit: at(`${S}.snaplen`, 20), path: `${S}.snaplen`, message: '20 bytes is too short; expected 0 (whole frame) or 64 to 65535' },
  { title: 'snaplen too long', edit: at(`${S}.snaplen`, 70000), path: `${S}.snaplen`, message: 'expected an integer from 0 to 65535, got 70000' },
  { title: 'rate pps negative', edit: at(`${S}.rate.pps`, -5), path: `${S}.rate.pps`, message: 'expected an integer from 0 to 1000000000000, got -5' },
  { title: 'rate bps fractional', edit: at(`${S}.rate.bps`, 0.5), path: `${S}.rate.bps`, message: 'expected an integer from 0 to 1000000000000000, got 0.5' },
  { title: 'rate unknown key', edit: at(`${S}.rate.mbps`, 5), path: `${S}.rate.mbps`, message: /^unknown key `sessions\[0\]\.rate\.mbps`/ },
  { title: 'target unknown', edit: at(`${S}.target`, 'remote2'), path: `${S}.target`, message: 'unknown target "remote2"; expected one of local, remote, remote6, plain' },
  { title: 'target bad name', edit: at(`${S}.target`, 'a b'), path: `${S}.target`, message: 'expected a target name, got "a b"' },
  {
    title: 'target with no targets defined',
    edit: (c) => {
      set(c, 'targets', []);
      set(c, 'sessions[1].target', undefined);
    },
    path: `${S}.target`,
    message: 'unknown target "remote"; no targets are defined (add it under targets, or leave target out to send to every shadow port)',
  },
  // ---- filters: list, id, action
  { title: 'filters not a list', edit: at(`${S}.filters`, { action: 'accept' }), path: `${S}.filters`, message: 'expected a list of filter rules, got a mapping' },
  { title: 'filter unknown key', edit: at(`${F(0)}.dport`, 80), path: `${F(0)}.dport`, message: /^unknown key `sessions\[0\]\.filters\[0\]\.dport`; expected one of id, description, action, ethertype/ },
  { title: 'filter id bad', edit: at(`${F(0)}.id`, 'a rule'), path: `${F(0)}.id`, message: 'expected an id of 1 to 64 letters, digits, "_", "." or "-", got "a rule"' },
  { title: 'filter id duplicate', edit: at(`${F(1)}.id`, 'syn'), path: `${F(1)}.id`, message: 'duplicate rule id "syn" in this session (also filters[0].id); expected unique ids' },
  { title: 'filter id looks like a position', edit: at(`${F(1)}.id`, '5'), path: `${F(1)}.id`, message: '"5" looks like another rule\'s position; expected a non-numeric id such as "web-in"' },
  { title: 'action unknown', edit: at(`${F(0)}.action`, 'drop'), path: `${F(0)}.action`, message: 'expected one of accept, reject, got "drop"' },
  // ---- ethertype
  { title: 'ethertype unknown name', edit: at(`${F(2)}.ethertype`, 'appletalk'), path: `${F(2)}.ethertype`, message: /^unknown EtherType "appletalk"; expected a name \(ipv4, arp, /  },
  { title: 'ethertype too large', edit: at(`${F(2)}.ethertype`, 70000), path: `${F(2)}.ethertype`, message: /^expected an EtherType name such as ipv4, arp, lldp, or a number from 0 to 65535 \(e\.g\. 0x88cc\), got 70000$/ },
  { title: 'ethertype bad hex', edit: at(`${F(2)}.ethertype`, '0x1ffff'), path: `${F(2)}.ethertype`, message: /^unknown EtherType "0x1ffff"/ },
  { title: 'ethertype not IP with IP fields', edit: at(`${F(0)}.ethertype`, 'arp'), path: `${F(0)}.protocol`, message: /^protocol needs an IP packet, but ethertype arp is not IPv4 or IPv6/ },
  { title: 'ethertype contradicts ip_version', edit: (c) => set(c, `${F(1)}.ethertype`, 'ipv6'), path: `${F(1)}.ip_version`, message: 'ip_version 4 contradicts ethertype ipv6; expected 6' },
  // ---- vlan
  { title: 'vlan too large', edit: at(`${F(3)}.vlan`, 4096), path: `${F(3)}.vlan`, message: /^expected a VLAN id from 0 to 4095, a range such as "100-200", or "untagged", got 4096$/ },
  { title: 'vlan range backwards', edit: at(`${F(3)}.vlan`, '200-100'), path: `${F(3)}.vlan`, message: '"200-100" runs backwards; expected the low id first, such as "100-200"' },
  { title: 'vlan range out of range', edit: at(`${F(3)}.vlan`, '100-5000'), path: `${F(3)}.vlan`, message: '"100-5000" is out of range; expected VLAN ids from 0 to 4095' },
  { title: 'vlan garbage', edit: at(`${F(3)}.vlan`, 'tagged'), path: `${F(3)}.vlan`, message: /^"tagged" is not a VLAN; expected an id from 0 to 4095/ },
  // ---- ip_version, protocol
  { title: 'ip_version 5', edit: at(`${F(1)}.ip_version`, 5), path: `${F(1)}.ip_version`, message: 'expected 4 or 6, got 5' },
  { title: 'ip_version contradicts addresses', edit: at(`${F(1)}.ip_version`, 6), path: `${F(1)}.ip_version`, message: 'ip_version 6 contradicts the IPv4 addresses of this rule; expected 4 or no ip_version' },
  { title: 'protocol unknown name', edit: at(`${F(0)}.protocol`, 'tpc'), path: `${F(0)}.protocol`, message: /^unknown protocol "tpc"; expected a name \(icmp, igmp, tcp, udp/ },
  { title: 'protocol 256', edit: at(`${F(0)}.protocol`, 256), path: `${F(0)}.protocol`, message: 'expected a protocol name such as tcp, udp, icmp, ospf, or a number from 0 to 255, got 256' },
  { title: 'tcp_flags with another protocol', edit: at(`${S}.filters[0]`, { protocol: 'icmp', tcp_flags: { set: ['syn'] } }), path: `${F(0)}.tcp_flags`, message: 'tcp_flags need protocol tcp; this rule has protocol icmp' },
  {
    title: 'ports with protocol ospf',
    edit: (c) => set(c, `${S}.filters[0]`, { protocol: 'ospf', dst_ports: 89 }),
    path: `${F(0)}.dst_ports`,
    message: 'ports need a protocol that carries them (tcp, udp, sctp, udplite); protocol ospf has none',
  },
  // ---- src, dst
  { title: 'src not an address', edit: at(`${F(1)}.src`, '10.0.9/24'), path: `${F(1)}.src`, message: '"10.0.9/24" is not an address or prefix; expected e.g. 10.0.0.0/16, 10.0.1.5 or fd00::/16' },
  { title: 'src host bits', edit: at(`${F(1)}.src`, '10.0.9.1/24'), path: `${F(1)}.src`, message: '"10.0.9.1/24" has host bits set; expected a network address such as 10.0.9.0/24' },
  { title: 'src prefix length 33', edit: at(`${F(1)}.src`, '10.0.9.0/33'), path: `${F(1)}.src`, message: '"10.0.9.0/33" has an invalid prefix length; expected /0 to /32 for IPv4' },
  { title: 'src IPv6 length 129', edit: at(`${F(3)}.dst`, 'fd00::/129'), path: `${F(3)}.dst`, message: '"fd00::/129" has an invalid prefix length; expected /0 to /128 for IPv6' },
  { title: 'src list item bad', edit: at(`${F(3)}.src[1]`, '10.1.0.0/8'), path: `${F(3)}.src[1]`, message: '"10.1.0.0/8" has host bits set; expected a network address such as 10.0.0.0/8' },
  { title: 'src list empty', edit: at(`${F(3)}.src`, []), path: `${F(3)}.src`, message: 'expected an IPv4 or IPv6 address or prefix such as 10.0.0.0/16 or fd00::/16, or a list of up to 64 of them, got a list of 0 items' },
  { title: 'src a number', edit: at(`${F(3)}.src`, 10), path: `${F(3)}.src`, message: /^expected an IPv4 or IPv6 address or prefix .*, got 10$/ },
  { title: 'dst of another family than src', edit: at(`${F(1)}.dst`, 'fd00::/16'), path: `${F(1)}.dst`, message: 'IPv6 destination with an IPv4 source never matches; expected addresses of the same family' },
  // ---- ports
  { title: 'dst_ports 65536', edit: at(`${F(0)}.dst_ports[0]`, 65536), path: `${F(0)}.dst_ports[0]`, message: 'expected a port from 0 to 65535 or a range such as "1000-2000", got 65536' },
  { title: 'dst_ports range backwards', edit: at(`${F(0)}.dst_ports[1]`, '443-80'), path: `${F(0)}.dst_ports[1]`, message: '"443-80" runs backwards; expected the low port first, such as "80-443"' },
  { title: 'src_ports range out of range', edit: at(`${F(3)}.src_ports`, '1024-70000'), path: `${F(3)}.src_ports`, message: '"1024-70000" is out of range; expected ports from 0 to 65535' },
  { title: 'src_ports garbage', edit: at(`${F(3)}.src_ports`, 'http'), path: `${F(3)}.src_ports`, message: 'expected a port from 0 to 65535 or a range such as "1000-2000", or a list of up to 64 of them, got "http"' },
  { title: 'dst_ports negative', edit: at(`${F(0)}.dst_ports`, -1), path: `${F(0)}.dst_ports`, message: /^expected a port from 0 to 65535 or a range such as "1000-2000", or a list .*, got -1$/ },
  // ---- tcp_flags
  { title: 'tcp flag unknown', edit: at(`${F(0)}.tcp_flags.set`, ['sin']), path: `${F(0)}.tcp_flags.set[0]`, message: 'expected one of fin, syn, rst, psh, ack, urg, ece, cwr, got "sin"' },
  { title: 'tcp flag both set and unset', edit: at(`${F(0)}.tcp_flags.unset`, ['syn']), path: `${F(0)}.tcp_flags.unset`, message: 'syn cannot be both set and unset' },
  { title: 'tcp flags empty', edit: at(`${F(0)}.tcp_flags`, {}), path: `${F(0)}.tcp_flags`, message: 'empty; expected at least one flag under set or unset' },
  { title: 'tcp flags unknown key', edit: at(`${F(0)}.tcp_flags.clear`, ['ack']), path: `${F(0)}.tcp_flags.clear`, message: /^unknown key `sessions\[0\]\.filters\[0\]\.tcp_flags\.clear`/ },
  // ---- app
  { title: 'app unknown', edit: at(`${F(4)}.app`, 'dnss'), path: `${F(4)}.app`, message: new RegExp(`^expected an application class \\(${APP_NAMES.slice(0, 3).join(', ')}`) },
  { title: 'app list item unknown', edit: at(`${F(4)}.app`, ['dns', 'gopher']), path: `${F(4)}.app[1]`, message: /^expected one of arp, lldp, icmp, dns/ },
  {
    title: 'app contradicts the rule',
    edit: (c) => set(c, `${S}.filters[4]`, { app: 'dns', protocol: 'icmp' }),
    path: `${F(4)}.app`,
    message: /^this rule can never match: app dns uses protocol (tcp|udp), the rule says icmp$/,
  },
  {
    title: 'app ports outside the rule\'s ports',
    edit: (c) => set(c, `${S}.filters[4]`, { app: 'ssh', src_ports: 80, dst_ports: 80 }),
    path: `${F(4)}.app`,
    message: "this rule can never match: app ssh uses destination ports 22, outside the rule's",
  },
  // ---- signature
  { title: 'signature odd hex', edit: at(`${F(5)}.signature.bytes`, '474'), path: `${F(5)}.signature.bytes`, message: '"474" has an odd number of hex digits (3); expected two digits per byte' },
  { title: 'signature not hex', edit: at(`${F(5)}.signature.bytes`, 'GET'), path: `${F(5)}.signature.bytes`, message: '"GET" is not hex; expected hex digits, two per byte, such as "474554"' },
  { title: 'signature mask length differs', edit: at(`${F(5)}.signature.mask`, 'ffff'), path: `${F(5)}.signature.mask`, message: '2 bytes of mask for 3 bytes of value; expected a mask as long as the value' },
  { title: 'signature mask odd hex', edit: at(`${F(5)}.signature.mask`, 'fffff'), path: `${F(5)}.signature.mask`, message: '"fffff" has an odd number of hex digits (5); expected two digits per byte' },
  { title: 'signature longer than 16 bytes', edit: (c) => set(c, `${F(5)}.signature`, { bytes: '00'.repeat(17) }), path: `${F(5)}.signature.bytes`, message: '17 bytes is too long; expected 1 to 16 bytes' },
  { title: 'signature text longer than 16', edit: (c) => set(c, `${F(6)}.signature`, { text: 'x'.repeat(17) }), path: `${F(6)}.signature.text`, message: 'expected a text of 1 to 16 ASCII characters, got "xxxxxxxxxxxxxxxxx"' },
  { title: 'signature value outside the mask', edit: at(`${F(5)}.signature.mask`, 'ff0fff'), path: `${F(5)}.signature.mask`, message: /^value byte 1 \(0x45\) has bits the mask \(0x0f\) clears, so it can never match/ },
  { title: 'signature bytes and text', edit: at(`${F(5)}.signature.text`, 'GET'), path: `${F(5)}.signature.text`, message: 'give the value either as bytes (hex) or as text, not both' },
  { title: 'signature without a value', edit: (c) => set(c, `${F(5)}.signature`, { base: 'l2', offset: 0 }), path: `${F(5)}.signature`, message: 'missing the value; expected bytes (hex, such as "474554") or text (such as "GET ")' },
  { title: 'signature base unknown', edit: at(`${F(5)}.signature.base`, 'l7'), path: `${F(5)}.signature.base`, message: 'expected one of l2, l3, l4, payload, got "l7"' },
  { title: 'signature offset too large', edit: at(`${F(5)}.signature.offset`, 70000), path: `${F(5)}.signature.offset`, message: 'expected an integer from 0 to 65535, got 70000' },
  { title: 'signature text not ASCII', edit: at(`${F(6)}.signature.text`, 'é'), path: `${F(6)}.signature.text`, message: /^"é" has non-printable or non-ASCII characters/ },
  {
    title: 'more than 32 signatures',
    edit: (c) => set(c, `${S}.filters`, Array.from({ length: 33 }, (_, i) => ({ signature: { bytes: i.toString(16).padStart(2, '0') } }))),
    path: `${S}.filters[32].signature`,
    message: 'more than 32 distinct signatures in the policy; expected at most 32 (identical signatures are shared)',
  },
  // ---- targets
  { title: 'targets not a list', edit: at('targets', 'remote'), path: 'targets', message: 'expected a list of up to 16 targets, got "remote"' },
  { title: 'target name missing', edit: at('targets[0].name', undefined), path: 'targets[0].name', message: /^missing; expected a name of 1 to 64/ },
  { title: 'target name duplicate', edit: at('targets[3].name', 'local'), path: 'targets[3].name', message: 'duplicate target name "local" (also targets[0].name); expected unique names' },
  { title: 'target port unknown', edit: at('targets[0].ports[0]', 'shadow9'), path: 'targets[0].ports[0]', message: 'unknown port "shadow9"; expected a shadow port (one of shadow0, shadow1)' },
  { title: 'target port is production', edit: at('targets[0].ports[0]', 'prod-out'), path: 'targets[0].ports[0]', message: '"prod-out" is a egress port; expected a shadow port (one of shadow0, shadow1): copies never go to production' },
  { title: 'target port twice', edit: at('targets[0].ports', ['shadow0', 'shadow0']), path: 'targets[0].ports[1]', message: '"shadow0" is listed twice' },
  { title: 'target ports empty', edit: at('targets[0].ports', []), path: 'targets[0].ports', message: 'expected a list of shadow port names, got a list of 0 items' },
  { title: 'encap unknown word', edit: at('targets[3].encap', 'gre'), path: 'targets[3].encap', message: 'expected none, or a mapping with exactly one of vlan, vxlan, geneve, got "gre"' },
  { title: 'encap unknown kind', edit: at('targets[3].encap', { gre: {} }), path: 'targets[3].encap', message: 'expected none, or a mapping with exactly one of vlan, vxlan, geneve, got a mapping with key gre' },
  { title: 'encap two kinds', edit: at('targets[0].encap.vxlan', { vni: 1, outer: { src: '192.0.2.1', dst: '192.0.2.2' } }), path: 'targets[0].encap', message: 'expected none, or a mapping with exactly one of vlan, vxlan, geneve, got a mapping with keys vlan, vxlan' },
  { title: 'vlan id 0', edit: at('targets[0].encap.vlan.id', 0), path: 'targets[0].encap.vlan.id', message: 'expected an integer from 1 to 4094, got 0' },
  { title: 'vlan id 4095', edit: at('targets[0].encap.vlan.id', 4095), path: 'targets[0].encap.vlan.id', message: 'expected an integer from 1 to 4094, got 4095' },
  { title: 'vlan pcp 8', edit: at('targets[0].encap.vlan.pcp', 8), path: 'targets[0].encap.vlan.pcp', message: 'expected an integer from 0 to 7, got 8' },
  { title: 'vlan id missing', edit: at('targets[0].encap.vlan', { pcp: 1 }), path: 'targets[0].encap.vlan.id', message: 'missing; expected an integer from 1 to 4094' },
  { title: 'vxlan vni too large', edit: at('targets[1].encap.vxlan.vni', 16777216), path: 'targets[1].encap.vxlan.vni', message: 'expected an integer from 0 to 16777215, got 16777216' },
  { title: 'vxlan outer missing', edit: at('targets[1].encap.vxlan.outer', undefined), path: 'targets[1].encap.vxlan.outer', message: /^missing; expected a mapping with keys src, dst, src_mac, dst_mac, ttl, udp_port$/ },
  { title: 'vxlan outer src not an address', edit: at('targets[1].encap.vxlan.outer.src', '192.0.2'), path: 'targets[1].encap.vxlan.outer.src', message: '"192.0.2" is not an IP address; expected e.g. 10.0.1.5 or fd00::5' },
  { title: 'vxlan outer families differ', edit: at('targets[1].encap.vxlan.outer.dst', 'fd00::1'), path: 'targets[1].encap.vxlan.outer.dst', message: 'IPv6 destination with an IPv4 source; expected both IPv4 or both IPv6' },
  { title: 'vxlan outer dst_mac multicast', edit: at('targets[1].encap.vxlan.outer.dst_mac', '01:00:5e:00:00:01'), path: 'targets[1].encap.vxlan.outer.dst_mac', message: /^"01:00:5e:00:00:01" is a multicast\/broadcast address/ },
  { title: 'vxlan outer ttl 0', edit: at('targets[1].encap.vxlan.outer.ttl', 0), path: 'targets[1].encap.vxlan.outer.ttl', message: 'expected an integer from 1 to 255, got 0' },
  { title: 'geneve udp_port 0', edit: at('targets[2].encap.geneve.outer.udp_port', 0), path: 'targets[2].encap.geneve.outer.udp_port', message: 'expected an integer from 1 to 65535, got 0' },
  { title: 'geneve outer unknown key', edit: at('targets[2].encap.geneve.outer.port', 1), path: 'targets[2].encap.geneve.outer.port', message: /^unknown key `targets\[2\]\.encap\.geneve\.outer\.port`/ },
  // ---- translate: hosts, macs, unmapped, control_plane
  { title: 'host from not an address', edit: at('translate.hosts[0].from', '10.0.1'), path: 'translate.hosts[0].from', message: '"10.0.1" is not an IP address; expected e.g. 10.0.1.5 or fd00::5' },
  { title: 'host from a prefix', edit: at('translate.hosts[0].from', '10.0.1.0/24'), path: 'translate.hosts[0].from', message: '"10.0.1.0/24" is a prefix; expected one address (prefixes go under translate.ipv4/ipv6)' },
  { title: 'host families differ', edit: at('translate.hosts[0].to', 'fd98::5'), path: 'translate.hosts[0].to', message: 'IPv6 address for an IPv4 host; expected the same family' },
  { title: 'host duplicate', edit: at('translate.hosts[1]', { from: '10.0.1.5', to: '10.98.0.6' }), path: 'translate.hosts[1].from', message: '10.0.1.5 is already overridden by translate.hosts[0]; expected each address once' },
  { title: 'host unknown key', edit: at('translate.hosts[0].via', 'x'), path: 'translate.hosts[0].via', message: /^unknown key `translate\.hosts\[0\]\.via`/ },
  {
    title: 'too many maps with hosts',
    edit: (c) => set(c, 'translate.hosts', Array.from({ length: 256 }, (_, i) => ({ from: `10.0.${i >> 8}.${(i & 255)}`, to: `10.98.${i >> 8}.${i & 255}` }))),
    path: 'translate.hosts',
    message: '1 IPv4 prefix maps and 256 IPv4 host overrides exceed 256 IPv4 maps in all',
  },
  { title: 'mac from bad', edit: at('translate.macs[0].from', '02:00:00:00:01'), path: 'translate.macs[0].from', message: 'expected a MAC address such as "02:53:48:00:00:01", got "02:00:00:00:01"' },
  { title: 'mac to multicast', edit: at('translate.macs[0].to', '03:00:00:00:00:01'), path: 'translate.macs[0].to', message: /^"03:00:00:00:00:01" is a multicast\/broadcast address/ },
  { title: 'mac to zero', edit: at('translate.macs[0].to', '00:00:00:00:00:00'), path: 'translate.macs[0].to', message: /^"00:00:00:00:00:00" is the all-zero address/ },
  { title: 'mac duplicate', edit: at('translate.macs[1]', { from: '02:00:00:00:01:05', to: '02:99:00:00:01:06' }), path: 'translate.macs[1].from', message: '02:00:00:00:01:05 is already mapped by translate.macs[0]; expected each MAC once' },
  { title: 'unmapped unknown', edit: at('translate.unmapped', 'keep'), path: 'translate.unmapped', message: 'expected one of drop, mirror, count, got "keep"' },
  { title: 'control_plane not boolean', edit: at('translate.control_plane.arp', 'yes'), path: 'translate.control_plane.arp', message: 'expected true or false, got "yes"' },
  { title: 'control_plane unknown key', edit: at('translate.control_plane.bgp', true), path: 'translate.control_plane.bgp', message: /^unknown key `translate\.control_plane\.bgp`; expected one of arp, dhcp, nd$/ },
  { title: 'router id not a dotted quad', edit: at('translate.router_ids', [{ from: '10.0.0', to: '10.99.0.1' }]), path: 'translate.router_ids[0].from', message: /an IPv4 dotted quad/ },
  { title: 'router id map entry with an unknown key', edit: at('translate.router_ids', [{ from: '10.0.0.1', to: '10.99.0.1', via: 'x' }]), path: 'translate.router_ids[0].via', message: /unknown key/ },
  { title: 'leak action unknown', edit: at('translate.leak.dns', 'allow'), path: 'translate.leak.dns', message: 'expected one of translate, drop, pass, got "allow"' },
  { title: 'leak unknown protocol', edit: at('translate.leak.smtp', 'drop'), path: 'translate.leak.smtp', message: /^unknown key `translate\.leak\.smtp`; expected one of arp, dhcp, nd, dns, mdns, llmnr, bgp, ospf, ra, tunnel, icmp_err$/ },
  // ---- security
  { title: 'security enforce not boolean', edit: at('security.enforce', 1), path: 'security.enforce', message: 'expected true or false, got 1' },
  { title: 'security default unknown', edit: at('security.default', 'drop'), path: 'security.default', message: 'expected one of allow, deny, got "drop"' },
  { title: 'security rule action missing', edit: at('security.rules[1].action', undefined), path: 'security.rules[1].action', message: 'missing; expected one of allow, deny' },
  { title: 'security rule bad cidr', edit: at('security.rules[0].dst', '10.99.1.1/24'), path: 'security.rules[0].dst', message: '"10.99.1.1/24" has host bits set; expected a network address such as 10.99.1.0/24' },
  { title: 'security rule bad port range', edit: at('security.rules[0].dst_ports[1]', '443-1'), path: 'security.rules[0].dst_ports[1]', message: '"443-1" runs backwards; expected the low port first, such as "1-443"' },
  { title: 'security rule bad protocol', edit: at('security.rules[0].protocol', 'http'), path: 'security.rules[0].protocol', message: /^unknown protocol "http"/ },
  { title: 'security rule duplicate id', edit: at('security.rules[1].id', 'web'), path: 'security.rules[1].id', message: 'duplicate rule id "web" (also security.rules[0].id); expected unique ids' },
  { title: 'security rule families', edit: at('security.rules[1].dst', 'fd99::/16'), path: 'security.rules[1].dst', message: 'IPv6 destination with an IPv4 source never matches; expected addresses of the same family' },
  { title: 'security unknown key', edit: at('security.mode', 'x'), path: 'security.mode', message: /^unknown key `security\.mode`; expected one of enforce, default, rules$/ },
];

test('the base policy config is valid', (t) => {
  t.deepEqual(checkConfig(policyBase()).problems, []);
});

for (const c of cases) {
  test(`invalid policy: ${c.title}`, (t) => {
    const cfg = policyBase();
    c.edit(cfg);
    const { config, problems } = checkConfig(cfg);
    t.is(config, undefined);
    const here = problems.filter((p) => p.path === c.path);
    t.is(here.length, 1, `one problem at ${c.path}; got ${JSON.stringify(problems)}`);
    if (typeof c.message === 'string') t.is(here[0]?.message, c.message);
    else t.regex(here[0]?.message ?? '', c.message);
    t.deepEqual(problems.map((p) => p.path), [c.path], JSON.stringify(problems));
  });
}

test('defaults: match first, no sessions, no targets, security off, control plane on', (t) => {
  const c = validateConfig({ ports: (policyBase()['ports'] as unknown[]).slice(0, 3), translate: { ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }] } });
  t.is(c.match, 'first');
  t.is(c.sessions, undefined);
  t.deepEqual(c.targets, []);
  t.deepEqual(c.security, { enforce: false, default: 'allow', rules: [] });
  t.deepEqual(c.translate.control_plane, { arp: true, dhcp: true, nd: true });
  t.deepEqual(c.translate.hosts, []);
  t.deepEqual(c.translate.macs, []);
  t.is(c.translate.unmapped, 'drop');
  // fail-closed: every payload kind translated, what cannot be is not sent
  t.deepEqual(Object.values(c.translate.leak), Array(11).fill('translate'));
  t.deepEqual(Object.keys(c.translate.leak), [...LEAK_KINDS]);
});

test('session and filter defaults are filled in', (t) => {
  const c = validateConfig({ ...policyBase(), sessions: [{ id: 3, filters: [{ protocol: 'udp' }] }] });
  const s = c.sessions![0]!;
  t.is(s.priority, 100);
  t.deepEqual(s.sample, { percent: 100, mode: 'flow' });
  t.deepEqual(s.rate, { pps: 0, bps: 0 });
  t.is(s.snaplen, 0);
  t.is(s.filters[0]!.action, 'accept');
  t.is(s.sources, undefined, 'no sources = every production port rx, decided by the compiler');
  t.deepEqual(c.targets[1]!.encap, { vxlan: { vni: 4242, outer: { src: '192.0.2.10', dst: '192.0.2.1', dst_mac: '02:aa:00:00:00:01', ttl: 32 } } });
  t.is((c.targets[2]!.encap as { geneve: { outer: { ttl: number } } }).geneve.outer.ttl, 64);
});

test('every problem of a bad policy is reported at once', (t) => {
  const cfg = policyBase();
  set(cfg, `${F(1)}.src`, '10.0.9.1/24');
  set(cfg, `${F(0)}.dst_ports[1]`, '9-1');
  set(cfg, `${S}.sample.percent`, 101);
  set(cfg, `${F(5)}.signature.bytes`, 'abc');
  set(cfg, 'targets[1].encap.vxlan.vni', -1);
  set(cfg, 'sessions[1].target', 'nowhere');
  const { problems } = checkConfig(cfg);
  t.deepEqual(
    problems.map((p) => p.path).sort(),
    [`${F(0)}.dst_ports[1]`, `${F(1)}.src`, `${F(5)}.signature.bytes`, `${S}.sample.percent`, 'sessions[1].target', 'targets[1].encap.vxlan.vni'].sort(),
  );
});

test('a policy update is checked against the running config: unknown keys, ports, whole-section semantics', (t) => {
  const current = validateConfig(policyBase());
  const notPolicy = checkPolicyUpdate(current, { ports: [], sessions: [] });
  t.deepEqual(notPolicy.problems, [
    { path: 'ports', message: 'unknown key `ports`; expected one of translate, match, sessions, targets, security (the rest of the configuration changes with a restart)' },
  ]);
  const typo = checkPolicyUpdate(current, { sesions: [] });
  t.regex(typo.problems[0]!.message, /did you mean `sessions`/);
  const notObj = checkPolicyUpdate(current, [1]);
  t.is(notObj.problems[0]!.path, '');
  const badPort = checkPolicyUpdate(current, { sessions: [{ id: 1, sources: [{ port: 'nope' }] }] });
  t.deepEqual(badPort.problems.map((p) => p.path), ['sessions[0].sources[0].port']);
  // Whole section: keys left out take their defaults (here: no sessions, no maps).
  const ok = checkPolicyUpdate(current, { match: 'first' });
  t.truthy(ok.config);
  t.is(ok.config!.sessions, undefined);
  t.deepEqual(ok.config!.translate.ipv4, []);
  t.is(ok.config!.ports.length, 4, 'the rest of the config is kept');
});

test('YAML policy problems carry their line', (t) => {
  const yaml = `ports:
  - { name: prod-in, device: "net_pcap0,rx_pcap=in.pcap", egress: prod-out }
  - { name: prod-out, device: "net_null0,no-rx=1", role: egress }
  - { name: shadow0, device: "net_null1,no-rx=1", role: shadow }
sessions:
  - id: 1
    filters:
      - protocol: tcp
        dst_ports: 80-79
`;
  const { problems } = checkConfigText(yaml, 'p.yaml');
  t.deepEqual(problems, [{ path: 'sessions[0].filters[0].dst_ports', message: '"80-79" runs backwards; expected the low port first, such as "79-80"', line: 9 }]);
});
