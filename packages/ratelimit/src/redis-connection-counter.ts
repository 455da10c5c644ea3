import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ConnectionCounter, CounterRef } from './connection-counter';
import type { LimitScope } from './options';

/** Sums the counts of live nodes in one hash, deleting the fields of dead nodes. */
const LIVE_SUM = `
local function live_sum(key, self, node_prefix)
  local fields = redis.call('HGETALL', key)
  local sum = 0
  for j = 1, #fields, 2 do
    local node = fields[j]
    if node == self or redis.call('EXISTS', node_prefix .. node) == 1 then
      sum = sum + tonumber(fields[j + 1])
    else
      redis.call('HDEL', key, node)
    end
  end
  return sum
end
`;

/**
 * KEYS[1]: this node's liveness key; KEYS[2..]: count hashes. ARGV: node id, TTL (ms), the
 * prefix of liveness keys, then the limit of each hash. Counts one more for this node in every
 * hash unless one is at its limit (summed over live nodes); returns that hash's 1-based index,
 * or 0 when counted.
 */
const ACQUIRE = `${LIVE_SUM}
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
for i = 2, #KEYS do
  if live_sum(KEYS[i], ARGV[1], ARGV[3]) >= tonumber(ARGV[2 + i]) then return i - 1 end
end
for i = 2, #KEYS do redis.call('HINCRBY', KEYS[i], ARGV[1], 1) end
return 0
`;

/** KEYS: count hashes. ARGV: node id. One less for this node in each; a zero field goes. */
const RELEASE = `
for i = 1, #KEYS do
  if redis.call('HINCRBY', KEYS[i], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return 0
`;

/** KEYS: count hashes. ARGV: node id, prefix of liveness keys. The live sum of each. */
const COUNT = `${LIVE_SUM}
local out = {}
for i = 1, #KEYS do out[i] = live_sum(KEYS[i], ARGV[1], ARGV[2]) end
return out
`;

/**
 * KEYS[1]: this node's liveness key; KEYS[2..]: hashes to set. ARGV: node id, TTL (ms), then
 * this node's count in each hash (given with `resync`, nothing otherwise). Refreshes the
 * liveness key; returns 1 when it still existed, 0 when it had expired.
 */
const REFRESH = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
for i = 2, #KEYS do
  local n = tonumber(ARGV[1 + i])
  if n > 0 then redis.call('HSET', KEYS[i], ARGV[1], n) else redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return existed
