#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Bootstrap shared by `npm start`, `npm test` and `npm run bench`.
//
// It must run on a fresh Debian 12 clone with nothing but Node/npm/cmake/g++,
// so it uses Node built-ins only. Every step checks first and does nothing
// when its output is already up to date, so a warm run takes well under a
// second plus tsc's incremental check.
//
//   node scripts/bootstrap.mjs [--for=start|test|bench] [--force] [--quiet]

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const purpose = (args.find((a) => a.startsWith('--for=')) ?? '--for=start').slice(6);
const force = args.includes('--force');
const quiet = args.includes('--quiet');

if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: node scripts/bootstrap.mjs [--for=start|test|bench] [--force] [--quiet]

Makes this checkout runnable, doing only what is missing or stale:
  1. Debian packages: libdpdk-dev dpdk-dev pkg-config (+ tshark, clang
     with libclang-rt-14-dev for the fuzz targets, chromium for the
     dashboard's browser tests and frr for the routing tests, for tests;
     + openvswitch-switch-dpdk for benchmarks); installed with apt-get when
     running as root, otherwise the exact command to run is printed.
  2. npm ci, when node_modules is missing or package-lock.json changed.
  3. The native addon (cmake-js, node-api-headers; no download).
     --for=test also builds the native tests with AddressSanitizer and
     UndefinedBehaviorSanitizer in build/sanitize (docs/testing.md).
  4. TypeScript (tsc, incremental).`);
  process.exit(0);
}

const PACKAGES = {
  start: ['pkg-config', 'libdpdk-dev', 'dpdk-dev'],
  // clang + libclang-rt-14-dev (libFuzzer, ASan, UBSan runtimes): native/fuzz;
  // chromium: the dashboard's browser tests (driven by playwright-core, which downloads no browser);
  // frr: real BGP/OSPF daemons for test/dataplane/routing-frr.test.ts
  test: ['pkg-config', 'libdpdk-dev', 'dpdk-dev', 'tshark', 'clang', 'libclang-rt-14-dev', 'chromium', 'frr'],
  bench: ['pkg-config', 'libdpdk-dev', 'dpdk-dev', 'tshark', 'openvswitch-switch-dpdk'],
};
const DPDK_SERIES = '22.11';

const t0 = Date.now();
function step(msg) {
  if (!quiet) console.log(`[bootstrap] ${msg}`);
}
function fail(msg) {
  console.error(`[bootstrap] error: ${msg}`);
  process.exit(1);
}
function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) fail(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) fail(`\`${cmd} ${argv.join(' ')}\` exited with ${r.status ?? r.signal}`);
  return r;
}
function capture(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8' });
  return { ok: !r.error && r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}

// ---- 1. system packages ---------------------------------------------------
function missingPackages(pkgs) {
  return pkgs.filter((p) => {
    const r = capture('dpkg-query', ['-W', '-f=${Status}', p]);
    return !(r.ok && r.out.includes('install ok installed'));
  });
}

function ensurePackages() {
  const wanted = PACKAGES[purpose];
  if (!wanted) fail(`--for=${purpose}: expected one of ${Object.keys(PACKAGES).join(', ')}`);
  if (!existsSync('/usr/bin/dpkg-query')) {
    // Not Debian: we cannot check by package; insist on pkg-config finding DPDK.
    if (!capture('pkg-config', ['--exists', 'libdpdk']).ok) {
      fail(`DPDK ${DPDK_SERIES} development files not found by pkg-config (libdpdk). ` +
        'Install DPDK 22.11 LTS and its pkg-config file, then run again.');
    }
    return;
  }
  const missing = missingPackages(wanted);
  if (missing.length > 0) {
    const cmd = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing.join(' ')}`;
    if (process.getuid?.() !== 0) {
      fail(`missing Debian packages: ${missing.join(', ')}.\n  Install them with:\n    sudo sh -c '${cmd}'`);
    }
    step(`installing Debian packages: ${missing.join(' ')} (a minute or two on a fresh machine)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-q'], { env });
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
    const still = missingPackages(missing);
    if (still.length > 0) fail(`apt-get finished but these are still missing: ${still.join(', ')}`);
  }
  const v = capture('pkg-config', ['--modversion', 'libdpdk']);
  if (!v.ok) fail('pkg-config cannot find libdpdk although libdpdk-dev is installed');
  if (!v.out.startsWith(DPDK_SERIES)) {
    fail(`DPDK ${v.out} found; shadowtap is built and tested against ${DPDK_SERIES} LTS (Debian 12's libdpdk-dev)`);
  }
}

