import { onCleanup, sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, silentLogger, WebSocketGateway } from '../src/index';
import { createGate } from './gate';
import { startTestGateway } from './helpers';
import { afterRejectionsSurface, watchProcessFaults } from './process-watch';

/** `levels` nested arrays: `[[[…]]]`. */
const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

/** A publish frame whose `data` nests `levels` arrays (the frame itself adds one level). */
const deepPublish = (levels: number, id = 'deep') =>
  `{"type":"publish","id":"${id}","channel":"news","data":${nested(levels)}}`;

describe('maxJsonDepth and maxPendingBytes options', () => {
  it('default to 32 levels and four frames of maxMessageBytes', () => {
    expect(resolveConfig({})).toMatchObject({ maxJsonDepth: 32, maxPendingBytes: 4 * 65536 });
    expect(resolveConfig({ maxMessageBytes: 1000 }).maxPendingBytes).toBe(4000);
    expect(resolveConfig({ maxPendingBytes: 5000 }).maxPendingBytes).toBe(5000);
  });

  it('are validated when the gateway is created', () => {
    let error: unknown;
    try {
      new WebSocketGateway({ maxJsonDepth: 1, maxPendingBytes: 1.5, logger: silentLogger });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'maxJsonDepth is 1 when it must be an integer from 2 to 1000',
      'maxPendingBytes is 1.5 when it must be an integer from 64 to 4294967296',
    ]);
  });
});

describe('nesting limit of inbound frames', () => {
  it('refuses a 12 KB publish nested 6000 levels with bad_request and its id; the session and the process live on', async () => {
    const faults = watchProcessFaults();
    // A plain embedded gateway, as an application would run it.
    const gw = new WebSocketGateway({
      port: 0,
      host: '127.0.0.1',
      clientPublish: true,
      logger: silentLogger,
    });
    await gw.start();
    onCleanup(() => gw.stop());
    const url = `ws://127.0.0.1:${gw.address()!.port}/ws`;
    const publisher = await TestClient.open(url);
    const subscriber = await TestClient.open(url);
    await Promise.all([publisher.welcome(), subscriber.welcome()]);
    await subscriber.request({ type: 'subscribe', channel: 'news' });

    const frame = deepPublish(6000);
    expect(frame.length).toBeGreaterThan(12_000);
    publisher.send(frame);
    const reply = await publisher.waitFor((f) => f.id === 'deep');
    expect(reply).toEqual({
      type: 'error',
      id: 'deep',
      data: { code: 'bad_request', message: 'the frame nests deeper than 32 levels' },
    });
    // Without an id, the same refusal carries none.
    publisher.send(`{"type":"publish","channel":"news","data":${nested(40)}}`);
    const anonymous = await publisher.waitFor((f) => f.type === 'error' && f.id === undefined);
    expect(anonymous.data).toEqual({ code: 'bad_request', message: 'the frame nests deeper than 32 levels' });

    expect(await publisher.request({ type: 'ping', id: 'alive', data: 1 })).toEqual({
      type: 'pong',
      id: 'alive',
      data: 1,
    });
    // Exactly at the limit is fine: the frame is level 1, data holds 31 more.
    expect(
      await publisher.request({ type: 'publish', id: 'ok', channel: 'news', data: JSON.parse(nested(31)) }),
    ).toEqual({ type: 'ack', id: 'ok', data: { channel: 'news' } });
    await subscriber.waitFor((f) => f.type === 'message' && f.channel === 'news');
    expect(subscriber.frames.filter((f) => f.type === 'message')).toHaveLength(1);
    await afterRejectionsSurface();
    expect(faults).toEqual([]);
    expect(gw.status).toBe('running');
  });

  it('applies a configured maxJsonDepth to custom frames too', async () => {
    const { gw, url } = await startTestGateway({ maxJsonDepth: 3 });
    const seen: unknown[] = [];
    gw.addMessageHandler('echo', (_s, data) => {
      seen.push(data);
      return data;
    });
    const c = await TestClient.open(url);
    await c.welcome();
    expect(await c.request({ type: 'echo', id: 1, data: { a: [1] } })).toEqual({
      type: 'ack',
      id: 1,
      data: { a: [1] },
    });
    expect(await c.request({ type: 'echo', id: 2, data: { a: [[1]] } })).toEqual({
      type: 'error',
      id: 2,
      data: { code: 'bad_request', message: 'the frame nests deeper than 3 levels' },
    });
    // Brackets inside strings are text, not nesting.
    expect(await c.request({ type: 'echo', id: 3, data: { a: '[[[[{{{{' } })).toMatchObject({ type: 'ack' });
    expect(seen).toEqual([{ a: [1] }, { a: '[[[[{{{{' }]);
  });
});

