import type { ComponentHealth } from './health';
import type { StreamPosition } from './stream-position';

/** One stored publication: its offset and the bytes that were appended (the gateway's envelope). */
export interface StoredPublication {
  /** Its offset in the channel. */
  offset: number;
  /** The body given to {@link HistoryStore.append}, unchanged. */
  body: Buffer;
}

/** One publication to append to a channel's history. */
export interface HistoryAppend {
  /** The channel (internal name: tenant-prefixed with tenant isolation on). */
  channel: string;
  /** The bytes to keep and deliver (the gateway's broadcast envelope). */
  body: Buffer;
  /** Publications kept in the channel; older ones are trimmed. At least 1. */
  size: number;
  /** The channel's history lives this long after its last append, in ms. */
  ttlMs: number;
  /**
   * The backend topic of the channel. A store that fans out ({@link HistoryStore.fansOut})
   * publishes the positioned payload ({@link encodePositioned}) on it, atomically with the
   * append, so that every node receives publications in offset order.
   */
  topic: string;
  /**
   * A key the publisher gave: a second append with the same key within `idempotencyTtlMs`
   * stores and delivers nothing and resolves with the first one's position (`duplicate: true`).
   */
  idempotencyKey?: string;
  /** How long an idempotency key is remembered, in ms (at least 2 minutes). */
  idempotencyTtlMs?: number;
}

/** What {@link HistoryStore.append} resolves with. */
export interface AppendResult extends StreamPosition {
  /** True when the idempotency key was seen before: nothing was stored or delivered. */
  duplicate: boolean;
}

/** A read of a channel's history. */
export interface HistoryQuery {
  /** Only publications after this offset (of the current epoch). @default 0 (from the oldest kept) */
  after?: number;
  /** At most this many publications. */
  limit: number;
  /** Newest first (`after` is then ignored). @default false */
  reverse?: boolean;
}

/** What a read found: the stream's current top position and the publications, in the asked order. */
export interface HistoryReadResult extends StreamPosition {
  /** The publications, oldest first (newest first when `reverse`). */
  publications: StoredPublication[];
}

/**
 * Where channels keep their history (protocol.md v1.1, "History and recovery"). One per backend
 * package: memory (`MemoryHistoryStore`), Redis (streams + Lua), NATS (JetStream). Every
 * implementation runs `runHistoryStoreConformance` from `@dotmac-ws/core/testkit`.
 *
 * Contract:
 * - `append` gives the publication the channel's next offset: exactly one more than the
 *   previous one in that channel, whichever node appended it (one total order per channel).
 *   Appends made by one node on one channel get offsets in the order `append` was called.
 * - The epoch of a channel is created on its first append and changes whenever the store lost
 *   the stream (restart of an in-memory store, broker flush, `remove`); offsets start again at 1.
 * - A channel keeps its last `size` publications; a channel without appends for `ttlMs` loses
 *   them (the position may survive, or the epoch may change; either way nothing older is read).
 * - When {@link fansOut} is true, `append` also publishes the positioned payload on `topic`
 *   through the broker (atomically: nodes receive a channel's publications in offset order).
 *   Otherwise the gateway publishes it on the backend after `append` resolves, and restores the
 *   order on the receiving side.
 * - Rejects with a `BackendUnavailableError` when the broker cannot be reached; never hangs past
 *   its own timeouts.
 */
export interface HistoryStore {
  /** A short name for health and logs, e.g. `memory`, `redis`. */
  readonly name: string;
  /** True when {@link append} itself delivers the publication on its topic. */
  readonly fansOut: boolean;
  /** Connects (idempotent). */
  start(): Promise<void>;
  /** Appends one publication; see the contract above. */
  append(entry: HistoryAppend): Promise<AppendResult>;
  /** Reads publications of `channel`. A channel never appended to reads as offset 0 with a fresh epoch. */
  read(channel: string, query: HistoryQuery): Promise<HistoryReadResult>;
  /** The channel's current top position (no publications read). */
  top(channel: string): Promise<StreamPosition>;
  /** Forgets the channel's history; its next epoch differs. */
  remove(channel: string): Promise<void>;
  /**
   * Health for `GET /health` and `healthCheck()`, as their `history` component (checked within 2 s; a
   * store that is not healthy, throws or takes longer makes the node `degraded`). A store without
   * it adds no component.
   */
  health?(): Promise<ComponentHealth>;
  /** Disconnects (idempotent). */
  stop(): Promise<void>;
}
