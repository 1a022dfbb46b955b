import test from 'ava';
import { checkConfig, checkConfigText, parseConfig, validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { set } from '../helpers/policy-config.js';

type Obj = Record<string, unknown>;

/** A small valid config; every case below breaks exactly one thing in it. */
function base(): Obj {
  return {
    mode: 'inline',
    ports: [
      { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap,infinite_rx=1', role: 'production', egress: 'prod-out' },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
      { name: 'shadow0', device: 'net_pcap1,tx_pcap=shadow.pcap', role: 'shadow' },
    ],
    translate: {
      ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }],
      ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
    },
  };
}

const port = (name: string, device: string, role: string, extra: Obj = {}) => ({ name, device, role, ...extra });

interface Case {
  title: string;
  edit: (c: Obj) => void;
  path: string;
  message: string | RegExp;
}

const cases: Case[] = [
  // ---- top level
  { title: 'mode not an enum value', edit: (c) => set(c, 'mode', 'bridge'), path: 'mode', message: 'expected one of inline, tap, got "bridge"' },
  { title: 'unknown top-level key', edit: (c) => set(c, 'modes', 'tap'), path: 'modes', message: /^unknown key `modes` \(did you mean `mode`\?\); expected one of mode, dataplane, ports/ },
  { title: 'run_dir empty', edit: (c) => set(c, 'run_dir', ''), path: 'run_dir', message: 'expected a directory path, got ""' },
  { title: 'run_dir not a string', edit: (c) => set(c, 'run_dir', 5), path: 'run_dir', message: 'expected a directory path, got 5' },
  { title: 'log.level unknown', edit: (c) => set(c, 'log.level', 'loud'), path: 'log.level', message: 'expected one of fatal, error, warn, info, debug, trace, silent, got "loud"' },
  { title: 'log unknown key', edit: (c) => set(c, 'log.format', 'json'), path: 'log.format', message: /^unknown key `log.format`; expected one of level$/ },
  // ---- dataplane
  { title: 'dataplane not a mapping', edit: (c) => set(c, 'dataplane', 3), path: 'dataplane', message: /^expected a mapping with keys workers, cores, burst, idle, eal, mempool, got 3$/ },
  { title: 'workers 0', edit: (c) => set(c, 'dataplane.workers', 0), path: 'dataplane.workers', message: 'expected an integer from 1 to 16, got 0' },
  { title: 'workers 17', edit: (c) => set(c, 'dataplane.workers', 17), path: 'dataplane.workers', message: 'expected an integer from 1 to 16, got 17' },
  { title: 'workers fractional', edit: (c) => set(c, 'dataplane.workers', 1.5), path: 'dataplane.workers', message: 'expected an integer from 1 to 16, got 1.5' },
  { title: 'workers a string', edit: (c) => set(c, 'dataplane.workers', '2'), path: 'dataplane.workers', message: 'expected an integer from 1 to 16, got "2"' },
  { title: 'cores not a list', edit: (c) => set(c, 'dataplane.cores', '1'), path: 'dataplane.cores', message: 'expected a list of up to 16 CPU ids, got "1"' },
  { title: 'cores negative', edit: (c) => set(c, 'dataplane.cores', [-1]), path: 'dataplane.cores[0]', message: 'expected a CPU id from 0 to 1023, got -1' },
  { title: 'cores too large', edit: (c) => set(c, 'dataplane.cores', [1024]), path: 'dataplane.cores[0]', message: 'expected a CPU id from 0 to 1023, got 1024' },
  { title: 'cores count differs from workers', edit: (c) => set(c, 'dataplane', { workers: 2, cores: [1] }), path: 'dataplane.cores', message: '1 CPU id for 2 workers; expected one CPU id per worker, or [] for automatic placement' },
  { title: 'cores duplicated', edit: (c) => set(c, 'dataplane', { workers: 2, cores: [1, 1] }), path: 'dataplane.cores[1]', message: 'CPU 1 is listed twice; expected a distinct CPU per worker' },
  { title: 'burst 0', edit: (c) => set(c, 'dataplane.burst', 0), path: 'dataplane.burst', message: 'expected an integer from 1 to 64, got 0' },
  { title: 'burst 65', edit: (c) => set(c, 'dataplane.burst', 65), path: 'dataplane.burst', message: 'expected an integer from 1 to 64, got 65' },
  { title: 'idle unknown', edit: (c) => set(c, 'dataplane.idle', 'lazy'), path: 'dataplane.idle', message: 'expected one of busy, adaptive, got "lazy"' },
  { title: 'dataplane unknown key', edit: (c) => set(c, 'dataplane.worker', 2), path: 'dataplane.worker', message: /^unknown key `dataplane.worker` \(did you mean `workers`\?\)/ },
  { title: 'eal.hugepages not boolean', edit: (c) => set(c, 'dataplane.eal.hugepages', 'yes'), path: 'dataplane.eal.hugepages', message: 'expected true or false, got "yes"' },
  { title: 'eal.memory_mb too small', edit: (c) => set(c, 'dataplane.eal.memory_mb', 10), path: 'dataplane.eal.memory_mb', message: 'expected an integer from 64 to 1048576, got 10' },
  { title: 'eal.log_level unknown', edit: (c) => set(c, 'dataplane.eal.log_level', 'verbose'), path: 'dataplane.eal.log_level', message: /^expected one of emergency, alert, critical, error, warning, notice, info, debug, got "verbose"$/ },
  { title: 'eal.extra_args not a list', edit: (c) => set(c, 'dataplane.eal.extra_args', '--foo'), path: 'dataplane.eal.extra_args', message: 'expected a list of strings, got "--foo"' },
  { title: 'eal.extra_args item not a string', edit: (c) => set(c, 'dataplane.eal.extra_args', [1]), path: 'dataplane.eal.extra_args[0]', message: 'expected a string, got 1' },
  { title: 'eal unknown key', edit: (c) => set(c, 'dataplane.eal.huge', true), path: 'dataplane.eal.huge', message: /^unknown key `dataplane.eal.huge`/ },
  { title: 'mempool.production_mbufs negative', edit: (c) => set(c, 'dataplane.mempool.production_mbufs', -1), path: 'dataplane.mempool.production_mbufs', message: 'expected an integer from 0 to 16777216, got -1' },
  { title: 'mempool.shadow_mbufs not a number', edit: (c) => set(c, 'dataplane.mempool.shadow_mbufs', 'many'), path: 'dataplane.mempool.shadow_mbufs', message: 'expected an integer from 0 to 16777216, got "many"' },
  { title: 'mempool unknown key', edit: (c) => set(c, 'dataplane.mempool.mbufs', 1), path: 'dataplane.mempool.mbufs', message: /^unknown key `dataplane.mempool.mbufs`/ },
  // ---- ports: schema
  { title: 'ports missing', edit: (c) => set(c, 'ports', undefined), path: 'ports', message: 'missing; expected a list of 1 to 16 ports' },
  { title: 'ports empty', edit: (c) => set(c, 'ports', []), path: 'ports', message: 'expected a list of 1 to 16 ports, got a list of 0 items' },
  {
    title: 'too many ports',
    edit: (c) => set(c, 'ports', Array.from({ length: 17 }, (_, i) => port(`p${i}`, `net_null${i}`, 'shadow'))),
    path: 'ports',
    message: 'expected a list of 1 to 16 ports, got a list of 17 items',
  },
  { title: 'port not a mapping', edit: (c) => set(c, 'ports[3]', 'shadow1'), path: 'ports[3]', message: /^expected a mapping with keys name, device, role, egress, promiscuous, rx_desc, tx_desc, rx_pps, capture, got "shadow1"$/ },
  { title: 'port name missing', edit: (c) => set(c, 'ports[2].name', undefined), path: 'ports[2].name', message: /^missing; expected a name of 1 to 32 characters/ },
  { title: 'port name upper case', edit: (c) => set(c, 'ports[2].name', 'Shadow0'), path: 'ports[2].name', message: /^expected a name of 1 to 32 characters: lower-case letters, digits, "_" or "-", starting with a letter or digit, got "Shadow0"$/ },
  { title: 'port name too long', edit: (c) => set(c, 'ports[2].name', 'a'.repeat(33)), path: 'ports[2].name', message: /^expected a name of 1 to 32 characters/ },
  { title: 'port name starts with -', edit: (c) => set(c, 'ports[2].name', '-x'), path: 'ports[2].name', message: /^expected a name of 1 to 32 characters/ },
  { title: 'device missing', edit: (c) => set(c, 'ports[1].device', undefined), path: 'ports[1].device', message: /^missing; expected a PCI address such as "0000:3b:00.0" or a vdev spec/ },
  { title: 'device empty', edit: (c) => set(c, 'ports[1].device', ''), path: 'ports[1].device', message: /^expected a PCI address such as "0000:3b:00.0" or a vdev spec such as "net_pcap0,rx_pcap=FILE", got ""$/ },
  { title: 'device too long', edit: (c) => set(c, 'ports[1].device', `net_null0,${'x'.repeat(600)}`), path: 'ports[1].device', message: /^expected a PCI address/ },
  { title: 'device a kernel interface', edit: (c) => set(c, 'ports[1].device', 'eth0'), path: 'ports[1].device', message: /^"eth0" is neither a PCI address nor a supported vdev; expected a PCI address such as "0000:3b:00.0"/ },
  { title: 'device misspelt vdev', edit: (c) => set(c, 'ports[1].device', 'net_nul0,no-rx=1'), path: 'ports[1].device', message: /^"net_nul0,no-rx=1" is neither a PCI address nor a supported vdev/ },
  { title: 'device vdev without number', edit: (c) => set(c, 'ports[1].device', 'net_null,no-rx=1'), path: 'ports[1].device', message: /is neither a PCI address nor a supported vdev/ },
  { title: 'device short PCI address', edit: (c) => set(c, 'ports[1].device', '3b:00.0'), path: 'ports[1].device', message: /^"3b:00.0" is neither a PCI address/ },
  { title: 'device PCI function 8', edit: (c) => set(c, 'ports[1].device', '0000:3b:00.8'), path: 'ports[1].device', message: /is neither a PCI address/ },
  { title: 'role unknown', edit: (c) => set(c, 'ports[1].role', 'prodution'), path: 'ports[1].role', message: 'expected one of production, egress, shadow, got "prodution"' },
  { title: 'promiscuous not boolean', edit: (c) => set(c, 'ports[1].promiscuous', 'on'), path: 'ports[1].promiscuous', message: 'expected true or false, got "on"' },
  { title: 'rx_desc too small', edit: (c) => set(c, 'ports[1].rx_desc', 10), path: 'ports[1].rx_desc', message: 'expected an integer from 64 to 16384, got 10' },
  { title: 'tx_desc too large', edit: (c) => set(c, 'ports[1].tx_desc', 100000), path: 'ports[1].tx_desc', message: 'expected an integer from 64 to 16384, got 100000' },
  { title: 'egress bad syntax', edit: (c) => set(c, 'ports[0].egress', 'Prod Out'), path: 'ports[0].egress', message: 'expected a port name, got "Prod Out"' },
  { title: 'port unknown key', edit: (c) => set(c, 'ports[0].egres', 'prod-out'), path: 'ports[0].egres', message: /^unknown key `ports\[0\]\.egres` \(did you mean `egress`\?\); expected one of name, device, role, egress, promiscuous, rx_desc, tx_desc, rx_pps, capture$/ },
  // ---- ports: semantics
  { title: 'egress names an unknown port', edit: (c) => set(c, 'ports[0].egress', 'prod-ot'), path: 'ports[0].egress', message: 'unknown port "prod-ot"; expected one of prod-in, prod-out, shadow0' },
  { title: 'egress names a shadow port', edit: (c) => set(c, 'ports[0].egress', 'shadow0'), path: 'ports[0].egress', message: /^"shadow0" is a shadow port; expected a production or egress port/ },
  { title: 'inline production port without egress', edit: (c) => set(c, 'ports[0].egress', undefined), path: 'ports[0].egress', message: "missing; inline mode forwards every production port's traffic, expected the name of its egress port (one of prod-out)" },
  { title: 'tap mode with egress', edit: (c) => set(c, 'mode', 'tap'), path: 'ports[0].egress', message: 'not allowed in tap mode (tap mode forwards nothing); remove it, or set mode: inline' },
  { title: 'shadow port with egress', edit: (c) => set(c, 'ports[2].egress', 'prod-out'), path: 'ports[2].egress', message: 'not allowed on a shadow port; shadow traffic is never forwarded to production' },
  { title: 'duplicate port name', edit: (c) => set(c, 'ports[2].name', 'prod-in'), path: 'ports[2].name', message: 'duplicate port name "prod-in" (also ports[0].name); expected unique names' },
  { title: 'duplicate vdev', edit: (c) => set(c, 'ports[2].device', 'net_null0,no-rx=1'), path: 'ports[2].device', message: /^device "net_null0" is already used by ports\[1\]; expected each port on its own device/ },
  {
    title: 'duplicate PCI device (case-insensitive)',
    edit: (c) => {
      set(c, 'ports[1].device', '0000:3b:00.0');
      set(c, 'ports[2].device', '0000:3B:00.0,txq_inline=0');
    },
    path: 'ports[2].device',
    message: /^device "0000:3b:00.0" is already used by ports\[1\]/,
  },
  { title: 'no production port', edit: (c) => set(c, 'ports', [port('out', 'net_null0', 'egress'), port('s', 'net_null1', 'shadow')]), path: 'ports', message: 'no production port; expected at least one port with role: production' },
  { title: 'no shadow port', edit: (c) => set(c, 'ports', [port('in', 'net_null0', 'production', { egress: 'out' }), port('out', 'net_null1', 'egress')]), path: 'ports', message: 'no shadow port; expected at least one port with role: shadow' },
  // ---- shadow
  { title: 'shadow.mac.src bad syntax', edit: (c) => set(c, 'shadow.mac.src', '02:53:48:00:00'), path: 'shadow.mac.src', message: 'expected a unicast MAC address such as "02:53:48:00:00:01", got "02:53:48:00:00"' },
  { title: 'shadow.mac.dst multicast', edit: (c) => set(c, 'shadow.mac.dst', '01:00:5e:00:00:01'), path: 'shadow.mac.dst', message: /^"01:00:5e:00:00:01" is a multicast\/broadcast address; expected a unicast MAC/ },
  { title: 'shadow.mac.dst broadcast', edit: (c) => set(c, 'shadow.mac.dst', 'ff:ff:ff:ff:ff:ff'), path: 'shadow.mac.dst', message: /is a multicast\/broadcast address/ },
  { title: 'shadow.mac.src all zero', edit: (c) => set(c, 'shadow.mac.src', '00:00:00:00:00:00'), path: 'shadow.mac.src', message: /^"00:00:00:00:00:00" is the all-zero address/ },
  { title: 'shadow unknown key', edit: (c) => set(c, 'shadow.vlan', 10), path: 'shadow.vlan', message: /^unknown key `shadow.vlan`; expected one of mac$/ },
  { title: 'shadow.mac unknown key', edit: (c) => set(c, 'shadow.mac.source', '02:00:00:00:00:01'), path: 'shadow.mac.source', message: /^unknown key `shadow.mac.source`/ },
  // ---- translate
  { title: 'ipv4 from host bits set', edit: (c) => set(c, 'translate.ipv4[0].from', '10.0.0.1/16'), path: 'translate.ipv4[0].from', message: '"10.0.0.1/16" has host bits set; expected a network address such as 10.0.0.0/16' },
  { title: 'ipv4 to host bits set', edit: (c) => set(c, 'translate.ipv4[0].to', '10.99.1.0/16'), path: 'translate.ipv4[0].to', message: '"10.99.1.0/16" has host bits set; expected a network address such as 10.99.0.0/16' },
  { title: 'ipv4 not a prefix', edit: (c) => set(c, 'translate.ipv4[0].from', '10.0.0/16'), path: 'translate.ipv4[0].from', message: '"10.0.0/16" is not an IPv4 prefix; expected an address and a prefix length such as 10.0.0.0/16' },
  { title: 'ipv4 without length', edit: (c) => set(c, 'translate.ipv4[0].from', '10.0.0.0'), path: 'translate.ipv4[0].from', message: /is not an IPv4 prefix/ },
  { title: 'ipv4 length 33', edit: (c) => set(c, 'translate.ipv4[0].to', '10.99.0.0/33'), path: 'translate.ipv4[0].to', message: /^"10.99.0.0\/33" is not an IPv4 prefix/ },
  { title: 'ipv4 given an IPv6 prefix', edit: (c) => set(c, 'translate.ipv4[0].to', 'fd99::/16'), path: 'translate.ipv4[0].to', message: /^"fd99::\/16" is not an IPv4 prefix/ },
  { title: 'ipv4 lengths differ', edit: (c) => set(c, 'translate.ipv4[0].to', '10.99.0.0/24'), path: 'translate.ipv4[0].to', message: "prefix length /24 differs from from's /16; expected the same length (/16) so every address maps one to one" },
  {
    title: 'ipv4 the same from prefix twice',
    edit: (c) => set(c, 'translate.ipv4', [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '10.0.0.0/16', to: '10.98.0.0/16' }]),
    path: 'translate.ipv4[1].from',
    message: '10.0.0.0/16 is already the production side of translate.ipv4[0] (10.0.0.0/16 -> 10.99.0.0/16); expected each production prefix once (nested prefixes are fine: the longest wins)',
  },
  { title: 'ipv4 map missing to', edit: (c) => set(c, 'translate.ipv4[0].to', undefined), path: 'translate.ipv4[0].to', message: 'missing; expected an IPv4 prefix such as 10.0.0.0/16' },
  { title: 'ipv4 map unknown key', edit: (c) => set(c, 'translate.ipv4[0].len', 16), path: 'translate.ipv4[0].len', message: /^unknown key `translate.ipv4\[0\].len`; expected one of from, to, allow$/ },
  { title: 'ipv4 not a list', edit: (c) => set(c, 'translate.ipv4', '10.0.0.0/16'), path: 'translate.ipv4', message: 'expected a list of up to 256 {from, to} prefix pairs, got "10.0.0.0/16"' },
  { title: 'ipv6 host bits set', edit: (c) => set(c, 'translate.ipv6[0].from', 'fd00::1/16'), path: 'translate.ipv6[0].from', message: '"fd00::1/16" has host bits set; expected a network address such as fd00::/16' },
  { title: 'ipv6 not a prefix', edit: (c) => set(c, 'translate.ipv6[0].from', 'fd00:::/16'), path: 'translate.ipv6[0].from', message: '"fd00:::/16" is not an IPv6 prefix; expected an address and a prefix length such as fd00::/16' },
  { title: 'ipv6 length 129', edit: (c) => set(c, 'translate.ipv6[0].from', 'fd00::/129'), path: 'translate.ipv6[0].from', message: /is not an IPv6 prefix/ },
  { title: 'ipv6 lengths differ', edit: (c) => set(c, 'translate.ipv6[0].to', 'fd99::/32'), path: 'translate.ipv6[0].to', message: "prefix length /32 differs from from's /16; expected the same length (/16) so every address maps one to one" },
  {
    title: 'ipv6 nested from, shadow range inside the outer map\'s',
    edit: (c) => set(c, 'translate.ipv6', [{ from: 'fd00::/16', to: 'fd99::/16' }, { from: 'fd00:1::/32', to: 'fd99:7::/32' }]),
    path: 'translate.ipv6[1].to',
    message: 'shadow range fd99:7::/32 overlaps the shadow range of translate.ipv6[0] (fd00::/16 -> fd99::/16): two production addresses would become one shadow address; expected distinct shadow ranges (or allow: [colliding] on the map to accept it)',
  },
  { title: 'unmapped unknown', edit: (c) => set(c, 'translate.unmapped', 'keep'), path: 'translate.unmapped', message: 'expected one of drop, mirror, count, got "keep"' },
  { title: 'translate unknown key', edit: (c) => set(c, 'translate.ip4', []), path: 'translate.ip4', message: /^unknown key `translate.ip4` \(did you mean `ipv4`\?\)/ },
  // ---- api
  { title: 'api.host not an address', edit: (c) => set(c, 'api.host', 'bad host'), path: 'api.host', message: '"bad host" is not an IP address or host name; expected e.g. 127.0.0.1' },
  { title: 'api.host empty', edit: (c) => set(c, 'api.host', ''), path: 'api.host', message: 'expected an IP address or host name, got ""' },
  { title: 'api.port too large', edit: (c) => set(c, 'api.port', 70000), path: 'api.port', message: 'expected an integer from 0 to 65535, got 70000' },
  { title: 'api.port negative', edit: (c) => set(c, 'api.port', -1), path: 'api.port', message: 'expected an integer from 0 to 65535, got -1' },
  { title: 'api unknown key', edit: (c) => set(c, 'api.bind', '0.0.0.0'), path: 'api.bind', message: /^unknown key `api.bind`; expected one of host, port, tokens_file, tokens_env, open_probes, tls, body_limit, json_depth, rate_limit$/ },
  { title: 'api rate limit', edit: (c) => set(c, 'api.rate_limit.per_second', -1), path: 'api.rate_limit.per_second', message: /expected an integer from 0 to 100000/ },
  { title: 'api tls without key', edit: (c) => set(c, 'api.tls', { cert: 'a.pem' }), path: 'api.tls.key', message: /./ },
  { title: 'api tokens_env name', edit: (c) => set(c, 'api.tokens_env', '1-bad'), path: 'api.tokens_env', message: /an environment variable name/ },
  { title: 'api open_probes', edit: (c) => set(c, 'api.open_probes', 'everyone'), path: 'api.open_probes', message: /one of loopback, anywhere/ },
];