describe('nesting limit of HTTP API bodies', () => {
  it('answers 400 bad_request to a body nested deeper than maxJsonDepth, and publishes nothing', async () => {
    const faults = watchProcessFaults();
    const { base, url } = await startTestGateway({ apiKey: 'k3y' });
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'subscribe', channel: 'news' });
    const post = (body: string) =>
      fetch(`${base}/api/publish`, {
        method: 'POST',
        headers: { authorization: 'Bearer k3y', 'content-type': 'application/json' },
        body,
      });
    const deep = await post(`{"channel":"news","type":"x","data":${nested(6000)}}`);
    expect(deep.status).toBe(400);
    expect(await deep.json()).toEqual({
      error: { code: 'bad_request', message: 'the body nests deeper than 32 levels' },
    });
    const fine = await post(`{"channel":"news","type":"x","data":${nested(31)}}`);
    expect(fine.status).toBe(200);
    expect(await fine.json()).toEqual({ delivered_local: 1 });
    await c.waitFor((f) => f.type === 'x');
    expect(c.frames.filter((f) => f.type === 'x')).toHaveLength(1);
    await afterRejectionsSurface();
    expect(faults).toEqual([]);
  });
});

describe('byte bound of the inbound queue', () => {
  it('stops reading a client whose queued frames reach maxPendingBytes, loses none, and resumes', async () => {
    const maxMessageBytes = 16 * 1024;
    const maxPendingBytes = 64 * 1024;
    const { gw, url } = await startTestGateway({
      maxMessageBytes,
      maxPendingBytes,
      maxPendingFrames: 100_000,
    });
    const gate = createGate();
    const handled: number[] = [];
    gw.addMessageHandler('work', async (_s, data) => {
      await gate.opened;
      handled.push((data as { n: number }).n);
    });
    const c = await TestClient.open(url);
    await c.welcome();
    const count = 200;
    const pad = 'x'.repeat(maxMessageBytes - 100);
    for (let n = 0; n < count; n++) c.send({ type: 'work', id: n, data: { n, pad } });
    // The handler holds the first frame: the queue grows until reading stops, then stays put.
    let last = -1;
    await waitUntil(
      async () => {
        const now = gw.getStats().pending_inbound.bytes;
        const steady = now > 0 && now === last;
        last = now;
        if (!steady) await sleep(100);
        return steady;
      },
      10_000,
      'the inbound queue to stop growing',
    );
    const queued = gw.getStats().pending_inbound;
    // Past the bound, only the frames of the read in progress can still arrive (at most one
    // socket read of 64 KiB plus one frame that was partly read before it).
    expect(queued.bytes).toBeGreaterThanOrEqual(maxPendingBytes);
    expect(queued.bytes).toBeLessThan(maxPendingBytes + maxMessageBytes + 64 * 1024);
    expect(queued.frames).toBeLessThan(count);
    expect(handled).toEqual([]);
    gate.open();
    await c.waitFor((f) => f.id === count - 1, 10_000);
    expect(handled).toEqual(Array.from({ length: count }, (_, n) => n));
    expect(c.frames.filter((f) => f.type === 'ack')).toHaveLength(count);
    expect(gw.getStats().pending_inbound).toEqual({ frames: 0, bytes: 0 });
  });
});
