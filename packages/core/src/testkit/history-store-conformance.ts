import { randomUUID } from 'node:crypto';
import { onCleanup, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend';
import { BackendUnavailableError } from '../backend-unavailable-error';
import type { HistoryAppend, HistoryStore } from '../history-store';
import { decodePositioned, isPositioned } from '../positioned-payload';

/** The broker side of one history store test; a fresh cluster is made for every test. */
export interface HistoryStoreCluster {
  /** Creates the (not yet started) store of one more node; all of them share one broker. */
  createStore(): HistoryStore | Promise<HistoryStore>;
  /**
   * Creates a (not yet started) backend on the same broker. Needed for stores that fan out: the
   * suite subscribes it to the channel's topic and checks what arrives.
   */
  createBackend?(): Backend | Promise<Backend>;
  /** Stops the broker (with `brokerOutage`). */
  stopBroker?(): Promise<void>;
  /** Starts the broker again after {@link stopBroker}. */
  startBroker?(): Promise<void>;
  /** Releases what the cluster holds; runs after the stores have stopped. */
  close?(): Promise<void>;
}

/** Options of {@link runHistoryStoreConformance}. */
export interface HistoryStoreConformanceOptions {
  /** Names the `describe` block, e.g. `RedisHistoryStore`. */
  name: string;
  /** Makes the cluster of one test. */
  createCluster(needs: { brokerControl: boolean }): HistoryStoreCluster | Promise<HistoryStoreCluster>;
  /** Runs the broker outage test (the cluster must stop and start its broker). @default false */
  brokerOutage?: boolean;
  /** How long an append may take to be answered while the broker is down. @default 5000 */
  outageAnswerMs?: number;
  /** A reason to skip the whole suite, or false to run it. @default false */
  skip?: string | false;
}

/** Every character a channel name may hold, and the tenant prefix (protocol.md, "Channels"). */
const NAMES = [
  'a.b',
  'a:b',
  'a/b',
  'a=b',
  'a@b',
  'a-b',
  'a_b',
  'a*b',
  'a>b',
  'tenant:acme:news',
  'x'.repeat(200),
];

/**
 * Registers the history store conformance suite: the contract of core's `HistoryStore` on a real
 * broker: contiguous offsets across nodes, order per node, trimming to `size`, expiry after
 * `ttlMs`, epochs, `remove`, idempotency keys, reads forwards and backwards with limits, bodies
 * kept byte for byte, channel isolation, fan-out in offset order (stores that fan out) and
 * (with `brokerOutage`) answers while the broker is gone. Call it at the top level of a test file.
 *
 * @example
 * runHistoryStoreConformance({
 *   name: 'MemoryHistoryStore',
 *   createCluster: () => { const store = new MemoryHistoryStore(); return { createStore: () => store } },
 * })
 */
export function runHistoryStoreConformance(options: HistoryStoreConformanceOptions): void {
  const skip = options.skip !== undefined && options.skip !== false;

  async function setup(count: number, needs = { brokerControl: false }) {
    const cluster = await options.createCluster(needs);
    onCleanup(() => cluster.close?.());
    const stores: HistoryStore[] = [];
    for (let i = 0; i < count; i++) {
      const store = await cluster.createStore();
      await store.start();
      onCleanup(() => store.stop());
      stores.push(store);
    }
    return { cluster, stores };
  }

  const channel = (name = 'ch') => `conf:${randomUUID()}:${name}`;
  const body = (text: string) => Buffer.from(text);
  const entry = (ch: string, text: string, extra: Partial<HistoryAppend> = {}): HistoryAppend => ({
    channel: ch,
    body: body(text),
    size: 100,
    ttlMs: 60_000,
    topic: `channel:${ch}`,
    ...extra,
  });
  const texts = (pubs: { body: Buffer }[]) => pubs.map((p) => p.body.toString());

  describe.skipIf(skip)(
    `${options.name}: history store conformance${skip ? ` (skipped: ${options.skip})` : ''}`,
    () => {
      it('a channel never appended to is at offset 0 with an epoch, and reads empty', async () => {
        const { stores } = await setup(1);
        const ch = channel();
        const top = await stores[0]!.top(ch);
        expect(top.offset).toBe(0);
        expect(typeof top.epoch).toBe('string');
        expect(top.epoch.length).toBeGreaterThan(0);
        const read = await stores[0]!.read(ch, { limit: 10 });
        expect(read.publications).toEqual([]);
        expect(read.offset).toBe(0);
      });

      it('offsets start at 1 and grow by exactly 1; bodies come back byte for byte', async () => {
        const { stores } = await setup(1);
        const store = stores[0]!;
        const ch = channel();
        const sent = ['{"a":1}', 'line\nbreak', 'ünïcødé ✓', '', '0 x\n{"v":1}'];
        const results = [];
        for (const t of sent) results.push(await store.append(entry(ch, t)));
        expect(results.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5]);
        expect(new Set(results.map((r) => r.epoch)).size).toBe(1);
        expect(results.every((r) => !r.duplicate)).toBe(true);
        const read = await store.read(ch, { limit: 100 });
        expect(read.offset).toBe(5);
        expect(read.epoch).toBe(results[0]!.epoch);
        expect(read.publications.map((p) => p.offset)).toEqual([1, 2, 3, 4, 5]);
        expect(texts(read.publications)).toEqual(sent);
        expect(await store.top(ch)).toEqual({ offset: 5, epoch: results[0]!.epoch });
      });

      it('reads after an offset, with a limit, and newest first', async () => {
        const { stores } = await setup(1);
        const store = stores[0]!;
        const ch = channel();
        for (let i = 1; i <= 10; i++) await store.append(entry(ch, `m${i}`));
        expect(texts((await store.read(ch, { after: 6, limit: 100 })).publications)).toEqual([
          'm7',
          'm8',
          'm9',
          'm10',
        ]);
        expect(texts((await store.read(ch, { after: 2, limit: 3 })).publications)).toEqual([
          'm3',
          'm4',
          'm5',
        ]);
        expect(texts((await store.read(ch, { reverse: true, limit: 3 })).publications)).toEqual([
          'm10',
          'm9',
          'm8',
        ]);
        expect((await store.read(ch, { after: 10, limit: 5 })).publications).toEqual([]);
        expect((await store.read(ch, { after: 0, limit: 0 })).publications).toEqual([]);
        const ahead = await store.read(ch, { after: 50, limit: 5 });
        expect(ahead.publications).toEqual([]);
        expect(ahead.offset).toBe(10);
      });

      it('keeps only the last `size` publications; the offsets go on', async () => {
        const { stores } = await setup(1);
        const store = stores[0]!;
        const ch = channel();
        for (let i = 1; i <= 8; i++) await store.append(entry(ch, `m${i}`, { size: 3 }));
        const read = await store.read(ch, { limit: 100 });
        expect(read.publications.map((p) => p.offset)).toEqual([6, 7, 8]);
        expect(read.offset).toBe(8);
        // A reader after a trimmed offset sees the hole: the first offset is not after + 1.
        expect((await store.read(ch, { after: 2, limit: 100 })).publications[0]?.offset).toBe(6);
      });

      it('a channel idle for ttlMs reads nothing older', async () => {
        const { stores } = await setup(1);
        const store = stores[0]!;
        const ch = channel();
        const first = await store.append(entry(ch, 'old', { ttlMs: 300 }));
        await sleep(1200);
        const read = await store.read(ch, { limit: 100 });
        expect(read.publications).toEqual([]);
        const next = await store.append(entry(ch, 'new', { ttlMs: 300 }));
        // Either the position survived (offset 2, same epoch) or the stream is new (another epoch).
        if (next.epoch === first.epoch) expect(next.offset).toBe(2);
        else expect(next.offset).toBe(1);
        expect(texts((await store.read(ch, { limit: 100 })).publications)).toEqual(['new']);
      });

      it('remove forgets the channel: a new epoch, offsets from 1', async () => {
        const { stores } = await setup(1);
        const store = stores[0]!;
        const ch = channel();
        const a = await store.append(entry(ch, 'a'));
        await store.append(entry(ch, 'b'));
        await store.remove(ch);
        const top = await store.top(ch);
        expect(top.epoch).not.toBe(a.epoch);
        expect((await store.read(ch, { limit: 10 })).publications).toEqual([]);
        const c = await store.append(entry(ch, 'c'));
        expect(c.offset).toBe(1);
        expect(c.epoch).not.toBe(a.epoch);
        expect(c.epoch).toBe((await store.top(ch)).epoch);
      });

      it('an idempotency key seen before answers the first position and stores nothing', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        const first = await stores[0]!.append(
          entry(ch, 'once', { idempotencyKey: 'k1', idempotencyTtlMs: 120_000 }),
        );
        const again = await stores[1]!.append(
          entry(ch, 'once', { idempotencyKey: 'k1', idempotencyTtlMs: 120_000 }),
        );
        expect(again).toEqual({ offset: first.offset, epoch: first.epoch, duplicate: true });
        const other = await stores[0]!.append(
          entry(ch, 'twice', { idempotencyKey: 'k2', idempotencyTtlMs: 120_000 }),
        );
        expect(other.offset).toBe(first.offset + 1);
        expect(other.duplicate).toBe(false);
        expect(texts((await stores[1]!.read(ch, { limit: 10 })).publications)).toEqual(['once', 'twice']);
        // Keys belong to one channel.
        const elsewhere = await stores[0]!.append(entry(channel('other'), 'x', { idempotencyKey: 'k1' }));
        expect(elsewhere.duplicate).toBe(false);
      });

      it('two nodes appending at once: one contiguous order, each node in call order, one epoch', async () => {
        const { stores } = await setup(2);
        const ch = channel();
        const per = 100;
        const runs = stores.map((store, n) =>
          Promise.all(
            Array.from({ length: per }, (_, i) => store.append(entry(ch, `n${n}-${i}`, { size: 1000 }))),
          ),
        );
        const results = await Promise.all(runs);
        const all = results.flat();
        expect(new Set(all.map((r) => r.epoch)).size).toBe(1);
        expect(all.map((r) => r.offset).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 2 * per }, (_, i) => i + 1),
        );
        for (const r of results) {
          const offsets = r.map((x) => x.offset);
          expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        }
        const read = await stores[1]!.read(ch, { limit: 1000 });
        expect(read.publications.map((p) => p.offset)).toEqual(
          Array.from({ length: 2 * per }, (_, i) => i + 1),
        );
        for (const p of read.publications) {
          const [node, i] = p.body.toString().slice(1).split('-').map(Number);
          expect(results[node!]![i!]!.offset).toBe(p.offset);
        }
      });

      it('channels are kept apart, whatever characters they hold', async () => {
        const { stores } = await setup(1);
        const store = stores[0]!;
        const run = randomUUID();
        for (const name of NAMES) await store.append(entry(`${run}:${name}`, name));
        for (const name of NAMES) {
          const read = await store.read(`${run}:${name}`, { limit: 10 });
          expect(texts(read.publications)).toEqual([name]);
          expect(read.offset).toBe(1);
        }
      });

      it('a store that fans out delivers positioned payloads in offset order on the topic', async (ctx) => {
        const { cluster, stores } = await setup(2);
        if (!stores[0]!.fansOut) {
          ctx.skip();
          return;
        }
        if (cluster.createBackend === undefined) throw new Error('a store that fans out needs createBackend');
        const backend = await cluster.createBackend();
        const got: { offset: number; epoch: string; body: string }[] = [];
        await backend.start((_topic, payload) => {
          if (!isPositioned(payload)) return;
          const { position, body } = decodePositioned(payload);
          got.push({ ...position, body: body.toString() });
        });
        onCleanup(() => backend.stop());
        const ch = channel();
        await backend.subscribe(`channel:${ch}`);
        const results = (
          await Promise.all(
            stores.map((s, n) =>
              Promise.all(Array.from({ length: 50 }, (_, i) => s.append(entry(ch, `n${n}-${i}`)))),
            ),
          )
        ).flat();
        await waitUntil(() => got.length >= 100, 5000, 'every publication on the topic');
        expect(got.map((g) => g.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        expect(new Set(got.map((g) => g.epoch))).toEqual(new Set([results[0]!.epoch]));
        const dup = await stores[0]!.append(entry(ch, 'n0-0', { idempotencyKey: 'same' }));
        await stores[0]!.append(entry(ch, 'n0-0', { idempotencyKey: 'same' }));
        await sleep(200);
        expect(got.filter((g) => g.offset === dup.offset)).toHaveLength(1);
        expect(got).toHaveLength(101);
      });

      it.runIf(options.brokerOutage === true)(
        'while the broker is gone, append, read and top reject with backend_unavailable in time',
        async () => {
          const { cluster, stores } = await setup(1, { brokerControl: true });
          const store = stores[0]!;
          const ch = channel();
          await store.append(entry(ch, 'before'));
          await cluster.stopBroker?.();
          const limit = options.outageAnswerMs ?? 5000;
          for (const op of [
            () => store.append(entry(ch, 'during')),
            () => store.read(ch, { limit: 10 }),
            () => store.top(ch),
          ]) {
            const t0 = Date.now();
            const error = await op().then(
              () => null,
              (e: unknown) => e,
            );
            expect(error).toBeInstanceOf(BackendUnavailableError);
            expect(Date.now() - t0).toBeLessThan(limit);
          }
          await cluster.startBroker?.();
          await waitUntil(
            () =>
              store.append(entry(ch, 'after')).then(
                () => true,
                () => false,
              ),
            15_000,
            'appends accepted again after the broker returned',
          );
        },
      );
    },
  );
}
