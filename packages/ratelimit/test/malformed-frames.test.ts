import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { from, startLimited } from './helpers';

const BURST = 5;
const CLOSE_AFTER = 10;
const SENT = 30;

/** One kind of frame the gateway cannot read, how to send the n-th, and how it is refused. */
interface Garbage {
  name: string;
  send(c: TestClient, n: number): void;
  /** The id the reply to the n-th frame carries, if any. */
  id(n: number): number | undefined;
  message: string;
}

const KINDS: Garbage[] = [
  {
    name: 'invalid JSON',
    send: (c, n) => c.send(`{"type":"ping","id":${n},`),
    id: () => undefined,
    message: 'the frame is not valid JSON',
  },
  {
    name: 'binary frames',
    send: (c, n) => c.ws.send(Buffer.from(JSON.stringify({ type: 'ping', id: n })), { binary: true }),
    id: () => undefined,
    message: 'binary frames are not supported: send JSON text',
  },
  {
    name: 'frames without a type',
    send: (c, n) => c.send({ id: n, data: 'no type' }),
    id: (n) => n,
    message: '"type" must be a string of 1 to 100 characters, got nothing',
  },
  {
    name: 'JSON that is not an object',
    send: (c, n) => c.send(`[${n}]`),
    id: () => undefined,
    message: 'the frame must be a JSON object, got an array',
  },
];

describe('frames the gateway cannot read count for the rate limit', () => {
  it.each(KINDS)(
    '$name: bad_request for the first burst, then rate_limited, then close 4429',
    async (kind) => {
      const { url } = await startLimited(
        // One token a minute: nothing refills while the test runs.
        { messagesPerMinute: 1, burstSize: BURST, messageLimits: { user: false } },
        { rateLimitCloseAfter: CLOSE_AFTER },
      );
      const c = await TestClient.open(url, from(40));
      await c.welcome();
      for (let n = 0; n < SENT; n++) kind.send(c, n);
      expect(await c.waitClose()).toEqual({ code: 4429, reason: 'rate_limited' });

      const replies = c.frames.filter((f) => f.type !== 'welcome');
      // Every reply is an error; after the close nothing more is answered.
      expect(replies.map((f) => f.type)).toEqual(Array(BURST + CLOSE_AFTER).fill('error'));
      const answered = replies.map(
        (f) => f.data as { code: string; message: string; retry_after_ms?: number },
      );
      expect(answered.slice(0, BURST)).toEqual(
        Array(BURST).fill({ code: 'bad_request', message: kind.message }),
      );
      for (const data of answered.slice(BURST)) {
        expect(data).toEqual({
          code: 'rate_limited',
          message: 'too many messages: slow down',
          retry_after_ms: expect.any(Number),
        });
        expect(data.retry_after_ms).toBeGreaterThan(0);
        expect(data.retry_after_ms).toBeLessThanOrEqual(60_000);
      }
      expect(replies.map((f) => f.id)).toEqual(
        Array.from({ length: BURST + CLOSE_AFTER }, (_, n) => kind.id(n)),
      );
    },
  );

  it('garbage and valid frames draw from one bucket', async () => {
    const { url } = await startLimited(
      { messagesPerMinute: 1, burstSize: BURST, messageLimits: { user: false } },
      { rateLimitCloseAfter: 1000 },
    );
    const c = await TestClient.open(url, from(41));
    await c.welcome();
    for (let n = 0; n < BURST - 1; n++) c.send('not json');
    expect(await c.request({ type: 'ping', id: 'last token' })).toMatchObject({ type: 'pong' });
    expect(await c.request({ type: 'ping', id: 'none left' })).toMatchObject({
      type: 'error',
      data: { code: 'rate_limited' },
    });
    const errors = c.frames.filter((f) => f.type === 'error').map((f) => (f.data as { code: string }).code);
    expect(errors).toEqual([...Array(BURST - 1).fill('bad_request'), 'rate_limited']);
  });
});
