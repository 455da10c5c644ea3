import {
  ConfigError,
  checkIntegerOptions,
  describeOptionValue,
  type IntegerRule,
  withoutUndefined,
} from '@dotmac-ws/core';
import { jetStreamBaseName } from './jetstream-names';
import {
  type NatsBackendOptions,
  type ResolvedNatsBackendOptions,
  resolveNatsBackendOptions,
} from './nats-backend-options';

/** Where JetStream keeps a store's data. */
export type NatsStoreStorage = 'file' | 'memory';

/**
 * What both JetStream stores share: the connection options of {@link NatsBackendOptions} (pass
 * the backend's options object as it is: same servers, credentials and `subjectPrefix`) and
 * how their stream is kept.
 */
export interface NatsStoreOptions extends NatsBackendOptions {
  /** `file` survives a NATS restart; `memory` does not (every channel then gets a new epoch). @default 'file' */
  storage?: NatsStoreStorage;
  /** Replicas of the stream or bucket in a JetStream cluster (1, 3 or 5). @default 1 */
  replicas?: number;
}

/** Options of a {@link NatsHistoryStore}. */
export interface NatsHistoryStoreOptions extends NatsStoreOptions {
  /**
   * The JetStream stream holding every channel's history (created on `start` if missing).
   * @default `<subjectPrefix, escaped>_history`, e.g. `dotmac-ws_history`
   */
  streamName?: string;
  /**
   * The KV bucket holding each channel's epoch.
   * @default `<streamName>_epochs`
   */
  epochBucket?: string;
  /**
   * The stream's `max_age`: JetStream deletes publications older than this, whatever the
   * channel's `history_ttl_ms` (make it at least the longest one). It is what frees the storage
   * of idle channels.
   * @default 86400000 (24 h)
   */
  maxAgeMs?: number;
  /**
   * The stream's `max_msgs_per_subject`: no channel keeps more JetStream messages than this.
   * A message holds 1 to 256 publications (a channel's appends made during one round trip go
   * as one), so a channel keeps at least this many publications (make it at least the largest
   * `history_size`). A backstop: each channel is trimmed to about its own `history_size`
   * publications as it is appended to.
   * @default 10000
   */
  maxPublicationsPerChannel?: number;
  /**
   * The stream's `duplicate_window`: how long an idempotency key is remembered at most (a key's
   * own TTL, at least 2 minutes, is honoured up to this). At most {@link maxAgeMs}.
   * @default 300000 (5 min)
   */
  idempotencyWindowMs?: number;
  /** The stream's `max_bytes`, or -1 for no limit (the oldest publications go first). @default -1 */
  maxBytes?: number;
  /** The longest one `append` may take, retries on a busy channel included. @default 5000 */
  appendTimeoutMs?: number;
}

/** Options of a {@link NatsPresenceStore}. */
export interface NatsPresenceStoreOptions extends NatsStoreOptions {
  /**
   * The JetStream KV bucket holding every channel's members (created on `start` if missing).
   * @default `<subjectPrefix, escaped>_presence`, e.g. `dotmac-ws_presence`
   */
  bucket?: string;
  /**
   * The bucket's max age: a member or counter not written for this long is deleted by
   * JetStream. Only garbage collection: members expire by the expiry stored in them. Make it
   * longer than the longest presence TTL.
   * @default 600000 (10 min)
   */
  maxAgeMs?: number;
  /** The longest one `add` may take, retries on a busy channel included. @default 5000 */
  addTimeoutMs?: number;
}

/** The defaults of {@link NatsHistoryStoreOptions} (besides the backend's). */
export const NATS_HISTORY_STORE_DEFAULTS = {
  storage: 'file',
  replicas: 1,
  maxAgeMs: 86_400_000,
  maxPublicationsPerChannel: 10_000,
  idempotencyWindowMs: 300_000,
  maxBytes: -1,
  appendTimeoutMs: 5000,
} as const;

/** The defaults of {@link NatsPresenceStoreOptions} (besides the backend's). */
export const NATS_PRESENCE_STORE_DEFAULTS = {
  storage: 'file',
  replicas: 1,
  maxAgeMs: 600_000,
  addTimeoutMs: 5000,
} as const;

/** Resolved {@link NatsHistoryStoreOptions}. @internal */
export interface ResolvedHistoryStoreOptions {
  connection: ResolvedNatsBackendOptions;
  storage: NatsStoreStorage;
  replicas: number;
  streamName: string;
  epochBucket: string;
  maxAgeMs: number;
  maxPublicationsPerChannel: number;
  idempotencyWindowMs: number;
  maxBytes: number;
  appendTimeoutMs: number;
}

/** Resolved {@link NatsPresenceStoreOptions}. @internal */
export interface ResolvedPresenceStoreOptions {
  connection: ResolvedNatsBackendOptions;
  storage: NatsStoreStorage;
  replicas: number;
  bucket: string;
  maxAgeMs: number;
  addTimeoutMs: number;
}

