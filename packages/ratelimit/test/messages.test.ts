import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { from, sessionOf, startLimited } from './helpers';

const FLOODER = fileURLToPath(new URL('./flooder.mjs', import.meta.url));

/** Sends `n` pings with ids p0..p{n-1} at once and waits for every reply. */
async function burst(c: TestClient, n: number, prefix = 'p') {
  const start = c.frames.length;
  for (let i = 0; i < n; i++) c.send({ type: 'ping', id: `${prefix}${i}` });
  await waitUntil(
    () => c.since(start).filter((f) => typeof f.id === 'string' && f.id.startsWith(prefix)).length >= n,
    5000,
    `${n} replies`,
  );
  const replies = c.since(start).filter((f) => typeof f.id === 'string' && f.id.startsWith(prefix));
  return {
    performed: replies.filter((f) => f.type === 'pong'),
    refused: replies.filter((f) => f.type === 'error'),
  };
}

describe('message limits', () => {
  it('performs about 5 of a burst of 40 at 60/min with burst 5, and refuses the rest with rate_limited', async () => {
    const { url } = await startLimited(
      { messagesPerMinute: 60, burstSize: 5, messageLimits: { user: false } },
      { rateLimitCloseAfter: 1000 },
    );
    const c = await TestClient.open(url, from(20));
    await c.welcome();
    const { performed, refused } = await burst(c, 40);
    // One token a second comes back: a burst that takes a loaded machine over a second may get a 6th.
    expect(performed.length).toBeGreaterThanOrEqual(5);
    expect(performed.length).toBeLessThanOrEqual(6);
    expect(refused.length).toBe(40 - performed.length);
    expect(performed.slice(0, 5).map((f) => f.id)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    for (const e of refused) {
      const data = e.data as { code: string; message: string; retry_after_ms: number };
      expect(data.code).toBe('rate_limited');
      expect(data.message).toBe('too many messages: slow down');
      expect(data.retry_after_ms).toBeGreaterThan(0);
      expect(data.retry_after_ms).toBeLessThanOrEqual(1000);
    }
    // Refilled at one a second: after the retry_after_ms of the last refusal, exactly one more.
    const wait = (refused.at(-1)!.data as { retry_after_ms: number }).retry_after_ms;
    await sleep(wait + 50);
    const next = await burst(c, 3, 'q');
    expect(next.performed.map((f) => f.id)).toEqual(['q0']);
  });

  it('closes with 4429 after rateLimitCloseAfter refused frames in a row (core), having performed none of them', async () => {
    const { url, gw } = await startLimited(
      { messagesPerMinute: 6, burstSize: 2, messageLimits: { user: false } },
      { rateLimitCloseAfter: 10 },
    );
    let echoed = 0;
    gw.addMessageHandler('count', () => {
      echoed++;
      return echoed;
    });
    const c = await TestClient.open(url, from(21));
    await c.welcome();
    for (let i = 0; i < 30; i++) c.send({ type: 'count', id: i });
    const closed = await c.waitClose();
    expect(closed).toEqual({ code: 4429, reason: 'rate_limited' });
    expect(echoed).toBe(2);
    expect(c.frames.filter((f) => f.type === 'ack').map((f) => f.id)).toEqual([0, 1]);
    const errors = c.frames.filter((f) => f.type === 'error');
    expect(errors.map((f) => f.id)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('shares the per-user bucket between connections of one user, and keeps addresses apart', async () => {
    const { url } = await startLimited(
      { messagesPerMinute: 60, burstSize: 4, messageLimits: { ip: { burstSize: 100 } } },
      { rateLimitCloseAfter: 1000 },
    );
    const a = await TestClient.open(url, from(22, { 'x-test-user': 'carol' }));
    const b = await TestClient.open(url, from(23, { 'x-test-user': 'carol' }));
    const other = await TestClient.open(url, from(24, { 'x-test-user': 'dave' }));
    for (const c of [a, b, other]) await c.welcome();
    expect((await burst(a, 3, 'a')).performed.length).toBe(3);
    // carol has one token left, whichever connection she uses.
    expect((await burst(b, 3, 'b')).performed.length).toBe(1);
    expect((await burst(other, 3, 'o')).performed.length).toBe(3);
  });

  it('applies the user bucket once a session authenticates later (setUserInfo)', async () => {
    const { url, gw } = await startLimited(
      { messagesPerMinute: 60, burstSize: 3, messageLimits: { ip: false } },
      { rateLimitCloseAfter: 1000 },
    );
    const c = await TestClient.open(url, from(25));
    const session = await sessionOf(gw, c);
    expect((await burst(c, 6, 'x')).performed.length).toBe(6); // no user yet, no ip bucket: unlimited
    session.setUserInfo('erin', null);
    expect((await burst(c, 6, 'y')).performed.length).toBe(3);
  });

  it('keeps a per-tenant bucket when asked', async () => {
    const { url } = await startLimited(
      { messageLimits: { ip: false, user: false, tenant: { messagesPerMinute: 60, burstSize: 4 } } },
      { rateLimitCloseAfter: 1000 },
    );
    const a = await TestClient.open(`${url}/tenant/acme`, from(26));
    const b = await TestClient.open(`${url}/tenant/acme`, from(27));
    const c = await TestClient.open(`${url}/tenant/globex`, from(26));
    for (const x of [a, b, c]) await x.welcome();
    expect((await burst(a, 3, 'a')).performed.length).toBe(3);
    expect((await burst(b, 3, 'b')).performed.length).toBe(1);
    expect((await burst(c, 3, 'c')).performed.length).toBe(3);
  });

  it('limits subscribe and publish with their own buckets on top of the general one', async () => {
    const { url } = await startLimited(
      {
        messagesPerMinute: 600,
        burstSize: 100,
        subscribeLimit: { messagesPerMinute: 60, burstSize: 2 },
        publishLimit: { messagesPerMinute: 60, burstSize: 3 },
      },
      { rateLimitCloseAfter: 1000, clientPublish: true },
    );
    const c = await TestClient.open(url, from(28, { 'x-test-user': 'frank' }));
    await c.welcome();
    const subs = await Promise.all(
      [1, 2, 3, 4].map((i) => c.request({ type: 'subscribe', channel: `ch${i}` })),
    );
    expect(subs.map((f) => f.type)).toEqual(['ack', 'ack', 'error', 'error']);
    expect((subs[2]!.data as { code: string }).code).toBe('rate_limited');
    const pubs = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => c.request({ type: 'publish', channel: 'ch1', data: { i } })),
    );
    expect(pubs.map((f) => f.type)).toEqual(['ack', 'ack', 'ack', 'error', 'error']);
    // Other frames only take from the general bucket.
    expect((await burst(c, 10, 'z')).performed.length).toBe(10);
  });

  it('reports limits and usage with getRateLimitStatus(session)', async () => {
    const { url, gw, limiter } = await startLimited({
      maxConnectionsPerIp: 5,
      maxConnectionsPerUser: 2,
      maxConnectionsPerTenant: 10,
      messagesPerMinute: 60,
      burstSize: 5,
      messageLimits: { tenant: { burstSize: 50 } },
      publishLimit: { messagesPerMinute: 30, burstSize: 2 },
    });
    const c = await TestClient.open(`${url}/tenant/acme`, from(29, { 'x-test-user': 'gina' }));
    const session = await sessionOf(gw, c);
    await burst(c, 2, 's');
    expect(await limiter.getRateLimitStatus(session)).toEqual({
      store: 'memory',
      connections: [
        { scope: 'ip', key: '127.0.0.29', limit: 5, open: 1 },
        { scope: 'user', key: '["acme","gina"]', limit: 2, open: 1 },
        { scope: 'tenant', key: 'acme', limit: 10, open: 1 },
      ],
      messages: [
        { bucket: 'ip', key: '127.0.0.29', messagesPerMinute: 60, burstSize: 5, remaining: 3 },
        { bucket: 'user', key: '["acme","gina"]', messagesPerMinute: 60, burstSize: 5, remaining: 3 },
        { bucket: 'tenant', key: 'acme', messagesPerMinute: 60, burstSize: 50, remaining: 48 },
        { bucket: 'publish', key: 'u:["acme","gina"]', messagesPerMinute: 30, burstSize: 2, remaining: 2 },
      ],
    });
  });

  it('does not let a flood of 1,000 frames from one client delay another client’s pings by more than a few ms', async () => {
    // Burst 200: the quiet client's own pings stay within its bucket; the flooder gets 200
    // performed and 800 refused.
    const { url } = await startLimited(
      { messagesPerMinute: 60, burstSize: 200, messageLimits: { user: false } },
      { rateLimitCloseAfter: 100_000 },
    );
    const quiet = await TestClient.open(url, from(31));
    await quiet.welcome();
    const flooder = spawn(process.execPath, [FLOODER, url, '127.0.0.30', '1000'], {
      cwd: path.dirname(FLOODER),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    onCleanup(() => flooder.kill('SIGKILL'));
    let out = '';
    flooder.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitUntil(() => out.includes('ready\n'), 5000, 'the flooder to connect');

    // The quiet client pings every millisecond without waiting for replies, and records each
    // round trip by the time it was sent; the flooder reports when its flood began and ended.
    const rtts: { at: number; ms: number }[] = [];
    const sent = new Map<string, number>();
    let seq = 0;
    const clock = () => performance.timeOrigin + performance.now();
    quiet.ws.on('message', (buf: Buffer) => {
      const f = JSON.parse(buf.toString()) as { type: string; id?: string };
      const at = f.id === undefined ? undefined : sent.get(f.id);
      if (at !== undefined && f.type === 'pong') rtts.push({ at, ms: clock() - at });
    });
    // At most 190 pings, within the quiet client's own burst of 200.
    const pinger = setInterval(() => {
      if (seq >= 190) return;
      const id = `q${seq++}`;
      sent.set(id, clock());
      quiet.send({ type: 'ping', id });
    }, 1);
    onCleanup(() => clearInterval(pinger));
    await sleep(50); // baseline
    flooder.stdin.write('go\n');
    await waitUntil(() => out.includes('performed'), 10_000, 'the flood to be answered');
    await sleep(50);
    clearInterval(pinger);
    await waitUntil(() => rtts.length >= sent.size, 3000, 'every ping to be answered');
    const flood = JSON.parse(out.split('\n')[1]!) as {
      performed: number;
      refused: number;
      sentAt: number;
      lastReplyAt: number;
    };

    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
    const baseline = rtts.filter((r) => r.at < flood.sentAt).map((r) => r.ms);
    const during = rtts.filter((r) => r.at >= flood.sentAt && r.at <= flood.lastReplyAt).map((r) => r.ms);
    const figures = {
      flood_ms: +(flood.lastReplyAt - flood.sentAt).toFixed(1),
      baseline_samples: baseline.length,
      baseline_p50_ms: +pct(baseline, 0.5).toFixed(2),
      during_samples: during.length,
      during_p50_ms: +pct(during, 0.5).toFixed(2),
      during_p90_ms: +pct(during, 0.9).toFixed(2),
      during_max_ms: +Math.max(...during).toFixed(2),
      performed: flood.performed,
      refused: flood.refused,
    };
    console.log('flood vs ping', JSON.stringify(figures));
    expect(flood.performed).toBeGreaterThanOrEqual(200);
    expect(flood.performed).toBeLessThanOrEqual(205);
    expect(flood.performed + flood.refused).toBe(1000);
    expect(baseline.length).toBeGreaterThan(10);
    expect(during.length).toBeGreaterThan(0);
    // The quiet client's own bucket is untouched: every ping of it was performed.
    expect(quiet.frames.filter((f) => f.type === 'error')).toEqual([]);
    // Generous bounds for a loaded 2-core machine; the figures above are what was measured.
    expect(pct(during, 0.5) - pct(baseline, 0.5)).toBeLessThan(25);
    expect(pct(during, 0.9)).toBeLessThan(100);
  });
});
