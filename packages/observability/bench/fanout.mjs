// One fan-out run: a gateway with observability set as argv[2] says, N subscribers in another
// process, M broadcasts to their channel; prints one JSON line with the throughput.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { MemoryBackend, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { createDotmacObservabilityHooks, createSampler } from '../dist/index.js';

const mode = process.argv[2]; // off | metrics | metrics-lean | tracing0 | tracing1
const N = Number(process.env.BENCH_CLIENTS ?? 100);
const M = Number(process.env.BENCH_MESSAGES ?? 10000);
const WARMUP = Math.min(2000, M);
const otlp = process.env.BENCH_OTLP_URL;

let obs;
if (mode !== 'off') {
  const tracing = mode.startsWith('tracing');
  obs = createDotmacObservabilityHooks('bench', {
    // metrics-lean: without prom-client's process/event-loop collectors (they sample on timers,
    // so their cost follows wall time, not traffic).
    metrics: mode === 'metrics-lean' ? { defaultMetrics: false } : {},
    tracing: tracing ? {} : false,
    startSdk: tracing
      ? { url: otlp, sampler: createSampler('parentbased_traceidratio', mode === 'tracing1' ? 1 : 0) }
      : false,
  });
}
const backend = obs ? obs.traceBackend(new MemoryBackend()) : new MemoryBackend();
const gw = new WebSocketGateway({ port: 0, host: '127.0.0.1', logger: silentLogger, backend });
if (obs) obs.instrument(gw);
await gw.start();
const url = `ws://127.0.0.1:${gw.address().port}/ws`;

const clients = spawn(
  process.execPath,
  [new URL('./clients.mjs', import.meta.url).pathname, url, String(N)],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const lines = createInterface({ input: clients.stdout });
const next = () => new Promise((resolve) => lines.once('line', resolve));
await next(); // ready

const payload = { text: 'x'.repeat(80), n: 0 };
async function round(count) {
  clients.stdin.write(`expect ${count * N}\n`);
  await next(); // armed: the clients count from zero before the first broadcast goes out
  const done = next();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    payload.n = i;
    await gw.broadcastToChannel('bench', 'tick', payload);
    // Let the sockets drain now and then, as a real server between events would.
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  await done;
  const cpu = process.cpuUsage(cpu0);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuUs: cpu.user + cpu.system };
}
await round(WARMUP);
const { ms, cpuUs } = await round(M);
if (obs) await gw.getPrometheusMetrics(); // a scrape works (and is not timed)
clients.stdin.write('exit\n');
await gw.stop();
await obs?.shutdown();
process.stdout.write(
  `${JSON.stringify({ mode, clients: N, broadcasts: M, ms: Math.round(ms), broadcasts_per_s: Math.round((M / ms) * 1000), deliveries_per_s: Math.round(((M * N) / ms) * 1000), server_cpu_us_per_broadcast: Number((cpuUs / M).toFixed(1)) })}\n`,
);
process.exit(0);
