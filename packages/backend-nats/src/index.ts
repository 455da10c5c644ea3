/**
 * `@dotmac-ws/backend-nats`: the NATS scaling backend of the dotmac-ws gateway.
 *
 * @packageDocumentation
 */
export { NatsBackend, type NatsBackendStats } from './nats-backend';
export { NatsBackendError, type NatsBackendErrorCode } from './nats-backend-error';
export { NATS_BACKEND_DEFAULTS, type NatsBackendOptions } from './nats-backend-options';
export { decodeToken, encodeToken, MAX_TOKEN_LENGTH, subjectToTopic, topicToSubject } from './nats-subject';
