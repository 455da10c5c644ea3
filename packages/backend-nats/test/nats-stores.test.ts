import { randomUUID } from 'node:crypto';
import type { PresenceMember } from '@dotmac-ws/core';
import { onCleanup, sleep } from '@dotmac-ws/test-utils';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { encodeToken, NatsPresenceStore } from '../src/index';
import { entry, historyStores, texts } from './history-stores';
import { deleteStreams } from './jetstream-cleanup';
import { SHARED_NATS_URL, sharedNatsMissing, uniquePrefix } from './shared-nats';

const missing = await sharedNatsMissing();

describe.skipIf(missing !== false)(
  `NATS stores beyond the conformance suites${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('history reads find any offset of a channel whose publications are spread among other channels', async () => {
      const [store] = await historyStores(1);
      const run = randomUUID();
      const channels = ['a', 'b', 'c'].map((n) => `${run}:${n}`);
      // An irregular interleaving: the stream sequence of an offset is nowhere near it.
      const sent = new Map<string, string[]>(channels.map((c) => [c, []]));
      for (let i = 0; i < 90; i++) {
        const ch = channels[(i * i + (i >> 2)) % 3]!;
        const list = sent.get(ch)!;
        list.push(`${ch}#${list.length + 1}`);
        await store!.append(entry(ch, list.at(-1)!, { size: 20 }));
      }
      for (const ch of channels) {
        const all = sent.get(ch)!;
        const top = all.length;
        // Kept: the last 20 (trimmed to about `size` as it went).
        const kept = all.slice(-20);
        expect(texts((await store!.read(ch, { limit: 100 })).publications)).toEqual(kept);
        for (let after = 0; after <= top; after++) {
          const read = await store!.read(ch, { after, limit: 4 });
          const first = Math.max(after, top - 20);
          expect(texts(read.publications)).toEqual(all.slice(first, first + 4));
          expect(read.offset).toBe(top);
        }
        expect(texts((await store!.read(ch, { reverse: true, limit: 5 })).publications)).toEqual(
          all.slice(-5).reverse(),
        );
      }
    });

    it('history survives losing its stream and bucket: the channel starts again at 1 in another epoch', async () => {
      const [store] = await historyStores(1);
      const ch = `${randomUUID()}:lost`;
      const first = await store!.append(entry(ch, 'a'));
      await store!.append(entry(ch, 'b'));
      await deleteStreams(SHARED_NATS_URL, [store!.streamName, `KV_${store!.epochBucket}`]);
      const again = await store!.append(entry(ch, 'c'));
      expect(again.offset).toBe(1);
      expect(again.epoch).not.toBe(first.epoch);
      expect(texts((await store!.read(ch, { limit: 10 })).publications)).toEqual(['c']);
    });

    it("an idempotency key is one channel's and one epoch's: after remove it stores again", async () => {
      const [a, b] = await historyStores(2);
      const ch = `${randomUUID()}:idem`;
      const key = { idempotencyKey: 'k', idempotencyTtlMs: 120_000 };
      const first = await a!.append({ ...entry(ch, 'x'), ...key });
      expect(await b!.append({ ...entry(ch, 'x'), ...key })).toEqual({ ...first, duplicate: true });
      await b!.remove(ch);
      const after = await a!.append({ ...entry(ch, 'x'), ...key });
      expect(after.duplicate).toBe(false);
      expect(after.offset).toBe(1);
    });

    describe('presence member limit', () => {
      const member = (client: string): PresenceMember => ({ client, user: client, node: 'n1', joinedAt: 1 });

      async function presence(count: number) {
        const subjectPrefix = uniquePrefix();
        const stores: NatsPresenceStore[] = [];
        for (let i = 0; i < count; i++) {
          const s = new NatsPresenceStore({ servers: SHARED_NATS_URL, subjectPrefix });
          await s.start();
          stores.push(s);
        }
        onCleanup(() => deleteStreams(SHARED_NATS_URL, [`KV_${stores[0]!.bucket}`]));
        for (const s of stores) onCleanup(() => s.stop());
        return stores;
      }

      it('members that expired give their place back, pruned or not; prune still returns them once', async () => {
        const [s1, s2] = await presence(2);
        const ch = `${randomUUID()}:room`;
        expect(await s1!.add(ch, member('a'), 300, 2)).toBe('added');
        expect(await s2!.add(ch, member('b'), 300, 2)).toBe('added');
        expect(await s1!.add(ch, member('c'), 60_000, 2)).toBe('full');
        await sleep(400);
        // Nobody pruned: the limit counts live members only.
        expect(await s2!.add(ch, member('c'), 60_000, 2)).toBe('added');
        expect(await s1!.add(ch, member('d'), 60_000, 2)).toBe('added');
        expect(await s2!.add(ch, member('e'), 60_000, 2)).toBe('full');
        const pruned = (await Promise.all([s1!.prune(ch), s2!.prune(ch)])).flat();
        expect(pruned.map((m) => m.client).sort()).toEqual(['a', 'b']);
        // Pruning gives back no place the recount had already given back.
        expect(await s2!.add(ch, member('e'), 60_000, 2)).toBe('full');
        expect(await s1!.stats(ch)).toEqual({ numClients: 2, numUsers: 2 });
        expect(await s1!.remove(ch, 'c')).toBe(true);
        expect(await s2!.add(ch, member('e'), 60_000, 2)).toBe('added');
        expect(await s2!.add(ch, member('f'), 60_000, 2)).toBe('full');
      });

      it('pending keys of adds in flight elsewhere do not fill a channel that has no counter yet', async () => {
        const [store] = await presence(1);
        const ch = `${randomUUID()}:room`;
        // What another node's 20 adds leave while they wait for their first counter round: pending keys.
        const nc = await connect({ servers: SHARED_NATS_URL });
        onCleanup(() => nc.close());
        const kv = await new Kvm(nc).open(store!.bucket);
        for (let i = 0; i < 20; i++) {
          const pending = { c: `p${i}`, u: `p${i}`, n: 'n2', j: 1, x: Date.now() + 60_000, p: 1 };
          await kv.create(`m.${encodeToken(ch)}.${encodeToken(`p${i}`)}`, JSON.stringify(pending));
        }
        // None of them was admitted (there is no counter): this node's add gets a place.
        expect(await store!.add(ch, member('a'), 60_000, 10)).toBe('added');
        expect((await kv.get(`n.${encodeToken(ch)}`))?.json()).toMatchObject({ n: 1 });
        // Once the counter exists, a refusal counts pending keys again (some may be admitted).
        for (const c of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']) {
          expect(await store!.add(ch, member(c), 60_000, 10)).toBe('added');
        }
        expect(await store!.add(ch, member('k'), 60_000, 10)).toBe('full');
      });

      it('a count left too high (a node died between two writes) is corrected when the limit is reached', async () => {
        const [store] = await presence(1);
        const ch = `${randomUUID()}:room`;
        expect(await store!.add(ch, member('a'), 60_000, 3)).toBe('added');
        // What a node that died after counting two members, before writing them, leaves behind.
        const nc = await connect({ servers: SHARED_NATS_URL });
        onCleanup(() => nc.close());
        const kv = await new Kvm(nc).open(store!.bucket);
        const counter = await kv.get(`n.${encodeToken(ch)}`);
        expect(counter?.json()).toMatchObject({ n: 1 });
        await kv.update(
          counter!.key,
          JSON.stringify({ ...counter!.json<object>(), n: 3 }),
          counter!.revision,
        );
        expect(await store!.add(ch, member('b'), 60_000, 3)).toBe('added');
        expect(await store!.add(ch, member('c'), 60_000, 3)).toBe('added');
        expect(await store!.add(ch, member('d'), 60_000, 3)).toBe('full');
        expect(await store!.stats(ch)).toEqual({ numClients: 3, numUsers: 3 });
      });
    });
  },
);
