// Cross-node delivery benchmark: the same workload over a single node (memory backend), two
// nodes over NATS, and two nodes over Redis (when @dotmac-ws/backend-redis is built).
//
//   pnpm --filter @dotmac-ws/backend-nats bench
//   BENCH_MESSAGES=20000 BENCH_SUBSCRIBERS=20 BENCH_RATE=2000 node bench/cross-node.mjs
//
// Node A publishes through the server API; the subscribers are WebSocket clients of node B
// (of node A itself for the single node). Everything runs in this one process on 127.0.0.1, so
// the figures compare the backends under the same load rather than measure a deployment.
//   burst:   BENCH_MESSAGES messages, BENCH_WINDOW (100) broadcasts in flight at a time (as
//            from many publishers); deliveries per second until every subscriber has all.
//   latency: BENCH_RATE messages per second for BENCH_SECONDS; publish-to-receive time.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MemoryBackend, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import WebSocket from 'ws';
import { NatsBackend } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const int = (name, fallback, max) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new Error(`${name} must be an integer from 1 to ${max}`);
  return v;
};
const MESSAGES = int('BENCH_MESSAGES', 20_000, 1_000_000);
const SUBSCRIBERS = int('BENCH_SUBSCRIBERS', 10, 1000);
const RATE = int('BENCH_RATE', 2000, 100_000);
const SECONDS = int('BENCH_SECONDS', 3, 60);
const WINDOW = int('BENCH_WINDOW', 100, 10_000);
const TIMEOUT_MS = 60_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startGateway(backend) {
  const gateway = new WebSocketGateway({
    port: 0,
    host: '127.0.0.1',
    backend,
    logger: silentLogger,
    drainTimeoutMs: 0,
    maxBufferedBytes: 64 * 1024 * 1024,
  });
  await gateway.start();
  return gateway;
}

/** A subscribed client that counts `bench` frames and records latencies of `lat` frames. */
async function subscriber(gateway, channel) {
  const ws = new WebSocket(`ws://127.0.0.1:${gateway.address().port}/ws`, { perMessageDeflate: false });
  const state = { ws, burst: 0, latencies: [] };
  await new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString());
      if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', id: 1, channel }));
      else if (f.type === 'ack' && f.id === 1) resolve();
      else if (f.type === 'burst') state.burst++;
      else if (f.type === 'lat') state.latencies.push(performance.now() - f.data.t);
    });
  });
  return state;
}

async function until(check, what) {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function percentile(sorted, p) {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function run(name, makeBackends) {
  const [backendA, backendB] = await makeBackends();
  const a = await startGateway(backendA);
  const b = backendB === undefined ? a : await startGateway(backendB);
  try {
    const channel = `bench-${randomBytes(3).toString('hex')}`;
    const subs = [];
    for (let i = 0; i < SUBSCRIBERS; i++) subs.push(await subscriber(b, channel));
    // Warm up until the first message crosses (subscriptions confirmed on every path).
    for (let i = 0; i < 200 && subs.some((s) => s.latencies.length === 0); i++) {
      await a.broadcastToChannel(channel, 'lat', { t: performance.now() });
      await sleep(10);
    }
    for (const s of subs) s.latencies.length = 0;

    // Burst.
    const payload = { text: 'x'.repeat(100) };
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i += WINDOW) {
      const window = [];
      for (let j = i; j < Math.min(i + WINDOW, MESSAGES); j++) {
        window.push(a.broadcastToChannel(channel, 'burst', payload));
      }
      await Promise.all(window);
      await new Promise((r) => setImmediate(r));
    }
    await until(
      () => subs.every((s) => s.burst >= MESSAGES),
      `${MESSAGES} burst messages on every subscriber`,
    );
    const burstSec = (performance.now() - t0) / 1000;

    // Latency at a fixed rate.
    const total = RATE * SECONDS;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      await a.broadcastToChannel(channel, 'lat', { t: performance.now() });
    }
    await until(
      () => subs.every((s) => s.latencies.length >= total),
      `${total} timed messages on every subscriber`,
    );
    const lat = subs.flatMap((s) => s.latencies).sort((x, y) => x - y);
    for (const s of subs) s.ws.close();
    return {
      setup: name,
      'burst msg/s': Math.round(MESSAGES / burstSec),
      'burst deliveries/s': Math.round((MESSAGES * SUBSCRIBERS) / burstSec),
      'p50 ms': +percentile(lat, 0.5).toFixed(2),
      'p99 ms': +percentile(lat, 0.99).toFixed(2),
      'max ms': +lat.at(-1).toFixed(2),
    };
  } finally {
    await a.stop();
    if (b !== a) await b.stop();
  }
}

const results = [];
results.push(await run('single node (memory)', async () => [new MemoryBackend()]));
const subjectPrefix = `dotmac-ws-bench.${randomBytes(4).toString('hex')}`;
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
results.push(
  await run('2 nodes over NATS', async () => [
    new NatsBackend({ servers: natsUrl, subjectPrefix }),
    new NatsBackend({ servers: natsUrl, subjectPrefix }),
  ]),
);
const redisDist = join(here, '../../backend-redis/dist/index.js');
if (existsSync(redisDist)) {
  const { RedisBackend } = await import(pathToFileURL(redisDist).href);
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keyPrefix = `dotmac-ws-bench:${randomBytes(4).toString('hex')}:`;
  results.push(
    await run('2 nodes over Redis', async () => [
      new RedisBackend({ url, keyPrefix }),
      new RedisBackend({ url, keyPrefix }),
    ]),
  );
} else {
  console.log('(Redis skipped: packages/backend-redis/dist is not built)');
}

console.log(
  `\ncross-node benchmark: ${MESSAGES} burst messages (${WINDOW} in flight), ${SUBSCRIBERS} subscribers, ${RATE} msg/s for ${SECONDS} s, node ${process.version}\n`,
);
console.table(results);
