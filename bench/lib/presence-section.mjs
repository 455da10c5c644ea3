// The presence join storm (issue 16): 2,000 connected sessions subscribe to one channel at
// once, with presence off, on, and on with join/leave pushes. Measures the time until every
// subscribe was answered, until the join pushes stopped, the gateways' CPU, and the store
// operations per join (Redis: INFO commandstats deltas; NATS: messages into the server).
import { LeanSocket } from './lean-socket.mjs';
import { sleep } from './net-util.mjs';
import { rulesEnv } from './rules-file.mjs';
import { startStore } from './store-process.mjs';
import { log, usPer } from './summary.mjs';
import { WindowSampler } from './window-sampler.mjs';

const CONNECT_CONCURRENCY = 256;
/** The join pushes are over when none came for this long after the last subscribe was answered. */
const QUIET_MS = 1000;
const JOIN = Buffer.from('{"type":"join"');

/** The three sides of the comparison: channel options in the rules file. */
export const PRESENCE_VARIANTS = {
  off: {},
  presence: { presence: true },
  join_leave: { presence: true, join_leave: true },
};

/** A session that is ready (welcome received); counts what it gets after that. */
async function openMember(url, tally, timeoutMs = 20_000) {
  const ws = await LeanSocket.connect(url, { protocol: 'dotmac.v1', timeoutMs });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no welcome'));
    }, timeoutMs);
    ws.onClose = () => {
      clearTimeout(timer);
      reject(new Error('closed before welcome'));
    };
    ws.onMessage = () => {
      clearTimeout(timer);
      ws.onClose = null;
      ws.onMessage = (data) => {
        if (data.length >= JOIN.length && data.compare(JOIN, 0, JOIN.length, 0, JOIN.length) === 0) {
          tally.joins++;
          tally.lastJoinAt = performance.now();
        } else if (data[9] === 97 /* ack */) {
          tally.acks++;
          tally.lastAckAt = performance.now();
        } else if (data[9] === 101 /* error */) {
          tally.errors++;
          tally.lastAckAt = performance.now();
        }
      };
      resolve(ws);
    };
  });
}

/**
 * One join storm: `ctx.members` sessions (memory: one node; redis/nats: split over two, as
 * the cross-node sections do) subscribe to one channel at once. `variant` names
 * {@link PRESENCE_VARIANTS}. `ctx`: `{ pinning, startGateway(env), members, timeoutMs }`.
 */
export async function presenceRun(ctx, backend, variant) {
  const store = backend === 'memory' ? null : await startStore(backend, { pinning: ctx.pinning });
  const gateways = [];
  const sockets = [];
  try {
    const env = { ...(store?.env ?? {}), ...rulesEnv(PRESENCE_VARIANTS[variant]) };
    const nodes = backend === 'memory' ? 1 : 2;
    for (let n = 0; n < nodes; n++) gateways.push(await ctx.startGateway(env));
    const tally = { acks: 0, errors: 0, joins: 0, lastAckAt: 0, lastJoinAt: 0 };
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: CONNECT_CONCURRENCY }, async () => {
        while (next < ctx.members) {
          const i = next++;
          try {
            sockets.push(await openMember(gateways[i % nodes].url, tally));
          } catch {
            failed++;
          }
        }
      }),
    );
    if (sockets.length === 0) {
      const states = gateways.map((g) => g.state()).filter(Boolean);
      throw new Error(`no session could connect${states.length > 0 ? ` (${states.join('; ')})` : ''}`);
    }
    await sleep(500);

    const channel = `presence-${Date.now()}`;
    const frame = JSON.stringify({ type: 'subscribe', id: 1, data: { channel } });
    const sampler = new WindowSampler(
      store,
      gateways.map((g) => g.pid),
    );
    await sampler.start();
    const t0 = performance.now();
    for (const ws of sockets) ws.send(frame);
    const deadline = t0 + ctx.timeoutMs;
    while (performance.now() < deadline) {
      const answered = tally.acks + tally.errors >= sockets.length;
      const quiet = performance.now() - Math.max(tally.lastAckAt, tally.lastJoinAt) >= QUIET_MS;
      if (answered && quiet) break;
      await sleep(20);
    }
    const end = Math.max(tally.lastAckAt, tally.lastJoinAt, t0);
    await sampler.stop();
    const w = sampler.window(t0, end);
    const members = sockets.length;
    if (tally.acks + tally.errors < members) {
      log(`    ! ${tally.acks + tally.errors} of ${members} subscribes answered within ${ctx.timeoutMs} ms`);
    }
    const perJoin = (n) => (n === null ? null : Math.round((n / members) * 100) / 100);
    return {
      members,
      failedToConnect: failed,
      subscribeErrors: tally.errors,
      allSubscribedMs: tally.acks + tally.errors >= members ? Math.round(tally.lastAckAt - t0) : null,
      joinsDoneMs: variant === 'join_leave' ? Math.round(tally.lastJoinAt - t0) : null,
      // Each subscriber gets the join of every member announced after it subscribed (its own
      // included): between n(n+1)/2 and n^2 pushes, depending on how subscribes interleave.
      joinPushes: tally.joins,
      serverCpuMs: w.serverCpuMs,
      serverCpuUsPerJoin: usPer(w.serverCpuMs, members),
      serverCpuUsPerPush: variant === 'join_leave' ? usPer(w.serverCpuMs, tally.joins) : null,
      storeCpuMs: w.storeCpuMs,
      storeOpsPerJoin: perJoin(w.storeOps),
      storeScriptsPerJoin: perJoin(w.storeScripts),
      storeOpsBy: w.storeOpsBy,
      windowMs: w.wallMs,
      serverWaitShare: w.serverWaitShare,
      runnerCpuMs: w.runnerCpuMs,
      runnerBusy: w.runnerBusy,
      runnerWaitShare: w.runnerWaitShare,
      correctness: [{ lost: 0, duplicates: 0, outOfOrder: 0, failures: failed + tally.errors }],
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const g of gateways) await g.stop();
    await store?.stop();
  }
}
