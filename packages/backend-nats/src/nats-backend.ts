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
import {
  connect,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription,
} from '@nats-io/transport-node';
import { NatsBackendError } from './nats-backend-error';
import {
  type NatsBackendOptions,
  type ResolvedNatsBackendOptions,
  resolveNatsBackendOptions,
} from './nats-backend-options';
import { natsConnectOptions } from './nats-connect-options';
import { topicToSubject } from './nats-subject';
import { SilenceWatch } from './silence-watch';
import { TurnPublisher } from './turn-publisher';

/** The longest the health check waits for the server's answer to a ping. */
const HEALTH_PING_MS = 1000;

/** The counters of {@link NatsBackend.stats}: those every broker backend keeps, and two of NATS's own. */
export interface NatsBackendStats extends BrokerBackendStats {
  /** Times the connection came back (to the same or another server). */
  reconnects: number;
  /** Lame-duck notices received from a server that is shutting down. */
  lame_duck: number;
}

/** Where the connection stands. */
type LinkState = 'connected' | 'reconnecting' | 'closed';

/**
 * The NATS scaling backend: gateway nodes on one NATS server or cluster reach each other
 * through core NATS pub/sub. A node subscribes only the subjects its sessions need; each topic
 * is carried on a subject whose tokens are escaped (see `topicToSubject`), so no character of a
 * channel name, user or tenant id can change routing.
 *
 * The client reconnects forever and sends every subscription again by itself when it is back;
 * `/health` follows the client's status events (`unhealthy` while disconnected, `degraded` in
 * lame-duck mode or until the server confirms the subscriptions again). While disconnected,
 * `publish` drops and counts (see {@link NatsBackendStats.dropped}) rather than letting the
 * client buffer, and rejects with `BackendUnavailableError`, so memory stays bounded, local
 * delivery goes on and the sender is told. `stop` drains.
 *
 * @example
 * const gateway = new WebSocketGateway({
 *   backend: new NatsBackend({ servers: ['nats://n1:4222', 'nats://n2:4222'], subjectPrefix: 'chat' }),
 * })
 */
