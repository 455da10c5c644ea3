import {
  type Backend,
  type BackendDeliver,
  type BackendUnavailableError,
  type BrokerBackendStats,
  type ComponentHealth,
  droppedPublishError,
  errorText,
  StartStopLifecycle,
  timedPing,
  waitAtMost,
  withTimeout,
} from '@dotmac-ws/core';
import { Cluster, type Redis } from 'ioredis';
import { isScriptRefusal, PublishBatcher, runsScripts } from './publish-batch';
import { NoPublishAnswer, PublishWatch } from './publish-watch';
import { RedisBackendError } from './redis-backend-error';
import {
  type RedisBackendOptions,
  type ResolvedRedisBackendOptions,
  resolveRedisBackendOptions,
} from './redis-backend-options';
import {
  type RedisConnection as Connection,
  isConnectionError,
  openEveryClusterNode,
  openRedisConnection,
  whenRedisReady,
} from './redis-connection';
import { TurnCorker } from './turn-corker';

/** Topics sent per `SUBSCRIBE` when a whole set is subscribed again after a reconnection. */
const RESUBSCRIBE_BATCH = 500;

/** The counters of {@link RedisBackend.stats}: the ones every broker backend keeps. */
export type RedisBackendStats = BrokerBackendStats;

/**
 * The Redis scaling backend: gateway nodes on one Redis (or Redis Cluster) reach each other
 * through pub/sub. A publisher and a subscriber connection are kept apart; a node subscribes
 * only to the topics its sessions need (`{keyPrefix}{topic}`), and resubscribes to all of them
 * by itself when Redis returns. While Redis is unreachable, `publish` drops and counts instead
 * of queueing (see {@link RedisBackendStats.dropped}) and rejects with `BackendUnavailableError`,
 * so memory stays bounded, local delivery goes on and the sender is told.
 *
 * @example
 * const gateway = new WebSocketGateway({
 *   backend: new RedisBackend({ url: 'redis://127.0.0.1:6379', keyPrefix: 'chat:' }),
 * })
 */
