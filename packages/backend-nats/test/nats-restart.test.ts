import { onCleanup, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { NatsBackend } from '../src/index';
import { SHARED_NATS_URL, sharedNatsMissing, uniquePrefix } from './shared-nats';

const missing = await sharedNatsMissing();

describe.skipIf(missing !== false)(`NatsBackend restarts${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('a start called while stop is still draining waits for it, then delivers again', async () => {
    const subjectPrefix = uniquePrefix();
    const a = new NatsBackend({ servers: SHARED_NATS_URL, subjectPrefix });
    const b = new NatsBackend({ servers: SHARED_NATS_URL, subjectPrefix });
    onCleanup(() => a.stop());
    onCleanup(() => b.stop());
    const got: string[] = [];
    const deliver = (topic: string, payload: Uint8Array) => {
      got.push(`${topic}=${Buffer.from(payload).toString()}`);
    };
    await a.start(deliver);
    await b.start(() => undefined);
    const stopping = a.stop();
    const restarted = a.start(deliver);
    await Promise.all([stopping, restarted]);
    await a.subscribe('again');
    await b.publish('again', Buffer.from('back'));
    await waitUntil(() => got.length === 1, 3000, 'a delivery after the restart');
    expect(got).toEqual(['again=back']);
    expect((await a.health()).status).toBe('healthy');
    expect(a.stats()).toMatchObject({ outages: 0, topics: 1 });
  });
});
