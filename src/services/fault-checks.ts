/**
 * A fault body checked the way the fault service stores it: with every fault
 * already defined (they share the data plane's delay line), problems about
 * the body named by its own fields ("delay.time"), an id already used a
 * conflict rather than a bad body.
 */
import { FaultError, stError, type ConfigProblem } from '../errors.js';
import { checkFaults, type CheckedFault, type FaultContext } from '../faults/check.js';
import type { Fault } from '../faults/schema.js';

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
