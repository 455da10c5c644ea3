import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  freePort,
  onCleanup,
  SHARED_REDIS,
  sharedServiceMissing,
  startProcess,
  TestClient,
  type TestProcess,
  waitUntil,
} from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { answers } from '../src/sample-process';
import { REPO_ROOT } from '../src/work-dir';

const ADVANCED_ENV = join(REPO_ROOT, 'examples/advanced/example.env');

/** Starts `node args…` from the repository root as the example's README does; resolves once /ready answers. */
async function startExample(
  args: string[],
  env: Record<string, string>,
): Promise<{ proc: TestProcess; port: number }> {
  const port = await freePort();
  const proc = startProcess(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...env, WS_PORT: String(port) },
  });
  await waitUntil(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`the example exited:\n${proc.output()}`);
      return answers(`http://127.0.0.1:${port}/ready`);
    },
    15_000,
    'the example to be ready',
  );
  return { proc, port };
}

/** A TestClient past its welcome (and its `auth` ack when given a token). */
async function connect(port: number, token?: string): Promise<TestClient> {
  const c = await TestClient.open(`ws://127.0.0.1:${port}/ws`);
  await c.welcome();
  if (token !== undefined) {
    const auth = await c.request({ type: 'auth', data: { token } });
    expect(auth.type).toBe('ack');
  }
  return c;
}

describe('examples/basic', () => {
  it('starts with `node examples/basic/index.mjs`, answers shout with a broadcast, ticks on clock, and drains on SIGTERM', async () => {
    const { proc, port } = await startExample(['examples/basic/index.mjs'], {});
    // /ready may answer before this process has read the example's line from its stdout pipe.
    await waitUntil(
      () => proc.output().includes(`basic example: ws://127.0.0.1:${port}/ws`),
      5000,
      'the example to print its URL',
    );
    const a = await connect(port);
    const b = await connect(port);
    for (const c of [a, b])
      expect((await c.request({ type: 'subscribe', data: { channel: 'lobby' } })).data).toMatchObject({
        channel: 'lobby',
      });
    const ack = await a.request({ type: 'shout', data: { channel: 'lobby', text: 'hello' } });
    expect(ack.data).toEqual({ delivered: 2 });
    const shout = await b.waitFor((f) => f.type === 'shout');
    expect(shout).toMatchObject({ channel: 'lobby', data: { text: 'HELLO' } });
    expect(typeof (shout.data as { from: unknown }).from).toBe('string');
    const bad = await a.request({ type: 'shout', data: { text: 1 } });
    expect(bad).toMatchObject({ type: 'error', data: { code: 'bad_request' } });

    await a.request({ type: 'subscribe', data: { channel: 'clock' } });
    const tick = await a.waitFor((f) => f.type === 'tick', 3000, 'a clock tick');
    expect(Date.now() - Date.parse((tick.data as { now: string }).now)).toBeLessThan(3000);

    expect(await proc.stop('SIGTERM')).toBe(0);
    expect((await b.waitClose()).code).toBe(1001);
  });
});

const redisMissing = await sharedServiceMissing(SHARED_REDIS);

