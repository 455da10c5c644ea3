/** The longest channel name (protocol.md, "Channels"). */
export const MAX_CHANNEL_LENGTH = 200;

const CHANNEL_NAME = /^[A-Za-z0-9_\-.:@/=]{1,200}$/;
const TENANT_ID = /^[A-Za-z0-9_\-.@/=]{1,200}$/;
const EVENT_NAME = /^[A-Za-z0-9_\-.:@/]{1,100}$/;

/** Internal prefix of tenant-scoped channels; tenantless clients may not name it. */
export const TENANT_CHANNEL_PREFIX = 'tenant:';

/** True for 1-200 characters of `A-Z a-z 0-9 _ - . : @ / =`. */
export function isValidChannelName(name: unknown): name is string {
  return typeof name === 'string' && CHANNEL_NAME.test(name);
}

/** True for a tenant id: the channel-name characters without `:`. */
export function isValidTenantId(id: unknown): id is string {
  return typeof id === 'string' && TENANT_ID.test(id);
}

/** True for a message type a client or the HTTP API may name for delivery. */
export function isValidEventName(name: unknown): name is string {
  return typeof name === 'string' && EVENT_NAME.test(name);
}

/**
 * The internal name of a channel. With tenant isolation on and a tenant set, `news` becomes
 * `tenant:{tenantId}:news`; otherwise the name is used as it is.
 */
export function internalChannelName(name: string, tenantId: string | null, tenantIsolation: boolean): string {
  return tenantIsolation && tenantId !== null ? `${TENANT_CHANNEL_PREFIX}${tenantId}:${name}` : name;
}
