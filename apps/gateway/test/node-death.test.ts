import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type DotmacClient } from '@dotmac-ws/client';
import {
  freePort,
  onCleanup,
  SHARED_NATS,
  SHARED_REDIS,
  sharedServiceMissing,
  sleep,
  startProcess,
  TestClient,
  waitUntil,
} from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runBin, type Started } from './bin-process';
import { startTcpBalancer } from './tcp-balancer';

const API_KEY = 'node-death-api-key-0123456789';
const PRESENCE_TTL_MS = 3000;

/** History and presence on `room:*`, with room for every message of the test in history. */
function rulesFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'dotmac-death-')), 'rules.json');
  writeFileSync(
    file,
    JSON.stringify([
      {
        pattern: 'room:*',
        subscribe: true,
        publish: true,
        history_size: 20000,
        history_ttl_ms: 300000,
        max_recovery_publications: 20000,
        presence: true,
        join_leave: true,
      },
    ]),
  );
  return file;
}

async function ready(port: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`the gateway on ${port} did not become ready`);
}

async function post(
  port: number,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/**
 * A `nats-server -js` of the test's own (JetStream streams and buckets are left on no shared
 * server), storing in a temporary directory; stopped after the test.
 */
async function ownNats(): Promise<string> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'dotmac-death-js-'));
  const server = startProcess('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir]);
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  await server.line((l) => l.includes('Server is ready'), 10_000);
  return `nats://127.0.0.1:${port}`;
}

const BACKENDS = [
  {
    name: 'Redis',
    service: SHARED_REDIS,
    env: async (prefix: string) => ({ BACKEND: 'redis', REDIS_KEY_PREFIX: `${prefix}:` }),
  },
  {
    name: 'NATS',
    service: SHARED_NATS,
    env: async (prefix: string) => ({
      BACKEND: 'nats',
      NATS_URL: await ownNats(),
      NATS_SUBJECT_PREFIX: prefix,
    }),
  },
] as const;

