// Frames per second through one gateway, without the rate limiter, with it (memory store, with
// and without yielding to the event loop) and with it on Redis (when 127.0.0.1:6379 answers), in the same run. Limits are set high so that
// every frame is performed: this measures what checking costs, not refusing.
// Build first: `pnpm --filter @dotmac-ws/ratelimit build`, then `node bench/frames-per-second.mjs`.
// Env: BENCH_CLIENTS (4), BENCH_FRAMES (20000 per client), BENCH_WINDOW (64), BENCH_ROUNDS (3).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { Redis } from 'ioredis';
import { createRateLimiter } from '../dist/index.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const FRAMES = Number(process.env.BENCH_FRAMES ?? 20_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LOAD = fileURLToPath(new URL('./load-client.mjs', import.meta.url));
const HIGH = { messagesPerMinute: 60_000_000, burstSize: 1_000_000, maxConnectionsPerIp: 0 };

const reachable = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

function load(url) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, url, String(CLIENTS), String(FRAMES), String(WINDOW)], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`)),
    );
  });
}

async function measure(variant, redis) {
  const gw = new WebSocketGateway({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    maxPendingFrames: 10_000,
  });
  let limiter;
  if (variant !== 'none') {
    limiter = createRateLimiter({
      ...HIGH,
      ...(variant === 'redis' ? { redis, keyPrefix: `dotmac-bench:${process.pid}:${Date.now()}` } : {}),
    });
    gw.use(limiter);
  }
  await gw.start();
  try {
    const cpu0 = process.cpuUsage();
    const r = await load(`ws://127.0.0.1:${gw.address().port}/ws`);
    const cpu = process.cpuUsage(cpu0);
    if (r.errors > 0) throw new Error(`${variant}: ${r.errors} frames were refused`);
    // Wall-clock rate, and the gateway process's CPU time per frame (less sensitive to other load).
    return { rate: (r.frames / r.ms) * 1000, cpuUs: (cpu.user + cpu.system) / r.frames };
  } finally {
    limiter?.close();
    await gw.stop();
  }
}

const variants = ['none', 'memory', 'memory, yieldEvery 0'];
let redis;
if (await reachable(6379)) {
  redis = new Redis({ host: '127.0.0.1', port: 6379, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
  variants.push('redis');
}
const results = Object.fromEntries(variants.map((v) => [v, { rate: [], cpuUs: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const m = await measure(v, redis);
    results[v].rate.push(m.rate);
    results[v].cpuUs.push(m.cpuUs);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = { rate: median(results.none.rate), cpuUs: median(results.none.cpuUs) };
console.log(`${CLIENTS} clients x ${FRAMES} pings, ${WINDOW} in flight each, ${ROUNDS} rounds; medians`);
for (const v of variants) {
  const rate = median(results[v].rate);
  const cpuUs = median(results[v].cpuUs);
  console.log(
    `${v.padEnd(20)} ${Math.round(rate).toString().padStart(7)} frames/s (rounds ${results[v].rate.map((x) => Math.round(x)).join(', ')})` +
      `  gateway CPU ${cpuUs.toFixed(2)} µs/frame` +
      (v === 'none'
        ? ''
        : `  -> ${((rate / base.rate) * 100).toFixed(1)}% of the rate, +${(cpuUs - base.cpuUs).toFixed(2)} µs CPU per frame`),
  );
}
await redis?.quit();
