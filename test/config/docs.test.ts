/** docs/config.md is generated from the schema: it must be in step, and every field described. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { CONFIG_DOCS_PATH, fieldDocs, renderConfigDocs } from '../../src/tools/gen-config-docs.js';

test('docs/config.md is what the schema generates (node dist/src/tools/gen-config-docs.js)', (t) => {
  t.is(readFileSync(CONFIG_DOCS_PATH, 'utf8'), renderConfigDocs(), 'regenerate docs/config.md with `node dist/src/tools/gen-config-docs.js`');
});

test('every configuration field has a description and says what it accepts', (t) => {
  const fields = fieldDocs();
  t.true(fields.length > 100, `${fields.length} fields`);
  t.deepEqual(fields.filter((f) => f.description.trim() === '').map((f) => f.path), []);
  t.deepEqual(fields.filter((f) => /^a value$/.test(f.accepts)).map((f) => f.path), []);
  for (const path of ['sessions[].filters[].signature.mask', 'targets[].encap.geneve.vni', 'translate.control_plane.nd', 'security.rules[].dst_ports', 'match']) {
    t.true(fields.some((f) => f.path === path), path);
  }
});