for (const c of cases) {
  test(`invalid config: ${c.title}`, (t) => {
    const cfg = base();
    c.edit(cfg);
    const { config, problems } = checkConfig(cfg);
    t.is(config, undefined);
    const at = problems.filter((p) => p.path === c.path);
    t.is(at.length, 1, `one problem at ${c.path}; got ${JSON.stringify(problems)}`);
    if (typeof c.message === 'string') t.is(at[0]?.message, c.message);
    else t.regex(at[0]?.message ?? '', c.message);
    // The rest of the config is valid: nothing else is reported.
    t.deepEqual(problems.map((p) => p.path), [c.path], JSON.stringify(problems));
  });
}

test('the base config of the table is valid', (t) => {
  t.deepEqual(checkConfig(base()).problems, []);
});

test('every problem is reported at once, as a ConfigError with paths', (t) => {
  const cfg = base();
  set(cfg, 'mode', 'bridge');
  set(cfg, 'ports[0].egres', 'x');
  set(cfg, 'translate.ipv4[0].from', '10.0.0.1/16');
  set(cfg, 'api.port', 99999);
  // @fastify/error instances are Error subclasses but not "native" errors, which t.throws insists on.
  let err: ConfigError | undefined;
  try {
    validateConfig(cfg, { source: 'site.yaml' });
  } catch (e) {
    err = e as ConfigError;
  }
  t.true(err instanceof ConfigError);
  t.true(err instanceof Error);
  t.is(err?.code, 'ST_ERR_CONFIG_INVALID');
  t.is(err?.statusCode, 400);
  t.deepEqual(err?.problems.map((p) => p.path).sort(), ['api.port', 'mode', 'ports[0].egres', 'translate.ipv4[0].from']);
  t.regex(err?.message ?? '', /^site.yaml is invalid \(4 problems\):\n/);
  t.regex(err?.message ?? '', /translate.ipv4\[0\].from: "10.0.0.1\/16" has host bits set/);
});

