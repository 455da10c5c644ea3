import { LoadtestOptionsError } from './loadtest-error';

/** The load shapes the runner knows. */
export const SCENARIOS = ['fanout', 'echo', 'connect', 'churn', 'multi-node', 'recovery'] as const;
/** A load shape: see the README for what each does. */
export type Scenario = (typeof SCENARIOS)[number];

/** Wire dialects: the gateway's protocol, or Socket.IO's (for peer comparisons). */
export const DIALECTS = ['dotmac', 'socket.io'] as const;
/** A wire dialect. */
export type DialectName = (typeof DIALECTS)[number];

/** Where a signed or given token travels at the handshake. */
export const TOKEN_TRANSPORTS = ['query', 'header', 'subprotocol'] as const;
/** A token transport. */
export type TokenVia = (typeof TOKEN_TRANSPORTS)[number];

/** Phases of a run, reported to {@link LoadOptions.onPhase}. */
export type RunPhase = 'connected' | 'measuring' | 'holding' | 'draining' | 'done';

/** A live view of a run, about once a second. */
export interface ProgressSnapshot {
  /** Seconds since the measured phase began. */
  elapsedSec: number;
  /** Open connections. */
  connections: number;
  /** Deliveries (or replies, or connections for `connect`) per second over the last interval. */
  ratePerSec: number;
  /** p99 latency so far, in milliseconds. */
  p99Ms: number;
  /** Lost messages so far (known only at the end for fan-out: 0 until then). */
  errors: number;
}

/** Service-level objectives: any one missed makes the run fail (exit code 1 from the CLI). */
export interface SloOptions {
  /** Largest acceptable p50 latency in ms. @default null (not checked) */
  maxP50Ms?: number | null;
  /** Largest acceptable p99 latency in ms. @default null (not checked) */
  maxP99Ms?: number | null;
  /** Largest acceptable p99.9 latency in ms. @default null (not checked) */
  maxP999Ms?: number | null;
  /**
   * Lost messages allowed: a count (`0`) or a percentage of those expected (`'0.1%'`).
   * @default null (not checked)
   */
  maxLoss?: number | `${number}%` | null;
  /** Duplicated messages allowed. @default null (not checked) */
  maxDuplicates?: number | null;
  /** Out-of-order messages allowed. @default null (not checked) */
  maxOutOfOrder?: number | null;
  /** Failed connections, error frames and unexpected closes allowed, together. @default null (not checked) */
  maxErrors?: number | null;
  /** Smallest acceptable throughput (deliveries, replies or connections per second). @default null (not checked) */
  minThroughput?: number | null;
  /**
   * `recovery`: longest acceptable time from the disruption until every affected subscriber
   * has recovered, in ms; a subscriber that never recovered misses it too.
   * @default null (not checked)
   */
  maxRecoveryMs?: number | null;
}

