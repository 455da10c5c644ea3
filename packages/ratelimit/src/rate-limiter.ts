import {
  type ConnectionContext,
  ErrorCode,
  type GatewayMiddleware,
  HandshakeError,
  type IdentityContext,
  type MessageContext,
  ProtocolError,
  type WebSocketSession,
} from '@dotmac-ws/core';
import { addressKey } from './address-key';
import type { BucketRef, TakeResult } from './bucket-store';
import type { ConnectionCounter, CounterRef } from './connection-counter';
import { MemoryConnectionCounter } from './connection-counter';
import { MemoryBucketStore } from './memory-bucket-store';
import {
  type LimitScope,
  type RateLimitOptions,
  type ResolvedBucket,
  type ResolvedRateLimitOptions,
  resolveRateLimitOptions,
} from './options';
import type { RateLimitStatus } from './rate-limit-status';
import { RedisLink, type RedisStores } from './redis-link';

/** The middleware `createRateLimiter` returns; pass it to `gateway.use()`. */
export interface RateLimiter extends GatewayMiddleware {
  /**
   * Counts open connections per address, and per user and tenant once they are known; refuses
   * the handshake with 429 and `Retry-After` over a limit.
   */
  readonly connection: (ctx: ConnectionContext, next: () => Promise<void>) => Promise<void>;
  /**
   * Counts the user (and a tenant not counted yet) of a session that authenticates in-band;
   * over a limit the `auth` is refused with `rate_limited` (`retry_after_ms` from
   * `connectionRetryAfterSec`) and the gateway closes the session with 4429.
   */
  readonly identity: (ctx: IdentityContext, next: () => Promise<void>) => Promise<void>;
  /**
   * Takes a token per frame, malformed ones included (invalid JSON, binary, no `type`: they
   * take from the general buckets); refuses it with `rate_limited` and `retry_after_ms` when out.
   */
  readonly message: (ctx: MessageContext, next: () => Promise<void>) => Promise<void>;
  /** Where counts live now: `memory`, `redis`, or `insurance` while Redis is unreachable. */
  readonly store: RateLimitStatus['store'];
  /** The limits of `session`'s keys and how much of each is used. */
  getRateLimitStatus(session: WebSocketSession): Promise<RateLimitStatus>;
  /** Stops timers and stops listening to the Redis client (which stays open: it is yours). */
  close(): void;
}

const SCOPE_WORD: Readonly<Record<LimitScope, string>> = {
  ip: 'this address',
  user: 'this user',
  tenant: 'this tenant',
};

/** Per-session cache of the buckets a frame takes from, rebuilt when the identity changes. */
interface SessionBuckets {
  userId: string | null;
  tenantId: string | null;
  any: BucketRef[];
  subscribe: BucketRef[];
  publish: BucketRef[];
}

const USE_MEMORY = Symbol('use the in-memory store');

/** The connection state key under which the limiter notes what it counted at the handshake. */
const COUNTED = 'ratelimit.counted';

/** What a connection counts toward so far, besides its address. */
interface Counted {
  user: boolean;
  tenant: boolean;
}

/**
 * Creates the rate limiter: open connections per address, user and tenant (checked before the
 * upgrade), and token buckets for inbound frames (protocol.md "Rate limits"). With `redis` the
 * counts hold across nodes; while Redis is unreachable an in-memory insurance limiter with the
 * same limits decides, and serving goes on. Options are checked at once (`ConfigError`).
 *
 * The gateway itself closes a session with 4429 after `rateLimitCloseAfter` refusals in a row.
 *
 * @example
 * const limiter = createRateLimiter({ maxConnectionsPerIp: 20, messagesPerMinute: 60, burstSize: 5 })
 * gateway.use(limiter)
 */
export function createRateLimiter(options: RateLimitOptions = {}): RateLimiter {
  return new GatewayRateLimiter(resolveRateLimitOptions(options));
}

