import type { HistoryStoreCluster, PresenceStoreCluster } from '@dotmac-ws/core/testkit';
import { runHistoryStoreConformance, runPresenceStoreConformance } from '@dotmac-ws/core/testkit';
import { onCleanup } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { RedisBackend, RedisHistoryStore, RedisPresenceStore } from '../src/index';
import { APPEND_SCRIPT } from '../src/redis-history-scripts';
import { clusterForFile, type RedisClusterProcesses, redisBinariesMissing } from './redis-process';
import { uniquePrefix } from './shared-redis';

const skip = await redisBinariesMissing();

// One 3-master cluster (no replicas) for every test of this file.
const cluster = clusterForFile(skip);

for (const sharded of [true, false]) {
  runHistoryStoreConformance({
    name: `RedisHistoryStore on a 3-master Redis Cluster, ${sharded ? 'sharded' : 'classic'} pub/sub`,
    skip,
    createCluster: (): HistoryStoreCluster => {
      const options = { clusterNodes: cluster().seeds, sharded, keyPrefix: uniquePrefix() };
      return {
        createStore: () => new RedisHistoryStore(options),
        createBackend: () => new RedisBackend(options),
      };
    },
  });
}

runPresenceStoreConformance({
  name: 'RedisPresenceStore on a 3-master Redis Cluster',
  skip,
  createCluster: (): PresenceStoreCluster => {
    const options = { clusterNodes: cluster().seeds, keyPrefix: uniquePrefix() };
    return { createStore: () => new RedisPresenceStore(options) };
  },
});

describe.skipIf(skip !== false)('Redis stores on a Redis Cluster: key layout', () => {
  it('keeps every key of a channel in the slot of its sharded pub/sub channel', async () => {
    const c = cluster();
    const keyPrefix = uniquePrefix();
    const slot = async (name: string) =>
      Number(await c.command(c.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', name]));
    const slots = new Set<number>();
    for (const channel of ['news', 'a.b', 'tenant:acme:room', 'a/b=c@d', 'x'.repeat(200)]) {
      const pubsub = `${keyPrefix}channel:${channel}`;
      const tag = `{${pubsub}}`;
      const expected = await slot(pubsub);
      slots.add(expected);
      for (const key of [
        `${tag}:history:meta`,
        `${tag}:history:stream`,
        `${tag}:history:idem:{any}key`,
        `${tag}:presence:expiry`,
        `${tag}:presence:members`,
      ]) {
        expect(await slot(key)).toBe(expected);
      }
    }
    // The tag is the channel, not something all channels share: they spread over slots.
    expect(slots.size).toBe(5);

    // And these are the keys the stores write: both reach them on the master of that slot.
    const history = new RedisHistoryStore({ clusterNodes: c.seeds, sharded: true, keyPrefix });
    const presence = new RedisPresenceStore({ clusterNodes: c.seeds, keyPrefix });
    await history.start();
    onCleanup(() => history.stop());
    await presence.start();
    onCleanup(() => presence.stop());
    await history.append({
      channel: 'news',
      body: Buffer.from('x'),
      size: 10,
      ttlMs: 60_000,
      topic: 'channel:news',
      idempotencyKey: 'k',
    });
    await presence.add('news', { client: 's1', user: 'u1', node: 'n1', joinedAt: 1 }, 60_000, 10);
    const tag = `{${keyPrefix}channel:news}`;
    const owner = await ownerOf(c, await slot(`${keyPrefix}channel:news`));
    for (const key of [
      `${tag}:history:meta`,
      `${tag}:history:stream`,
      `${tag}:history:idem:k`,
      `${tag}:presence:expiry`,
      `${tag}:presence:members`,
    ]) {
      expect(await c.command(owner, ['EXISTS', key])).toBe(1);
    }
  });
});

describe.skipIf(skip !== false)('Redis stores on a Redis Cluster: scripts', () => {
  it('loads a script on every master before its first call, so that no call is answered NOSCRIPT', async () => {
    const c = cluster();
    // Three masters, no replicas: every node is a master. A new store meets none with the script.
    for (const n of c.nodes) await c.command(n.port, ['SCRIPT', 'FLUSH']);
    const history = new RedisHistoryStore({
      clusterNodes: c.seeds,
      sharded: true,
      keyPrefix: uniquePrefix(),
    });
    await history.start();
    onCleanup(() => history.stop());
    const exists = () =>
      Promise.all(
        c.nodes.map(
          async (n) => (await c.command(n.port, ['SCRIPT', 'EXISTS', APPEND_SCRIPT.sha])) as number[],
        ),
      );
    expect(await exists()).toEqual([[0], [0], [0]]);
    // One node's burst on one channel while another node's EVAL could load the script midway:
    // with every master loaded first, offsets follow call order.
    const other = new RedisHistoryStore({ clusterNodes: c.seeds, sharded: true, keyPrefix: uniquePrefix() });
    await other.start();
    onCleanup(() => other.stop());
    const append = (store: RedisHistoryStore, channel: string, i: number) =>
      store.append({
        channel,
        body: Buffer.from(String(i)),
        size: 100,
        ttlMs: 60_000,
        topic: `channel:${channel}`,
      });
    const [mine] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, (_, i) => append(history, 'burst', i))),
      Promise.all(Array.from({ length: 50 }, (_, i) => append(other, 'burst', i))),
    ]);
    expect(mine.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await exists()).toEqual([[1], [1], [1]]);
  });
});

/** The port of the master that serves `slot`. */
async function ownerOf(c: RedisClusterProcesses, slot: number): Promise<number> {
  const slots = (await c.command(c.nodes[0]!.port, ['CLUSTER', 'SLOTS'])) as [
    number,
    number,
    [string, number],
  ][];
  return slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
}
