/**
 * Counter slots that stay put across policy updates. The data plane keeps
 * per-session and per-rule counters by slot and never resets a slot when a
 * policy is swapped, so a session (by id) or a rule (by session id, rule id
 * and expansion) keeps its slot, and with it its counts, for as long as it
 * exists. A freed slot goes to the back of the queue: it is reused only
 * after every never-used slot, which keeps the counts of a removed rule
 * from showing up under a new one for as long as possible (and the
 * supervisor subtracts what a reused slot had counted).
 *
 * The allocator lives in the supervisor; compile works on a copy, which
 * becomes current only once the data plane has taken the policy.
 */
export interface SlotAllocatorPlain {
  capacity: number;
  byKey: [string, number][];
  free: number[];
}

export class SlotAllocator {
  readonly capacity: number;
  private readonly byKey: Map<string, number>;
  /** free slots, next to hand out first */
  private free: number[];
  private readonly used: Set<number>;

  constructor(capacity: number, init?: { byKey: Map<string, number>; free: number[] }) {
    this.capacity = capacity;
    this.byKey = init ? new Map(init.byKey) : new Map();
    this.free = init ? [...init.free] : Array.from({ length: capacity }, (_, i) => i);
    this.used = new Set(this.byKey.values());
  }

  /** Plain data, to cross to a worker thread (structured clone drops the class). */
  toPlain(): SlotAllocatorPlain {
    return { capacity: this.capacity, byKey: [...this.byKey], free: [...this.free] };
  }

  static fromPlain(p: SlotAllocatorPlain): SlotAllocator {
    return new SlotAllocator(p.capacity, { byKey: new Map(p.byKey), free: p.free });
  }

  clone(): SlotAllocator {
    return new SlotAllocator(this.capacity, { byKey: this.byKey, free: this.free });
  }

  slotOf(key: string): number | undefined {
    return this.byKey.get(key);
  }

  get size(): number {
    return this.byKey.size;
  }

  /**
   * Make `keys` the set of live keys: existing ones keep their slots, keys
   * no longer present free theirs, new ones take free slots. Returns the
   * slots handed out fresh. Throws when there are more keys than slots.
   */
  assign(keys: Iterable<string>): { slots: Map<string, number>; fresh: number[] } {
    const want = new Set(keys);
    if (want.size > this.capacity) throw new RangeError(`${want.size} counter slots needed; at most ${this.capacity}`);
    for (const [key, slot] of [...this.byKey]) {
      if (!want.has(key)) {
        this.byKey.delete(key);
        this.used.delete(slot);
        this.free.push(slot);
      }
    }
    const fresh: number[] = [];
    let head = 0;
    for (const key of want) {
      if (this.byKey.has(key)) continue;
      const slot = this.free[head++];
      if (slot === undefined) throw new RangeError(`out of counter slots (${this.capacity})`);
      this.byKey.set(key, slot);
      this.used.add(slot);
      fresh.push(slot);
    }
    this.free = this.free.slice(head);
    return { slots: new Map(this.byKey), fresh };
  }
}

export interface PolicySlots {
  sessions: SlotAllocator;
  rules: SlotAllocator;
}

export function newPolicySlots(sessionCapacity: number, ruleCapacity: number): PolicySlots {
  return { sessions: new SlotAllocator(sessionCapacity), rules: new SlotAllocator(ruleCapacity) };
}

export function clonePolicySlots(s: PolicySlots): PolicySlots {
  return { sessions: s.sessions.clone(), rules: s.rules.clone() };
}

export const sessionKey = (id: number): string => `s${id}`;
export const ruleKey = (sessionId: number, ruleId: string, expansion: number): string => `${sessionId}/${ruleId}/${expansion}`;
