import { RedisScript } from './redis-script';

/**
 * What every presence script starts with. KEYS: 1 the expiry sorted set (session id -> expiry,
 * ms of the Redis server's clock), 2 the members hash (session id -> member JSON).
 *
 * - `now`: the Redis server's clock (`TIME`), the one clock every node shares, so a node whose
 *   own clock is off neither ends members early nor keeps them late. A member is live while its
 *   expiry is after `now`, stale from then on: `live` and `stale` below split the set exactly.
 * - `keep(grace)`: both keys expire `grace` ms after the latest expiry of a member, so a
 *   channel whose nodes all died leaves nothing behind, while live nodes have `grace` to prune
 *   (and announce the `leave` of) the last members.
 * - `members(clients)`: their JSON, in chunks (Lua's `unpack` has a bounded stack), without
 *   the ones whose JSON is gone.
 */
const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function ms(x) return string.format('%d', x) end
local function keep(grace)
  local last = redis.call('zrange', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then
    local at = ms(tonumber(last[2]) + grace)
    redis.call('pexpireat', KEYS[1], at)
    redis.call('pexpireat', KEYS[2], at)
  end
end
local function live() return redis.call('zrangebyscore', KEYS[1], '(' .. ms(now), '+inf') end
local function members(clients)
  local out = {}
  for i = 1, #clients, 500 do
    local chunk = {}
    for j = i, math.min(i + 499, #clients) do chunk[#chunk + 1] = clients[j] end
    local infos = redis.call('hmget', KEYS[2], unpack(chunk))
    for j = 1, #infos do
      if infos[j] then out[#out + 1] = infos[j] end
    end
  end
  return out
end
`;

/**
 * Adds or refreshes a member. ARGV: 1 session id, 2 member JSON, 3 ttl ms, 4 max, 5 key grace
 * ms. Returns `added`, `refreshed` or `full`.
 *
 * A live member is refreshed (its JSON kept). Otherwise the live members are counted (the
 * client's own stale entry is not live, so it does not count) and the member is refused at
 * `max`, else stored. Stale members of others are left for `prune`, which must hand each of
 * them to exactly one node for its `leave`.
 * @internal
 */
export const ADD_SCRIPT = new RedisScript(`${PRELUDE}
local client = ARGV[1]
local expires = ms(now + tonumber(ARGV[3]))
local score = redis.call('zscore', KEYS[1], client)
if score and tonumber(score) > now then
  redis.call('zadd', KEYS[1], expires, client)
  keep(tonumber(ARGV[5]))
  return 'refreshed'
end
if redis.call('zcount', KEYS[1], '(' .. ms(now), '+inf') >= tonumber(ARGV[4]) then
  return 'full'
end
redis.call('zadd', KEYS[1], expires, client)
redis.call('hset', KEYS[2], client, ARGV[2])
keep(tonumber(ARGV[5]))
return 'added'
`);

/**
 * Removes a member, live or stale. ARGV: 1 session id. Returns 1 when it was there: the caller
 * announces its `leave`, which no `prune` can then also do.
 * @internal
 */
export const REMOVE_SCRIPT = new RedisScript(`
local removed = redis.call('zrem', KEYS[1], ARGV[1])
redis.call('hdel', KEYS[2], ARGV[1])
return removed
`);

/**
 * Extends the life of the live members among ARGV 3.. (session ids). ARGV: 1 ttl ms, 2 key
 * grace ms. A stale member is not brought back: it is `prune`'s, for its `leave`. Returns how
 * many were extended.
 * @internal
 */
export const REFRESH_SCRIPT = new RedisScript(`${PRELUDE}
local expires = ms(now + tonumber(ARGV[1]))
local n = 0
for i = 3, #ARGV do
  local score = redis.call('zscore', KEYS[1], ARGV[i])
  if score and tonumber(score) > now then
    redis.call('zadd', KEYS[1], expires, ARGV[i])
    n = n + 1
  end
end
if n > 0 then keep(tonumber(ARGV[2])) end
return n
`);

/** The JSON of every live member. @internal */
export const LIST_SCRIPT = new RedisScript(`${PRELUDE}
return members(live())
`);

/**
 * Counts the live members and their distinct users (`user` null: each session counts one).
 * Returns `{num_clients, num_users}`.
 * @internal
 */
export const STATS_SCRIPT = new RedisScript(`${PRELUDE}
local infos = members(live())
local users, n = {}, 0
for _, json in ipairs(infos) do
  local ok, m = pcall(cjson.decode, json)
  local user = ok and type(m) == 'table' and m.user
  if type(user) == 'string' then
    if not users[user] then
      users[user] = true
      n = n + 1
    end
  else
    n = n + 1
  end
end
return {#infos, n}
`);

/**
 * Removes up to ARGV 1 stale members and returns `{count removed, {member JSON, ...}}`. One
 * script reads and removes them, so when nodes prune at once each member goes to one of them.
 * @internal
 */
export const PRUNE_SCRIPT = new RedisScript(`${PRELUDE}
local stale = redis.call('zrangebyscore', KEYS[1], '-inf', ms(now), 'LIMIT', 0, tonumber(ARGV[1]))
if #stale == 0 then return {0, {}} end
local infos = members(stale)
redis.call('zrem', KEYS[1], unpack(stale))
redis.call('hdel', KEYS[2], unpack(stale))
return {#stale, infos}
`);
