// The reconnect storm (issue 15): clients of channels with history on node A of two gateways
// over one store (the bench's own redis-server or nats-server), publishers running on node B;
// node A is killed (SIGKILL) and every client reconnects to B and subscribes again with
// `since`. Reports the time until all of them recovered, what they lost or got twice, and the
// CPU of the store, of node B and of this runner over the storm.
import { rulesEnv } from './rules-file.mjs';
import { startStore } from './store-process.mjs';
import { leanStorm } from './storm-lean.mjs';
import { loadtestStorm } from './storm-loadtest.mjs';
import { withServerState } from './summary.mjs';
import { WindowSampler } from './window-sampler.mjs';

/**
 * One storm over `backend` (`redis` or `nats`). `ctx`: `{ pinning, startGateway(env),
 * clients, channels, rate, historySize, timeoutMs, reconnectMinDelayMs, reconnectMaxDelayMs,
 * stormRunner: 'bench' | 'loadtest' }`.
 */
export async function stormRun(ctx, backend) {
  const store = await startStore(backend, { pinning: ctx.pinning });
  const started = [];
  try {
    const env = {
      ...store.env,
      ...rulesEnv({ history_size: ctx.historySize, history_ttl_ms: 300_000, recovery: 'stream' }),
    };
    const a = await ctx.startGateway(env);
    started.push(a);
    const b = await ctx.startGateway(env);
    started.push(b);
    const sampler = new WindowSampler(store, [b.pid]);
    const run = ctx.stormRunner === 'loadtest' ? loadtestStorm : leanStorm;
    const r = await withServerState([a, b], () => run(ctx, { a, b, store, sampler }));
    if (r.skipped) return r;
    const w = sampler.window(r.killedAt, r.endedAt);
    return {
      channels: ctx.channels,
      rate: ctx.rate,
      ...r.figures,
      stormMs: w.wallMs,
      storeCpuMs: w.storeCpuMs,
      storeCpuShare: w.storeCpuShare,
      storeOps: w.storeOps,
      storeOpsPerClient: Math.round((w.storeOps / Math.max(1, r.figures.affected)) * 100) / 100,
      storeScripts: w.storeScripts,
      storeOpsBy: w.storeOpsBy,
      survivorCpuMs: w.serverCpuMs,
      survivorWaitShare: w.serverWaitShare,
      listenOverflows: w.listenOverflows,
      runnerCpuMs: w.runnerCpuMs,
      runnerBusy: w.runnerBusy,
      runnerWaitShare: w.runnerWaitShare,
      runnerLoopDelayMaxMs: w.runnerLoopDelayMaxMs,
    };
  } finally {
    for (const s of started) await s.stop();
    await store.stop();
  }
}
