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
