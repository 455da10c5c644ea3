import { BackendUnavailableError } from '@dotmac-ws/core';
import { freePort, onCleanup, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { NatsBackend, NatsBackendError } from '../src/index';
import { seqs, startNode, subscriber } from './gateway-node';
import { NatsClusterProcesses, NatsProcess, natsServerMissing } from './nats-process';
import { uniquePrefix } from './shared-nats';

const noServer = await natsServerMissing();

/** A started backend (stopped after the test) and what it delivered. */
async function started(options: ConstructorParameters<typeof NatsBackend>[0]) {
  const backend = new NatsBackend(options);
  const got: string[] = [];
  await backend.start((topic, payload) => got.push(`${topic}=${Buffer.from(payload).toString()}`));
  onCleanup(() => backend.stop());
  return { backend, got };
}

/** Publishes `probe-N` from `from` every 100 ms until `got` holds one, within `ms`; returns the time it took. */
async function probeUntilDelivered(
  from: NatsBackend,
  topic: string,
  got: string[],
  ms: number,
): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < 200 && Date.now() - t0 < ms; i++) {
    // Refused (backend_unavailable) until the connection is back.
    await from.publish(topic, Buffer.from(`probe-${i}`)).catch((error: unknown) => {
      if (!(error instanceof BackendUnavailableError)) throw error;
    });
    await sleep(100);
    if (got.some((g) => g.startsWith(`${topic}=probe-`))) return Date.now() - t0;
  }
  throw new Error(`no delivery on ${topic} within ${ms} ms`);
}

