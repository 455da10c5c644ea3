import {
  BROKER_TIMEOUT_DEFAULTS,
  BROKER_TIMEOUT_RULES,
  brokerUrlOrigin,
  ConfigError,
  checkIntegerOptions,
  describeOptionValue,
  type Logger,
  parseBrokerUrl,
  silentLogger,
  withoutUndefined,
} from '@dotmac-ws/core';
import type { ClusterNode, RedisOptions } from 'ioredis';

/** Options of a {@link RedisBackend}. */
export interface RedisBackendOptions {
  /**
   * The Redis to connect to: `redis://` or `rediss://` (TLS), with optional user, password and
   * database (`redis://user:secret@host:6379/2`). Ignored when {@link clusterNodes} is set,
   * except for its credentials and TLS, which then apply to every cluster node.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * Redis Cluster seed nodes, as `host:port` or `redis://` / `rediss://` URLs. When set, the
   * backend talks to a cluster.
   * @default undefined (a single Redis at `url`)
   */
  clusterNodes?: readonly string[];
  /**
   * Use sharded pub/sub (`SPUBLISH` / `SSUBSCRIBE`, Redis 7+): in a cluster, each message
   * travels only within the shard that owns its channel instead of to every node.
   * @default false
   */
  sharded?: boolean;
  /**
   * On a single Redis (classic pub/sub), send the publishes of one event-loop turn as one script
   * call (`EVAL` of a loop of `PUBLISH`) instead of one `PUBLISH` each: about a quarter less
   * gateway CPU per message that crosses nodes, for about half a microsecond more of Redis CPU
   * per message (the Lua loop). Turn it off when Redis, not the gateways, is what runs out. A
   * Redis that refuses scripts gets one `PUBLISH` per message either way.
   * @default true
   */
  batchPublishes?: boolean;
  /**
   * Prepended to every topic to make the Redis channel name, so that several deployments can
   * share one Redis. Avoid `{` `}` (a hash tag would put every channel in one cluster slot).
   * @default 'dotmac-ws:'
   */
  keyPrefix?: string;
  /** How long `start` waits for both connections to be ready. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * How long a subscription, a publish or the health check's `PING` may take. A publish Redis
   * has not answered in that time is refused with `backend_unavailable` (counted as dropped), and
   * so is every later one at once, until Redis answers again: a stalled Redis costs no memory and
   * no wait per message.
   * @default 2000
   */
  commandTimeoutMs?: number;
  /**
   * The longest wait between two reconnection attempts. Reconnection never stops; a short
   * ceiling makes the nodes subscribe again soon after Redis returns.
   * @default 500
   */
  reconnectMaxDelayMs?: number;
  /** More ioredis options (TLS details, `family`, …), applied to every connection. @default {} */
  redisOptions?: RedisOptions;
  /** Where connection loss and recovery are logged. @default silentLogger */
  logger?: Logger;
}

/** The options with defaults applied and the URL parsed. @internal */
export interface ResolvedRedisBackendOptions {
  /** Connection options from the URL plus `redisOptions`. */
  connection: RedisOptions;
  /** Cluster seed nodes, or null for a single Redis. */
  clusterNodes: ClusterNode[] | null;
  sharded: boolean;
  batchPublishes: boolean;
  keyPrefix: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  reconnectMaxDelayMs: number;
  logger: Logger;
  /** The URL without its password, for health and logs. */
  displayUrl: string;
}

/** The defaults of {@link RedisBackendOptions}. */
export const REDIS_BACKEND_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  sharded: false,
  batchPublishes: true,
  keyPrefix: 'dotmac-ws:',
  ...BROKER_TIMEOUT_DEFAULTS,
  reconnectMaxDelayMs: 500,
} as const;

const INT_RULES = [...BROKER_TIMEOUT_RULES, ['reconnectMaxDelayMs', 10, 600_000] as const];

const SCHEMES = ['redis:', 'rediss:'];
const URL_HINT = 'a redis:// or rediss:// URL such as redis://user:secret@host:6379/0';

/**
 * Validates `options` and applies the defaults. Throws one `ConfigError` about `subject` that
 * lists every problem, those of `more` (the checks of a store's own options) included.
 * @internal
 */
