/**
 * The bounded fuzz run of `npm test` (docs/reliability.md, "Fuzzing"): the
 * libFuzzer targets of native/fuzz (classification key, truncation length,
 * rewrite, encapsulation; ASan + UBSan) are built with clang, every committed
 * regression input (native/fuzz/regressions/<target>/) is replayed, then each
 * target is fuzzed for ST_FUZZ_SECONDS (default 30) from a fresh corpus
 * seeded with the demo capture and the curated frames of fuzz-seeds.ts. Any
 * sanitizer report, invariant failure or timeout fails the test with the
 * report and the crashing input kept under build/fuzz/artifacts/. Executions
 * and coverage are logged (`npx ava --verbose` shows them).
 *
 * The targets run one after the other (one core each), so the file takes
 * about 4 x 30 s plus the build (about 25 s from scratch). The seed tool and
 * the long run's CLI are checked for what they refuse.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildFuzzTargets,
  FUZZ_BUILD_DIR,
  FUZZ_TARGETS,
  replayRegressions,
  REGRESSIONS_DIR,
  runFuzzer,
  summary,
} from '../../src/tools/fuzz.js';
import { seedFrames, writeCorpus } from '../../src/tools/fuzz-seeds.js';
import { encodePcap } from '../../src/pcap/pcap.js';

const FUZZ_CLI = fileURLToPath(new URL('../../src/tools/fuzz.js', import.meta.url));
const SEEDS_CLI = fileURLToPath(new URL('../../src/tools/fuzz-seeds.js', import.meta.url));

const SECONDS = Number(process.env.ST_FUZZ_SECONDS ?? 30);
const work = mkdtempSync(join(tmpdir(), 'st-fuzz-'));
let seeds = 0;

test.before(() => {
  buildFuzzTargets();
  seeds = writeCorpus(join(work, 'seeds'), 'rewrite', seedFrames());
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

test.serial('fuzz seeds: the demo capture and the curated shapes, one input each', (t) => {
  t.true(seeds >= 4 * 250, `${seeds} seed inputs for the rewrite (4 table sets)`);
  t.is(readdirSync(join(work, 'seeds')).length, seeds);
});

test('npm run fuzz refuses bad arguments, naming the argument and what it expects', (t) => {
  for (const [arg, expect] of [
    ['--minutes=soon', /--minutes: expected a positive number, got "soon"/],
    ['--minutes=0', /--minutes: expected a positive number/],
    ['--targets=rewrite,parser', /--targets: expected a comma-separated list of classify, copy_len, rewrite, encap, routing, dns; got "rewrite,parser"/],
    ['--fast', /unknown argument "--fast"/],
  ] as const) {
    const r = spawnSync(process.execPath, [FUZZ_CLI, arg], { encoding: 'utf8' });
    t.is(r.status, 2, `${arg}: ${r.stderr}`);
    t.regex(r.stderr, expect);
  }
});

test('fuzz-seeds adds the frames of a capture, and refuses a capture that is not Ethernet by its link type', (t) => {
  const eth = join(work, 'extra.pcap');
  const raw = join(work, 'raw.pcap');
  writeFileSync(eth, encodePcap([Buffer.alloc(60, 1), Buffer.alloc(61, 2)]));
  writeFileSync(raw, encodePcap([Buffer.alloc(40, 0x45)], { linktype: 101 }));
  const base = spawnSync(process.execPath, [SEEDS_CLI, join(work, 'cli-a'), 'classify'], { encoding: 'utf8' });
  const more = spawnSync(process.execPath, [SEEDS_CLI, join(work, 'cli-b'), 'classify', eth], { encoding: 'utf8' });
  t.is(base.status, 0, base.stderr);
  t.is(more.status, 0, more.stderr);
  // two more frames, each with the classify target's two seed parameter blocks
  t.is(readdirSync(join(work, 'cli-b')).length, readdirSync(join(work, 'cli-a')).length + 4);
  const bad = spawnSync(process.execPath, [SEEDS_CLI, join(work, 'cli-c'), 'classify', raw], { encoding: 'utf8' });
  t.is(bad.status, 1);
  t.regex(bad.stderr, /^fuzz-seeds: .*raw\.pcap: linktype 101: expected 1 \(Ethernet\)/);
  const noTarget = spawnSync(process.execPath, [SEEDS_CLI, join(work, 'cli-d'), 'parser'], { encoding: 'utf8' });
  t.is(noTarget.status, 2);
  t.regex(noTarget.stderr, /usage: fuzz-seeds <corpus-dir> <classify\|copy_len\|rewrite\|dns\|encap\|routing>/);
});

for (const target of FUZZ_TARGETS) {
  test.serial(`fuzz ${target}: regression inputs replay clean, ${SECONDS} s of fuzzing find no crash`, async (t) => {
    t.timeout((SECONDS + 90) * 1000);
    const rep = await replayRegressions(target, join(work, `${target}-replay.log`));
    t.is(rep.exit, 0, `a regression input of ${target} crashes:\n${rep.report}`);
    t.log(`${target}: ${rep.files.length} regression inputs from ${join(REGRESSIONS_DIR, target)} replayed`);

    const corpus = join(work, 'corpus', target);
    writeCorpus(corpus, target, seedFrames());
    const s = await runFuzzer({
      target,
      corpus,
      extraCorpora: [join(REGRESSIONS_DIR, target)],
      seconds: SECONDS,
      artifactDir: join(FUZZ_BUILD_DIR, 'artifacts', target),
      logFile: join(work, `${target}.log`),
    });
    t.log(summary(s));
    t.false(s.crashed, `${target} crashed (exit ${s.exit}); input kept in ${s.artifacts.join(', ')}:\n${s.report}`);
    // The run really ran: the seeds loaded and the fuzzer executed inputs.
    t.true(s.execs > 1000, `only ${s.execs} executions`);
    t.true(s.cov > 0 && s.ft >= s.initFt, `coverage cov ${s.cov}, ft ${s.initFt} -> ${s.ft}`);
  });
}