const NAME = /^[A-Za-z0-9_-]{1,200}$/;
const DAY_30 = 30 * 86_400_000;

/** Resolves the connection part and the options both stores share; collects problems. */
function resolveCommon(options: NatsStoreOptions, problems: string[]) {
  let connection: ResolvedNatsBackendOptions | null = null;
  const { storage, replicas, ...rest } = options;
  // Store options are not backend options: only the backend's own keys go to its resolver.
  const backendOnly: NatsBackendOptions = { ...rest };
  for (const key of STORE_KEYS) delete (backendOnly as Record<string, unknown>)[key];
  try {
    connection = resolveNatsBackendOptions(backendOnly);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const s = storage ?? 'file';
  if (s !== 'file' && s !== 'memory')
    problems.push(`storage is ${describeOptionValue(s)} when it must be 'file' or 'memory'`);
  const r = replicas ?? 1;
  if (r !== 1 && r !== 3 && r !== 5)
    problems.push(`replicas is ${describeOptionValue(r)} when it must be 1, 3 or 5`);
  return { connection, storage: s, replicas: r };
}

const STORE_KEYS = [
  'streamName',
  'epochBucket',
  'maxAgeMs',
  'maxPublicationsPerChannel',
  'idempotencyWindowMs',
  'maxBytes',
  'appendTimeoutMs',
  'bucket',
  'addTimeoutMs',
] as const;

function checkName(problems: string[], key: string, v: unknown): void {
  if (typeof v !== 'string' || !NAME.test(v)) {
    problems.push(`${key} is ${describeOptionValue(v)} when it must be 1-200 characters of A-Z a-z 0-9 _ -`);
  }
}

/** Validates history store options (one `ConfigError` listing every problem). @internal */
export function resolveHistoryStoreOptions(options: NatsHistoryStoreOptions): ResolvedHistoryStoreOptions {
  const problems: string[] = [];
  const common = resolveCommon(options, problems);
  const o = { ...NATS_HISTORY_STORE_DEFAULTS, ...withoutUndefined(options) };
  const base = jetStreamBaseName(common.connection?.subjectPrefix ?? 'dotmac-ws');
  const streamName = options.streamName ?? `${base}_history`;
  const epochBucket = options.epochBucket ?? `${streamName}_epochs`;
  checkName(problems, 'streamName', streamName);
  checkName(problems, 'epochBucket', epochBucket);
  const rules: IntegerRule<keyof typeof o>[] = [
    ['maxAgeMs', 1000, DAY_30 * 12],
    ['maxPublicationsPerChannel', 1, 100_000_000],
    ['idempotencyWindowMs', 120_000, DAY_30],
    ['maxBytes', -1, Number.MAX_SAFE_INTEGER],
    ['appendTimeoutMs', 100, 600_000],
  ];
  checkIntegerOptions(problems, o, rules);
  if (problems.length === 0 && o.idempotencyWindowMs > o.maxAgeMs) {
    problems.push(
      `idempotencyWindowMs (${o.idempotencyWindowMs}) is longer than maxAgeMs (${o.maxAgeMs}), which JetStream refuses`,
    );
  }
  if (problems.length > 0 || common.connection === null)
    throw new ConfigError(problems, 'NatsHistoryStore options');
  return {
    connection: common.connection,
    storage: common.storage,
    replicas: common.replicas,
    streamName,
    epochBucket,
    maxAgeMs: o.maxAgeMs,
    maxPublicationsPerChannel: o.maxPublicationsPerChannel,
    idempotencyWindowMs: o.idempotencyWindowMs,
    maxBytes: o.maxBytes,
    appendTimeoutMs: o.appendTimeoutMs,
  };
}

/** Validates presence store options (one `ConfigError` listing every problem). @internal */
export function resolvePresenceStoreOptions(options: NatsPresenceStoreOptions): ResolvedPresenceStoreOptions {
  const problems: string[] = [];
  const common = resolveCommon(options, problems);
  const o = { ...NATS_PRESENCE_STORE_DEFAULTS, ...withoutUndefined(options) };
  const bucket =
    options.bucket ?? `${jetStreamBaseName(common.connection?.subjectPrefix ?? 'dotmac-ws')}_presence`;
  checkName(problems, 'bucket', bucket);
  const rules: IntegerRule<keyof typeof o>[] = [
    ['maxAgeMs', 1000, DAY_30 * 12],
    ['addTimeoutMs', 100, 600_000],
  ];
  checkIntegerOptions(problems, o, rules);
  if (problems.length > 0 || common.connection === null)
    throw new ConfigError(problems, 'NatsPresenceStore options');
  return {
    connection: common.connection,
    storage: common.storage,
    replicas: common.replicas,
    bucket,
    maxAgeMs: o.maxAgeMs,
    addTimeoutMs: o.addTimeoutMs,
  };
}
