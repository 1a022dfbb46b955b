/**
 * docs/faults.md stays true: every YAML example in it is accepted by the
 * checks. Blocks of whole faults (lines starting with "- ") are checked as
 * they are; blocks of one-line fragments (`delay: {...}`) are checked line by
 * line, each as the only impairment of a fault (a reorder gets the delay it
 * needs, as the doc's own example shows).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { checkFaults, type FaultContext } from '../../src/faults/check.js';
import { checkExperiment } from '../../src/faults/experiment.js';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/faults.md', import.meta.url)), 'utf8');
const CTX: FaultContext = {
  ports: [{ name: 'prod-in', role: 'production' }, { name: 'shadow-a', role: 'shadow' }],
  sessions: new Map([[10, 0]]),
  maps: [{ from: '10.0.0.0/16', to: '10.200.0.0/16' }],
  line: { pps: 100_000, capacity: 1_000_000, wheelSpanMs: 1000 },
};
const blocks = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

test('docs/faults.md has examples for every kind', (t) => {
  const all = blocks.join('\n');
  for (const k of ['link_down', 'blackhole', 'delay:', 'loss:', 'corrupt:', 'duplicate:', 'reorder:', 'rate:', 'slot:', 'limit:', 'netem:', 'gemodel', 'state', 'samples', 'police', 'ecn']) {
    t.true(all.includes(k), `no example with ${k}`);
  }
});

blocks.forEach((block, b) => {
  test(`docs/faults.md example ${b + 1} is accepted`, (t) => {
    if (block.trimStart().startsWith('- ')) {
      const r = checkFaults(parse(block), CTX);
      t.deepEqual(r.problems, [], block);
      return;
    }
    for (const line of block.split('\n').filter((l) => l.trim() !== '')) {
      const frag = parse(line) as Record<string, unknown>;
      const fault: Record<string, unknown> = { id: 'doc', ...frag };
      if ('reorder' in frag) fault['delay'] = { time: '10ms' };
      const r = checkFaults([fault], CTX);
      t.deepEqual(r.problems, [], line);
    }
  });
});

test('docs/faults.md: the experiment example is accepted, its faults too', (t) => {
  const m = /\n((?: {4}.*\n)+)/.exec(DOC.slice(DOC.indexOf('An experiment is a file')));
  t.truthy(m, 'the indented experiment example');
  const doc = parse(m![1]!.split('\n').map((l) => l.slice(4)).join('\n')) as { faults: unknown[] };
  const r = checkExperiment(doc);
  t.deepEqual(r.problems, []);
  t.deepEqual(checkFaults(doc.faults, CTX).problems, []);
  t.is(r.experiment!.hooks[1]!.stop.command![0], 'virsh');
  t.deepEqual(r.experiment!.durationsMs, [30_000, 20_000]);
});
