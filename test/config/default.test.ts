import test from 'ava';
import { defaultConfig } from '../../src/config/default.js';
import { DEMO_MAP4, DEMO_MAP6 } from '../../src/tools/gen-demo-capture.js';

test('the embedded demo config is valid, with the demo maps', (t) => {
  const config = defaultConfig({ runDir: 'run', tap: false });
  t.is(config.mode, 'inline');
  t.deepEqual(
    config.ports.map((p) => [p.name, p.role, p.device]),
    [
      ['prod-in', 'production', 'net_pcap0,rx_pcap=run/demo/demo.pcap,infinite_rx=1'],
      ['prod-out', 'egress', 'net_null0,no-rx=1'],
      ['shadow0', 'shadow', 'net_pcap1,tx_pcap=run/shadow.pcap'],
    ],
  );
  t.is(config.ports[0]?.egress, 'prod-out');
  t.deepEqual(config.translate.ipv4, DEMO_MAP4.map((m) => ({ from: `${m.from}/${m.len}`, to: `${m.to}/${m.len}` })));
  t.deepEqual(config.translate.ipv6, DEMO_MAP6.map((m) => ({ from: `${m.from}/${m.len}`, to: `${m.to}/${m.len}` })));
  t.is(config.dataplane.idle, 'adaptive');
  t.true(Object.isFrozen(config));
});

test('the demo config adds a tap shadow port only when asked (root with /dev/net/tun)', (t) => {
  const config = defaultConfig({ runDir: '/tmp/x', tap: true });
  t.deepEqual(config.ports.map((p) => p.name), ['prod-in', 'prod-out', 'shadow0', 'shadow1']);
  t.is(config.ports[3]?.device, 'net_tap0,iface=st-shadow0');
  t.is(config.ports[3]?.role, 'shadow');
  t.is(config.ports[0]?.device, 'net_pcap0,rx_pcap=/tmp/x/demo/demo.pcap,infinite_rx=1');
});