export function resolveRedisBackendOptions(
  options: RedisBackendOptions,
  subject = 'RedisBackend options',
  more: (problems: string[]) => void = () => undefined,
): ResolvedRedisBackendOptions {
  const problems: string[] = [];
  const o = { ...REDIS_BACKEND_DEFAULTS, ...withoutUndefined(options) };
  const url = parseRedisUrl(o.url, 'url', problems);
  let clusterNodes: ClusterNode[] | null = null;
  if (options.clusterNodes !== undefined) {
    if (!Array.isArray(options.clusterNodes) || options.clusterNodes.length === 0) {
      problems.push(
        `clusterNodes is ${describeOptionValue(options.clusterNodes)} when it must be a non-empty list of host:port`,
      );
    } else {
      clusterNodes = [];
      for (const [i, node] of options.clusterNodes.entries()) {
        const parsed = parseNode(node, `clusterNodes[${i}]`, problems);
        if (parsed !== null) clusterNodes.push(parsed);
      }
    }
  }
  if (typeof o.sharded !== 'boolean')
    problems.push(`sharded is ${describeOptionValue(o.sharded)} when it must be a boolean`);
  if (typeof o.batchPublishes !== 'boolean') {
    problems.push(`batchPublishes is ${describeOptionValue(o.batchPublishes)} when it must be a boolean`);
  }
  if (typeof o.keyPrefix !== 'string' || o.keyPrefix.length > 200 || /[\s{}]/.test(o.keyPrefix)) {
    problems.push(
      `keyPrefix is ${describeOptionValue(o.keyPrefix)} when it must be a string of at most 200 characters without spaces or braces`,
    );
  }
  checkIntegerOptions(problems, o, INT_RULES);
  if (o.redisOptions !== undefined && (o.redisOptions === null || typeof o.redisOptions !== 'object')) {
    problems.push(
      `redisOptions is ${describeOptionValue(o.redisOptions)} when it must be an object of ioredis options`,
    );
  }
  more(problems);
  if (problems.length > 0) throw new ConfigError(problems, subject);
  return {
    connection: { ...url?.connection, ...o.redisOptions },
    clusterNodes,
    sharded: o.sharded,
    batchPublishes: o.batchPublishes,
    keyPrefix: o.keyPrefix,
    connectTimeoutMs: o.connectTimeoutMs,
    commandTimeoutMs: o.commandTimeoutMs,
    reconnectMaxDelayMs: o.reconnectMaxDelayMs,
    logger: o.logger ?? silentLogger,
    displayUrl: clusterNodes
      ? clusterNodes.map((n) => (typeof n === 'object' ? `${n.host}:${n.port}` : String(n))).join(',')
      : (url?.display ?? ''),
  };
}

/** Parses a `redis://` or `rediss://` URL into ioredis connection options. */
function parseRedisUrl(
  value: unknown,
  name: string,
  problems: string[],
): { connection: RedisOptions; host: string; port: number; display: string } | null {
  const parsed = parseBrokerUrl(
    value,
    { name, schemes: SCHEMES, expected: URL_HINT, defaultPort: 6379 },
    problems,
  );
  if (parsed === null) return null;
  const { url: u, port } = parsed;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 65535 || !/^\d*$/.test(dbText)) {
    problems.push(
      `${name} names the database '${dbText}' when it must be an integer from 0 (as in redis://host:6379/0)`,
    );
    return null;
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const connection: RedisOptions = { host, port, db };
  if (u.username !== '') connection.username = decodeURIComponent(u.username);
  if (u.password !== '') connection.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') connection.tls = { servername: host };
  return { connection, host, port, display: `${brokerUrlOrigin(u)}/${db}` };
}

/** A cluster seed: `host:port` or a URL. */
function parseNode(value: unknown, name: string, problems: string[]): ClusterNode | null {
  if (typeof value === 'string' && /^[^\s/:]+:\d{1,5}$/.test(value)) {
    const [host, port] = value.split(':') as [string, string];
    if (Number(port) >= 1 && Number(port) <= 65535) return { host, port: Number(port) };
  }
  if (typeof value === 'string' && /^rediss?:\/\//.test(value)) {
    const url = parseRedisUrl(value, name, problems);
    return url === null ? null : { host: url.host, port: url.port };
  }
  problems.push(
    `${name} is ${describeOptionValue(value)} when it must be host:port (port 1-65535) or a redis:// URL`,
  );
  return null;
}
