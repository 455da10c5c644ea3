import type { ChannelStream, ResyncEvent } from './channel-stream';
import type { DotmacClient, HistoryOptions, RequestOptions } from './client';
import { TypedEmitter } from './event-emitter';
import type {
  ChannelMessageFrame,
  ClientInfo,
  HistoryAckData,
  PresenceAckData,
  PresenceStatsAckData,
  SinceOffset,
  SubscribeAckData,
} from './protocol';

/** Receives the messages of a channel: the payload, and the whole frame (its `type` is the event). */
export type ChannelHandler<D = unknown> = (data: D, frame: ChannelMessageFrame<D>) => void;

/**
 * Where a subscription is:
 * - `subscribing`: waiting for the `subscribe` ack (first, or after a reconnect);
 * - `subscribed`: the server holds it on the current connection;
 * - `unsubscribed`: ended by `unsubscribe()`, a refusal or the server (`unsubscribed` push).
 */
export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

/** The `subscribed` event: one `subscribe` ack (or `subscribed` push). */
export interface SubscribedEvent {
  ack: SubscribeAckData;
  /** The ack's `recovered`: true or false when it answered a resubscribe from a position. */
  recovered: boolean | undefined;
  /** False for the first ack, true for every one after a reconnect. */
  resubscribed: boolean;
}

/** Every event of a subscription, by name. */
export interface SubscriptionEventMap<D = unknown> {
  /** Any state change. */
  state: { state: SubscriptionState; previous: SubscriptionState };
  /** Every ack: the first, and every resubscribe after a reconnect. */
  subscribed: SubscribedEvent;
  /**
   * Publications were missed and could not be recovered: reload the channel's state from the
   * application, then carry on (the messages that follow come after `position`).
   */
  resync: ResyncEvent;
  /** Every message, after the handler ran (the one way to read a server-side subscription). */
  message: ChannelMessageFrame<D>;
  /** A member joined the channel (presence with `join_leave`). */
  join: ClientInfo;
  /** A member left the channel. */
  leave: ClientInfo;
  /**
   * The subscription ended: `reason` is `unsubscribe` after `unsubscribe()`, the error code of a
   * refusal, or the `reason` of the server's `unsubscribed` push (undefined when it gave none).
   */
  unsubscribed: { reason: string | undefined };
}

/** @internal How a subscription reaches its client. */
export interface SubscriptionLink {
  readonly client: DotmacClient;
  readonly stream: ChannelStream;
  remove(subscription: Subscription): Promise<void>;
  reportError(error: unknown, context: string): void;
}

/**
 * One `subscribe()` call, or a subscription the server made (`serverSide`). The client keeps the
 * server-side subscription of a channel while any subscription of it is active, restores it
 * after every reconnect, and recovers what was missed meanwhile where the channel has history.
 */
export class Subscription<D = unknown> {
  /** The channel, as the client names it. */
  readonly channel: string;
  /** True when the server subscribed the session (a `subscribed` push), not `client.subscribe()`. */
  readonly serverSide: boolean;
  /**
   * Resolves with the first `subscribe` ack; rejects with a `ServerError` when the server refuses
   * the channel (the subscription is then removed).
   */
  readonly ready: Promise<SubscribeAckData>;
  readonly #handler: ChannelHandler<D> | undefined;
  readonly #link: SubscriptionLink;
  readonly #events: TypedEmitter<SubscriptionEventMap<D>>;
  #state: SubscriptionState = 'subscribing';
  #acks = 0;
  #settle: { resolve: (ack: SubscribeAckData) => void; reject: (error: Error) => void } | undefined;

  /** @internal Created by `client.subscribe()`, or by the client for a `subscribed` push. */
  constructor(channel: string, handler: ChannelHandler<D> | undefined, link: SubscriptionLink) {
    this.channel = channel;
    this.serverSide = handler === undefined;
    this.#handler = handler;
    this.#link = link;
    this.#events = new TypedEmitter((error) => link.reportError(error, `listener of channel ${channel}`));
    this.ready = new Promise<SubscribeAckData>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // Awaiting `ready` is optional: a refusal also reaches `subscription_error` listeners.
    this.ready.catch(() => undefined);
  }

