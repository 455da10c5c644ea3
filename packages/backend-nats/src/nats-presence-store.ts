import type {
  ComponentHealth,
  PresenceAddResult,
  PresenceMember,
  PresenceStats,
  PresenceStore,
} from '@dotmac-ws/core';
import type { KV } from '@nats-io/kv';
import { readMessages } from './jetstream-read';
import { isConflict, type JetStreamHandles, NatsStoreConnection } from './nats-store-connection';
import {
  type NatsPresenceStoreOptions,
  type ResolvedPresenceStoreOptions,
  resolvePresenceStoreOptions,
} from './nats-store-options';
import { encodeToken } from './nats-subject';
import { type CounterIO, type CounterValue, PresenceCounter } from './presence-counter';
import { countMembers, type PresenceEntry, parseEntry, toEntry, toMember } from './presence-entry';

/** A member key read from KV: its revision and entry (null when deleted or unreadable). */
interface Read {
  rev: number;
  entry: PresenceEntry | null;
}

/** Attempts of one member write that other nodes keep changing. */
const MAX_ATTEMPTS = 20;
/** Entries this node wrote that it remembers (their revision: a refresh is then one write). */
const MAX_REMEMBERED = 200_000;
/** Members read from one channel at most. */
const MAX_MEMBERS = 1_000_000;

