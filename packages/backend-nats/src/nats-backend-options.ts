import {
  BROKER_TIMEOUT_DEFAULTS,
  BROKER_TIMEOUT_RULES,
  ConfigError,
  checkIntegerOptions,
  describeOptionValue,
  type Logger,
  parseBrokerUrl,
  silentLogger,
  withoutUndefined,
} from '@dotmac-ws/core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';

/** Options of a {@link NatsBackend}. */
export interface NatsBackendOptions {
  /**
   * The NATS server(s): `nats://host:port`, `tls://host:port` (TLS required), `host:port` or
   * `host`; several for a cluster (the client also learns the cluster's other servers from the
   * server it connects to). Credentials go in {@link user}/{@link password} or {@link token},
   * never in the URL.
   * @default 'nats://127.0.0.1:4222'
   */
  servers?: string | readonly string[];
  /**
   * The first subject tokens of every subject this backend uses, so that several deployments
   * can share one NATS: dot-separated tokens of `A-Z a-z 0-9 _ -`, not starting with `$`.
   * @default 'dotmac-ws'
   */
  subjectPrefix?: string;
  /** The user name, with {@link password}. @default undefined */
  user?: string;
  /** The password of {@link user}. @default undefined */
  password?: string;
  /** An authentication token (instead of user and password). @default undefined */
  token?: string;
  /** The connection name the server's monitoring shows. @default 'dotmac-ws' */
  name?: string;
  /** How long `start` may take to connect. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * How long the server may take to confirm a subscription, to answer the health check's ping,
   * and to answer the round trip the backend times now and then while publishing. A server
   * silent that long (stalled, cut off without the connection breaking) gets publishes refused
   * with `backend_unavailable` at once until it answers again, instead of the client buffering
   * them.
   * @default 2000
   */
  commandTimeoutMs?: number;
  /**
   * The wait between two attempts to reach the same server. Reconnection never stops; a short
   * wait makes the nodes subscribe again soon after NATS returns.
   * @default 500
   */
  reconnectTimeWaitMs?: number;
  /** Up to this much random delay is added to each reconnection wait. @default 100 */
  reconnectJitterMs?: number;
  /**
   * When the server enters lame-duck mode, the client moves to another server of the pool
   * after a random delay of up to this long (spreading the nodes out). With a single known
   * server it stays until the server closes the connection.
   * @default 1000
   */
  lameDuckJitterMs?: number;
  /** How long `stop` drains (flushes what is pending) before closing regardless. @default 5000 */
  drainTimeoutMs?: number;
  /** More `@nats-io/transport-node` connection options (TLS details, ping interval, …). @default {} */
  natsOptions?: Partial<NodeConnectionOptions>;
  /** Where connection loss and recovery are logged. @default silentLogger */
  logger?: Logger;
}

/** The options with defaults applied. @internal */
export interface ResolvedNatsBackendOptions {
  /** `host:port` of each configured server. */
  servers: string[];
  /** True when a `tls://` URL asked for TLS. */
  tls: boolean;
  subjectPrefix: string;
  user: string | undefined;
  password: string | undefined;
  token: string | undefined;
  name: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  reconnectTimeWaitMs: number;
  reconnectJitterMs: number;
  lameDuckJitterMs: number;
  drainTimeoutMs: number;
  natsOptions: Partial<NodeConnectionOptions>;
  logger: Logger;
}

/** The defaults of {@link NatsBackendOptions}. */
export const NATS_BACKEND_DEFAULTS = {
  servers: 'nats://127.0.0.1:4222',
  subjectPrefix: 'dotmac-ws',
  name: 'dotmac-ws',
  ...BROKER_TIMEOUT_DEFAULTS,
  reconnectTimeWaitMs: 500,
  reconnectJitterMs: 100,
  lameDuckJitterMs: 1000,
  drainTimeoutMs: 5000,
} as const;

const INT_RULES = [
  ...BROKER_TIMEOUT_RULES,
  ['reconnectTimeWaitMs', 10, 600_000],
  ['reconnectJitterMs', 0, 600_000],
  ['lameDuckJitterMs', 0, 600_000],
  ['drainTimeoutMs', 0, 600_000],
] as const;

