/**
 * `@dotmac-ws/backend-redis`: Redis (and Redis Cluster) for the dotmac-ws gateway.
 * `RedisBackend` carries broadcasts between nodes (pub/sub, sharded or classic);
 * `RedisHistoryStore` keeps channel history for recovery (streams, appended and published in
 * one Lua script); `RedisPresenceStore` keeps channel members that expire unless their node
 * refreshes them. All three take the same connection options.
 *
 * @packageDocumentation
 */
export { RedisBackend, type RedisBackendStats } from './redis-backend';
export { RedisBackendError, type RedisBackendErrorCode } from './redis-backend-error';
export { REDIS_BACKEND_DEFAULTS, type RedisBackendOptions } from './redis-backend-options';
export {
  REDIS_HISTORY_STORE_DEFAULTS,
  RedisHistoryStore,
  type RedisHistoryStoreOptions,
} from './redis-history-store';
export {
  PRESENCE_KEY_GRACE_MS,
  RedisPresenceStore,
  type RedisPresenceStoreOptions,
} from './redis-presence-store';
