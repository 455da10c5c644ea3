import { randomBytes } from 'node:crypto';
import type {
  AppendResult,
  HistoryAppend,
  HistoryQuery,
  HistoryReadResult,
  HistoryStore,
  StoredPublication,
} from './history-store';
import type { StreamPosition } from './stream-position';

/** Options of a {@link MemoryHistoryStore}. */
export interface MemoryHistoryStoreOptions {
  /** How often idle channels and old idempotency keys are swept, in ms. @default 10000 */
  sweepIntervalMs?: number;
  /** Idempotency keys remembered per channel at most; the oldest go first. @default 100000 */
  maxIdempotencyKeys?: number;
}

interface Stream {
  epoch: string;
  top: number;
  /** A ring of the last `capacity` publications; `ring[(offset - 1) % capacity]`. */
  ring: (StoredPublication | undefined)[];
  expiresAt: number;
  keys: Map<string, { offset: number; expiresAt: number }>;
}

/**
 * History in this process: a ring of publications per channel. The epoch of every channel
 * changes with the process, so clients of a restarted single-node gateway are told their
 * positions are gone (`recovered:false`). Gateways of one process that share a store behave as
 * nodes of one cluster (with a shared `MemoryBus`).
 *
 * @example
 * const gateway = new WebSocketGateway({ history: new MemoryHistoryStore(), channelPolicy });
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly name = 'memory';
  readonly fansOut = false;
  readonly #streams = new Map<string, Stream>();
  readonly #maxKeys: number;
  readonly #sweepMs: number;
  #timer: NodeJS.Timeout | null = null;
  #users = 0;

  constructor(options: MemoryHistoryStoreOptions = {}) {
    this.#sweepMs = options.sweepIntervalMs ?? 10_000;
    this.#maxKeys = options.maxIdempotencyKeys ?? 100_000;
  }

  /** Channels with a live stream (for tests and stats). */
  get channelCount(): number {
    return this.#streams.size;
  }

  async start(): Promise<void> {
    this.#users++;
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.#sweep(Date.now()), this.#sweepMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    // Shared by the gateways of one process: the sweeper stops with the last of them.
    if (this.#users > 0) this.#users--;
    if (this.#users > 0 || this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
  }

  async append(entry: HistoryAppend): Promise<AppendResult> {
    const now = Date.now();
    const s = this.#live(entry.channel, now) ?? this.#create(entry.channel);
    if (entry.idempotencyKey !== undefined) {
      const seen = s.keys.get(entry.idempotencyKey);
      if (seen !== undefined && seen.expiresAt > now) {
        return { offset: seen.offset, epoch: s.epoch, duplicate: true };
      }
    }
    const capacity = Math.max(1, entry.size);
    if (s.ring.length !== capacity) s.ring = this.#resize(s, capacity);
    const offset = ++s.top;
    s.ring[(offset - 1) % capacity] = { offset, body: entry.body };
    s.expiresAt = now + entry.ttlMs;
    if (entry.idempotencyKey !== undefined) {
      s.keys.delete(entry.idempotencyKey);
      s.keys.set(entry.idempotencyKey, {
        offset,
        expiresAt: now + Math.max(entry.idempotencyTtlMs ?? 0, entry.ttlMs),
      });
      if (s.keys.size > this.#maxKeys) s.keys.delete(s.keys.keys().next().value as string);
    }
    return { offset, epoch: s.epoch, duplicate: false };
  }

  async read(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    const s = this.#live(channel, Date.now()) ?? this.#create(channel);
    const capacity = s.ring.length;
    const oldest = Math.max(1, s.top - capacity + 1);
    const publications: StoredPublication[] = [];
    const limit = Math.max(0, query.limit);
    if (query.reverse === true) {
      for (let o = s.top; o >= oldest && publications.length < limit; o--) {
        const p = s.ring[(o - 1) % capacity];
        if (p?.offset === o) publications.push(p);
      }
    } else {
      for (let o = Math.max(oldest, (query.after ?? 0) + 1); o <= s.top && publications.length < limit; o++) {
        const p = s.ring[(o - 1) % capacity];
        if (p?.offset === o) publications.push(p);
      }
    }
    return { offset: s.top, epoch: s.epoch, publications };
  }

  async top(channel: string): Promise<StreamPosition> {
    const s = this.#live(channel, Date.now()) ?? this.#create(channel);
    return { offset: s.top, epoch: s.epoch };
  }

  async remove(channel: string): Promise<void> {
    this.#streams.delete(channel);
  }

  #live(channel: string, now: number): Stream | undefined {
    const s = this.#streams.get(channel);
    if (s === undefined) return undefined;
    if (s.expiresAt <= now) {
      this.#streams.delete(channel);
      return undefined;
    }
    return s;
  }

  #create(channel: string): Stream {
    const s: Stream = {
      epoch: randomBytes(6).toString('base64url'),
      top: 0,
      ring: [],
      // A stream read before any append lives as long as the sweep interval allows.
      expiresAt: Date.now() + this.#sweepMs,
      keys: new Map(),
    };
    this.#streams.set(channel, s);
    return s;
  }

  #resize(s: Stream, capacity: number): (StoredPublication | undefined)[] {
    const ring: (StoredPublication | undefined)[] = new Array(capacity);
    const oldest = Math.max(1, s.top - Math.min(capacity, s.ring.length) + 1);
    for (let o = oldest; o <= s.top && s.ring.length > 0; o++) {
      const p = s.ring[(o - 1) % s.ring.length];
      if (p?.offset === o) ring[(o - 1) % capacity] = p;
    }
    return ring;
  }

  #sweep(now: number): void {
    for (const [channel, s] of this.#streams) {
      if (s.expiresAt <= now) {
        this.#streams.delete(channel);
        continue;
      }
      for (const [key, k] of s.keys) {
        if (k.expiresAt <= now) s.keys.delete(key);
      }
    }
  }
}
