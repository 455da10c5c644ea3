// The reconnect storm with the bench's own lean clients (recovering-client.mjs): every client
// starts on node A, so 10,000 clients of the killed node take 10,000 connections (the
// loadtest's recovery scenario spreads subscribers over all its URLs: 10,000 on A take 20,000).
import { sleep } from './net-util.mjs';
import { newTally, RecoveringClient } from './recovering-client.mjs';
import { StormPublishers, topOffsets } from './storm-publishers.mjs';
import { log } from './summary.mjs';

/** Handshakes in flight while the clients first connect to node A. */
const CONNECT_CONCURRENCY = 256;
/** Connections one source address carries: each client holds one port, then a second while it reconnects. */
const PORTS_PER_ADDRESS = 25_000;

const percentile = (sorted, p) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/**
 * Connects `ctx.clients` clients to `a`, publishes on `b`, kills `a` and waits until every
 * client recovered on `b` (bounded by `ctx.timeoutMs`). Resolves with the counts and the
 * storm's window `{ killedAt, endedAt }` for the sampler; `{ skipped }` when no client could
 * subscribe.
 */
export async function leanStorm(ctx, { a, b, sampler }) {
  const channels = Array.from({ length: ctx.channels }, (_, c) => `storm-${c}`);
  const tally = newTally();
  const clients = [];
  let publishers = null;
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
  try {
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
    await sampler.start();
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
    await sampler.stop();

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
    for (const c of ready) {
      lost += c.gaps;
      duplicates += c.duplicates;
      const top = tops[c.o.channel];
      if (typeof top === 'number' && c.last < top) lost += top - c.last;
    }
    return {
      killedAt,
      endedAt,
      figures: {
        runner: 'bench',
        clients: ready.length,
        failedToConnect: clients.length - ready.length,
        affected: affected.length,
        recovered: recovered.length,
        resynced,
        unrecovered,
        allRecoveredMs: allRecovered ? Math.round(times.at(-1) ?? 0) : null,
        p50RecoveryMs: percentile(times, 50),
        p99RecoveryMs: percentile(times, 99),
        recoveredBySecond: progress,
        lost,
        duplicates,
        attempts: tally.attempts,
        attemptFailures: tally.attemptFailures,
        recoveredPublications: tally.recoveredPublications,
        received: ready.reduce((n, c) => n + c.received, 0),
        early: tally.early,
        heldDropped: tally.heldDropped,
        published: publishers.sent,
        publishRefused: publishers.refused,
        correctness: [
          {
            lost,
            duplicates,
            outOfOrder: 0,
            failures: unrecovered + resynced + clients.length - ready.length,
          },
        ],
      },
    };
  } finally {
    publishers?.close();
    for (const c of clients) c.stop();
  }
}
