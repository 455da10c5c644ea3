import type { WebSocketSession } from './session';

const NONE: ReadonlySet<WebSocketSession> = new Set();

/** Which local sessions are subscribed to which internal channel. */
export class ChannelRegistry {
  readonly #channels = new Map<string, Set<WebSocketSession>>();
  #subscriptions = 0;

  /** Number of channels with at least one local subscriber. */
  get channelCount(): number {
    return this.#channels.size;
  }
  /** Number of (session, channel) subscriptions. */
  get subscriptionCount(): number {
    return this.#subscriptions;
  }

  /** Adds a subscriber; `first` when the channel had none before. */
  add(internal: string, session: WebSocketSession): { added: boolean; first: boolean } {
    let set = this.#channels.get(internal);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#channels.set(internal, set);
    }
    if (set.has(session)) return { added: false, first: false };
    set.add(session);
    this.#subscriptions++;
    return { added: true, first };
  }

  /** Removes a subscriber; true when it was the last one of the channel. */
  remove(internal: string, session: WebSocketSession): boolean {
    const set = this.#channels.get(internal);
    if (set === undefined || !set.delete(session)) return false;
    this.#subscriptions--;
    if (set.size > 0) return false;
    this.#channels.delete(internal);
    return true;
  }

  subscribers(internal: string): ReadonlySet<WebSocketSession> {
    return this.#channels.get(internal) ?? NONE;
  }
}
