/**
 * One token bucket to take from, in the form of the generic cell rate algorithm (GCRA): a
 * bucket of capacity `burst` refilled every `intervalMs` is the same as a theoretical arrival
 * time (TAT) that each frame pushes `intervalMs` ahead, and that may run at most
 * `toleranceMs = intervalMs * burst` ahead of now. One number per key, exact refill, no timers.
 */
export interface BucketRef {
  /** The store key. */
  readonly key: string;
  /** Milliseconds per token. */
  readonly intervalMs: number;
  /** `intervalMs * burst`. */
  readonly toleranceMs: number;
}

/** What a take from several buckets at once decided. */
export interface TakeResult {
  /** True when every bucket had a token; each then gave one. */
  readonly allowed: boolean;
  /** When refused: milliseconds until every bucket has a token again. 0 when allowed. */
  readonly retryAfterMs: number;
  /** Whole tokens left in each bucket, in the order given. */
  readonly remaining: readonly number[];
}

/** Where bucket state lives: this process, or Redis for every node. */
export interface BucketStore {
  /** Takes one token from each bucket, all or none. */
  take(buckets: readonly BucketRef[]): Promise<TakeResult> | TakeResult;
  /** Whole tokens left in each bucket, without taking any. */
  peek(buckets: readonly BucketRef[]): Promise<readonly number[]> | readonly number[];
}

/**
 * Decides a take from TATs read at `now`. Shared by the memory store; the Redis store runs the
 * same steps in Lua.
 */
export function decide(
  buckets: readonly BucketRef[],
  tats: readonly (number | undefined)[],
  now: number,
): { allowed: boolean; retryAfterMs: number; next: number[]; remaining: number[] } {
  let allowed = true;
  let retryAfterMs = 0;
  const next: number[] = [];
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    const tat = Math.max(tats[i] ?? now, now);
    const n = tat + b.intervalMs;
    if (n - now > b.toleranceMs) {
      allowed = false;
      retryAfterMs = Math.max(retryAfterMs, n - b.toleranceMs - now);
    }
    next.push(n);
  }
  const remaining = buckets.map((b, i) => tokensLeft(b, allowed ? next[i] : tats[i], now));
  return { allowed, retryAfterMs: allowed ? 0 : Math.ceil(retryAfterMs), next, remaining };
}

/** Whole tokens left in a bucket whose TAT is `tat` at `now`. */
export function tokensLeft(b: BucketRef, tat: number | undefined, now: number): number {
  const ahead = Math.max(tat ?? now, now) - now;
  return Math.max(0, Math.floor((b.toleranceMs - ahead) / b.intervalMs + 1e-9));
}
