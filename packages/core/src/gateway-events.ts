import type { ChannelRef } from './channel-policy';
import type { PresenceMember } from './presence-store';
import type { WebSocketSession } from './session';

/**
 * What happens in a gateway that an application may want to hear of (webhooks, audit logs).
 * Listeners run synchronously where the event happens and must not block; a listener that
 * throws is reported (`onError`) and does not disturb the session.
 */
export interface GatewayEventMap {
  /** A session opened (after `welcome`). */
  'session.connected': { session: WebSocketSession };
  /** A session closed: its close code and reason, and how long it lived. */
  'session.disconnected': { session: WebSocketSession; code: number; reason: string; durationMs: number };
  /** This node's first subscriber of a channel arrived (other nodes may have subscribers already). */
  'channel.occupied': { channel: ChannelRef };
  /** This node's last subscriber of a channel left. */
  'channel.vacated': { channel: ChannelRef };
  /** A member joined a channel with presence (told by the node it joined, once). */
  'presence.member_added': { channel: ChannelRef; member: PresenceMember };
  /** A member left a channel with presence (told once, by its node or by the node that pruned it). */
  'presence.member_removed': { channel: ChannelRef; member: PresenceMember };
  /** A client's publish was accepted (after the channel policy), before it is delivered. */
  'client.publish': { session: WebSocketSession; channel: ChannelRef; type: string; data: unknown };
}

/** A gateway event's name. */
export type GatewayEventName = keyof GatewayEventMap;

/** A listener of one gateway event. */
export type GatewayEventListener<K extends GatewayEventName> = (event: GatewayEventMap[K]) => void;

/**
 * The listeners of a gateway's events (`gateway.on`). Emitting costs one map lookup when
 * nobody listens. @internal
 */
export class GatewayEvents {
  readonly #listeners = new Map<GatewayEventName, Set<(event: never) => void>>();
  readonly #onError: (error: unknown, context: string) => void;

  constructor(onError: (error: unknown, context: string) => void) {
    this.#onError = onError;
  }

  /** True when `name` has a listener (to skip building the event). */
  has(name: GatewayEventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  on<K extends GatewayEventName>(name: K, listener: GatewayEventListener<K>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<K extends GatewayEventName>(name: K, event: GatewayEventMap[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as GatewayEventListener<K>)(event);
      } catch (error) {
        this.#onError(error, `gateway event listener of ${name}`);
      }
    }
  }
}
