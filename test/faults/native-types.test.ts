/**
 * The fault table description TypeScript compiles (src/faults/native-types.ts)
 * names exactly the fields of struct st_fault_table_conf, st_fault_conf and
 * st_fault_match in native/dataplane/stages/impair.h (camelCase; counts such as
 * nb_src and table_len are the arrays' lengths), so the binding that copies
 * it into C (when the stage is wired) has nothing to guess.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkFaults } from '../../src/faults/check.js';
import { compileFaults } from '../../src/faults/compile.js';

const H = readFileSync(fileURLToPath(new URL('../../../native/dataplane/stages/impair.h', import.meta.url)), 'utf8');

function cFields(struct: string): string[] {
  const m = new RegExp(`struct ${struct} \\{([\\s\\S]*?)\\n\\};`).exec(H);
  if (!m) throw new Error(`struct ${struct} not found in impair.h`);
  const body = m[1]!.replace(/\/\*[\s\S]*?\*\//g, '');
  const names: string[] = [];
  for (const decl of body.split(';').map((d) => d.trim()).filter((d) => d !== '')) {
    const parts = decl.replace(/\[[^\]]*\]/g, '').split(',').map((p) => p.trim());
    names.push(/([A-Za-z_][A-Za-z0-9_]*)$/.exec(parts[0]!)![1]!, ...parts.slice(1));
  }
  return names
    .filter((n) => !n.startsWith('nb_') && n !== 'table_len')
    .map((n) => n.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
    .sort();
}

test('TypeScript and impair.h name the same fields', (t) => {
  const r = checkFaults([{ id: 'x', netem: 'delay 10ms 1ms loss 1%' }], {
    ports: [], sessions: new Map(), maps: [], line: { pps: 1000, capacity: 100_000, wheelSpanMs: 1000 },
  });
  const c = compileFaults(r.faults!, { seed: 1n, generation: 1, line: { pps: 1000, capacity: 100_000, wheelSpanMs: 1000 } });
  const fault = c.table.faults[0]!;
  t.deepEqual(Object.keys(c.table).sort(), cFields('st_fault_table_conf'));
  t.deepEqual(Object.keys(fault).sort(), cFields('st_fault_conf'));
  t.deepEqual(Object.keys(fault.match).sort(), cFields('st_fault_match'));
  t.deepEqual(Object.keys(fault.match.src[0] ?? { addr: 0, len: 0, v4: 0 }).sort(), cFields('st_imp_prefix'));
});