`;

const COMMANDS = {
  dotmacConnAcquire: ACQUIRE,
  dotmacConnRelease: RELEASE,
  dotmacConnCount: COUNT,
  dotmacConnRefresh: REFRESH,
} as const;

type Command = (numKeys: number, ...args: string[]) => Promise<unknown>;

/** How many hashes one resync call sets at most. */
const RESYNC_BATCH = 500;

/** Options of a {@link RedisConnectionCounter}. */
export interface RedisConnectionCounterOptions {
  /** How long this node's counts outlive its last refresh. */
  readonly ttlMs: number;
  /** How often this node refreshes its liveness key (well under `ttlMs`). */
  readonly refreshMs: number;
}

/**
 * Open-connection counts in Redis, shared by every node, that disappear with their node.
 *
 * Each count is a hash (`{prefix}:conn:{scope}:{id}`) with one field per node. A node keeps a
 * liveness key (`{prefix}:node:{nodeId}`) that expires after `ttlMs` unless the node refreshes
 * it, every `refreshMs`. A check sums the fields of live nodes only (and deletes the fields of
 * dead ones), in one Lua script per handshake that also counts when every limit has room. So the
 * counts of a node killed without closing its sockets stop counting within `ttlMs`.
 *
 * The node also keeps its own counts in memory: a decrement Redis did not take, or counts
 * another node swept while this one's liveness key had lapsed (a long outage), are written
 * again from memory once Redis answers. Its keys must hash to one node, so Redis Cluster is not
 * supported (one Redis, or Sentinel, is).
 */
export class RedisConnectionCounter implements ConnectionCounter {
  /** This node's id in the count hashes (random per counter). */
  readonly nodeId = randomUUID();
  readonly #commands: Record<keyof typeof COMMANDS, Command>;
  readonly #nodeKey: string;
  readonly #nodePrefix: string;
  /** hash key -> this node's count in it */
  readonly #held = new Map<string, number>();
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;
  readonly #onReady = () => {
    this.#dirty = true;
    void this.refresh();
  };

  constructor(
    readonly redis: Redis,
    readonly keyPrefix: string,
    readonly options: RedisConnectionCounterOptions,
  ) {
    const client = redis as unknown as Record<string, unknown>;
    const commands = {} as Record<keyof typeof COMMANDS, Command>;
    for (const [name, lua] of Object.entries(COMMANDS) as [keyof typeof COMMANDS, string][]) {
      if (typeof client[name] !== 'function') redis.defineCommand(name, { lua });
      commands[name] = (client[name] as Command).bind(redis);
    }
    this.#commands = commands;
    this.#nodePrefix = `${keyPrefix}:node:`;
    this.#nodeKey = `${this.#nodePrefix}${this.nodeId}`;
    redis.on('ready', this.#onReady);
  }

  async acquire(refs: readonly CounterRef[]): Promise<LimitScope | null> {
    if (refs.length === 0) return null;
    const keys = refs.map((r) => this.#key(r));
    const refused = (await this.#commands.dotmacConnAcquire(
      keys.length + 1,
      this.#nodeKey,
      ...keys,
      this.nodeId,
      String(this.options.ttlMs),
      this.#nodePrefix,
      ...refs.map((r) => String(r.limit)),
    )) as number;
    if (refused > 0) return refs[refused - 1]!.scope;
    for (const k of keys) this.#held.set(k, (this.#held.get(k) ?? 0) + 1);
    this.#startRefreshing();
    return null;
  }

  /** Never fails: a decrement Redis did not take is written again once Redis answers. */
  async release(refs: readonly CounterRef[]): Promise<void> {
    const keys: string[] = [];
    for (const r of refs) {
      const k = this.#key(r);
      const n = this.#held.get(k);
      if (n === undefined) continue;
      if (n > 1) this.#held.set(k, n - 1);
      else this.#held.delete(k);
      keys.push(k);
    }
    if (keys.length === 0) return;
    try {
      await this.#commands.dotmacConnRelease(keys.length, ...keys, this.nodeId);
    } catch {
      // Written from memory at the next refresh that reaches Redis.
      this.#dirty = true;
    }
  }

  async count(refs: readonly CounterRef[]): Promise<readonly number[]> {
    if (refs.length === 0) return [];
    const keys = refs.map((r) => this.#key(r));
    return (await this.#commands.dotmacConnCount(
      keys.length,
      ...keys,
      this.nodeId,
      this.#nodePrefix,
    )) as number[];
  }

  /** Open connections this node holds in Redis, per count hash (for tests and stats). */
  get held(): ReadonlyMap<string, number> {
    return this.#held;
  }

  /**
   * Refreshes this node's liveness key; when it had expired, or a decrement was lost, writes
   * this node's counts again. Runs every `refreshMs` while the node holds counts. Never fails.
   */
  async refresh(): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      const ttl = String(this.options.ttlMs);
      const existed = await this.#commands.dotmacConnRefresh(1, this.#nodeKey, this.nodeId, ttl);
      if (existed === 1 && !this.#dirty) return;
      this.#dirty = false;
      const entries = [...this.#held];
      for (let i = 0; i < entries.length; i += RESYNC_BATCH) {
        const batch = entries.slice(i, i + RESYNC_BATCH);
        await this.#commands.dotmacConnRefresh(
          batch.length + 1,
          this.#nodeKey,
          ...batch.map(([k]) => k),
          this.nodeId,
          ttl,
          ...batch.map(([, n]) => String(n)),
        );
      }
    } catch {
      this.#dirty = true;
    } finally {
      this.#refreshing = false;
    }
  }

  /** Stops refreshing and listening to the client (the client itself stays open: it is the caller's). */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.redis.off('ready', this.#onReady);
  }

  #startRefreshing(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.#timer.unref();
  }

  #key(r: CounterRef): string {
    return `${this.keyPrefix}:conn:${r.scope}:${r.id}`;
  }
}