test('defaults are filled and the result is deeply frozen', (t) => {
  const config = validateConfig(base());
  t.is(config.dataplane.workers, 1);
  t.deepEqual(config.dataplane.cores, []);
  t.is(config.dataplane.burst, 32);
  t.is(config.dataplane.idle, 'adaptive');
  t.deepEqual(config.dataplane.eal, { hugepages: false, memory_mb: 512, log_level: 'notice', extra_args: [] });
  t.deepEqual(config.dataplane.mempool, { production_mbufs: 0, shadow_mbufs: 0 });
  t.deepEqual(config.shadow.mac, { src: '02:53:48:00:00:01', dst: '02:53:48:00:00:02' });
  t.is(config.translate.unmapped, 'drop');
  t.deepEqual(config.api, {
    host: '127.0.0.1',
    port: 9465,
    tokens_env: 'SHADOWTAP_API_TOKENS',
    open_probes: 'loopback',
    body_limit: 1048576,
    json_depth: 64,
    rate_limit: { per_second: 20, burst: 60 },
  });
  t.is(config.run_dir, 'run');
  t.is(config.log.level, 'info');
  t.is(config.ports[1]?.promiscuous, true);
  t.is(config.ports[1]?.rx_desc, 1024);
  t.is(config.ports[1]?.egress, undefined);
  t.true(Object.isFrozen(config));
  t.true(Object.isFrozen(config.ports));
  t.true(Object.isFrozen(config.ports[0]));
  t.true(Object.isFrozen(config.dataplane.eal.extra_args));
  t.throws(() => {
    (config.ports[0] as { name: string }).name = 'x';
  });
});

