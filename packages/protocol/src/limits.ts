/** The longest channel name ("Channels"). */
export const MAX_CHANNEL_LENGTH = 200;

/** A channel name: 1-200 characters of `A-Z a-z 0-9 _ - . : @ / =` ("Channels"). */
export const CHANNEL_NAME_PATTERN: RegExp = /^[A-Za-z0-9_\-.:@/=]{1,200}$/;

/** A tenant id: the channel-name characters without `:` ("Tenants"). */
export const TENANT_ID_PATTERN: RegExp = /^[A-Za-z0-9_\-.@/=]{1,200}$/;

/** The longest publish `event` (the delivered type). */
export const MAX_EVENT_LENGTH = 100;

/** A publish `event`: 1-100 characters of `A-Z a-z 0-9 _ - . : @ /` (docs/protocol.md). */
export const EVENT_NAME_PATTERN: RegExp = /^[A-Za-z0-9_\-.:@/]{1,100}$/;

/** The longest request id string a server echoes; a numeric id must be a safe integer. */
export const MAX_ID_LENGTH = 128;

/** The longest frame `type`. */
export const MAX_TYPE_LENGTH = 100;

/** The default `max_message_bytes`: a larger inbound frame is closed with 1009. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/** The default `max_subscriptions_per_session`. */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_SESSION = 128;

/** The event of a `publish` that names none. */
export const DEFAULT_EVENT = 'message';

/** Internal prefix of tenant-scoped channels (`tenant:{tenant_id}:{name}`); tenantless clients may not name it. */
export const TENANT_CHANNEL_PREFIX = 'tenant:';

/** True for a valid channel name (see {@link CHANNEL_NAME_PATTERN}). */
export function isValidChannelName(name: unknown): name is string {
  return typeof name === 'string' && CHANNEL_NAME_PATTERN.test(name);
}

/** True for a valid tenant id (see {@link TENANT_ID_PATTERN}). */
export function isValidTenantId(id: unknown): id is string {
  return typeof id === 'string' && TENANT_ID_PATTERN.test(id);
}

/** True for a valid publish `event` (see {@link EVENT_NAME_PATTERN}); server frame types are refused separately. */
export function isValidEventName(name: unknown): name is string {
  return typeof name === 'string' && EVENT_NAME_PATTERN.test(name);
}
