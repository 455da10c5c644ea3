// The reconnect storm (issue 15): 10,000 clients of channels with history on node A of two
// gateways over one store, publishers running on node B; node A is killed (SIGKILL) and every
// client reconnects to B and subscribes again with `since`. Measures the time until all of
// them recovered, what they lost or got twice (by offset), and the CPU of the store, of node B
// and of this runner during the storm.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sampleProcess } from '@dotmac-ws/loadtest';
import { listenOverflows, sleep } from './net-util.mjs';
import { newTally, RecoveringClient } from './recovering-client.mjs';
import { rulesEnv } from './rules-file.mjs';
import { schedWaitMs, waitShare } from './sched-wait.mjs';
import { opsDelta, startStore } from './store-process.mjs';
import { StormPublishers, topOffsets } from './storm-publishers.mjs';
import { log, runnerCpuMs } from './summary.mjs';

/** Handshakes in flight while the clients first connect to node A. */
const CONNECT_CONCURRENCY = 256;
/** Connections one source address carries: each client holds one port, then a second while it reconnects. */
const PORTS_PER_ADDRESS = 25_000;

const cpu = (pid) => sampleProcess(pid)?.cpuMs ?? null;
const percentile = (sorted, p) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/**
 * One storm over `backend` (`redis` or `nats`). `ctx`: `{ pinning, startGateway(env),
 * clients, channels, rate, historySize, timeoutMs }`.
 */
