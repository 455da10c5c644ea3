import { channelTopic } from './broadcast-envelope';
import type { TopicInterest } from './topic-interest';

/**
 * Which local members (connections) are subscribed to which internal channel. A channel's
 * first member makes the node need its backend topic, its last one drops it.
 */
export class ChannelRegistry<M> {
  readonly #channels = new Map<string, Set<M>>();
  readonly #interest: TopicInterest;
  readonly #none: ReadonlySet<M> = new Set();
  #subscriptions = 0;

  constructor(interest: TopicInterest) {
    this.#interest = interest;
  }

  /** Number of channels with at least one local subscriber. */
  get channelCount(): number {
    return this.#channels.size;
  }
  /** Number of (member, channel) subscriptions. */
  get subscriptionCount(): number {
    return this.#subscriptions;
  }

  /** Adds a subscriber; resolves once the node's backend subscription to the channel is in place. */
  add(internal: string, member: M): Promise<void> {
    const topic = channelTopic(internal);
    let set = this.#channels.get(internal);
    if (set === undefined) {
      set = new Set();
      this.#channels.set(internal, set);
    }
    if (!set.has(member)) {
      set.add(member);
      this.#subscriptions++;
    }
    return this.#interest.need(topic);
  }

  /** Removes a subscriber; the last one's removal drops the backend topic. */
  remove(internal: string, member: M): void {
    const set = this.#channels.get(internal);
    if (set === undefined || !set.delete(member)) return;
    this.#subscriptions--;
    if (set.size > 0) return;
    this.#channels.delete(internal);
    this.#interest.drop(channelTopic(internal));
  }

  /** Every channel with local subscribers, and how many. */
  *counts(): IterableIterator<[string, number]> {
    for (const [internal, set] of this.#channels) yield [internal, set.size];
  }

  /** The local subscribers of an internal channel. */
  subscribers(internal: string): ReadonlySet<M> {
    return this.#channels.get(internal) ?? this.#none;
  }
}
