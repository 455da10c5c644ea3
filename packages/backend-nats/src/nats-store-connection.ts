import {
  BackendUnavailableError,
  type ComponentHealth,
  DEFAULT_BACKEND_RETRY_AFTER_MS,
  errorText,
  StartStopLifecycle,
  timedPing,
  waitAtMost,
  withTimeout,
} from '@dotmac-ws/core';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsBackendError } from './nats-backend-error';
import type { ResolvedNatsBackendOptions } from './nats-backend-options';
import { natsConnectOptions } from './nats-connect-options';
import type { NatsStoreStorage } from './nats-store-options';

/** The stream (or bucket) is gone, e.g. a NATS with memory storage restarted. */
function isMissingStream(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.code === JetStreamApiCodes.StreamNotFound;
  // A publish that no stream captures has no responders.
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error && cause.name === 'JetStreamNotEnabled';
}

/** True when JetStream refused a write because the subject's last sequence was not the expected one. @internal */
export function isConflict(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** The longest the health check waits for the server's answer to a ping. */
const HEALTH_PING_MS = 1000;

/** The KV bucket of a store. @internal */
export interface BucketSpec {
  name: string;
  /** Its max age (garbage collection of keys not written for this long). */
  maxAgeMs: number;
  storage: NatsStoreStorage;
  replicas: number;
}

/** What a store works with while connected. @internal */
export interface JetStreamHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/**
 * The NATS connection of one JetStream store (history or presence): connects with the backend's
 * options, reconnects forever, follows the client's status, and turns every failure to reach
 * NATS into core's `BackendUnavailableError` at once (while disconnected, nothing is buffered:
 * a call rejects immediately) or within `commandTimeoutMs` (a request in flight when the
 * connection broke). An error JetStream itself answered (`JetStreamApiError`) is passed on.
 * @internal
 */
export class NatsStoreConnection {
  readonly #o: ResolvedNatsBackendOptions;
  readonly #what: string;
  readonly #bucket: BucketSpec;
  #kv: KV | null = null;
  readonly #life = new StartStopLifecycle({ open: () => this.#open(), close: () => this.#close() });
  #h: JetStreamHandles | null = null;
  #connected = false;
  #lastError: string | null = null;
  /** Called after each reconnection (a store drops what it cached about the server's state). */
  onReconnect: () => void = () => undefined;
  /** Creates the store's stream and bucket (again); see {@link call}. The bucket by default. */
  ensure: (h: JetStreamHandles) => Promise<void> = (h) => this.openBucket(h);
  #ensuring: Promise<void> | null = null;

  constructor(options: ResolvedNatsBackendOptions, what: string, bucket: BucketSpec) {
    this.#o = options;
    this.#what = what;
    this.#bucket = bucket;
  }

  get options(): ResolvedNatsBackendOptions {
    return this.#o;
  }

  /** The server's `max_payload` (the largest message it takes), 1 MiB until connected. */
  get maxPayload(): number {
    return this.#h?.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** True while connected. */
  get connected(): boolean {
    return this.#connected && !this.#life.stopped;
  }

  /** Connects, then creates what the store needs ({@link ensure}). */
  async start(): Promise<void> {
    await this.#life.start();
    if (this.#kv === null) await this.ensureNow();
  }

  async stop(): Promise<void> {
    await this.#life.stop();
    this.#kv = null;
  }

  /** Creates (or opens) the store's KV bucket. */
  async openBucket(h: JetStreamHandles): Promise<void> {
    const b = this.#bucket;
    this.#kv = await new Kvm(h.js).create(b.name, {
      history: 1,
      ttl: b.maxAgeMs,
      storage: b.storage === 'memory' ? StorageType.Memory : StorageType.File,
      replicas: b.replicas,
    });
  }

  /** {@link call} with the store's bucket. */
  callKv<T>(what: string, fn: (h: JetStreamHandles, kv: KV) => Promise<T>): Promise<T> {
    return this.call(what, (h) => {
      const kv = this.#kv;
      if (kv === null) {
        throw new NatsBackendError(
          'not_started',
          `cannot ${what}: the NATS ${this.#what} store is not started`,
        );
      }
      return fn(h, kv);
    });
  }

  async #open(): Promise<void> {
    const o = this.#o;
    let nc: NatsConnection;
    try {
      nc = await connect(natsConnectOptions(o, { name: `${o.name}-${this.#what}` }));
    } catch (error) {
      throw new NatsBackendError(
        'connect_failed',
        `the NATS ${this.#what} store could not connect to ${o.servers.join(', ')}: ${errorText(error)}`,
        { cause: error },
      );
    }
    const timeout = o.commandTimeoutMs;
    this.#h = {
      nc,
      js: jetstream(nc, { timeout }),
      jsm: await jetstreamManager(nc, { timeout, checkAPI: false }),
    };
    this.#connected = true;
    this.#watch(nc).catch((error: unknown) => {
      this.#lastError = errorText(error);
    });
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (nc !== this.#h?.nc) continue;
      if (status.type === 'disconnect' || status.type === 'reconnecting') this.#connected = false;
      else if (status.type === 'reconnect') {
        this.#connected = true;
        this.onReconnect();
      } else if (status.type === 'close') this.#connected = false;
      else if (status.type === 'error') this.#lastError = errorText(status.error);
    }
  }

  async #close(): Promise<void> {
    const h = this.#h;
    this.#h = null;
    this.#connected = false;
    if (h === null || h.nc.isClosed()) return;
    await waitAtMost(h.nc.drain(), this.#o.drainTimeoutMs);
    if (!h.nc.isClosed()) await h.nc.close().catch(() => undefined);
  }

  /** The error a call gets while NATS cannot be reached. */
  unavailable(what: string, cause?: unknown): BackendUnavailableError {
    const o = this.#o;
    return new BackendUnavailableError(`NATS is unreachable: ${what} failed`, {
      retryAfterMs: Math.max(DEFAULT_BACKEND_RETRY_AFTER_MS, o.reconnectTimeWaitMs + o.reconnectJitterMs),
      cause,
    });
  }

  /**
   * Runs `fn` with the connection, within `commandTimeoutMs` (or `ms`). Rejects at once with
   * `BackendUnavailableError` while disconnected, and with it too when the request fails for
   * want of NATS (timeout, no responders, connection closed). `JetStreamApiError` (JetStream
   * answered with an error) and errors of the store's own are passed on unchanged.
   */
  async run<T>(
    what: string,
    fn: (h: JetStreamHandles) => Promise<T>,
    ms = this.#o.commandTimeoutMs,
  ): Promise<T> {
    const h = this.#life.running(
      this.#h,
      () =>
        new NatsBackendError('not_started', `cannot ${what}: the NATS ${this.#what} store is not started`),
    );
    if (!this.#connected) throw this.unavailable(what, this.#lastError ?? undefined);
    try {
      return await withTimeout(fn(h), ms + 100, () =>
        this.unavailable(`${what} (no answer within ${ms} ms)`),
      );
    } catch (error) {
      if (error instanceof JetStreamApiError || error instanceof BackendUnavailableError) throw error;
      if (error instanceof NatsBackendError) throw error;
      this.#lastError = errorText(error);
      throw this.unavailable(what, error);
    }
  }

  /** Runs {@link ensure}, one call at a time. */
  ensureNow(): Promise<void> {
    this.#ensuring ??= this.run('create the JetStream stream', (h) => this.ensure(h)).finally(() => {
      this.#ensuring = null;
    });
    return this.#ensuring;
  }

  /**
   * {@link run}, and when the stream or bucket turns out to be gone (a NATS without its data
   * came back), {@link ensureNow} and once more.
   */
  async call<T>(what: string, fn: (h: JetStreamHandles) => Promise<T>): Promise<T> {
    try {
      return await this.run(what, fn);
    } catch (error) {
      if (!isMissingStream(error)) throw error;
      this.onReconnect();
      await this.ensureNow();
      return this.run(what, fn);
    }
  }

  /** `healthy` when connected and the server answers a ping; `unhealthy` otherwise. */
  async health(extra: Record<string, unknown>): Promise<ComponentHealth> {
    const h = this.#h;
    const base = { store: `nats-${this.#what}`, servers: this.#o.servers.join(','), ...extra };
    if (h === null || this.#life.stopped) return { status: 'unhealthy', ...base, state: 'stopped' };
    if (!this.#connected)
      return { status: 'unhealthy', ...base, state: 'reconnecting', error: this.#lastError };
    const ping = await timedPing(() =>
      withTimeout(
        h.nc.flush(),
        Math.min(this.#o.commandTimeoutMs, HEALTH_PING_MS),
        () => new Error('no answer to a ping'),
      ),
    );
    if (!ping.ok) return { status: 'degraded', ...base, error: ping.error };
    return { status: 'healthy', ...base, latency_ms: ping.latencyMs };
  }
}
