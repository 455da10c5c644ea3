import type { ChannelMessageFrame, SubscribeAckData } from './protocol';

/** Receives the messages of a channel: the payload, and the whole frame (its `type` is the event). */
export type ChannelHandler<D = unknown> = (data: D, frame: ChannelMessageFrame<D>) => void;

/**
 * One `subscribe()` call. The client keeps the server-side subscription while any
 * subscription of the channel is active, and restores it after every reconnect.
 */
export class Subscription<D = unknown> {
  /** The channel, as the client names it. */
  readonly channel: string;
  /**
   * Resolves with the first `subscribe` ack; rejects with a `ServerError` when the server refuses
   * the channel (the subscription is then removed).
   */
  readonly ready: Promise<SubscribeAckData>;
  readonly #handler: ChannelHandler<D>;
  readonly #remove: (subscription: Subscription<D>) => Promise<void>;
  #active = true;
  #settle: { resolve: (ack: SubscribeAckData) => void; reject: (error: Error) => void } | undefined;

  /** @internal Created by `client.subscribe()`. */
  constructor(
    channel: string,
    handler: ChannelHandler<D>,
    remove: (subscription: Subscription<D>) => Promise<void>,
  ) {
    this.channel = channel;
    this.#handler = handler;
    this.#remove = remove;
    this.ready = new Promise<SubscribeAckData>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    // Awaiting `ready` is optional: a refusal also reaches `subscription_error` listeners.
    this.ready.catch(() => undefined);
  }

  /** False once unsubscribed or refused. */
  get active(): boolean {
    return this.#active;
  }

  /** Stops the handler; the last subscription of a channel unsubscribes on the server. */
  unsubscribe(): Promise<void> {
    if (!this.#active) return Promise.resolve();
    this.#active = false;
    return this.#remove(this);
  }

  /** @internal */
  acknowledged(ack: SubscribeAckData): void {
    this.#settle?.resolve(ack);
    this.#settle = undefined;
  }

  /** @internal */
  refused(error: Error): void {
    this.#active = false;
    this.#settle?.reject(error);
    this.#settle = undefined;
  }

  /** @internal */
  deliver(frame: ChannelMessageFrame): void {
    if (this.#active) this.#handler(frame.data as D, frame as ChannelMessageFrame<D>);
  }
}