test('the input object is not modified', (t) => {
  const cfg = base();
  const before = JSON.stringify(cfg);
  validateConfig(cfg);
  t.is(JSON.stringify(cfg), before);
});

test('tap mode needs no egress', (t) => {
  const cfg = base();
  set(cfg, 'mode', 'tap');
  set(cfg, 'ports[0].egress', undefined);
  t.deepEqual(checkConfig(cfg).problems, []);
});

test('a non-mapping document is one problem at the root', (t) => {
  const { problems } = checkConfig(['ports']);
  t.is(problems.length, 1);
  t.is(problems[0]?.path, '');
  t.regex(problems[0]?.message ?? '', /^expected a mapping with keys mode, dataplane, ports/);
});

const YAML_OK = `mode: inline
dataplane:
  workers: 1
ports:
  - name: prod-in
    device: "net_pcap0,rx_pcap=fixtures/demo.pcap,infinite_rx=1"
    role: production
    egress: prod-out
  - name: prod-out
    device: "net_null0,no-rx=1"
    role: egress
  - name: shadow0
    device: "net_pcap1,tx_pcap=run/shadow.pcap"
    role: shadow
translate:
  ipv4: [{ from: 10.0.0.0/16, to: 10.99.0.0/16 }]
  ipv6: [{ from: "fd00::/16", to: "fd99::/16" }]
  unmapped: drop
`;