/** What {@link runLoad} does. Every field is optional; see each default. */
export interface LoadOptions extends SloOptions {
  /** The load shape. @default 'fanout' */
  scenario?: Scenario;
  /** Gateway URLs; connections are spread over them in turn. @default ['ws://127.0.0.1:8765/ws'] */
  urls?: readonly string[];
  /** URLs publishers connect to (`fanout`, `churn`, `multi-node`, `recovery`). @default the last of `urls` for multi-node and recovery, else `urls` */
  publishUrls?: readonly string[];
  /** Wire dialect. @default 'dotmac' */
  dialect?: DialectName;
  /** Subscribers (fanout, churn, multi-node), clients (echo) or connections (connect). @default 100 */
  connections?: number;
  /** Channels; subscriber i joins channel i mod channels. @default 1 */
  channels?: number;
  /** Publishing connections. @default 1 */
  publishers?: number;
  /**
   * Messages per second over all publishers (echo: requests per second over all clients);
   * 0 publishes as fast as the subscribers keep up (see `window`), echo then runs one request
   * in flight per client.
   * @default 100
   */
  rate?: number;
  /** Size of each message's `data` in bytes. @default 100 */
  payloadBytes?: number;
  /** Length of the measured phase, in seconds. @default 10 */
  durationSec?: number;
  /** With `rate` 0: deliveries in flight allowed per subscriber before a publisher waits. @default 32 */
  window?: number;
  /** New connections per second over the whole run; 0 is as fast as `connectConcurrency` allows. @default 0 */
  connectRate?: number;
  /** Handshakes in flight at once. @default 256 */
  connectConcurrency?: number;
  /** Time allowed from connecting to `welcome`. @default 10000 */
  connectTimeoutMs?: number;
  /** `connect`: how long to hold the connections open after the storm. @default 0 */
  holdMs?: number;
  /** After the measured phase, how long to wait for messages still in flight. @default 5000 */
  drainMs?: number;
  /** `churn`: connections that keep closing and reopening beside the steady subscribers. @default 10 */
  churnConnections?: number;
  /** `churn`: mean life of a churning connection, in ms (each lives 0.5x to 1.5x this). @default 1000 */
  churnLifetimeMs?: number;
  /** `echo`: the request type; `ping` is answered by `pong`, others by `ack`. @default 'ping' */
  echoType?: string;
  /** A token every connection presents. @default null */
  token?: string | null;
  /** Signs one HS* token per connection with this secret (sub `loadtest-<n>`). @default null */
  jwtSecret?: string | null;
  /** Claims added to each signed token. @default {} */
  jwtClaims?: Record<string, unknown>;
  /** Algorithm of signed tokens. @default 'HS256' */
  jwtAlgorithm?: 'HS256' | 'HS384' | 'HS512';
  /** Life of signed tokens, in seconds. @default 3600 */
  jwtExpiresInSec?: number;
  /** Where the token travels. @default 'query' */
  tokenVia?: TokenVia;
  /**
   * Source addresses 127.0.0.1..127.0.0.N to spread connections over (loopback targets only),
   * past the ~28,000 ephemeral ports of one address; `'auto'` takes one per 20,000 connections.
   * @default 'auto'
   */
  sourceAddresses?: number | 'auto';
  /** Worker threads that hold the connections; 0 holds them in this thread. @default 0 */
  workers?: number;
  /** Local server processes whose CPU time (and RSS) to measure over the run (Linux). @default [] */
  serverPids?: readonly number[];
  /**
   * `recovery`: processes (gateway nodes) to kill with SIGKILL at `disruptAtSec`: the node
   * failure the subscribers recover from. @default []
   */
  killPids?: readonly number[];
  /**
   * `recovery`: the fraction (0 to 1) of subscriber sockets the runner itself drops without a
   * close handshake at `disruptAtSec`: a network blip. @default 0
   */
  dropConnections?: number;
  /** `recovery`: seconds into the measured phase when the disruption happens. @default half of `durationSec` */
  disruptAtSec?: number | null;
  /**
   * `recovery`: a subscriber that lost its connection waits a random time up to this before
   * each reconnection attempt (full jitter); the bound doubles after every failed attempt.
   * @default 100
   */
  reconnectDelayMs?: number;
  /** `recovery`: the most the reconnection bound grows to, in ms. @default 2000 */
  reconnectMaxDelayMs?: number;
  /**
   * `recovery`: a subscriber still not recovered this long after losing its connection (or
   * after 50 attempts) gives up and is counted unrecovered. @default 15000
   */
  recoveryTimeoutMs?: number;
  /** Called about once a second with a live view. @default undefined */
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** Called at each phase; the run waits for a returned promise (e.g. to sample a server). @default undefined */
  onPhase?: (phase: RunPhase) => void | Promise<void>;
}

/** {@link LoadOptions} with every default applied and checked. */
export interface ResolvedLoadOptions {
  scenario: Scenario;
  urls: string[];
  publishUrls: string[];
  dialect: DialectName;
  connections: number;
  channels: number;
  publishers: number;
  rate: number;
  payloadBytes: number;
  durationSec: number;
  window: number;
  connectRate: number;
  connectConcurrency: number;
  connectTimeoutMs: number;
  holdMs: number;
  drainMs: number;
  churnConnections: number;
  churnLifetimeMs: number;
  echoType: string;
  token: string | null;
  jwtSecret: string | null;
  jwtClaims: Record<string, unknown>;
  jwtAlgorithm: 'HS256' | 'HS384' | 'HS512';
  jwtExpiresInSec: number;
  tokenVia: TokenVia;
  sourceAddresses: number;
  workers: number;
  serverPids: number[];
  killPids: number[];
  dropConnections: number;
  /** Seconds into the measured phase (resolved: half of `durationSec` unless given). */
  disruptAtSec: number;
  reconnectDelayMs: number;
  reconnectMaxDelayMs: number;
  recoveryTimeoutMs: number;
  slo: ResolvedSlo;
}

