import { randomBytes } from 'node:crypto';
import {
  type AppendResult,
  type ComponentHealth,
  checkIntegerOptions,
  describeOptionValue,
  type HistoryAppend,
  type HistoryQuery,
  type HistoryReadResult,
  type HistoryStore,
  type StoredPublication,
  type StreamPosition,
  withoutUndefined,
} from '@dotmac-ws/core';
import type { RedisBackendOptions } from './redis-backend-options';
import { resolveRedisBackendOptions } from './redis-backend-options';
import { RedisChannelKeys } from './redis-channel-keys';
import { APPEND_SCRIPT, READ_SCRIPT } from './redis-history-scripts';
import { RedisStoreClient } from './redis-store-client';

/** Options of a {@link RedisHistoryStore}: those of a `RedisBackend`, plus its own. */
export interface RedisHistoryStoreOptions extends RedisBackendOptions {
  /**
   * How long a channel's position (its `epoch` and top offset, the meta hash) is kept after its
   * last append, in ms. It outlives the publications (`ttlMs` of each append) on purpose: a
   * client that saw the last publication of a quiet channel, and comes back after the
   * publications expired, still finds the same epoch and offset and is told it missed nothing
   * (`recovered: true`) instead of resyncing. It is always kept at least a minute longer than
   * the stream, so that the stream never outlives it (the offsets would start again at 1).
   * @default 604800000 (7 days)
   */
  metaTtlMs?: number;
  /**
   * Publish each appended publication on its channel's topic from the append script itself
   * (`fansOut: true`), on the Redis channel a `RedisBackend` with the same `keyPrefix` and
   * `sharded` subscribes. Turn it off only when the gateway's backend is not Redis (e.g. NATS
   * pub/sub with history on Redis): the gateway then publishes through its backend.
   * @default true
   */
  fanOut?: boolean;
}

/** The defaults of {@link RedisHistoryStoreOptions}' own options. */
export const REDIS_HISTORY_STORE_DEFAULTS: Readonly<{ metaTtlMs: number; fanOut: boolean }> = {
  metaTtlMs: 7 * 24 * 3600 * 1000,
  fanOut: true,
};

/** How much longer than the stream the meta hash lives at the least. */
const META_MARGIN_MS = 60_000;

/** How long an idempotency key is remembered when the append does not say (protocol.md: at least 2 min). */
const DEFAULT_IDEMPOTENCY_TTL_MS = 120_000;

/**
 * Channel history on Redis (or Redis Cluster): per channel a stream of publications (entry id
 * = offset) and a meta hash (`epoch`, top offset), all under one hash tag. `append` runs one
 * Lua script that assigns the offset, appends, handles the idempotency key and publishes the
 * positioned payload on the channel's Redis pub/sub channel, so offsets are one total order per
 * channel across nodes and every node receives a channel's publications in offset order.
 *
 * Give it the options of the gateway's `RedisBackend` (the same `keyPrefix` and `sharded`, so
 * that it publishes where the backend subscribes). It keeps a connection of its own.
 *
 * @example
 * const redis = { url: 'redis://127.0.0.1:6379', keyPrefix: 'chat:' }
 * const gateway = new WebSocketGateway({
 *   backend: new RedisBackend(redis),
 *   history: new RedisHistoryStore(redis),
 *   presence: new RedisPresenceStore(redis),
 * })
 */
export class RedisHistoryStore implements HistoryStore {
  readonly name = 'redis';
  /** True unless the `fanOut` option is false: `append` publishes on the channel's topic. */
  readonly fansOut: boolean;
  readonly #client: RedisStoreClient;
  readonly #metaTtlMs: number;

  /** Validates `options` (throwing one `ConfigError` that lists every problem). */
  constructor(options: RedisHistoryStoreOptions = {}) {
    const { metaTtlMs, fanOut } = options;
    const own = { ...REDIS_HISTORY_STORE_DEFAULTS, ...withoutUndefined({ metaTtlMs, fanOut }) };
    const resolved = resolveRedisBackendOptions(options, 'RedisHistoryStore options', (problems) => {
      checkIntegerOptions(problems, own, [['metaTtlMs', 1000, 365 * 24 * 3600 * 1000]]);
      if (typeof own.fanOut !== 'boolean') {
        problems.push(`fanOut is ${describeOptionValue(own.fanOut)} when it must be a boolean`);
      }
    });
    this.#client = new RedisStoreClient(resolved, 'history');
    this.#metaTtlMs = own.metaTtlMs;
    this.fansOut = own.fanOut;
  }

