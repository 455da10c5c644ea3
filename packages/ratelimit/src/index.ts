export type { BucketRef, BucketStore, TakeResult } from './bucket-store';
export { type ConnectionCounter, type CounterRef, MemoryConnectionCounter } from './connection-counter';
export { MemoryBucketStore } from './memory-bucket-store';
export {
  type BucketLimit,
  type LimitScope,
  RATE_LIMIT_DEFAULTS,
  type RateLimitOptions,
  type ResolvedBucket,
  type ResolvedRateLimitOptions,
  resolveRateLimitOptions,
} from './options';
export type { BucketUsage, ConnectionUsage, RateLimitStatus } from './rate-limit-status';
export { createRateLimiter, type RateLimiter } from './rate-limiter';
export { RedisBucketStore } from './redis-bucket-store';
export { RedisConnectionCounter } from './redis-connection-counter';
