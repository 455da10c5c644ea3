import { describe, expect, it, vi } from 'vitest';
import { type BucketRef, MemoryBucketStore } from '../src';
import { decide, tokensLeft } from '../src/bucket-store';

// 60 per minute, burst 5: a token a second, five at most.
const b: BucketRef = { key: 'k', intervalMs: 1000, toleranceMs: 5000 };

describe('token bucket (GCRA)', () => {
  it('gives a full bucket of burstSize, then one token per interval', () => {
    let tat: number | undefined;
    const at = (now: number) => {
      const r = decide([b], [tat], now);
      if (r.allowed) tat = r.next[0];
      return r;
    };
    const burst = Array.from({ length: 8 }, () => at(0));
    expect(burst.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false, false]);
    expect(burst.map((r) => r.remaining[0])).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
    expect(burst[5]!.retryAfterMs).toBe(1000);
    expect(at(999).allowed).toBe(false);
    expect(at(999).retryAfterMs).toBe(1);
    expect(at(1000).allowed).toBe(true);
    expect(at(1000).allowed).toBe(false);
    // After a long quiet spell the bucket is full again, never fuller.
    expect(tokensLeft(b, tat, 60_000)).toBe(5);
  });

  it('sustains exactly the configured rate', () => {
    let tat: number | undefined;
    let performed = 0;
    // A client sending every 100 ms for 60 s: 5 (burst) + 60 (refill) performed.
    for (let now = 0; now <= 60_000; now += 100) {
      const r = decide([b], [tat], now);
      if (r.allowed) {
        tat = r.next[0];
        performed++;
      }
    }
    expect(performed).toBe(65);
  });

  it('takes from several buckets all or nothing', () => {
    const wide: BucketRef = { key: 'w', intervalMs: 1000, toleranceMs: 100_000 };
    const r = decide([wide, b], [undefined, 5000], 0);
    expect(r.allowed).toBe(false);
    expect(r.remaining).toEqual([100, 0]);
  });

  it('forgets full buckets when swept', () => {
    // A fake clock: on a loaded machine more than 5 ms can pass between two lines.
    vi.useFakeTimers({ toFake: ['performance', 'setInterval', 'clearInterval'] });
    try {
      const store = new MemoryBucketStore();
      const quick: BucketRef = { key: 'q', intervalMs: 5, toleranceMs: 10 };
      expect(store.take([quick]).allowed).toBe(true);
      expect(store.size).toBe(1);
      store.sweep();
      expect(store.size).toBe(1);
      vi.advanceTimersByTime(20);
      store.sweep();
      expect(store.size).toBe(0);
      store.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
