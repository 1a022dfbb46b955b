/**
 * The capture port's configuration (docs/captures.md): every field of a
 * port's `capture` section, and the rules the schema cannot say, refused
 * with the field named and what was expected; a valid section becomes the
 * device's arguments.
 */
import test from 'ava';
import { checkConfig, validateConfig } from '../../src/config/load.js';
import { capturePathProblem, deviceSpec } from '../../src/config/capture.js';
import { compileStartPlan } from '../../src/dataplane/start-plan.js';

type Obj = Record<string, unknown>;

function base(capture: Obj = { path: 'shadow.pcapng' }, port: Obj = {}): Obj {
  return {
    run_dir: '/var/lib/shadowtap',
    ports: [
      { name: 'prod-in', device: 'net_pcap0,rx_pcap=in.pcap,infinite_rx=1', egress: 'prod-out' },
      { name: 'prod-out', device: 'net_null0,no-rx=1', role: 'egress' },
      { name: 'cap', device: 'net_stcap0', role: 'shadow', capture, ...port },
    ],
  };
}

/** Another shadow port, so that a capture port that is not one leaves the config one problem only. */
function withShadow(cfg: Obj): Obj {
  (cfg['ports'] as Obj[]).push({ name: 'shadow1', device: 'net_null1,no-rx=1', role: 'shadow' });
  return cfg;
}

const cases: { title: string; cfg: Obj; path: string; message: RegExp }[] = [
  { title: 'path missing', cfg: base({}), path: 'ports[2].capture.path', message: /expected a file path/ },
  { title: 'path empty', cfg: base({ path: '' }), path: 'ports[2].capture.path', message: /expected a file path/ },
  { title: 'path with a comma', cfg: base({ path: 'a,b.pcapng' }), path: 'ports[2].capture.path', message: /contains ","; expected a path without commas/ },
  { title: 'conversion in the directory', cfg: base({ path: 'caps-%Y/shadow.pcapng' }), path: 'ports[2].capture.path', message: /conversion in its directory; expected conversions in the file name only/ },
  { title: 'unsupported conversion', cfg: base({ path: 'shadow-%F.pcapng' }), path: 'ports[2].capture.path', message: /uses %F; expected only the conversions %Y %m %d %H %M %S %j %y %s/ },
  { title: 'trailing %', cfg: base({ path: 'shadow-%' }), path: 'ports[2].capture.path', message: /uses %; expected only/ },
  { title: 'a directory', cfg: base({ path: 'caps/' }), path: 'ports[2].capture.path', message: /names a directory/ },
  { title: 'snaplen too small', cfg: base({ path: 'a', snaplen: 10 }), path: 'ports[2].capture.snaplen', message: /expected an integer from 64 to 65000, got 10/ },
  { title: 'snaplen too large', cfg: base({ path: 'a', snaplen: 70000 }), path: 'ports[2].capture.snaplen', message: /expected an integer from 64 to 65000/ },
  { title: 'ring too small', cfg: base({ path: 'a', ring: 8 }), path: 'ports[2].capture.ring', message: /expected an integer from 64 to 65536/ },
  { title: 'size negative', cfg: base({ path: 'a', rotate: { size_mb: -1 } }), path: 'ports[2].capture.rotate.size_mb', message: /MB \(1,000,000 bytes\)/ },
  { title: 'size below 1,000 bytes', cfg: base({ path: 'a', rotate: { size_mb: 0.0001 } }), path: 'ports[2].capture.rotate.size_mb', message: /below 0\.001 \(1,000 bytes\); expected 0 \(no size limit\) or at least 0\.001/ },
  { title: 'size not a number', cfg: base({ path: 'a', rotate: { size_mb: '100M' } }), path: 'ports[2].capture.rotate.size_mb', message: /MB/ },
  { title: 'seconds fractional', cfg: base({ path: 'a', rotate: { seconds: 1.5 } }), path: 'ports[2].capture.rotate.seconds', message: /expected an integer from 0 to 2678400/ },
  { title: 'count negative', cfg: base({ path: 'a', rotate: { count: -1 } }), path: 'ports[2].capture.rotate.count', message: /expected an integer from 0 to 100000/ },
  { title: 'unknown rotate key', cfg: base({ path: 'a', rotate: { files: 3 } }), path: 'ports[2].capture.rotate.files', message: /unknown key .*expected one of size_mb, seconds, count/ },
  { title: 'unknown capture key', cfg: base({ path: 'a', size: 3 }), path: 'ports[2].capture.size', message: /unknown key .*expected one of path, snaplen, ring, rotate/ },
  { title: 'capture on a production port', cfg: withShadow(base({ path: 'a' }, { role: 'production', egress: 'prod-out' })), path: 'ports[2].role', message: /"production" on a capture port; expected shadow/ },
  { title: 'capture on another device', cfg: base({ path: 'a' }, { device: 'net_null1' }), path: 'ports[2].device', message: /"net_null1" is not a capture device; .*expected device net_stcapN/ },
  { title: 'devargs on the capture device', cfg: base({ path: 'a' }, { device: 'net_stcap0,path=x' }), path: 'ports[2].device', message: /has device arguments; expected just "net_stcap0"/ },
  { title: 'capture device without a section', cfg: base(undefined, { capture: undefined }), path: 'ports[2].capture', message: /missing; device net_stcap0 is shadowtap's capture writer/ },
];

for (const c of cases) {
  test(`invalid capture: ${c.title}`, (t) => {
    const ports = c.cfg['ports'] as Obj[];
    if (ports[2]!['capture'] === undefined) delete ports[2]!['capture'];
    const { config, problems } = checkConfig(c.cfg);
    t.is(config, undefined);
    t.deepEqual(problems.map((p) => p.path), [c.path], JSON.stringify(problems));
    t.regex(problems[0]?.message ?? '', c.message);
  });
}

test('a capture section: defaults filled, devargs built, the path taken from run_dir, the standby given the same spec', (t) => {
  const config = validateConfig(base({ path: 'shadow-%Y%m%d-%H%M%S.pcapng', rotate: { size_mb: 0.5, seconds: 3600, count: 24 } }));
  const cap = config.ports[2]!.capture!;
  t.deepEqual({ snaplen: cap.snaplen, ring: cap.ring }, { snaplen: 65000, ring: 4096 });
  const spec = 'net_stcap0,path=/var/lib/shadowtap/shadow-%Y%m%d-%H%M%S.pcapng,snaplen=65000,ring=4096,size=500000,seconds=3600,count=24';
  t.is(deviceSpec(config.ports[2]!, config.run_dir), spec);
  const plan = compileStartPlan(config, { filePrefix: 'st_capcfg', nproc: 2 });
  t.true(plan.ealArgs.includes(spec), plan.ealArgs.join(' '));
  t.is(plan.devices[2], spec, 'a standby hot-plugs the capture with its arguments');
  t.is(plan.native.ports[2]!.device, 'net_stcap0', 'the ethdev is looked up by name');
  // An absolute path is kept; no rotation: 0s.
  const abs = validateConfig(base({ path: '/srv/caps/x.pcapng' }));
  t.is(deviceSpec(abs.ports[2]!, abs.run_dir), 'net_stcap0,path=/srv/caps/x.pcapng,snaplen=65000,ring=4096,size=0,seconds=0,count=0');
});

test('capturePathProblem: %% and the supported conversions pass', (t) => {
  t.is(capturePathProblem('dir/shadow-%Y%m%d-%H%M%S-%j-%y-%s-100%%.pcapng'), undefined);
  t.is(capturePathProblem('/abs/dir.d/x'), undefined);
});
