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
import { RedisBackendError } from './redis-backend-error';
import type { ResolvedRedisBackendOptions } from './redis-backend-options';
import {
  isConnectionError,
  openEveryClusterNode,
  openRedisConnection,
  type RedisConnection,
  whenRedisReady,
} from './redis-connection';

/** Thrown by `withTimeout` when Redis did not answer in time; mapped to `backend_unavailable`. */
class NoAnswer extends Error {}

/**
 * The one connection a Redis store (history, presence) works through: started and stopped like
 * a backend, every call bounded by `commandTimeoutMs`, and failures sorted into what the
 * gateway acts on: `BackendUnavailableError` when Redis is unreachable or silent (no call waits
 * for it to return), `RedisBackendError` `command_failed` when Redis refused, `not_started`
 * before `start` and after `stop`.
 * @internal
 */
export class RedisStoreClient {
  readonly #o: ResolvedRedisBackendOptions;
  /** `history` or `presence`: names the connection (`dotmac-ws-history`) and the errors. */
  readonly #kind: string;
  #conn: RedisConnection | null = null;
  #lastError: string | null = null;
  #generation = 0;
  readonly #life = new StartStopLifecycle({ open: () => this.#open(), close: () => this.#close() });

  constructor(o: ResolvedRedisBackendOptions, kind: string) {
    this.#o = o;
    this.#kind = kind;
  }

  /** Grows with every (re)connection: what the server knows (its scripts) may have changed. */
  get generation(): number {
    return this.#generation;
  }

  /** The resolved options. */
  get options(): ResolvedRedisBackendOptions {
    return this.#o;
  }

  /** Connects; rejects with `connect_failed` when Redis is not ready within `connectTimeoutMs`. */
  start(): Promise<void> {
    return this.#life.start();
  }

  /** Closes the connection (`QUIT`, then by force). */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  async #open(): Promise<void> {
    const conn = openRedisConnection(this.#o, this.#kind, {
      onError: (error) => {
        this.#lastError = error.message;
      },
      onClose: () => undefined,
      onReady: () => {
        this.#generation++;
      },
    });
    try {
      await whenRedisReady(conn, this.#o, () => this.#lastError);
    } catch (error) {
      conn.disconnect();
      throw error;
    }
    // One node's appends on a channel must reach Redis in call order, in a cluster too.
    await openEveryClusterNode(conn);
    this.#conn = conn;
  }

  async #close(): Promise<void> {
    const conn = this.#conn;
    this.#conn = null;
    if (conn === null) return;
    if (conn.status === 'ready') await waitAtMost(conn.quit(), this.#o.commandTimeoutMs);
    conn.disconnect();
  }

  /**
   * Runs `op` on the connection within `commandTimeoutMs`. `what` names the call in errors
   * (`append to news`).
   */
  async run<T>(what: string, op: (conn: RedisConnection) => Promise<T>): Promise<T> {
    const conn = this.#life.running(
      this.#conn,
      () =>
        new RedisBackendError('not_started', `cannot ${what}: the Redis ${this.#kind} store is not started`),
    );
    const ms = this.#o.commandTimeoutMs;
    try {
      return await withTimeout(op(conn), ms, () => new NoAnswer(`Redis did not answer within ${ms} ms`));
    } catch (error) {
      if (error instanceof NoAnswer || conn.status !== 'ready' || isConnectionError(error)) {
        this.#lastError = errorText(error);
        throw new BackendUnavailableError(`Redis is unreachable: cannot ${what} (${errorText(error)})`, {
          retryAfterMs: Math.max(DEFAULT_BACKEND_RETRY_AFTER_MS, this.#o.reconnectMaxDelayMs),
          cause: error,
        });
      }
      throw new RedisBackendError('command_failed', `cannot ${what}: ${errorText(error)}`, { cause: error });
    }
  }

  /**
   * `healthy` when the connection is ready and Redis answers a `PING` (with `latency_ms`);
   * `unhealthy` otherwise (stopped, reconnecting, or no answer), with the last error.
   */
  async health(): Promise<ComponentHealth> {
    const conn = this.#conn;
    const base = {
      store: 'redis',
      mode: this.#o.clusterNodes === null ? 'standalone' : 'cluster',
      redis: this.#o.displayUrl,
      connection: conn?.status ?? 'stopped',
    };
    if (conn === null || this.#life.stopped) return { status: 'unhealthy', ...base };
    if (conn.status !== 'ready') return { status: 'unhealthy', ...base, error: this.#lastError };
    const ping = await timedPing(() => this.run('PING', (c) => c.ping()));
    if (!ping.ok) return { status: 'unhealthy', ...base, error: ping.error };
    return { status: 'healthy', ...base, latency_ms: ping.latencyMs };
  }
}
