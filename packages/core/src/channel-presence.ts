import { BackendUnavailableError } from './backend-unavailable-error';
import type { Broadcaster } from './broadcaster';
import type { ResolvedChannelOptions } from './channel-options';
import type { ChannelRef } from './channel-policy';
import type { Connection } from './connection';
import { ErrorCode } from './constants';
import type { GatewayEvents } from './gateway-events';
import type { PresenceAddResult, PresenceMember, PresenceStats, PresenceStore } from './presence-store';
import { ProtocolError } from './protocol-error';
import type { GatewayCounters } from './stats';

/** What channel presence needs of the node. @internal */
export interface ChannelPresenceDeps {
  nodeId: string;
  store: PresenceStore;
  broadcaster: Broadcaster;
  counters: GatewayCounters;
  onError: (error: unknown, context: string) => void;
  /** A member not refreshed for this long is gone (its node died). */
  ttlMs: number;
  /** How long a disconnected session stays a member, so that a quick reconnect makes no noise. */
  graceMs: number;
  /** Member info larger than this (as JSON) is left out. */
  maxInfoBytes: number;
  events: GatewayEvents;
}

interface LocalChannel {
  ref: ChannelRef;
  joinLeave: boolean;
  members: Map<string, PresenceMember>;
  /** Members whose session closed, removed when their grace period ends. */
  leaving: Map<string, NodeJS.Timeout>;
}

/**
 * Presence of channels (protocol.md v1.1): a subscribed session of a channel with `presence` is a
 * member in the {@link PresenceStore}; this node refreshes its members' expiry every third of
 * `ttlMs` (so a dead node's members expire everywhere within `ttlMs`), prunes expired members of
 * the channels it serves (each pruned member's `leave` is sent by exactly one node), and sends
 * `join`/`leave` to subscribers on every node where `join_leave` is on. A session that closes
 * stays a member for `graceMs`: a client that reconnects at once joins again (as a new session)
 * before its old session leaves, so a user never appears to leave. @internal
 */
export class ChannelPresence {
  readonly #d: ChannelPresenceDeps;
  readonly #channels = new Map<string, LocalChannel>();
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;

  constructor(deps: ChannelPresenceDeps) {
    this.#d = deps;
  }

  /** Members this node holds (live and in their grace period). */
  get memberCount(): number {
    let n = 0;
    for (const c of this.#channels.values()) n += c.members.size;
    return n;
  }

  /** Starts refreshing and pruning. */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.#tick(), Math.max(50, Math.floor(this.#d.ttlMs / 3)));
    this.#timer.unref();
  }

  /**
   * Makes the session a member of the channel; refuses with `presence_full` when the channel
   * holds `maxPresenceMembers` already. Resolves with the member, for {@link announceJoin}.
   */
  async join(
    connection: Connection,
    ref: ChannelRef,
    options: ResolvedChannelOptions,
  ): Promise<PresenceMember> {
    const d = this.#d;
    const member: PresenceMember = {
      client: connection.sessionId,
      user: connection.userId,
      node: d.nodeId,
      joinedAt: Date.now(),
    };
    const info = this.#info(connection);
    if (info !== undefined) member.info = info;
    let result: PresenceAddResult;
    try {
      result = await d.store.add(ref.internal, member, d.ttlMs, options.maxPresenceMembers);
    } catch (error) {
      throw this.#unavailable(error);
    }
    if (result === 'full') {
      throw new ProtocolError(
        ErrorCode.PresenceFull,
        `"${ref.name}" has ${options.maxPresenceMembers} members already`,
      );
    }
    let local = this.#channels.get(ref.internal);
    if (local === undefined) {
      local = { ref, joinLeave: options.joinLeave, members: new Map(), leaving: new Map() };
      this.#channels.set(ref.internal, local);
    }
    local.members.set(member.client, member);
    if (result === 'added') d.events.emit('presence.member_added', { channel: ref, member });
    return member;
  }

