// The shapes section on small numbers (20 connections, 1 s) against the ws floor, the built
// reference gateway and, on two nodes, a redis-server and a nats-server of their own (not
// pinned: tests share the machine); and the lean load's loss and repeat counting against a
// server that drops and repeats deliveries on purpose.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { freePort } from '../lib/net-util.mjs';
import { SERVERS } from '../lib/server-defs.mjs';
import { startServer } from '../lib/server-process.mjs';
import { ShapeLoad } from '../lib/shapes-load.mjs';
import { shapesTargets } from '../lib/shapes-report.mjs';
import { shapesRun } from '../lib/shapes-section.mjs';
import { startStore } from '../lib/store-process.mjs';

const ctx = {
  startServer: (kind, env) => startServer(SERVERS[kind], { pinning: false, env }),
  connections: 20,
  durationSec: 1,
  warmupSec: 0.2,
  publishers: 2,
  window: 16,
  timeoutMs: 15_000,
};

/** A run that delivered every message it published to every subscriber, once and in order. */
function expectComplete(r, spt) {
  expect(r).toMatchObject({
    subscribers: 20,
    failedToConnect: 0,
    subscribersPerTarget: spt,
    drained: true,
    refused: {},
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    correctness: [{ lost: 0, duplicates: 0, outOfOrder: 0, failures: 0 }],
  });
  expect(r.published).toBeGreaterThan(0);
  expect(r.messages).toBe(r.published);
  expect(r.deliveries).toBe(r.published * spt);
  expect(r.serverUsPerMsg).toBeGreaterThan(0);
  expect(r.runnerBusy).toBeGreaterThan(0);
}

describe('shapes section, one node', () => {
  for (const variant of ['floor', 'gateway']) {
    it(`${variant}: channels of 20, channels of 1 and users over HTTP, nothing lost`, async () => {
      const ch20 = await shapesRun(ctx, variant, 'ch20');
      expectComplete(ch20, 20);
      expect(ch20.targets).toBe(1);
      const ch1 = await shapesRun(ctx, variant, 'ch1');
      expectComplete(ch1, 1);
      expect(ch1.targets).toBe(20);
      expectComplete(await shapesRun(ctx, variant, 'users'), 1);
    });
  }
});

describe('shapes section, two nodes over a redis-server of its own', () => {
  let store;
  beforeAll(async () => {
    store = await startStore('redis', { pinning: false });
  });
  afterAll(() => store?.stop());

  it('the gateway over Redis and Socket.IO with its Redis adapter deliver every message across', async () => {
    const two = { ...ctx, redisUrl: store.env.REDIS_URL };
    const gateway = await shapesRun(two, 'gateway-redis', 'ch1');
    expectComplete(gateway, 1);
    expect(gateway.nodeCpuMs).toHaveLength(2);
    expectComplete(await shapesRun(two, 'socketio-redis', 'ch20'), 20);
  });

  it('the floor relays every message through Redis, to channels and to users', async () => {
    const two = { ...ctx, redisUrl: store.env.REDIS_URL };
    const ch1 = await shapesRun(two, 'floor-redis', 'ch1');
    expectComplete(ch1, 1);
    expect(ch1.nodeCpuMs).toHaveLength(2);
    expectComplete(await shapesRun(two, 'floor-redis', 'users'), 1);
  });

  it('starts node B on the CPU --shape-node-b-cpu names, node A on CPU 0', async () => {
    const cpus = [];
    const placed = {
      ...ctx,
      redisUrl: store.env.REDIS_URL,
      nodeBCpu: 1,
      startServer: (kind, env, cpu) => {
        cpus.push(cpu);
        return ctx.startServer(kind, env);
      },
    };
    expectComplete(await shapesRun(placed, 'floor-redis', 'ch1'), 1);
    expect(cpus).toEqual([0, 1]);
  });
});

describe('shapes section, two nodes over a nats-server of its own', () => {
  let store;
  beforeAll(async () => {
    store = await startStore('nats', { pinning: false });
  });
  afterAll(() => store?.stop());

  it('the floor relays every message through NATS, to channels and to users', async () => {
    const two = { ...ctx, natsUrl: store.env.NATS_URL };
    const ch20 = await shapesRun(two, 'floor-nats', 'ch20');
    expectComplete(ch20, 20);
    expect(ch20.nodeCpuMs).toHaveLength(2);
    expectComplete(await shapesRun(two, 'floor-nats', 'users'), 1);
  });
});