/** SLOs as checked: `maxLoss` split into a count or a ratio. */
export interface ResolvedSlo {
  maxP50Ms: number | null;
  maxP99Ms: number | null;
  maxP999Ms: number | null;
  maxLossCount: number | null;
  maxLossRatio: number | null;
  maxDuplicates: number | null;
  maxOutOfOrder: number | null;
  maxErrors: number | null;
  minThroughput: number | null;
  maxRecoveryMs: number | null;
}

/** The defaults, as the CLI help shows them. */
export const DEFAULTS = {
  scenario: 'fanout',
  urls: ['ws://127.0.0.1:8765/ws'],
  dialect: 'dotmac',
  connections: 100,
  channels: 1,
  publishers: 1,
  rate: 100,
  payloadBytes: 100,
  durationSec: 10,
  window: 32,
  connectRate: 0,
  connectConcurrency: 256,
  connectTimeoutMs: 10_000,
  holdMs: 0,
  drainMs: 5000,
  churnConnections: 10,
  churnLifetimeMs: 1000,
  echoType: 'ping',
  jwtAlgorithm: 'HS256',
  jwtExpiresInSec: 3600,
  tokenVia: 'query',
  sourceAddresses: 'auto',
  workers: 0,
  dropConnections: 0,
  reconnectDelayMs: 100,
  reconnectMaxDelayMs: 2000,
  recoveryTimeoutMs: 15_000,
} as const;

/** Connections per source address when `sourceAddresses` is `'auto'`. */
const CONNECTIONS_PER_ADDRESS = 20_000;
/** Smallest payload that holds the sequence marker (`~lt~pub~chan~seq~time~`). */
export const MIN_PAYLOAD_BYTES = 48;

/**
 * Applies the defaults to `input` and checks every field; throws one
 * {@link LoadtestOptionsError} that lists every problem.
 */
