/**
 * The policy in words: filter rules, targets' encapsulation and shadow
 * security rules rendered back into the lines the compiled policy's report
 * (`PolicyReport.explain`, rule lines, warnings) shows an operator.
 */
import type { Config, DeepReadonly } from '../config/schema.js';
import { ethertypeName, hexOf, listOf, parseEthertype, parseHex, parseProtocol, protocolName } from './fields.js';

type Filter = NonNullable<Config['sessions']>[number]['filters'][number];
type Target = Config['targets'][number];

function portsText(v: number | string | readonly (number | string)[] | undefined): string {
  return listOf(v).map((p) => (typeof p === 'number' ? String(p) : p)).join(',');
}

/** A filter rule in words: "accept tcp from 10.0.0.0/8 to any port 80,443 flags syn,!ack". */
export function renderFilter(f: DeepReadonly<Filter>): string {
  const parts: string[] = [f.action];
  if (f.ethertype !== undefined) {
    const e = parseEthertype(f.ethertype);
    parts.push(`ethertype ${e.ok ? ethertypeName(e.value) : String(f.ethertype)}`);
  }
  if (f.vlan !== undefined) parts.push(f.vlan === 'untagged' ? 'untagged' : `vlan ${f.vlan}`);
  if (f.ip_version !== undefined) parts.push(`ipv${f.ip_version}`);
  if (f.protocol !== undefined) {
    const p = parseProtocol(f.protocol);
    parts.push(p.ok ? protocolName(p.value) : String(f.protocol));
  } else if (f.tcp_flags) {
    parts.push('tcp');
  }
  const hasL3 = f.src !== undefined || f.dst !== undefined || f.src_ports !== undefined || f.dst_ports !== undefined;
  if (hasL3) {
    parts.push(`from ${f.src === undefined ? 'any' : listOf(f.src).join(',')}${f.src_ports === undefined ? '' : ` port ${portsText(f.src_ports)}`}`);
    parts.push(`to ${f.dst === undefined ? 'any' : listOf(f.dst).join(',')}${f.dst_ports === undefined ? '' : ` port ${portsText(f.dst_ports)}`}`);
  }
  if (f.tcp_flags) parts.push(`flags ${[...f.tcp_flags.set, ...f.tcp_flags.unset.map((x) => `!${x}`)].join(',')}`);
  if (f.app !== undefined) parts.push(`app ${listOf(f.app).join(',')}`);
  if (f.signature) {
    const s = f.signature;
    const value = s.text !== undefined ? JSON.stringify(s.text) : s.bytes !== undefined ? `0x${hexOf(parseHexOr(s.bytes))}` : '?';
    parts.push(`signature ${s.base}+${s.offset} = ${value}${s.mask !== undefined ? ` mask 0x${hexOf(parseHexOr(s.mask))}` : ''}`);
  }
  if (parts.length === 1) parts.push('everything');
  if (f.description) parts.push(`(${f.description})`);
  return parts.join(' ');
}

function parseHexOr(t: string): Uint8Array {
  const r = parseHex(t, 'hex');
  return r.ok ? r.value : new Uint8Array();
}

export function renderEncap(t: DeepReadonly<Target>['encap']): string {
  if (t === 'none') return 'no encapsulation';
  if ('vlan' in t) return `vlan ${t.vlan.id} pcp ${t.vlan.pcp}`;
  const [kind, tun] = 'vxlan' in t ? (['vxlan', t.vxlan] as const) : (['geneve', t.geneve] as const);
  const port = tun.outer.udp_port ?? (kind === 'vxlan' ? 4789 : 6081);
  return `${kind} vni ${tun.vni} ${tun.outer.src} -> ${tun.outer.dst} udp/${port} ttl ${tun.outer.ttl}`;
}

export function renderSecurityRule(r: DeepReadonly<NonNullable<Config['security']>['rules'][number]>): string {
  const parts: string[] = [r.action];
  if (r.ip_version !== undefined) parts.push(`ipv${r.ip_version}`);
  if (r.protocol !== undefined) {
    const p = parseProtocol(r.protocol);
    parts.push(p.ok ? protocolName(p.value) : String(r.protocol));
  }
  parts.push(`from ${r.src === undefined ? 'any' : listOf(r.src).join(',')}${r.src_ports === undefined ? '' : ` port ${portsText(r.src_ports)}`}`);
  parts.push(`to ${r.dst === undefined ? 'any' : listOf(r.dst).join(',')}${r.dst_ports === undefined ? '' : ` port ${portsText(r.dst_ports)}`}`);
  if (r.description) parts.push(`(${r.description})`);
  return parts.join(' ');
}