  /** Connects; rejects with `connect_failed` when Redis is not ready within `connectTimeoutMs`. */
  start(): Promise<void> {
    return this.#client.start();
  }

  /** Closes the connection. Safe to call more than once. */
  stop(): Promise<void> {
    return this.#client.stop();
  }

  /**
   * Appends (and, with `fansOut`, publishes) one publication. Rejects with
   * `BackendUnavailableError` when Redis is unreachable or silent for `commandTimeoutMs`: the
   * publication may or may not have been stored (a retry with the same idempotency key is safe).
   */
  async append(entry: HistoryAppend): Promise<AppendResult> {
    const o = this.#client.options;
    const keys = new RedisChannelKeys(o.keyPrefix, entry.channel);
    const ttlMs = Math.max(1, Math.ceil(entry.ttlMs));
    const scriptKeys = [keys.historyMeta, keys.historyStream];
    if (entry.idempotencyKey !== undefined) scriptKeys.push(keys.historyIdempotency(entry.idempotencyKey));
    const args = [
      entry.body,
      Math.max(1, Math.floor(entry.size)),
      ttlMs,
      Math.max(this.#metaTtlMs, ttlMs + META_MARGIN_MS),
      newEpoch(),
      this.fansOut ? `${o.keyPrefix}${entry.topic}` : '',
      o.sharded ? 'spublish' : 'publish',
      Math.max(1, Math.ceil(entry.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS), ttlMs),
    ];
    const reply = await this.#client.run(`append to ${entry.channel}`, (conn) =>
      APPEND_SCRIPT.run(conn, scriptKeys, args, this.#client.generation),
    );
    const [offset, epoch, duplicate] = reply as [number, Buffer, number];
    return { offset, epoch: epoch.toString(), duplicate: duplicate === 1 };
  }

  /** Reads publications of `channel` and its top position, in one step. */
  async read(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    const limit = Math.max(0, Math.floor(query.limit));
    const after = Math.max(0, Math.floor(query.after ?? 0));
    const [top, epoch, entries] = await this.#read(channel, `${after + 1}-0`, limit, query.reverse === true);
    const publications: StoredPublication[] = entries.map(([id, fields]) => ({
      offset: Number.parseInt(id.toString('latin1'), 10),
      body: fields[1] ?? Buffer.alloc(0),
    }));
    return { offset: top, epoch: epoch.toString(), publications };
  }

  /** The channel's top position (creating its epoch when it has none). */
  async top(channel: string): Promise<StreamPosition> {
    const [offset, epoch] = await this.#read(channel, '1-0', 0, false);
    return { offset, epoch: epoch.toString() };
  }

  #read(channel: string, from: string, limit: number, reverse: boolean) {
    const keys = new RedisChannelKeys(this.#client.options.keyPrefix, channel);
    return this.#client.run(`read the history of ${channel}`, async (conn) => {
      const reply = await READ_SCRIPT.run(
        conn,
        [keys.historyMeta, keys.historyStream],
        [newEpoch(), this.#metaTtlMs, from, limit, reverse ? 1 : 0],
        this.#client.generation,
      );
      return reply as [number, Buffer, [Buffer, Buffer[]][]];
    });
  }

  /**
   * Forgets the channel's publications and position: its next epoch differs. Its idempotency
   * keys are left to expire: a publish retried after `remove` is still answered as a duplicate
   * (with the position it had), never delivered twice.
   */
  async remove(channel: string): Promise<void> {
    const keys = new RedisChannelKeys(this.#client.options.keyPrefix, channel);
    await this.#client.run(`remove the history of ${channel}`, (conn) =>
      conn.del(keys.historyMeta, keys.historyStream),
    );
  }

  /** `healthy` when the connection is ready and Redis answers a `PING` (`history` component). */
  health(): Promise<ComponentHealth> {
    return this.#client.health();
  }
}

/** A new random epoch: 8 URL-safe characters (never a space or a newline). */
function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}
