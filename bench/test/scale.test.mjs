// The scale section on small numbers: 200 connections from 2 client processes over 2 source
// addresses, against the ws floor and the built reference gateway (each with and without JWT); and
// how it clamps to the open-files limit (not pinned: tests share the machine).
import { describe, expect, it } from 'vitest';
import { LeanSocket } from '../lib/lean-socket.mjs';
import { FD_HEADROOM, openFilesLimit, SCALE_VARIANTS, scalePlan, scaleRun } from '../lib/scale-section.mjs';
import { SERVERS } from '../lib/server-defs.mjs';
import { startServer } from '../lib/server-process.mjs';
import { signToken } from '../lib/shapes-load.mjs';

const ctx = {
  startServer: (kind, env) => startServer(SERVERS[kind], { pinning: false, env }),
  concurrency: 32,
  idleMs: 1500,
  heartbeatMs: 400,
  broadcastWaitMs: 5000,
  connectTimeoutMs: 10_000,
};
const plan = scalePlan({ connections: 200, processes: 2, addresses: 2 });

describe('scale plan', () => {
  it('clamps to the open-files limit less the headroom, and says so', () => {
    const p = scalePlan({ connections: 100_000, limit: 20_000 });
    expect(p).toMatchObject({ requested: 100_000, connections: 20_000 - FD_HEADROOM, limited: true });
    expect(p.note).toMatch(/^LIMITED: 19,500 of 100,000 connections: the open-files limit 20000/);
    expect(p.processes).toBe(2);
    expect(p.addresses).toBe(2);
  });

  it('runs them all where the limit allows, over enough client processes and source addresses', () => {
    const p = scalePlan({ connections: 100_000, limit: 110_000 });
    expect(p).toMatchObject({ connections: 100_000, limited: false, note: null, processes: 2, addresses: 9 });
    // Asked for more client processes: that many.
    expect(scalePlan({ connections: 100_000, limit: 110_000, processes: 5 }).processes).toBe(5);
    expect(scalePlan({ connections: 100_000, limit: Number.POSITIVE_INFINITY }).connections).toBe(100_000);
  });

  it('reads this machine’s limit', () => {
    const limit = openFilesLimit();
    expect(limit === Number.POSITIVE_INFINITY || limit > 1000).toBe(true);
  });
});

describe('scale section', () => {
  for (const variant of ['floor', 'floor-jwt', 'gateway', 'gateway-jwt']) {
    it(`${variant}: every connection subscribed, stayed open through the heartbeats and got the broadcast`, async () => {
      const r = await scaleRun(ctx, variant, plan);
      expect(r).toMatchObject({
        connections: 200,
        ready: 200,
        failedToConnect: 0,
        clientProcesses: 2,
        openAfterIdle: 200,
        droppedWhileIdle: 0,
        publishStatus: 200,
        deliveredLocal: 200,
        received: 200,
        openAtBroadcast: 200,
        lost: 0,
        correctness: [{ lost: 0, duplicates: 0, outOfOrder: 0, failures: 0 }],
      });
      expect(r.sourceAddresses).toHaveLength(2);
      expect(r.sourceAddresses.every((a) => /^127\.0\.0\.\d+$/.test(a) && a !== '127.0.0.1')).toBe(true);
      // Heartbeats every 400 ms over at least 1.5 s idle: every connection answered some.
      expect(r.pingsPerConnection).toBeGreaterThanOrEqual(2);
      expect(r.allReceivedMs).toBeGreaterThanOrEqual(0);
      expect(r.allReceivedMs).toBeLessThan(5000);
      expect(r.connectPerSec).toBeGreaterThan(0);
      expect(r.rssPerConn).not.toBe(null);
      if (!variant.startsWith('floor'))
        expect(r).toMatchObject({ serverSessions: 200, heartbeatTimeouts: 0 });
      expect(r.authenticated).toBe(variant === 'gateway-jwt' ? 200 : 0);
    }, 60_000);
  }

  it('the floor with JWT refuses an upgrade without a valid token (401)', async () => {
    const server = await ctx.startServer('floor', SCALE_VARIANTS['floor-jwt'].env);
    try {
      const good = `${server.url}?token=${signToken(SCALE_VARIANTS['floor-jwt'].jwtSecret, 'a')}`;
      const ws = await LeanSocket.connect(good, { protocol: 'dotmac.v1', timeoutMs: 5000 });
      ws.terminate();
      for (const bad of [
        server.url,
        `${server.url}?token=${signToken('another-secret-of-32-bytes-or-more', 'a')}`,
      ]) {
        await expect(LeanSocket.connect(bad, { protocol: 'dotmac.v1', timeoutMs: 5000 })).rejects.toBe(
          'http_401',
        );
      }
    } finally {
      await server.stop();
    }
  });
});
