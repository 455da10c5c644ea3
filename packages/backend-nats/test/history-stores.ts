import type { HistoryAppend } from '@dotmac-ws/core';
import { onCleanup } from '@dotmac-ws/test-utils';
import { NatsHistoryStore } from '../src/index';
import { deleteStreams } from './jetstream-cleanup';
import { SHARED_NATS_URL, uniquePrefix } from './shared-nats';

/** `count` started history stores of one deployment on the shared NATS; stopped and deleted after the test. */
export async function historyStores(
  count: number,
  subjectPrefix = uniquePrefix(),
): Promise<NatsHistoryStore[]> {
  const stores: NatsHistoryStore[] = [];
  for (let i = 0; i < count; i++) {
    const store = new NatsHistoryStore({ servers: SHARED_NATS_URL, subjectPrefix });
    await store.start();
    stores.push(store);
  }
  onCleanup(() => deleteStreams(SHARED_NATS_URL, [stores[0]!.streamName, `KV_${stores[0]!.epochBucket}`]));
  for (const s of stores) onCleanup(() => s.stop());
  return stores;
}

/** An append of `text` to `channel` (size 1000, TTL 1 min unless `extra` says otherwise). */
export const entry = (channel: string, text: string, extra: Partial<HistoryAppend> = {}): HistoryAppend => ({
  channel,
  body: Buffer.from(text),
  size: 1000,
  ttlMs: 60_000,
  topic: `channel:${channel}`,
  ...extra,
});

/** The bodies of publications as text. */
export const texts = (pubs: readonly { body: Buffer }[]): string[] => pubs.map((p) => p.body.toString());