export function resolveLoadOptions(input: LoadOptions = {}): ResolvedLoadOptions {
  const problems: string[] = [];
  const int = (name: keyof LoadOptions, value: unknown, fallback: number, min: number, max: number) =>
    checkNumber(problems, name, value, fallback, min, max, true);
  const num = (name: keyof LoadOptions, value: unknown, fallback: number, min: number, max: number) =>
    checkNumber(problems, name, value, fallback, min, max, false);
  const oneOf = <T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    problems.push(
      `${name} is ${show(value)} when it must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
    );
    return fallback;
  };

  const scenario = oneOf('scenario', input.scenario, SCENARIOS, DEFAULTS.scenario);
  const urls = checkUrls(problems, 'urls', input.urls ?? DEFAULTS.urls);
  let publishUrls = checkUrls(problems, 'publishUrls', input.publishUrls ?? []);
  const spread = scenario === 'multi-node' || scenario === 'recovery';
  if (publishUrls.length === 0) publishUrls = spread ? urls.slice(-1) : urls;
  if (scenario === 'multi-node' && new Set([...urls, ...publishUrls]).size < 2) {
    problems.push('scenario multi-node needs at least two different URLs (urls and publishUrls together)');
  }
  const connections = int('connections', input.connections, DEFAULTS.connections, 1, 1_000_000);
  const channels = int('channels', input.channels, DEFAULTS.channels, 1, 100_000);
  const payloadBytes = int(
    'payloadBytes',
    input.payloadBytes,
    DEFAULTS.payloadBytes,
    MIN_PAYLOAD_BYTES,
    1 << 20,
  );
  const jwtSecret = checkString(problems, 'jwtSecret', input.jwtSecret);
  const token = checkString(problems, 'token', input.token);
  if (jwtSecret !== null && token !== null) problems.push('token and jwtSecret are both set: give one');
  const jwtClaims = input.jwtClaims ?? {};
  if (typeof jwtClaims !== 'object' || jwtClaims === null || Array.isArray(jwtClaims)) {
    problems.push(`jwtClaims is ${show(jwtClaims)} when it must be an object of claims`);
  }
  const echoType = input.echoType ?? DEFAULTS.echoType;
  if (typeof echoType !== 'string' || !/^[A-Za-z0-9_.:@/-]{1,100}$/.test(echoType)) {
    problems.push(
      `echoType is ${show(echoType)} when it must be 1-100 characters of A-Z a-z 0-9 _ - . : @ /`,
    );
  }
  const serverPids = checkPids(problems, 'serverPids', input.serverPids);
  const killPids = checkPids(problems, 'killPids', input.killPids);

  const churnConnections = int(
    'churnConnections',
    input.churnConnections,
    DEFAULTS.churnConnections,
    0,
    100_000,
  );
  const total = connections + (scenario === 'churn' ? churnConnections : 0);
  let sourceAddresses: number;
  const sa = input.sourceAddresses ?? DEFAULTS.sourceAddresses;
  const allLoopback = [...urls, ...publishUrls].every(isLoopbackUrl);
  if (sa === 'auto') {
    sourceAddresses = allLoopback ? Math.min(254, Math.ceil(total / CONNECTIONS_PER_ADDRESS)) : 1;
  } else {
    sourceAddresses = int('sourceAddresses', sa, 1, 1, 254);
    if (sourceAddresses > 1 && !allLoopback) {
      problems.push('sourceAddresses above 1 needs every URL on a loopback host (127.x.x.x or localhost)');
    }
  }

  const slo = resolveSlo(problems, input);
  const resolved: ResolvedLoadOptions = {
    scenario,
    urls,
    publishUrls,
    dialect: oneOf('dialect', input.dialect, DIALECTS, DEFAULTS.dialect),
    connections,
    channels,
    publishers: int('publishers', input.publishers, DEFAULTS.publishers, 1, 1000),
    rate: num('rate', input.rate, DEFAULTS.rate, 0, 10_000_000),
    payloadBytes,
    durationSec: num('durationSec', input.durationSec, DEFAULTS.durationSec, 0.1, 86_400),
    window: int('window', input.window, DEFAULTS.window, 1, 100_000),
    connectRate: num('connectRate', input.connectRate, DEFAULTS.connectRate, 0, 1_000_000),
    connectConcurrency: int(
      'connectConcurrency',
      input.connectConcurrency,
      DEFAULTS.connectConcurrency,
      1,
      100_000,
    ),
    connectTimeoutMs: int(
      'connectTimeoutMs',
      input.connectTimeoutMs,
      DEFAULTS.connectTimeoutMs,
      100,
      600_000,
    ),
    holdMs: int('holdMs', input.holdMs, DEFAULTS.holdMs, 0, 3_600_000),
    drainMs: int('drainMs', input.drainMs, DEFAULTS.drainMs, 0, 600_000),
    churnConnections,
    churnLifetimeMs: int('churnLifetimeMs', input.churnLifetimeMs, DEFAULTS.churnLifetimeMs, 10, 3_600_000),
    echoType,
    token,
    jwtSecret,
    jwtClaims,
    jwtAlgorithm: oneOf(
      'jwtAlgorithm',
      input.jwtAlgorithm,
      ['HS256', 'HS384', 'HS512'],
      DEFAULTS.jwtAlgorithm,
    ),
    jwtExpiresInSec: int('jwtExpiresInSec', input.jwtExpiresInSec, DEFAULTS.jwtExpiresInSec, 1, 31_536_000),
    tokenVia: oneOf('tokenVia', input.tokenVia, TOKEN_TRANSPORTS, DEFAULTS.tokenVia),
    sourceAddresses,
    workers: int('workers', input.workers, DEFAULTS.workers, 0, 64),
    serverPids,
    killPids,
    dropConnections: num('dropConnections', input.dropConnections, DEFAULTS.dropConnections, 0, 1),
    disruptAtSec: 0,
    reconnectDelayMs: int('reconnectDelayMs', input.reconnectDelayMs, DEFAULTS.reconnectDelayMs, 0, 60_000),
    reconnectMaxDelayMs: int(
      'reconnectMaxDelayMs',
      input.reconnectMaxDelayMs,
      DEFAULTS.reconnectMaxDelayMs,
      0,
      600_000,
    ),
    recoveryTimeoutMs: int(
      'recoveryTimeoutMs',
      input.recoveryTimeoutMs,
      DEFAULTS.recoveryTimeoutMs,
      100,
      3_600_000,
    ),
    slo,
  };
  resolved.disruptAtSec =
    input.disruptAtSec === undefined || input.disruptAtSec === null
      ? resolved.durationSec / 2
      : num('disruptAtSec', input.disruptAtSec, resolved.durationSec / 2, 0, 86_400);
  if ((scenario === 'churn' || scenario === 'recovery') && resolved.rate === 0) {
    const who = scenario === 'churn' ? 'churning' : 'recovering';
    problems.push(
      `scenario ${scenario} needs a fixed rate (rate above 0): ${who} subscribers cannot pace publishers`,
    );
  }
  if (scenario === 'recovery') checkRecovery(problems, resolved);
  if (problems.length > 0) throw new LoadtestOptionsError(problems);
  return resolved;
}

/** What only the `recovery` scenario needs: the dotmac dialect, a disruption within the run. */
function checkRecovery(problems: string[], o: ResolvedLoadOptions): void {
  if (o.dialect !== 'dotmac') {
    problems.push(
      `scenario recovery needs dialect 'dotmac' (not '${o.dialect}'): Socket.IO has no channel offsets to recover from`,
    );
  }
  if (o.killPids.length === 0 && o.dropConnections === 0) {
    problems.push('scenario recovery needs a disruption: killPids (--kill-pid) or dropConnections above 0');
  }
  if (o.disruptAtSec >= o.durationSec) {
    problems.push(
      `disruptAtSec is ${o.disruptAtSec} when it must be below durationSec (${o.durationSec}): the disruption happens while messages flow`,
    );
  }
  if (o.reconnectMaxDelayMs < o.reconnectDelayMs) {
    problems.push(
      `reconnectMaxDelayMs is ${o.reconnectMaxDelayMs} when it must be at least reconnectDelayMs (${o.reconnectDelayMs})`,
    );
  }
}

function checkPids(problems: string[], name: string, value: readonly number[] | undefined): number[] {
  const pids = [...(value ?? [])];
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid < 1)
      problems.push(`${name} holds ${show(pid)} when each must be a process id`);
  }
  return pids;
}

function resolveSlo(problems: string[], input: SloOptions): ResolvedSlo {
  const opt = (name: keyof SloOptions, value: unknown, integer: boolean): number | null => {
    if (value === undefined || value === null) return null;
    return checkNumber(problems, name, value, 0, 0, Number.MAX_SAFE_INTEGER, integer);
  };
  let maxLossCount: number | null = null;
  let maxLossRatio: number | null = null;
  const loss = input.maxLoss;
  if (typeof loss === 'string' && /^\d+(\.\d+)?%$/.test(loss)) {
    maxLossRatio = Number(loss.slice(0, -1)) / 100;
    if (maxLossRatio > 1) problems.push(`maxLoss is '${loss}' when a percentage must be at most 100%`);
  } else if (loss !== undefined && loss !== null) {
    maxLossCount = opt('maxLoss', typeof loss === 'string' && /^\d+$/.test(loss) ? Number(loss) : loss, true);
  }
  return {
    maxP50Ms: opt('maxP50Ms', input.maxP50Ms, false),
    maxP99Ms: opt('maxP99Ms', input.maxP99Ms, false),
    maxP999Ms: opt('maxP999Ms', input.maxP999Ms, false),
    maxLossCount,
    maxLossRatio,
    maxDuplicates: opt('maxDuplicates', input.maxDuplicates, true),
    maxOutOfOrder: opt('maxOutOfOrder', input.maxOutOfOrder, true),
    maxErrors: opt('maxErrors', input.maxErrors, true),
    minThroughput: opt('minThroughput', input.minThroughput, false),
    maxRecoveryMs: opt('maxRecoveryMs', input.maxRecoveryMs, false),
  };
}

function checkNumber(
  problems: string[],
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    problems.push(
      `${name} is ${show(value)} when it must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
    return fallback;
  }
  if (value < min || value > max) {
    problems.push(`${name} is ${value} when it must be from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

function checkString(problems: string[], name: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && value.length > 0) return value;
  problems.push(`${name} is ${show(value)} when it must be a non-empty string`);
  return null;
}

function checkUrls(problems: string[], name: string, value: unknown): string[] {
  if (!Array.isArray(value)) {
    problems.push(`${name} is ${show(value)} when it must be a list of ws:// or wss:// URLs`);
    return [];
  }
  const out: string[] = [];
  for (const u of value) {
    let url: URL | null = null;
    try {
      url = typeof u === 'string' ? new URL(u) : null;
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) {
      problems.push(`${name} holds ${show(u)} when each must be a ws:// or wss:// URL`);
    } else {
      out.push(u as string);
    }
  }
  if (name === 'urls' && out.length === 0 && value.length === 0)
    problems.push('urls is empty: give at least one URL');
  return out;
}

/** True when `url` names a loopback host, where any 127.x.x.x source address reaches it. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
}
