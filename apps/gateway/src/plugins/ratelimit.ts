import { createRateLimiter, type RateLimitOptions } from '@dotmac-ws/ratelimit';
import type { GatewayPlugin } from '../plugin';

/**
 * `@dotmac-ws/ratelimit`: open-connection limits per address, user and tenant (429 before the
 * upgrade) and token buckets for inbound frames, kept in memory or shared through Redis.
 */
export const ratelimitPlugin: GatewayPlugin = {
  name: 'ratelimit',
  optionEnv: {
    maxConnectionsPerIp: 'MAX_CONNECTIONS_PER_IP',
    maxConnectionsPerUser: 'MAX_CONNECTIONS_PER_USER',
    maxConnectionsPerTenant: 'MAX_CONNECTIONS_PER_TENANT',
    messagesPerMinute: 'MESSAGES_PER_MINUTE',
    burstSize: 'BURST_SIZE',
    redis: 'REDIS_URL',
  },
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
      name: 'TENANT_MESSAGES_PER_MINUTE',
      group: 'ratelimit',
      kind: { type: 'int', min: 0, max: 60_000_000 },
      default: '0',
      description:
        "Refill rate of a frame bucket shared by all of a tenant's sessions (on top of the per-address and per-user ones); 0 leaves tenants without one.",
    },
    {
      name: 'TENANT_BURST_SIZE',
      group: 'ratelimit',
      kind: { type: 'int', min: 1, max: 1_000_000 },
      default: '200',
      description: 'Capacity of the tenant frame bucket (with TENANT_MESSAGES_PER_MINUTE).',
    },
    {
      name: 'RATE_LIMIT_STORE',
      group: 'ratelimit',
      kind: { type: 'enum', values: ['memory', 'redis'] },
      default: 'memory',
      description:
        '`memory` (this node) or `redis` (`REDIS_URL`, shared by every node; falls back to memory while Redis is down).',
    },
  ],
  setup(env, { logger }) {
    if (!env.bool('RATE_LIMIT_ENABLED')) return {};
    const options: RateLimitOptions = {
      maxConnectionsPerIp: env.int('MAX_CONNECTIONS_PER_IP'),
      maxConnectionsPerUser: env.int('MAX_CONNECTIONS_PER_USER'),
      maxConnectionsPerTenant: env.int('MAX_CONNECTIONS_PER_TENANT'),
      messagesPerMinute: env.int('MESSAGES_PER_MINUTE'),
      burstSize: env.int('BURST_SIZE'),
      logger,
    };
    const tenantPerMinute = env.int('TENANT_MESSAGES_PER_MINUTE');
    if (tenantPerMinute > 0) {
      options.messageLimits = {
        tenant: { messagesPerMinute: tenantPerMinute, burstSize: env.int('TENANT_BURST_SIZE') },
      };
    }
    // The one Redis of the gateway (REDIS_URL, owned by the backend-redis plugin).
    if (env.string('RATE_LIMIT_STORE') === 'redis') options.redis = env.string('REDIS_URL');
    const limiter = createRateLimiter(options);
    return {
      middleware: [limiter],
      attach() {
        logger.info(
          {
            store: env.string('RATE_LIMIT_STORE'),
            messages_per_minute: env.int('MESSAGES_PER_MINUTE'),
            tenant_messages_per_minute: tenantPerMinute,
          },
          'rate limits on',
        );
      },
      stop: () => limiter.close(),
    };
  },
};
