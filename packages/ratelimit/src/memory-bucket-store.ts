import { type BucketRef, type BucketStore, decide, type TakeResult, tokensLeft } from './bucket-store';

/** How often full buckets are forgotten, so that a key per past client does not stay forever. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Token buckets in this process: the default store, and the insurance store while Redis is
 * unreachable. Synchronous, so a take is atomic without locks.
 */
export class MemoryBucketStore implements BucketStore {
  /** key -> theoretical arrival time, in `performance.now()` milliseconds */
  readonly #tats = new Map<string, number>();
  #sweeper: NodeJS.Timeout | undefined;

  take(buckets: readonly BucketRef[]): TakeResult {
    const now = performance.now();
    const tats = buckets.map((b) => this.#tats.get(b.key));
    const result = decide(buckets, tats, now);
    if (result.allowed) {
      for (let i = 0; i < buckets.length; i++) this.#tats.set(buckets[i]!.key, result.next[i]!);
      this.#sweeper ??= setInterval(() => this.sweep(), SWEEP_EVERY_MS).unref();
    }
    return { allowed: result.allowed, retryAfterMs: result.retryAfterMs, remaining: result.remaining };
  }

  peek(buckets: readonly BucketRef[]): number[] {
    const now = performance.now();
    return buckets.map((b) => tokensLeft(b, this.#tats.get(b.key), now));
  }

  /** Forgets buckets that are full again (their TAT is in the past). */
  sweep(): void {
    const now = performance.now();
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
  }

  /** The number of buckets held (for tests and stats). */
  get size(): number {
    return this.#tats.size;
  }

  /** Stops the sweep timer. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
