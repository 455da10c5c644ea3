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
  type PurgeOpts,
  StorageType,
  type StoredMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { firstOffset, type HistoryMeta, metaHeaders, oldestReadable, readMeta } from './history-meta';
import { type MessageSpan, seekOffset } from './history-seek';
import { historySubject, historySubjects, idempotencyMsgId } from './jetstream-names';
import { type ReadMessage, readMessages } from './jetstream-read';
import { KeyedBatcher } from './keyed-batcher';
import { NatsBackendError } from './nats-backend-error';
import { isConflict, type JetStreamHandles, NatsStoreConnection } from './nats-store-connection';
import {
  type NatsHistoryStoreOptions,
  type ResolvedHistoryStoreOptions,
  resolveHistoryStoreOptions,
} from './nats-store-options';
import { encodeToken } from './nats-subject';
import { encodeBatch, publicationsOf } from './publication-batch';

/** The last message of a channel as this node last saw it. */
interface Tail {
  /** Its stream sequence (what the next append expects as the subject's last). */
  seq: number;
  meta: HistoryMeta;
  /** When it was stored, ms since the epoch. */
  at: number;
  /** Its data, when read from the server. */
  data?: Uint8Array;
  /**
   * The channel's messages this node appended one after another up to this one (no other
   * node's in between), oldest first, this one last: where to trim without a search.
   */
  chain?: Link[];
}

/** One message of a {@link Tail.chain}: its stream sequence and first offset. */
interface Link {
  seq: number;
  first: number;
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
/** Publications in one JetStream message at most. */
const MAX_BATCH_PUBLICATIONS = 256;
/** Bytes of bodies in one JetStream message at most (or half the server's `max_payload`). */
const MAX_BATCH_BYTES = 512 * 1024;
/** Messages a {@link Tail.chain} remembers at most. */
const MAX_CHAIN = 16;
/** Messages the first round of a read that stops short of the top asks for at most. */
const FIRST_ROUND_MAX = 64;

const ms2ns = (ms: number) => ms * 1_000_000;
const newEpoch = () => randomBytes(6).toString('base64url');

/**
 * Channel history on NATS JetStream ({@link HistoryStore} of core), for gateways on the
 * {@link NatsBackend}. One stream per deployment (`<prefix>_history`) holds one subject per
 * channel (`<prefix>.hist.<channel, escaped>`), with per-subject and age limits.
 *
 * Offsets: each stored message carries its offsets (and epoch) in headers; an append publishes
 * the previous offset + 1 with `Nats-Expected-Last-Subject-Sequence` set to the stream sequence
 * of the channel's last message, so exactly one of two nodes appending at once wins and the
 * other reads the new last message and tries again: one contiguous order per channel, stored
 * atomically with the message. A node sends one message per channel at a time and remembers
 * the channel's last message, so an uncontended append is one round trip; the appends called
 * while one is in flight go together as the next message (a batch: consecutive offsets, in call
 * order, up to 256 publications or 512 KiB), so a busy channel costs JetStream one message per
 * round trip, not one per publication.
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
  readonly #batcher: KeyedBatcher<HistoryAppend, AppendResult>;
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
    this.#batcher = new KeyedBatcher((channel, entries) => this.#appendBatch(channel, entries), {
      maxItems: MAX_BATCH_PUBLICATIONS,
      maxWeight: () => Math.min(MAX_BATCH_BYTES, Math.floor(this.#conn.maxPayload / 2)),
      // The framing adds at most 3 bytes to a body under 2 MiB.
      weight: (e) => e.body.length + 3,
      // JetStream deduplicates whole messages: a key's publication goes in one of its own.
      alone: (e) => e.idempotencyKey !== undefined,
    });
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
    return { seq: msg.seq, meta, at: msg.time.getTime(), data: msg.data };
  }

  #remember(channel: string, tail: Tail): void {
    this.#tails.delete(channel);
    this.#tails.set(channel, { seq: tail.seq, meta: tail.meta, at: tail.at, chain: tail.chain ?? [] });
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

  /**
   * Appends one publication; see core's `HistoryStore` contract. Sent at once when the channel
   * has no append of this node in flight, else with the next batch of the channel.
   */
  append(entry: HistoryAppend): Promise<AppendResult> {
    return this.#batcher.add(entry.channel, entry);
  }

