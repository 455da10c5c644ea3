import type { Redis } from 'ioredis';
import type { BucketRef, BucketStore, TakeResult } from './bucket-store';

/** The ioredis command name the script is registered under. */
const COMMAND = 'dotmacTokenBucket';

/**
 * The GCRA of `bucket-store.ts` in Lua, on Redis's clock so that every node agrees on "now".
 * KEYS: the buckets. ARGV[1]: '1' to peek without taking; then interval and tolerance (ms)
 * of each bucket. Returns { allowed 0|1, retry_after_ms, remaining tokens of each bucket }.
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local peek = ARGV[1] == '1'
local n = #KEYS
local tats, nexts = {}, {}
local allowed = true
local retry = 0
for i = 1, n do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now) or now
  if tat < now then tat = now end
  local nx = tat + interval
  tats[i] = tat
  nexts[i] = nx
  if nx - now > tolerance then
    allowed = false
    if nx - tolerance - now > retry then retry = nx - tolerance - now end
  end
end
local take = allowed and not peek
local out = { take and 1 or 0, math.ceil(retry) }
for i = 1, n do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = tonumber(ARGV[2 * i + 1])
  local at = tats[i]
  if take then
    at = nexts[i]
    redis.call('SET', KEYS[i], string.format('%.3f', at), 'PX', math.ceil(at - now) + 1)
  end
  local left = math.floor((tolerance - (at - now)) / interval + 1e-9)
  if left < 0 then left = 0 end
  out[i + 2] = left
end
return out
`;

type BucketCommand = (numKeys: number, ...args: string[]) => Promise<number[]>;

/**
 * Token buckets in Redis, shared by every gateway node on it. One round trip per frame,
 * all buckets of the frame decided atomically. Its keys must hash to one node, so Redis
 * Cluster is not supported (one Redis, or Sentinel, is).
 */
export class RedisBucketStore implements BucketStore {
  readonly #command: BucketCommand;

  constructor(readonly redis: Redis) {
    const client = redis as unknown as Record<string, unknown>;
    if (typeof client[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: SCRIPT });
    this.#command = (client[COMMAND] as BucketCommand).bind(redis);
  }

  async take(buckets: readonly BucketRef[]): Promise<TakeResult> {
    const out = await this.#command(buckets.length, ...args(buckets, false));
    return { allowed: out[0] === 1, retryAfterMs: out[1] ?? 0, remaining: out.slice(2) };
  }

  async peek(buckets: readonly BucketRef[]): Promise<readonly number[]> {
    const out = await this.#command(buckets.length, ...args(buckets, true));
    return out.slice(2);
  }
}

function args(buckets: readonly BucketRef[], peek: boolean): string[] {
  const a = buckets.map((b) => b.key);
  a.push(peek ? '1' : '0');
  for (const b of buckets) a.push(String(b.intervalMs), String(b.toleranceMs));
  return a;
}
