import { randomUUID } from 'node:crypto';
import { onCleanup, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { NatsHistoryStore } from '../src/index';
import { entry, historyStores, texts } from './history-stores';
import { SHARED_NATS_URL, sharedNatsMissing } from './shared-nats';

const missing = await sharedNatsMissing();

/** A connection of the test's own, to look at (and write) the stream as it is. */
async function raw() {
  const nc = await connect({ servers: SHARED_NATS_URL });
  onCleanup(() => nc.close());
  return { js: jetstream(nc), jsm: await jetstreamManager(nc, { checkAPI: false }) };
}

type Raw = Awaited<ReturnType<typeof raw>>;

/** The offsets each stored message of `channel` holds, `[first, last]`, in stream order. */
async function layout(r: Raw, store: NatsHistoryStore, channel: string): Promise<[number, number][]> {
  const out: [number, number][] = [];
  const subject = store.subjectOf(channel);
  let seq = 1;
  for (let i = 0; i < 10_000; i++) {
    // (next_by_subj is in the server's API, not in the client's type of a get)
    const query = { seq, next_by_subj: subject };
    const m = await r.jsm.streams.getMessage(store.streamName, query);
    if (m === null) break;
    const last = Number(m.header.get('Dotmac-Offset'));
    const count = m.header.has('Dotmac-Count') ? Number(m.header.get('Dotmac-Count')) : 1;
    out.push([last - count + 1, last]);
    seq = m.seq + 1;
  }
  return out;
}

const offsets = (pubs: { offset: number }[]) => pubs.map((p) => p.offset);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Appends `count` publications to `channel` at once (texts `<channel>#<offset>` when the channel
 * started empty), after letting the store's queue of the channel go idle: the first is sent
 * alone, the others, called while it is in flight, in batches.
 */
async function group(store: NatsHistoryStore, channel: string, sent: string[], count: number, extra = {}) {
  await sleep(0);
  const texts = Array.from({ length: count }, (_, i) => `${channel}#${sent.length + i + 1}`);
  sent.push(...texts);
  return Promise.all(texts.map((t) => store.append(entry(channel, t, extra))));
}

describe.skipIf(missing !== false)(
  `NatsHistoryStore batches${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('appends called while one is in flight go as one message, each answered with its own offset in call order', async () => {
      const [store] = await historyStores(1);
      const r = await raw();
      const ch = `${randomUUID()}:batch`;
      const sent: string[] = [];
      const a = await group(store!, ch, sent, 100);
      expect(offsets(a)).toEqual(range(1, 100));
      expect(new Set(a.map((x) => x.epoch)).size).toBe(1);
      expect(a.every((x) => !x.duplicate)).toBe(true);
      const b = await group(store!, ch, sent, 300);
      expect(offsets(b)).toEqual(range(101, 400));
      // 256 publications per message at most.
      expect(await layout(r, store!, ch)).toEqual([
        [1, 1],
        [2, 100],
        [101, 101],
        [102, 357],
        [358, 400],
      ]);
      const read = await store!.read(ch, { limit: 1000 });
      expect(read.offset).toBe(400);
      expect(offsets(read.publications)).toEqual(range(1, 400));
      expect(texts(read.publications)).toEqual(sent);
      expect(await store!.top(ch)).toEqual({ offset: 400, epoch: a[0]!.epoch });
    });

    it('a batch holds 512 KiB of bodies at most; bodies come back byte for byte', async () => {
      const [store] = await historyStores(1);
      const r = await raw();
      const ch = `${randomUUID()}:big`;
      const bodies = Array.from({ length: 12 }, (_, i) => Buffer.alloc(100 * 1024, i));
      await sleep(0);
      const results = await Promise.all(bodies.map((body) => store!.append({ ...entry(ch, ''), body })));
      expect(offsets(results)).toEqual(range(1, 12));
      expect(await layout(r, store!, ch)).toEqual([
        [1, 1],
        [2, 6],
        [7, 11],
        [12, 12],
      ]);
      const read = await store!.read(ch, { limit: 100 });
      // (Buffer.equals: a deep equality of 1.2 MB takes seconds)
      expect(read.publications.map((p, i) => p.body.equals(bodies[i]!))).toEqual(bodies.map(() => true));
    });

    it('reads start inside a batch, stop inside another, and go newest first, on channels interleaved in the stream', async () => {
      const [store] = await historyStores(1);
      const run = randomUUID();
      const channels = ['a', 'b', 'c'].map((n) => `${run}:${n}`);
      const sent = new Map<string, string[]>(channels.map((c) => [c, []]));
      // Groups of uneven sizes on three channels at once: their messages interleave.
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          channels.map((c, k) => group(store!, c, sent.get(c)!, 1 + ((round * 7 + k * 13) % 23))),
        );
      }
      for (const ch of channels) {
        const all = sent.get(ch)!;
        const top = all.length;
        for (let after = 0; after <= top; after++) {
          const read = await store!.read(ch, { after, limit: 7 });
          expect(read.offset).toBe(top);
          expect(texts(read.publications)).toEqual(all.slice(after, after + 7));
          expect(offsets(read.publications)).toEqual(range(after + 1, Math.min(top, after + 7)));
        }
        // Long reads that stop short of the top cross many batches.
        expect(texts((await store!.read(ch, { after: 3, limit: top - 5 })).publications)).toEqual(
          all.slice(3, top - 2),
        );
        for (const limit of [1, 2, 5, 30, top, top + 10]) {
          const read = await store!.read(ch, { reverse: true, limit });
          expect(texts(read.publications)).toEqual(all.slice(-limit).reverse());
        }
      }
    });

    it('trims to `size` publications across batches: messages holding only older ones are purged', async () => {
      const [store] = await historyStores(1);
      const r = await raw();
      const ch = `${randomUUID()}:trim`;
      const sent: string[] = [];
      const size = { size: 60 };
      await group(store!, ch, sent, 100, size);
      await group(store!, ch, sent, 30, size);
      // At 130 (past 120, a multiple of 60 / 4) the oldest kept is 71, in [2, 100]: [1] goes.
      await waitUntil(async () => (await layout(r, store!, ch))[0]?.[0] === 2, 3000, 'the trim');
      expect(await layout(r, store!, ch)).toEqual([
        [2, 100],
        [101, 101],
        [102, 130],
      ]);
      await group(store!, ch, sent, 200, size);
      // At 330 the oldest kept is 271, in [132, 330]: everything before it goes.
      await waitUntil(async () => (await layout(r, store!, ch)).length === 1, 3000, 'the second trim');
      expect(await layout(r, store!, ch)).toEqual([[132, 330]]);
      // Reads return the last 60 only, though the message holds more.
      const read = await store!.read(ch, { limit: 1000 });
      expect(offsets(read.publications)).toEqual(range(271, 330));
      expect(texts(read.publications)).toEqual(sent.slice(270));
      expect(texts((await store!.read(ch, { after: 10, limit: 3 })).publications)).toEqual(
        sent.slice(270, 273),
      );
      expect(texts((await store!.read(ch, { after: 280, limit: 5 })).publications)).toEqual(
        sent.slice(280, 285),
      );
    });

    it('a quiet channel (one publication per message) keeps its last `size` messages, also after another node appended', async () => {
      const [a, b] = await historyStores(2);
      const r = await raw();
      const ch = `${randomUUID()}:trim-quiet`;
      const sent: string[] = [];
      const size = { size: 20 };
      await group(a!, ch, sent, 30, size);
      await waitUntil(async () => (await layout(r, a!, ch))[0]?.[0] === 2, 3000, 'the first trim');
      for (let i = 31; i <= 40; i++) await b!.append(entry(ch, `b${i}`, size));
      // A's remembered last message is stale: it reads the last one again and knows nothing of
      // the messages before it; they hold one publication each, so at 50 it keeps 20 messages.
      for (let i = 41; i <= 50; i++) expect((await a!.append(entry(ch, `a${i}`, size))).offset).toBe(i);
      await waitUntil(async () => (await layout(r, a!, ch))[0]?.[0] === 31, 3000, 'the trim by count');
      expect(await layout(r, a!, ch)).toEqual(range(31, 50).map((o) => [o, o]));
      expect(offsets((await b!.read(ch, { limit: 100 })).publications)).toEqual(range(31, 50));
    });

    it('trims by a search when the oldest kept offset is in messages of another node and batches follow', async () => {
      const [a, b] = await historyStores(2);
      const r = await raw();
      const ch = `${randomUUID()}:trim-search`;
      const sent: string[] = [];
      const size = { size: 25 };
      await group(a!, ch, sent, 30, size);
      await waitUntil(async () => (await layout(r, a!, ch))[0]?.[0] === 2, 3000, 'the first trim');
      for (let i = 31; i <= 40; i++) await b!.append(entry(ch, `b${i}`, size));
      // A reads the last message again ([40]) and then knows [40], [41] and its batch [42, 57]
      // only; the oldest kept offset at 57 is 33, in B's messages.
      const results = await group(a!, ch, sent, 17, size);
      expect(offsets(results)).toEqual(range(41, 57));
      await waitUntil(async () => (await layout(r, a!, ch))[0]?.[0] === 33, 3000, 'the trim by a search');
      expect(await layout(r, a!, ch)).toEqual([...range(33, 41).map((o) => [o, o]), [42, 57]]);
      expect(offsets((await b!.read(ch, { limit: 100 })).publications)).toEqual(range(33, 57));
    });

    it('reads messages written before batches existed, followed by batches', async () => {
      const [store] = await historyStores(1);
      const r = await raw();
      const ch = `${randomUUID()}:old`;
      const subject = store!.subjectOf(ch);
      // What the version before batches stored: one publication per message, no count.
      const sent: string[] = [];
      for (let offset = 1; offset <= 3; offset++) {
        const h = headers();
        h.set('Dotmac-Offset', String(offset));
        h.set('Dotmac-Epoch', 'old-epoch');
        h.set('Dotmac-Since', '1');
        h.set('Dotmac-Size', '1000');
        h.set('Dotmac-Ttl', '60000');
        sent.push(`old${offset}`);
        await r.js.publish(subject, Buffer.from(`old${offset}`), { headers: h });
      }
      const results = await group(store!, ch, sent, 50);
      expect(offsets(results)).toEqual(range(4, 53));
      expect(results.every((x) => x.epoch === 'old-epoch')).toBe(true);
      expect(await layout(r, store!, ch)).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 53],
      ]);
      expect(texts((await store!.read(ch, { limit: 100 })).publications)).toEqual(sent);
      for (let after = 0; after <= 10; after++) {
        expect(texts((await store!.read(ch, { after, limit: 4 })).publications)).toEqual(
          sent.slice(after, after + 4),
        );
      }
      expect(texts((await store!.read(ch, { reverse: true, limit: 52 })).publications)).toEqual(
        sent.slice(1).reverse(),
      );
    });

    it('an append with an idempotency key goes in a message of its own; the others keep call order', async () => {
      const [store] = await historyStores(1);
      const r = await raw();
      const ch = `${randomUUID()}:keys`;
      const k = { idempotencyKey: 'k', idempotencyTtlMs: 120_000 };
      await sleep(0);
      const results = await Promise.all([
        store!.append(entry(ch, 'p1')),
        store!.append(entry(ch, 'p2')),
        store!.append(entry(ch, 'k1', k)),
        store!.append(entry(ch, 'p3')),
        store!.append(entry(ch, 'k1 again', k)),
        store!.append(entry(ch, 'p4')),
      ]);
      const epoch = results[0]!.epoch;
      expect(results).toEqual([
        { offset: 1, epoch, duplicate: false },
        { offset: 2, epoch, duplicate: false },
        { offset: 3, epoch, duplicate: false },
        { offset: 4, epoch, duplicate: false },
        { offset: 3, epoch, duplicate: true },
        { offset: 5, epoch, duplicate: false },
      ]);
      expect(await layout(r, store!, ch)).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 5],
      ]);
      expect(texts((await store!.read(ch, { limit: 10 })).publications)).toEqual([
        'p1',
        'p2',
        'k1',
        'p3',
        'p4',
      ]);
    });

    it('appends called after remove go to the new epoch, those before it to the old one', async () => {
      const [store] = await historyStores(1);
      const ch = `${randomUUID()}:remove`;
      await sleep(0);
      const before = [store!.append(entry(ch, 'a')), store!.append(entry(ch, 'b'))];
      const removed = store!.remove(ch);
      const after = [store!.append(entry(ch, 'c')), store!.append(entry(ch, 'd'))];
      const [a, b] = await Promise.all(before);
      await removed;
      const [c, d] = await Promise.all(after);
      expect([a!.offset, b!.offset, c!.offset, d!.offset]).toEqual([1, 2, 1, 2]);
      expect(b!.epoch).toBe(a!.epoch);
      expect(c!.epoch).not.toBe(a!.epoch);
      expect(d!.epoch).toBe(c!.epoch);
      const read = await store!.read(ch, { limit: 10 });
      expect(texts(read.publications)).toEqual(['c', 'd']);
      expect(read.epoch).toBe(c!.epoch);
    });
  },
);
