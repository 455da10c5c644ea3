import type { Logger } from '@dotmac-ws/core';
import type { Redis } from 'ioredis';
import { RedisBucketStore } from './redis-bucket-store';
import { RedisConnectionCounter, type RedisConnectionCounterOptions } from './redis-connection-counter';

/** The Redis stores, once there is a client: given, or made from a URL. */
export interface RedisStores {
  readonly client: Redis;
  readonly buckets: RedisBucketStore;
  readonly counter: RedisConnectionCounter;
}

/**
 * The limiter's way to Redis. Given a client, it uses it (and leaves it open on close). Given
 * a URL, it loads ioredis (an optional peer dependency) and makes a client of its own that
 * fails fast while Redis is away (`enableOfflineQueue: false`), and closes it on close. Until
 * the client exists, `stores` is null and the limiter decides with its insurance stores.
 */
export class RedisLink {
  stores: RedisStores | null = null;
  #owned: Redis | null = null;
  #closed = false;

  readonly #counting: RedisConnectionCounterOptions;

  constructor(
    source: Redis | string,
    keyPrefix: string,
    logger: Logger,
    counting: RedisConnectionCounterOptions,
  ) {
    this.#counting = counting;
    if (typeof source !== 'string') {
      this.#use(source, keyPrefix);
      return;
    }
    import('ioredis').then(
      ({ Redis }) => {
        if (this.#closed) return;
        const client = new Redis(source, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
        client.on('error', (error: Error) =>
          logger.debug({ component: 'ratelimit', error: error.message }, 'Redis client error'),
        );
        this.#owned = client;
        this.#use(client, keyPrefix);
      },
      (error: unknown) =>
        logger.error(
          { component: 'ratelimit', error: error instanceof Error ? error.message : String(error) },
          'ioredis could not be loaded: install it to share rate limits through Redis',
        ),
    );
  }

  /** Stops listening to the client; closes it when this link made it. */
  close(): void {
    this.#closed = true;
    this.stores?.counter.close();
    this.#owned?.disconnect();
  }

  #use(client: Redis, keyPrefix: string): void {
    this.stores = {
      client,
      buckets: new RedisBucketStore(client),
      counter: new RedisConnectionCounter(client, keyPrefix, this.#counting),
    };
  }
}
