import { errorText } from '@dotmac-ws/core';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { RedisBackendError } from './redis-backend-error';
import type { ResolvedRedisBackendOptions } from './redis-backend-options';

/** A connection to one Redis, or a client of a Redis Cluster. @internal */
export type RedisConnection = Redis | Cluster;

/** What a {@link openRedisConnection} caller hears about its connection. @internal */
export interface RedisConnectionEvents {
  /** A connection (or cluster node) error; the connection retries by itself. */
  onError(error: Error): void;
  /** The connection closed (it reconnects by itself unless closed on purpose). */
  onClose(): void;
  /** The connection is ready (again). */
  onReady(): void;
}

/**
 * Opens a connection the way every part of this package does: no offline queue and no retry of
 * a command in flight (a call while Redis is gone fails at once instead of waiting in memory),
 * reconnection forever with at most `reconnectMaxDelayMs` between attempts, and the options'
 * timeouts. `role` names it in `CLIENT LIST` (`dotmac-ws-{role}`).
 * @internal
 */
export function openRedisConnection(
  o: ResolvedRedisBackendOptions,
  role: string,
  events: RedisConnectionEvents,
  shardedSubscriber = false,
): RedisConnection {
  const retry = (times: number) => Math.min(times * 50, o.reconnectMaxDelayMs);
  const node: RedisOptions = {
    ...o.connection,
    connectionName: `dotmac-ws-${role}`,
    lazyConnect: true,
    enableOfflineQueue: false,
    // A command in flight when the connection breaks fails at once instead of being resent
    // later: a publish is then counted as dropped, a subscription redone on reconnection.
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    connectTimeout: o.connectTimeoutMs,
    retryStrategy: retry,
  };
  let conn: RedisConnection;
  if (o.clusterNodes !== null) {
    conn = new Cluster(o.clusterNodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      shardedSubscribers: shardedSubscriber,
      clusterRetryStrategy: retry,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      slotsRefreshTimeout: o.commandTimeoutMs,
      redisOptions: { ...node, db: 0 },
    });
  } else {
    conn = new Redis(node);
  }
  conn.on('error', (error: Error) => events.onError(error));
  conn.on('node error', (error: Error) => events.onError(error));
  conn.on('close', () => events.onClose());
  conn.on('ready', () => events.onReady());
  conn.connect().catch(() => undefined);
  return conn;
}

/**
 * Resolves when `conn` is ready; rejects with `connect_failed` (naming `lastError()`, e.g.
 * `ECONNREFUSED`) after `connectTimeoutMs`.
 * @internal
 */
export async function whenRedisReady(
  conn: RedisConnection,
  o: ResolvedRedisBackendOptions,
  lastError: () => string | null,
): Promise<void> {
  if (conn.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.off('ready', onReady);
        const last = lastError();
        reject(
          new RedisBackendError(
            'connect_failed',
            `Redis at ${o.displayUrl} was not ready within ${o.connectTimeoutMs} ms` +
              (last === null ? '' : `: ${last}`),
          ),
        );
      }, o.connectTimeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      conn.once('ready', onReady);
    });
  }
}

/**
 * For a cluster client that sends commands whose order matters: a cluster opens its node
 * connections lazily, and a command sent while one is still connecting is retried later, behind
 * commands sent after it, so the order of one client would be lost. Every node connection is
 * opened now, and each new one at once. Does nothing on a single Redis.
 * @internal
 */
export async function openEveryClusterNode(conn: RedisConnection): Promise<void> {
  if (!(conn instanceof Cluster)) return;
  conn.on('+node', (node: Redis) => {
    if (node.status === 'wait') node.connect().catch(() => undefined);
  });
  await Promise.all(conn.nodes('all').map((n) => n.ping().catch(() => undefined)));
}

/** True when `error` says Redis is unreachable (rather than that it refused the command). @internal */
export function isConnectionError(error: unknown): boolean {
  const text = errorText(error);
  return (
    /Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNRE|EPIPE|ETIMEDOUT|MaxRetriesPerRequest|CLUSTERDOWN|TRYAGAIN|No subscriber|Cluster is ended|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes/i.test(
      text,
    ) || (error as { name?: string } | null)?.name === 'MaxRetriesPerRequestError'
  );
}
