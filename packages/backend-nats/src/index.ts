/**
 * `@dotmac-ws/backend-nats`: the NATS scaling backend of the dotmac-ws gateway.
 *
 * @packageDocumentation
 */
export { NatsBackend, type NatsBackendStats } from './nats-backend';
export { NatsBackendError, type NatsBackendErrorCode } from './nats-backend-error';
export { NATS_BACKEND_DEFAULTS, type NatsBackendOptions } from './nats-backend-options';
export { NatsHistoryStore } from './nats-history-store';
export { NatsPresenceStore } from './nats-presence-store';
export {
  NATS_HISTORY_STORE_DEFAULTS,
  NATS_PRESENCE_STORE_DEFAULTS,
  type NatsHistoryStoreOptions,
  type NatsPresenceStoreOptions,
  type NatsStoreOptions,
  type NatsStoreStorage,
} from './nats-store-options';
export { decodeToken, encodeToken, MAX_TOKEN_LENGTH, subjectToTopic, topicToSubject } from './nats-subject';
