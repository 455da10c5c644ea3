import type { ComponentHealth } from './health';

/** One member of a channel's presence: a subscribed session (protocol.md v1.1, "Presence"). */
export interface PresenceMember {
  /** The session id. */
  client: string;
  /** The session's user id (null for an anonymous session). */
  user: string | null;
  /** The node the session is connected to. */
  node: string;
  /** When the member joined, ms since the epoch. */
  joinedAt: number;
  /** What the application attached (the token's `info` claim), size-capped by the gateway. */
  info?: unknown;
}

/** Counts of a channel's presence. */
export interface PresenceStats {
  /** Members (sessions). */
  numClients: number;
  /** Distinct users among them (anonymous sessions count one each). */
  numUsers: number;
}

/** What {@link PresenceStore.add} did. */
export type PresenceAddResult = 'added' | 'refreshed' | 'full';

/**
 * Where channels keep their members. One per backend package: memory, Redis (a sorted set of
 * expiries and a hash of members per channel), NATS (JetStream KV). Every implementation runs
 * `runPresenceStoreConformance` from `@dotmac-ws/core/testkit`.
 *
 * Contract:
 * - A member lives `ttlMs` after its last `add` or `refresh`; after that it is not listed nor
 *   counted, on every node, whether or not its node is alive (a dead node leaves no ghosts).
 * - `add` refuses (`'full'`, nothing stored) when the channel already holds `max` live members
 *   other than this client; re-adding a live client is `'refreshed'`.
 * - `prune` removes the members whose time ran out and returns them; when several nodes prune
 *   at once, each removed member is returned to exactly one of them (so exactly one `leave` is
 *   sent for it).
 */
export interface PresenceStore {
  /** A short name for health and logs. */
  readonly name: string;
  /** Connects (idempotent). */
  start(): Promise<void>;
  /** Adds or refreshes a member. */
  add(channel: string, member: PresenceMember, ttlMs: number, max: number): Promise<PresenceAddResult>;
  /** Removes a member; true when it was there (live, or expired but not yet pruned: its `leave` is still owed). */
  remove(channel: string, client: string): Promise<boolean>;
  /** Extends the life of these members of `channel` (a node's periodic heartbeat). */
  refresh(channel: string, clients: readonly string[], ttlMs: number): Promise<void>;
  /** The live members of `channel`, by session id. */
  list(channel: string): Promise<Record<string, PresenceMember>>;
  /** Counts of the live members of `channel`. */
  stats(channel: string): Promise<PresenceStats>;
  /** Removes and returns the members of `channel` whose time ran out. */
  prune(channel: string): Promise<PresenceMember[]>;
  /**
   * Health for `GET /health` and `healthCheck()`, as their `presence` component (checked within 2 s; a
   * store that is not healthy, throws or takes longer makes the node `degraded`). A store without
   * it adds no component.
   */
  health?(): Promise<ComponentHealth>;
  /** Disconnects (idempotent). */
  stop(): Promise<void>;
}
