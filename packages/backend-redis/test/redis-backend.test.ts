import { BackendUnavailableError, type Logger, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { freePort, onCleanup, sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBackend, RedisBackendError, type RedisBackendOptions } from '../src/index';
import { RedisProcess, redisBinariesMissing } from './redis-process';
import { adminConnection, numsub, SHARED_REDIS_URL, sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const binariesMissing = await redisBinariesMissing();

/** A started backend, stopped after the test, recording what it receives. */
async function started(options: RedisBackendOptions) {
  const backend = new RedisBackend(options);
  const got: { topic: string; payload: Buffer }[] = [];
  onCleanup(() => backend.stop());
  await backend.start((topic, payload) => got.push({ topic, payload: Buffer.from(payload) }));
  return { backend, got };
}

/** A logger that keeps every line, for tests that check what was logged. */
function captureLogger(): { logger: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at =
    (level: string) =>
    (_fields: unknown, msg: string): void => {
      lines.push({ level, msg });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

function admin(url: string): Redis {
  const r = adminConnection(url);
  onCleanup(() => r.disconnect());
  return r;
}

async function commandCalls(redis: Redis, command: string): Promise<number> {
  const info = (await redis.info('commandstats')) as string;
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return m === null ? 0 : Number(m[1]);
}

describe.skipIf(missing !== false)(
  `RedisBackend on a real Redis${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('carries binary payloads byte for byte and counts them', async () => {
      const keyPrefix = uniquePrefix();
      const a = await started({ url: SHARED_REDIS_URL, keyPrefix });
      const b = await started({ url: SHARED_REDIS_URL, keyPrefix });
      await b.backend.subscribe('bin');
      const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await a.backend.publish('bin', payload);
      await a.backend.publish('bin', new Uint8Array([0x0a, 0x00, 0xff]));
      await waitUntil(() => b.got.length === 2, 3000, 'two payloads');
      expect(b.got[0]).toEqual({ topic: 'bin', payload });
      expect(b.got[1]).toEqual({ topic: 'bin', payload: Buffer.from([0x0a, 0x00, 0xff]) });
      expect(a.backend.stats()).toMatchObject({ published: 2, dropped: 0, errors: 0 });
      expect(b.backend.stats()).toMatchObject({ received: 2, topics: 1, resubscribes: 0, outages: 0 });
      const health = await b.backend.health();
      expect(health).toMatchObject({
        status: 'healthy',
        backend: 'redis',
        mode: 'standalone',
        sharded: false,
        topics: 1,
        publisher: 'ready',
        subscriber: 'ready',
      });
      expect(typeof health.latency_ms).toBe('number');
    });

    it('keeps deployments with different key prefixes apart on one Redis', async () => {
      const one = uniquePrefix();
      const two = uniquePrefix();
      const pub = await started({ url: SHARED_REDIS_URL, keyPrefix: one });
      const same = await started({ url: SHARED_REDIS_URL, keyPrefix: one });
      const other = await started({ url: SHARED_REDIS_URL, keyPrefix: two });
      await same.backend.subscribe('channel:news');
      await other.backend.subscribe('channel:news');
      await pub.backend.publish('channel:news', Buffer.from('hello'));
      await waitUntil(() => same.got.length === 1, 3000, 'the delivery within the prefix');
      await sleep(150);
      expect(other.got).toEqual([]);
      expect(await numsub(admin(SHARED_REDIS_URL), `${two}channel:news`)).toBe(1);
    });

    it('uses sharded pub/sub (SSUBSCRIBE / SPUBLISH) when asked', async () => {
      const keyPrefix = uniquePrefix();
      const a = await started({ url: SHARED_REDIS_URL, keyPrefix, sharded: true });
      const b = await started({ url: SHARED_REDIS_URL, keyPrefix, sharded: true });
      await b.backend.subscribe('channel:s');
      const redis = admin(SHARED_REDIS_URL);
      expect(await numsub(redis, `${keyPrefix}channel:s`, true)).toBe(1);
      expect(await numsub(redis, `${keyPrefix}channel:s`, false)).toBe(0);
      await a.backend.publish('channel:s', Buffer.from('x'));
      await waitUntil(() => b.got.length === 1, 3000, 'a sharded delivery');
      await b.backend.unsubscribe('channel:s');
      expect(await numsub(redis, `${keyPrefix}channel:s`, true)).toBe(0);
    });

    it('refuses work before start and after stop with not_started', async () => {
      const backend = new RedisBackend({ url: SHARED_REDIS_URL, keyPrefix: uniquePrefix() });
      await expect(backend.subscribe('t')).rejects.toMatchObject({ code: 'not_started' });
      await expect(backend.publish('t', Buffer.from('x'))).rejects.toMatchObject({
        code: 'not_started',
        message: 'cannot publish: the Redis backend is not started',
      });
      expect((await backend.health()).status).toBe('unhealthy');
      await backend.start(() => undefined);
      await backend.stop();
      await expect(backend.unsubscribe('t')).rejects.toMatchObject({
        code: 'not_started',
        message: 'cannot unsubscribe: the Redis backend is not started',
      });
    });

    it('fails start with connect_failed when nothing listens, and the gateway does not start', async () => {
      const port = await freePort();
      const backend = new RedisBackend({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 });
      const error = await backend.start(() => undefined).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisBackendError);
      expect((error as RedisBackendError).code).toBe('connect_failed');
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Redis at redis://127\\.0\\.0\\.1:${port}/0 was not ready within 300 ms: connect ECONNREFUSED`,
        ),
      );
      expect((await backend.health()).status).toBe('unhealthy');

      const gateway = new WebSocketGateway({
        port: 0,
        host: '127.0.0.1',
        logger: silentLogger,
        backend: new RedisBackend({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 }),
      });
      await expect(gateway.start()).rejects.toMatchObject({ code: 'connect_failed' });
      expect(gateway.status).toBe('stopped');
    });

    it('a start called while stop is still closing waits for the close, then connects again', async () => {
      const keyPrefix = uniquePrefix();
      const a = await started({ url: SHARED_REDIS_URL, keyPrefix, connectTimeoutMs: 1000 });
      const b = await started({ url: SHARED_REDIS_URL, keyPrefix });
      const stopping = a.backend.stop();
      const restarted = a.backend.start((topic, payload) =>
        a.got.push({ topic, payload: Buffer.from(payload) }),
      );
      await Promise.all([stopping, restarted]);
      await a.backend.subscribe('again');
      await b.backend.publish('again', Buffer.from('back'));
      await waitUntil(() => a.got.length === 1, 3000, 'a delivery after the restart');
      expect(a.got[0]).toEqual({ topic: 'again', payload: Buffer.from('back') });
      expect((await a.backend.health()).status).toBe('healthy');
      expect(a.backend.stats()).toMatchObject({ outages: 0, topics: 1 });
    });
  },
);

