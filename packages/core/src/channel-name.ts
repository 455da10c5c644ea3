// The naming rules are the protocol's: one source for core, the client and third parties.
import { TENANT_CHANNEL_PREFIX } from '@dotmac-ws/protocol';

export {
  isValidChannelName,
  isValidEventName,
  isValidTenantId,
  MAX_CHANNEL_LENGTH,
  TENANT_CHANNEL_PREFIX,
} from '@dotmac-ws/protocol';

/**
 * The internal name of a channel. With tenant isolation on and a tenant set, `news` becomes
 * `tenant:{tenantId}:news`; otherwise the name is used as it is.
 */
export function internalChannelName(name: string, tenantId: string | null, tenantIsolation: boolean): string {
  return tenantIsolation && tenantId !== null ? `${TENANT_CHANNEL_PREFIX}${tenantId}:${name}` : name;
}
