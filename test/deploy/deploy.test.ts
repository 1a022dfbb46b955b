/**
 * deploy/ is checked, not built: no container engine or cluster exists here
 * (docs/deploy.md says so). What can be checked is checked: every file parses,
 * the configs pass the real loader, the pod and the unit ask for no privilege
 * beyond the documented list, and every image and resource they name is one
 * docs/deploy.md names.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import { validateConfig } from '../../src/config/load.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string): string => readFileSync(`${root}${p}`, 'utf8');
const DOC = read('docs/deploy.md');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const manifests = (): Obj[] => parseAllDocuments(read('deploy/kubernetes/daemonset.yaml')).map((d) => {
  if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('; '));
  return d.toJSON() as Obj;
});

test('the example /etc/shadowtap/config.yaml passes the real loader', (t) => {
  const cfg = validateConfig(parse(read('deploy/config.yaml')), { source: 'deploy/config.yaml' });
  t.is(cfg.mode, 'inline');
  t.true(cfg.dataplane.eal.hugepages, 'production example uses hugepages');
  t.is(cfg.api.host, '127.0.0.1', 'the admin API stays on loopback');
});

test('the DaemonSet: its config passes the loader, it runs on the host network with hugepages and SR-IOV VFs, unprivileged', (t) => {
  const docs = manifests();
  const kinds = docs.map((d) => d.kind);
  t.deepEqual(kinds, ['Namespace', 'ConfigMap', 'DaemonSet']);
  const cm = docs[1] as Obj;
  const cfg = validateConfig(parse(cm.data['config.yaml']), { source: 'ConfigMap shadowtap-config' });
  const ds = docs[2] as Obj;
  const pod = ds.spec.template.spec as Obj;
  t.true(pod.hostNetwork);
  t.deepEqual(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels, 'the selector selects its own pods');
  const [c] = pod.containers as Obj[];
  t.truthy(c);
  // Privileges: exactly the documented capabilities, nothing privileged.
  t.is(c!.securityContext.privileged, false);
  t.is(c!.securityContext.allowPrivilegeEscalation, false);
  t.deepEqual(c!.securityContext.capabilities.drop, ['ALL']);
  t.deepEqual([...c!.securityContext.capabilities.add].sort(), ['IPC_LOCK', 'NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_NICE', 'SYS_RAWIO']);
  // Hugepages and extended resources must be limits equal to requests.
  t.deepEqual(c!.resources.requests, c!.resources.limits);
  const hp = c!.resources.limits['hugepages-1Gi'] as string;
  t.is(Number(hp.replace('Gi', '')) * 1024, cfg.dataplane.eal.memory_mb, 'hugepages match the EAL memory');
  t.true(cfg.dataplane.eal.hugepages);
  // Scrape annotations point at the configured metrics port; probes likewise.
  const ann = ds.spec.template.metadata.annotations as Obj;
  t.is(ann['prometheus.io/scrape'], 'true');
  t.is(Number(ann['prometheus.io/port']), cfg.api.port);
  t.is(ann['prometheus.io/path'], '/metrics');
  t.is(c!.readinessProbe.httpGet.port, cfg.api.port);
  t.is(c!.livenessProbe.httpGet.port, cfg.api.port);
  // The config file the container reads is the ConfigMap's.
  const cfgMount = (c!.volumeMounts as Obj[]).find((m) => m.name === 'config');
  t.is(`${cfgMount?.mountPath}/config.yaml`, c!.args[c!.args.indexOf('--config') + 1]);
  t.is((pod.volumes as Obj[]).find((v) => v.name === 'config')?.configMap.name, cm.metadata.name);
  // run_dir is on the persistent hostPath volume.
  t.is((c!.volumeMounts as Obj[]).find((m) => m.name === 'state')?.mountPath, cfg.run_dir);
});

test('every image and resource the manifests name is one docs/deploy.md names, and the image is built by deploy/Dockerfile', (t) => {
  const ds = manifests()[2] as Obj;
  for (const c of ds.spec.template.spec.containers as Obj[]) {
    t.true(DOC.includes(`\`${c.image}\``), `image ${c.image} is documented`);
    t.true(read('deploy/Dockerfile').includes(c.image), `deploy/Dockerfile builds ${c.image}`);
    for (const r of Object.keys(c.resources.limits)) {
      if (r === 'cpu' || r === 'memory') continue;
      t.true(DOC.includes(`\`${r}`), `resource ${r} is documented`);
    }
  }
  t.true(existsSync(`${root}deploy/Dockerfile`));
});

test('the systemd unit: runs the real CLI, stops cleanly, and asks for the documented capabilities only', (t) => {
  const unit = read('deploy/systemd/shadowtap.service');
  const sections: Record<string, Record<string, string[]>> = {};
  let cur = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) { cur = s[1]!; sections[cur] = {}; continue; }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    t.truthy(kv && cur, `not a key=value line in a section: ${line}`);
    if (!kv) continue;
    (sections[cur]![kv[1]!] ??= []).push(kv[2]!);
  }
  t.deepEqual(Object.keys(sections), ['Unit', 'Service', 'Install']);
  const svc = sections.Service!;
  const start = svc.ExecStart?.[0] ?? '';
  t.regex(start, /bin\/shadowtap\.js run --config \/etc\/shadowtap\/config\.yaml/);
  t.regex(svc.ExecStartPre?.[0] ?? '', /check-config \/etc\/shadowtap\/config\.yaml/);
  t.deepEqual(svc.KillSignal, ['SIGINT'], 'SIGINT is the supervisor\'s clean stop');
  t.deepEqual(svc.NoNewPrivileges, ['yes']);
  t.deepEqual(svc.ProtectSystem, ['strict']);
  const caps = (svc.CapabilityBoundingSet?.[0] ?? '').split(/\s+/).sort();
  t.deepEqual(caps, ['CAP_DAC_OVERRIDE', 'CAP_IPC_LOCK', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_ADMIN', 'CAP_SYS_NICE', 'CAP_SYS_RAWIO']);
  for (const c of caps) t.true(DOC.includes(`\`${c}\``), `${c} is documented with its reason`);
  // The state directory the unit gives is the example config's run_dir.
  const cfg = validateConfig(parse(read('deploy/config.yaml')), { source: 'deploy/config.yaml' });
  t.is(`/var/lib/${svc.StateDirectory?.[0]}`, cfg.run_dir);
  t.true(existsSync(`${root}bin/shadowtap.js`));
});