describe.skipIf(noServer !== false)(
  `NatsBackend when NATS fails (own nats-server processes)${noServer ? ` (skipped: ${noServer})` : ''}`,
  () => {
    it('drops and counts what is published while NATS is down, buffers none of it, and delivers again within 3 s', async () => {
      const server = await NatsProcess.start();
      const subjectPrefix = uniquePrefix();
      const a = await started({ servers: server.url, subjectPrefix });
      const b = await started({ servers: server.url, subjectPrefix });
      await b.backend.subscribe('channel:down');
      await a.backend.publish('channel:down', Buffer.from('before'));
      await waitUntil(() => b.got.length === 1, 3000, 'the first delivery');

      await server.kill();
      await waitUntil(
        async () => (await a.backend.health()).status === 'unhealthy',
        3000,
        'health to follow the disconnect',
      );
      expect(await a.backend.health()).toMatchObject({
        status: 'unhealthy',
        state: 'reconnecting',
        server: null,
      });
      const before = a.backend.stats();
      const big = 16 * 1024;
      const count = 2000; // 32 MiB offered while NATS is gone
      const t0 = Date.now();
      const refusals: unknown[] = [];
      for (let i = 0; i < count; i++) {
        // Never resolved as sent: each one is refused at once, as unavailable.
        refusals.push(
          await a.backend.publish('channel:down', Buffer.alloc(big, i % 256)).then(
            () => null,
            (e) => e,
          ),
        );
      }
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(refusals.filter((e) => e instanceof BackendUnavailableError)).toHaveLength(count);
      expect(refusals[0]).toMatchObject({
        name: 'BackendUnavailableError',
        code: 'backend_unavailable',
        message: 'NATS is unreachable: the message on channel:down was dropped',
        retryAfterMs: 1000,
      });
      const during = a.backend.stats();
      expect(during.dropped! - before.dropped!).toBe(count);
      expect(during.published).toBe(before.published);
      expect(during.outages).toBe(1);

      // Subscribing while NATS is gone is refused for now and done when it returns.
      await expect(b.backend.subscribe('channel:late')).rejects.toMatchObject({
        name: 'NatsBackendError',
        code: 'unavailable',
        message: 'NATS is unreachable: channel:late is subscribed when it returns',
      });

      await server.resume();
      const back = Date.now();
      await probeUntilDelivered(a.backend, 'channel:down', b.got, 3000);
      await probeUntilDelivered(a.backend, 'channel:late', b.got, 3000 - (Date.now() - back));
      await waitUntil(async () => (await a.backend.health()).status === 'healthy', 3000, 'healthy again');
      expect(Date.now() - back).toBeLessThan(3500);
      // Nothing of the outage was held back and sent late.
      await sleep(200);
      expect(b.got.filter((g) => !g.includes('=probe-') && g !== 'channel:down=before')).toEqual([]);
      const after = a.backend.stats();
      expect(after.reconnects).toBe(1);
      expect(b.backend.stats().resubscribes).toBe(1);
    });

    it('a silent server (SIGSTOP): publishes are refused within 1.5 x commandTimeoutMs, then at once, and go through again once it answers', async () => {
      const server = await NatsProcess.start();
      onCleanup(() => server.thaw());
      const subjectPrefix = uniquePrefix();
      const a = await started({ servers: server.url, subjectPrefix, commandTimeoutMs: 400 });
      const b = await started({ servers: server.url, subjectPrefix });
      await b.backend.subscribe('channel:quiet');
      await a.backend.publish('channel:quiet', Buffer.from('before'));
      await waitUntil(() => b.got.length === 1, 3000, 'the first delivery');

      server.freeze();
      const t0 = Date.now();
      let accepted = 0;
      let refusedAfter = -1;
      for (let i = 0; i < 200 && Date.now() - t0 < 3000; i++) {
        const r = await a.backend.publish('channel:quiet', Buffer.from(`q${i}`)).then(
          () => null,
          (e: unknown) => e,
        );
        if (r instanceof BackendUnavailableError) {
          refusedAfter = Date.now() - t0;
          break;
        }
        if (r !== null) throw r;
        accepted++;
        await sleep(20);
      }
      // Noticed within half the timeout (the next round trip) plus the timeout, with slack.
      expect(refusedAfter).toBeGreaterThanOrEqual(400);
      expect(refusedAfter).toBeLessThan(1000);
      const t1 = Date.now();
      expect(
        await a.backend.publish('channel:quiet', Buffer.from('refused')).catch((e: unknown) => e),
      ).toBeInstanceOf(BackendUnavailableError);
      expect(Date.now() - t1).toBeLessThan(100);
      expect(a.backend.stats()).toMatchObject({ published: 1 + accepted, dropped: 2 });

      server.thaw();
      // The round trip in flight is answered: publishing works again.
      let sent = -1;
      for (let i = 0; i < 50 && sent < 0; i++) {
        await sleep(50);
        await a.backend.publish('channel:quiet', Buffer.from('after')).then(
          () => {
            sent = i;
          },
          (e: unknown) => {
            if (!(e instanceof BackendUnavailableError)) throw e;
          },
        );
      }
      expect(sent).toBeGreaterThanOrEqual(0);
      await waitUntil(() => b.got.includes('channel:quiet=after'), 3000, 'the delivery after');
      // What the client took before the silence was noticed arrived when the server resumed, in order.
      expect(b.got).toEqual([
        'channel:quiet=before',
        ...Array.from({ length: accepted }, (_, i) => `channel:quiet=q${i}`),
        'channel:quiet=after',
      ]);
    });

    it('keeps delivering across gateways when one server of a 3-server cluster is killed', async () => {
      const cluster = await NatsClusterProcesses.start();
      const [s0, s1, s2] = cluster.servers as [NatsProcess, NatsProcess, NatsProcess];
      const subjectPrefix = uniquePrefix();
      // Each node lists every server, starting from a different one.
      const natsOptions = { noRandomize: true };
      const a = await startNode({ servers: [s0.url, s1.url, s2.url], subjectPrefix, natsOptions });
      const b = await startNode({ servers: [s1.url, s2.url, s0.url], subjectPrefix, natsOptions });
      expect(a.backend.server).toBe(`127.0.0.1:${s0.port}`);
      expect(b.backend.server).toBe(`127.0.0.1:${s1.port}`);
      const onA = await subscriber(a.gateway, 'cluster');
      const onB = await subscriber(b.gateway, 'cluster');
      // Interest crosses the routes: wait until B's messages reach A's server and back.
      await waitUntil(
        async () => {
          await b.gateway.broadcastToChannel('cluster', 'warmup', {});
          await sleep(50);
          return onA.frames.some((f) => f.type === 'warmup');
        },
        5000,
        'delivery across the routes',
      );

      const count = 200;
      let seq = 0;
      // While A moves to another server its publishes are refused (backend_unavailable): local
      // delivery still stands.
      const tolerated = (p: Promise<number>) =>
        p.catch((error: unknown) => {
          if (!(error instanceof BackendUnavailableError)) throw error;
        });
      const publishing = (async () => {
        for (; seq < count; seq++) {
          await tolerated(b.gateway.broadcastToChannel('cluster', 'from-b', { seq }));
          await tolerated(a.gateway.broadcastToChannel('cluster', 'from-a', { seq }));
          await sleep(20);
        }
      })();
      await waitUntil(() => seqs(onA, 'from-b').length >= 20, 5000, 'traffic before the kill');
      const killedAt = seq;
      await s0.kill();
      // A moves to another server of the cluster; delivery goes on both ways.
      await waitUntil(
        () =>
          seqs(onA, 'from-b').some((s) => s > killedAt + 10) &&
          seqs(onB, 'from-a').some((s) => s > killedAt + 10),
        5000,
        'delivery after the kill',
      );
      expect([`127.0.0.1:${s1.port}`, `127.0.0.1:${s2.port}`]).toContain(a.backend.server);
      await publishing;
      // Sessions on A's own gateway never lost a message, and the gateways stayed up.
      expect(seqs(onA, 'from-a')).toEqual(Array.from({ length: count }, (_, i) => i));
      expect(seqs(onB, 'from-b')).toEqual(Array.from({ length: count }, (_, i) => i));
      const crossed = seqs(onA, 'from-b');
      // Core NATS is at-most-once: what was in flight to the dead server may be lost, never reordered.
      expect(crossed).toEqual([...crossed].sort((x, y) => x - y));
      expect(crossed.length).toBeGreaterThan(count - 50);
      expect(a.backend.stats()).toMatchObject({ reconnects: 1, resubscribes: 1 });
      await waitUntil(async () => (await a.gateway.healthCheck()).status === 'healthy', 3000, 'A healthy');
    });

    it('moves to another server when its server enters lame-duck mode', async () => {
      const cluster = await NatsClusterProcesses.start();
      const [s0, s1, s2] = cluster.servers as [NatsProcess, NatsProcess, NatsProcess];
      const subjectPrefix = uniquePrefix();
      const natsOptions = { noRandomize: true };
      const a = await started({
        servers: [s0.url, s1.url, s2.url],
        subjectPrefix,
        natsOptions,
        lameDuckJitterMs: 200,
      });
      const b = await started({ servers: [s1.url], subjectPrefix });
      await a.backend.subscribe('channel:ldm');
      expect(a.backend.server).toBe(`127.0.0.1:${s0.port}`);

      s0.lameDuck();
      await waitUntil(() => a.backend.stats().lame_duck === 1, 5000, 'the lame-duck notice');
      await waitUntil(
        () => a.backend.server !== null && a.backend.server !== `127.0.0.1:${s0.port}`,
        5000,
        'a move to another server',
      );
      await probeUntilDelivered(b.backend, 'channel:ldm', a.got, 3000);
      await waitUntil(async () => (await a.backend.health()).status === 'healthy', 3000, 'healthy again');
    });

    it('reports degraded health while its only server is in lame-duck mode, and keeps delivering', async () => {
      const server = await NatsProcess.start();
      const subjectPrefix = uniquePrefix();
      const a = await started({ servers: server.url, subjectPrefix });
      const b = await started({ servers: server.url, subjectPrefix });
      await a.backend.subscribe('tenant:acme');
      expect((await a.backend.health()).status).toBe('healthy');
      server.lameDuck();
      await waitUntil(() => a.backend.stats().lame_duck === 1, 5000, 'the lame-duck notice');
      expect(await a.backend.health()).toMatchObject({
        status: 'degraded',
        lame_duck: true,
        state: 'connected',
      });
      // No other server to go to: it stays, and delivery goes on until the server closes it.
      await b.backend.publish('tenant:acme', Buffer.from('still here'));
      await waitUntil(() => a.got.length === 1, 3000, 'a delivery in lame-duck mode');
      expect(a.got).toEqual(['tenant:acme=still here']);
    });

    it('authenticates with user and password, or with a token', async () => {
      const withUser = await NatsProcess.start(['--user', 'gw', '--pass', 's3cret']);
      const withToken = await NatsProcess.start(['--auth', 't0ken']);
      const subjectPrefix = uniquePrefix();
      for (const [server, creds] of [
        [withUser, { user: 'gw', password: 's3cret' }],
        [withToken, { token: 't0ken' }],
      ] as const) {
        const sub = await started({ servers: server.url, subjectPrefix, ...creds });
        const pub = await started({ servers: server.url, subjectPrefix, ...creds });
        await sub.backend.subscribe('user:u1');
        await pub.backend.publish('user:u1', Buffer.from('hi'));
        await waitUntil(() => sub.got.length === 1, 3000, 'a delivery');
        expect(sub.got).toEqual(['user:u1=hi']);
      }
      for (const [server, creds] of [
        [withUser, { user: 'gw', password: 'wrong' }],
        [withToken, { token: 'wrong' }],
        [withToken, {}],
      ] as const) {
        const backend = new NatsBackend({ servers: server.url, subjectPrefix, ...creds });
        onCleanup(() => backend.stop());
        const error = await backend
          .start(() => undefined)
          .then(
            () => null,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(NatsBackendError);
        expect(error).toMatchObject({ code: 'connect_failed' });
        expect((error as Error).message).toBe(
          `could not connect to NATS at 127.0.0.1:${server.port}: Authorization Violation`,
        );
      }
    });

    it('refuses to start without a server, and every call before start or after stop', async () => {
      const port = await freePort();
      const backend = new NatsBackend({ servers: `nats://127.0.0.1:${port}`, connectTimeoutMs: 500 });
      await expect(backend.start(() => undefined)).rejects.toMatchObject({
        name: 'NatsBackendError',
        code: 'connect_failed',
        message: `could not connect to NATS at 127.0.0.1:${port}: connection refused`,
      });
      expect(await backend.health()).toMatchObject({ status: 'unhealthy', state: 'stopped' });
      for (const call of [
        () => backend.publish('broadcast', Buffer.from('x')),
        () => backend.subscribe('broadcast'),
        () => backend.unsubscribe('broadcast'),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'not_started' });
      }
      await expect(backend.publish('broadcast', Buffer.from('x'))).rejects.toThrow(
        'cannot publish: the NATS backend is not started',
      );
      await backend.stop();
    });

    it('refuses a payload over the server max_payload with publish_failed', async () => {
      const server = await NatsProcess.start();
      const { backend } = await started({ servers: server.url, subjectPrefix: uniquePrefix() });
      await expect(backend.publish('channel:big', Buffer.alloc(2 * 1024 * 1024))).rejects.toMatchObject({
        name: 'NatsBackendError',
        code: 'publish_failed',
        message: `publish on channel:big failed: the payload of ${2 * 1024 * 1024} bytes is over the server's max_payload of ${1024 * 1024}`,
      });
      expect(backend.stats()).toMatchObject({ errors: 1, published: 0 });
    });

    it('drains on stop: everything published before stop reaches the other nodes', async () => {
      const server = await NatsProcess.start();
      const subjectPrefix = uniquePrefix();
      const sub = await started({ servers: server.url, subjectPrefix });
      const pub = new NatsBackend({ servers: server.url, subjectPrefix });
      await pub.start(() => undefined);
      await sub.backend.subscribe('channel:drain');
      const count = 5000;
      for (let i = 0; i < count; i++) await pub.publish('channel:drain', Buffer.from(String(i)));
      await pub.stop();
      expect(await pub.health()).toMatchObject({ status: 'unhealthy', state: 'stopped' });
      await waitUntil(() => sub.got.length === count, 5000, `${count} deliveries`);
      expect(sub.got.at(-1)).toBe(`channel:drain=${count - 1}`);
    });
  },
);
