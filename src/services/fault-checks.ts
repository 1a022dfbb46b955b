/**
 * A fault body checked the way the fault service stores it: with every fault
 * already defined (they share the data plane's delay line), problems about
 * the body named by its own fields ("delay.time"), an id already used a
 * conflict rather than a bad body.
 */
import { FaultError, stError, type ConfigProblem } from '../errors.js';
import { checkFaults, type CheckedFault, type FaultContext } from '../faults/check.js';
import type { Fault } from '../faults/schema.js';

/** A fault's or experiment's version as an ETag. */
export const faultEtag = (version: number): string => `"v${version}"`;

/** 404 naming what exists. */
export const notFound = (what: string, id: string, known: string[]) =>
  stError('ST_ERR_NOT_FOUND', `no ${what} "${id}"; ${known.length ? `expected one of ${known.slice(0, 20).join(', ')}` : `there are none`}`, { field: 'id' });

/** 412 unless `v` is one of the versions If-Match names. */
export function checkVersion(v: number, expect: readonly number[] | undefined, what: string): void {
  if (expect !== undefined && !expect.includes(v)) {
    throw stError('ST_ERR_PRECONDITION_FAILED', `${what} is at version ${v} (ETag ${faultEtag(v)}), not ${expect.join(' or ')}: it changed since it was read; read it again and redo the change`, { field: 'If-Match' });
  }
}

export function checkFaultBody(others: Fault[], doc: unknown, ctx: FaultContext): { checked: CheckedFault; flags: ConfigProblem[]; doc: Fault } {
  const check = checkFaults([...others, doc], ctx);
  const k = others.length;
  const mine = (p: ConfigProblem) => p.path === `faults[${k}]` || p.path.startsWith(`faults[${k}].`) || p.path.startsWith(`faults[${k}][`);
  const strip = (p: ConfigProblem) => ({ path: mine(p) ? p.path.replace(/^faults\[\d+\]\.?/, '') : p.path, message: mine(p) ? p.message : `${p.message} (with this fault added)` });
  if (check.problems.length > 0) {
    const problems = check.problems.map(strip);
    // an id already used is a conflict, not a bad body
    if (problems.length === 1 && problems[0]!.path === 'id' && /used by an earlier fault/.test(problems[0]!.message)) {
      throw stError('ST_ERR_CONFLICT', `a fault "${(doc as Fault).id}" exists already; replace it (PUT /v1/faults/${(doc as Fault).id}) or choose another id`, { field: 'id' });
    }
    throw new FaultError(problems, 'fault');
  }
  return { checked: check.faults![k]!, flags: check.flags.filter(mine).map(strip), doc: structuredClone(doc) as Fault };
}
