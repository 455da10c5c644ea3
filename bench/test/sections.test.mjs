// The history, storm and presence sections on small numbers, against the built reference
// gateway and a redis-server of their own (not pinned: tests share the machine).
import { afterAll, describe, expect, it } from 'vitest';
import { GATEWAY } from '../lib/gateway-main.mjs';
import { historyRun } from '../lib/history-section.mjs';
import { presenceRun } from '../lib/presence-section.mjs';
import { removeRulesFiles } from '../lib/rules-file.mjs';
import { startServer } from '../lib/server-process.mjs';
import { stormRun } from '../lib/storm-section.mjs';

const ctx = {
  pinning: false,
  startGateway: (env) => startServer(GATEWAY, { pinning: false, env }),
  subscribers: 50,
  durationSec: 1,
  fixedRate: 20,
  historySize: 100,
  clients: 60,
  channels: 6,
  rate: 60,
  reconnectMinDelayMs: 100,
  reconnectMaxDelayMs: 2000,
  timeoutMs: 15_000,
  members: 30,
  stormRunner: 'bench',
};

afterAll(removeRulesFiles);

describe('storm section', () => {
  it('recovers every client of the killed node on the survivor, nothing lost or repeated', async () => {
    const r = await stormRun(ctx, 'redis');
    expect(r).toMatchObject({
      clients: 60,
      failedToConnect: 0,
      affected: 60,
      recovered: 60,
      resynced: 0,
      unrecovered: 0,
      lost: 0,
      duplicates: 0,
      early: 0,
      heldDropped: 0,
      correctness: [{ lost: 0, duplicates: 0, outOfOrder: 0, failures: 0 }],
    });
    // Each client missed what was published while it was away (about 10 msg/s per channel
    // for at least 0.1 s) and got it back in its recovering subscribe.
    expect(r.recoveredPublications).toBeGreaterThanOrEqual(60);
    expect(r.allRecoveredMs).toBeLessThan(15_000);
    expect(r.storeOps).toBeGreaterThan(0);
    expect(r.storeOpsBy.evalsha).toBeGreaterThan(0);
  });
});

describe('history section', () => {
  it('measures fan-out with history on, with its CPU per delivery and no loss', async () => {
    const r = await historyRun(ctx, 'memory', true);
    expect(r.correctness).toEqual([
      { lost: 0, duplicates: 0, outOfOrder: 0, failures: 0 },
      { lost: 0, duplicates: 0, outOfOrder: 0, failures: 0 },
    ]);
    expect(r.satDeliveries).toBe(r.satPublished * 50);
    expect(r.satCpuUs).toBeGreaterThan(0);
    expect(r.satStoreUsPerPublish).toBe(null);
  });
});

describe('presence section', () => {
  it('answers every subscribe and counts every join push of a channel with join_leave', async () => {
    const r = await presenceRun(ctx, 'memory', 'join_leave');
    expect(r).toMatchObject({ members: 30, failedToConnect: 0, subscribeErrors: 0 });
    expect(r.allSubscribedMs).not.toBe(null);
    // Every member's join reaches every member subscribed before it was announced, itself included.
    expect(r.joinPushes).toBeGreaterThanOrEqual((30 * 31) / 2);
    expect(r.joinPushes).toBeLessThanOrEqual(30 * 30);
  });

  it('counts Redis operations per join with presence on, none with it off', async () => {
    const on = await presenceRun(ctx, 'redis', 'presence');
    const off = await presenceRun(ctx, 'redis', 'off');
    expect(on.joinPushes).toBe(0);
    expect(on.storeScriptsPerJoin).toBeGreaterThanOrEqual(1);
    expect(off.storeScriptsPerJoin).toBe(0);
  });
});
