import { randomBytes } from 'node:crypto';
import { SHARED_REDIS, sharedServiceMissing } from '@dotmac-ws/test-utils';
import { Redis } from 'ioredis';

/** The shared Redis every machine runs (CI included). */
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Why the Redis tests cannot run here, or false. Locally an absent Redis skips them with this
 * message; under CI=true it is a failure.
 */
export function sharedRedisMissing(): Promise<string | false> {
  return sharedServiceMissing(SHARED_REDIS);
}

/** A key prefix no other test run uses. */
export function uniquePrefix(): string {
  return `dotmac-ws-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** A plain admin connection (closed by the caller). */
export function adminConnection(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  r.on('error', () => undefined);
  return r;
}

/** `PUBSUB NUMSUB channel` (or `SHARDNUMSUB`): how many connections subscribe `channel`. */
export async function numsub(redis: Redis, channel: string, sharded = false): Promise<number> {
  const reply = (await redis.call('PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}
