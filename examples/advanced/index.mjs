// @ts-check
// A production-shaped dotmac-ws gateway: JWT authentication, Redis between the nodes with history
// and presence kept in Redis, rate limits, tenants, Prometheus metrics and OpenTelemetry traces.
// Run it with `node --env-file=examples/advanced/example.env examples/advanced/index.mjs`.
import { channelPolicy, jwtAuthenticator } from '@dotmac-ws/auth-jwt';
import { RedisBackend, RedisHistoryStore, RedisPresenceStore } from '@dotmac-ws/backend-redis';
import { ProtocolError, WebSocketGateway } from '@dotmac-ws/core';
import { createDotmacObservabilityHooks, createLogger } from '@dotmac-ws/observability';
import { createRateLimiter } from '@dotmac-ws/ratelimit';

const env = process.env;
if (!env.JWT_SECRET_KEY) throw new Error('set JWT_SECRET_KEY (at least 32 bytes), e.g. with --env-file');

// One JSON logger for everything; it never prints a token.
const level = /** @type {'debug' | 'info' | 'warn' | 'error'} */ (env.LOG_LEVEL ?? 'info');
const logger = createLogger({ level, base: { service: 'advanced-example' } });

// Every node of a deployment: the same Redis and key prefix.
const redis = {
  url: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: env.REDIS_KEY_PREFIX ?? 'advanced:',
  logger,
};

// Connection and message limits, counted across nodes in the same Redis.
const limiter = createRateLimiter({
  redis: redis.url,
  keyPrefix: `${redis.keyPrefix}rl`,
  maxConnectionsPerUser: 5,
  messagesPerMinute: 120,
  burstSize: 20,
  publishLimit: { messagesPerMinute: 60, burstSize: 10 },
  logger,
});

const gateway = new WebSocketGateway({
  host: env.WS_HOST ?? '127.0.0.1',
  port: Number(env.WS_PORT ?? 8765),
  logger,
  // Tokens: HS256 with a shared secret; `sub` is the user, `tenant_id` the tenant, `roles` and
  // `permissions` the rest; the `info` claim is what presence shows of a user.
  authenticator: jwtAuthenticator({ secret: env.JWT_SECRET_KEY }),
  requireToken: true,
  // Channel names are scoped by tenant: `room:1` of acme and `room:1` of globex never meet.
  tenantIsolation: true,
  channelPolicy: channelPolicy([
    // Chat rooms: history (recovery after a reconnect, on any node) and who is online.
    {
      pattern: 'room:*',
      subscribe: 'authenticated',
      publish: 'authenticated',
      history_size: 100,
      history_ttl_ms: 300_000,
      recovery: 'stream',
      presence: true,
      join_leave: true,
    },
    // Each user's own channel; only the server publishes there.
    { pattern: 'user:{sub}', subscribe: 'authenticated', publish: false },
  ]),
  backend: new RedisBackend(redis),
  history: new RedisHistoryStore(redis),
  presence: new RedisPresenceStore(redis),
  // POST /api/publish and GET /api/stats for your backend (off without a key).
  apiKey: env.API_KEY ?? null,
});
gateway.use(limiter);

// A frame type for admins: announce something to everyone of their own tenant.
gateway.addMessageHandler('announce', async (session, data) => {
  if (!session.roles.includes('admin')) throw new ProtocolError('forbidden', 'announce needs the admin role');
  if (session.tenantId === null) throw new ProtocolError('bad_request', 'announce needs a tenant');
  return { delivered: await gateway.broadcastToTenant(session.tenantId, 'announcement', data) };
});

// Metrics at GET /metrics; traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const observability = createDotmacObservabilityHooks('advanced-example', {
  startSdk: env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined,
  logger,
});
observability.instrument(gateway);

await gateway.start();
const address = gateway.address();
logger.info({ url: `ws://${address?.host}:${address?.port}/ws` }, 'advanced example listening');

// SIGTERM (a deploy) or Ctrl-C: drain the sessions (they reconnect to another node), then close.
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, async () => {
    await gateway.stop(); // also flushes and stops the tracing SDK
    await limiter.close();
    process.exit(0);
  });
}
