/**
 * A token bucket per client: `burst` requests at once, refilled at
 * `perSecond`. In process and in memory: one supervisor serves one host, and
 * a restart forgetting the buckets costs a client at most one burst.
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Past this many clients, buckets that have refilled completely are forgotten. */
const MAX_CLIENTS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit) {}

  /** Take one token for `client`: 0 when allowed, else the seconds until one is back. */
  take(client: string, now = Date.now()): number {
    const { perSecond, burst } = this.limit;
    if (perSecond <= 0) return 0;
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= MAX_CLIENTS) this.forgetFull(now);
      b = { tokens: burst, at: now };
      this.buckets.set(client, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }

  private forgetFull(now: number): void {
    const { perSecond, burst } = this.limit;
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) this.buckets.delete(k);
    // Still full of active clients: the oldest go (Map keeps insertion order).
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < MAX_CLIENTS) break;
      this.buckets.delete(k);
    }
  }
}