// ---- helpers for staleness ------------------------------------------------
function newestMtime(paths, filter) {
  let newest = 0;
  const walk = (p) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) {
        if (e === 'node_modules' || e === 'dist' || e === 'build' || e.startsWith('.')) continue;
        // The fuzz targets are their own clang project (src/tools/fuzz.ts builds them).
        if (p === join(root, 'native') && e === 'fuzz') continue;
        walk(join(p, e));
      }
    } else if (!filter || filter(p)) {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of paths) walk(join(root, p));
  return newest;
}
function mtime(p) {
  const full = join(root, p);
  return existsSync(full) ? statSync(full).mtimeMs : 0;
}

// ---- 2. npm dependencies ----------------------------------------------------
function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  if (!existsSync(lock)) fail('package-lock.json is missing: the checkout is incomplete');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  const stamp = join(root, 'node_modules', '.shadowtap-lock-sha256');
  const current = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
  if (!force && current === hash) return;
  step(existsSync(join(root, 'node_modules')) ? 'package-lock.json changed: npm ci' : 'installing npm dependencies: npm ci');
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  writeFileSync(stamp, `${hash}\n`);
}

// ---- 3. native addon --------------------------------------------------------
function ensureAddon() {
  const out = 'build/Release/shadowtap.node';
  const src = newestMtime(['native', 'CMakeLists.txt'], (p) => /\.(c|cc|h|hh|txt|cmake)$/.test(p));
  if (!force && mtime(out) > 0 && mtime(out) >= src) return;
  if (!capture('cmake', ['--version']).ok) fail('cmake not found: install it with `apt-get install cmake`');
  step('building the native addon (cmake-js)');
  const bin = join(root, 'node_modules', '.bin', 'cmake-js');
  // `--out build` keeps the tree where the loader looks; cmake-js uses the
  // node-api-headers package because package.json lists binary.napi_versions.
  run(bin, ['compile', '--out', 'build', '--log-level', 'warn']);
  if (!existsSync(join(root, out))) fail(`cmake-js finished but ${out} is missing`);
}

// ---- 3b. the native tests with sanitizers (--for=test) ----------------------
// A second CMake tree, build/sanitize (-DST_SANITIZE=ON), where only the three
// native test programs are built, every object instrumented with
// AddressSanitizer and UndefinedBehaviorSanitizer (docs/testing.md). Plain
// cmake, not cmake-js: the addon is not built there. The stamp is written
// after a successful build, so an up-to-date tree costs one mtime walk.
function ensureSanitizedTests() {
  const dir = 'build/sanitize';
  const stamp = `${dir}/.built`;
  const src = newestMtime(['native', 'CMakeLists.txt'], (p) => /\.(c|h|txt|cmake)$/.test(p));
  const targets = ['st_rewrite_test', 'st_rewrite_simd_test', 'st_encap_test', 'st_rx_check_test'];
  // the emulated NIC's test only where the plain build could make it (driver-SDK headers found)
  if (existsSync(join(root, 'build/sim/st_sim_test'))) targets.push('st_sim_test');
  const outputs = targets.map((t) => `${dir}/${t === 'st_sim_test' ? 'sim/' : ''}${t}`);
  if (!force && mtime(stamp) >= src && outputs.every((o) => mtime(o) > 0)) return;
  step(`building the native tests with AddressSanitizer and UndefinedBehaviorSanitizer (${dir})`);
  // the plain build's copy of DPDK's driver-SDK headers, so that they are not fetched twice
  const sdk = join(root, 'build/sim/dpdk-sdk/include');
  const env = existsSync(join(sdk, 'ethdev_driver.h')) ? { ...process.env, ST_DPDK_SDK_INCLUDE: sdk } : process.env;
  if (force || !existsSync(join(root, dir, 'CMakeCache.txt'))) {
    const gen = capture('ninja', ['--version']).ok ? ['-G', 'Ninja'] : [];
    run('cmake', ['-S', '.', '-B', dir, ...gen, '-DST_SANITIZE=ON', '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
      '--log-level=WARNING'], { env });
  }
  run('cmake', ['--build', dir, '--target', ...targets], { env, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  for (const o of outputs) if (!existsSync(join(root, o))) fail(`the sanitized build finished but ${o} is missing`);
  writeFileSync(join(root, stamp), `${new Date().toISOString()}\n`);
}

// ---- 4. TypeScript ----------------------------------------------------------
function ensureTypeScript() {
  const src = newestMtime(['src', 'test', 'bench', 'scripts', 'tsconfig.json'], (p) => p.endsWith('.ts') || p.endsWith('tsconfig.json'));
  const info = 'dist/.tsbuildinfo';
  if (!force && mtime(info) > 0 && mtime(info) >= src && existsSync(join(root, 'dist/src/cli.js'))) return;
  step('compiling TypeScript');
  run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json']);
}

ensurePackages();
ensureNodeModules();
ensureAddon();
if (purpose === 'test') ensureSanitizedTests();
ensureTypeScript();
step(`ready for ${purpose} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${relative(process.cwd(), root) || '.'})`);