describe('shapes targets', () => {
  it("holds the gateway's two nodes to 1.5x its one node, and shows the floor's on the same yardstick", () => {
    const run = (serverUsPerMsg) => ({ runs: 3, serverUsPerMsg, msgsPerSec: 1000, runnerBusy: 0.5 });
    const list = shapesTargets({
      ch1: {
        gateway: run(10),
        floor: run(8),
        'gateway-redis': run(16),
        'floor-redis': run(14),
      },
    });
    const named = (part) => list.filter((t) => t.name.includes(part));
    expect(named('two gateways over Redis: summed CPU')).toEqual([
      expect.objectContaining({ value: 1.6, limit: 1.5, holds: false }),
    ]);
    const floor = named('two ws floors over Redis');
    expect(floor).toEqual([expect.objectContaining({ value: 1.75, holds: false, reference: true })]);
    expect(named('gateway CPU per message / ws floor')[0]).toMatchObject({ value: 1.25, holds: false });
    expect(list.filter((t) => t.reference)).toHaveLength(1);
  });
});

describe('bench options', () => {
  it('refuses a --shape-node-b-cpu other than 0 or 1, before starting anything', () => {
    const run = fileURLToPath(new URL('../run.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [run, '--only', 'shapes', '--shape-node-b-cpu', '2'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('--shape-node-b-cpu is 0 (beside node A) or 1 (beside the load), not 2\n');
  });
});

describe('ShapeLoad', () => {
  it('counts deliveries dropped, repeated and reordered by the server', async () => {
    // A server of the gateway's protocol that drops every 10th publication, else repeats
    // every 7th, else holds every 5th back until after the next one.
    const port = await freePort();
    const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws' });
    await once(wss, 'listening');
    const subscribers = [];
    const send = (out) => {
      for (const s of subscribers) s.send(out);
    };
    let n = 0;
    let held = null;
    wss.on('connection', (ws) => {
      ws.send('{"type":"welcome","data":{}}');
      ws.on('message', (raw) => {
        const f = JSON.parse(raw);
        if (f.type === 'subscribe') subscribers.push(ws);
        if (f.type === 'publish') {
          const out = JSON.stringify({ type: 'message', channel: f.channel, data: f.data });
          n++;
          if (n % 10 === 0) {
            // dropped
          } else if (n % 5 === 0 && n % 7 !== 0) {
            held = out;
          } else {
            send(out);
            if (n % 7 === 0) send(out);
            if (held !== null) send(held);
            held = null;
          }
        }
        ws.send(JSON.stringify({ type: 'ack', id: f.id, data: {} }));
      });
    });
    const load = new ShapeLoad({
      dialect: 'dotmac',
      subscribeUrl: `ws://127.0.0.1:${port}/ws`,
      publishUrl: `ws://127.0.0.1:${port}/ws`,
      target: 'channel',
      targets: 1,
      subscribersPerTarget: 2,
      publishers: 1,
      window: 64,
      timeoutMs: 5000,
    });
    try {
      expect((await load.connect()).subscribers).toBe(2);
      const r = await load.phase({ durationMs: 300, drainMs: 300 });
      const sent = r.published;
      expect(sent).toBeGreaterThan(70);
      const t = load.tally();
      const count = (pred) => Array.from({ length: sent }, (_, i) => i + 1).filter(pred).length;
      const dropped = count((i) => i % 10 === 0);
      const repeated = count((i) => i % 7 === 0 && i % 10 !== 0);
      const held = count((i) => i % 5 === 0 && i % 10 !== 0 && i % 7 !== 0);
      // Per subscriber (2): the dropped ones lost, and the last one held back when nothing followed it.
      expect(t.lost).toBeGreaterThanOrEqual(2 * dropped);
      expect(t.lost).toBeLessThanOrEqual(2 * (dropped + 1));
      expect(t.duplicates).toBe(2 * repeated);
      expect(t.outOfOrder + (t.lost - 2 * dropped)).toBe(2 * held);
      expect(t.incomplete).toBe(t.lost / 2);
      expect(t.misrouted).toBe(0);
      expect(r.drained).toBe(false);
    } finally {
      load.close();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });
});
