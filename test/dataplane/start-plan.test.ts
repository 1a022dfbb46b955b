import test from 'ava';
import { validateConfig } from '../../src/config/load.js';
import { compileStartPlan, lcoresArg } from '../../src/dataplane/start-plan.js';
import { IDLE, MODE, ROLE, UNMAPPED } from '../../src/dataplane/native-types.js';
import type { ShadowtapError } from '../../src/errors.js';

const ports = [
  { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap,infinite_rx=1', egress: 'prod-out' },
  { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
  { name: 'shadow0', device: 'net_pcap1,tx_pcap=shadow.pcap', role: 'shadow' },
];

test('vdev-only config: EAL args and plan', (t) => {
  const config = validateConfig({
    ports,
    translate: {
      ipv4: [{ from: '10.0.0.0/16', to: '10.99.0.0/16' }, { from: '192.168.1.0/24', to: '172.16.9.0/24' }],
      ipv6: [{ from: 'fd00::/16', to: 'fd99::/16' }],
      unmapped: 'mirror',
    },
    shadow: { mac: { src: '02:aa:bb:cc:dd:01', dst: '02:AA:BB:CC:DD:02' } },
  });
  const { ealArgs, native: startPlan } = compileStartPlan(config, { filePrefix: 'st-test-1', nproc: 2 });
  t.deepEqual(ealArgs, [
    'shadowtap',
    '--lcores', '0@(0-1),1@1',
    '--no-huge', '-m', '512',
    '--file-prefix', 'st-test-1',
    '--no-pci',
    '--vdev', 'net_pcap0,rx_pcap=in.pcap,infinite_rx=1',
    '--vdev', 'net_null0,no-rx=1',
    '--vdev', 'net_pcap1,tx_pcap=shadow.pcap',
    '--log-level', 'notice',
  ]);
  t.is(startPlan.mode, MODE.inline);
  t.is(startPlan.unmapped, UNMAPPED.mirror);
  t.is(startPlan.idle, IDLE.adaptive);
  t.is(startPlan.burst, 32);
  t.deepEqual(startPlan.workerLcores, [1]);
  t.deepEqual(startPlan.ports, [
    { name: 'prod-in', device: 'net_pcap0', role: ROLE.production, egress: 1, rxDesc: 1024, txDesc: 1024, promiscuous: true, rxPps: 0 },
    { name: 'prod-out', device: 'net_null0', role: ROLE.egress, egress: -1, rxDesc: 1024, txDesc: 1024, promiscuous: true, rxPps: 0 },
    { name: 'shadow0', device: 'net_pcap1', role: ROLE.shadow, egress: -1, rxDesc: 1024, txDesc: 1024, promiscuous: true, rxPps: 0 },
  ]);
  t.deepEqual(startPlan.shadowPorts, [2]);
  t.true(startPlan.shadowSrcMac instanceof Uint8Array);
  t.deepEqual(Array.from(startPlan.shadowSrcMac), [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01]);
  t.deepEqual(Array.from(startPlan.shadowDstMac), [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02]);
  t.deepEqual(startPlan.map4, [
    { from: 0x0a000000, to: 0x0a630000, len: 16 },
    { from: 0xc0a80100, to: 0xac100900, len: 24 },
  ]);
  t.is(startPlan.map6.length, 1);
  t.true(startPlan.map6[0]!.from instanceof Uint8Array);
  t.deepEqual(Array.from(startPlan.map6[0]!.from), [0xfd, 0, ...new Array(14).fill(0)]);
  t.deepEqual(Array.from(startPlan.map6[0]!.to), [0xfd, 0x99, ...new Array(14).fill(0)]);
  t.is(startPlan.map6[0]!.len, 16);
  t.is(startPlan.prodPoolMbufs, 0);
  t.is(startPlan.shadowPoolMbufs, 0);
});

test('PCI ports: -a per device with devargs, no --no-pci, lower-case ethdev name; hugepages; extra args last', (t) => {
  const config = validateConfig({
    mode: 'tap',
    dataplane: {
      workers: 2,
      cores: [2, 3],
      burst: 64,
      idle: 'busy',
      eal: { hugepages: true, memory_mb: 1024, log_level: 'debug', extra_args: ['--legacy-mem', '--in-memory'] },
      mempool: { production_mbufs: 16383, shadow_mbufs: 8191 },
    },
    ports: [
      { name: 'tap-in', device: '0000:3B:00.0,rxq_cqe_comp_en=0', rx_desc: 2048, tx_desc: 512, promiscuous: false },
      { name: 'shadow0', device: '0000:3b:00.1', role: 'shadow' },
      { name: 'shadow1', device: 'net_tap0,iface=st0', role: 'shadow' },
    ],
  });
  const { ealArgs, native: startPlan } = compileStartPlan(config, { filePrefix: 'p', nproc: 4, programName: 'st' });
  t.deepEqual(ealArgs, [
    'st',
    '--lcores', '0@(0-3),1@2,2@3',
    '-m', '1024',
    '--file-prefix', 'p',
    '-a', '0000:3B:00.0,rxq_cqe_comp_en=0',
    '-a', '0000:3b:00.1',
    '--vdev', 'net_tap0,iface=st0',
    '--log-level', 'debug',
    '--legacy-mem', '--in-memory',
  ]);
  t.is(startPlan.mode, MODE.tap);
  t.is(startPlan.idle, IDLE.busy);
  t.is(startPlan.burst, 64);
  t.deepEqual(startPlan.workerLcores, [1, 2]);
  t.is(startPlan.ports[0]!.device, '0000:3b:00.0');
  t.is(startPlan.ports[0]!.egress, -1);
  t.is(startPlan.ports[0]!.rxDesc, 2048);
  t.is(startPlan.ports[0]!.txDesc, 512);
  t.is(startPlan.ports[0]!.promiscuous, false);
  t.deepEqual(startPlan.shadowPorts, [1, 2]);
  t.is(startPlan.prodPoolMbufs, 16383);
  t.is(startPlan.shadowPoolMbufs, 8191);
});

test('default cores: workers 1..W wrap onto the host CPUs', (t) => {
  t.is(lcoresArg([1], 2), '0@(0-1),1@1');
  t.is(lcoresArg([0], 1), '0@0,1@0');
  const config = validateConfig({ dataplane: { workers: 3 }, ports });
  t.deepEqual(compileStartPlan(config, { filePrefix: 'x', nproc: 2 }).ealArgs.slice(1, 3), ['--lcores', '0@(0-1),1@1,2@0,3@1']);
  t.deepEqual(compileStartPlan(config, { filePrefix: 'x', nproc: 8 }).ealArgs.slice(1, 3), ['--lcores', '0@(0-7),1@1,2@2,3@3']);
  t.deepEqual(compileStartPlan(config, { filePrefix: 'x', nproc: 8 }).native.workerLcores, [1, 2, 3]);
});

test('a configured CPU that does not exist here is ST_ERR_PLAN_INVALID naming the field', (t) => {
  const config = validateConfig({ dataplane: { workers: 2, cores: [1, 5] }, ports });
  let err: ShadowtapError | undefined;
  try {
    compileStartPlan(config, { filePrefix: 'x', nproc: 4 });
  } catch (e) {
    err = e as ShadowtapError;
  }
  t.is(err?.code, 'ST_ERR_PLAN_INVALID');
  t.is(err?.field, 'dataplane.cores[1]');
  t.regex(err?.message ?? '', /CPU 5 does not exist on this host \(CPUs 0-3\)/);
});

test('a file prefix that could escape /var/run/dpdk is refused', (t) => {
  const config = validateConfig({ ports });
  for (const bad of ['', '../x', 'a/b', 'a b']) {
    let code: string | undefined;
    try {
      compileStartPlan(config, { filePrefix: bad, nproc: 2 });
    } catch (e) {
      code = (e as ShadowtapError).code;
    }
    t.is(code, 'ST_ERR_PLAN_INVALID', bad);
  }
});