describe.skipIf(redisMissing !== false)(
  `examples/advanced${redisMissing ? ` (${redisMissing})` : ''}`,
  () => {
    it('puts JWT, tenants, Redis history and presence, rate limits, metrics and traces together', async () => {
      // An OTLP/HTTP collector: the spans the example exports, by name.
      const spans: string[] = [];
      const collector = createServer((req, res) => {
        let body = '';
        req.on('data', (d) => {
          body += d;
        });
        req.on('end', () => {
          if (req.url === '/v1/traces') {
            const json = JSON.parse(body) as {
              resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[];
            };
            for (const r of json.resourceSpans)
              for (const s of r.scopeSpans) for (const x of s.spans) spans.push(x.name);
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
      onCleanup(() => new Promise((r) => collector.close(r)));
      const env = {
        REDIS_KEY_PREFIX: `doc-samples:advanced:${randomUUID()}:`,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        LOG_LEVEL: 'warn',
      };
      const { proc, port } = await startExample(
        [`--env-file=${ADVANCED_ENV}`, 'examples/advanced/index.mjs'],
        env,
      );
      const token = (...args: string[]) =>
        execFileSync(
          process.execPath,
          [`--env-file=${ADVANCED_ENV}`, 'examples/advanced/token.mjs', ...args],
          {
            cwd: REPO_ROOT,
            encoding: 'utf8',
          },
        ).trim();

      // Authentication is required: a bad token is refused, and so is every request before `auth`.
      const anonymous = await connect(port);
      expect(await anonymous.request({ type: 'subscribe', data: { channel: 'room:1' } })).toMatchObject({
        type: 'error',
        data: { code: 'unauthenticated' },
      });
      expect(
        await anonymous.request({ type: 'auth', data: { token: `${token('mallory', 'acme')}x` } }),
      ).toMatchObject({
        type: 'error',
        data: { code: 'auth_failed' },
      });

      const alice = await connect(port, token('alice', 'acme', 'admin'));
      const bob = await connect(port, token('bob', 'acme'));
      const carol = await connect(port, token('carol', 'globex'));
      const sub = await alice.request({ type: 'subscribe', data: { channel: 'room:1' } });
      expect(sub.data).toMatchObject({ channel: 'room:1', subscribers: 1, offset: 0 });
      await bob.request({ type: 'subscribe', data: { channel: 'room:1' } });
      await carol.request({ type: 'subscribe', data: { channel: 'room:1' } });

      // Presence per tenant, with the token's info claim.
      const acme = await bob.request({ type: 'presence', data: { channel: 'room:1' } });
      const members = Object.values(
        (acme.data as { clients: Record<string, { user: string; info: unknown }> }).clients,
      );
      expect(members.map((m) => [m.user, m.info]).sort()).toEqual([
        ['alice', { name: 'alice' }],
        ['bob', { name: 'bob' }],
      ]);
      expect((await carol.request({ type: 'presence_stats', data: { channel: 'room:1' } })).data).toEqual({
        channel: 'room:1',
        num_clients: 1,
        num_users: 1,
      });

      // A publish reaches the tenant's room only, numbered and kept in Redis.
      expect(
        (await alice.request({ type: 'publish', channel: 'room:1', data: { text: 'hi' } })).data,
      ).toEqual({
        channel: 'room:1',
        offset: 1,
      });
      expect(await bob.waitFor((f) => f.type === 'message')).toMatchObject({
        channel: 'room:1',
        data: { text: 'hi' },
        offset: 1,
      });
      const history = await carol.request({ type: 'history', data: { channel: 'room:1', limit: 10 } });
      expect((history.data as { publications: unknown[] }).publications).toEqual([]);
      const acmeHistory = await bob.request({ type: 'history', data: { channel: 'room:1', limit: 10 } });
      expect((acmeHistory.data as { publications: unknown[] }).publications).toEqual([
        { type: 'message', data: { text: 'hi' }, offset: 1 },
      ]);

      // announce: admins only, to their own tenant.
      expect(await bob.request({ type: 'announce', data: { text: 'x' } })).toMatchObject({
        type: 'error',
        data: { code: 'forbidden' },
      });
      expect((await alice.request({ type: 'announce', data: { text: 'at 22:00' } })).data).toEqual({
        delivered: 2,
      });
      expect(await bob.waitFor((f) => f.type === 'announcement')).toMatchObject({
        data: { text: 'at 22:00' },
      });
      await expect(carol.waitFor((f) => f.type === 'announcement', 300)).rejects.toThrow(/timeout/);

      // Rate limits: a burst of 30 frames from one address. Its bucket holds 20 (and every client
      // here shares 127.0.0.1, which has spent some already): at most 20 pass, the rest are refused.
      const before = bob.frames.length;
      for (let i = 0; i < 30; i++) bob.send({ type: 'ping', id: `p${i}` });
      await waitUntil(() => bob.since(before).length >= 30, 5000, 'thirty replies');
      const replies = bob.since(before);
      const pongs = replies.filter((f) => f.type === 'pong').length;
      expect(pongs).toBeLessThanOrEqual(20);
      expect(replies.filter((f) => f.type === 'error').map((f) => (f.data as { code: string }).code)).toEqual(
        Array(30 - pongs).fill('rate_limited'),
      );
      expect(30 - pongs).toBeGreaterThanOrEqual(10);

      // Metrics, per tenant.
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^dotmac_ws_connections\{tenant="acme"\} 2$/m);
      expect(metrics).toMatch(/^dotmac_ws_connections\{tenant="globex"\} 1$/m);

      // Traces: the frames' and the broadcasts' spans reached the collector.
      await waitUntil(
        () =>
          spans.includes('dotmac_ws.broadcast channel') &&
          spans.some((s) => s.startsWith('dotmac_ws.message')),
        10_000,
        `the spans at the collector (have ${JSON.stringify([...new Set(spans)])})`,
      );
      expect(spans).toContain('dotmac_ws.backend.publish');

      expect(await proc.stop('SIGTERM')).toBe(0);
      expect((await alice.waitClose()).code).toBe(1001);
    });
  },
);
