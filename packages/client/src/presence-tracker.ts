import { TypedEmitter } from './event-emitter';
import type { ClientInfo, JsonValue, PresenceMember } from './protocol';
import type { Subscription } from './subscription';

/** A member of a tracked channel: one session. `node` and `joined_at` come from snapshots only. */
export interface TrackedMember {
  /** The member's session id. */
  client: string;
  user: string | null;
  info?: JsonValue;
  node?: string;
  joined_at?: number;
}

/** One distinct user of a tracked channel, with every session it has there. */
export interface PresenceUser {
  user: string | null;
  /** The user's member sessions, in the order they were seen. */
  clients: readonly string[];
  /** The `info` of the user's latest session. */
  info?: JsonValue;
}

/** The `change` event of a {@link PresenceTracker}: what one snapshot or one join/leave changed. */
export interface PresenceChange {
  /** `snapshot`: a `presence` answer (after every (re)subscribe, or `refresh()`); else a push. */
  cause: 'snapshot' | 'join' | 'leave';
  /** Sessions that came and went. */
  joined: TrackedMember[];
  left: TrackedMember[];
  /** Keys of {@link PresenceTracker.users} that came and went: a user whose new session joins before its old one leaves is in neither. */
  usersJoined: string[];
  usersLeft: string[];
}

/** Every event of a {@link PresenceTracker}. */
export interface PresenceTrackerEventMap {
  change: PresenceChange;
  /** A snapshot failed (e.g. `forbidden`, or a channel without presence); the map is kept. */
  error: { error: unknown };
}

/** Join/leave pushes kept while a snapshot is under way; past it, one more snapshot follows. */
const MAX_LOGGED_EVENTS = 10_000;

/** The key of a member's user: the user id, or the session id for an anonymous member. */
function userKey(member: { client: string; user: string | null }): string {
  return member.user ?? member.client;
}

/**
 * The members of a channel, kept for a UI: a snapshot (`presence`) after every (re)subscribe,
 * updated by `join`/`leave` pushes (the channel needs `presence` and `join_leave`). Create it
 * with {@link trackPresence}.
 */
