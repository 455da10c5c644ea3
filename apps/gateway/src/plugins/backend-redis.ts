import { RedisBackend } from '@dotmac-ws/backend-redis';
import { ConfigError } from '@dotmac-ws/core';
import type { GatewayPlugin } from '../plugin';

/** RedisBackend's problems in the names of the variables that set the options. */
function inEnvTerms(problem: string): string {
  return problem
    .replace(/\bclusterNodes\[(\d+)\]/g, (_, i: string) => `REDIS_CLUSTER_NODES entry ${Number(i) + 1}`)
    .replace(/\bclusterNodes\b/g, 'REDIS_CLUSTER_NODES')
    .replace(/^url\b/g, 'REDIS_URL')
    .replace(/^keyPrefix\b/g, 'REDIS_KEY_PREFIX');
}

/**
 * `@dotmac-ws/backend-redis`: `BACKEND=redis` connects the nodes through Redis pub/sub (one
 * Redis, or a Redis Cluster with `REDIS_CLUSTER_NODES`, optionally with sharded pub/sub).
 * `REDIS_URL` is declared once for every Redis feature (by the ratelimit plugin); here it gives
 * the server, or with a cluster the credentials and TLS of its nodes.
 */
export const backendRedisPlugin: GatewayPlugin = {
  name: 'backend-redis',
  env: [
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
  ],
  backend: {
    name: 'redis',
    create(env, ctx) {
      try {
        return new RedisBackend({
          url: env.string('REDIS_URL'),
          keyPrefix: env.string('REDIS_KEY_PREFIX'),
          clusterNodes: env.list('REDIS_CLUSTER_NODES'),
          sharded: env.bool('REDIS_SHARDED'),
          logger: ctx.logger,
        });
      } catch (error) {
        if (error instanceof ConfigError)
          throw new ConfigError(error.problems.map(inEnvTerms), 'environment');
        throw error;
      }
    },
  },
};
