/**
 * marksInstall: the NIC MARK table the software path honours. A bad entry is
 * refused with the field named and the running table kept; one EAL per
 * process, so this file drives the addon directly in its own worker.
 */
import test from 'ava';
import { loadNative } from '../../src/native/loader.js';
import { MARK_KIND } from '../../src/dataplane/native-types.js';
import { withEal } from '../helpers/host.js';
import { missingBuild } from '../helpers/supervised.js';

const skip = missingBuild();

test('marksInstall checks every field, names it, and needs EAL', async (t) => {
  if (skip) return t.fail(skip);
  const native = loadNative();
  const fieldOf = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      const err = e as Error & { field?: string; code?: string };
      return { field: err.field, code: err.code, message: err.message };
    }
    return null;
  };
  // Before EAL: refused, not crashed.
  t.like(fieldOf(() => native.marksInstall([{ port: 0, slot: 0, kind: MARK_KIND.nicDecided }])), { code: 'ST_ERR_EAL_NOT_READY' });
  await withEal(native, { prefix: `st_marks_${process.pid}`, memoryMb: 128 }, () => {
    const cases: [unknown, string, RegExp][] = [
      [{ port: 0, slot: 0, kind: 1 }, '', /./],
      [[{ port: 16, slot: 0, kind: 1 }], 'marks[0].port', /expected an integer 0\.\.15, got 16/],
      [[{ port: 0, slot: 0, kind: 1 }, { port: 0, slot: 1024, kind: 2 }], 'marks[1].slot', /expected an integer 0\.\.1023/],
      [[{ port: 0, slot: 0, kind: 3 }], 'marks[0].kind', /expected an integer 1\.\.2, got 3/],
      [[{ port: 0, slot: 0 }], 'marks[0].kind', /expected an integer/],
      [['x'], 'marks[0]', /expected an object/],
    ];
    for (const [input, field, msg] of cases) {
      const r = fieldOf(() => native.marksInstall(input as never));
      t.truthy(r, `${JSON.stringify(input)} is refused`);
      if (field) t.is(r!.field, field);
      t.regex(r!.message, msg);
    }
    // Good tables, and clearing them, are accepted.
    t.notThrows(() => native.marksInstall([{ port: 0, slot: 5, kind: MARK_KIND.nicDecided }, { port: 0, slot: 5, kind: MARK_KIND.nicCopy }]));
    t.notThrows(() => native.marksInstall([]));
  });
});
