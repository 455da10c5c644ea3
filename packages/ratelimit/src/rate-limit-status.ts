import type { LimitScope } from './options';

/** One open-connection count of a session's keys. */
export interface ConnectionUsage {
  /** Whose connections: the address, the user or the tenant. */
  scope: LimitScope;
  /** The address, user id (`tenant/user` within a tenant) or tenant id. */
  key: string;
  /** Most open connections allowed. */
  limit: number;
  /** Open connections now (on every node with Redis). */
  open: number;
}

/** One message bucket of a session's keys. */
export interface BucketUsage {
  /** `ip`, `user`, `tenant`, or the extra `subscribe` / `publish` bucket. */
  bucket: LimitScope | 'subscribe' | 'publish';
  /** What the bucket is keyed by (address, user, tenant; `a:` address or `u:` user for type buckets). */
  key: string;
  /** Refill rate. */
  messagesPerMinute: number;
  /** Capacity. */
  burstSize: number;
  /** Whole tokens left now. */
  remaining: number;
}

/** What `getRateLimitStatus(session)` answers. */
export interface RateLimitStatus {
  /** `memory`, `redis`, or `insurance` (Redis configured but unreachable: counts are this node's). */
  store: 'memory' | 'redis' | 'insurance';
  /** The connection limits that apply to the session's address, user and tenant. */
  connections: ConnectionUsage[];
  /** The message buckets that apply to the session's frames. */
  messages: BucketUsage[];
}
