/*
 * The Lua scripts of the Redis occupancy. Each runs atomically, so that of several nodes
 * racing on one channel exactly one sees (and tells) each transition. Keys, under the prefix P:
 *
 *   P nodes:<channel>   SET of the nodes that hold the channel now
 *   P state:<channel>   HASH name, tenant (and vacate_at while a vacate waits): the channel is
 *                       occupied cluster-wide while it exists
 *   P leases            ZSET "<node>|<channel>" -> when that node's share expires (ms); live
 *                       nodes renew theirs, a dead node's run out
 *   P vacating          ZSET <channel> -> when its vacate is due (ms)
 *
 * Times come from the Redis server's clock (TIME), so that nodes' clocks never disagree.
 * Keys are derived in the scripts, so they need one Redis server (not a Redis Cluster).
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * A node took a channel. ARGV: prefix, node, channel, name, tenant, leaseMs. Returns 1 when the
 * channel became occupied cluster-wide (this node tells it), else 0; cancels a waiting vacate.
 */
export const OCCUPY = `${NOW}
local P, node, channel = ARGV[1], ARGV[2], ARGV[3]
local state = P .. 'state:' .. channel
redis.call('SADD', P .. 'nodes:' .. channel, node)
redis.call('ZADD', P .. 'leases', now + tonumber(ARGV[6]), node .. '|' .. channel)
if redis.call('EXISTS', state) == 1 then
  if redis.call('HDEL', state, 'vacate_at') == 1 then redis.call('ZREM', P .. 'vacating', channel) end
  return 0
end
redis.call('HSET', state, 'name', ARGV[4], 'tenant', ARGV[5])
return 1
`;

/** Marks an empty, occupied channel as vacating (due in `delay`), or vacates it now (delay 0). */
const LEAVE = `
local function leave(P, channel, delay, now, out)
  local state = P .. 'state:' .. channel
  if redis.call('SCARD', P .. 'nodes:' .. channel) > 0 or redis.call('EXISTS', state) == 0 then return end
  if delay == 0 then
    local v = redis.call('HMGET', state, 'name', 'tenant')
    redis.call('DEL', state)
    table.insert(out, channel)
    table.insert(out, v[1] or '')
    table.insert(out, v[2] or '')
  elseif redis.call('HEXISTS', state, 'vacate_at') == 0 then
    redis.call('HSET', state, 'vacate_at', now + delay)
    redis.call('ZADD', P .. 'vacating', now + delay, channel)
  end
end
`;

/**
 * A node let go of a channel. ARGV: prefix, node, channel, delayMs. Returns
 * `[channel, name, tenant]` when the channel is vacated now (delay 0), else an empty list.
 */
export const VACATE = `${NOW}${LEAVE}
local P, node, channel = ARGV[1], ARGV[2], ARGV[3]
redis.call('SREM', P .. 'nodes:' .. channel, node)
redis.call('ZREM', P .. 'leases', node .. '|' .. channel)
local out = {}
leave(P, channel, tonumber(ARGV[4]), now, out)
return out
`;

/**
 * Renews a node's shares. ARGV: prefix, node, leaseMs, then `channel, name, tenant` triples.
 * A channel whose state is gone (Redis lost its data) is occupied anew: returns those channels.
 */
export const RENEW = `${NOW}
local P, node, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 3 do
  local channel = ARGV[i]
  local state = P .. 'state:' .. channel
  redis.call('SADD', P .. 'nodes:' .. channel, node)
  redis.call('ZADD', P .. 'leases', now + lease, node .. '|' .. channel)
  if redis.call('EXISTS', state) == 0 then
    redis.call('HSET', state, 'name', ARGV[i + 1], 'tenant', ARGV[i + 2])
    table.insert(out, channel)
  elseif redis.call('HDEL', state, 'vacate_at') == 1 then
    redis.call('ZREM', P .. 'vacating', channel)
  end
end
return out
`;

/**
 * Drops the expired shares of dead nodes (their channels then vacate like any other) and
 * vacates the channels whose delay is over. ARGV: prefix, delayMs, limit. Returns
 * `[channel, name, tenant, …]` of the channels vacated now: this node tells them.
 */
export const SWEEP = `${NOW}${LEAVE}
local P, delay, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
local expired = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(expired) do
  redis.call('ZREM', P .. 'leases', member)
  -- The last '|' ends the node id: channel names never hold one.
  local node, channel = string.match(member, '^(.*)|([^|]*)$')
  if node then
    redis.call('SREM', P .. 'nodes:' .. channel, node)
    leave(P, channel, delay, now, out)
  end
end
local due = redis.call('ZRANGEBYSCORE', P .. 'vacating', '-inf', now, 'LIMIT', 0, limit)
for _, channel in ipairs(due) do
  redis.call('ZREM', P .. 'vacating', channel)
  redis.call('HDEL', P .. 'state:' .. channel, 'vacate_at')
  leave(P, channel, 0, now, out)
end
return out
`;
