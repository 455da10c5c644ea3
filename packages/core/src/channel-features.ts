import type { Broadcaster } from './broadcaster';
import { type AnswerEntry, ChannelHistory } from './channel-history';
import { type ResolvedChannelOptions, resolveChannelOptions } from './channel-options';
import type { ChannelPolicy, ChannelRef } from './channel-policy';
import { ChannelPresence } from './channel-presence';
import type { ChannelRegistry } from './channel-registry';
import type { ResolvedGatewayConfig } from './config';
import type { Connection } from './connection';
import type { GatewayEvents } from './gateway-events';
import type { HookRunner } from './hook-runner';
import { promiseTry } from './promise-try';
import type { GatewayCounters } from './stats';
import type { StreamPosition } from './stream-position';

/** What a channel publish resolves with. */
export interface ChannelPublishResult {
  /** Local subscribers that got (or, in a channel with history, will get in order) the message. */
  delivered: number;
  /** Its offset, in a channel with history. */
  offset?: number;
  /** The channel's epoch, in a channel with history. */
  epoch?: string;
  /** True when the idempotency key was seen before: nothing was delivered again. */
  duplicate?: boolean;
}

/**
 * What {@link ChannelFeatures.send} gives: the result at once, a promise of it, or, for a plain
 * broadcast another node has to take, a promise of the local deliveries alone (the number a
 * result would hold), so that such a message, the most common one between nodes, waits on one
 * promise fewer. {@link sendResult} reads either. @internal
 */
export type ChannelSendResult = ChannelPublishResult | Promise<ChannelPublishResult | number>;

/** The result a settled {@link ChannelSendResult} stands for. @internal */
export function sendResult(settled: ChannelPublishResult | number): ChannelPublishResult {
  return typeof settled === 'number' ? { delivered: settled } : settled;
}

/** What channel features need of the node. @internal */
export interface ChannelFeaturesDeps {
  config: ResolvedGatewayConfig;
  nodeId: string;
  channels: ChannelRegistry<Connection>;
  broadcaster: Broadcaster;
  counters: GatewayCounters;
  hooks: HookRunner;
  events: GatewayEvents;
}

/** How long a hole in a channel's offsets waits for the missing publications before reading them. */
const GAP_WAIT_MS = 250;

/**
 * What channels have switched on (protocol.md v1.1, "Channel options"): reads each channel's
 * options from the channel policy and routes to history ({@link ChannelHistory}) and presence
 * ({@link ChannelPresence}): publishes in a channel with history are numbered, a session leaving
 * a channel leaves its presence. @internal
 */
export class ChannelFeatures {
  readonly history: ChannelHistory;
  readonly presence: ChannelPresence;
  readonly #d: ChannelFeaturesDeps;
  readonly #policy: ChannelPolicy;

  constructor(deps: ChannelFeaturesDeps) {
    this.#d = deps;
    const { config } = deps;
    this.#policy = config.channelPolicy;
    const onError = (error: unknown, context: string) => deps.hooks.reportError(error, context);
    this.history = new ChannelHistory({
      nodeId: deps.nodeId,
      store: config.history,
      backend: config.backend,
      channels: deps.channels,
      counters: deps.counters,
      hooks: deps.hooks,
      onError,
      gapWaitMs: GAP_WAIT_MS,
    });
    this.presence = new ChannelPresence({
      nodeId: deps.nodeId,
      store: config.presence,
      broadcaster: deps.broadcaster,
      counters: deps.counters,
      onError,
      ttlMs: config.presenceTtlMs,
      graceMs: config.presenceGraceMs,
      maxInfoBytes: config.maxPresenceInfoBytes,
      events: deps.events,
    });
  }

