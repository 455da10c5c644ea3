import {
  type ComponentHealth,
  type PresenceAddResult,
  type PresenceMember,
  type PresenceStats,
  type PresenceStore,
  safeJsonParse,
} from '@dotmac-ws/core';
import { type RedisBackendOptions, resolveRedisBackendOptions } from './redis-backend-options';
import { RedisChannelKeys } from './redis-channel-keys';
import {
  ADD_SCRIPT,
  LIST_SCRIPT,
  PRUNE_SCRIPT,
  REFRESH_SCRIPT,
  REMOVE_SCRIPT,
  STATS_SCRIPT,
} from './redis-presence-scripts';
import type { RedisScript, ScriptArg } from './redis-script';
import { RedisStoreClient } from './redis-store-client';

/** Options of a {@link RedisPresenceStore}: those of a `RedisBackend` (`sharded` is unused). */
export type RedisPresenceStoreOptions = RedisBackendOptions;

/**
 * How long a channel's presence keys outlive its latest member expiry: time for the nodes still
 * alive to prune the last members (and announce their `leave`) before Redis drops the keys.
 */
export const PRESENCE_KEY_GRACE_MS = 60_000;

/** Session ids per refresh script (a node's heartbeat of a large channel is split). */
const REFRESH_BATCH = 1000;
/** Stale members removed per prune script; a prune runs at most {@link PRUNE_ROUNDS} of them. */
const PRUNE_BATCH = 1000;
const PRUNE_ROUNDS = 100;

/**
 * Channel presence on Redis (or Redis Cluster): per channel a sorted set of session ids scored
 * by their expiry and a hash of the members as JSON, under the channel's hash tag. Every call
 * is one Lua script, on the Redis server's clock: members not refreshed within their TTL are
 * neither listed nor counted on any node (a dead node leaves no ghosts), `prune` hands each
 * of them to exactly one node, and the keys of an idle channel expire by themselves.
 *
 * @example
 * const redis = { url: 'redis://127.0.0.1:6379', keyPrefix: 'chat:' }
 * const gateway = new WebSocketGateway({
 *   backend: new RedisBackend(redis),
 *   presence: new RedisPresenceStore(redis),
 * })
 */
export class RedisPresenceStore implements PresenceStore {
  readonly name = 'redis';
  readonly #client: RedisStoreClient;

  /** Validates `options` (throwing one `ConfigError` that lists every problem). */
  constructor(options: RedisPresenceStoreOptions = {}) {
    this.#client = new RedisStoreClient(
      resolveRedisBackendOptions(options, 'RedisPresenceStore options'),
      'presence',
    );
  }

  /** Connects; rejects with `connect_failed` when Redis is not ready within `connectTimeoutMs`. */
  start(): Promise<void> {
    return this.#client.start();
  }

  /** Closes the connection. Safe to call more than once. */
  stop(): Promise<void> {
    return this.#client.stop();
  }

  /**
   * Adds `member` for `ttlMs`, or refreshes it when it is live. `'full'` when `channel` holds
   * `max` live members other than this one. `member.info` must be JSON (it is stored as such).
   */
  async add(channel: string, member: PresenceMember, ttlMs: number, max: number): Promise<PresenceAddResult> {
    const reply = await this.#run(`add a member to ${channel}`, channel, ADD_SCRIPT, [
      member.client,
      JSON.stringify(member),
      positive(ttlMs),
      Math.max(0, Math.floor(max)),
      PRESENCE_KEY_GRACE_MS,
    ]);
    return String(reply) as PresenceAddResult;
  }

  /**
   * Removes a member; true when it was there, live or stale (its time ran out but no `prune`
   * took it yet): either way its `leave` is the caller's to announce, and no `prune` returns it.
   */
  async remove(channel: string, client: string): Promise<boolean> {
    const reply = await this.#run(`remove a member of ${channel}`, channel, REMOVE_SCRIPT, [client]);
    return reply === 1;
  }

  /** Extends by `ttlMs` the life of those of `clients` that are still live members. */
  async refresh(channel: string, clients: readonly string[], ttlMs: number): Promise<void> {
    for (let i = 0; i < clients.length; i += REFRESH_BATCH) {
      await this.#run(`refresh members of ${channel}`, channel, REFRESH_SCRIPT, [
        positive(ttlMs),
        PRESENCE_KEY_GRACE_MS,
        ...clients.slice(i, i + REFRESH_BATCH),
      ]);
    }
  }

  /** The live members of `channel`, by session id. */
  async list(channel: string): Promise<Record<string, PresenceMember>> {
    const reply = (await this.#run(`list the members of ${channel}`, channel, LIST_SCRIPT, [])) as Buffer[];
    const out: Record<string, PresenceMember> = {};
    for (const m of parseMembers(reply)) out[m.client] = m;
    return out;
  }

  /** Counts the live members of `channel` and their distinct users. */
  async stats(channel: string): Promise<PresenceStats> {
    const reply = await this.#run(`count the members of ${channel}`, channel, STATS_SCRIPT, []);
    const [numClients, numUsers] = reply as [number, number];
    return { numClients, numUsers };
  }

  /**
   * Removes and returns the members of `channel` whose time ran out (at most 100,000 per call;
   * the next call takes the rest). Nodes pruning at once each get different members.
   */
  async prune(channel: string): Promise<PresenceMember[]> {
    const gone: PresenceMember[] = [];
    for (let round = 0; round < PRUNE_ROUNDS; round++) {
      const reply = await this.#run(`prune the members of ${channel}`, channel, PRUNE_SCRIPT, [PRUNE_BATCH]);
      const [count, infos] = reply as [number, Buffer[]];
      gone.push(...parseMembers(infos));
      if (count < PRUNE_BATCH) break;
    }
    return gone;
  }

  /** `healthy` when the connection is ready and Redis answers a `PING` (`presence` component). */
  health(): Promise<ComponentHealth> {
    return this.#client.health();
  }

  #run(what: string, channel: string, script: RedisScript, args: ScriptArg[]): Promise<unknown> {
    const keys = new RedisChannelKeys(this.#client.options.keyPrefix, channel);
    return this.#client.run(what, (conn) =>
      script.run(conn, [keys.presenceExpiry, keys.presenceMembers], args, this.#client.generation),
    );
  }
}

function positive(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}

/** The members among `infos` (JSON as stored); anything unreadable is left out. */
function parseMembers(infos: readonly Buffer[]): PresenceMember[] {
  const out: PresenceMember[] = [];
  for (const info of infos) {
    let m: unknown;
    try {
      m = safeJsonParse(info.toString('utf8'));
    } catch {
      continue;
    }
    if (typeof m === 'object' && m !== null && typeof (m as PresenceMember).client === 'string') {
      out.push(m as PresenceMember);
    }
  }
  return out;
}