test('YAML: a valid file parses', (t) => {
  const config = parseConfig(YAML_OK, 'site.yaml');
  t.is(config.ports.length, 3);
  t.is(config.translate.ipv4[0]?.from, '10.0.0.0/16');
});

test('YAML: problems carry the line of the field (and of an unknown key)', (t) => {
  const text = YAML_OK.replace('    egress: prod-out', '    egres: prod-out').replace('from: 10.0.0.0/16', 'from: 10.0.0.1/16');
  const { problems } = checkConfigText(text, 'site.yaml');
  const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
  t.is(byPath['ports[0].egres']?.line, 8);
  t.is(byPath['ports[0].egress']?.line, 5, 'a missing key points at its port');
  t.is(byPath['translate.ipv4[0].from']?.line, 16);
  t.deepEqual(problems.map((p) => p.line), [...problems.map((p) => p.line)].sort((a, b) => (a ?? 0) - (b ?? 0)), 'in file order');
});

test('YAML: an empty value means "use the default"', (t) => {
  const config = parseConfig(`${YAML_OK}dataplane:\n`.replace('dataplane:\n  workers: 1\n', ''), 'site.yaml');
  t.is(config.dataplane.workers, 1);
});

test('YAML: syntax errors are problems with a line', (t) => {
  const { problems } = checkConfigText('mode: inline\nports:\n  - name: [unclosed\n', 'bad.yaml');
  t.true(problems.length >= 1);
  t.is(problems[0]?.path, '');
  t.regex(problems[0]?.message ?? '', /^YAML syntax: /);
  t.is(typeof problems[0]?.line, 'number');
});

test('YAML: duplicate keys are rejected', (t) => {
  const { problems } = checkConfigText(`mode: inline\nmode: tap\n${YAML_OK.replace('mode: inline\n', '')}`, 'dup.yaml');
  t.true(problems.some((p) => /unique/i.test(p.message)), JSON.stringify(problems));
});