export async function stormRun(ctx, backend) {
  const store = await startStore(backend, { pinning: ctx.pinning });
  const started = [];
  const clients = [];
  let publishers = null;
  try {
    const env = {
      ...store.env,
      ...rulesEnv({ history_size: ctx.historySize, history_ttl_ms: 300_000, recovery: 'stream' }),
    };
    const a = await ctx.startGateway(env);
    started.push(a);
    const b = await ctx.startGateway(env);
    started.push(b);
    const channels = Array.from({ length: ctx.channels }, (_, c) => `storm-${c}`);
    const tally = newTally();
    // Past one address's ephemeral ports, clients spread over 127.0.0.1..N (binding an address
    // costs the runner a port search per connection, so a single address is left to the kernel).
    const addresses = Math.ceil((2 * ctx.clients) / PORTS_PER_ADDRESS);
    for (let i = 0; i < ctx.clients; i++) {
      clients.push(
        new RecoveringClient({
          index: i,
          channel: channels[i % channels.length],
          urls: [a.url, b.url],
          localAddress: addresses > 1 ? `127.0.0.${1 + (i % addresses)}` : undefined,
          timeoutMs: 10_000,
          minDelayMs: ctx.reconnectMinDelayMs,
          maxDelayMs: ctx.reconnectMaxDelayMs,
          giveUpMs: ctx.timeoutMs,
          maxAttempts: 50,
          tally,
        }),
      );
    }

    // 1. Every client connects to node A and subscribes (not measured).
    const failures = {};
    const connectStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONNECT_CONCURRENCY }, async () => {
        while (next < clients.length && performance.now() - connectStarted < 180_000) {
          const client = clients[next++];
          const reason = await client.start(0);
          if (reason !== null) failures[reason] = (failures[reason] ?? 0) + 1;
        }
      }),
    );
    const ready = clients.filter((c) => c.epoch !== null);
    log(
      `    ${ready.length} of ${clients.length} clients subscribed on node A in ${Math.round(performance.now() - connectStarted)} ms${Object.keys(failures).length ? `; failed: ${JSON.stringify(failures)}` : ''}`,
    );
    if (ready.length === 0) return { skipped: `no client could subscribe: ${JSON.stringify(failures)}` };

    // 2. Publishers on node B; a short warm-up so that every channel is live.
    publishers = new StormPublishers({ url: b.url, count: 4, channels, rate: ctx.rate });
    await publishers.open();
    publishers.start();
    await sleep(2000);

    // 3. Node A dies. The measured phase runs until every client recovered (or gave up).
    const before = {
      store: cpu(store.pid),
      b: cpu(b.pid),
      ops: await store.counts(),
      overflows: listenOverflows(),
      bWait: schedWaitMs(b.pid),
      runnerWait: schedWaitMs(),
    };
    const runnerFrom = process.cpuUsage();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const killedAt = performance.now();
    await a.kill();
    const deadline = killedAt + ctx.timeoutMs + 5000;
    let lastLog = killedAt;
    /** Clients recovered at each whole second after the kill. */
    const progress = [];
    while (performance.now() < deadline) {
      const down = ready.reduce((n, c) => n + (c.down || c.lostAt === null ? 1 : 0), 0);
      if (down === 0) break;
      const now = performance.now();
      while ((progress.length + 1) * 1000 <= now - killedAt) progress.push(ready.length - down);
      if (now - lastLog >= 2000) {
        lastLog = now;
        log(
          `    ${Math.round((now - killedAt) / 100) / 10} s after the kill: ${ready.length - down} recovered`,
        );
      }
      await sleep(20);
    }
    const endedAt = performance.now();
    const stormMs = endedAt - killedAt;
    const after = {
      store: cpu(store.pid),
      b: cpu(b.pid),
      ops: await store.counts(),
      overflows: listenOverflows(),
      bWait: schedWaitMs(b.pid),
      runnerWait: schedWaitMs(),
    };
    const runnerMs = runnerCpuMs(runnerFrom);
    loopDelay.disable();

    // 4. One more second of publishing on B, then every client must reach the channels' tops.
    await sleep(1000);
    await publishers.stop();
    const tops = await topOffsets(b.url, channels);
    const drainUntil = performance.now() + 5000;
    while (
      performance.now() < drainUntil &&
      ready.some((c) => !c.gaveUp && c.last < (tops[c.o.channel] ?? 0))
    ) {
      await sleep(20);
    }

    const affected = ready.filter((c) => c.lostAt !== null);
    const recovered = affected.filter((c) => c.recoveredAt !== null && !c.resynced);
    const resynced = affected.filter((c) => c.resynced).length;
    const unrecovered = affected.filter((c) => c.recoveredAt === null).length;
    const times = recovered.map((c) => c.recoveredAt - killedAt).sort((p, q) => p - q);
    const allRecovered = unrecovered === 0 && resynced === 0 && affected.length === ready.length;
    let lost = 0;
    let duplicates = 0;
    let behind = 0;
    for (const c of ready) {
      lost += c.gaps;
      duplicates += c.duplicates;
      const top = tops[c.o.channel];
      if (typeof top === 'number' && c.last < top) behind += top - c.last;
    }
    lost += behind;
    const ops = opsDelta(backend, before.ops, after.ops);
    const runnerBusy = runnerMs / Math.max(1, stormMs);
    return {
      clients: ready.length,
      failedToConnect: clients.length - ready.length,
      channels: ctx.channels,
      rate: ctx.rate,
      affected: affected.length,
      recovered: recovered.length,
      resynced,
      unrecovered,
      allRecoveredMs: allRecovered ? Math.round(times.at(-1) ?? 0) : null,
      p50RecoveryMs: percentile(times, 50),
      p99RecoveryMs: percentile(times, 99),
      recoveredPerSec:
        times.length > 0 ? Math.round((times.length * 1000) / Math.max(1, times.at(-1))) : null,
      lost,
      duplicates,
      recoveredPublications: tally.recoveredPublications,
      received: ready.reduce((n, c) => n + c.received, 0),
      early: tally.early,
      heldDropped: tally.heldDropped,
      attempts: tally.attempts,
      attemptFailures: tally.attemptFailures,
      published: publishers.sent,
      publishRefused: publishers.refused,
      stormMs: Math.round(stormMs),
      storeCpuMs: after.store !== null && before.store !== null ? after.store - before.store : null,
      storeCpuShare:
        after.store !== null && before.store !== null
          ? (after.store - before.store) / Math.max(1, stormMs)
          : null,
      storeOps: ops.total,
      storeOpsPerClient: Math.round((ops.total / Math.max(1, affected.length)) * 100) / 100,
      storeScripts: ops.scripts,
      storeOpsBy: ops.by,
      survivorCpuMs: after.b !== null && before.b !== null ? after.b - before.b : null,
      recoveredBySecond: progress,
      listenOverflows:
        before.overflows !== null && after.overflows !== null ? after.overflows - before.overflows : null,
      survivorWaitShare: waitShare(before.bWait, after.bWait, stormMs),
      runnerCpuMs: Math.round(runnerMs),
      runnerWaitShare: waitShare(before.runnerWait, after.runnerWait, stormMs),
      runnerLoopDelayMaxMs: Math.round(loopDelay.max / 1e6),
      runnerBusy,
      correctness: [
        { lost, duplicates, outOfOrder: 0, failures: unrecovered + resynced + clients.length - ready.length },
      ],
    };
  } finally {
    publishers?.close();
    for (const c of clients) c.stop();
    for (const s of started) await s.stop();
    await store.stop();
  }
}
