// The reconnect storm through @dotmac-ws/loadtest's `recovery` scenario (`--storm-runner
// loadtest`). That scenario spreads its subscribers over every URL in turn, so 10,000 clients
// on node A take 20,000 connections over A and B (10,000 stay on B and are not affected): the
// runner and node B need an open-files limit above 20,000. It adds the loadtest's per-message
// checks (sequence numbers per publisher and channel: lost, duplicated, out of order).
import { runLoad } from '@dotmac-ws/loadtest';
import { check } from './summary.mjs';

/** Seconds into the measured phase when node A is killed. */
const DISRUPT_AT_SEC = 3;

/** Like {@link leanStorm}, through runLoad. */
export async function loadtestStorm(ctx, { a, b, store, sampler }) {
  let measuringAt = 0;
  const r = await runLoad({
    scenario: 'recovery',
    urls: [a.url, b.url],
    publishUrls: [b.url],
    connections: 2 * ctx.clients,
    channels: ctx.channels,
    publishers: 4,
    rate: ctx.rate,
    payloadBytes: 100,
    durationSec: DISRUPT_AT_SEC + ctx.timeoutMs / 1000 + 2,
    disruptAtSec: DISRUPT_AT_SEC,
    killPids: [a.pid],
    serverPids: [b.pid, store.pid],
    // The loadtest's schedule: a random wait up to this, doubling per failed attempt (the SDK's
    // first wait is 0.5-1 s; this one 0-1 s).
    reconnectDelayMs: 2 * ctx.reconnectMinDelayMs,
    reconnectMaxDelayMs: ctx.reconnectMaxDelayMs,
    recoveryTimeoutMs: ctx.timeoutMs,
    sourceAddresses: Math.ceil((3 * ctx.clients) / 25_000),
    connectConcurrency: 256,
    connectTimeoutMs: 20_000,
    drainMs: 5000,
    onPhase: async (p) => {
      if (p === 'measuring') {
        measuringAt = performance.now();
        await sampler.start();
      }
    },
  });
  await sampler.stop();
  const rec = r.recovery;
  const killedAt = measuringAt + (rec.disruptedAtSec ?? DISRUPT_AT_SEC) * 1000;
  const correctness = check(`${store.kind} storm`, r);
  return {
    killedAt,
    endedAt: killedAt + (rec.allRecoveredMs ?? ctx.timeoutMs),
    figures: {
      runner: 'loadtest',
      clients: rec.affected,
      steadyOnB: r.settings.connections - rec.affected,
      affected: rec.affected,
      recovered: rec.recovered,
      resynced: rec.resynced,
      unrecovered: rec.unrecovered,
      allRecoveredMs: rec.allRecoveredMs === null ? null : Math.round(rec.allRecoveredMs),
      p50RecoveryMs: rec.recoveryMs.p50,
      p99RecoveryMs: rec.recoveryMs.p99,
      lost: r.messages.lost,
      duplicates: r.messages.duplicates,
      outOfOrder: r.messages.outOfOrder,
      droppedByOffset: rec.droppedByOffset,
      attempts: rec.attempts,
      attemptFailures: rec.attemptFailures,
      recoveredPublications: rec.recoveredPublications,
      published: r.messages.sent,
      errors: r.errors,
      correctness: [{ ...correctness, failures: correctness.failures + rec.unrecovered + rec.resynced }],
    },
  };
}
