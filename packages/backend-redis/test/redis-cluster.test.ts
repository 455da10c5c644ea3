import { BackendUnavailableError, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import type { ConformanceCluster } from '@dotmac-ws/core/testkit';
import { runBackendConformance } from '@dotmac-ws/core/testkit';
import { onCleanup, sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { RedisBackend } from '../src/index';
import { clusterForFile, RedisClusterProcesses, redisBinariesMissing } from './redis-process';
import { uniquePrefix } from './shared-redis';

const skip = await redisBinariesMissing();

// One 3-master cluster (no replicas) for every test of this file.
const cluster = clusterForFile(skip);

/** Subscriptions of `channel` summed over every node (pub/sub counts are node-local). */
async function clusterSubscribers(
  c: RedisClusterProcesses,
  channel: string,
  sharded: boolean,
): Promise<number> {
  let total = 0;
  for (const n of c.nodes) {
    const reply = (await c.command(n.port, ['PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', channel])) as [
      string,
      number,
    ];
    total += Number(reply[1]);
  }
  return total;
}

for (const sharded of [true, false]) {
  runBackendConformance({
    name: `RedisBackend on a 3-master Redis Cluster, ${sharded ? 'sharded' : 'classic'} pub/sub`,
    skip,
    createCluster: (): ConformanceCluster => {
      const c = cluster();
      const keyPrefix = uniquePrefix();
      return {
        createBackend: () => new RedisBackend({ clusterNodes: c.seeds, sharded, keyPrefix }),
        subscriberCount: (topic) => clusterSubscribers(c, `${keyPrefix}${topic}`, sharded),
      };
    },
  });
}

describe.skipIf(skip !== false)('RedisBackend on a Redis Cluster with replicas', () => {
  it('keeps delivering across nodes after the master of a channel fails over to its replica', async () => {
    const c = await RedisClusterProcesses.start(1);
    onCleanup(() => c.destroy());
    const keyPrefix = uniquePrefix();
    const nodes: WebSocketGateway[] = [];
    for (let i = 0; i < 2; i++) {
      const gw = new WebSocketGateway({
        port: 0,
        host: '127.0.0.1',
        logger: silentLogger,
        backend: new RedisBackend({ clusterNodes: c.seeds, sharded: true, keyPrefix }),
      });
      await gw.start();
      onCleanup(() => gw.stop());
      nodes.push(gw);
    }
    const [a, b] = nodes as [WebSocketGateway, WebSocketGateway];
    const client = await TestClient.open(`ws://127.0.0.1:${b.address()!.port}/ws`);
    expect(await client.request({ type: 'subscribe', channel: 'failover' })).toMatchObject({ type: 'ack' });
    await a.broadcastToChannel('failover', 'ev', { seq: 0 });
    await client.waitFor((f) => f.type === 'ev', 3000, 'the first delivery');

    // The master that owns the channel's slot: kill it.
    const channel = `${keyPrefix}channel:failover`;
    const slot = Number(await c.command(c.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', channel]));
    const slots = (await c.command(c.nodes[0]!.port, ['CLUSTER', 'SLOTS'])) as [
      number,
      number,
      [string, number],
    ][];
    const owner = slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
    await c.nodes.find((n) => n.port === owner)!.kill();

    // Publish until a message gets through again: the replica took over, B resubscribed there.
    const failedAt = Date.now();
    let seq = 0;
    for (; seq < 600; seq++) {
      // Refused (backend_unavailable) while no master owns the slot.
      await a.broadcastToChannel('failover', 'ev', { seq: seq + 1 }).catch((error: unknown) => {
        if (!(error instanceof BackendUnavailableError)) throw error;
      });
      await sleep(50);
      if (client.frames.some((f) => f.type === 'ev' && (f.data as { seq: number }).seq > 0)) break;
    }
    const recoveredMs = Date.now() - failedAt;
    expect(recoveredMs).toBeLessThan(25_000);
    const promoted = (await c.command(c.nodes.find((n) => n.port !== owner)!.port, ['CLUSTER', 'SLOTS'])) as [
      number,
      number,
      [string, number],
    ][];
    expect(promoted.find(([from, to]) => slot >= from && slot <= to)![2][1]).not.toBe(owner);
    await waitUntil(async () => (await a.healthCheck()).status === 'healthy', 10_000, 'A healthy again');
    // Messages in order after the failover.
    const mark = client.frames.length;
    const after: Promise<number>[] = [];
    for (let i = 0; i < 50; i++) after.push(a.broadcastToChannel('failover', 'after', { seq: i }));
    await Promise.all(after);
    await waitUntil(
      () => client.since(mark).filter((f) => f.type === 'after').length === 50,
      5000,
      '50 messages',
    );
    expect(client.since(mark).map((f) => (f.data as { seq: number }).seq)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
  }, 60_000);
});
