// The `shapes` section (issue 19): the broadcast shapes beside the single big channel of
// `fanout`. 2,000 connections as 100 channels x 20 subscribers, as 2,000 channels x 1
// subscriber, and as 2,000 users with one connection each, sent to with the server's HTTP
// publish to a user; on one node, and on two nodes (the gateway over Redis and over NATS,
// Socket.IO with @socket.io/redis-adapter) with every subscriber on node A and every publisher
// (or HTTP request) on node B, so that every message crosses the broker. Measures messages
// fully delivered per second and the servers' CPU per message over the publishing phase only.
import { sampleProcess } from '@dotmac-ws/loadtest';
import { schedWaitMs } from './sched-wait.mjs';
import { ShapeLoad } from './shapes-load.mjs';
import { log, usPer } from './summary.mjs';

/** What the connections are: `targets` = connections / subscribersPerTarget. */
export const SHAPES = {
  ch20: { label: 'channels of 20', target: 'channel', subscribersPerTarget: 20 },
  ch1: { label: 'channels of 1', target: 'channel', subscribersPerTarget: 1 },
  users: { label: 'users (HTTP)', target: 'user', subscribersPerTarget: 1 },
};

/** The servers, on one node or two (`backend`: what connects the two). */
export const SHAPE_SERVERS = {
  gateway: { kind: 'gateway', label: 'gateway', nodes: 1 },
  floor: { kind: 'floor', label: 'ws floor', nodes: 1 },
  naive: { kind: 'naive', label: 'ws naive', nodes: 1 },
  socketio: { kind: 'socketio', label: 'Socket.IO', nodes: 1 },
  'gateway-redis': { kind: 'gateway', label: 'gateway x2 Redis', nodes: 2, backend: 'redis' },
  'gateway-nats': { kind: 'gateway', label: 'gateway x2 NATS', nodes: 2, backend: 'nats' },
  'floor-redis': { kind: 'floor', label: 'ws floor x2 Redis', nodes: 2, backend: 'redis' },
  'floor-nats': { kind: 'floor', label: 'ws floor x2 NATS', nodes: 2, backend: 'nats' },
  'socketio-redis': {
    kind: 'socketio',
    label: 'Socket.IO x2 redis-adapter',
    nodes: 2,
    backend: 'redis',
  },
};

const JWT_SECRET = 'bench-shapes-secret-with-at-least-32-bytes';
const API_KEY = 'bench-shapes-api-key-0123456789';
const DRAIN_MS = 5000;
let runs = 0;

/** The environment of a node of `server` for `shape`; `tag` keeps the shared brokers' names apart per run. */
function envFor(ctx, server, shape, tag) {
  const env = {};
  if (shape.target === 'user') {
    env.API_KEY = API_KEY;
    if (server.kind === 'gateway') env.JWT_SECRET_KEY = JWT_SECRET;
  }
  if (server.kind === 'gateway' && server.backend === 'redis') {
    Object.assign(env, { BACKEND: 'redis', REDIS_URL: ctx.redisUrl, REDIS_KEY_PREFIX: `${tag}:` });
  } else if (server.kind === 'gateway' && server.backend === 'nats') {
    Object.assign(env, { BACKEND: 'nats', NATS_URL: ctx.natsUrl, NATS_SUBJECT_PREFIX: tag });
  } else if (server.kind === 'floor' && server.backend === 'redis') {
    Object.assign(env, { FLOOR_REDIS_URL: ctx.redisUrl, FLOOR_REDIS_KEY: tag });
  } else if (server.kind === 'floor' && server.backend === 'nats') {
    Object.assign(env, { FLOOR_NATS_URL: ctx.natsUrl, FLOOR_NATS_SUBJECT: tag });
  } else if (server.backend === 'redis') {
    Object.assign(env, { SOCKETIO_REDIS_URL: ctx.redisUrl, SOCKETIO_REDIS_KEY: tag });
  }
  return env;
}

const cpuMs = (pid) => sampleProcess(pid)?.cpuMs ?? null;

/**
 * One run of `shape` against `variant` (keys of {@link SHAPES} and {@link SHAPE_SERVERS}).
 * `ctx`: `{ startServer(kind, env, cpu), connections, durationSec, warmupSec, nodeBCpu, publishers, window,
 * redisUrl, natsUrl, timeoutMs }`.
 */
