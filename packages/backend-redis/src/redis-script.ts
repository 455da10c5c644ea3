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

  constructor(lua: string) {
    this.#lua = lua;
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script with `keys` (all in one slot) and `args`. */
  async run(conn: RedisConnection, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    try {
      return await conn.callBuffer('EVALSHA', this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!errorText(error).includes('NOSCRIPT')) throw error;
      return await conn.callBuffer('EVAL', this.#lua, keys.length, ...keys, ...args);
    }
  }
}
