/**
 * A configuration that uses every policy feature, valid as it is; tests
 * break one field of it at a time.
 */
type Obj = Record<string, unknown>;

export function policyBase(): Obj {
  return {
    mode: 'inline',
    ports: [
      { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap', role: 'production', egress: 'prod-out' },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress', egress: 'prod-in' },
      { name: 'shadow0', device: 'net_pcap1,tx_pcap=s0.pcap', role: 'shadow' },
      { name: 'shadow1', device: 'net_pcap2,tx_pcap=s1.pcap', role: 'shadow' },
    ],
    translate: {
      ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }],
      ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
      hosts: [{ from: '10.0.1.5', to: '10.98.0.5' }, { from: 'fd00::5', to: 'fd98::5' }],
      macs: [{ from: '02:00:00:00:01:05', to: '02:99:00:00:01:05' }],
      unmapped: 'count',
      control_plane: { arp: true, dhcp: false, nd: true },
    },
    match: 'all',
    targets: [
      { name: 'local', ports: ['shadow0'], encap: { vlan: { id: 100, pcp: 3 } } },
      { name: 'remote', ports: ['shadow1'], encap: { vxlan: { vni: 4242, outer: { src: '192.0.2.10', dst: '192.0.2.1', dst_mac: '02:aa:00:00:00:01', ttl: 32 } } } },
      { name: 'remote6', encap: { geneve: { vni: 7, outer: { src: 'fd10::1', dst: 'fd10::2', udp_port: 6082 } } } },
      { name: 'plain', encap: 'none' },
    ],
    sessions: [
      {
        id: 10,
        priority: 5,
        description: 'web',
        sources: [{ port: 'prod-in', direction: 'rx' }, { port: 'prod-out', direction: 'both' }],
        filters: [
          { id: 'syn', action: 'accept', protocol: 'tcp', tcp_flags: { set: ['syn'], unset: ['ack'] }, dst_ports: [80, '443'] },
          { action: 'reject', ip_version: 4, src: '10.0.9.0/24' },
          { ethertype: 'arp' },
          { vlan: '100-200', protocol: 17, src: ['10.0.0.0/16', '10.1.0.0/16'], src_ports: '1024-65535', dst: '10.2.0.0/16' },
          { app: ['dns', 'ntp'] },
          { signature: { base: 'payload', offset: 0, bytes: '47 45 54', mask: 'ffffff' } },
          { signature: { base: 'l4', offset: 13, text: 'x' } },
        ],
        sample: { percent: 12.5, mode: 'packet' },
        snaplen: 128,
        rate: { pps: 1000, bps: 10000000 },
        target: 'remote',
      },
      { id: 20, target: 'local' },
    ],
    security: {
      enforce: true,
      default: 'deny',
      rules: [
        { id: 'web', action: 'allow', protocol: 'tcp', dst: '10.99.1.0/24', dst_ports: [80, 443] },
        { action: 'deny', src: ['10.99.9.0/24', '10.99.8.0/24'] },
      ],
    },
  };
}

/** Set a value at a dotted path with [i] indexes; undefined deletes it. */
export function set(obj: Obj, path: string, value: unknown): Obj {
  const segs = path.match(/[^.[\]]+/g)!.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  let cur: Record<string | number, unknown> = obj;
  for (const s of segs.slice(0, -1)) {
    if (cur[s] === undefined) cur[s] = {};
    cur = cur[s] as Record<string | number, unknown>;
  }
  const last = segs[segs.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return obj;
}