class GatewayRateLimiter implements RateLimiter {
  readonly #o: ResolvedRateLimitOptions;
  readonly #memoryBuckets = new MemoryBucketStore();
  readonly #memoryCounter = new MemoryConnectionCounter();
  readonly #redis: RedisLink | null;
  readonly #sessions = new WeakMap<WebSocketSession, SessionBuckets>();
  #insurance = false;
  #sinceYield = 0;

  constructor(o: ResolvedRateLimitOptions) {
    this.#o = o;
    this.#redis =
      o.redis === null
        ? null
        : new RedisLink(o.redis, o.keyPrefix, o.logger, {
            ttlMs: o.connectionCountTtlMs,
            refreshMs: o.connectionCountRefreshMs,
          });
  }

  get store(): RateLimitStatus['store'] {
    if (this.#redis === null) return 'memory';
    return this.#insurance ? 'insurance' : 'redis';
  }

  readonly connection = async (ctx: ConnectionContext, next: () => Promise<void>): Promise<void> => {
    const userId = ctx.identity?.userId ?? null;
    // With requireToken, a tenant named by an unauthenticated client is not counted yet: the
    // client could name any tenant and hold its quota without ever authenticating.
    const tenantKnown = ctx.identity !== null || !ctx.gateway.config.requireToken;
    const counted: Counted = { user: userId !== null, tenant: tenantKnown && ctx.tenantId !== null };
    ctx.state.set(COUNTED, counted);
    const refs = this.#counterRefs(ctx.ip, userId, ctx.tenantId, counted.tenant);
    if (refs.length > 0) {
      const { counter, refused } = await this.#acquire(refs);
      if (refused !== null) {
        throw new HandshakeError(
          429,
          `too many open connections for ${SCOPE_WORD[refused]}`,
          { 'Retry-After': String(this.#o.connectionRetryAfterSec) },
          ErrorCode.RateLimited,
        );
      }
      ctx.onClose(() => void counter.release(refs));
    }
    await next();
  };

  readonly identity = async (ctx: IdentityContext, next: () => Promise<void>): Promise<void> => {
    const counted = (ctx.state.get(COUNTED) as Counted | undefined) ?? { user: false, tenant: false };
    const { userId, tenantId } = ctx.identity;
    const countTenant = !counted.tenant && tenantId !== null;
    const refs = this.#counterRefs(null, counted.user ? null : userId, tenantId, countTenant);
    if (refs.length === 0) {
      await next();
      return;
    }
    const { counter, refused } = await this.#acquire(refs);
    if (refused !== null) {
      throw new ProtocolError(ErrorCode.RateLimited, `too many open connections for ${SCOPE_WORD[refused]}`, {
        retryAfterMs: this.#o.connectionRetryAfterSec * 1000,
      });
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      void counter.release(refs);
    };
    const before = { ...counted };
    counted.user = true;
    counted.tenant ||= countTenant;
    ctx.state.set(COUNTED, counted);
    ctx.onClose(release);
    try {
      await next();
    } catch (error) {
      // A later identity middleware refused: this identity is not applied.
      release();
      Object.assign(counted, before);
      throw error;
    }
  };

  /** Counts `refs` in Redis (or the insurance counter); says which counter holds them. */
  async #acquire(
    refs: readonly CounterRef[],
  ): Promise<{ counter: ConnectionCounter; refused: LimitScope | null }> {
    let shared: ConnectionCounter | null = null;
    const got = await this.#shared(
      'connection count',
      (r) => {
        shared = r.counter;
        return r.counter.acquire(refs);
      },
      (late) => {
        if (late === null) void shared?.release(refs);
      },
    );
    if (got === USE_MEMORY)
      return { counter: this.#memoryCounter, refused: this.#memoryCounter.acquire(refs) };
    return { counter: shared!, refused: got };
  }

  readonly message = async (ctx: MessageContext, next: () => Promise<void>): Promise<void> => {
    if (this.#o.yieldEvery > 0 && ++this.#sinceYield >= this.#o.yieldEvery) {
      // A client's frames that came in one read are worked off in microtasks, which hold up
      // every other socket's I/O until the last one: hand the loop back now and then.
      this.#sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // A frame that could not be read counts too (protocol.md: every inbound frame counts): it
    // takes from the general buckets, and is refused with `rate_limited` rather than
    // `bad_request` once they are empty, so that a client sending garbage meets 4429 as well.
    const refs = ctx.malformed
      ? this.#sessionBuckets(ctx.session).any
      : this.#bucketsOf(ctx.session, ctx.type);
    if (refs.length > 0) {
      const result = await this.#take(refs);
      if (!result.allowed) {
        throw new ProtocolError(ErrorCode.RateLimited, 'too many messages: slow down', {
          retryAfterMs: result.retryAfterMs,
        });
      }
    }
    await next();
  };

  async getRateLimitStatus(session: WebSocketSession): Promise<RateLimitStatus> {
    const counters = this.#counterRefs(
      session.remoteAddress,
      session.userId,
      session.tenantId,
      session.tenantId !== null,
    );
    const defs = [...this.#bucketDefs(session)];
    for (const name of ['subscribe', 'publish'] as const) {
      const def = this.#o[name];
      if (def !== null) defs.push({ def, id: this.#typeId(session) });
    }
    const buckets = defs.map(({ def, id }) => this.#ref(def, id));
    const open = await this.#shared('status', (r) => r.counter.count(counters));
    const left = await this.#shared('status', (r) => r.buckets.peek(buckets));
    const counts = open === USE_MEMORY ? this.#memoryCounter.count(counters) : open;
    const remaining = left === USE_MEMORY ? this.#memoryBuckets.peek(buckets) : left;
    return {
      store: this.store,
      connections: counters.map((r, i) => ({
        scope: r.scope,
        key: r.id,
        limit: r.limit,
        open: counts[i] ?? 0,
      })),
      messages: defs.map(({ def, id }, i) => ({
        bucket: def.name,
        key: id,
        messagesPerMinute: def.limit.messagesPerMinute,
        burstSize: def.limit.burstSize,
        remaining: remaining[i] ?? 0,
      })),
    };
  }

  close(): void {
    this.#memoryBuckets.close();
    this.#redis?.close();
  }

  // ---------------------------------------------------------------- keys

  /** The connection counts of an address (null: none), a user and, with `countTenant`, the tenant. */
  #counterRefs(
    ip: string | null,
    userId: string | null,
    tenantId: string | null,
    countTenant: boolean,
  ): CounterRef[] {
    const limits = this.#o.connections;
    const refs: CounterRef[] = [];
    if (limits.ip > 0 && ip !== null) refs.push({ scope: 'ip', id: this.#addressKey(ip), limit: limits.ip });
    if (limits.user > 0 && userId !== null) {
      refs.push({ scope: 'user', id: userKey(userId, tenantId), limit: limits.user });
    }
    if (limits.tenant > 0 && countTenant && tenantId !== null)
      refs.push({ scope: 'tenant', id: tenantId, limit: limits.tenant });
    return refs;
  }

  #addressKey(ip: string): string {
    return addressKey(ip, this.#o.ipv6PrefixLength);
  }

  /** The message buckets that apply to `session`, with the id each is keyed by. */
  *#bucketDefs(session: WebSocketSession): Generator<{ def: ResolvedBucket; id: string }> {
    const m = this.#o.messages;
    if (m.ip) yield { def: m.ip, id: this.#addressKey(session.remoteAddress) };
    if (m.user && session.userId !== null)
      yield { def: m.user, id: userKey(session.userId, session.tenantId) };
    if (m.tenant && session.tenantId !== null) yield { def: m.tenant, id: session.tenantId };
  }

  /** Subscribe and publish buckets are per user, or per address before authentication. */
  #typeId(session: WebSocketSession): string {
    return session.userId === null
      ? `a:${this.#addressKey(session.remoteAddress)}`
      : `u:${userKey(session.userId, session.tenantId)}`;
  }

  #ref(def: ResolvedBucket, id: string): BucketRef {
    return {
      key: `${this.#o.keyPrefix}:msg:${def.name}:${id}`,
      intervalMs: def.intervalMs,
      toleranceMs: def.toleranceMs,
    };
  }

  #sessionBuckets(session: WebSocketSession): SessionBuckets {
    const cached = this.#sessions.get(session);
    if (cached !== undefined && cached.userId === session.userId && cached.tenantId === session.tenantId) {
      return cached;
    }
    const any = [...this.#bucketDefs(session)].map(({ def, id }) => this.#ref(def, id));
    const typeId = this.#typeId(session);
    const fresh: SessionBuckets = {
      userId: session.userId,
      tenantId: session.tenantId,
      any,
      subscribe: this.#o.subscribe ? [...any, this.#ref(this.#o.subscribe, typeId)] : any,
      publish: this.#o.publish ? [...any, this.#ref(this.#o.publish, typeId)] : any,
    };
    this.#sessions.set(session, fresh);
    return fresh;
  }

  #bucketsOf(session: WebSocketSession, type: string): BucketRef[] {
    const c = this.#sessionBuckets(session);
    return type === 'subscribe' ? c.subscribe : type === 'publish' ? c.publish : c.any;
  }

  // ---------------------------------------------------------------- stores

  #take(refs: readonly BucketRef[]): TakeResult | Promise<TakeResult> {
    if (this.#redis === null) return this.#memoryBuckets.take(refs);
    return this.#shared('message bucket', (r) => r.buckets.take(refs)).then((r) =>
      r === USE_MEMORY ? this.#memoryBuckets.take(refs) : r,
    );
  }

  /**
   * Runs a Redis call, or answers USE_MEMORY (the caller then uses the insurance store) when
   * Redis is not ready, fails, or takes longer than `redisTimeoutMs`. A call that succeeds
   * after its timeout is handed to `late` (to undo a count nobody uses).
   */
  async #shared<T>(
    what: string,
    call: (stores: RedisStores) => Promise<T>,
    late?: (value: T) => void,
  ): Promise<T | typeof USE_MEMORY> {
    const stores = this.#redis?.stores;
    if (stores == null) {
      if (this.#redis !== null) this.#fellBack(what, 'the Redis client is not created yet');
      return USE_MEMORY;
    }
    if (stores.client.status !== 'ready') {
      this.#fellBack(what, `the Redis client is ${stores.client.status}`);
      return USE_MEMORY;
    }
    const pending = call(stores);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof USE_MEMORY>((resolve) => {
      timer = setTimeout(resolve, this.#o.redisTimeoutMs, USE_MEMORY);
    });
    try {
      const result = await Promise.race([pending, timeout]);
      if (result === USE_MEMORY) {
        pending.then(late, () => undefined);
        this.#fellBack(what, `Redis took over ${this.#o.redisTimeoutMs} ms`);
        return USE_MEMORY;
      }
      if (this.#insurance) {
        this.#insurance = false;
        this.#o.logger.info({ component: 'ratelimit' }, 'Redis is back: limits are shared again');
      }
      return result;
    } catch (error) {
      this.#fellBack(what, error instanceof Error ? error.message : String(error));
      return USE_MEMORY;
    } finally {
      clearTimeout(timer);
    }
  }

  #fellBack(what: string, why: string): void {
    if (this.#insurance) return;
    this.#insurance = true;
    this.#o.logger.warn(
      { component: 'ratelimit', during: what, reason: why },
      'Redis is unreachable: rate limits fall back to this node (insurance limiter)',
    );
  }
}

/**
 * Users are keyed within their tenant: the same user id in two tenants is two users. A JSON
 * array, so that no pair of ids can spell another pair's key (tenant `a/b` with user `c` is not
 * tenant `a` with user `b/c`).
 */
function userKey(userId: string, tenantId: string | null): string {
  return JSON.stringify(tenantId === null ? [userId] : [tenantId, userId]);
}
