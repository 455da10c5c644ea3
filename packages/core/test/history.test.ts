import { type RecordedFrame, sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { type HistoryStore, MemoryBackend, MemoryBus, MemoryHistoryStore } from '../src/index';
import { optionsPolicy } from './channel-options-policy';
import { startTestGateway } from './helpers';

const policy = optionsPolicy({
  room: { historySize: 100, historyTtlMs: 60_000 },
  small: { historySize: 3 },
  brief: { historySize: 10, historyTtlMs: 300 },
  capped: { historySize: 100, maxRecoveryPublications: 2 },
  deep: { historySize: 2000, maxRecoveryPublications: 2000 },
  last: { historySize: 10, recovery: 'cache' },
  plain: {},
  secret: { historySize: 10 },
});

const ack = (f: RecordedFrame) => {
  expect(f.type, JSON.stringify(f)).toBe('ack');
  return f.data as Record<string, unknown>;
};
const err = (f: RecordedFrame) => {
  expect(f.type, JSON.stringify(f)).toBe('error');
  return (f.data as { code: string }).code;
};
const deliveries = (c: TestClient, channel: string) =>
  c.frames.filter((f) => f.type === 'message' && f.channel === channel);

/** `store`, with `read` and `top` answering `delayMs()` late (what a busy store does). */
function slowReads(store: HistoryStore, delayMs: () => number): HistoryStore {
  const late = async <T>(answer: Promise<T>): Promise<T> => {
    const value = await answer;
    if (delayMs() > 0) await sleep(delayMs());
    return value;
  };
  return {
    name: 'slow-reads',
    fansOut: store.fansOut,
    start: () => store.start(),
    stop: () => store.stop(),
    append: (e) => store.append(e),
    read: (ch, q) => late(store.read(ch, q)),
    top: (ch) => late(store.top(ch)),
    remove: (ch) => store.remove(ch),
  };
}

async function open(url: string): Promise<TestClient> {
  const c = await TestClient.open(url);
  await c.welcome();
  return c;
}

describe('history and recovery (protocol.md v1.1)', () => {
  it('numbers publications: subscribe ack has the position, publish ack and deliveries the offset', async () => {
    const { url } = await startTestGateway({ channelPolicy: policy });
    const c = await open(url);
    const sub = ack(await c.request({ type: 'subscribe', data: { channel: 'room:1' } }));
    expect(sub).toEqual({ channel: 'room:1', subscribers: 1, offset: 0, epoch: expect.any(String) });
    const p1 = ack(await c.request({ type: 'publish', channel: 'room:1', data: { n: 1 } }));
    expect(p1).toEqual({ channel: 'room:1', offset: 1 });
    const p2 = ack(await c.request({ type: 'publish', channel: 'room:1', event: 'note', data: 'two' }));
    expect(p2).toEqual({ channel: 'room:1', offset: 2 });
    await c.waitFor((f) => f.type === 'note');
    const got = c.frames.filter((f) => f.channel === 'room:1' && (f.type === 'message' || f.type === 'note'));
    expect(got.map((f) => ({ type: f.type, offset: f.offset, data: f.data }))).toEqual([
      { type: 'message', offset: 1, data: { n: 1 } },
      { type: 'note', offset: 2, data: 'two' },
    ]);
    // Again: idempotent, with the position.
    expect(ack(await c.request({ type: 'subscribe', data: { channel: 'room:1' } }))).toEqual({
      channel: 'room:1',
      subscribers: 1,
      offset: 2,
      epoch: sub.epoch,
    });
    // A channel without history has no offsets.
    expect(ack(await c.request({ type: 'subscribe', data: { channel: 'plain:1' } }))).toEqual({
      channel: 'plain:1',
      subscribers: 1,
    });
    expect(ack(await c.request({ type: 'publish', channel: 'plain:1', data: 1 }))).toEqual({
      channel: 'plain:1',
    });
  });

  it('recovers from a position: the missed publications in order, then live above them', async () => {
    const { gw, url } = await startTestGateway({ channelPolicy: policy });
    for (let i = 1; i <= 5; i++) await gw.publish('room:r', 'message', { i });
    const { epoch } = await gw.history('room:r', { limit: 0 });
    const c = await open(url);
    const a = ack(
      await c.request({ type: 'subscribe', data: { channel: 'room:r', since: { offset: 2, epoch } } }),
    );
    expect(a).toEqual({
      channel: 'room:r',
      subscribers: 1,
      offset: 5,
      epoch,
      recovered: true,
      publications: [
        { type: 'message', data: { i: 3 }, offset: 3 },
        { type: 'message', data: { i: 4 }, offset: 4 },
        { type: 'message', data: { i: 5 }, offset: 5 },
      ],
    });
    await gw.publish('room:r', 'message', { i: 6 });
    const live = await c.waitFor((f) => f.type === 'message');
    expect(live).toEqual({ type: 'message', channel: 'room:r', offset: 6, data: { i: 6 } });
    // Up to date: nothing missed, an empty list.
    const b = await open(url);
    const up = ack(
      await b.request({ type: 'subscribe', data: { channel: 'room:r', since: { offset: 6, epoch } } }),
    );
    expect(up).toEqual({
      channel: 'room:r',
      subscribers: 2,
      offset: 6,
      epoch,
      recovered: true,
      publications: [],
    });
  });

  it('answers recovered:false when the position cannot be honoured', async () => {
    const { gw, url } = await startTestGateway({ channelPolicy: policy });
    const c = await open(url);
    for (let i = 1; i <= 6; i++) await gw.publish('small:1', 'message', i);
    const { epoch } = await gw.history('small:1', { limit: 0 });
    const cases: [string, Record<string, unknown>, number][] = [
      ['trimmed', { channel: 'small:1', since: { offset: 1, epoch } }, 6],
      ['ahead', { channel: 'small:1', since: { offset: 99, epoch } }, 6],
      ['other epoch', { channel: 'small:1', since: { offset: 5, epoch: 'not-this-one' } }, 6],
    ];
    for (const [what, data, offset] of cases) {
      await c.request({ type: 'unsubscribe', data: { channel: 'small:1' } });
      const a = ack(await c.request({ type: 'subscribe', data }));
      expect(a, what).toEqual({
        channel: 'small:1',
        subscribers: 1,
        offset,
        epoch,
        recovered: false,
        publications: [],
      });
    }
    // More missed than max_recovery_publications (2).
    for (let i = 1; i <= 4; i++) await gw.publish('capped:1', 'message', i);
    const capped = await gw.history('capped:1', { limit: 0 });
    const a = ack(
      await c.request({
        type: 'subscribe',
        data: { channel: 'capped:1', since: { offset: 1, epoch: capped.epoch } },
      }),
    );
    expect(a).toMatchObject({ offset: 4, recovered: false, publications: [] });
    const ok = ack(
      await c.request({ type: 'subscribe', data: { channel: 'capped:2', since: { offset: 0, epoch: 'x' } } }),
    );
    expect(ok).toMatchObject({ recovered: false });
  });

  it('answers recovered:false after the history expired (history_ttl_ms)', async () => {
    const { gw, url } = await startTestGateway({ channelPolicy: policy });
    const first = await gw.publish('brief:1', 'message', 1);
    await sleep(700);
    const c = await open(url);
    const a = ack(
      await c.request({
        type: 'subscribe',
        data: { channel: 'brief:1', since: { offset: first.offset, epoch: first.epoch } },
      }),
    );
    expect(a.recovered).toBe(false);
    expect(a.publications).toEqual([]);
  });

  it('recovery: cache gives every subscribe the latest publication', async () => {
    const { gw, url } = await startTestGateway({ channelPolicy: policy });
    const c = await open(url);
    expect(ack(await c.request({ type: 'subscribe', data: { channel: 'last:1' } }))).toEqual({
      channel: 'last:1',
      subscribers: 1,
      offset: 0,
      epoch: expect.any(String),
      publications: [],
    });
    await gw.publish('last:1', 'price', { v: 1 });
    await gw.publish('last:1', 'price', { v: 2 });
    const b = await open(url);
    expect(ack(await b.request({ type: 'subscribe', data: { channel: 'last:1' } }))).toMatchObject({
      offset: 2,
      publications: [{ type: 'price', data: { v: 2 }, offset: 2 }],
    });
  });

  it('a subscribe without id recovers through deliveries', async () => {
    const { gw, url } = await startTestGateway({ channelPolicy: policy });
    for (let i = 1; i <= 3; i++) await gw.publish('room:n', 'message', i);
    const { epoch } = await gw.history('room:n', { limit: 0 });
    const c = await open(url);
    c.send({ type: 'subscribe', data: { channel: 'room:n', since: { offset: 1, epoch } } });
    await waitUntil(() => deliveries(c, 'room:n').length === 2);
    expect(deliveries(c, 'room:n').map((f) => [f.offset, f.data])).toEqual([
      [2, 2],
      [3, 3],
    ]);
    expect(c.frames.some((f) => f.type === 'ack')).toBe(false);
  });

  it('nothing missed or repeated between recovery and live while publishers run (slow store)', async () => {
    // Reads that take a while: many publications arrive while a subscribe is being answered.
    const history = slowReads(new MemoryHistoryStore(), () => 25);
    const { gw, url } = await startTestGateway({ channelPolicy: policy, history });
    let stop = false;
    let published = 0;
    const publisher = (async () => {
      while (!stop && published < 5000) {
        await gw.publish('room:busy', 'message', published + 1);
        published++;
        if (published % 2 === 0) await sleep(1);
      }
    })().catch((error: unknown) => error);
    await waitUntil(() => published >= 30);
    const c = await open(url);
    for (let round = 0; round < 5; round++) {
      const seen: number[] = [];
      const from = c.frames.length;
      const pos = await gw.history('room:busy', { limit: 0 });
      const since = { offset: Math.max(0, pos.offset - 10), epoch: pos.epoch };
      const a = ack(await c.request({ type: 'subscribe', data: { channel: 'room:busy', since } }));
      expect(a.recovered, JSON.stringify({ since, a })).toBe(true);
      for (const p of a.publications as { offset: number }[]) seen.push(p.offset);
      await sleep(60);
      await c.request({ type: 'unsubscribe', data: { channel: 'room:busy' } });
      await sleep(30);
      for (const f of c.since(from)) if (f.type === 'message') seen.push(f.offset as number);
      expect(seen.length).toBeGreaterThan(5);
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => since.offset + 1 + i));
    }
    stop = true;
    await publisher;
  });

  it('a recovering subscribe shares a history read only if that read covers what came before its hold', async () => {
    // Reads that answer late, as a busy store does in a reconnect storm.
    let delayMs = 0;
    const history = slowReads(new MemoryHistoryStore(), () => delayMs);
    const { gw, url } = await startTestGateway({ channelPolicy: policy, history });
    // Keeps the channel tracked on this node.
    await (await open(url)).request({ type: 'subscribe', data: { channel: 'room:merge' } });
    for (let i = 1; i <= 5; i++) await gw.publish('room:merge', 'message', i);
    const { epoch } = await gw.history('room:merge', { limit: 0 });
    const [c1, c2] = [await open(url), await open(url)];
    delayMs = 300;
    const since = { offset: 2, epoch };
    const first = c1.request({ type: 'subscribe', data: { channel: 'room:merge', since } });
    await sleep(50);
    await gw.publish('room:merge', 'message', 6);
    await sleep(50);
    // The same question while c1's read is in flight, which began before publication 6.
    const second = c2.request({ type: 'subscribe', data: { channel: 'room:merge', since } });
    const [a1, a2] = await Promise.all([first, second]);
    delayMs = 0;
    await gw.publish('room:merge', 'message', 7);
    for (const [c, a] of [
      [c1, a1],
      [c2, a2],
    ] as const) {
      await c.waitFor((f) => f.type === 'message' && f.offset === 7);
      const got = [
        ...(ack(a).publications as { offset: number }[]).map((p) => p.offset),
        ...deliveries(c, 'room:merge').map((f) => f.offset),
      ];
      expect(got).toEqual([3, 4, 5, 6, 7]);
    }
  });

  it('a recovery from just before is answered from what the node keeps, without reading the store', async () => {
    let reads = 0;
    const store = new MemoryHistoryStore();
    const counting: HistoryStore = {
      ...slowReads(store, () => 0),
      read: (ch, q) => {
        reads++;
        return store.read(ch, q);
      },
    };
    const { gw, url } = await startTestGateway({ channelPolicy: policy, history: counting });
    await (await open(url)).request({ type: 'subscribe', data: { channel: 'deep:m' } });
    for (let i = 1; i <= 10; i++) await gw.publish('deep:m', 'message', i);
    const { epoch } = await gw.history('deep:m', { limit: 0 });
    const before = reads;
    const c = await open(url);
    const a = ack(
      await c.request({ type: 'subscribe', data: { channel: 'deep:m', since: { offset: 7, epoch } } }),
    );
    expect(a).toMatchObject({ recovered: true, offset: 10 });
    expect((a.publications as { offset: number }[]).map((p) => p.offset)).toEqual([8, 9, 10]);
    expect(reads).toBe(before);
  });

  it('a shared read is topped up from what the node delivered since; past what it keeps, read again', async () => {
    let delayMs = 0;
    const history = slowReads(new MemoryHistoryStore(), () => delayMs);
    const { gw, url } = await startTestGateway({ channelPolicy: policy, history });
    await (await open(url)).request({ type: 'subscribe', data: { channel: 'deep:1' } });
    // More than the node keeps (256 to 512), so that a recovery from offset 2 reads the store.
    for (let i = 1; i <= 600; i++) await gw.publish('deep:1', 'message', i);
    const { epoch } = await gw.history('deep:1', { limit: 0 });
    const since = { offset: 2, epoch };
    const [c1, c2, c3] = [await open(url), await open(url), await open(url)];
    delayMs = 300;
    const first = c1.request({ type: 'subscribe', data: { channel: 'deep:1', since } });
    await sleep(30);
    // A few publications while the read is in flight: c2 shares it, the rest from memory.
    for (let i = 601; i <= 603; i++) await gw.publish('deep:1', 'message', i);
    const second = c2.request({ type: 'subscribe', data: { channel: 'deep:1', since } });
    await sleep(30);
    // More than the node keeps: c3's shared read cannot be topped up; it reads again.
    for (let i = 604; i <= 1300; i++) await gw.publish('deep:1', 'message', i);
    const third = c3.request({ type: 'subscribe', data: { channel: 'deep:1', since } }, 5000);
    const acks = await Promise.all([first, second, third]);
    delayMs = 0;
    await gw.publish('deep:1', 'message', 1301);
    for (const [i, c] of [c1, c2, c3].entries()) {
      await c.waitFor((f) => f.type === 'message' && f.offset === 1301);
      const got = [
        ...(ack(acks[i]!).publications as { offset: number }[]).map((p) => p.offset),
        ...deliveries(c, 'deep:1').map((f) => f.offset),
      ];
      expect(got).toEqual(Array.from({ length: 1299 }, (_, k) => k + 3));
    }
    expect(gw.getStats().channel_features.history_reads_merged).toBeGreaterThanOrEqual(2);
  });

  it('two nodes publishing at once: every subscriber sees one contiguous order', async () => {
    const bus = new MemoryBus();
    const history = new MemoryHistoryStore();
    const nodes = await Promise.all(
      ['n1', 'n2'].map((nodeId) =>
        startTestGateway({ nodeId, channelPolicy: policy, backend: new MemoryBackend({ bus }), history }),
      ),
    );
    const clients = await Promise.all([open(nodes[0]!.url), open(nodes[1]!.url)]);
    for (const c of clients) await c.request({ type: 'subscribe', data: { channel: 'room:two' } });
    await Promise.all(
      nodes.map((n, k) =>
        Promise.all(Array.from({ length: 50 }, (_, i) => n.gw.publish('room:two', 'message', `${k}-${i}`))),
      ),
    );
    for (const c of clients)
      await waitUntil(() => deliveries(c, 'room:two').length === 100, 3000, '100 deliveries');
    const orders = clients.map((c) => deliveries(c, 'room:two').map((f) => [f.offset, f.data]));
    expect(orders[0]!.map((x) => x[0])).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(orders[1]).toEqual(orders[0]);
  });

  it('idempotency keys: a retried publish is acked with the first offset and not delivered again', async () => {
    const { base, url } = await startTestGateway({ channelPolicy: policy, apiKey: 'k' });
    const c = await open(url);
    await c.request({ type: 'subscribe', data: { channel: 'room:i' } });
    const a = ack(await c.request({ type: 'publish', channel: 'room:i', data: 1, idempotency_key: 'once' }));
    const b = ack(await c.request({ type: 'publish', channel: 'room:i', data: 1, idempotency_key: 'once' }));
    expect(a).toEqual({ channel: 'room:i', offset: 1 });
    expect(b).toEqual({ channel: 'room:i', offset: 1 });
    const post = (body: unknown) =>
      fetch(`${base}/api/publish`, {
        method: 'POST',
        headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const h1 = await post({ channel: 'room:i', type: 'message', data: 2, idempotency_key: 'http-1' });
    expect(await h1.json()).toEqual({ delivered_local: 1, offset: 2, epoch: expect.any(String) });
    const h2 = await post({ channel: 'room:i', type: 'message', data: 2, idempotency_key: 'http-1' });
    expect(await h2.json()).toEqual({ delivered_local: 0, offset: 2, epoch: expect.any(String) });
    await sleep(100);
    expect(deliveries(c, 'room:i').map((f) => f.offset)).toEqual([1, 2]);
    expect(err(await c.request({ type: 'publish', channel: 'room:i', data: 1, idempotency_key: '' }))).toBe(
      'bad_request',
    );
    const bad = await post({ channel: 'room:i', type: 'message', idempotency_key: 7 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { code: 'bad_request', message: '"idempotency_key" must be a string of 1-200 characters' },
    });
  });

  it('history request: limit, reverse, since, and the refusals', async () => {
    const { gw, url } = await startTestGateway({ channelPolicy: policy });
    for (let i = 1; i <= 5; i++) await gw.publish('room:h', 'message', i);
    const c = await open(url);
    const all = ack(await c.request({ type: 'history', channel: 'room:h' }));
    expect(all).toEqual({
      channel: 'room:h',
      offset: 5,
      epoch: expect.any(String),
      publications: [1, 2, 3, 4, 5].map((i) => ({ type: 'message', data: i, offset: i })),
    });
    const epoch = all.epoch as string;
    expect(
      ack(await c.request({ type: 'history', data: { channel: 'room:h', limit: 2 } })).publications,
    ).toEqual([
      { type: 'message', data: 1, offset: 1 },
      { type: 'message', data: 2, offset: 2 },
    ]);
    expect(
      ack(await c.request({ type: 'history', data: { channel: 'room:h', limit: 2, reverse: true } }))
        .publications,
    ).toEqual([
      { type: 'message', data: 5, offset: 5 },
      { type: 'message', data: 4, offset: 4 },
    ]);
    expect(
      ack(await c.request({ type: 'history', data: { channel: 'room:h', since: { offset: 3, epoch } } }))
        .publications,
    ).toEqual([
      { type: 'message', data: 4, offset: 4 },
      { type: 'message', data: 5, offset: 5 },
    ]);
    expect(
      ack(
        await c.request({ type: 'history', data: { channel: 'room:h', since: { offset: 3, epoch: 'old' } } }),
      ),
    ).toEqual({ channel: 'room:h', offset: 5, epoch, publications: [] });
    expect(err(await c.request({ type: 'history', data: { channel: 'plain:1' } }))).toBe('not_available');
    expect(err(await c.request({ type: 'history', data: { channel: 'secret:1' } }))).toBe('forbidden');
    expect(err(await c.request({ type: 'history', data: { channel: 'bad channel' } }))).toBe(
      'invalid_channel',
    );
    for (const data of [
      { channel: 'room:h', limit: -1 },
      { channel: 'room:h', limit: 1001 },
      { channel: 'room:h', limit: 'x' },
      { channel: 'room:h', since: { offset: 1 } },
      { channel: 'room:h', since: { offset: -1, epoch } },
      { channel: 'room:h', reverse: 1 },
    ]) {
      expect(err(await c.request({ type: 'history', data })), JSON.stringify(data)).toBe('bad_request');
    }
    expect(err(await c.request({ type: 'subscribe', data: { channel: 'room:h', since: 'x' } }))).toBe(
      'bad_request',
    );
  });

  it('HTTP API: /api/history and /api/history_remove', async () => {
    const { gw, base } = await startTestGateway({ channelPolicy: policy, apiKey: 'k' });
    for (let i = 1; i <= 3; i++) await gw.publish('room:api', 'message', { i }, { tenantId: null });
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer k' },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const h = await post('/api/history', { channel: 'room:api', limit: 2, reverse: true });
    expect(h).toEqual({
      status: 200,
      body: {
        offset: 3,
        epoch: expect.any(String),
        publications: [
          { type: 'message', data: { i: 3 }, offset: 3 },
          { type: 'message', data: { i: 2 }, offset: 2 },
        ],
      },
    });
    expect(await post('/api/history_remove', { channel: 'room:api' })).toEqual({ status: 200, body: {} });
    const after = await post('/api/history', { channel: 'room:api' });
    expect(after.body.offset).toBe(0);
    expect(after.body.epoch).not.toBe(h.body.epoch);
    expect(await post('/api/history', { channel: 'plain:x' })).toEqual({
      status: 400,
      body: { error: { code: 'not_available', message: '"plain:x" keeps no history' } },
    });
    expect(await post('/api/history', { channel: '', limit: -2, since: 5, reverse: 'yes' })).toEqual({
      status: 400,
      body: {
        error: {
          code: 'bad_request',
          message:
            '"channel" must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / =; "limit" must be an integer from 0 to 1000; "since" must be {"offset": an integer >= 0, "epoch": a string of 1-64 characters}; "reverse" must be true or false',
        },
      },
    });
  });

  it('a client that reconnects resumes from its last offset, exactly once and in order', async () => {
    const { gw, url } = await startTestGateway({ channelPolicy: policy });
    const c1 = await open(url);
    const first = ack(await c1.request({ type: 'subscribe', data: { channel: 'room:re' } }));
    for (let i = 1; i <= 3; i++) await gw.publish('room:re', 'message', i);
    await waitUntil(() => deliveries(c1, 'room:re').length === 3);
    const last = deliveries(c1, 'room:re').at(-1)!.offset as number;
    c1.terminate();
    for (let i = 4; i <= 7; i++) await gw.publish('room:re', 'message', i);
    const c2 = await open(url);
    const a = ack(
      await c2.request({
        type: 'subscribe',
        data: { channel: 'room:re', since: { offset: last, epoch: first.epoch } },
      }),
    );
    expect((a.publications as { data: number }[]).map((p) => p.data)).toEqual([4, 5, 6, 7]);
    expect(a.recovered).toBe(true);
  });
});