  /** Appends `entries` (one with an idempotency key goes alone) as one message, in order. */
  async #appendBatch(channel: string, entries: HistoryAppend[]): Promise<AppendResult[]> {
    const subject = this.subjectOf(channel);
    const n = entries.length;
    const last = entries[n - 1] as HistoryAppend;
    const only = n === 1 ? last : null;
    const body = only !== null ? only.body : encodeBatch(entries.map((e) => e.body));
    const key = only?.idempotencyKey;
    const size = Math.max(1, last.size);
    const deadline = Date.now() + this.#o.appendTimeoutMs;
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS && Date.now() < deadline; attempt++) {
      const cached = this.#tails.get(channel);
      const tail = cached ?? (await this.#fetchTail(channel));
      const now = Date.now();
      let meta: HistoryMeta;
      if (tail === null) {
        const epoch = await this.#emptyEpoch(channel, true);
        meta = { offset: n, count: n, epoch, since: 1, size, ttlMs: last.ttlMs };
      } else {
        const first = tail.meta.offset + 1;
        // After a pause longer than the channel's TTL, what came before is dead.
        const since = now - tail.at >= tail.meta.ttlMs ? first : tail.meta.since;
        meta = { offset: first + n - 1, count: n, epoch: tail.meta.epoch, since, size, ttlMs: last.ttlMs };
      }
      let ack: PubAck;
      try {
        ack = await this.#call('append', (h) =>
          h.js.publish(subject, body, {
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
        return [await this.#duplicate(channel, ack.seq)];
      }
      const first = firstOffset(meta);
      const chain = tail === null ? [] : (tail.chain ?? [{ seq: tail.seq, first: firstOffset(tail.meta) }]);
      const links = [...chain, { seq: ack.seq, first }];
      // Links before the one holding the oldest offset kept are of no more use to a trim.
      let drop = Math.max(0, links.length - MAX_CHAIN);
      while (drop < links.length - 1 && (links[drop + 1] as Link).first <= meta.offset - size + 1) drop++;
      this.#remember(channel, { seq: ack.seq, meta, at: Date.now(), chain: links.slice(drop) });
      this.#trim(channel, { seq: ack.seq, first, last: meta.offset }, size, links);
      return entries.map((_, i) => ({ offset: first + i, epoch: meta.epoch, duplicate: false }));
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
   * Trims the channel to its `size` publications: each time the offsets pass a multiple of a
   * quarter of `size`, the messages holding only older ones are purged. The purge goes below
   * the message holding the oldest kept offset when `links` (this node's last messages of the
   * channel) hold it; else, when those messages hold one publication each (a quiet channel),
   * it keeps the last `size` messages (as before batches: exact when the older ones hold one
   * each too, more otherwise); else a search finds that message. Not awaited.
   */
  #trim(channel: string, tail: MessageSpan, size: number, links: readonly Link[]): void {
    const every = Math.max(1, Math.ceil(size / 4));
    if (tail.last <= size || Math.floor(tail.last / every) === Math.floor((tail.first - 1) / every)) return;
    const keep = tail.last - size + 1;
    const subject = this.subjectOf(channel);
    // Links follow each other with no message between: the last one starting at or before
    // `keep` holds it.
    let known: number | undefined;
    for (const l of links) if (l.first <= keep) known = l.seq;
    const singles = links.length === tail.last - (links[0]?.first ?? tail.first) + 1;
    const purge = async () => {
      let opts: PurgeOpts = { filter: subject, keep: size };
      if (known !== undefined) opts = { filter: subject, seq: known };
      else if (!singles) {
        const seq = (await this.#seek(subject, keep, tail))?.seq;
        if (seq === undefined) return;
        opts = { filter: subject, seq };
      }
      await this.#conn.run('trim', (h) => h.jsm.streams.purge(this.#o.streamName, opts));
    };
    purge().catch(() => undefined);
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
      from >= firstOffset(last)
        ? within([{ meta: last, data: tail.data ?? new Uint8Array() }], last.epoch, from, to)
        : await this.#range(channel, from, to, tail);
    if (query.reverse === true) publications.reverse();
    return { ...position, publications };
  }

  /** The publications `from`..`to` of the channel, oldest first (fewer when trimmed meanwhile). */
  async #range(channel: string, from: number, to: number, tail: Tail): Promise<StoredPublication[]> {
    const subject = this.subjectOf(channel);
    const last = tail.meta;
    const start = await this.#seek(subject, from, {
      seq: tail.seq,
      first: firstOffset(last),
      last: last.offset,
    });
    if (start === null) return [];
    const ms = this.#o.connection.commandTimeoutMs;
    // Each message holds at least one publication: `to - from + 1` messages hold the range.
    // Up to the top, everything from `start` on is wanted: one round. Short of it, ask for what
    // the batch sizes seen suggest, at least twice as many each round (few rounds, and no
    // more than about twice the messages needed).
    let asked = 0;
    const more = (got: readonly ReadMessage[]) => {
      if (to === last.offset) return got.length === 0 ? Number.POSITIVE_INFINITY : 0;
      const seen = got.length === 0 ? null : readMeta(got[got.length - 1]?.header);
      const reached = seen?.offset ?? start.first - 1;
      if (reached >= to) return 0;
      const perMessage = seen?.count ?? Math.max(start.last - start.first + 1, last.count);
      const ask = Math.ceil((to - reached) / perMessage) + 1;
      asked = got.length === 0 ? Math.min(FIRST_ROUND_MAX, ask) : Math.max(ask, 2 * asked);
      return asked;
    };
    const msgs = await this.#call('read history', (h) =>
      readMessages(
        h,
        this.#o.streamName,
        { filter: subject, startSeq: start.seq, max: to - from + 1, more },
        ms,
      ),
    );
    return within(
      msgs.map((m) => ({ meta: readMeta(m.header), data: m.data })),
      last.epoch,
      from,
      to,
    );
  }

  /**
   * The message of `subject` holding offset `from`, or the oldest kept after it (see
   * {@link seekOffset}); `tail` is its last message.
   */
  #seek(subject: string, from: number, tail: MessageSpan): Promise<MessageSpan | null> {
    const next = async (seq: number): Promise<MessageSpan | null> => {
      const query = { seq, next_by_subj: subject };
      const m = await this.#call('read history', (h) => h.jsm.streams.getMessage(this.#o.streamName, query));
      const meta = m === null ? null : readMeta(m.header);
      return m === null || meta === null ? null : { seq: m.seq, first: firstOffset(meta), last: meta.offset };
    };
    return seekOffset(next, from, tail);
  }

  /** Forgets the channel's history: purges its subject and gives it a new epoch. */
  remove(channel: string): Promise<void> {
    return this.#batcher.exclusive(channel, async () => {
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
    return this.#conn.health({ stream: this.#o.streamName, channels_appending: this.#batcher.size });
  }
}

/**
 * The publications `from`..`to` of `epoch` in stored messages of one channel (oldest first);
 * messages that are not publications, of another epoch or damaged are left out.
 */
function within(
  msgs: readonly { meta: HistoryMeta | null; data: Uint8Array }[],
  epoch: string,
  from: number,
  to: number,
): StoredPublication[] {
  const out: StoredPublication[] = [];
  for (const { meta, data } of msgs) {
    if (meta === null || meta.epoch !== epoch || meta.offset < from || firstOffset(meta) > to) continue;
    for (const p of publicationsOf(meta, data) ?? []) if (p.offset >= from && p.offset <= to) out.push(p);
  }
  return out;
}

function parseEpoch(text: string): EpochRecord | null {
  try {
    const v = JSON.parse(text) as Partial<EpochRecord>;
    return typeof v.e === 'string' && v.e.length > 0 && (v.u === 0 || v.u === 1) ? { e: v.e, u: v.u } : null;
  } catch {
    return null;
  }
}