  /** Sends `join` for a new member to the channel's subscribers on every node (with `join_leave`). */
  announceJoin(ref: ChannelRef, member: PresenceMember): void {
    if (this.#channels.get(ref.internal)?.joinLeave === true) this.#announce(ref, 'join', member);
  }

  /**
   * The session left the channel: at once when it unsubscribed, after the grace period when it
   * disconnected.
   */
  left(connection: Connection, internal: string, disconnected: boolean): void {
    const local = this.#channels.get(internal);
    const client = connection.sessionId;
    if (local === undefined || !local.members.has(client) || local.leaving.has(client)) return;
    if (!disconnected || this.#d.graceMs === 0) {
      void this.#remove(local, client);
      return;
    }
    const timer = setTimeout(() => void this.#remove(local, client), this.#d.graceMs);
    timer.unref();
    local.leaving.set(client, timer);
  }

  /** The channel's live members, for `presence` and `POST /api/presence`. */
  async list(channel: string): Promise<Record<string, PresenceMember>> {
    try {
      return await this.#d.store.list(channel);
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  /** The channel's counts, for `presence_stats` and `POST /api/presence_stats`. */
  async stats(channel: string): Promise<PresenceStats> {
    try {
      return await this.#d.store.stats(channel);
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  /**
   * The node is stopping: its members get the grace period a disconnect gets (a rolling deploy's
   * clients reconnect to the other nodes and join again before their old sessions leave), after
   * which a surviving node prunes them and sends their `leave`. With no grace period they are
   * removed at once, with their `leave`.
   */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const d = this.#d;
    const work: Promise<void>[] = [];
    for (const local of this.#channels.values()) {
      for (const t of local.leaving.values()) clearTimeout(t);
      local.leaving.clear();
      if (d.graceMs === 0) {
        for (const client of [...local.members.keys()]) work.push(this.#remove(local, client));
        continue;
      }
      work.push(
        d.store
          .refresh(local.ref.internal, [...local.members.keys()], d.graceMs)
          .catch((error: unknown) => d.onError(error, 'presence stop')),
      );
    }
    await Promise.all(work);
    this.#channels.clear();
  }

  async #remove(local: LocalChannel, client: string): Promise<void> {
    const member = local.members.get(client);
    if (member === undefined) return;
    const timer = local.leaving.get(client);
    if (timer !== undefined) clearTimeout(timer);
    local.leaving.delete(client);
    local.members.delete(client);
    if (local.members.size === 0 && this.#channels.get(local.ref.internal) === local) {
      this.#channels.delete(local.ref.internal);
    }
    let removed = false;
    try {
      removed = await this.#d.store.remove(local.ref.internal, client);
    } catch (error) {
      // It expires by itself within the TTL; its leave then comes from a pruning node.
      this.#d.onError(error, 'presence remove');
    }
    if (!removed) return;
    this.#d.events.emit('presence.member_removed', { channel: local.ref, member });
    if (local.joinLeave) this.#announce(local.ref, 'leave', member);
  }

  /** Refreshes this node's members and prunes expired ones, once per third of the TTL. */
  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    const d = this.#d;
    try {
      await Promise.all(
        [...this.#channels.values()].map(async (local) => {
          try {
            await d.store.refresh(local.ref.internal, [...local.members.keys()], d.ttlMs);
            if (!local.joinLeave) return;
            for (const gone of await d.store.prune(local.ref.internal))
              this.#announce(local.ref, 'leave', gone);
          } catch (error) {
            d.onError(error, 'presence refresh');
          }
        }),
      );
    } finally {
      this.#ticking = false;
    }
  }

  #announce(ref: ChannelRef, type: 'join' | 'leave', m: PresenceMember): void {
    const data: Record<string, unknown> = { client: m.client, user: m.user };
    if (m.info !== undefined) data.info = m.info;
    this.#d.broadcaster
      .publish({ kind: 'channel', channel: ref.internal, name: ref.name }, type, data)
      .catch((error: unknown) => {
        // Local subscribers got it; the backend's outage is reported by the backend.
        if (!(error instanceof BackendUnavailableError)) this.#d.onError(error, `presence ${type}`);
      });
  }

  /** The member info: the token's `info` claim or the authenticator's `extra.info`, size-capped. */
  #info(connection: Connection): unknown {
    const extra = connection.extra;
    const claims = extra.claims;
    const info =
      extra.info ??
      (claims !== null && typeof claims === 'object' ? (claims as Record<string, unknown>).info : undefined);
    if (info === undefined) return undefined;
    const json = JSON.stringify(info);
    if (json === undefined || Buffer.byteLength(json) > this.#d.maxInfoBytes) {
      this.#d.counters.presence_info_dropped++;
      return undefined;
    }
    return JSON.parse(json) as unknown;
  }

  #unavailable(error: unknown): BackendUnavailableError {
    this.#d.counters.backend_errors++;
    if (error instanceof BackendUnavailableError) return error;
    this.#d.onError(error, 'presence store');
    return new BackendUnavailableError('the presence store did not answer: try again', { cause: error });
  }
}
