import { randomUUID } from 'node:crypto';
import { onCleanup, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../backend-unavailable-error';
import type { PresenceMember, PresenceStore } from '../presence-store';

/** The broker side of one presence store test; a fresh cluster is made for every test. */
export interface PresenceStoreCluster {
  /** Creates the (not yet started) store of one more node; all of them share one broker. */
  createStore(): PresenceStore | Promise<PresenceStore>;
  /** Stops the broker (with `brokerOutage`). */
  stopBroker?(): Promise<void>;
  /** Starts the broker again after {@link stopBroker}. */
  startBroker?(): Promise<void>;
  /** Releases what the cluster holds; runs after the stores have stopped. */
  close?(): Promise<void>;
}

/** Options of {@link runPresenceStoreConformance}. */
export interface PresenceStoreConformanceOptions {
  /** Names the `describe` block, e.g. `RedisPresenceStore`. */
  name: string;
  /** Makes the cluster of one test. */
  createCluster(needs: { brokerControl: boolean }): PresenceStoreCluster | Promise<PresenceStoreCluster>;
  /**
   * The shortest member TTL the store honours to within {@link ttlSlackMs}; the expiry tests use
   * it. @default 500
   */
  shortTtlMs?: number;
  /** How late past its TTL a member may still be listed. @default 1000 */
  ttlSlackMs?: number;
  /** Runs the broker outage test. @default false */
  brokerOutage?: boolean;
  /** A reason to skip the whole suite, or false to run it. @default false */
  skip?: string | false;
}

/**
 * Registers the presence store conformance suite: the contract of core's `PresenceStore` on a
 * real broker: members listed and counted on every node, distinct users, refresh, the member
 * limit, expiry of members whose node stopped refreshing (no ghosts), prune handing each expired
 * member to exactly one node, info kept as given, channel isolation, and (with `brokerOutage`)
 * answers while the broker is gone. Call it at the top level of a test file.
 *
 * @example
 * runPresenceStoreConformance({
 *   name: 'MemoryPresenceStore',
 *   createCluster: () => { const store = new MemoryPresenceStore(); return { createStore: () => store } },
 * })
 */
export function runPresenceStoreConformance(options: PresenceStoreConformanceOptions): void {
  const skip = options.skip !== undefined && options.skip !== false;
  const shortTtl = options.shortTtlMs ?? 500;
  const slack = options.ttlSlackMs ?? 1000;
  const LONG = 60_000;

  async function setup(count: number, needs = { brokerControl: false }) {
    const cluster = await options.createCluster(needs);
    onCleanup(() => cluster.close?.());
    const stores: PresenceStore[] = [];
    for (let i = 0; i < count; i++) {
      const store = await cluster.createStore();
      await store.start();
      onCleanup(() => store.stop());
      stores.push(store);
    }
    return { cluster, stores };
  }

  const channel = (name = 'room') => `conf:${randomUUID()}:${name}`;
  const member = (client: string, user: string | null, node = 'n1', info?: unknown): PresenceMember => ({
    client,
    user,
    node,
    joinedAt: 1_700_000_000_000,
    ...(info === undefined ? {} : { info }),
  });

  describe.skipIf(skip)(
    `${options.name}: presence store conformance${skip ? ` (skipped: ${options.skip})` : ''}`,
    () => {
      it('members added on one node are listed and counted on every node, as given', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        const info = { name: 'Ann', tags: ['a', 'b'], nested: { n: 1, ok: true, none: null } };
        expect(await stores[0]!.add(ch, member('s1', 'ann', 'n1', info), LONG, 100)).toBe('added');
        expect(await stores[1]!.add(ch, member('s2', 'ann', 'n2'), LONG, 100)).toBe('added');
        expect(await stores[1]!.add(ch, member('s3', 'bob', 'n2'), LONG, 100)).toBe('added');
        expect(await stores[0]!.add(ch, member('s4', null, 'n1'), LONG, 100)).toBe('added');
        for (const store of stores) {
          const list = await store.list(ch);
          expect(list).toEqual({
            s1: member('s1', 'ann', 'n1', info),
            s2: member('s2', 'ann', 'n2'),
            s3: member('s3', 'bob', 'n2'),
            s4: member('s4', null, 'n1'),
          });
          // Four sessions; ann, bob and one anonymous session.
          expect(await store.stats(ch)).toEqual({ numClients: 4, numUsers: 3 });
        }
      });

      it('an empty channel lists nothing and counts zero', async () => {
        const { stores } = await setup(1);
        const ch = channel();
        expect(await stores[0]!.list(ch)).toEqual({});
        expect(await stores[0]!.stats(ch)).toEqual({ numClients: 0, numUsers: 0 });
        expect(await stores[0]!.prune(ch)).toEqual([]);
      });

      it('adding a live member again refreshes it; remove answers whether it was there', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        expect(await stores[0]!.add(ch, member('s1', 'ann'), LONG, 10)).toBe('added');
        expect(await stores[1]!.add(ch, member('s1', 'ann'), LONG, 10)).toBe('refreshed');
        expect(await stores[1]!.stats(ch)).toEqual({ numClients: 1, numUsers: 1 });
        expect(await stores[1]!.remove(ch, 's1')).toBe(true);
        expect(await stores[0]!.remove(ch, 's1')).toBe(false);
        expect(await stores[0]!.list(ch)).toEqual({});
      });

      it('a channel at `max` refuses new members, not the ones it holds', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        for (let i = 0; i < 3; i++)
          expect(await stores[i % 2]!.add(ch, member(`s${i}`, `u${i}`), LONG, 3)).toBe('added');
        expect(await stores[0]!.add(ch, member('s9', 'u9'), LONG, 3)).toBe('full');
        expect(await stores[1]!.add(ch, member('s1', 'u1'), LONG, 3)).toBe('refreshed');
        expect(await stores[0]!.stats(ch)).toEqual({ numClients: 3, numUsers: 3 });
        await stores[1]!.remove(ch, 's0');
        expect(await stores[0]!.add(ch, member('s9', 'u9'), LONG, 3)).toBe('added');
      });

      it('concurrent adds never overshoot `max`', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => stores[i % 2]!.add(ch, member(`s${i}`, `u${i}`), LONG, 10)),
        );
        expect(results.filter((r) => r === 'added')).toHaveLength(10);
        expect(results.filter((r) => r === 'full')).toHaveLength(30);
        expect((await stores[0]!.stats(ch)).numClients).toBe(10);
      });

      it('a member not refreshed within its TTL is gone everywhere (no ghosts); refreshed ones stay', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        await stores[0]!.add(ch, member('dead', 'd', 'n-dead'), shortTtl, 100);
        await stores[1]!.add(ch, member('alive', 'a', 'n2'), shortTtl, 100);
        const t0 = Date.now();
        const refresher = setInterval(
          () => void stores[1]!.refresh(ch, ['alive'], shortTtl).catch(() => {}),
          shortTtl / 4,
        );
        onCleanup(() => clearInterval(refresher));
        await waitUntil(
          async () => !('dead' in (await stores[1]!.list(ch))),
          shortTtl + slack + 2000,
          'the unrefreshed member to expire',
        );
        expect(Date.now() - t0).toBeLessThan(shortTtl + slack + 500);
        for (const store of stores) {
          expect(Object.keys(await store.list(ch))).toEqual(['alive']);
          expect(await store.stats(ch)).toEqual({ numClients: 1, numUsers: 1 });
        }
        clearInterval(refresher);
      });

      it('prune hands each expired member to exactly one node', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        for (let i = 0; i < 20; i++) await stores[0]!.add(ch, member(`s${i}`, `u${i}`), shortTtl, 100);
        await stores[0]!.add(ch, member('keep', 'k'), LONG, 100);
        await sleep(shortTtl + slack);
        const pruned = (await Promise.all([...stores, ...stores].map((s) => s.prune(ch)))).flat();
        expect(pruned.map((m) => m.client).sort()).toEqual(
          Array.from({ length: 20 }, (_, i) => `s${i}`).sort(),
        );
        expect(pruned.find((m) => m.client === 's3')).toEqual(member('s3', 'u3'));
        expect(Object.keys(await stores[1]!.list(ch))).toEqual(['keep']);
        expect(await stores[1]!.prune(ch)).toEqual([]);
      });

      it('channels are kept apart', async () => {
        const { stores } = await setup(1);
        const run = randomUUID();
        const names = ['a.b', 'a:b', 'a*b', 'a>b', 'tenant:acme:room'];
        for (const n of names) await stores[0]!.add(`${run}:${n}`, member(n, n), LONG, 10);
        for (const n of names) expect(Object.keys(await stores[0]!.list(`${run}:${n}`))).toEqual([n]);
      });

      it('holds a large channel: 2000 members listed and counted', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        // 2000 joins, 500 at a time over two nodes (a storm a loaded CI machine answers in time).
        for (let from = 0; from < 2000; from += 500) {
          await Promise.all(
            Array.from({ length: 500 }, (_, k) =>
              stores[(from + k) % 2]!.add(ch, member(`s${from + k}`, `u${(from + k) % 500}`), LONG, 5000),
            ),
          );
        }
        expect(Object.keys(await stores[0]!.list(ch))).toHaveLength(2000);
        expect(await stores[1]!.stats(ch)).toEqual({ numClients: 2000, numUsers: 500 });
        await stores[1]!.refresh(
          ch,
          Array.from({ length: 2000 }, (_, i) => `s${i}`),
          LONG,
        );
      });

      it.runIf(options.brokerOutage === true)(
        'while the broker is gone, calls reject with backend_unavailable',
        async () => {
          const { cluster, stores } = await setup(1, { brokerControl: true });
          const ch = channel();
          await stores[0]!.add(ch, member('s1', 'u1'), LONG, 10);
          await cluster.stopBroker?.();
          for (const op of [
            () => stores[0]!.list(ch),
            () => stores[0]!.add(ch, member('s2', 'u2'), LONG, 10),
          ]) {
            const t0 = Date.now();
            const error = await (op() as Promise<unknown>).then(
              () => null,
              (e: unknown) => e,
            );
            expect(error).toBeInstanceOf(BackendUnavailableError);
            expect(Date.now() - t0).toBeLessThan(5000);
          }
          await cluster.startBroker?.();
          await waitUntil(
            () =>
              stores[0]!.stats(ch).then(
                () => true,
                () => false,
              ),
            15_000,
            'calls answered again',
          );
        },
      );
    },
  );
}
