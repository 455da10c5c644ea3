// A gateway node with the Redis limiter in its own process, for the test that kills one with
// SIGKILL: `node redis-node.mjs <redisPort> <keyPrefix> <ttlMs> <refreshMs> <maxPerUser>`.
// The `x-test-user` header names the user (as a verified token would). Prints `port=<n>` once
// it listens and Redis is ready. Imports the built packages (run `pnpm build` first).
import { silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { Redis } from 'ioredis';
import { createRateLimiter } from '../dist/index.js';

const [redisPort, keyPrefix, ttlMs, refreshMs, maxPerUser] = process.argv.slice(2);
const redis = new Redis({ host: '127.0.0.1', port: Number(redisPort), enableOfflineQueue: false });
redis.on('error', () => undefined);
await new Promise((resolve) => redis.once('ready', resolve));
const limiter = createRateLimiter({
  redis,
  keyPrefix,
  maxConnectionsPerIp: 0,
  maxConnectionsPerUser: Number(maxPerUser),
  connectionCountTtlMs: Number(ttlMs),
  connectionCountRefreshMs: Number(refreshMs),
});
const gateway = new WebSocketGateway({ port: 0, host: '127.0.0.1', logger: silentLogger });
gateway.use({
  name: 'test-identity',
  connection: async (ctx, next) => {
    const user = ctx.request.headers['x-test-user'];
    if (typeof user === 'string') ctx.identity = { userId: user };
    await next();
  },
});
gateway.use(limiter);
await gateway.start();
process.stdout.write(`port=${gateway.address().port}\n`);
