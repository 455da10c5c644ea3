// Cross-node benchmark: 2,000 subscribers on node A, the publisher on node B, through Redis;
// beside the same run on a single node (MemoryBackend). The subscribers run in a child process
// so that they do not share an event loop with the gateways.
//
//   pnpm --filter @dotmac-ws/backend-redis bench
//   SUBSCRIBERS=2000 MESSAGES=200 RATE=20 SECONDS=3 ROUNDS=3 REDIS_URL=redis://127.0.0.1:6379 node bench/cross-node.mjs
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MemoryBackend, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import WebSocket from 'ws';
import { RedisBackend } from '../dist/index.js';

const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 2000);
const MESSAGES = Number(process.env.MESSAGES ?? 200);
const WINDOW = Number(process.env.WINDOW ?? 10);
const RATE = Number(process.env.RATE ?? 20);
const SECONDS = Number(process.env.SECONDS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (process.argv[2] === 'clients') {
  await runClients(process.argv[3], Number(process.argv[4]));
} else {
  await main();
}

/** The child: opens the subscribers, counts deliveries, records latencies on request. */
async function runClients(url, count) {
  let total = 0;
  let reported = 0;
  let latencies = null;
  const sockets = [];
  for (let i = 0; i < count; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(i + 100, count); j++) {
      batch.push(
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.on('error', reject);
          ws.on('message', (buf) => {
            const f = JSON.parse(buf.toString());
            if (f.type === 'ack') return resolve(ws);
            if (f.type !== 'tick') return;
            total++;
            if (latencies !== null) latencies.push(now() - f.data.t);
            if (total - reported >= count) {
              reported = total - (total % count);
              process.send({ type: 'progress', total });
            }
          });
          ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 1, channel: 'bench' })));
          sockets.push(ws);
        }),
      );
    }
    await Promise.all(batch);
  }
  process.on('message', (m) => {
    if (m.type === 'record') latencies = [];
    if (m.type === 'report') {
      const sorted = Float64Array.from(latencies ?? []).sort();
      const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      process.send({
        type: 'latency',
        n: sorted.length,
        p50: at(0.5),
        p99: at(0.99),
        max: sorted.at(-1),
        total,
      });
      latencies = null;
    }
    if (m.type === 'exit') {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  });
  process.send({ type: 'ready' });
}

async function main() {
  // The scenarios alternate, round after round, so that a change in the machine's load hits
  // both alike; the medians are reported.
  const runs = { single: [], cross: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.single.push(
      await scenario('single node (memory)', () => {
        const b = new MemoryBackend();
        return [b, b];
      }),
    );
    const prefix = `dotmac-ws-bench:${randomBytes(4).toString('hex')}:`;
    runs.cross.push(
      await scenario('two nodes over Redis', () => [
        new RedisBackend({ url: REDIS_URL, keyPrefix: prefix }),
        new RedisBackend({ url: REDIS_URL, keyPrefix: prefix }),
      ]),
    );
  }
  const summary = (list) => ({
    deliveries_per_s: median(list.map((r) => r.deliveries_per_s)),
    p50_ms: median(list.map((r) => r.latency_ms.p50)),
    p99_ms: median(list.map((r) => r.latency_ms.p99)),
  });
  const single = summary(runs.single);
  const cross = summary(runs.cross);
  console.log(
    JSON.stringify(
      {
        subscribers: SUBSCRIBERS,
        messages: MESSAGES,
        rate: RATE,
        seconds: SECONDS,
        rounds: ROUNDS,
        single,
        cross,
      },
      null,
      2,
    ),
  );
  console.log(
    `cross-node / single-node throughput: ${(cross.deliveries_per_s / single.deliveries_per_s).toFixed(2)}`,
  );
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One run: subscribers on node A, publisher on node B (the same node when they share a backend). */
async function scenario(name, backends) {
  const [ba, bb] = backends();
  const a = await new WebSocketGateway({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    backend: ba,
  }).start();
  const b =
    ba === bb
      ? a
      : await new WebSocketGateway({ port: 0, host: '127.0.0.1', logger: silentLogger, backend: bb }).start();
  const child = fork(fileURLToPath(import.meta.url), [
    'clients',
    `ws://127.0.0.1:${a.address().port}/ws`,
    String(SUBSCRIBERS),
  ]);
  const inbox = [];
  let delivered = 0;
  let waiter = null;
  child.on('message', (m) => {
    if (m.type === 'progress') delivered = m.total;
    else inbox.push(m);
    waiter?.();
  });
  const next = async (type) => {
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(i, 1)[0];
      await new Promise((r) => {
        waiter = r;
      });
    }
  };
  await next('ready');
  await sleep(300);

  // Saturation: publish as fast as the subscribers take it, at most WINDOW messages ahead.
  const t0 = now();
  for (let seq = 0; seq < MESSAGES; seq++) {
    while (seq - Math.floor(delivered / SUBSCRIBERS) >= WINDOW) {
      await new Promise((r) => {
        waiter = r;
      });
    }
    // Not awaited: a publish is answered by Redis only when this process next reads its socket,
    // which would make the benchmark measure its own event loop rather than the backend.
    void b.broadcastToChannel('bench', 'tick', { seq, t: now() });
    if (seq % WINDOW === WINDOW - 1) await new Promise(setImmediate);
  }
  while (delivered < MESSAGES * SUBSCRIBERS) {
    await new Promise((r) => {
      waiter = r;
    });
  }
  const seconds = (now() - t0) / 1000;
  const deliveriesPerS = Math.round((MESSAGES * SUBSCRIBERS) / seconds);

  // Latency at a fixed rate.
  child.send({ type: 'record' });
  await sleep(100);
  const start = now();
  const count = RATE * SECONDS;
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    await b.broadcastToChannel('bench', 'tick', { seq: i, t: now() });
  }
  const expected = (MESSAGES + count) * SUBSCRIBERS;
  const deadline = now() + 10_000;
  while (delivered < expected && now() < deadline) await sleep(20);
  child.send({ type: 'report' });
  const latency = await next('latency');
  child.send({ type: 'exit' });
  await a.stop();
  if (b !== a) await b.stop();
  const result = {
    name,
    deliveries_per_s: deliveriesPerS,
    saturation_seconds: Math.round(seconds * 100) / 100,
    latency_ms: {
      rate_msgs_per_s: RATE,
      deliveries: latency.n,
      p50: round(latency.p50),
      p99: round(latency.p99),
      max: round(latency.max),
    },
  };
  console.error(JSON.stringify(result));
  return result;
}

function round(x) {
  return Math.round(x * 100) / 100;
}