for (const backend of BACKENDS) {
  const missing = await sharedServiceMissing(backend.service);
  describe.skipIf(missing !== false)(`a node dies (SIGKILL), three nodes on ${backend.name}`, () => {
    it('every client ends with every message exactly once, in order; its members leave within the TTL', {
      timeout: 90_000,
    }, async () => {
      const prefix = `death${randomUUID().slice(0, 8)}`;
      const rules = rulesFile();
      const ports = [await freePort(), await freePort(), await freePort()];
      const backendEnv = await backend.env(prefix);
      const nodes: Started[] = ports.map((port, i) =>
        runBin({
          ...backendEnv,
          WS_PORT: String(port),
          NODE_ID: `${prefix}-n${i + 1}`,
          CHANNEL_RULES_FILE: rules,
          API_KEY,
          PRESENCE_TTL_MS: String(PRESENCE_TTL_MS),
          PRESENCE_GRACE_MS: '300',
          ANNOUNCE_INTERVAL_MS: '200',
          LOG_LEVEL: 'error',
        }),
      );
      await Promise.all(ports.map((p) => ready(p)));
      const balancer = await startTcpBalancer(ports);
      const channel = `room:${randomUUID()}`;

      // 30 clients through the balancer: ten on each node.
      const clients: { client: DotmacClient; got: [number, string][]; resyncs: number }[] = [];
      for (let i = 0; i < 30; i++) {
        const client = createClient({
          url: `ws://127.0.0.1:${balancer.port}/ws`,
          WebSocket,
          reconnect: { minDelayMs: 20, maxDelayMs: 300 },
        });
        onCleanup(() => client.close());
        const entry = { client, got: [] as [number, string][], resyncs: 0 };
        const sub = client.subscribe<string>(channel, (data, frame) =>
          entry.got.push([frame.offset as number, data]),
        );
        sub.on('resync', () => entry.resyncs++);
        await sub.ready;
        clients.push(entry);
      }
      expect([...balancer.forwarded.values()]).toEqual([10, 10, 10]);

      // A watcher on the second node sees the members of the first one leave.
      const watcher = await TestClient.open(`ws://127.0.0.1:${ports[1]}/ws`);
      await watcher.welcome();
      await watcher.request({ type: 'subscribe', data: { channel } });
      const before = await post(ports[1]!, '/api/presence', { channel });
      const members = before.body.clients as Record<string, { node: string }>;
      const doomed = Object.entries(members)
        .filter(([, m]) => m.node === `${prefix}-n1`)
        .map(([id]) => id)
        .sort();
      expect(doomed).toHaveLength(10);

      // Publishers on the surviving nodes, through the HTTP API, each message numbered.
      const published: string[] = [];
      let stop = false;
      const publishers = [1, 2].map(async (n) => {
        for (let i = 0; !stop && i < 5000; i++) {
          const data = `p${n}-${i}`;
          const r = await post(ports[n]!, '/api/publish', { channel, type: 'message', data });
          if (r.status === 200) published.push(data);
          if (i % 5 === 0) await sleep(1);
        }
      });
      await waitUntil(() => published.length >= 100, 10_000, '100 publications');
      const info = async () =>
        (
          (await (
            await fetch(`http://127.0.0.1:${ports[2]}/api/info`, {
              headers: { authorization: `Bearer ${API_KEY}` },
            })
          ).json()) as {
            nodes: { node_id: string }[];
          }
        ).nodes
          .map((n) => n.node_id)
          .sort();
      await waitUntil(async () => (await info()).length === 3, 5000, 'three nodes in info');
      const killedAt = Date.now();
      nodes[0]!.child.kill('SIGKILL');
      // The dead node drops out of the cluster's info after three silent announcements.
      await waitUntil(async () => (await info()).length === 2, 5000, 'the dead node dropped from info');
      expect(await info()).toEqual([`${prefix}-n2`, `${prefix}-n3`]);
      await waitUntil(() => published.length >= 400, 20_000, '300 more publications after the kill');
      stop = true;
      await Promise.all(publishers);
      const total = published.length;

      // Every client, wherever it reconnected, ends with offsets 1..total, each message once.
      await waitUntil(() => clients.every((c) => c.got.length >= total), 30_000, 'every client caught up');
      await sleep(300);
      const expected = Array.from({ length: total }, (_, i) => i + 1);
      for (const c of clients) {
        expect(c.got.map(([o]) => o)).toEqual(expected);
        expect(new Set(c.got.map(([, d]) => d))).toEqual(new Set(published));
        expect(c.resyncs).toBe(0);
      }
      // Per publisher, in the order published.
      const order = clients[0]!.got.map(([, d]) => d);
      for (const p of ['p1-', 'p2-']) {
        const seq = order.filter((d) => d.startsWith(p)).map((d) => Number(d.slice(3)));
        expect(seq).toEqual([...seq].sort((a, b) => a - b));
      }
      expect(balancer.forwarded.get(ports[0]!)).toBe(10);

      // The dead node's members are gone within the TTL, each with exactly one leave.
      await waitUntil(
        async () => {
          const now = await post(ports[2]!, '/api/presence', { channel });
          return !Object.values(now.body.clients as Record<string, { node: string }>).some(
            (m) => m.node === `${prefix}-n1`,
          );
        },
        PRESENCE_TTL_MS + 5000,
        "the dead node's members to expire",
      );
      expect(Date.now() - killedAt).toBeLessThan(PRESENCE_TTL_MS + 5000);
      await sleep(PRESENCE_TTL_MS / 2);
      const leaves = watcher.frames
        .filter((f) => f.type === 'leave')
        .map((f) => (f.data as { client: string }).client)
        .filter((id) => doomed.includes(id))
        .sort();
      expect(leaves).toEqual(doomed);
      const stats = await post(ports[1]!, '/api/presence_stats', { channel });
      // 30 clients (10 of them reconnected as new sessions) and the watcher.
      expect(stats.body.num_clients).toBe(31);
    });
  });
}
