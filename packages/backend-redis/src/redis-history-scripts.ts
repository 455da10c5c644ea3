import { RedisScript } from './redis-script';

/**
 * Appends one publication and fans it out, atomically (Redis runs a script alone, so offsets
 * and deliveries agree: a channel's publications reach every subscriber in offset order).
 *
 * KEYS: 1 the meta hash, 2 the stream, 3 the idempotency key (absent without one).
 * ARGV: 1 body, 2 size, 3 ttlMs, 4 meta TTL ms, 5 a fresh epoch (used when the channel has
 * none), 6 the Redis pub/sub channel ('' = no fan-out), 7 `publish` or `spublish`,
 * 8 idempotency TTL ms.
 * Returns `{offset, epoch, duplicate (0|1)}`.
 *
 * - A known idempotency key answers the position it holds before anything else is touched:
 *   nothing stored, published or created.
 * - `HSETNX` creates the epoch of a channel without one; a stream left without its meta hash
 *   (eviction, a lost key) belongs to a lost epoch and is dropped, else its ids would collide
 *   with the offsets that start again at 1.
 * - `HINCRBY` gives the offset; `XADD` takes it as the entry id `<offset>-0` and trims exactly
 *   to `size` (`MAXLEN` without `~`: a read never sees more than `size`).
 * - The stream lives `ttlMs` after the last append, the meta hash longer (see
 *   `RedisHistoryStoreOptions.metaTtlMs`).
 * - The payload is the positioned payload of core's `encodePositioned`:
 *   `<offset> <epoch>\n<body>`.
 * @internal
 */
export const APPEND_SCRIPT = new RedisScript(`
local meta, stream, idem = KEYS[1], KEYS[2], KEYS[3]
if idem then
  local seen = redis.call('get', idem)
  if seen then
    local sp = string.find(seen, ' ', 1, true)
    if sp then
      return {tonumber(string.sub(seen, 1, sp - 1)), string.sub(seen, sp + 1), 1}
    end
  end
end
if redis.call('hsetnx', meta, 'epoch', ARGV[5]) == 1 then
  redis.call('del', stream)
end
local epoch = redis.call('hget', meta, 'epoch')
local offset = string.format('%d', redis.call('hincrby', meta, 'top', 1))
redis.call('xadd', stream, 'MAXLEN', ARGV[2], offset .. '-0', 'd', ARGV[1])
redis.call('pexpire', stream, ARGV[3])
redis.call('pexpire', meta, ARGV[4])
if idem then
  redis.call('set', idem, offset .. ' ' .. epoch, 'PX', ARGV[8])
end
if ARGV[6] ~= '' then
  redis.call(ARGV[7], ARGV[6], offset .. ' ' .. epoch .. '\\n' .. ARGV[1])
end
return {tonumber(offset), epoch, 0}
`);

/**
 * Reads a channel's top position and publications in one step (a position and publications
 * that agree, as recovery needs).
 *
 * KEYS: 1 the meta hash, 2 the stream.
 * ARGV: 1 a fresh epoch (used when the channel has none), 2 meta TTL ms, 3 the first entry id
 * (`<after + 1>-0`), 4 limit, 5 `1` for newest first.
 * Returns `{top, epoch, entries}` with `entries` as `XRANGE` answers them.
 *
 * A channel never appended to gets its epoch here (`HSETNX`, living the meta TTL), so that
 * `top` answers the epoch its first append will use.
 * @internal
 */
export const READ_SCRIPT = new RedisScript(`
local meta, stream = KEYS[1], KEYS[2]
if redis.call('hsetnx', meta, 'epoch', ARGV[1]) == 1 then
  redis.call('del', stream)
  redis.call('pexpire', meta, ARGV[2])
end
local m = redis.call('hmget', meta, 'top', 'epoch')
local limit = tonumber(ARGV[4])
local entries = {}
if limit > 0 then
  if ARGV[5] == '1' then
    entries = redis.call('xrevrange', stream, '+', '-', 'COUNT', limit)
  else
    entries = redis.call('xrange', stream, ARGV[3], '+', 'COUNT', limit)
  end
end
return {tonumber(m[1]) or 0, m[2], entries}
`);
