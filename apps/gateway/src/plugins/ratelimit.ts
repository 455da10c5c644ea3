import { ConfigError } from '@dotmac-ws/core';
import { createRateLimiter, type RateLimiter, type RateLimitOptions } from '@dotmac-ws/ratelimit';
import type { EnvConfig } from '../env-config';
import type { GatewayPlugin } from '../plugin';

/** The limiter each configured environment gets, made in `configure` and added in `attach`. */
const limiters = new WeakMap<EnvConfig, RateLimiter>();

/**
 * `@dotmac-ws/ratelimit`: open-connection limits per address, user and tenant (429 before the
 * upgrade) and token buckets for inbound frames, kept in memory or shared through Redis.
 */
export const ratelimitPlugin: GatewayPlugin = {
  name: 'ratelimit',
  env: [
    {
      name: 'RATE_LIMIT_ENABLED',
      group: 'ratelimit',
      kind: { type: 'bool' },
      default: 'false',
      production: 'true',
      description:
        'Apply the connection and message limits below (in memory unless RATE_LIMIT_STORE says redis).',
    },
    {
      name: 'MAX_CONNECTIONS_PER_IP',
      group: 'ratelimit',
      kind: { type: 'int', min: 0, max: 10_000_000 },
      default: '100',
      description: 'Open connections per client address before answering 429; 0 is unlimited.',
    },
    {
      name: 'MAX_CONNECTIONS_PER_USER',
      group: 'ratelimit',
      kind: { type: 'int', min: 0, max: 10_000_000 },
      default: '10',
      description: 'Open connections per user (token at the handshake) before answering 429; 0 is unlimited.',
    },
    {
      name: 'MAX_CONNECTIONS_PER_TENANT',
      group: 'ratelimit',
      kind: { type: 'int', min: 0, max: 10_000_000 },
      default: '0',
      description: 'Open connections per tenant before answering 429; 0 is unlimited.',
    },
    {
      name: 'MESSAGES_PER_MINUTE',
      group: 'ratelimit',
      kind: { type: 'int', min: 1, max: 60_000_000 },
      default: '120',
      description: 'Refill rate of the per-address and per-user frame buckets.',
    },
    {
      name: 'BURST_SIZE',
      group: 'ratelimit',
      kind: { type: 'int', min: 1, max: 1_000_000 },
      default: '20',
      description: 'Capacity of each frame bucket: frames accepted at once after a quiet spell.',
    },
    {
      name: 'RATE_LIMIT_STORE',
      group: 'ratelimit',
      kind: { type: 'enum', values: ['memory', 'redis'] },
      default: 'memory',
      description:
        '`memory` (this node) or `redis` (`REDIS_URL`, shared by every node; falls back to memory while Redis is down).',
    },
    {
      name: 'REDIS_URL',
      group: 'backend',
      kind: { type: 'string', pattern: /^rediss?:\/\/\S*$/, hint: "a URL such as 'redis://127.0.0.1:6379'" },
      default: 'redis://127.0.0.1:6379',
      description: 'The Redis server (`redis://` or `rediss://`) of every Redis feature.',
    },
  ],
  configure(env, _options, ctx) {
    if (!env.bool('RATE_LIMIT_ENABLED')) return [];
    const options: RateLimitOptions = {
      maxConnectionsPerIp: env.int('MAX_CONNECTIONS_PER_IP'),
      maxConnectionsPerUser: env.int('MAX_CONNECTIONS_PER_USER'),
      maxConnectionsPerTenant: env.int('MAX_CONNECTIONS_PER_TENANT'),
      messagesPerMinute: env.int('MESSAGES_PER_MINUTE'),
      burstSize: env.int('BURST_SIZE'),
      logger: ctx.logger,
    };
    if (env.string('RATE_LIMIT_STORE') === 'redis') options.redis = env.string('REDIS_URL');
    try {
      limiters.set(env, createRateLimiter(options));
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  },
  stop(env) {
    limiters.get(env)?.close();
  },
  attach(env, gateway, ctx) {
    const limiter = limiters.get(env);
    if (limiter === undefined) return;
    gateway.use(limiter);
    ctx.logger.info(
      { store: env.string('RATE_LIMIT_STORE'), messages_per_minute: env.int('MESSAGES_PER_MINUTE') },
      'rate limits on',
    );
  },
};
