import { randomUUID } from 'node:crypto';
import type { PresenceMember } from '@dotmac-ws/core';
import { onCleanup, sleep } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { PRESENCE_KEY_GRACE_MS, RedisPresenceStore } from '../src/index';
import { adminConnection, SHARED_REDIS_URL, sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();

/** A started store on the shared Redis with a key prefix of its own, and its key names. */
async function started() {
  const keyPrefix = uniquePrefix();
  const store = new RedisPresenceStore({ url: SHARED_REDIS_URL, keyPrefix });
  await store.start();
  onCleanup(() => store.stop());
  const redis = adminConnection(SHARED_REDIS_URL);
  onCleanup(() => redis.disconnect());
  const ch = `room:${randomUUID()}`;
  const tag = `{${keyPrefix}channel:${ch}}`;
  return { store, redis, ch, keys: { expiry: `${tag}:presence:expiry`, members: `${tag}:presence:members` } };
}

const member = (client: string, user: string | null = client): PresenceMember => ({
  client,
  user,
  node: 'n1',
  joinedAt: 1_700_000_000_000,
});

/** The Redis server's clock, in ms. */
async function redisNow(redis: ReturnType<typeof adminConnection>): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe.skipIf(missing !== false)('RedisPresenceStore on Redis', () => {
  it('scores members by their expiry on the Redis clock, and keeps the JSON as given', async () => {
    const { store, redis, ch, keys } = await started();
    const before = await redisNow(redis);
    await store.add(ch, { ...member('s1'), info: { name: 'Ann' } }, 10_000, 10);
    const after = await redisNow(redis);
    const score = Number(await redis.zscore(keys.expiry, 's1'));
    expect(score).toBeGreaterThanOrEqual(before + 10_000);
    expect(score).toBeLessThanOrEqual(after + 10_000);
    expect(JSON.parse((await redis.hget(keys.members, 's1'))!)).toEqual({
      ...member('s1'),
      info: { name: 'Ann' },
    });
  });

  it('lets the keys of an idle channel expire a grace period after the last member would', async () => {
    const { store, redis, ch, keys } = await started();
    await store.add(ch, member('s1'), 1000, 10);
    for (const key of [keys.expiry, keys.members]) {
      const pttl = await redis.pttl(key);
      expect(pttl).toBeGreaterThan(PRESENCE_KEY_GRACE_MS);
      expect(pttl).toBeLessThanOrEqual(PRESENCE_KEY_GRACE_MS + 1000);
    }
    // A member with a longer life carries the keys with it; a shorter one does not shorten them.
    await store.add(ch, member('s2'), 30_000, 10);
    await store.add(ch, member('s3'), 500, 10);
    expect(await redis.pttl(keys.members)).toBeGreaterThan(PRESENCE_KEY_GRACE_MS + 29_000);
    await store.refresh(ch, ['s1'], 100_000);
    expect(await redis.pttl(keys.expiry)).toBeGreaterThan(PRESENCE_KEY_GRACE_MS + 99_000);
    // The last member gone, nothing is left.
    for (const c of ['s1', 's2', 's3']) await store.remove(ch, c);
    expect(await redis.exists(keys.expiry, keys.members)).toBe(0);
  });

  it('a stale member is not refreshed back, counts for nobody, and is pruned once', async () => {
    const { store, ch } = await started();
    await store.add(ch, member('old'), 200, 1);
    await sleep(300);
    await store.refresh(ch, ['old'], 60_000);
    expect(await store.list(ch)).toEqual({});
    expect(await store.stats(ch)).toEqual({ numClients: 0, numUsers: 0 });
    // The stale member does not hold the only place: a new one fits.
    expect(await store.add(ch, member('new'), 60_000, 1)).toBe('added');
    expect(await store.prune(ch)).toEqual([member('old')]);
    expect(await store.prune(ch)).toEqual([]);
  });

  it('a stale member that is removed before any prune is reported removed, and no prune returns it', async () => {
    const { store, ch } = await started();
    await store.add(ch, member('s1'), 200, 10);
    await sleep(300);
    // Its leave was not announced by a prune yet: the caller of remove announces it.
    expect(await store.remove(ch, 's1')).toBe(true);
    expect(await store.prune(ch)).toEqual([]);
    expect(await store.remove(ch, 's1')).toBe(false);
  });

  it('re-adding a client whose entry went stale stores it again as added, even at max', async () => {
    const { store, ch } = await started();
    await store.add(ch, member('s1'), 200, 1);
    await sleep(300);
    expect(await store.add(ch, member('s1'), 60_000, 1)).toBe('added');
    expect(Object.keys(await store.list(ch))).toEqual(['s1']);
  });

  it('prunes more stale members than one script takes in a single call', async () => {
    const { store, ch } = await started();
    const n = 2500;
    await Promise.all(Array.from({ length: n }, (_, i) => store.add(ch, member(`s${i}`), 300, n)));
    await sleep(400);
    const pruned = await store.prune(ch);
    expect(pruned).toHaveLength(n);
    expect(new Set(pruned.map((m) => m.client)).size).toBe(n);
    expect(await store.prune(ch)).toEqual([]);
  });

  it('counts anonymous sessions one each and users once, whatever their sessions', async () => {
    const { store, ch } = await started();
    for (const [c, u] of [
      ['a1', 'ann'],
      ['a2', 'ann'],
      ['x1', null],
      ['x2', null],
      ['b1', 'bob'],
    ] as const) {
      await store.add(ch, member(c, u), 60_000, 10);
    }
    expect(await store.stats(ch)).toEqual({ numClients: 5, numUsers: 4 });
  });

  it('refuses calls before start with not_started', async () => {
    const store = new RedisPresenceStore({ url: SHARED_REDIS_URL, keyPrefix: uniquePrefix() });
    await expect(store.list('x')).rejects.toMatchObject({
      code: 'not_started',
      message: 'cannot list the members of x: the Redis presence store is not started',
    });
  });
});