const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const SCHEMES = ['nats:', 'tls:'];
const SERVER_HINT = 'nats://host:port, tls://host:port, host:port or host';

/**
 * Validates `options` and applies the defaults. Throws one `ConfigError` that lists every
 * problem.
 * @internal
 */
export function resolveNatsBackendOptions(options: NatsBackendOptions): ResolvedNatsBackendOptions {
  const problems: string[] = [];
  const o = { ...NATS_BACKEND_DEFAULTS, ...withoutUndefined(options) };
  const list = typeof o.servers === 'string' ? [o.servers] : o.servers;
  const servers: string[] = [];
  let tls = false;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(
      `servers is ${describeOptionValue(o.servers)} when it must be a server URL or a non-empty list of them`,
    );
  } else {
    for (const [i, value] of list.entries()) {
      const name = list.length === 1 && typeof o.servers === 'string' ? 'servers' : `servers[${i}]`;
      const parsed = parseServer(value, name, problems);
      if (parsed === null) continue;
      servers.push(parsed.hostPort);
      tls ||= parsed.tls;
    }
  }
  if (typeof o.subjectPrefix !== 'string' || o.subjectPrefix.length > 128 || !PREFIX.test(o.subjectPrefix)) {
    problems.push(
      `subjectPrefix is ${describeOptionValue(o.subjectPrefix)} when it must be 1-128 characters of dot-separated tokens of A-Z a-z 0-9 _ - (no wildcards, no leading $)`,
    );
  }
  for (const key of ['user', 'password', 'token'] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) {
      problems.push(
        `${key} is ${key === 'user' ? describeOptionValue(v) : 'set'} when it must be a non-empty string`,
      );
    }
  }
  if (o.user !== undefined && o.password === undefined) problems.push('user is set without password');
  if (o.password !== undefined && o.user === undefined) problems.push('password is set without user');
  if (o.token !== undefined && o.user !== undefined) {
    problems.push('token and user are both set when only one way of authenticating may be');
  }
  if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 200) {
    problems.push(`name is ${describeOptionValue(o.name)} when it must be 1-200 characters`);
  }
  checkIntegerOptions(problems, o, INT_RULES);
  if (o.natsOptions !== undefined && (o.natsOptions === null || typeof o.natsOptions !== 'object')) {
    problems.push(
      `natsOptions is ${describeOptionValue(o.natsOptions)} when it must be an object of connection options`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems, 'NatsBackend options');
  return {
    servers,
    tls,
    subjectPrefix: o.subjectPrefix,
    user: o.user,
    password: o.password,
    token: o.token,
    name: o.name,
    connectTimeoutMs: o.connectTimeoutMs,
    commandTimeoutMs: o.commandTimeoutMs,
    reconnectTimeWaitMs: o.reconnectTimeWaitMs,
    reconnectJitterMs: o.reconnectJitterMs,
    lameDuckJitterMs: o.lameDuckJitterMs,
    drainTimeoutMs: o.drainTimeoutMs,
    natsOptions: o.natsOptions ?? {},
    logger: o.logger ?? silentLogger,
  };
}

/** Parses one server URL into `host:port`. */
function parseServer(
  value: unknown,
  name: string,
  problems: string[],
): { hostPort: string; tls: boolean } | null {
  const parsed = parseBrokerUrl(
    value,
    { name, schemes: SCHEMES, expected: SERVER_HINT, defaultPort: 4222, defaultScheme: 'nats', trim: true },
    problems,
  );
  if (parsed === null) return null;
  const { url: u, port, text } = parsed;
  if (u.username !== '' || u.password !== '') {
    problems.push(`${name} holds credentials: set user and password, or token, instead`);
    return null;
  }
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '' || u.hostname === '') {
    problems.push(
      `${name} is ${describeOptionValue(text)} when it must be ${SERVER_HINT} (no path or query)`,
    );
    return null;
  }
  return { hostPort: `${u.hostname}:${port}`, tls: u.protocol === 'tls:' };
}