  /** The channel's options; a policy that throws counts as none (and is reported). */
  options(ref: ChannelRef): ResolvedChannelOptions {
    if (this.#policy.options === undefined) return resolveChannelOptions(null);
    try {
      return resolveChannelOptions(this.#policy.options(ref));
    } catch (error) {
      this.#d.hooks.reportError(error, 'channel policy options');
      return resolveChannelOptions(null);
    }
  }

  /**
   * Publishes `{type, channel, data}` to the channel on every node: numbered through the history
   * store where the channel has history, else as a plain broadcast. Rejects with a
   * `BackendUnavailableError` when the store or the backend did not take it.
   */
  publish(
    ref: ChannelRef,
    type: string,
    data: unknown,
    idempotencyKey?: string,
  ): Promise<ChannelPublishResult> {
    return promiseTry(() => this.send(ref, type, data, idempotencyKey)).then(sendResult);
  }

  /**
   * {@link publish} without a promise where none is needed: the result at once when nothing
   * remote has to take the message (no history, no other node), else a promise of it or of the
   * local deliveries alone ({@link ChannelSendResult}). Throws what serializing `data` throws.
   */
  send(ref: ChannelRef, type: string, data: unknown, idempotencyKey?: string): ChannelSendResult {
    const options = this.options(ref);
    if (options.historySize > 0) {
      return this.history
        .publish(ref, options, type, data, idempotencyKey)
        .then((r) => ({ delivered: r.delivered, offset: r.offset, epoch: r.epoch, duplicate: r.duplicate }));
    }
    const delivered = this.#d.broadcaster.send(
      { kind: 'channel', channel: ref.internal, name: ref.name },
      type,
      data,
    );
    return typeof delivered === 'number' ? { delivered } : delivered;
  }

  /**
   * Subscribes `connection` to a channel it is allowed to (the caller checked): takes it into
   * the channel's presence (or refuses `presence_full`), then into the channel, answering through
   * `answer` with the channel's position and, with `since` (or `recovery: cache`), what the client
   * missed; then announces its `join`. Resolves false when the session closed or subscribed
   * meanwhile (nothing was answered). `options` are the channel's, when the caller has them.
   */
  async subscribe(
    connection: Connection,
    ref: ChannelRef,
    since: StreamPosition | null,
    answer: (fields: Record<string, unknown>, publications: AnswerEntry[] | null) => void,
    options: ResolvedChannelOptions = this.options(ref),
  ): Promise<boolean> {
    const name = ref.name;
    if (!connection.session.isOpen || connection.subscriptions.has(name)) return false;
    const member = options.presence ? await this.presence.join(connection, ref, options) : null;
    if (!connection.session.isOpen || connection.subscriptions.has(name)) {
      if (member !== null) this.presence.left(connection, ref.internal, false);
      return false;
    }
    connection.addSubscription(name, ref.internal);
    try {
      if (options.historySize > 0) {
        await this.history.subscribe(connection, ref, options, since, answer, (c) => this.#join(c, ref));
      } else {
        await this.#join(connection, ref);
        answer({}, null);
      }
    } catch (error) {
      if (connection.subscriptions.get(name) === ref.internal)
        this.unsubscribe(connection, name, ref.internal);
      throw error;
    }
    if (member !== null && connection.subscriptions.get(name) === ref.internal)
      this.presence.announceJoin(ref, member);
    return true;
  }

  /** Takes the session out of a channel it holds (an unsubscribe, or a subscription dropped). */
  unsubscribe(connection: Connection, name: string, internal: string): void {
    connection.removeSubscription(name);
    this.leave(connection, name, internal, false);
  }

  /** The session left the channel (unsubscribed, dropped, or disconnected). */
  leave(connection: Connection, name: string, internal: string, disconnected: boolean): void {
    const channels = this.#d.channels;
    const had = channels.subscribers(internal).has(connection);
    channels.remove(internal, connection);
    if (channels.subscribers(internal).size === 0) {
      this.history.released(internal);
      if (had)
        this.#d.events.emit('channel.vacated', {
          channel: { name, internal, tenantId: connection.tenantId },
        });
    }
    this.presence.left(connection, internal, disconnected);
  }

  /** Adds the session to the channel's local subscribers (telling `channel.occupied` for the first). */
  async #join(connection: Connection, ref: ChannelRef): Promise<void> {
    const channels = this.#d.channels;
    const first = channels.subscribers(ref.internal).size === 0;
    const added = channels.add(ref.internal, connection);
    if (first && channels.subscribers(ref.internal).size === 1)
      this.#d.events.emit('channel.occupied', { channel: ref });
    await added;
  }

  /** Starts the stores and the presence refresher. */
  async start(): Promise<void> {
    const { config } = this.#d;
    await config.history.start();
    await config.presence.start();
    this.presence.start();
    if (config.backend.name !== 'memory' && config.history.name === 'memory') {
      config.logger.warn(
        { backend: config.backend.name },
        "history and presence are kept per node (memory stores) while the backend is a broker: pass the backend package's stores",
      );
    }
  }

  /** Removes this node's presence members and stops the stores. */
  async stop(): Promise<void> {
    const { config } = this.#d;
    await this.presence.stop().catch((error: unknown) => this.#d.hooks.reportError(error, 'presence stop'));
    await config.presence
      .stop()
      .catch((error: unknown) => this.#d.hooks.reportError(error, 'presence store stop'));
    await config.history
      .stop()
      .catch((error: unknown) => this.#d.hooks.reportError(error, 'history store stop'));
  }

  /** Counters for `/api/stats`. */
  stats(): Record<string, number> {
    return { ...this.history.stats(), presence_members_local: this.presence.memberCount };
  }
}
