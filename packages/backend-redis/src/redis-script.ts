import { createHash } from 'node:crypto';
import { errorText } from '@dotmac-ws/core';
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
   * Runs the script with `keys` (all in one slot) and `args`. On a single Redis the script is
   * loaded first (once per `generation` of the connection), and every call waits for that load,
   * so calls reach Redis in call order: a call answered `NOSCRIPT` and resent as `EVAL` while a
   * later call's `EVALSHA` succeeds (another node loaded the script meanwhile) would run them out
   * of order, and one node's appends on a channel must get offsets in call order.
   */
  async run(
    conn: RedisConnection,
    keys: readonly string[],
    args: readonly ScriptArg[],
    generation = 0,
  ): Promise<unknown> {
    if ((conn as { isCluster?: boolean }).isCluster !== true) {
      let load = this.#loads.get(conn);
      if (load === undefined || load.generation !== generation) {
        // A failed load is not fatal: EVALSHA then falls back to EVAL below.
        load = {
          generation,
          done: conn.call('SCRIPT', 'LOAD', this.#lua).then(
            () => undefined,
            () => undefined,
          ),
        };
        this.#loads.set(conn, load);
      }
      await load.done;
    }
    try {
      return await conn.callBuffer('EVALSHA', this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!errorText(error).includes('NOSCRIPT')) throw error;
      return await conn.callBuffer('EVAL', this.#lua, keys.length, ...keys, ...args);
    }
  }
}