export async function shapesRun(ctx, variant, shapeName) {
  const server = SHAPE_SERVERS[variant];
  const shape = SHAPES[shapeName];
  const tag = `bench-shapes-${process.pid}-${++runs}`;
  const env = envFor(ctx, server, shape, tag);
  const nodes = [];
  let load = null;
  try {
    for (let n = 0; n < server.nodes; n++)
      nodes.push(await ctx.startServer(server.kind, env, n === 1 ? ctx.nodeBCpu : 0));
    const [a, b = a] = nodes;
    const spt = shape.subscribersPerTarget;
    load = new ShapeLoad({
      dialect: a.dialect,
      subscribeUrl: a.url,
      publishUrl: b.url,
      target: shape.target,
      targets: Math.max(1, Math.floor(ctx.connections / spt)),
      subscribersPerTarget: spt,
      publishers: ctx.publishers,
      window: ctx.window,
      userAuth: server.kind === 'gateway' ? 'jwt' : 'query',
      jwtSecret: JWT_SECRET,
      apiKey: API_KEY,
      timeoutMs: ctx.timeoutMs,
    });
    const setup = await load.connect();
    if (Object.keys(setup.failures).length > 0) {
      log(`    ! ${setup.subscribers} subscribers ready; failed: ${JSON.stringify(setup.failures)}`);
    }
    if (setup.subscribers === 0) {
      const states = nodes.map((s) => s.state()).filter(Boolean);
      throw new Error(`no subscriber could connect${states.length ? ` (${states.join('; ')})` : ''}`);
    }
    // Warm-up (not measured): the servers' code paths compiled, every route live, then drained.
    const warm = await load.phase({ durationMs: ctx.warmupSec * 1000, drainMs: DRAIN_MS });
    if (!warm.drained) log(`    ! the warm-up did not drain in ${DRAIN_MS} ms`);

    let s0;
    let s1;
    const sample = () => ({
      nodes: nodes.map((s) => cpuMs(s.pid)),
      nodesWait: nodes.map((s) => schedWaitMs(s.pid)),
      runner: process.cpuUsage(),
      runnerWait: schedWaitMs(),
    });
    const r = await load.phase({
      durationMs: ctx.durationSec * 1000,
      drainMs: DRAIN_MS,
      atStart: () => {
        s0 = sample();
      },
      atEnd: () => {
        s1 = sample();
      },
    });
    const t = load.tally();
    const nodeCpu = nodes.map((_, i) =>
      s0.nodes[i] === null || s1.nodes[i] === null ? null : s1.nodes[i] - s0.nodes[i],
    );
    const serverCpuMs = nodeCpu.some((x) => x === null) ? null : nodeCpu.reduce((x, y) => x + y, 0);
    const runnerCpuMs = (s1.runner.user + s1.runner.system - s0.runner.user - s0.runner.system) / 1000;
    const messages = Math.max(0, r.published - t.incomplete);
    const sec = r.wallMs / 1000;
    if (!r.drained)
      log(`    ! not every message was answered and delivered ${DRAIN_MS} ms after publishing stopped`);
    const failedToConnect = Object.values(setup.failures).reduce((x, y) => x + y, 0);
    const failures = load.refusedCount + t.misrouted + t.closed + t.publishersClosed + failedToConnect;
    if (t.lost + t.duplicates + t.outOfOrder + failures > 0) {
      log(
        `    ! lost ${t.lost}, duplicated ${t.duplicates}, out of order ${t.outOfOrder}, misrouted ${t.misrouted}, subscribers closed ${t.closed}, publishers closed ${t.publishersClosed}, refused ${JSON.stringify(load.refused)}`,
      );
    }
    return {
      variant,
      shape: shapeName,
      nodes: server.nodes,
      subscribers: setup.subscribers,
      failedToConnect,
      targets: load.o.targets,
      subscribersPerTarget: spt,
      published: r.published,
      messages,
      deliveries: r.deliveries,
      wallMs: Math.round(r.wallMs),
      msgsPerSec: messages / sec,
      deliveriesPerSec: r.deliveries / sec,
      serverCpuMs,
      nodeCpuMs: nodeCpu,
      serverUsPerMsg: usPer(serverCpuMs, messages),
      serverUsPerDelivery: usPer(serverCpuMs, r.deliveries),
      runnerCpuMs: Math.round(runnerCpuMs),
      runnerBusy: runnerCpuMs / r.wallMs,
      runnerUsPerMsg: usPer(runnerCpuMs, messages),
      serverWaitShare: nodes.some((_, i) => s0.nodesWait[i] === null || s1.nodesWait[i] === null)
        ? null
        : nodes.reduce((sum, _, i) => sum + s1.nodesWait[i] - s0.nodesWait[i], 0) / r.wallMs,
      runnerWaitShare:
        s0.runnerWait === null || s1.runnerWait === null ? null : (s1.runnerWait - s0.runnerWait) / r.wallMs,
      drained: r.drained,
      refused: load.refused,
      lost: t.lost,
      duplicates: t.duplicates,
      outOfOrder: t.outOfOrder,
      correctness: [{ lost: t.lost, duplicates: t.duplicates, outOfOrder: t.outOfOrder, failures }],
    };
  } finally {
    load?.close();
    for (const s of nodes) await s.stop();
  }
}