export class RedisBackend implements Backend {
  readonly name = 'redis';
  readonly #o: ResolvedRedisBackendOptions;
  /** Topics the gateway wants, whatever the state of the connection. */
  readonly #topics = new Set<string>();
  #pub: Connection | null = null;
  readonly #corker = new TurnCorker();
  readonly #batcher = new PublishBatcher({
    published: (count) => (this.#stats.published += count),
    watch: (call) => this.#watch.watch(call),
  });
  /** Every publish call answered within `commandTimeoutMs`, or refused while Redis is silent. */
  readonly #watch: PublishWatch;
  /** Publishes of a turn go as one script call (a single Redis that runs scripts; see PublishBatcher). */
  #batching = false;
  #sub: Connection | null = null;
  #deliver: BackendDeliver | null = null;
  readonly #life = new StartStopLifecycle({ open: () => this.#start(), close: () => this.#stop() });
  #resubscribing = 0;
  #everReady = false;
  #down = false;
  #lastError: string | null = null;
  readonly #stats: RedisBackendStats = {
    published: 0,
    received: 0,
    dropped: 0,
    errors: 0,
    resubscribes: 0,
    outages: 0,
    topics: 0,
  };

  /** Validates `options` (throwing one `ConfigError` that lists every problem). */
  constructor(options: RedisBackendOptions = {}) {
    this.#o = resolveRedisBackendOptions(options);
    this.#watch = new PublishWatch(this.#o.commandTimeoutMs);
  }

  /** True when talking to a Redis Cluster. */
  get isCluster(): boolean {
    return this.#o.clusterNodes !== null;
  }

  /** The Redis channel that carries `topic`. */
  channelOf(topic: string): string {
    return `${this.#o.keyPrefix}${topic}`;
  }

  /** Connects both connections; rejects with `connect_failed` when Redis is not ready in time. */
  start(deliver: BackendDeliver): Promise<void> {
    this.#deliver = deliver;
    return this.#life.start();
  }

  async #start(): Promise<void> {
    this.#pub = this.#connect('pub');
    this.#sub = this.#connect('sub');
    const sub = this.#sub;
    const onMessage = (channel: Buffer, message: Buffer) => this.#onMessage(channel, message);
    sub.on(this.#o.sharded ? 'smessageBuffer' : 'messageBuffer', onMessage);
    sub.on('ready', () => this.#resubscribe(sub));
    const lastError = () => this.#lastError;
    try {
      await Promise.all([
        whenRedisReady(this.#pub, this.#o, lastError),
        whenRedisReady(sub, this.#o, lastError),
      ]);
    } catch (error) {
      const pub = this.#pub;
      this.#pub = null;
      this.#sub = null;
      pub.disconnect();
      sub.disconnect();
      throw error;
    }
    await openEveryClusterNode(this.#pub);
    const pub = this.#pub;
    const batchable = !(pub instanceof Cluster) && !this.#o.sharded && this.#o.batchPublishes;
    if (batchable) this.#batching = await runsScripts(pub, this.#o.commandTimeoutMs);
    this.#everReady = true;
    this.#o.logger.info(
      { backend: 'redis', redis: this.#o.displayUrl, sharded: this.#o.sharded, batching: this.#batching },
      'redis backend connected',
    );
    if (batchable && !this.#batching) {
      this.#o.logger.warn(
        { backend: 'redis' },
        'redis refuses EVAL: publishing one PUBLISH per message instead of one script call per turn',
      );
    }
  }

  #connect(role: 'pub' | 'sub'): Connection {
    return openRedisConnection(
      this.#o,
      role,
      {
        onError: (error) => {
          this.#lastError = error.message;
        },
        onClose: () => this.#onDown(role),
        onReady: () => this.#onUp(),
      },
      role === 'sub' && this.#o.sharded,
    );
  }

  #onDown(role: string): void {
    if (!this.#everReady || this.#life.stopped || this.#down) return;
    this.#down = true;
    this.#stats.outages++;
    this.#o.logger.warn(
      { backend: 'redis', connection: role, error: this.#lastError },
      'redis connection lost: publishing is dropped and counted until it returns',
    );
  }

  #onUp(): void {
    if (!this.#down || !this.#connected()) return;
    this.#down = false;
    this.#o.logger.info({ backend: 'redis', dropped: this.#stats.dropped }, 'redis connection back');
  }

  #connected(): boolean {
    return this.#pub?.status === 'ready' && this.#sub?.status === 'ready';
  }

  /** Subscribes the whole topic set on a (new) subscriber connection. */
  #resubscribe(sub: Connection): void {
    if (sub !== this.#sub || this.#topics.size === 0) return;
    this.#stats.resubscribes++;
    this.#resubscribing++;
    const channels = [...this.#topics].map((t) => this.channelOf(t));
    const ops: Promise<unknown>[] = [];
    if (this.#o.sharded) {
      // One SSUBSCRIBE per channel: channels of one command must share a cluster slot.
      for (const channel of channels) ops.push(sub.ssubscribe(channel));
    } else {
      for (let i = 0; i < channels.length; i += RESUBSCRIBE_BATCH) {
        ops.push(sub.subscribe(...channels.slice(i, i + RESUBSCRIBE_BATCH)));
      }
    }
    Promise.allSettled(ops)
      .then((results) => {
        this.#resubscribing--;
        const failed = results.filter((r) => r.status === 'rejected');
        if (failed.length > 0) {
          this.#stats.errors += failed.length;
          this.#lastError = errorText((failed[0] as PromiseRejectedResult).reason);
        }
        this.#o.logger.info(
          { backend: 'redis', topics: channels.length, failed: failed.length },
          'redis topics subscribed again',
        );
      })
      // Only a throwing logger gets here: nothing may reject unhandled from an event handler.
      .catch(() => undefined);
  }

  #onMessage(channel: Buffer, message: Buffer): void {
    const deliver = this.#deliver;
    const prefix = this.#o.keyPrefix;
    const name = channel.toString('utf8');
    if (deliver === null || !name.startsWith(prefix)) return;
    const topic = name.slice(prefix.length);
    // A message may still arrive between UNSUBSCRIBE and its confirmation.
    if (!this.#topics.has(topic)) return;
    this.#stats.received++;
    deliver(topic, message);
  }

  #running(op: string): Connection {
    return this.#life.running(this.#sub, () => notStarted(op));
  }

  /**
   * Subscribes `topic`. While Redis is unreachable, rejects with `unavailable` and keeps the
   * topic: it is subscribed as soon as Redis returns.
   */
  async subscribe(topic: string): Promise<void> {
    const sub = this.#running('subscribe');
    this.#topics.add(topic);
    this.#stats.topics = this.#topics.size;
    if (sub.status !== 'ready') {
      throw new RedisBackendError(
        'unavailable',
        `Redis is unreachable: ${topic} is subscribed when it returns`,
      );
    }
    const channel = this.channelOf(topic);
    await this.#command(
      this.#o.sharded ? sub.ssubscribe(channel) : sub.subscribe(channel),
      `subscribe ${topic}`,
    );
  }

  /** Unsubscribes `topic` (while Redis is unreachable, it is simply not subscribed again). */
  async unsubscribe(topic: string): Promise<void> {
    const sub = this.#running('unsubscribe');
    if (!this.#topics.delete(topic)) return;
    this.#stats.topics = this.#topics.size;
    if (sub.status !== 'ready') return;
    const channel = this.channelOf(topic);
    await this.#command(
      this.#o.sharded ? sub.sunsubscribe(channel) : sub.unsubscribe(channel),
      `unsubscribe ${topic}`,
    );
  }

  /**
   * Publishes `payload` on `topic`; resolves once Redis accepted it. While Redis is unreachable
   * the payload is dropped and counted (`stats().dropped`), never queued, and the call rejects
   * with `BackendUnavailableError` (`retryAfterMs`: the longer of 1 s and `reconnectMaxDelayMs`).
   */
  publish(topic: string, payload: Uint8Array): Promise<void> {
    let target: Connection | null;
    let channel: string;
    try {
      const pub = this.#life.running(this.#pub, () => notStarted('publish'));
      channel = this.channelOf(topic);
      target = this.#publisherFor(pub, channel);
    } catch (error) {
      return Promise.reject(error);
    }
    if (target === null || target.status !== 'ready') return Promise.reject(this.#dropped(topic));
    // Redis left an earlier publish unanswered: refused now rather than queued behind it.
    if (this.#watch.silent)
      return Promise.reject(this.#dropped(topic, new NoPublishAnswer('Redis is silent')));
    const buf = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (!this.#batching || target instanceof Cluster) return this.#publishOne(target, channel, topic, buf);
    // One script call carries the turn's publishes (see PublishBatcher).
    const on = target;
    return this.#batcher.add(on, channel, buf).catch((error: unknown) => {
      if (this.#batching && isScriptRefusal(error)) {
        // Scripts were taken away (an ACL change): later publishes go one by one.
        this.#batching = false;
        this.#o.logger.warn(
          { backend: 'redis', error: errorText(error) },
          'redis refuses EVAL: publishing one PUBLISH per message from now on',
        );
      }
      throw this.#publishFailed(on, channel, topic, error);
    });
  }

  /** One `PUBLISH` (`SPUBLISH` when sharded): the publishes of a Cluster and sharded ones. */
  async #publishOne(target: Connection, channel: string, topic: string, buf: Buffer): Promise<void> {
    // On one Redis, every sharded publish of this turn leaves in one write (Redis answers them
    // in order). A Cluster client has no stream of its own: its publishes are not held.
    if (!(target instanceof Cluster)) this.#corker.hold(target.stream);
    try {
      await this.#watch.watch(this.#o.sharded ? target.spublish(channel, buf) : target.publish(channel, buf));
      this.#stats.published++;
    } catch (error) {
      throw this.#publishFailed(target, channel, topic, error);
    }
  }

  /**
   * The error a failed publish rejects with: dropped for an outage (Redis unreachable, or silent
   * for `commandTimeoutMs`), else `command_failed`.
   */
  #publishFailed(target: Connection, channel: string, topic: string, error: unknown): Error {
    if (target.status !== 'ready' || isConnectionError(error) || error instanceof NoPublishAnswer) {
      return this.#dropped(topic, error);
    }
    this.#stats.errors++;
    return new RedisBackendError('command_failed', `PUBLISH on ${channel} failed: ${errorText(error)}`, {
      cause: error,
    });
  }

  /** Counts a publish dropped for an outage and makes the error it rejects with. */
  #dropped(topic: string, cause?: unknown): BackendUnavailableError {
    this.#stats.dropped++;
    return droppedPublishError('Redis', topic, this.#o.reconnectMaxDelayMs, cause);
  }

  /**
   * The connection to publish `channel` through. Sharded publishes are routed by slot; a
   * classic PUBLISH in a cluster would go to a random node each time, which loses the order of
   * one publisher, so one master is chosen per channel instead.
   */
  #publisherFor(pub: Connection, channel: string): Connection | null {
    if (!(pub instanceof Cluster) || this.#o.sharded) return pub;
    const masters = pub
      .nodes('master')
      .filter((n) => n.status === 'ready')
      .sort((a, b) => nodeKey(a).localeCompare(nodeKey(b)));
    if (masters.length === 0) return null;
    return masters[hash(channel) % masters.length]!;
  }

  async #command<T>(command: Promise<T>, what: string): Promise<T> {
    const ms = this.#o.commandTimeoutMs;
    try {
      return await withTimeout(
        command,
        ms,
        () => new RedisBackendError('timeout', `Redis did not confirm ${what} within ${ms} ms`),
      );
    } catch (error) {
      if (error instanceof RedisBackendError) throw error;
      if (isConnectionError(error)) {
        throw new RedisBackendError(
          'unavailable',
          `Redis is unreachable: ${what} is redone when it returns`,
          {
            cause: error,
          },
        );
      }
      this.#stats.errors++;
      throw new RedisBackendError('command_failed', `${what} failed: ${errorText(error)}`, { cause: error });
    }
  }

  /**
   * `healthy` when both connections are ready, every topic is subscribed and Redis answers a
   * `PING`; `degraded` while one connection is down or topics are being subscribed again;
   * `unhealthy` when Redis is unreachable or the backend is stopped.
   */
  async health(): Promise<ComponentHealth> {
    const pub = this.#pub;
    const sub = this.#sub;
    const base = {
      backend: 'redis',
      mode: this.isCluster ? 'cluster' : 'standalone',
      sharded: this.#o.sharded,
      redis: this.#o.displayUrl,
      topics: this.#topics.size,
      publisher: pub?.status ?? 'stopped',
      subscriber: sub?.status ?? 'stopped',
      dropped: this.#stats.dropped,
    };
    if (pub === null || sub === null || this.#life.stopped) return { status: 'unhealthy', ...base };
    const up = [pub.status === 'ready', sub.status === 'ready'].filter(Boolean).length;
    if (up === 0) return { status: 'unhealthy', ...base, error: this.#lastError };
    if (up === 1 || this.#resubscribing > 0) return { status: 'degraded', ...base, error: this.#lastError };
    const ping = await timedPing(() => this.#command(pub.ping(), 'PING'));
    if (!ping.ok) return { status: 'unhealthy', ...base, error: ping.error };
    return { status: 'healthy', ...base, latency_ms: ping.latencyMs };
  }

  /** Counters for `/api/stats`. */
  stats(): Record<string, number> {
    return { ...this.#stats };
  }

  /** Closes both connections (politely with `QUIT`, then by force). Safe to call more than once. */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  async #stop(): Promise<void> {
    const conns = [this.#pub, this.#sub].filter((c): c is Connection => c !== null);
    // Deliveries stop with the topic set; `#deliver` stays, as a start waiting for this close
    // has already set the next one.
    this.#topics.clear();
    this.#stats.topics = 0;
    await Promise.all(
      conns.map(async (c) => {
        // Closing anyway when QUIT fails or goes unanswered.
        if (c.status === 'ready') await waitAtMost(c.quit(), this.#o.commandTimeoutMs);
        c.disconnect();
      }),
    );
    this.#pub = null;
    this.#sub = null;
    this.#everReady = false;
    this.#down = false;
  }
}

function notStarted(op: string): RedisBackendError {
  return new RedisBackendError('not_started', `cannot ${op}: the Redis backend is not started`);
}

function nodeKey(n: Redis): string {
  return `${n.options.host}:${n.options.port}`;
}

/** FNV-1a: a stable spread of channels over masters. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
