import { RedisBackend, RedisHistoryStore, RedisPresenceStore } from '@dotmac-ws/backend-redis';
import type { GatewayPlugin } from '../plugin';

/**
 * `@dotmac-ws/backend-redis`: `BACKEND=redis` connects the nodes through Redis pub/sub (one
 * Redis, or a Redis Cluster with `REDIS_CLUSTER_NODES`, optionally with sharded pub/sub).
 * It owns `REDIS_URL`, the one Redis server of every Redis feature (the ratelimit plugin's
 * `RATE_LIMIT_STORE=redis` uses it too); with a cluster it gives the credentials and TLS of its
 * nodes. Channel history and presence are kept in the same Redis.
 */
export const backendRedisPlugin: GatewayPlugin = {
  name: 'backend-redis',
  backendName: 'redis',
  env: [
    {
      name: 'REDIS_URL',
      group: 'backend',
      kind: { type: 'string', pattern: /^rediss?:\/\/\S*$/, hint: "a URL such as 'redis://127.0.0.1:6379'" },
      default: 'redis://127.0.0.1:6379',
      description: 'The Redis server (`redis://` or `rediss://`) of every Redis feature.',
    },
    {
      name: 'REDIS_KEY_PREFIX',
      group: 'backend',
      kind: { type: 'string' },
      default: 'dotmac-ws:',
      description:
        'Prepended to every Redis channel, so that deployments can share one Redis (no spaces or braces).',
    },
    {
      name: 'REDIS_CLUSTER_NODES',
      group: 'backend',
      kind: { type: 'list' },
      default: undefined,
      description:
        'With `BACKEND=redis`: comma-separated Redis Cluster seed nodes (`host:port`); set, the backend talks to a cluster with the credentials and TLS of `REDIS_URL`.',
    },
    {
      name: 'REDIS_SHARDED',
      group: 'backend',
      kind: { type: 'bool' },
      default: 'false',
      description:
        'Use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7+): in a cluster, messages stay within the shard that owns the channel.',
    },
    {
      name: 'REDIS_BATCH_PUBLISHES',
      group: 'backend',
      kind: { type: 'bool' },
      default: 'true',
      description:
        'On a single Redis, send the publishes of one event-loop turn as one `EVAL` (a loop of `PUBLISH`): less gateway CPU per message, about 0.5 us more Redis CPU; `false` when Redis is what runs out.',
    },
  ],
  optionEnv: {
    url: 'REDIS_URL',
    keyPrefix: 'REDIS_KEY_PREFIX',
    clusterNodes: 'REDIS_CLUSTER_NODES',
    sharded: 'REDIS_SHARDED',
    batchPublishes: 'REDIS_BATCH_PUBLISHES',
  },
  setup(env, { logger }) {
    if (env.string('BACKEND') !== 'redis') return {};
    const redis = {
      url: env.string('REDIS_URL'),
      keyPrefix: env.string('REDIS_KEY_PREFIX'),
      clusterNodes: env.list('REDIS_CLUSTER_NODES'),
      sharded: env.bool('REDIS_SHARDED'),
      batchPublishes: env.bool('REDIS_BATCH_PUBLISHES'),
      logger,
    };
    // History and presence live in the same Redis, so that every node sees one order per
    // channel and one member list (channels switch them on in CHANNEL_RULES_FILE).
    return {
      backend: new RedisBackend(redis),
      options: { history: new RedisHistoryStore(redis), presence: new RedisPresenceStore(redis) },
    };
  },
};
