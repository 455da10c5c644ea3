import { randomUUID } from 'node:crypto';
import { BackendUnavailableError, ConfigError, encodePositioned, type HistoryAppend } from '@dotmac-ws/core';
import { onCleanup, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { RedisBackendError, RedisHistoryStore, type RedisHistoryStoreOptions } from '../src/index';
import { RedisProcess, redisBinariesMissing } from './redis-process';
import { adminConnection, SHARED_REDIS_URL, sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const cannotStartRedis = await redisBinariesMissing();

const DAY_MS = 24 * 3600 * 1000;

/** A started store on the shared Redis with a key prefix of its own, and its key names. */
async function started(extra: RedisHistoryStoreOptions = {}) {
  const keyPrefix = uniquePrefix();
  const store = new RedisHistoryStore({ url: SHARED_REDIS_URL, keyPrefix, ...extra });
  await store.start();
  onCleanup(() => store.stop());
  const redis = adminConnection(SHARED_REDIS_URL);
  onCleanup(() => redis.disconnect());
  const ch = `t:${randomUUID()}`;
  const tag = `{${keyPrefix}channel:${ch}}`;
  const keys = {
    meta: `${tag}:history:meta`,
    stream: `${tag}:history:stream`,
    idem: (k: string) => `${tag}:history:idem:${k}`,
  };
  const entry = (text: string | Buffer, more: Partial<HistoryAppend> = {}): HistoryAppend => ({
    channel: ch,
    body: Buffer.isBuffer(text) ? text : Buffer.from(text),
    size: 100,
    ttlMs: 60_000,
    topic: `channel:${ch}`,
    ...more,
  });
  return { store, redis, ch, keyPrefix, keys, entry };
}

describe.skipIf(missing !== false)('RedisHistoryStore on Redis', () => {
  it('keeps the stream trimmed to exactly `size` entries, with the offsets as entry ids', async () => {
    const { store, redis, keys, entry } = await started();
    for (let i = 1; i <= 10; i++) await store.append(entry(`m${i}`, { size: 3 }));
    expect(await redis.xlen(keys.stream)).toBe(3);
    const ids = (await redis.xrange(keys.stream, '-', '+')).map(([id, fields]) => [id, fields]);
    expect(ids).toEqual([
      ['8-0', ['d', 'm8']],
      ['9-0', ['d', 'm9']],
      ['10-0', ['d', 'm10']],
    ]);
    expect(await redis.hgetall(keys.meta)).toEqual({ epoch: expect.any(String), top: '10' });
    // A smaller size trims at the next append.
    await store.append(entry('m11', { size: 1 }));
    expect(await redis.xrange(keys.stream, '-', '+')).toEqual([['11-0', ['d', 'm11']]]);
  });

  it('forgets an idempotency key after its TTL, and remembers it at least as long as the history', async () => {
    const { store, redis, keys, entry } = await started();
    const first = await store.append(entry('a', { idempotencyKey: 'k', idempotencyTtlMs: 300, ttlMs: 300 }));
    expect(await redis.get(keys.idem('k'))).toBe(`1 ${first.epoch}`);
    const pttl = await redis.pttl(keys.idem('k'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    expect(
      await store.append(entry('a', { idempotencyKey: 'k', idempotencyTtlMs: 300, ttlMs: 300 })),
    ).toEqual({
      offset: 1,
      epoch: first.epoch,
      duplicate: true,
    });
    await sleep(450);
    expect(await redis.exists(keys.idem('k'))).toBe(0);
    const again = await store.append(entry('a', { idempotencyKey: 'k', idempotencyTtlMs: 300, ttlMs: 300 }));
    expect(again).toEqual({ offset: 2, epoch: first.epoch, duplicate: false });

    // Without a TTL: 2 minutes (protocol.md); never shorter than the history's TTL.
    await store.append(entry('b', { idempotencyKey: 'two-min' }));
    const twoMin = await redis.pttl(keys.idem('two-min'));
    expect(twoMin).toBeGreaterThan(119_000);
    expect(twoMin).toBeLessThanOrEqual(120_000);
    await store.append(entry('c', { idempotencyKey: 'long', idempotencyTtlMs: 120_000, ttlMs: 600_000 }));
    expect(await redis.pttl(keys.idem('long'))).toBeGreaterThan(599_000);
  });

  it('keeps the position (meta hash) after the publications expired: same epoch, offsets go on', async () => {
    const { store, redis, keys, entry, ch } = await started({ metaTtlMs: 5000 });
    const first = await store.append(entry('old', { ttlMs: 300 }));
    const streamTtl = await redis.pttl(keys.stream);
    expect(streamTtl).toBeGreaterThan(0);
    expect(streamTtl).toBeLessThanOrEqual(300);
    // metaTtlMs 5000 is raised to ttlMs + 60 s, so the stream can never outlive its meta hash.
    const metaTtl = await redis.pttl(keys.meta);
    expect(metaTtl).toBeGreaterThan(60_000);
    expect(metaTtl).toBeLessThanOrEqual(60_300);
    await sleep(500);
    expect(await redis.exists(keys.stream)).toBe(0);
    expect(await redis.exists(keys.meta)).toBe(1);
    expect(await store.top(ch)).toEqual({ offset: 1, epoch: first.epoch });
    expect(await store.append(entry('new', { ttlMs: 300 }))).toEqual({
      offset: 2,
      epoch: first.epoch,
      duplicate: false,
    });
  });

  it('keeps the meta hash for metaTtlMs (7 days by default) and a read-created epoch as long', async () => {
    const { store, redis, keys, entry, ch } = await started();
    const top = await store.top(ch);
    expect(top.offset).toBe(0);
    const created = await redis.pttl(keys.meta);
    expect(created).toBeGreaterThan(7 * DAY_MS - 5000);
    expect(created).toBeLessThanOrEqual(7 * DAY_MS);
    expect(await store.append(entry('x'))).toEqual({ offset: 1, epoch: top.epoch, duplicate: false });
    expect(await redis.pttl(keys.meta)).toBeGreaterThan(7 * DAY_MS - 5000);
  });

  it('a stream left without its meta hash (evicted) is dropped with a new epoch, not appended to', async () => {
    const { store, redis, keys, entry, ch } = await started();
    const first = await store.append(entry('a'));
    await store.append(entry('b'));
    await redis.del(keys.meta);
    const next = await store.append(entry('c'));
    expect(next.offset).toBe(1);
    expect(next.epoch).not.toBe(first.epoch);
    const read = await store.read(ch, { limit: 10 });
    expect(read.publications.map((p) => p.body.toString())).toEqual(['c']);
    expect({ offset: read.offset, epoch: read.epoch }).toEqual({ offset: 1, epoch: next.epoch });
  });

  it('publishes the exact bytes of encodePositioned on the Redis channel of the topic, binary bodies too', async () => {
    const { store, keyPrefix, entry, ch } = await started();
    const sub = adminConnection(SHARED_REDIS_URL);
    onCleanup(() => sub.disconnect());
    const got: Buffer[] = [];
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => got.push(message));
    await sub.subscribe(`${keyPrefix}channel:${ch}`);
    const body = Buffer.from([0x7b, 0x00, 0xff, 0x0a, 0x20, 0xc3]);
    const position = await store.append(entry(body));
    await waitUntil(() => got.length === 1, 3000, 'the publication');
    expect(got[0]!.equals(encodePositioned(position, body))).toBe(true);
    expect((await store.read(ch, { limit: 1 })).publications[0]!.body.equals(body)).toBe(true);
  });

  it('with fanOut false, appends without publishing', async () => {
    const { store, keyPrefix, entry, ch } = await started({ fanOut: false });
    expect(store.fansOut).toBe(false);
    const sub = adminConnection(SHARED_REDIS_URL);
    onCleanup(() => sub.disconnect());
    const got: Buffer[] = [];
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => got.push(message));
    await sub.subscribe(`${keyPrefix}channel:${ch}`);
    expect((await store.append(entry('quiet'))).offset).toBe(1);
    await sleep(200);
    expect(got).toEqual([]);
  });

  it('a command Redis refuses rejects with command_failed, not backend_unavailable', async () => {
    const { store, redis, keys, entry } = await started();
    await redis.set(keys.stream, 'not a stream');
    await redis.hset(keys.meta, 'epoch', 'e1');
    const error = await store.append(entry('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisBackendError);
    expect(error).toMatchObject({ code: 'command_failed' });
    expect((error as Error).message).toMatch(/^cannot append to t:.*WRONGTYPE/);
  });

  it('refuses calls before start with not_started, reports health, and checks its options', async () => {
    const store = new RedisHistoryStore({ url: SHARED_REDIS_URL, keyPrefix: uniquePrefix() });
    await expect(store.top('x')).rejects.toMatchObject({
      code: 'not_started',
      message: 'cannot read the history of x: the Redis history store is not started',
    });
    expect(await store.health()).toMatchObject({ status: 'unhealthy', connection: 'stopped' });
    await store.start();
    onCleanup(() => store.stop());
    expect(await store.health()).toMatchObject({ status: 'healthy', store: 'redis', mode: 'standalone' });
    const error = (() => {
      try {
        return new RedisHistoryStore({ metaTtlMs: 5, fanOut: 'yes' as unknown as boolean, keyPrefix: '{x}' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message.split('\n')[0]).toBe('Invalid RedisHistoryStore options:');
    expect((error as ConfigError).problems).toEqual([
      "keyPrefix is '{x}' when it must be a string of at most 200 characters without spaces or braces",
      'metaTtlMs is 5 when it must be an integer from 1000 to 31536000000',
      "fanOut is 'yes' when it must be a boolean",
    ]);
  });
});

describe.skipIf(cannotStartRedis !== false)('RedisHistoryStore on a Redis that stops answering', () => {
  it('rejects with backend_unavailable after commandTimeoutMs instead of waiting', async () => {
    const redis = await RedisProcess.start();
    const store = new RedisHistoryStore({ url: redis.url, keyPrefix: uniquePrefix(), commandTimeoutMs: 300 });
    await store.start();
    onCleanup(() => store.stop());
    const admin = adminConnection(redis.url);
    onCleanup(() => admin.disconnect());
    await store.append({ channel: 'c', body: Buffer.from('x'), size: 10, ttlMs: 60_000, topic: 'channel:c' });
    // The connection stays open; Redis just does not answer (a stalled server, a lost route).
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const t0 = Date.now();
    const error = await store.top('c').catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toBe(
      'Redis is unreachable: cannot read the history of c (Redis did not answer within 300 ms)',
    );
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1000);
    await waitUntil(
      () =>
        store.top('c').then(
          (t) => t.offset === 1,
          () => false,
        ),
      5000,
      'answers again',
    );
  });
});

describe.skipIf(cannotStartRedis !== false)(
  'RedisHistoryStore on a Redis that does not know its scripts yet',
  () => {
    it("one node's appends get offsets in call order while another node loads the script", async () => {
      for (let round = 0; round < 5; round++) {
        const redis = await RedisProcess.start();
        const keyPrefix = uniquePrefix();
        const a = new RedisHistoryStore({ url: redis.url, keyPrefix });
        const b = new RedisHistoryStore({ url: redis.url, keyPrefix });
        await Promise.all([a.start(), b.start()]);
        onCleanup(() => a.stop());
        onCleanup(() => b.stop());
        const channel = `order:${randomUUID()}`;
        const entry = (text: string): HistoryAppend => ({
          channel,
          body: Buffer.from(text),
          size: 1000,
          ttlMs: 60_000,
          topic: `channel:${channel}`,
        });
        // B's first append loads the script while A's burst is under way. (A NOSCRIPT answer
        // resent as EVAL while a later EVALSHA succeeds would reorder A's appends; the store loads
        // its scripts before its first call on each connection so that this cannot happen.)
        const burst = Array.from({ length: 200 }, (_, i) => a.append(entry(`a${i}`)));
        const other = b.append(entry('b'));
        const offsets = (await Promise.all(burst)).map((r) => r.offset);
        await other;
        expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
        await redis.destroy();
      }
    });
  },
);
