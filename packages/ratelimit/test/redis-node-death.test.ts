import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_REDIS, startProcess, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { cleanKeys, from, redisClient, sharedRedisUp, startLimited, uniquePrefix } from './helpers';

const up = await sharedRedisUp();
const NODE = fileURLToPath(new URL('./redis-node.mjs', import.meta.url));

describe.skipIf(!up)('Redis connection counts of a node that dies (127.0.0.1:6379)', () => {
  it('stop counting within the TTL after the node is killed with SIGKILL', async () => {
    const keyPrefix = uniquePrefix();
    const ttlMs = 2000;
    const redis = await redisClient(SHARED_REDIS.port);
    cleanKeys(redis, keyPrefix);
    const child = startProcess(
      process.execPath,
      [NODE, String(SHARED_REDIS.port), keyPrefix, String(ttlMs), '500', '2'],
      {
        cwd: path.dirname(NODE),
      },
    );
    const port = Number((await child.line((l) => l.startsWith('port='), 10_000)).slice(5));
    const doomed = `ws://127.0.0.1:${port}/ws`;
    const nora = { 'x-test-user': 'nora' };
    for (const n of [100, 101]) await (await TestClient.open(doomed, from(n, nora))).welcome();

    // A second node on the same Redis and prefix sees the user at her limit.
    const { url } = await startLimited({
      redis,
      keyPrefix,
      maxConnectionsPerIp: 0,
      maxConnectionsPerUser: 2,
      connectionCountTtlMs: ttlMs,
      connectionCountRefreshMs: 500,
    });
    expect((await TestClient.refused(url, from(102, nora))).status).toBe(429);

    child.child.kill('SIGKILL');
    const killedAt = Date.now();
    await child.exited();
    // Still counted right after the kill: the node's liveness key has not expired yet.
    expect((await TestClient.refused(url, from(103, nora))).status).toBe(429);
    await waitUntil(
      async () => {
        try {
          await (await TestClient.open(url, from(104, nora))).welcome();
          return true;
        } catch {
          return false;
        }
      },
      ttlMs + 2000,
      'the dead node’s count to expire',
    );
    const recoveredMs = Date.now() - killedAt;
    expect(recoveredMs).toBeLessThan(ttlMs + 2000);
    // The dead node's field is gone from the count hash; the live one holds one connection.
    expect(Object.values(await redis.hgetall(`${keyPrefix}:conn:user:["nora"]`))).toEqual(['1']);
  });
});
