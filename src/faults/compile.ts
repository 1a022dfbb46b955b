/**
 * Checked faults compiled into the plain-data table the data plane builds
 * (NativeFaultTable = struct st_fault_table_conf): a numeric id per fault
 * (FNV-1a of its name, so the same name draws the same random decisions in
 * every run and after a restart), a state/counter slot that stays put while
 * the fault exists, and the arming epoch (bumped by whoever re-arms the
 * fault: the packet index restarts at 0).
 */
import type { CheckedFault, FaultContext } from './check.js';
import { MAX_FAULTS } from './schema.js';
import type { NativeFaultTable } from './native-types.js';

/** FNV-1a, 32 bits, over the UTF-8 bytes of a fault's name. */
export function faultNumber(id: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(id)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface CompileOptions {
  /** the experiment's seed: every fault without its own draws from it */
  seed: bigint;
  generation: number;
  /** slots of the faults in the table being replaced (name -> slot) */
  previousSlots?: ReadonlyMap<string, number>;
  /** arming epochs (name -> epoch), default 0 */
  epochs?: ReadonlyMap<string, number>;
  line: FaultContext['line'];
}

export interface CompiledFaults {
  table: NativeFaultTable;
  /** name -> slot, to pass as previousSlots next time */
  slots: Map<string, number>;
}

export function compileFaults(faults: readonly CheckedFault[], opts: CompileOptions): CompiledFaults {
  if (faults.length > MAX_FAULTS) throw new RangeError(`${faults.length} faults: at most ${MAX_FAULTS}`);
  if (opts.seed <= 0n || opts.seed >= 2n ** 64n) throw new RangeError('the seed must be from 1 to 2^64 - 1');
  const slots = new Map<string, number>();
  const used = new Set<number>();
  for (const f of faults) {
    const s = opts.previousSlots?.get(f.id);
    if (s !== undefined && !used.has(s)) {
      slots.set(f.id, s);
      used.add(s);
    }
  }
  let next = 0;
  for (const f of faults) {
    if (slots.has(f.id)) continue;
    while (used.has(next)) next++;
    slots.set(f.id, next);
    used.add(next);
  }
  return {
    slots,
    table: {
      seed: opts.seed,
      generation: opts.generation,
      tscHz: 0,
      linePps: opts.line.pps,
      lineCapacity: opts.line.capacity,
      wheelSpanNs: Math.round(opts.line.wheelSpanMs * 1e6),
      faults: faults.map((f) => ({
        ...f.native,
        id: faultNumber(f.id),
        epoch: opts.epochs?.get(f.id) ?? 0,
        slot: slots.get(f.id)!,
      })),
    },
  };
}