export class NatsBackend implements Backend {
  readonly name = 'nats';
  readonly #o: ResolvedNatsBackendOptions;
  /** The subscription of every topic the gateway wants, whatever the state of the connection. */
  readonly #subs = new Map<string, Subscription>();
  #nc: NatsConnection | null = null;
  #deliver: BackendDeliver | null = null;
  readonly #life = new StartStopLifecycle({ open: () => this.#start(), close: () => this.#stop() });
  #state: LinkState = 'closed';
  /** Set after a reconnection until the server has confirmed the subscriptions again. */
  #resubscribing = false;
  /**
   * This turn's publishes, sent together at its end (or before a drain); after each burst, a
   * round trip is timed now and then, to notice a server that went silent.
   */
  readonly #turn = new TurnPublisher(
    (subject, payload) => {
      const nc = this.#nc;
      if (nc === null || this.#state !== 'connected') throw new Error('the connection to NATS was lost');
      nc.publish(subject, payload);
    },
    (handed) => {
      this.#stats.published += handed;
      this.#silence.probe(this.#roundTrip);
    },
    (error, topic) => this.#publishFailed(topic, error),
  );
  /** Whether the server left a round trip timed while publishing unanswered. */
  readonly #silence: SilenceWatch;
  readonly #roundTrip = (): Promise<void> => this.#nc?.flush() ?? Promise.resolve();
  #lameDuck = false;
  #lameDuckTimer: NodeJS.Timeout | null = null;
  #lastError: string | null = null;
  readonly #stats: NatsBackendStats = {
    published: 0,
    received: 0,
    dropped: 0,
    errors: 0,
    reconnects: 0,
    resubscribes: 0,
    outages: 0,
    lame_duck: 0,
    topics: 0,
  };

  /** Validates `options` (throwing one `ConfigError` that lists every problem). */
  constructor(options: NatsBackendOptions = {}) {
    this.#o = resolveNatsBackendOptions(options);
    this.#silence = new SilenceWatch(this.#o.commandTimeoutMs);
  }

  /** The NATS subject that carries `topic`. */
  subjectOf(topic: string): string {
    return topicToSubject(this.#o.subjectPrefix, topic);
  }

  /** `host:port` of the server the connection is on, or null when disconnected. */
  get server(): string | null {
    return this.#state === 'connected' ? (this.#nc?.getServer() ?? null) : null;
  }

  /** Connects; rejects with `connect_failed` when no server is reachable in time. */
  start(deliver: BackendDeliver): Promise<void> {
    this.#deliver = deliver;
    return this.#life.start();
  }

  async #start(): Promise<void> {
    const o = this.#o;
    // The gateway drops its own echo anyway; the server need not send it.
    const options = natsConnectOptions(o, { noEcho: true });
    let nc: NatsConnection;
    try {
      nc = await connect(options);
    } catch (error) {
      throw new NatsBackendError(
        'connect_failed',
        `could not connect to NATS at ${o.servers.join(', ')}: ${errorText(error)}`,
        { cause: error },
      );
    }
    this.#nc = nc;
    this.#state = 'connected';
    this.#silence.reset();
    // The status iterator may end with an error when the connection dies: noted, never unhandled.
    this.#watch(nc).catch((error: unknown) => {
      this.#lastError = errorText(error);
    });
    o.logger.info({ backend: 'nats', server: nc.getServer() }, 'nats backend connected');
  }

  /** Follows the client's status events until the connection closes. */
  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (nc !== this.#nc) continue; // a connection being stopped: drain its events
      try {
        this.#onStatus(nc, status);
      } catch (error) {
        this.#lastError = errorText(error);
      }
    }
  }

  #onStatus(nc: NatsConnection, status: Status): void {
    const log = this.#o.logger;
    switch (status.type) {
      case 'disconnect':
        if (this.#state === 'connected') {
          this.#stats.outages++;
          log.warn(
            { backend: 'nats', server: status.server, error: this.#lastError },
            'nats connection lost: publishing is dropped and counted until it returns',
          );
        }
        this.#state = 'reconnecting';
        break;
      case 'reconnecting':
        this.#state = 'reconnecting';
        break;
      case 'reconnect':
        this.#onReconnect(nc, status.server);
        break;
      case 'ldm':
        this.#onLameDuck(nc, status.server);
        break;
      case 'error':
        this.#stats.errors++;
        this.#lastError = errorText(status.error);
        log.warn({ backend: 'nats', error: this.#lastError }, 'nats server error');
        break;
      case 'staleConnection':
        this.#lastError = 'stale connection (no pong from the server)';
        break;
      case 'close':
        if (!this.#life.stopped) {
          this.#state = 'closed';
          log.error({ backend: 'nats', error: this.#lastError }, 'nats connection closed for good');
        }
        break;
      default:
        break;
    }
  }

  /** The client sent every subscription on the new connection; confirm them with a flush. */
  #onReconnect(nc: NatsConnection, server: string): void {
    this.#state = 'connected';
    // A round trip of the lost connection may never settle: the new one starts afresh.
    this.#silence.reset();
    this.#lameDuck = false;
    this.#clearLameDuckTimer();
    this.#stats.reconnects++;
    if (this.#subs.size > 0) this.#stats.resubscribes++;
    this.#resubscribing = true;
    this.#flush(nc, 'the subscriptions after reconnecting')
      .then(() => {
        this.#o.logger.info(
          { backend: 'nats', server, topics: this.#subs.size, dropped: this.#stats.dropped },
          'nats connection back, topics subscribed again',
        );
      })
      .catch((error: unknown) => {
        this.#lastError = errorText(error);
      })
      .finally(() => {
        if (nc === this.#nc) this.#resubscribing = false;
      });
  }

  /**
   * The server is shutting down. With another server to go to, move there after a random
   * delay (so that not every node moves at once); otherwise stay until the server closes.
   */
  #onLameDuck(nc: NatsConnection, server: string): void {
    this.#lameDuck = true;
    this.#stats.lame_duck++;
    // The servers this client can move to: the configured ones and those the cluster announced.
    const known = new Set([...this.#o.servers, ...(nc.info?.connect_urls ?? [])]);
    known.delete(server);
    const others = known.size;
    this.#o.logger.warn({ backend: 'nats', server, others }, 'nats server entered lame-duck mode');
    if (others === 0 || this.#lameDuckTimer !== null) return;
    this.#lameDuckTimer = setTimeout(
      () => {
        this.#lameDuckTimer = null;
        if (nc === this.#nc && this.#lameDuck) nc.reconnect().catch(() => undefined);
      },
      Math.floor(Math.random() * (this.#o.lameDuckJitterMs + 1)),
    );
    this.#lameDuckTimer.unref();
  }

  #clearLameDuckTimer(): void {
    if (this.#lameDuckTimer !== null) clearTimeout(this.#lameDuckTimer);
    this.#lameDuckTimer = null;
  }

  #running(op: string): NatsConnection {
    return this.#life.running(
      this.#nc,
      () => new NatsBackendError('not_started', `cannot ${op}: the NATS backend is not started`),
    );
  }

  /**
   * Subscribes `topic` and resolves once the server has confirmed it. While NATS is
   * unreachable, rejects with `unavailable` and keeps the subscription: the client sends it as
   * soon as the connection returns.
   */
  async subscribe(topic: string): Promise<void> {
    const nc = this.#running('subscribe');
    if (!this.#subs.has(topic)) {
      let sub: Subscription;
      try {
        sub = nc.subscribe(this.subjectOf(topic), {
          callback: (error, msg) => this.#onMessage(topic, sub, error, msg),
        });
      } catch (error) {
        // Only a connection closed for good refuses a subscription.
        throw new NatsBackendError('unavailable', `cannot subscribe ${topic}: ${errorText(error)}`, {
          cause: error,
        });
      }
      this.#subs.set(topic, sub);
      this.#stats.topics = this.#subs.size;
      sub.closed
        .then((why) => {
          // Closed by the server (a permissions violation, say), not by unsubscribe or stop.
          if (why instanceof Error) {
            this.#stats.errors++;
            this.#lastError = `subscription of ${topic} closed: ${why.message}`;
            if (this.#subs.get(topic) === sub) this.#subs.delete(topic);
            this.#stats.topics = this.#subs.size;
          }
        })
        .catch((error: unknown) => {
          this.#lastError = errorText(error);
        });
    }
    if (this.#state !== 'connected') {
      throw new NatsBackendError(
        'unavailable',
        `NATS is unreachable: ${topic} is subscribed when it returns`,
      );
    }
    await this.#flush(nc, `the subscription of ${topic}`);
  }

  #onMessage(topic: string, sub: Subscription, error: Error | null, msg: Msg): void {
    if (error !== null) {
      this.#stats.errors++;
      this.#lastError = error.message;
      return;
    }
    const deliver = this.#deliver;
    // A message may still arrive between unsubscribing and the server's confirmation.
    if (deliver === null || this.#subs.get(topic) !== sub) return;
    this.#stats.received++;
    deliver(topic, msg.data);
  }

  /** Unsubscribes `topic`; resolves once the server has confirmed (when connected). */
  async unsubscribe(topic: string): Promise<void> {
    const nc = this.#running('unsubscribe');
    const sub = this.#subs.get(topic);
    if (sub === undefined) return;
    this.#subs.delete(topic);
    this.#stats.topics = this.#subs.size;
    sub.unsubscribe();
    // While disconnected the client simply does not send it again.
    if (this.#state === 'connected') await this.#flush(nc, `the unsubscription of ${topic}`);
  }

  /**
   * Publishes `payload` on `topic`; resolves once the client took it (it sends in order, each
   * turn's publishes together). While NATS is unreachable the payload is dropped and counted
   * (`stats().dropped`), never buffered, and the call rejects with `BackendUnavailableError`
   * (`retryAfterMs`: the longer of 1 s and `reconnectTimeWaitMs + reconnectJitterMs`).
   */
  publish(topic: string, payload: Uint8Array): Promise<void> {
    let subject: string;
    try {
      const nc = this.#running('publish');
      if (this.#state !== 'connected') throw this.#dropped(topic);
      // The server left a round trip unanswered: refused now rather than buffered by the client.
      if (this.#silence.silent) throw this.#dropped(topic, new Error('NATS is silent'));
      const max = nc.info?.max_payload;
      if (max !== undefined && payload.length > max) {
        throw this.#publishFailed(
          topic,
          new Error(`the payload of ${payload.length} bytes is over the server's max_payload of ${max}`),
        );
      }
      subject = this.subjectOf(topic);
    } catch (error) {
      return Promise.reject(error);
    }
    // Sent with the rest of this turn's publishes, in one write.
    return this.#turn.publish(subject, payload, topic);
  }

  /** The error a publish the client refused rejects with, counted. */
  #publishFailed(topic: string, error: unknown): Error {
    // The connection went away before the turn's publishes left.
    if (this.#state !== 'connected') return this.#dropped(topic, error);
    this.#stats.errors++;
    return new NatsBackendError('publish_failed', `publish on ${topic} failed: ${errorText(error)}`, {
      cause: error,
    });
  }

  /** Counts a publish dropped for an outage and makes the error it rejects with. */
  #dropped(topic: string, cause?: unknown): BackendUnavailableError {
    this.#stats.dropped++;
    return droppedPublishError('NATS', topic, this.#o.reconnectTimeWaitMs + this.#o.reconnectJitterMs, cause);
  }

  /** A round trip to the server, within `ms` (`commandTimeoutMs` unless told). */
  async #flush(nc: NatsConnection, what: string, ms = this.#o.commandTimeoutMs): Promise<void> {
    try {
      await withTimeout(
        nc.flush(),
        ms,
        () => new NatsBackendError('timeout', `NATS did not confirm ${what} within ${ms} ms`),
      );
    } catch (error) {
      if (error instanceof NatsBackendError) throw error;
      // The connection broke before the server answered: the client resends on reconnection.
      throw new NatsBackendError('unavailable', `NATS is unreachable: ${what} is redone when it returns`, {
        cause: error,
      });
    }
  }

  /**
   * `healthy` when connected, every subscription confirmed and the server answers a ping;
   * `degraded` in lame-duck mode, while subscriptions are being confirmed again, or when the
   * ping goes unanswered; `unhealthy` while disconnected or stopped.
   */
  async health(): Promise<ComponentHealth> {
    const nc = this.#nc;
    const base = {
      backend: 'nats',
      servers: this.#o.servers.join(','),
      server: this.server,
      state: this.#life.stopped || nc === null ? 'stopped' : this.#state,
      topics: this.#subs.size,
      dropped: this.#stats.dropped,
    };
    if (nc === null || this.#life.stopped || this.#state === 'closed') {
      return { status: 'unhealthy', ...base, error: this.#lastError };
    }
    if (this.#state !== 'connected') return { status: 'unhealthy', ...base, error: this.#lastError };
    if (this.#lameDuck) return { status: 'degraded', ...base, lame_duck: true };
    if (this.#resubscribing) return { status: 'degraded', ...base, resubscribing: true };
    // Within the gateway's own 2 s bound on a health check, so that this answer is the one seen.
    const ping = await timedPing(() =>
      this.#flush(nc, 'a ping', Math.min(this.#o.commandTimeoutMs, HEALTH_PING_MS)),
    );
    if (!ping.ok) return { status: 'degraded', ...base, error: ping.error };
    return { status: 'healthy', ...base, latency_ms: ping.latencyMs };
  }

  /** Counters for `/api/stats`. */
  stats(): Record<string, number> {
    return { ...this.#stats };
  }

  /** Drains the connection (bounded by `drainTimeoutMs`), then closes it. Safe to call more than once. */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  async #stop(): Promise<void> {
    const nc = this.#nc;
    // Deliveries stop with the topic set; `#deliver` stays, as a start waiting for this close
    // has already set the next one.
    this.#subs.clear();
    this.#stats.topics = 0;
    this.#clearLameDuckTimer();
    // What this turn published leaves before the drain (or fails with the connection).
    this.#turn.flush();
    if (nc !== null && !nc.isClosed()) {
      // Draining needs the server: when it is gone there is nothing to flush.
      if (this.#state === 'connected') {
        await waitAtMost(nc.drain(), this.#o.drainTimeoutMs);
      }
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
    this.#nc = null;
    this.#state = 'closed';
    this.#resubscribing = false;
    this.#lameDuck = false;
  }
}
