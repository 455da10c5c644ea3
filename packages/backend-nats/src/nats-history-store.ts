import { randomBytes } from 'node:crypto';
import type {
  AppendResult,
  ComponentHealth,
  HistoryAppend,
  HistoryQuery,
  HistoryReadResult,
  HistoryStore,
  StoredPublication,
  StreamPosition,
} from '@dotmac-ws/core';
import {
  DiscardPolicy,
  JetStreamApiError,
  type PubAck,
  StorageType,
  type StoredMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { type HistoryMeta, metaHeaders, oldestReadable, readMeta } from './history-meta';
import { historySubject, historySubjects, idempotencyMsgId } from './jetstream-names';
import { readMessages } from './jetstream-read';
import { KeyedSerializer } from './keyed-serializer';
import { NatsBackendError } from './nats-backend-error';
import { isConflict, type JetStreamHandles, NatsStoreConnection } from './nats-store-connection';
import {
  type NatsHistoryStoreOptions,
  type ResolvedHistoryStoreOptions,
  resolveHistoryStoreOptions,
} from './nats-store-options';
import { encodeToken } from './nats-subject';

/** The last publication of a channel as this node last saw it. */
interface Tail {
  /** Its stream sequence (what the next append expects as the subject's last). */
  seq: number;
  meta: HistoryMeta;
  /** When it was stored, ms since the epoch. */
  at: number;
  /** Its body, when read from the server. */
  body?: Buffer;
}

/** The epoch record of a channel in KV: `u` is 1 once a publication was stored in it. */
interface EpochRecord {
  e: string;
  u: 0 | 1;
}

/** Tails remembered at most (the channels this node appends to). */
const MAX_CACHED_TAILS = 10_000;
/**
 * Attempts of one append on a channel other nodes keep appending to (a node with a backlog on
 * the channel may win many rounds in a row; `appendTimeoutMs` is the bound that matters).
 */
const MAX_APPEND_ATTEMPTS = 10_000;
/** Attempts of a compare-and-set on a channel's epoch record. */
const MAX_EPOCH_ATTEMPTS = 20;
/** Steps of the search for the stream sequence of an offset (a bisection over 2^53 ends in 53). */
const MAX_SEARCH_STEPS = 64;

const ms2ns = (ms: number) => ms * 1_000_000;
const newEpoch = () => randomBytes(6).toString('base64url');

/**
 * Channel history on NATS JetStream ({@link HistoryStore} of core), for gateways on the
 * {@link NatsBackend}. One stream per deployment (`<prefix>_history`) holds one subject per
 * channel (`<prefix>.hist.<channel, escaped>`), with per-subject and age limits.
 *
 * Offsets: each stored message carries its offset (and epoch) in headers; an append publishes
 * the previous offset + 1 with `Nats-Expected-Last-Subject-Sequence` set to the stream sequence
 * of the channel's last message, so exactly one of two nodes appending at once wins and the
 * other reads the new last message and tries again: one contiguous order per channel, stored
 * atomically with the message. A node appends to one channel one call at a time (in call order)
 * and remembers the channel's last message, so an uncontended append is one round trip.
 *
 * Epochs live in a KV bucket (`<stream>_epochs`), created on the first `top`/`read`/`append` of
 * a channel and replaced by `remove` or when the channel's stream was lost. Idempotency keys use
 * JetStream's deduplication (`Nats-Msg-Id`, within `idempotencyWindowMs`). `fansOut` is false:
 * the gateway publishes each positioned payload on the backend after `append` resolves.
 *
 * @example
 * const nats = { servers: ['nats://n1:4222'], subjectPrefix: 'chat' }
 * const gateway = new WebSocketGateway({
 *   backend: new NatsBackend(nats),
 *   history: new NatsHistoryStore(nats),
 *   presence: new NatsPresenceStore(nats),
 * })
 */
export class NatsHistoryStore implements HistoryStore {
  readonly name = 'nats';
  readonly fansOut = false;
  readonly #o: ResolvedHistoryStoreOptions;
  readonly #conn: NatsStoreConnection;
  readonly #serial = new KeyedSerializer();
  readonly #tails = new Map<string, Tail>();

  /** Validates `options` (one `ConfigError` listing every problem); connects on `start`. */
  constructor(options: NatsHistoryStoreOptions = {}) {
    this.#o = resolveHistoryStoreOptions(options);
    const o = this.#o;
    this.#conn = new NatsStoreConnection(o.connection, 'history', {
      name: o.epochBucket,
      maxAgeMs: o.maxAgeMs,
      storage: o.storage,
      replicas: o.replicas,
    });
    // The server may have restarted without its data: what this node remembers may be stale.
    this.#conn.onReconnect = () => this.#tails.clear();
    this.#conn.ensure = (h) => this.#ensureOn(h);
  }

  /** The JetStream stream holding the history. */
  get streamName(): string {
    return this.#o.streamName;
  }

  /** The KV bucket holding the epochs. */
  get epochBucket(): string {
    return this.#o.epochBucket;
  }

  /** The subject holding `channel`'s history. */
  subjectOf(channel: string): string {
    return historySubject(this.#o.connection.subjectPrefix, channel);
  }

  /** Connects and creates (or updates) the stream and the epoch bucket. */
  start(): Promise<void> {
    return this.#conn.start();
  }

  /** Drains and closes the connection. */
  async stop(): Promise<void> {
    await this.#conn.stop();
    this.#tails.clear();
  }

  async #ensureOn(h: JetStreamHandles): Promise<void> {
    const o = this.#o;
    const config = {
      name: o.streamName,
      subjects: [historySubjects(o.connection.subjectPrefix)],
      storage: o.storage === 'memory' ? StorageType.Memory : StorageType.File,
      num_replicas: o.replicas,
      max_age: ms2ns(o.maxAgeMs),
      max_msgs_per_subject: o.maxPublicationsPerChannel,
      max_bytes: o.maxBytes,
      duplicate_window: ms2ns(o.idempotencyWindowMs),
      discard: DiscardPolicy.Old,
    } satisfies Partial<StreamConfig> & { name: string };
    try {
      await h.jsm.streams.add(config);
    } catch (error) {
      // Already there with other limits: take ours (the limits are the options').
      if (!(error instanceof JetStreamApiError)) throw error;
      const { name, storage: _storage, ...limits } = config;
      await h.jsm.streams.update(name, limits);
    }
    await this.#conn.openBucket(h);
  }

  /** Runs one JetStream call (see `NatsStoreConnection.call`) with the epoch bucket. */
  #call<T>(what: string, fn: (h: JetStreamHandles, kv: KV) => Promise<T>): Promise<T> {
    return this.#conn.callKv(what, fn);
  }

  /** The channel's last message from the server; null when it has none. */
  async #fetchTail(channel: string): Promise<Tail | null> {
    const subject = this.subjectOf(channel);
    const msg = await this.#call('read the last publication', (h) =>
      h.jsm.streams.getMessage(this.#o.streamName, { last_by_subj: subject }),
    );
    return msg === null ? null : this.#toTail(msg);
  }

  #toTail(msg: StoredMsg): Tail {
    const meta = readMeta(msg.header);
    if (meta === null) {
      throw new NatsBackendError(
        'store_failed',
        `${msg.subject} holds a message that is not a publication (seq ${msg.seq})`,
      );
    }
    return { seq: msg.seq, meta, at: msg.time.getTime(), body: Buffer.from(msg.data) };
  }

  #remember(channel: string, tail: Tail): void {
    this.#tails.delete(channel);
    this.#tails.set(channel, { seq: tail.seq, meta: tail.meta, at: tail.at });
    if (this.#tails.size > MAX_CACHED_TAILS) this.#tails.delete(this.#tails.keys().next().value as string);
  }

  /**
   * The epoch of a channel without publications in the stream. A record already used by
   * publications that are gone is replaced (their offsets will not come back); `use` marks the
   * record as used by the publication about to be appended.
   */
  async #emptyEpoch(channel: string, use: boolean): Promise<string> {
    const key = encodeToken(channel);
    for (let attempt = 0; attempt < MAX_EPOCH_ATTEMPTS; attempt++) {
      try {
        return await this.#call('read the epoch', async (_h, kv) => {
          const entry = await kv.get(key);
          const record = entry === null || entry.operation !== 'PUT' ? null : parseEpoch(entry.string());
          const write = (r: EpochRecord) => JSON.stringify(r);
          if (entry === null || record === null) {
            const e = newEpoch();
            if (entry !== null && entry.operation === 'PUT')
              await kv.update(key, write({ e, u: use ? 1 : 0 }), entry.revision);
            else await kv.create(key, write({ e, u: use ? 1 : 0 }));
            return e;
          }
          if (record.u === 0) {
            if (use) await kv.update(key, write({ e: record.e, u: 1 }), entry.revision);
            return record.e;
          }
          const e = newEpoch();
          await kv.update(key, write({ e, u: use ? 1 : 0 }), entry.revision);
          return e;
        });
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    throw this.#conn.unavailable(
      `the epoch of ${channel} (changed by other nodes ${MAX_EPOCH_ATTEMPTS} times in a row)`,
    );
  }

  /** Appends one publication; see core's `HistoryStore` contract. */
  append(entry: HistoryAppend): Promise<AppendResult> {
    return this.#serial.run(entry.channel, () => this.#append(entry));
  }

  async #append(entry: HistoryAppend): Promise<AppendResult> {
    const channel = entry.channel;
    const subject = this.subjectOf(channel);
    const size = Math.max(1, entry.size);
    const deadline = Date.now() + this.#o.appendTimeoutMs;
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS && Date.now() < deadline; attempt++) {
      const cached = this.#tails.get(channel);
      const tail = cached ?? (await this.#fetchTail(channel));
      const now = Date.now();
      let meta: HistoryMeta;
      if (tail === null) {
        meta = {
          offset: 1,
          epoch: await this.#emptyEpoch(channel, true),
          since: 1,
          size,
          ttlMs: entry.ttlMs,
        };
      } else {
        const offset = tail.meta.offset + 1;
        // After a pause longer than the channel's TTL, what came before is dead.
        const since = now - tail.at >= tail.meta.ttlMs ? offset : tail.meta.since;
        meta = { offset, epoch: tail.meta.epoch, since, size, ttlMs: entry.ttlMs };
      }
      const key = entry.idempotencyKey;
      let ack: PubAck;
      try {
        ack = await this.#call('append', (h) =>
          h.js.publish(subject, entry.body, {
            headers: metaHeaders(meta),
            expect: { lastSubjectSequence: tail?.seq ?? 0 },
            ...(key === undefined ? {} : { msgID: idempotencyMsgId(channel, meta.epoch, key) }),
            timeout: this.#o.connection.commandTimeoutMs,
          }),
        );
      } catch (error) {
        if (!isConflict(error)) throw this.#failed('append', error);
        // Another node appended (or the channel was removed): read its last message again.
        this.#tails.delete(channel);
        continue;
      }
      if (ack.duplicate) {
        // JetStream checks the key before the expected sequence: with a remembered tail the
        // epoch in the key may be stale (the channel was removed): look again, then answer.
        if (cached !== undefined) {
          this.#tails.delete(channel);
          continue;
        }
        return this.#duplicate(channel, ack.seq);
      }
      this.#remember(channel, { seq: ack.seq, meta, at: Date.now() });
      this.#trim(subject, meta);
      return { offset: meta.offset, epoch: meta.epoch, duplicate: false };
    }
    throw this.#conn.unavailable(
      `append on ${channel} (other nodes kept appending for ${this.#o.appendTimeoutMs} ms)`,
    );
  }

  /** A JetStream refusal other than a conflict (e.g. a body over `max_payload`). */
  #failed(what: string, error: unknown): Error {
    if (!(error instanceof JetStreamApiError))
      return error instanceof Error ? error : new Error(String(error));
    return new NatsBackendError('store_failed', `JetStream refused to ${what}: ${error.message}`, {
      cause: error,
    });
  }

  /**
   * Trims the channel to about its `size` (the stream's per-subject limit is one for all
   * channels): every quarter of `size` appends, the older ones are purged. Not awaited.
   */
  #trim(subject: string, meta: HistoryMeta): void {
    if (meta.size >= this.#o.maxPublicationsPerChannel) return;
    const every = Math.max(1, Math.ceil(meta.size / 4));
    if (meta.offset <= meta.size || meta.offset % every !== 0) return;
    this.#conn
      .run('trim', (h) => h.jsm.streams.purge(this.#o.streamName, { filter: subject, keep: meta.size }))
      .catch(() => undefined);
  }

  /** The answer to an append whose idempotency key was seen: the first one's position. */
  async #duplicate(channel: string, seq: number): Promise<AppendResult> {
    const first = await this.#call('read the first publication of an idempotency key', (h) =>
      h.jsm.streams.getMessage(this.#o.streamName, { seq }),
    );
    const meta = first === null || first.subject !== this.subjectOf(channel) ? null : readMeta(first.header);
    if (meta !== null) return { offset: meta.offset, epoch: meta.epoch, duplicate: true };
    // Trimmed since: it is older than anything readable; answer the channel's top.
    return { ...(await this.top(channel)), duplicate: true };
  }

  /** The channel's current top position. */
  async top(channel: string): Promise<StreamPosition> {
    const tail = await this.#fetchTail(channel);
    if (tail === null) return { offset: 0, epoch: await this.#emptyEpoch(channel, false) };
    return { offset: tail.meta.offset, epoch: tail.meta.epoch };
  }

  /** Reads publications of `channel` (honouring the `size` and `ttlMs` of its last append). */
  async read(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    const tail = await this.#fetchTail(channel);
    if (tail === null) return { offset: 0, epoch: await this.#emptyEpoch(channel, false), publications: [] };
    const last = tail.meta;
    const position = { offset: last.offset, epoch: last.epoch };
    const limit = Math.max(0, Math.floor(query.limit));
    const oldest = oldestReadable(last);
    let from: number;
    let to: number;
    if (query.reverse === true) {
      to = last.offset;
      from = Math.max(oldest, to - limit + 1);
    } else {
      from = Math.max(oldest, (query.after ?? 0) + 1);
      to = Math.min(last.offset, from + limit - 1);
    }
    // A channel idle for its TTL has no history left.
    if (limit === 0 || from > to || Date.now() - tail.at >= last.ttlMs)
      return { ...position, publications: [] };
    const publications =
      from === last.offset
        ? [{ offset: last.offset, body: tail.body ?? Buffer.alloc(0) }]
        : await this.#range(channel, from, to, tail);
    if (query.reverse === true) publications.reverse();
    return { ...position, publications };
  }

  /** The publications `from`..`to` of the channel, oldest first (fewer when trimmed meanwhile). */
  async #range(channel: string, from: number, to: number, tail: Tail): Promise<StoredPublication[]> {
    const subject = this.subjectOf(channel);
    const startSeq = await this.#seqOf(subject, from, tail);
    if (startSeq === null) return [];
    const ms = this.#o.connection.commandTimeoutMs;
    const msgs = await this.#call('read history', (h) =>
      readMessages(h, this.#o.streamName, { filter: subject, startSeq, max: to - from + 1 }, ms),
    );
    const out: StoredPublication[] = [];
    for (const m of msgs) {
      const meta = readMeta(m.header);
      if (meta === null || meta.epoch !== tail.meta.epoch || meta.offset < from || meta.offset > to) continue;
      out.push({ offset: meta.offset, body: Buffer.from(m.data) });
    }
    return out;
  }

  /**
   * The stream sequence of the oldest kept publication at or after offset `from` of `subject`.
   * Offsets of a subject follow its messages one by one, so the sequence lies between bounds
   * drawn from the first and last messages; a bisection with "next message of the subject at
   * or after sequence s" gets or brackets it in a few round trips. Null when nothing is kept.
   */
  async #seqOf(subject: string, from: number, tail: Tail): Promise<number | null> {
    const next = async (seq: number) => {
      const query = { seq, next_by_subj: subject };
      const m = await this.#call('read history', (h) => h.jsm.streams.getMessage(this.#o.streamName, query));
      const meta = m === null ? null : readMeta(m.header);
      return m === null || meta === null ? null : { seq: m.seq, offset: meta.offset };
    };
    const first = await next(1);
    if (first === null) return null;
    if (from <= first.offset) return first.seq;
    let lo = first.seq + (from - first.offset);
    let hi = tail.seq - (tail.meta.offset - from);
    for (let step = 0; step < MAX_SEARCH_STEPS && lo < hi; step++) {
      const probe = step === 0 ? hi : Math.floor((lo + hi) / 2);
      const m = await next(probe);
      if (m === null) break;
      if (m.offset === from) return m.seq;
      if (m.offset < from) lo = Math.max(probe + 1, m.seq + (from - m.offset));
      else hi = Math.min(probe - 1, m.seq - (m.offset - from));
    }
    // Bracketed to one sequence (or the bounds crossed: trimmed meanwhile, start at the first).
    return lo <= hi ? lo : first.seq;
  }

  /** Forgets the channel's history: purges its subject and gives it a new epoch. */
  remove(channel: string): Promise<void> {
    return this.#serial.run(channel, async () => {
      const subject = this.subjectOf(channel);
      await this.#call('remove history', async (h, kv) => {
        await h.jsm.streams.purge(this.#o.streamName, { filter: subject });
        this.#tails.delete(channel);
        await kv.put(encodeToken(channel), JSON.stringify({ e: newEpoch(), u: 0 } satisfies EpochRecord));
      });
    });
  }

  /** `healthy` when connected and NATS answers a ping. */
  health(): Promise<ComponentHealth> {
    return this.#conn.health({ stream: this.#o.streamName, channels_appending: this.#serial.size });
  }
}

function parseEpoch(text: string): EpochRecord | null {
  try {
    const v = JSON.parse(text) as Partial<EpochRecord>;
    return typeof v.e === 'string' && v.e.length > 0 && (v.u === 0 || v.u === 1) ? { e: v.e, u: v.u } : null;
  } catch {
    return null;
  }
}
