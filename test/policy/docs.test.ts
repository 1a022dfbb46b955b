/**
 * docs/policy.md stays true: every YAML example validates against the
 * example ports it names, and the application-class table is the one the
 * compiler uses.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { checkConfig, checkPolicyUpdate, validateConfig } from '../../src/config/load.js';
import { APPS } from '../../src/policy/apps.js';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/policy.md', import.meta.url)), 'utf8');
const blocks = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

test('every YAML example in docs/policy.md validates', (t) => {
  t.true(blocks.length >= 12, `${blocks.length} examples`);
  const base = validateConfig(parse(blocks[0]!) as Record<string, unknown>);
  blocks.forEach((text, i) => {
    const value = parse(text) as Record<string, unknown>;
    const r = 'ports' in value ? checkConfig(value) : checkPolicyUpdate(base, value);
    t.deepEqual(r.problems, [], `example ${i + 1}:\n${text}`);
  });
});

test('the application classes table lists every class, as the compiler defines it', (t) => {
  for (const [name, app] of Object.entries(APPS)) t.true(DOC.includes(`| \`${name}\` | ${app.description} |`), name);
});
