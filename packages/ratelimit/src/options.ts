import {
  ConfigError,
  describeOptionValue,
  type Logger,
  silentLogger,
  withoutUndefined,
} from '@dotmac-ws/core';
import type { Redis } from 'ioredis';

/** Whose traffic a limit counts: the client address, the authenticated user, or the tenant. */
export type LimitScope = 'ip' | 'user' | 'tenant';

/** A token bucket: capacity `burstSize`, refilled at `messagesPerMinute / 60` tokens per second. */
export interface BucketLimit {
  /** Sustained rate, in frames per minute. Fractions are allowed (0.5 is one frame every 2 minutes). */
  messagesPerMinute: number;
  /** Capacity of the bucket: how many frames may arrive at once after a quiet spell. */
  burstSize: number;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimitOptions {
  /**
   * Open connections per client address (an IPv6 client per `ipv6PrefixLength` network); 0 is
   * unlimited.
   * @default 100
   */
  maxConnectionsPerIp?: number;
  /**
   * Open connections per user: counted at the handshake when a token names the user there, or
   * when the session authenticates in-band (the `auth` is then refused with `rate_limited` and
   * the session closed with 4429). 0 is unlimited.
   * @default 10
   */
  maxConnectionsPerUser?: number;
  /**
   * Open connections per tenant; 0 is unlimited. With the gateway's `requireToken`, a
   * connection counts toward its tenant only once it has authenticated.
   * @default 0
   */
  maxConnectionsPerTenant?: number;
  /**
   * The network prefix an IPv6 client is limited by, connections and messages alike: 64 puts
   * every address of one /64 (what one subscriber usually holds) under one key; 128 keys each
   * address. IPv4-mapped IPv6 addresses are keyed as IPv4.
   * @default 64
   */
  ipv6PrefixLength?: number;
  /** `Retry-After` (seconds) sent with a 429 for a connection limit. @default 5 */
  connectionRetryAfterSec?: number;
  /** Frames per minute of every message bucket that does not set its own. @default 120 */
  messagesPerMinute?: number;
  /** Burst of every message bucket that does not set its own. @default 20 */
  burstSize?: number;
  /**
   * Which message buckets apply, per scope: `true` uses `messagesPerMinute` / `burstSize`, an
   * object overrides either, `false` turns the scope off. A frame is performed only when every
   * applicable bucket has a token (and then takes one from each).
   * @default { ip: true, user: true, tenant: false }
   */
  messageLimits?: Partial<Record<LimitScope, boolean | Partial<BucketLimit>>>;
  /**
   * An extra bucket for `subscribe` frames, per user (per address before authentication).
   * @default false
   */
  subscribeLimit?: BucketLimit | false;
  /**
   * An extra bucket for `publish` frames, per user (per address before authentication).
   * @default false
   */
  publishLimit?: BucketLimit | false;
  /**
   * Redis, so that limits hold across every gateway node that uses the same Redis and
   * `keyPrefix`: an ioredis client (create it with `enableOfflineQueue: false` so that an
   * outage fails fast; it stays yours), or a `redis://` / `rediss://` URL (the limiter then
   * makes and closes its own client; ioredis must be installed). Unset keeps every count in
   * this process.
   * @default undefined
   */
  redis?: Redis | string;
  /** Prefix of every Redis key. @default 'dotmac:rl' */
  keyPrefix?: string;
  /**
   * With Redis: how long the open-connection counts of a node outlive its last sign of life.
   * Each node's counts are kept apart and count only while the node refreshes its liveness key,
   * so the counts of a node that died without closing its sockets (SIGKILL, power loss)
   * disappear cluster-wide within this time.
   * @default 30000
   */
  connectionCountTtlMs?: number;
  /**
   * With Redis: how often a node refreshes its liveness key; at most half of
   * `connectionCountTtlMs`.
   * @default 10000
   */
  connectionCountRefreshMs?: number;
  /**
   * How long a Redis call may take before this frame or handshake is decided by the in-memory
   * insurance limiter instead.
   * @default 250
   */
  redisTimeoutMs?: number;
  /**
   * Frames checked between two turns of the event loop: the limiter lets other sockets' I/O
   * run every this many frames, so that a flood from one client (its frames arrive in one
   * read and would otherwise be worked off in one go) does not hold up everyone else's
   * frames. 0 never yields.
   * @default 8
   */
  yieldEvery?: number;
  /** Where fallbacks to the insurance limiter and recoveries are logged. @default silentLogger */
  logger?: Logger;
}

/** A bucket as the limiter uses it: emission interval and tolerance in milliseconds. */
export interface ResolvedBucket {
  /** `ip`, `user`, `tenant`, `subscribe` or `publish`. */
  readonly name: LimitScope | 'subscribe' | 'publish';
  readonly limit: BucketLimit;
  /** Milliseconds per token. */
  readonly intervalMs: number;
  /** Milliseconds of credit the full bucket holds (`intervalMs * burstSize`). */
  readonly toleranceMs: number;
}

/** The options with defaults applied and checked. */
export interface ResolvedRateLimitOptions {
  readonly connections: Readonly<Record<LimitScope, number>>;
  readonly ipv6PrefixLength: number;
  readonly connectionCountTtlMs: number;
  readonly connectionCountRefreshMs: number;
  readonly connectionRetryAfterSec: number;
  readonly messages: Readonly<Partial<Record<LimitScope, ResolvedBucket>>>;
  readonly subscribe: ResolvedBucket | null;
  readonly publish: ResolvedBucket | null;
  readonly redis: Redis | string | null;
  readonly keyPrefix: string;
  readonly redisTimeoutMs: number;
  readonly yieldEvery: number;
  readonly logger: Logger;
}

/** The defaults of {@link RateLimitOptions}. */
export const RATE_LIMIT_DEFAULTS = {
  maxConnectionsPerIp: 100,
  maxConnectionsPerUser: 10,
  maxConnectionsPerTenant: 0,
  connectionRetryAfterSec: 5,
  ipv6PrefixLength: 64,
  connectionCountTtlMs: 30_000,
  connectionCountRefreshMs: 10_000,
  messagesPerMinute: 120,
  burstSize: 20,
  keyPrefix: 'dotmac:rl',
  redisTimeoutMs: 250,
  yieldEvery: 8,
} as const;

const SCOPES: readonly LimitScope[] = ['ip', 'user', 'tenant'];
const DEFAULT_MESSAGE_SCOPES: Readonly<Record<LimitScope, boolean>> = { ip: true, user: true, tenant: false };
const MAX_RATE = 60_000_000;
const MAX_BURST = 1_000_000;

/**
 * Applies defaults and checks every option. Throws one `ConfigError` that lists every problem.
 */
export function resolveRateLimitOptions(options: RateLimitOptions = {}): ResolvedRateLimitOptions {
  const problems: string[] = [];
  const o = { ...RATE_LIMIT_DEFAULTS, ...withoutUndefined(options) };

  const int = (key: string, v: unknown, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${key} is ${describeOptionValue(v)} when it must be an integer from ${min} to ${max}`);
      return min;
    }
    return v;
  };
  const rate = (key: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_RATE) {
      problems.push(
        `${key} is ${describeOptionValue(v)} when it must be a number above 0 and at most ${MAX_RATE}`,
      );
      return 1;
    }
    return v;
  };
  const bucket = (name: ResolvedBucket['name'], key: string, limit: BucketLimit): ResolvedBucket => {
    const messagesPerMinute = rate(`${key}.messagesPerMinute`, limit.messagesPerMinute);
    const burstSize = int(`${key}.burstSize`, limit.burstSize, 1, MAX_BURST);
    const intervalMs = 60_000 / messagesPerMinute;
    return { name, limit: { messagesPerMinute, burstSize }, intervalMs, toleranceMs: intervalMs * burstSize };
  };

  const connections = {
    ip: int('maxConnectionsPerIp', o.maxConnectionsPerIp, 0, 10_000_000),
    user: int('maxConnectionsPerUser', o.maxConnectionsPerUser, 0, 10_000_000),
    tenant: int('maxConnectionsPerTenant', o.maxConnectionsPerTenant, 0, 10_000_000),
  };
  const connectionRetryAfterSec = int('connectionRetryAfterSec', o.connectionRetryAfterSec, 0, 86_400);
  const ipv6PrefixLength = int('ipv6PrefixLength', o.ipv6PrefixLength, 1, 128);
  const connectionCountTtlMs = int('connectionCountTtlMs', o.connectionCountTtlMs, 1000, 86_400_000);
  const connectionCountRefreshMs = int(
    'connectionCountRefreshMs',
    o.connectionCountRefreshMs,
    100,
    Math.max(100, Math.floor(connectionCountTtlMs / 2)),
  );
  const base: BucketLimit = {
    messagesPerMinute: rate('messagesPerMinute', o.messagesPerMinute),
    burstSize: int('burstSize', o.burstSize, 1, MAX_BURST),
  };

  const messages: Partial<Record<LimitScope, ResolvedBucket>> = {};
  const given = o.messageLimits;
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    problems.push(
      `messageLimits is ${describeOptionValue(given)} when it must be an object keyed by ip, user or tenant`,
    );
  } else {
    for (const key of Object.keys(given ?? {})) {
      if (!SCOPES.includes(key as LimitScope)) {
        problems.push(`messageLimits.${key} is not a scope: use ip, user or tenant`);
      }
    }
    for (const scope of SCOPES) {
      const v = given?.[scope] ?? DEFAULT_MESSAGE_SCOPES[scope];
      if (v === false) continue;
      if (v === true) messages[scope] = bucket(scope, `messageLimits.${scope}`, base);
      else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        messages[scope] = bucket(scope, `messageLimits.${scope}`, { ...base, ...withoutUndefined(v) });
      } else {
        problems.push(
          `messageLimits.${scope} is ${describeOptionValue(v)} when it must be true, false or { messagesPerMinute?, burstSize? }`,
        );
      }
    }
  }

  const typeBucket = (name: 'subscribe' | 'publish', v: unknown): ResolvedBucket | null => {
    const key = `${name}Limit`;
    if (v === undefined || v === false) return null;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problems.push(
        `${key} is ${describeOptionValue(v)} when it must be false or { messagesPerMinute, burstSize }`,
      );
      return null;
    }
    return bucket(name, key, v as BucketLimit);
  };
  const subscribe = typeBucket('subscribe', o.subscribeLimit);
  const publish = typeBucket('publish', o.publishLimit);

  const redis = o.redis ?? null;
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\/\S*$/.test(redis)) {
      problems.push(
        `redis is ${describeOptionValue(redis)} when it must be an ioredis client or a redis:// or rediss:// URL`,
      );
    }
  } else if (redis !== null && (typeof redis !== 'object' || typeof redis.defineCommand !== 'function')) {
    problems.push(
      `redis is ${describeOptionValue(redis)} when it must be an ioredis client or a redis:// or rediss:// URL`,
    );
  }
  if (typeof o.keyPrefix !== 'string' || !/^[A-Za-z0-9_\-.:{}]{1,100}$/.test(o.keyPrefix)) {
    problems.push(
      `keyPrefix is ${describeOptionValue(o.keyPrefix)} when it must be 1-100 characters of A-Z a-z 0-9 _ - . : { }`,
    );
  }
  const redisTimeoutMs = int('redisTimeoutMs', o.redisTimeoutMs, 1, 60_000);
  const yieldEvery = int('yieldEvery', o.yieldEvery, 0, 1_000_000);
  const logger = o.logger ?? silentLogger;
  if (typeof logger !== 'object' || typeof logger.warn !== 'function') {
    problems.push('logger must be a Logger with debug, info, warn and error methods');
  }

  if (problems.length > 0) throw new ConfigError(problems, 'rate limit options');
  return {
    connections,
    ipv6PrefixLength,
    connectionCountTtlMs,
    connectionCountRefreshMs,
    connectionRetryAfterSec,
    messages,
    subscribe,
    publish,
    redis,
    keyPrefix: o.keyPrefix,
    redisTimeoutMs,
    yieldEvery,
    logger,
  };
}