const memberPrefix = (channel: string) => `m.${encodeToken(channel)}`;
const memberKey = (channel: string, client: string) => `${memberPrefix(channel)}.${encodeToken(client)}`;
const counterKey = (channel: string) => `n.${encodeToken(channel)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Channel presence on a NATS JetStream KV bucket ({@link PresenceStore} of core), for gateways
 * on the {@link NatsBackend}. One bucket per deployment (`<prefix>_presence`) holds one key per
 * member (`m.<channel>.<client>`, escaped) whose value carries the member and its expiry, and
 * one counter per channel (`n.<channel>`) for `max_presence_members`.
 *
 * - Expiry is in the value and checked on every read, so a dead node's members stop being
 *   listed and counted within their TTL; the bucket's max age only collects what nobody pruned.
 * - Every write is a compare-and-set on the key's revision: `prune` deletes each expired member
 *   at the revision it read, so exactly one of the nodes pruning at once gets it (and sends the
 *   one `leave`); a refresh never brings back a member another node just removed.
 * - The member limit is a compare-and-set counter per channel (see `PresenceCounter`): never
 *   overshot by adds from several nodes at once.
 *
 * @example
 * const nats = { servers: ['nats://n1:4222'], subjectPrefix: 'chat' }
 * const gateway = new WebSocketGateway({
 *   backend: new NatsBackend(nats),
 *   history: new NatsHistoryStore(nats),
 *   presence: new NatsPresenceStore(nats),
 * })
 */
export class NatsPresenceStore implements PresenceStore {
  readonly name = 'nats';
  readonly #o: ResolvedPresenceStoreOptions;
  readonly #conn: NatsStoreConnection;
  readonly #counter: PresenceCounter;
  readonly #mine = new Map<string, Read & { entry: PresenceEntry }>();

  /** Validates `options` (one `ConfigError` listing every problem); connects on `start`. */
  constructor(options: NatsPresenceStoreOptions = {}) {
    this.#o = resolvePresenceStoreOptions(options);
    const o = this.#o;
    this.#conn = new NatsStoreConnection(o.connection, 'presence', {
      name: o.bucket,
      maxAgeMs: o.maxAgeMs,
      storage: o.storage,
      replicas: o.replicas,
    });
    this.#conn.onReconnect = () => this.#mine.clear();
    this.#counter = new PresenceCounter(this.#o.addTimeoutMs, (what) => this.#conn.unavailable(what));
  }

  /** The KV bucket holding the members. */
  get bucket(): string {
    return this.#o.bucket;
  }

  /** Connects and creates (or opens) the bucket. */
  start(): Promise<void> {
    return this.#conn.start();
  }

  /** Drains and closes the connection. */
  async stop(): Promise<void> {
    await this.#conn.stop();
    this.#mine.clear();
  }

  #call<T>(what: string, fn: (kv: KV, h: JetStreamHandles) => Promise<T>): Promise<T> {
    return this.#conn.callKv(what, (h, kv) => fn(kv, h));
  }

  async #get(key: string): Promise<Read | null> {
    const e = await this.#call('read a member', (kv) => kv.get(key));
    if (e === null) return null;
    return { rev: e.revision, entry: e.operation === 'PUT' ? parseEntry(e.value) : null };
  }

  /** Writes `entry` at `rev` (0: the key must be absent); the new revision. */
  #write(key: string, entry: PresenceEntry, rev: number): Promise<number> {
    const data = JSON.stringify(entry);
    return this.#call('write a member', (kv) =>
      rev === 0 ? kv.create(key, data) : kv.update(key, data, rev),
    );
  }

  /** Deletes `key` at `rev`; false when it changed since (someone else got there first). */
  async #delete(key: string, rev: number): Promise<boolean> {
    try {
      await this.#call('delete a member', (kv) => kv.delete(key, { previousSeq: rev }));
      this.#mine.delete(key);
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  #remember(key: string, rev: number, entry: PresenceEntry): void {
    this.#mine.delete(key);
    this.#mine.set(key, { rev, entry });
    if (this.#mine.size > MAX_REMEMBERED) this.#mine.delete(this.#mine.keys().next().value as string);
  }

  /** Every member key of `channel` now present: key, revision, entry (deleted ones left out). */
  async #all(channel: string): Promise<{ key: string; rev: number; entry: PresenceEntry | null }[]> {
    const stream = `KV_${this.#o.bucket}`;
    const prefix = `$KV.${this.#o.bucket}.`;
    const ms = this.#o.connection.commandTimeoutMs;
    const msgs = await this.#call('read the members', (_kv, h) =>
      readMessages(
        h,
        stream,
        { filter: `${prefix}${memberPrefix(channel)}.*`, lastPerSubject: true, max: MAX_MEMBERS },
        ms,
      ),
    );
    const out = [];
    for (const m of msgs) {
      const op = m.header?.get('KV-Operation') ?? '';
      if (op === 'DEL' || op === 'PURGE') continue;
      out.push({ key: m.subject.slice(prefix.length), rev: m.seq, entry: parseEntry(m.data) });
    }
    return out;
  }

  /** The counter of `channel`, as the shared {@link PresenceCounter} reads and writes it. */
  #counterIO(channel: string): CounterIO {
    const key = counterKey(channel);
    return {
      get: async () => {
        const e = await this.#call('read the member count', (kv) => kv.get(key));
        if (e === null || e.operation !== 'PUT') return null;
        const v = e.json<Partial<CounterValue>>();
        return typeof v.n === 'number' && typeof v.g === 'string' && typeof v.t === 'number'
          ? { n: v.n, g: v.g, t: v.t, rev: e.revision }
          : null;
      },
      create: async (value) => {
        await this.#call('write the member count', (kv) => kv.create(key, JSON.stringify(value)));
      },
      update: async (value, rev) => {
        await this.#call('write the member count', (kv) => kv.update(key, JSON.stringify(value), rev));
      },
      // An unreadable value counts (too many is the safe side).
      recount: async (exclude, t, pending) =>
        (await this.#all(channel)).filter(
          (m) => !exclude.has(m.key) && (m.entry === null || (m.entry.x > t && (pending || m.entry.p !== 1))),
        ).length,
      isConflict,
    };
  }

  /** The counter's generation now (null without a counter): read before deleting members. */
  async #generation(channel: string): Promise<string | null> {
    return (await this.#counterIO(channel).get())?.g ?? null;
  }

  /** Gives back the places of deleted members (their expiries); a failure only leaves the count high. */
  async #release(channel: string, g: string | null, expiries: readonly number[]): Promise<void> {
    if (g === null || expiries.length === 0) return;
    await this.#counter.release(channel, this.#counterIO(channel), g, expiries).catch(() => undefined);
  }

  /** Adds or refreshes a member; see core's `PresenceStore` contract. */
  async add(channel: string, member: PresenceMember, ttlMs: number, max: number): Promise<PresenceAddResult> {
    const key = memberKey(channel, member.client);
    const deadline = Date.now() + this.#o.addTimeoutMs;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && Date.now() < deadline; attempt++) {
      const read = await this.#get(key);
      const now = Date.now();
      const e = read?.entry ?? null;
      try {
        if (read !== null && e !== null && e.x > now) {
          if (e.p === 1) {
            // Another add of this client waits for a place: see what it got.
            await sleep(10 + attempt * 10);
            continue;
          }
          const entry = { ...e, x: now + ttlMs };
          this.#remember(key, await this.#write(key, entry, read.rev), entry);
          return 'refreshed';
        }
        // A new member (or an expired one nobody pruned yet): written pending (a recount counts
        // it from now on), then admitted.
        const rev = await this.#write(key, toEntry(member, now + ttlMs, true), read?.rev ?? 0);
        return await this.#admit(channel, key, member, ttlMs, max, rev);
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    throw this.#conn.unavailable(`add to ${channel} (other nodes kept changing the member)`);
  }

  async #admit(
    channel: string,
    key: string,
    member: PresenceMember,
    ttlMs: number,
    max: number,
    rev: number,
  ): Promise<PresenceAddResult> {
    let admitted: boolean;
    try {
      admitted = await this.#counter.admit(channel, this.#counterIO(channel), max, key);
    } catch (error) {
      await this.#delete(key, rev).catch(() => false);
      throw error;
    }
    if (!admitted) {
      await this.#delete(key, rev).catch(() => false);
      return 'full';
    }
    const entry = toEntry(member, Date.now() + ttlMs, false);
    try {
      this.#remember(key, await this.#write(key, entry, rev), entry);
    } catch (error) {
      // Removed while it waited: it was added, then removed.
      if (!isConflict(error)) throw error;
    }
    return 'added';
  }

  /** Removes a member; true when it was there (and live). */
  async remove(channel: string, client: string): Promise<boolean> {
    const key = memberKey(channel, client);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.#get(key);
      const e = read?.entry ?? null;
      if (read === null || e === null || e.p === 1) return false;
      const g = await this.#generation(channel);
      if (!(await this.#delete(key, read.rev))) continue;
      await this.#release(channel, g, [e.x]);
      return e.x > Date.now();
    }
    throw this.#conn.unavailable(`remove from ${channel} (other nodes kept changing the member)`);
  }

  /** Extends the life of these members of `channel` (the live ones). */
  async refresh(channel: string, clients: readonly string[], ttlMs: number): Promise<void> {
    await Promise.all(clients.map((client) => this.#refreshOne(memberKey(channel, client), ttlMs)));
  }

  async #refreshOne(key: string, ttlMs: number): Promise<void> {
    const now = Date.now();
    const known = this.#mine.get(key);
    let read: Read | null = known !== undefined && known.entry.x > now ? known : null;
    for (let attempt = 0; attempt < 2; attempt++) {
      read ??= await this.#get(key);
      const e = read?.entry ?? null;
      if (read === null || e === null || e.p === 1 || e.x <= Date.now()) return;
      const entry = { ...e, x: Date.now() + ttlMs };
      try {
        this.#remember(key, await this.#write(key, entry, read.rev), entry);
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
        read = null;
      }
    }
  }

  /** The live members of `channel`, by session id. */
  async list(channel: string): Promise<Record<string, PresenceMember>> {
    const now = Date.now();
    const out: Record<string, PresenceMember> = {};
    for (const { entry } of await this.#all(channel)) {
      if (entry !== null && entry.p !== 1 && entry.x > now) out[entry.c] = toMember(entry);
    }
    return out;
  }

  /** Counts of the live members of `channel`. */
  async stats(channel: string): Promise<PresenceStats> {
    return countMembers(Object.values(await this.list(channel)));
  }

  /** Removes and returns the members whose time ran out; each to exactly one pruning node. */
  async prune(channel: string): Promise<PresenceMember[]> {
    const now = Date.now();
    const expired = (await this.#all(channel)).filter((m) => m.entry !== null && m.entry.x <= now);
    if (expired.length === 0) return [];
    const g = await this.#generation(channel);
    const won = await Promise.all(expired.map((m) => this.#delete(m.key, m.rev)));
    const gone: PresenceMember[] = [];
    const expiries: number[] = [];
    for (const [i, m] of expired.entries()) {
      // A pending entry whose add died: never listed; whether it was counted is unknown (a
      // count too high is the safe side).
      if (!won[i] || m.entry === null || m.entry.p === 1) continue;
      gone.push(toMember(m.entry));
      expiries.push(m.entry.x);
    }
    await this.#release(channel, g, expiries);
    return gone;
  }

  /** `healthy` when connected and NATS answers a ping. */
  health(): Promise<ComponentHealth> {
    return this.#conn.health({ bucket: this.#o.bucket });
  }
}
