import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ConnectionCounter, CounterRef } from './connection-counter';
import type { LimitScope } from './options';

/** Decrements kept while Redis is away, at most. */
const MAX_PENDING = 100_000;

/**
 * Open-connection counts in Redis, shared by every node: rate-limiter-flexible's atomic
 * counters without expiry (`duration: 0`), one limiter per scope. A count is taken with
 * `consume` and given back with `reward`; a consume over the limit is given back at once.
 * A decrement that cannot reach Redis is kept and sent again when the client is ready; counts
 * of a node that dies without closing its sockets stay until the keys are removed.
 */
export class RedisConnectionCounter implements ConnectionCounter {
  readonly #limiters = new Map<string, RateLimiterRedis>();
  readonly #pending: CounterRef[] = [];
  readonly #onReady = () => this.#flush();

  constructor(
    readonly redis: Redis,
    readonly keyPrefix: string,
  ) {
    redis.on('ready', this.#onReady);
  }

  async acquire(refs: readonly CounterRef[]): Promise<LimitScope | null> {
    const taken: CounterRef[] = [];
    let refused: LimitScope | null = null;
    try {
      for (const r of refs) {
        // Over the limit, the consume counted anyway: it is given back with the others.
        const over = await this.#limiter(r)
          .consume(r.id)
          .then(
            () => false,
            (error: unknown) => {
              if (error instanceof RateLimiterRes) return true;
              throw error;
            },
          );
        taken.push(r);
        if (over) {
          refused = r.scope;
          break;
        }
      }
    } catch (error) {
      // Redis failed half-way: give back what was counted; the caller decides with the
      // insurance counter.
      await this.release(taken);
      throw error;
    }
    if (refused !== null) await this.release(taken);
    return refused;
  }

  /** Never fails: a decrement Redis did not take is kept and sent again once Redis is back. */
  async release(refs: readonly CounterRef[]): Promise<void> {
    await Promise.all(
      refs.map((r) =>
        this.#limiter(r)
          .reward(r.id)
          .then(
            () => undefined,
            () => {
              if (this.#pending.length < MAX_PENDING) this.#pending.push(r);
            },
          ),
      ),
    );
  }

  /** Decrements waiting for Redis to come back. */
  get pendingReleases(): number {
    return this.#pending.length;
  }

  /** Stops listening to the client (the client itself stays open: it belongs to the caller). */
  close(): void {
    this.redis.off('ready', this.#onReady);
  }

  #flush(): void {
    const due = this.#pending.splice(0);
    if (due.length > 0) void this.release(due);
  }

  async count(refs: readonly CounterRef[]): Promise<readonly number[]> {
    const got = await Promise.all(refs.map((r) => this.#limiter(r).get(r.id)));
    return got.map((res) => Math.max(0, res?.consumedPoints ?? 0));
  }

  #limiter(r: CounterRef): RateLimiterRedis {
    const id = `${r.scope}:${r.limit}`;
    let limiter = this.#limiters.get(id);
    if (limiter === undefined) {
      limiter = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: `${this.keyPrefix}:conn:${r.scope}`,
        points: r.limit,
        duration: 0,
        rejectIfRedisNotReady: true,
      });
      this.#limiters.set(id, limiter);
    }
    return limiter;
  }
}