describe.skipIf(binariesMissing !== false)(
  `RedisBackend on a redis-server of its own${binariesMissing ? ` (skipped: ${binariesMissing})` : ''}`,
  () => {
    it('coalesces: many sessions on one channel cause one SUBSCRIBE, the last to leave one UNSUBSCRIBE', async () => {
      const redis = await RedisProcess.start();
      const gateway = new WebSocketGateway({
        port: 0,
        host: '127.0.0.1',
        logger: silentLogger,
        backend: new RedisBackend({ url: redis.url }),
      });
      await gateway.start();
      onCleanup(() => gateway.stop());
      const r = admin(redis.url);
      const subscribesBefore = await commandCalls(r, 'subscribe');
      const clients: TestClient[] = [];
      for (let i = 0; i < 40; i++) {
        clients.push(await TestClient.open(`ws://127.0.0.1:${gateway.address()!.port}/ws`));
      }
      const acks = await Promise.all(clients.map((c) => c.request({ type: 'subscribe', channel: 'room' })));
      expect(acks.every((a) => a.type === 'ack')).toBe(true);
      expect((await commandCalls(r, 'subscribe')) - subscribesBefore).toBe(1);
      expect(await numsub(r, 'dotmac-ws:channel:room')).toBe(1);

      const unsubscribesBefore = await commandCalls(r, 'unsubscribe');
      for (const c of clients.slice(1)) await c.request({ type: 'unsubscribe', channel: 'room' });
      expect(await commandCalls(r, 'unsubscribe')).toBe(unsubscribesBefore);
      await clients[0]!.request({ type: 'unsubscribe', channel: 'room' });
      await waitUntil(
        async () => (await numsub(r, 'dotmac-ws:channel:room')) === 0,
        3000,
        'the unsubscription',
      );
      expect((await commandCalls(r, 'unsubscribe')) - unsubscribesBefore).toBe(1);
    });

    it('sends one turn of publishes as one script call (1,000 messages each), in order, and counts them', async () => {
      const redis = await RedisProcess.start();
      const a = await started({ url: redis.url });
      const b = await started({ url: redis.url });
      for (const t of ['t0', 't1', 't2']) await b.backend.subscribe(t);
      const r = admin(redis.url);
      const evalsBefore = await commandCalls(r, 'eval');
      const publishesBefore = await commandCalls(r, 'publish');
      // 2,500 publishes in one turn over three topics, then one more in the next turn.
      const sent = Array.from({ length: 2500 }, (_, i) => ({
        topic: `t${i % 3}`,
        payload: Buffer.from(`m${i}`),
      }));
      await Promise.all(sent.map((m) => a.backend.publish(m.topic, m.payload)));
      expect((await commandCalls(r, 'eval')) - evalsBefore).toBe(3);
      await a.backend.publish('t0', Buffer.from('last'));
      expect((await commandCalls(r, 'eval')) - evalsBefore).toBe(4);
      // Redis ran one PUBLISH per message; the subscriber got every one, in the order sent.
      expect((await commandCalls(r, 'publish')) - publishesBefore).toBe(2501);
      await waitUntil(() => b.got.length === 2501, 5000, 'every message');
      expect(b.got).toEqual([...sent, { topic: 't0', payload: Buffer.from('last') }]);
      expect(a.backend.stats()).toMatchObject({ published: 2501, dropped: 0, errors: 0 });
    });

    it('carries any topic and payload bytes through one script call: empty, binary, multi-byte topics, 1 MiB', async () => {
      const keyPrefix = uniquePrefix();
      const a = await started({ url: SHARED_REDIS_URL, keyPrefix });
      const b = await started({ url: SHARED_REDIS_URL, keyPrefix });
      const topics = ['plain', 'ünï-cødé 日本 🎉', 'with\nnewline and 0000000012 digits'];
      for (const t of topics) await b.backend.subscribe(t);
      const sent = [
        { topic: topics[0]!, payload: Buffer.alloc(0) },
        { topic: topics[1]!, payload: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
        { topic: topics[2]!, payload: Buffer.from('0000000099') },
        { topic: topics[0]!, payload: Buffer.alloc(1024 * 1024, 0x5a) },
        { topic: topics[1]!, payload: Buffer.from('après') },
      ];
      // One turn: one call carries them all.
      await Promise.all(sent.map((m) => a.backend.publish(m.topic, m.payload)));
      await waitUntil(() => b.got.length === sent.length, 5000, 'every message');
      expect(b.got).toEqual(sent);
    });

    it('batchPublishes: false sends one PUBLISH per message and no script', async () => {
      const redis = await RedisProcess.start();
      const a = await started({ url: redis.url, batchPublishes: false });
      const b = await started({ url: redis.url });
      await b.backend.subscribe('x');
      const r = admin(redis.url);
      const [evalsBefore, publishesBefore] = [
        await commandCalls(r, 'eval'),
        await commandCalls(r, 'publish'),
      ];
      await Promise.all(['1', '2', '3'].map((m) => a.backend.publish('x', Buffer.from(m))));
      expect((await commandCalls(r, 'eval')) - evalsBefore).toBe(0);
      expect((await commandCalls(r, 'publish')) - publishesBefore).toBe(3);
      await waitUntil(() => b.got.length === 3, 3000, 'every message');
      expect(b.got.map((m) => m.payload.toString())).toEqual(['1', '2', '3']);
    });

    it('publishes one PUBLISH per message on a Redis that does not run scripts', async () => {
      // EVAL renamed away: start() finds out and never sends a script call.
      const redis = await RedisProcess.start(['--rename-command', 'EVAL', 'EVAL_RENAMED']);
      const a = await started({ url: redis.url, logger: captureLogger().logger });
      const b = await started({ url: redis.url });
      await b.backend.subscribe('x');
      const r = admin(redis.url);
      const publishesBefore = await commandCalls(r, 'publish');
      await Promise.all(['1', '2', '3'].map((m) => a.backend.publish('x', Buffer.from(m))));
      expect((await commandCalls(r, 'publish')) - publishesBefore).toBe(3);
      await waitUntil(() => b.got.length === 3, 3000, 'every message');
      expect(b.got.map((m) => m.payload.toString())).toEqual(['1', '2', '3']);
      expect(a.backend.stats()).toMatchObject({ published: 3, errors: 0 });
    });

    it('scripts taken away while running: that call fails with command_failed, the next ones go one by one', async () => {
      const redis = await RedisProcess.start();
      const log = captureLogger();
      const a = await started({ url: redis.url, logger: log.logger });
      const b = await started({ url: redis.url });
      await b.backend.subscribe('x');
      await a.backend.publish('x', Buffer.from('before'));
      const r = admin(redis.url);
      await r.call('ACL', 'SETUSER', 'default', '-eval');
      const refused = await Promise.allSettled(
        ['r1', 'r2'].map((m) => a.backend.publish('x', Buffer.from(m))),
      );
      for (const x of refused) {
        expect(x.status).toBe('rejected');
        expect((x as PromiseRejectedResult).reason).toMatchObject({
          code: 'command_failed',
          message: expect.stringMatching(/^PUBLISH on dotmac-ws:x failed: .*NOPERM/),
        });
      }
      expect(log.lines.some((l) => l.msg.startsWith('redis refuses EVAL'))).toBe(true);
      await a.backend.publish('x', Buffer.from('after'));
      await waitUntil(() => b.got.length === 2, 3000, 'the messages that were accepted');
      expect(b.got.map((m) => m.payload.toString())).toEqual(['before', 'after']);
      expect(a.backend.stats()).toMatchObject({ published: 2, errors: 2, dropped: 0 });
    });

    it('connects with a password and a database from the URL; a wrong password fails start', async () => {
      const redis = await RedisProcess.start(['--requirepass', 's3cr=t']);
      const url = `redis://:${encodeURIComponent('s3cr=t')}@127.0.0.1:${redis.port}/2`;
      const a = await started({ url });
      const b = await started({ url });
      await b.backend.subscribe('auth');
      await a.backend.publish('auth', Buffer.from('ok'));
      await waitUntil(() => b.got.length === 1, 3000, 'a delivery');
      const clients = (await admin(url).call('CLIENT', 'LIST')) as string;
      expect(clients).toMatch(/name=dotmac-ws-pub .*db=2/);

      const wrong = new RedisBackend({ url: `redis://:nope@127.0.0.1:${redis.port}`, connectTimeoutMs: 500 });
      onCleanup(() => wrong.stop());
      const error = await wrong.start(() => undefined).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'connect_failed' });
      expect((error as Error).message).toMatch(/WRONGPASS|invalid username-password/);
    });

    it('a silent Redis (SIGSTOP): a publish is refused after commandTimeoutMs, the next at once; they go through again once it answers', async () => {
      const redis = await RedisProcess.start();
      onCleanup(() => redis.thaw());
      const a = await started({ url: redis.url, commandTimeoutMs: 300 });
      const b = await started({ url: redis.url });
      await b.backend.subscribe('quiet');
      await a.backend.publish('quiet', Buffer.from('before'));
      await waitUntil(() => b.got.length === 1, 3000, 'the first delivery');

      redis.freeze();
      let t = Date.now();
      const unanswered = await a.backend.publish('quiet', Buffer.from('unanswered')).catch((e: unknown) => e);
      const waited = Date.now() - t;
      expect(unanswered).toBeInstanceOf(BackendUnavailableError);
      expect(unanswered).toMatchObject({ message: 'Redis is unreachable: the message on quiet was dropped' });
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(1500);
      // Redis is silent now: the next publish is not queued behind the unanswered one.
      t = Date.now();
      const refused = await a.backend.publish('quiet', Buffer.from('refused')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(BackendUnavailableError);
      expect(Date.now() - t).toBeLessThan(100);
      expect(a.backend.stats()).toMatchObject({ published: 1, dropped: 2 });

      redis.thaw();
      // Redis runs what it had read, so the unanswered message arrives late; its answer ends
      // the silence.
      await waitUntil(() => b.got.length === 2, 5000, 'the late delivery');
      await sleep(50);
      await a.backend.publish('quiet', Buffer.from('after'));
      await waitUntil(() => b.got.length === 3, 3000, 'the delivery after');
      expect(b.got.map((m) => m.payload.toString())).toEqual(['before', 'unanswered', 'after']);
      expect(a.backend.stats()).toMatchObject({ published: 2, dropped: 2 });
    });

    it('rejects a publish while Redis is down with BackendUnavailableError, counted as dropped; resolves again once back', async () => {
      const redis = await RedisProcess.start();
      const a = await started({ url: redis.url });
      const b = await started({ url: redis.url });
      await b.backend.subscribe('down');
      await a.backend.publish('down', Buffer.from('before'));
      await waitUntil(() => b.got.length === 1, 3000, 'the first delivery');

      await redis.kill();
      await waitUntil(async () => (await a.backend.health()).status === 'unhealthy', 3000, 'the outage');
      const error = await a.backend.publish('down', Buffer.from('lost')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(error).toMatchObject({
        name: 'BackendUnavailableError',
        code: 'backend_unavailable',
        message: 'Redis is unreachable: the message on down was dropped',
        retryAfterMs: 1000,
      });
      expect(a.backend.stats()).toMatchObject({ dropped: 1, published: 1 });

      await redis.resume();
      await waitUntil(async () => (await a.backend.health()).status === 'healthy', 5000, 'Redis back');
      await a.backend.publish('down', Buffer.from('after'));
      expect(a.backend.stats()).toMatchObject({ dropped: 1, published: 2 });
    });
  },
);
