import { sleep, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { startTestGateway } from './helpers';

async function connect(url: string, options = {}) {
  const c = await TestClient.open(url, options);
  await c.welcome();
  return c;
}

describe('welcome', () => {
  it('is the first frame and carries the session facts', async () => {
    const { url, gw } = await startTestGateway({ nodeId: 'n1', heartbeatMs: 12345 });
    const c = await TestClient.open(url);
    const w = await c.welcome();
    expect(c.frames[0]).toBe(w);
    expect(w.data).toEqual({
      session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      protocol: 1,
      node_id: 'n1',
      authenticated: false,
      user_id: null,
      tenant_id: null,
      heartbeat_ms: 12345,
      features: [],
    });
    expect(gw.getSession((w.data as { session_id: string }).session_id)).toBeDefined();
  });

  it('selects dotmac.v1 when offered and accepts connections that offer none', async () => {
    const { url } = await startTestGateway();
    const a = await connect(url, { protocols: ['dotmac.v1'] });
    expect(a.ws.protocol).toBe('dotmac.v1');
    const b = await connect(url);
    expect(b.ws.protocol).toBe('');
  });
});

describe('requests and replies', () => {
  it('ping gets pong with the same id and data, and without an id a pong without one', async () => {
    const { url } = await startTestGateway();
    const c = await connect(url);
    expect(await c.request({ type: 'ping', id: 'p1', data: { n: 7 } })).toEqual({
      type: 'pong',
      id: 'p1',
      data: { n: 7 },
    });
    expect(await c.request({ type: 'ping', id: 9 })).toEqual({ type: 'pong', id: 9, data: null });
    c.send({ type: 'ping', data: 'x' });
    expect(await c.waitFor((f) => f.type === 'pong' && f.data === 'x')).toEqual({ type: 'pong', data: 'x' });
  });

  it.each([
    ['{not json', undefined],
    ['[1,2,3]', undefined],
    ['"str"', undefined],
    ['42', undefined],
    ['{"id":5}', 5],
    ['{"type":7,"id":"q"}', 'q'],
    ['{"type":"ping","id":1.5}', undefined],
  ])('malformed frame %s gets bad_request (id %s) and the connection stays open', async (bad, id) => {
    const { url } = await startTestGateway();
    const c = await connect(url);
    c.send(bad);
    const e = await c.waitFor((f) => f.type === 'error');
    expect(e.data).toMatchObject({ code: 'bad_request' });
    expect(e.id).toBe(id);
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
    expect(c.closed).toBeNull();
  });

  it('a binary frame gets bad_request', async () => {
    const { url } = await startTestGateway();
    const c = await connect(url);
    c.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    const e = await c.waitFor((f) => f.type === 'error');
    expect(e.data).toEqual({
      code: 'bad_request',
      message: 'binary frames are not supported: send JSON text',
    });
  });

  it('unknown type gets unknown_type with the id; without id an error without id', async () => {
    const { url } = await startTestGateway();
    const c = await connect(url);
    expect(await c.request({ type: 'nope', id: 'u9' })).toEqual({
      type: 'error',
      id: 'u9',
      data: { code: 'unknown_type', message: 'no handler for frame type "nope"' },
    });
    c.send({ type: 'nope2' });
    const e = await c.waitFor((f) => f.type === 'error' && f.id === undefined);
    expect(e.data).toMatchObject({ code: 'unknown_type' });
  });

  it('prototype keys in frames do not break the session', async () => {
    const { url } = await startTestGateway();
    const c = await connect(url);
    c.send('{"type":"subscribe","id":1,"data":{"channel":"pp","__proto__":{"channel":"evil"}}}');
    expect(await c.waitFor((f) => f.id === 1)).toMatchObject({ type: 'ack', data: { channel: 'pp' } });
    c.send('{"type":"ping","id":2,"__proto__":{"type":"publish"},"constructor":{"prototype":{"x":1}}}');
    expect(await c.waitFor((f) => f.id === 2)).toMatchObject({ type: 'pong' });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('a frame over maxMessageBytes closes with 1009', async () => {
    const { url } = await startTestGateway({ maxMessageBytes: 4096 });
    const c = await connect(url);
    c.send({ type: 'ping', data: 'x'.repeat(5000) });
    expect((await c.waitClose()).code).toBe(1009);
  });

  it('a frame just under maxMessageBytes is handled', async () => {
    const { url } = await startTestGateway({ maxMessageBytes: 4096 });
    const c = await connect(url);
    const data = 'x'.repeat(4096 - JSON.stringify({ type: 'ping', id: 1, data: '' }).length);
    expect((await c.request({ type: 'ping', id: 1, data })).type).toBe('pong');
  });

  it('invalid UTF-8 closes with 1007', async () => {
    const { url } = await startTestGateway();
    const c = await connect(url);
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await c.waitClose()).code).toBe(1007);
  });
});

describe('channels', () => {
  it('subscribe, publish, deliver to subscribers only, in order', async () => {
    const { url } = await startTestGateway({ clientPublish: true });
    const [a, b, other] = await Promise.all([connect(url), connect(url), connect(url)]);
    expect(await a.request({ type: 'subscribe', data: { channel: 'news' } })).toMatchObject({
      type: 'ack',
      data: { channel: 'news', subscribers: 1 },
    });
    expect(await b.request({ type: 'subscribe', channel: 'news' })).toMatchObject({
      type: 'ack',
      data: { channel: 'news', subscribers: 2 },
    });
    await other.request({ type: 'subscribe', data: { channel: 'sports' } });
    for (let i = 0; i < 100; i++) a.send({ type: 'publish', channel: 'news', data: { i } });
    for (const c of [a, b]) {
      await c.waitFor((f) => f.channel === 'news' && (f.data as { i: number }).i === 99);
      const got = c.frames.filter((f) => f.type === 'message').map((f) => (f.data as { i: number }).i);
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
    }
    expect(a.frames.find((f) => f.type === 'message')).toEqual({
      type: 'message',
      channel: 'news',
      data: { i: 0 },
    });
    await sleep(100);
    expect(other.frames.filter((f) => f.channel === 'news')).toEqual([]);
  });

  it('publish with event names the delivered type; ack carries the channel', async () => {
    const { url } = await startTestGateway({ clientPublish: true });
    const a = await connect(url);
    await a.request({ type: 'subscribe', data: { channel: 'chat' } });
    expect(
      await a.request({ type: 'publish', id: 'x', channel: 'chat', event: 'chat_message', data: { t: 1 } }),
    ).toEqual({
      type: 'ack',
      id: 'x',
      data: { channel: 'chat' },
    });
    expect(await a.waitFor((f) => f.channel === 'chat')).toEqual({
      type: 'chat_message',
      channel: 'chat',
      data: { t: 1 },
    });
  });

  it.each([
    'welcome',
    'ack',
    'error',
    'pong',
    'auth_expiring',
    'subscribed',
    'unsubscribed',
    'join',
    'leave',
    '',
    'a b',
    'x'.repeat(101),
    5,
  ])('publish with event %j gets bad_request', async (event) => {
    const { url } = await startTestGateway({ clientPublish: true });
    const a = await connect(url);
    const r = await a.request({ type: 'publish', channel: 'c', event, data: 1 });
    expect(r).toMatchObject({ type: 'error', data: { code: 'bad_request' } });
  });

  it('publish without a channel gets invalid_channel', async () => {
    const { url } = await startTestGateway({ clientPublish: true });
    const a = await connect(url);
    expect(
      (await a.request({ type: 'publish', data: { channel: 'in-data-does-not-count' } })).data,
    ).toMatchObject({
      code: 'invalid_channel',
    });
  });

  it('client publish is forbidden unless clientPublish or the policy allows it', async () => {
    const { url } = await startTestGateway();
    const a = await connect(url);
    expect(await a.request({ type: 'publish', id: 1, channel: 'news', data: 1 })).toEqual({
      type: 'error',
      id: 1,
      data: { code: 'forbidden', message: 'publishing on "news" is not allowed' },
    });
    const policy = await startTestGateway({
      channelPolicy: {
        canSubscribe: (_s, ch) => ch.name !== 'secret',
        canPublish: (_s, ch) => ch.name.startsWith('open.'),
      },
    });
    const b = await connect(policy.url);
    expect((await b.request({ type: 'publish', channel: 'open.x', data: 1 })).type).toBe('ack');
    expect((await b.request({ type: 'publish', channel: 'closed', data: 1 })).data).toMatchObject({
      code: 'forbidden',
    });
    expect((await b.request({ type: 'subscribe', data: { channel: 'secret' } })).data).toMatchObject({
      code: 'forbidden',
    });
  });

  it('double subscribe is idempotent: one delivery per message', async () => {
    const { url } = await startTestGateway({ clientPublish: true });
    const a = await connect(url);
    expect((await a.request({ type: 'subscribe', data: { channel: 'dup' } })).type).toBe('ack');
    expect(await a.request({ type: 'subscribe', data: { channel: 'dup' } })).toMatchObject({
      type: 'ack',
      data: { channel: 'dup', subscribers: 1 },
    });
    await a.request({ type: 'publish', channel: 'dup', data: 1 });
    await sleep(100);
    expect(a.frames.filter((f) => f.type === 'message')).toHaveLength(1);
  });

  it('unsubscribe stops delivery and is idempotent', async () => {
    const { url, gw } = await startTestGateway({ clientPublish: true });
    const a = await connect(url);
    const p = await connect(url);
    await a.request({ type: 'subscribe', data: { channel: 'u1' } });
    expect(gw.getStats().subscriptions).toBe(1);
    expect(await a.request({ type: 'unsubscribe', id: 3, data: { channel: 'u1' } })).toEqual({
      type: 'ack',
      id: 3,
      data: { channel: 'u1' },
    });
    expect((await a.request({ type: 'unsubscribe', data: { channel: 'u1' } })).type).toBe('ack');
    expect(gw.getStats()).toMatchObject({ subscriptions: 0, channels: 0 });
    await p.request({ type: 'publish', channel: 'u1', data: 1 });
    await sleep(100);
    expect(a.frames.filter((f) => f.channel === 'u1' && f.type === 'message')).toEqual([]);
  });

  it.each(['', 'a b', 'x*', 'a>b', '$SYS.x', 'ü', 'n'.repeat(201), 'a\nb', 5, null])(
    'channel %j is refused on subscribe, unsubscribe and publish (a non-string top-level channel is a bad frame)',
    async (ch) => {
      const { url } = await startTestGateway({ clientPublish: true });
      const c = await connect(url);
      for (const frame of [
        { type: 'subscribe', data: { channel: ch } },
        { type: 'unsubscribe', data: { channel: ch } },
        { type: 'publish', channel: ch, data: 1 },
      ]) {
        const r = await c.request(frame);
        expect(r.data, JSON.stringify(frame)).toMatchObject({
          code: typeof ch !== 'string' && frame.type === 'publish' ? 'bad_request' : 'invalid_channel',
        });
      }
    },
  );

  it('accepts every allowed character and the longest name', async () => {
    const { url } = await startTestGateway({ clientPublish: true });
    const c = await connect(url);
    for (const ch of ['Aa0_-.:@/=', 'n'.repeat(200)]) {
      expect((await c.request({ type: 'subscribe', data: { channel: ch } })).type).toBe('ack');
      await c.request({ type: 'publish', channel: ch, data: ch.length });
      expect(await c.waitFor((f) => f.type === 'message' && f.channel === ch)).toEqual({
        type: 'message',
        channel: ch,
        data: ch.length,
      });
    }
  });

  it('a session holds at most maxSubscriptionsPerSession channels', async () => {
    const { url } = await startTestGateway({ maxSubscriptionsPerSession: 3 });
    const c = await connect(url);
    for (const ch of ['a', 'b', 'c'])
      expect((await c.request({ type: 'subscribe', data: { channel: ch } })).type).toBe('ack');
    expect(await c.request({ type: 'subscribe', id: 4, data: { channel: 'd' } })).toEqual({
      type: 'error',
      id: 4,
      data: { code: 'too_many_subscriptions', message: 'a session may hold at most 3 channels' },
    });
    // Re-subscribing to a held channel is still fine, and a freed slot can be used again.
    expect((await c.request({ type: 'subscribe', data: { channel: 'a' } })).type).toBe('ack');
    await c.request({ type: 'unsubscribe', data: { channel: 'a' } });
    expect((await c.request({ type: 'subscribe', data: { channel: 'd' } })).type).toBe('ack');
  });
});

describe('custom handlers', () => {
  it('the return value is the ack; reply() answers early; handlers see session and data', async () => {
    const { url, gw } = await startTestGateway();
    gw.addMessageHandler('echo', (_s, data) => data);
    gw.addMessageHandler('early', (session, data, ctx) => {
      ctx.reply({ first: true });
      session.sendMessage('echo_response', data);
      return { ignored: true };
    });
    gw.addMessageHandler('nothing', () => undefined);
    const c = await connect(url);
    expect(await c.request({ type: 'echo', id: 1, data: { a: 1 } })).toEqual({
      type: 'ack',
      id: 1,
      data: { a: 1 },
    });
    expect(await c.request({ type: 'early', id: 2, data: 'x' })).toEqual({
      type: 'ack',
      id: 2,
      data: { first: true },
    });
    expect(await c.waitFor((f) => f.type === 'echo_response')).toEqual({ type: 'echo_response', data: 'x' });
    expect(await c.request({ type: 'nothing', id: 3 })).toEqual({ type: 'ack', id: 3, data: null });
    // Without an id: no ack.
    c.send({ type: 'echo', data: 'silent' });
    await c.request({ type: 'ping' });
    expect(c.frames.filter((f) => f.type === 'ack' && f.data === 'silent')).toEqual([]);
  });

  it('a ProtocolError becomes an error frame with its code; any other throw is internal_error', async () => {
    const { url, gw } = await startTestGateway();
    const { ProtocolError } = await import('../src/index');
    gw.addMessageHandler('refuse', () => {
      throw new ProtocolError('not_today', 'come back later', { retryAfterMs: 1500.2 });
    });
    gw.addMessageHandler('crash', async () => {
      throw new Error('secret detail');
    });
    const c = await connect(url);
    expect(await c.request({ type: 'refuse', id: 1 })).toEqual({
      type: 'error',
      id: 1,
      data: { code: 'not_today', message: 'come back later', retry_after_ms: 1501 },
    });
    expect(await c.request({ type: 'crash', id: 2 })).toEqual({
      type: 'error',
      id: 2,
      data: { code: 'internal_error', message: 'internal error' },
    });
    expect(gw.getStats().counters.handler_errors).toBe(1);
  });

  it('refuses reserved types and bad arguments', async () => {
    const { gw } = await startTestGateway();
    for (const t of ['auth', 'subscribe', 'unsubscribe', 'publish', 'ping', 'welcome', 'ack', 'error']) {
      expect(() => gw.addMessageHandler(t, () => null)).toThrowError(
        `"${t}" is a reserved frame type and cannot have a handler`,
      );
    }
    expect(() => gw.addMessageHandler('x', 5 as never)).toThrowError('the handler of "x" must be a function');
    gw.addMessageHandler('gone', () => 1);
    expect(gw.removeMessageHandler('gone')).toBe(true);
  });

  it('handles one session’s frames one at a time, in order', async () => {
    const { url, gw } = await startTestGateway();
    const seen: number[] = [];
    gw.addMessageHandler('slow', async (_s, data) => {
      await sleep(Number(data) % 3 === 0 ? 20 : 1);
      seen.push(Number(data));
      return data;
    });
    const c = await connect(url);
    for (let i = 0; i < 10; i++) c.send({ type: 'slow', id: i, data: i });
    await c.waitFor((f) => f.id === 9);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(c.frames.filter((f) => f.type === 'ack').map((f) => f.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('answers a burst of mixed frames in order: answered at once, awaited by a policy or handler, refused', async () => {
    const { url, gw } = await startTestGateway({
      channelPolicy: {
        canSubscribe: () => true,
        // `slow` and `closed` answer with a promise, the others at once.
        canPublish: (_s, ch) =>
          ch.name === 'slow'
            ? sleep(15).then(() => true)
            : ch.name === 'closed'
              ? Promise.resolve(false)
              : ch.name !== 'shut',
      },
    });
    gw.addMessageHandler('wait', async (_s, data) => {
      await sleep(10);
      return data;
    });
    const c = await connect(url);
    expect((await c.request({ type: 'subscribe', data: { channel: 'fast' } })).type).toBe('ack');
    expect((await c.request({ type: 'subscribe', data: { channel: 'slow' } })).type).toBe('ack');
    const from = c.frames.length;
    const burst: Record<string, unknown>[] = [
      { type: 'publish', id: 1, channel: 'fast', data: 1 },
      { type: 'publish', id: 2, channel: 'slow', data: 2 },
      { type: 'ping', id: 3 },
      { type: 'publish', id: 4, channel: 'fast', data: 4 },
      { type: 'publish', id: 5, channel: 'closed', data: 5 },
      { type: 'wait', id: 6, data: 6 },
      { type: 'publish', id: 7, channel: 'shut', data: 7 },
      { type: 'publish', id: 8, channel: 'fast', idempotency_key: 42, data: 8 },
      { type: 'publish', id: 9, channel: 'slow', data: 9 },
      { type: 'publish', id: 10, channel: 'fast', data: 10 },
    ];
    for (const frame of burst) c.send(frame);
    await c.waitFor((f) => f.id === 10);
    const answers = c.since(from).filter((f) => f.id !== undefined);
    expect(answers.map((f) => [f.id, f.type])).toEqual([
      [1, 'ack'],
      [2, 'ack'],
      [3, 'pong'],
      [4, 'ack'],
      [5, 'error'],
      [6, 'ack'],
      [7, 'error'],
      [8, 'error'],
      [9, 'ack'],
      [10, 'ack'],
    ]);
    expect(answers.filter((f) => f.type === 'error').map((f) => (f.data as { code: string }).code)).toEqual([
      'forbidden',
      'forbidden',
      'bad_request',
    ]);
    const delivered = c.since(from).filter((f) => f.type === 'message');
    expect(delivered.map((f) => [f.channel, f.data])).toEqual([
      ['fast', 1],
      ['slow', 2],
      ['fast', 4],
      ['slow', 9],
      ['fast', 10],
    ]);
  });
});