export class PresenceTracker {
  readonly #subscription: Subscription;
  readonly #events = new TypedEmitter<PresenceTrackerEventMap>((error) =>
    queueMicrotask(() => {
      throw error;
    }),
  );
  #members = new Map<string, TrackedMember>();
  #users = new Map<string, PresenceUser>();
  #synced = false;
  #snapshot = 0;
  /** Pushes since the pending snapshot was asked for (replayed on it), or undefined. */
  #log: { info: ClientInfo; joined: boolean }[] | undefined;
  #logOverflowed = false;
  readonly #offs: (() => void)[];

  /** @internal Use {@link trackPresence}. */
  constructor(subscription: Subscription) {
    this.#subscription = subscription;
    this.#offs = [
      subscription.on('subscribed', () => void this.refresh()),
      subscription.on('state', ({ state }) => {
        if (state !== 'subscribed') this.#synced = false;
        if (state === 'unsubscribed') this.#replace(new Map());
      }),
      subscription.on('join', (info) => this.#push(info, true)),
      subscription.on('leave', (info) => this.#push(info, false)),
    ];
    if (subscription.state === 'subscribed') void this.refresh();
  }

  /** Members by session id. */
  get members(): ReadonlyMap<string, TrackedMember> {
    return this.#members;
  }

  /** Distinct users, keyed by user id (an anonymous member by its session id). */
  get users(): ReadonlyMap<string, PresenceUser> {
    return this.#users;
  }

  /** True once a snapshot of the current connection was applied; false while reconnecting. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Adds a listener (`change`, `error`); returns its remover. */
  on<K extends keyof PresenceTrackerEventMap>(
    type: K,
    listener: (event: PresenceTrackerEventMap[K]) => void,
  ): () => void {
    return this.#events.on(type, listener);
  }

  /**
   * Takes a new snapshot (the tracker does after every (re)subscribe). Resolves when it was
   * applied, or failed (reported as an `error` event), or a newer snapshot replaced it.
   */
  async refresh(): Promise<void> {
    const turn = ++this.#snapshot;
    this.#log = [];
    this.#logOverflowed = false;
    let clients: Record<string, PresenceMember>;
    try {
      ({ clients } = await this.#subscription.presence());
    } catch (error) {
      if (turn !== this.#snapshot) return;
      this.#log = undefined;
      this.#events.emit('error', { error });
      return;
    }
    if (turn !== this.#snapshot) return;
    const next = new Map<string, TrackedMember>();
    for (const [client, m] of Object.entries(clients ?? {})) next.set(client, { client, ...m });
    // Pushes that crossed the request are replayed in order: each sets or deletes one member.
    for (const { info, joined } of this.#log ?? []) apply(next, info, joined);
    const again = this.#logOverflowed;
    this.#log = undefined;
    this.#synced = this.#subscription.state === 'subscribed';
    this.#replace(next);
    if (again) await this.refresh();
  }

  /** Stops tracking (the map is kept as it is). */
  stop(): void {
    for (const off of this.#offs) off();
    this.#snapshot++;
    this.#log = undefined;
  }

  #push(info: ClientInfo, joined: boolean): void {
    if (this.#log !== undefined) {
      if (this.#log.length < MAX_LOGGED_EVENTS) this.#log.push({ info, joined });
      else this.#logOverflowed = true;
    }
    if (typeof info?.client !== 'string') return;
    const before = this.#members.get(info.client);
    if (before === undefined && !joined) return;
    const member = joined ? { ...before, ...info } : (before as TrackedMember);
    const key = userKey(member);
    const user = this.#users.get(key);
    let clients = user?.clients.filter((c) => c !== member.client) ?? [];
    if (joined) {
      this.#members.set(member.client, member);
      clients = [...clients, member.client];
    } else this.#members.delete(member.client);
    this.#setUser(key, clients);
    const one = (b: boolean) => (b ? [key] : []);
    this.#events.emit('change', {
      cause: joined ? 'join' : 'leave',
      joined: joined && before === undefined ? [member] : [],
      left: joined ? [] : [member],
      usersJoined: one(user === undefined && joined),
      usersLeft: one(clients.length === 0),
    });
  }

  #setUser(key: string, clients: string[]): void {
    const latest = this.#members.get(clients.at(-1) as string);
    if (latest === undefined) this.#users.delete(key);
    else this.#users.set(key, { user: latest.user, clients, info: latest.info });
  }

  /** Installs a snapshot as the member map and tells listeners what changed. */
  #replace(next: Map<string, TrackedMember>): void {
    const previous = this.#members;
    const previousUsers = this.#users;
    const byUser = new Map<string, string[]>();
    for (const member of next.values()) {
      const key = userKey(member);
      const clients = byUser.get(key);
      if (clients === undefined) byUser.set(key, [member.client]);
      else clients.push(member.client);
    }
    this.#members = next;
    this.#users = new Map();
    for (const [key, clients] of byUser) this.#setUser(key, clients);
    this.#events.emit('change', {
      cause: 'snapshot',
      joined: [...next.values()].filter((m) => !previous.has(m.client)),
      left: [...previous.values()].filter((m) => !next.has(m.client)),
      usersJoined: [...byUser.keys()].filter((k) => !previousUsers.has(k)),
      usersLeft: [...previousUsers.keys()].filter((k) => !byUser.has(k)),
    });
  }
}

/** Replays one push on a snapshot: a join sets the member (keeping the snapshot's node and joined_at), a leave deletes it. */
function apply(members: Map<string, TrackedMember>, info: ClientInfo, joined: boolean): void {
  if (typeof info?.client !== 'string') return;
  if (joined) members.set(info.client, { ...members.get(info.client), ...info });
  else members.delete(info.client);
}

/**
 * Keeps the members of `subscription`'s channel for a UI: `tracker.members` (by session),
 * `tracker.users` (distinct users, so that a user whose new session joins before the old one
 * leaves never flickers), and a `change` event. The channel needs `presence` (and `join_leave`
 * for live updates; without it, call `refresh()` when you want fresh data).
 *
 * @example
 * const room = client.subscribe('room:1', onMessage)
 * const online = trackPresence(room)
 * online.on('change', () => render([...online.users.values()].map((u) => u.info)))
 */
export function trackPresence(subscription: Subscription): PresenceTracker {
  return new PresenceTracker(subscription);
}