  /** False once unsubscribed or refused. */
  get active(): boolean {
    return this.#state !== 'unsubscribed';
  }

  /** Where the subscription is (see {@link SubscriptionState}). */
  get state(): SubscriptionState {
    return this.#state;
  }

  /**
   * The position of the last publication delivered (or of the last ack): what a resubscribe
   * recovers from. Undefined while the channel has no history.
   */
  get position(): SinceOffset | undefined {
    const p = this.#link.stream.position;
    return p && { offset: p.offset, epoch: p.epoch };
  }

  /** `recovered` of the last (re)subscribe ack: undefined when it did not recover from a position. */
  get recovered(): boolean | undefined {
    return this.#link.stream.recovered;
  }

  /** Adds a listener of a subscription event (`resync`, `join`, `message`, …); returns its remover. */
  on<K extends keyof SubscriptionEventMap<D>>(
    type: K,
    listener: (event: SubscriptionEventMap<D>[K]) => void,
  ): () => void {
    return this.#events.on(type, listener);
  }

  /** Stops the handler; the last subscription of a channel unsubscribes on the server. */
  unsubscribe(): Promise<void> {
    if (!this.active) return Promise.resolve();
    this.#end('unsubscribe');
    return this.#link.remove(this as Subscription);
  }

  /**
   * Reads the channel's history (it needs history on the channel and subscribe permission).
   *
   * @example
   * const { publications } = await sub.history({ limit: 10, reverse: true }) // the 10 latest, newest first
   */
  history(options?: HistoryOptions): Promise<HistoryAckData> {
    return this.#link.client.history(this.channel, options);
  }

  /** The channel's members, by session id (it needs presence on the channel). */
  presence(options?: RequestOptions): Promise<PresenceAckData> {
    return this.#link.client.presence(this.channel, options);
  }

  /** How many sessions and distinct users are members of the channel. */
  presenceStats(options?: RequestOptions): Promise<PresenceStatsAckData> {
    return this.#link.client.presenceStats(this.channel, options);
  }

  #setState(state: SubscriptionState): void {
    const previous = this.#state;
    if (previous === state || previous === 'unsubscribed') return;
    this.#state = state;
    this.#events.emit('state', { state, previous });
  }

  #end(reason: string | undefined): void {
    if (!this.active) return;
    this.#setState('unsubscribed');
    this.#events.emit('unsubscribed', { reason });
  }

  /** @internal An ack (or `subscribed` push) of the channel. */
  acknowledged(ack: SubscribeAckData): void {
    if (!this.active) return;
    this.#settle?.resolve(ack);
    this.#settle = undefined;
    this.#setState('subscribed');
    this.#events.emit('subscribed', { ack, recovered: ack.recovered, resubscribed: this.#acks++ > 0 });
  }

  /** @internal The connection was lost: a resubscribe follows. */
  suspended(): void {
    this.#setState('subscribing');
  }

  /** @internal The server refused the channel, or unsubscribed the session (`unsubscribed` push). */
  ended(reason: string | undefined, error: Error): void {
    this.#settle?.reject(error);
    this.#settle = undefined;
    this.#end(reason);
  }

  /** @internal A channel event for listeners (`resync`, `join`, `leave`). */
  emit<K extends 'resync' | 'join' | 'leave'>(type: K, event: SubscriptionEventMap<D>[K]): void {
    if (this.active) this.#events.emit(type, event);
  }

  /** @internal */
  deliver(frame: ChannelMessageFrame): void {
    if (!this.active) return;
    try {
      this.#handler?.(frame.data as D, frame as ChannelMessageFrame<D>);
    } catch (error) {
      this.#link.reportError(error, `handler of channel ${this.channel}`);
    }
    this.#events.emit('message', frame as ChannelMessageFrame<D>);
  }
}
