import type { ChannelOptions } from './channel-options';
import type { WebSocketSession } from './session';

/** A channel as a policy sees it. */
export interface ChannelRef {
  /** The name as the client names it, e.g. `news`. */
  name: string;
  /** The internal name, e.g. `tenant:acme:news` with tenant isolation on. */
  internal: string;
  /** The session's tenant, if any. */
  tenantId: string | null;
}

/**
 * Who may subscribe to and publish on which channel. `@dotmac-ws/auth-jwt` ships a
 * declarative one (`channelPolicy(rules)`).
 */
export interface ChannelPolicy {
  /** May `session` subscribe to `channel`? A `false` answer is sent as `forbidden`. */
  canSubscribe(session: WebSocketSession, channel: ChannelRef): boolean | Promise<boolean>;
  /** May `session` publish on `channel`? A `false` answer is sent as `forbidden`. */
  canPublish(session: WebSocketSession, channel: ChannelRef): boolean | Promise<boolean>;
  /**
   * What the channel has switched on: history, recovery, presence (protocol.md v1.1, "Channel
   * options"). It must answer the same for every session of the channel (it is the channel's,
   * not the session's) and quickly: it runs on every subscribe and publish. Unset, or null, means
   * none of them.
   * @default undefined (no channel has history or presence)
   */
  options?(channel: ChannelRef): ChannelOptions | null | undefined;
}

/** The default policy: anyone may subscribe; nobody may publish (unless `clientPublish` is on). */
export const defaultChannelPolicy: ChannelPolicy = {
  canSubscribe: () => true,
  canPublish: () => false,
};
