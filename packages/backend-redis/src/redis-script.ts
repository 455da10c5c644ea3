import { createHash } from 'node:crypto';
import { errorText } from '@dotmac-ws/core';
import { Cluster } from 'ioredis';
import type { RedisConnection } from './redis-connection';

/** A value passed to a script: Redis receives every one as a (binary-safe) string. @internal */
export type ScriptArg = string | number | Buffer;

/**
 * A Lua script run by its SHA1 (`EVALSHA`), sent in full (`EVAL`) only when the server does
 * not know it yet (`NOSCRIPT`: a new server, a restart, a failover, `SCRIPT FLUSH`). Replies
 * come back as Buffers (bulk strings) and numbers (integers), so bodies stay byte for byte.
 * In a cluster the script runs on the master of its first key's slot.
 * @internal
 */
export class RedisScript {
  /** The script's SHA1, as `EVALSHA` names it. */
  readonly sha: string;
  readonly #lua: string;
  /** Per connection (and connection generation: a reconnect may meet a server without it), the `SCRIPT LOAD`. */
  readonly #loads = new WeakMap<RedisConnection, { generation: number; done: Promise<void> }>();

  constructor(lua: string) {
    this.#lua = lua;
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /**
   * Runs the script with `keys` (all in one slot) and `args`. The script is loaded first, on a
   * single Redis or on every master of a cluster, once per `generation` of the connection, and
   * every call waits for that load, so calls reach Redis in call order: a call answered
   * `NOSCRIPT` and resent as `EVAL` while a later call's `EVALSHA` succeeds (another node loaded
   * the script meanwhile) would run them out of order, and one node's appends on a channel must
   * get offsets in call order. A master that joins the cluster later (a failover, a new shard)
   * is reached by the `EVAL` fallback alone.
   */
  async run(
    conn: RedisConnection,
    keys: readonly string[],
    args: readonly ScriptArg[],
    generation = 0,
  ): Promise<unknown> {
    let load = this.#loads.get(conn);
    if (load === undefined || load.generation !== generation) {
      const done = this.#load(conn);
      // A cluster client that knows no master yet loaded nothing: the next call tries again.
      if (done !== null) {
        load = { generation, done };
        this.#loads.set(conn, load);
      }
    }
    if (load !== undefined && load.generation === generation) await load.done;
    try {
      return await conn.callBuffer('EVALSHA', this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!errorText(error).includes('NOSCRIPT')) throw error;
      return await conn.callBuffer('EVAL', this.#lua, keys.length, ...keys, ...args);
    }
  }

  /**
   * `SCRIPT LOAD` on the Redis, or on every master the cluster client knows (null when it knows
   * none). Never rejects: a failed load leaves `EVALSHA` to fall back to `EVAL`.
   */
  #load(conn: RedisConnection): Promise<void> | null {
    const ignore = () => undefined;
    if (!(conn instanceof Cluster)) return conn.call('SCRIPT', 'LOAD', this.#lua).then(ignore, ignore);
    const masters = conn.nodes('master');
    if (masters.length === 0) return null;
    return Promise.all(
      masters.map((node) => node.call('SCRIPT', 'LOAD', this.#lua).then(ignore, ignore)),
    ).then(ignore);
  }
}
