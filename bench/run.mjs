// The peer comparison: starts the reference gateway, a naive bare-ws server, a bare-ws
// "frame once + cork per turn" floor server and a Socket.IO server with rooms, drives each with
// the same load from @dotmac-ws/loadtest, and prints figures and ratios. Servers run pinned to
// CPU 0, the load (this process) to CPU 1; each server's own CPU time per delivery comes from
// /proc/PID/stat. Usage: see bench/README.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from '@dotmac-ws/loadtest';
import { fanoutRuns } from './lib/fanout-runs.mjs';
import { boundNote, f, grid, kib, pct } from './lib/format.mjs';
import { natsStores } from './lib/gateway-main.mjs';
import { historyRun } from './lib/history-section.mjs';
import { reachable, sleep } from './lib/net-util.mjs';
import { PRESENCE_VARIANTS, presenceRun } from './lib/presence-section.mjs';
import { removeRulesFiles } from './lib/rules-file.mjs';
import { SCALE_VARIANTS, scalePlan, scaleRun } from './lib/scale-section.mjs';
import { SERVERS } from './lib/server-defs.mjs';
import { startServer as startServerProcess } from './lib/server-process.mjs';
import { shapeLabel, shapesTargets, shapesText, shapeVariants } from './lib/shapes-report.mjs';
import { SHAPE_SERVERS, SHAPES, shapesRun } from './lib/shapes-section.mjs';
import { startStore } from './lib/store-process.mjs';
import { stormRun } from './lib/storm-section.mjs';
import { check, combine, log, ratio } from './lib/summary.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const JWT_SECRET = 'bench-secret-with-at-least-32-bytes-of-entropy';

/** Every section, in the order they run; `--skip` leaves some out, `--only` keeps just some. */
const SECTIONS = ['fanout', 'memory', 'jwt', 'cross', 'history', 'storm', 'presence', 'shapes', 'scale'];

const { values: opts } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    repeat: { type: 'string', default: '1' },
    duration: { type: 'string', default: '4' },
    subscribers: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '20' },
    idle: { type: 'string', default: '10000' },
    servers: { type: 'string', default: 'gateway,floor,naive,socketio' },
    skip: { type: 'string', default: '' },
    only: { type: 'string', default: '' },
    'history-size': { type: 'string', default: '100' },
    'storm-clients': { type: 'string', default: '10000' },
    'storm-channels': { type: 'string', default: '100' },
    'storm-rate': { type: 'string', default: '100' },
    'storm-runner': { type: 'string', default: 'bench' },
    members: { type: 'string', default: '2000' },
    shapes: { type: 'string', default: 'ch20,ch1,users' },
    'shape-connections': { type: 'string', default: '2000' },
    'shape-publishers': { type: 'string', default: '8' },
    'shape-window': { type: 'string', default: '128' },
    'shape-warmup': { type: 'string', default: '0.5' },
    'shape-node-b-cpu': { type: 'string', default: '0' },
    'scale-connections': { type: 'string', default: '100000' },
    'scale-idle': { type: 'string', default: '15' },
    'scale-heartbeat': { type: 'string', default: '5000' },
    'scale-processes': { type: 'string', default: '0' },
    'scale-addresses': { type: 'string', default: '0' },
    out: { type: 'string' },
    pinned: { type: 'boolean', default: false },
  },
});

const unknownSections = [...opts.skip.split(','), ...opts.only.split(',')].filter(
  (x) => x !== '' && !SECTIONS.includes(x),
);
if (unknownSections.length > 0) {
  process.stderr.write(
    `unknown section(s) ${unknownSections.join(', ')}: the sections are ${SECTIONS.join(', ')}\n`,
  );
  process.exit(2);
}

const unknownShapes = opts.shapes.split(',').filter((x) => x !== '' && !(x in SHAPES));
if (unknownShapes.length > 0) {
  process.stderr.write(
    `unknown shape(s) ${unknownShapes.join(', ')}: the shapes are ${Object.keys(SHAPES).join(', ')}\n`,
  );
  process.exit(2);
}

if (!['0', '1'].includes(opts['shape-node-b-cpu'])) {
  process.stderr.write(
    `--shape-node-b-cpu is 0 (beside node A) or 1 (beside the load), not ${opts['shape-node-b-cpu']}\n`,
  );
  process.exit(2);
}

if (!['bench', 'loadtest'].includes(opts['storm-runner'])) {
  process.stderr.write(`--storm-runner is 'bench' or 'loadtest', not '${opts['storm-runner']}'\n`);
  process.exit(2);
}

// Pin this process (the load) to CPU 1 by running it again under taskset; servers go to CPU 0.
const hasTaskset = spawnSync('taskset', ['-V']).status === 0;
// Under taskset this process sees one CPU: count the machine's, not this process's.
const pinning = opts.pinned || (hasTaskset && os.cpus().length >= 2);
if (pinning && !opts.pinned) {
  const r = spawnSync(
    'taskset',
    ['-c', '1', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--pinned'],
    {
      stdio: 'inherit',
    },
  );
  process.exit(r.status ?? 1);
}

const REPEAT = Number(opts.repeat);
const DURATION = Number(opts.duration);
const SUBSCRIBERS = Number(opts.subscribers);
const FIXED_RATE = Number(opts.rate);
const IDLE = Number(opts.idle);
const HISTORY_SIZE = Number(opts['history-size']);
const STORM = {
  clients: Number(opts['storm-clients']),
  channels: Number(opts['storm-channels']),
  rate: Number(opts['storm-rate']),
};
const MEMBERS = Number(opts.members);
const SHAPE_SETTINGS = {
  shapes: opts.shapes.split(',').filter(Boolean),
  connections: Number(opts['shape-connections']),
  publishers: Number(opts['shape-publishers']),
  window: Number(opts['shape-window']),
  warmupSec: Number(opts['shape-warmup']),
  // Node B of the two-node runs: on CPU 0 beside node A (the issue's method), or on CPU 1 beside the load.
  nodeBCpu: Number(opts['shape-node-b-cpu']),
  // The shared brokers, as the cross section uses them (each run under a key prefix of its own).
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
};
/** The scale section: how many connections one run holds (clamped to the open-files limit), over what. */
const SCALE = scalePlan({
  connections: Number(opts['scale-connections']),
  processes: Number(opts['scale-processes']),
  addresses: Number(opts['scale-addresses']),
});
const only = opts.only.split(',').filter(Boolean);
const skip = new Set(opts.skip.split(',').filter(Boolean));
const sections = new Set(SECTIONS.filter((x) => (only.length === 0 || only.includes(x)) && !skip.has(x)));
/** The reference gateway keeps history and presence in JetStream once its NATS plugin wires the NATS stores. */
const NATS_STORES = natsStores();
const NO_NATS_STORES =
  'the reference gateway does not keep history/presence in NATS yet (BACKEND=nats has no NatsHistoryStore in apps/gateway/dist/main.js)';

const chosen = opts.servers.split(',').filter((s) => s in SERVERS);

/** Starts a server pinned to `cpu` (CPU 0 unless told) with the memory probe preloaded. */
const startServer = (kind, env = {}, cpu = 0) => startServerProcess(SERVERS[kind], { pinning, env, cpu });

/** What the history, storm, presence, shapes and scale sections need from this run. */
const ctx = {
  pinning,
  startGateway: (env) => startServer('gateway', env),
  subscribers: SUBSCRIBERS,
  durationSec: DURATION,
  fixedRate: FIXED_RATE,
  historySize: HISTORY_SIZE,
  ...STORM,
  // The client SDK's reconnect defaults (@dotmac-ws/client): the first attempt after 0.5-1 s.
  reconnectMinDelayMs: 500,
  reconnectMaxDelayMs: 30_000,
  timeoutMs: 30_000,
  members: MEMBERS,
  stormRunner: opts['storm-runner'],
  // The shapes and scale sections start the servers they compare, pinned like the others.
  startServer,
  ...SHAPE_SETTINGS,
  concurrency: 256,
  idleMs: Number(opts['scale-idle']) * 1000,
  heartbeatMs: Number(opts['scale-heartbeat']),
  broadcastWaitMs: 10_000,
  connectTimeoutMs: 20_000,
};

const base = (server) => ({
  urls: [server.url],
  dialect: server.dialect,
  channels: 1,
  payloadBytes: 100,
  drainMs: 5000,
  connectConcurrency: 256,
  connectTimeoutMs: 20_000,
});

/** Fan-out at saturation and at a fixed rate against one server. */
async function fanout(kind) {
  const server = await startServer(kind);
  try {
    return await fanoutRuns({
      label: kind,
      urls: [server.url],
      dialect: server.dialect,
      serverPids: [server.pid],
      subscribers: SUBSCRIBERS,
      durationSec: DURATION,
      fixedRate: FIXED_RATE,
    });
  } finally {
    await server.stop();
  }
}

/** A storm of idle connections to a fresh server: setup rate, then memory per connection after GC. */
async function idle(kind, env = {}, extra = {}) {
  const server = await startServer(kind, env);
  try {
    await sleep(300);
    const before = await server.probe();
    let held = null;
    const r = await runLoad({
      ...base(server),
      ...extra,
      scenario: 'connect',
      connections: IDLE,
      holdMs: 200,
      onPhase: async (phase) => {
        if (phase === 'holding') held = await server.probe();
      },
    });
    const ready = r.connections.ready;
    return {
      connectPerSec: r.connections.perSec,
      connectP99: r.connections.connectMs.p99,
      rssPerConn: ready > 0 && held ? (held.rss - before.rss) / ready : null,
      heapPerConn: ready > 0 && held ? (held.heapUsed - before.heapUsed) / ready : null,
      correctness: [check(`${kind} idle`, r)],
    };
  } finally {
    await server.stop();
  }
}

/** Two gateways on one backend (the shared broker): subscribers split over both, the publisher on the second. */
async function crossNode(backend) {
  const env = { BACKEND: backend };
  let a;
  let b;
  try {
    a = await startServer('gateway', env);
    b = await startServer('gateway', env);
  } catch (error) {
    await a?.stop();
    return { skipped: String(error.message).split('\n')[0] };
  }
  try {
    return await fanoutRuns({
      label: `${backend} cross-node`,
      urls: [a.url, b.url],
      publishUrls: [b.url],
      serverPids: [a.pid, b.pid],
      subscribers: SUBSCRIBERS,
      durationSec: DURATION,
      fixedRate: FIXED_RATE,
    });
  } finally {
    await a.stop();
    await b.stop();
  }
}

/** The store binaries a section needs: redis-server, nats-server; null when it starts. */
async function storeMissing(kind) {
  try {
    const s = await startStore(kind, { pinning });
    await s.stop();
    return null;
  } catch (error) {
    return String(error.message).split('\n')[0];
  }
}

function loadAverage() {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return {
    cpu,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    pinning: pinning ? 'servers on CPU 0, load on CPU 1 (taskset)' : 'none (taskset missing or one core)',
  };
}

// ---------------------------------------------------------------------------------- run
const started = new Date();
const loadBefore = loadAverage();
log(
  `dotmac-ws bench: sections ${[...sections].join(', ')}; servers ${chosen.join(', ')}; ${REPEAT} repeat(s) of ${DURATION} s; load average ${loadBefore}`,
);
const HISTORY_BACKENDS = ['memory', 'redis', 'nats'];
const STORM_BACKENDS = ['redis', 'nats'];
const PRESENCE_BACKENDS = ['memory', 'redis', 'nats'];
const raw = {
  fanout: {},
  idle: {},
  jwt: [],
  cross: { redis: [], nats: [] },
  history: {},
  storm: {},
  presence: {},
  shapes: {},
  scale: {},
};
for (const k of chosen) {
  raw.fanout[k] = [];
  raw.idle[k] = [];
}
/** Runs one measurement; a server that fails is reported and the bench goes on. */
async function attempt(what, fn) {
  try {
    return await fn();
  } catch (error) {
    log(`  ! ${what} failed: ${error.message}`);
    return null;
  }
}

// Why a backend cannot be measured by the history, storm and presence sections (null: it can).
const storeProblems = {};
for (const kind of ['redis', 'nats']) {
  if (['history', 'storm', 'presence'].some((x) => sections.has(x)))
    storeProblems[kind] = await storeMissing(kind);
}
const notMeasured = (backend) =>
  backend === 'memory'
    ? null
    : backend === 'nats' && !NATS_STORES
      ? NO_NATS_STORES
      : (storeProblems[backend] ?? null);

// The shapes section's two-node runs use the shared brokers: without one, they are not measured.
const SHAPE_VARIANTS = shapeVariants(chosen);
const brokerDown = {};
if (sections.has('shapes')) {
  for (const [kind, url] of [
    ['redis', SHAPE_SETTINGS.redisUrl],
    ['nats', SHAPE_SETTINGS.natsUrl],
  ]) {
    const port = Number(new URL(url).port);
    brokerDown[kind] = (await reachable(port)) ? null : `nothing answers on ${url}`;
  }
}
const brokerMissing = (variant) => {
  const b = SHAPE_SERVERS[variant].backend;
  return b ? brokerDown[b] : null;
};

/** The scale section's runs: the ws floor, the gateway without and with JWT, as chosen. */
const scaleVariants = Object.keys(SCALE_VARIANTS).filter((v) => chosen.includes(SCALE_VARIANTS[v].kind));
if (sections.has('scale') && SCALE.note) log(`scale: ${SCALE.note}`);

for (let rep = 1; rep <= REPEAT; rep++) {
  const step = `[${rep}/${REPEAT}]`;
  for (const k of chosen) {
    if (sections.has('fanout')) {
      log(
        `${step} ${k}: fan-out (${SUBSCRIBERS} subscribers, saturation, then ${FIXED_RATE} msg/s)  load ${loadAverage()}`,
      );
      raw.fanout[k].push(await attempt(`${k} fan-out`, () => fanout(k)));
    }
    if (sections.has('memory')) {
      log(`${step} ${k}: ${IDLE} idle connections`);
      raw.idle[k].push(await attempt(`${k} idle`, () => idle(k)));
    }
  }
  if (chosen.includes('gateway') && sections.has('jwt')) {
    log(`${step} gateway with JWT auth: ${IDLE} connections, one signed token each`);
    raw.jwt.push(
      await attempt('gateway with JWT', () =>
        idle('gateway', { JWT_SECRET_KEY: JWT_SECRET, REQUIRE_TOKEN: 'true' }, { jwtSecret: JWT_SECRET }),
      ),
    );
  }
  if (chosen.includes('gateway') && sections.has('cross')) {
    for (const backend of ['redis', 'nats']) {
      log(`${step} two gateways over ${backend}`);
      raw.cross[backend].push(await attempt(`${backend} cross-node`, () => crossNode(backend)));
    }
  }
  if (sections.has('history')) {
    for (const backend of HISTORY_BACKENDS) {
      raw.history[backend] ??= { off: [], on: [] };
      if (notMeasured(backend)) continue;
      for (const on of [false, true]) {
        log(
          `${step} history ${on ? 'on' : 'off'} over ${backend}: fan-out (${SUBSCRIBERS} subscribers${on ? `, history_size ${HISTORY_SIZE}` : ''})  load ${loadAverage()}`,
        );
        raw.history[backend][on ? 'on' : 'off'].push(
          await attempt(`${backend} history ${on ? 'on' : 'off'}`, () => historyRun(ctx, backend, on)),
        );
      }
    }
  }
  if (sections.has('storm')) {
    for (const backend of STORM_BACKENDS) {
      raw.storm[backend] ??= [];
      if (notMeasured(backend)) continue;
      log(
        `${step} reconnect storm over ${backend}: ${STORM.clients} clients on node A, ${STORM.channels} channels, ${STORM.rate} msg/s on node B  load ${loadAverage()}`,
      );
      raw.storm[backend].push(await attempt(`${backend} storm`, () => stormRun(ctx, backend)));
    }
  }
  if (sections.has('presence')) {
    for (const backend of PRESENCE_BACKENDS) {
      raw.presence[backend] ??= Object.fromEntries(Object.keys(PRESENCE_VARIANTS).map((v) => [v, []]));
      if (notMeasured(backend)) continue;
      for (const variant of Object.keys(PRESENCE_VARIANTS)) {
        log(
          `${step} presence join storm over ${backend}: ${MEMBERS} sessions, ${variant}  load ${loadAverage()}`,
        );
        raw.presence[backend][variant].push(
          await attempt(`${backend} presence ${variant}`, () => presenceRun(ctx, backend, variant)),
        );
      }
    }
  }
  if (sections.has('shapes')) {
    for (const shape of SHAPE_SETTINGS.shapes) {
      raw.shapes[shape] ??= {};
      for (const variant of SHAPE_VARIANTS) {
        raw.shapes[shape][variant] ??= [];
        if (brokerMissing(variant)) continue;
        log(
          `${step} shape ${SHAPES[shape].label} on ${SHAPE_SERVERS[variant].label}: ${shapeLabel(shape, SHAPE_SETTINGS.connections)}  load ${loadAverage()}`,
        );
        raw.shapes[shape][variant].push(
          await attempt(`${variant} ${shape}`, () => shapesRun(ctx, variant, shape)),
        );
      }
    }
  }
  if (sections.has('scale')) {
    for (const v of scaleVariants) {
      raw.scale[v] ??= [];
      log(
        `${step} scale, ${SCALE_VARIANTS[v].label}: ${SCALE.connections} idle connections${SCALE.limited ? ' (LIMITED)' : ''} from ${SCALE.processes} client processes over ${SCALE.addresses} source address(es), idle ${ctx.idleMs / 1000} s with heartbeats every ${ctx.heartbeatMs} ms, one broadcast  load ${loadAverage()}`,
      );
      raw.scale[v].push(await attempt(`scale ${v}`, () => scaleRun(ctx, v, SCALE)));
    }
  }
}
removeRulesFiles();

/** Target of history on vs off, per backend (issue 15). */
const HISTORY_LIMIT = { memory: 1.5, redis: 2, nats: 2 };
/** Target of the reconnect storm: every client recovered within this (issue 15). */
const STORM_LIMIT_MS = 10_000;

const results = {
  date: started.toISOString(),
  command: `pnpm bench -- ${process.argv
    .slice(2)
    .filter((a) => a !== '--pinned' && a !== '--')
    .join(' ')}`.trim(),
  machine: machine(),
  load: { before: loadBefore, after: loadAverage() },
  sections: [...sections],
  settings: {
    repeat: REPEAT,
    durationSec: DURATION,
    subscribers: SUBSCRIBERS,
    fixedRate: FIXED_RATE,
    idle: IDLE,
    payloadBytes: 100,
    historySize: HISTORY_SIZE,
    storm: {
      ...STORM,
      reconnectMinDelayMs: ctx.reconnectMinDelayMs,
      reconnectMaxDelayMs: ctx.reconnectMaxDelayMs,
    },
    members: MEMBERS,
    natsStores: NATS_STORES,
    shapes: { ...SHAPE_SETTINGS, variants: SHAPE_VARIANTS },
    scale: {
      requested: SCALE.requested,
      connections: SCALE.connections,
      limited: SCALE.limited,
      openFilesLimit: SCALE.limit === Number.POSITIVE_INFINITY ? 'unlimited' : SCALE.limit,
      clientProcesses: SCALE.processes,
      sourceAddresses: SCALE.addresses,
      concurrency: ctx.concurrency,
      idleMs: ctx.idleMs,
      heartbeatMs: ctx.heartbeatMs,
      note: SCALE.note,
    },
  },
  fanout: Object.fromEntries(
    chosen.filter((k) => raw.fanout[k].length > 0).map((k) => [k, combine(raw.fanout[k])]),
  ),
  idle: Object.fromEntries(
    chosen.filter((k) => raw.idle[k].length > 0).map((k) => [k, combine(raw.idle[k])]),
  ),
  jwt: raw.jwt.length > 0 ? combine(raw.jwt) : null,
  cross: Object.fromEntries(
    Object.entries(raw.cross)
      .filter(([, runs]) => runs.length > 0)
      .map(([b, runs]) => [b, combine(runs)]),
  ),
  history: Object.fromEntries(
    Object.entries(raw.history).map(([b, runs]) => {
      if (notMeasured(b)) return [b, { skipped: notMeasured(b) }];
      const off = combine(runs.off);
      const on = combine(runs.on);
      return [
        b,
        {
          off,
          on,
          satCpuRatio: ratio(on.satCpuUs, off.satCpuUs),
          fixedCpuRatio: ratio(on.fixedCpuUs, off.fixedCpuUs),
          limit: HISTORY_LIMIT[b],
        },
      ];
    }),
  ),
  storm: Object.fromEntries(
    Object.entries(raw.storm).map(([b, runs]) => [
      b,
      notMeasured(b) ? { skipped: notMeasured(b) } : combine(runs),
    ]),
  ),
  presence: Object.fromEntries(
    Object.entries(raw.presence).map(([b, variants]) => [
      b,
      notMeasured(b)
        ? { skipped: notMeasured(b) }
        : Object.fromEntries(Object.entries(variants).map(([v, runs]) => [v, combine(runs)])),
    ]),
  ),
  shapes: Object.fromEntries(
    Object.entries(raw.shapes).map(([shape, variants]) => [
      shape,
      Object.fromEntries(
        Object.entries(variants).map(([v, runs]) => [
          v,
          brokerMissing(v)
            ? { skipped: brokerMissing(v) }
            : // Every run's CPU per message beside the medians, in the order the runs were taken.
              { ...combine(runs), runsUsPerMsg: runs.map((x) => x.serverUsPerMsg ?? null) },
        ]),
      ),
    ]),
  ),
  scale: Object.fromEntries(Object.entries(raw.scale).map(([v, runs]) => [v, combine(runs)])),
};
results.targets = targets(results);

function targets(r) {
  const g = r.fanout.gateway;
  const list = [];
  const add = (name, value, limit, atMost) =>
    list.push({
      name,
      value,
      limit,
      atMost,
      holds: value === null || value === undefined ? null : atMost ? value <= limit : value >= limit,
    });
  if (g && r.fanout.socketio)
    add(
      'gateway CPU per delivery / Socket.IO (saturation)',
      ratio(g.satCpuUs, r.fanout.socketio.satCpuUs),
      0.35,
      true,
    );
  if (g && r.fanout.floor)
    add(
      'gateway CPU per delivery / ws floor (saturation)',
      ratio(g.satCpuUs, r.fanout.floor.satCpuUs),
      2,
      true,
    );
  if (g && r.fanout.socketio)
    add('gateway fan-out throughput / Socket.IO', ratio(g.satPerSec, r.fanout.socketio.satPerSec), 3, false);
  if (g && r.fanout.naive)
    add(
      `gateway p99 / ws naive p99 (${SUBSCRIBERS} x ${FIXED_RATE}/s)`,
      ratio(g.fixedP99, r.fanout.naive.fixedP99),
      1.25,
      true,
    );
  for (const [b, h] of Object.entries(r.history)) {
    if (h.skipped) continue;
    add(`history on / off, CPU per delivery (saturation), ${b}`, h.satCpuRatio, h.limit, true);
    add(`history on / off, CPU per delivery (${FIXED_RATE} msg/s), ${b}`, h.fixedCpuRatio, h.limit, true);
  }
  for (const [b, s] of Object.entries(r.storm)) {
    if (s.skipped || s.runs === 0) continue;
    const name = `reconnect storm over ${b}: ms until all ${STORM.clients} recovered`;
    if (s.allRecoveredMs === null || s.correctness.failures > 0) {
      list.push({ name, value: null, limit: STORM_LIMIT_MS, atMost: true, holds: false });
    } else {
      add(name, s.allRecoveredMs, STORM_LIMIT_MS, true);
    }
  }
  list.push(...shapesTargets(r.shapes));
  const sc = r.scale;
  const at = `${SCALE.connections.toLocaleString('en-US')} connections${SCALE.limited ? ', LIMITED' : ''}`;
  if (sc.gateway?.runs && sc.floor?.runs) {
    add(
      `scale: gateway connections/s / ws floor (${at})`,
      ratio(sc.gateway.connectPerSec, sc.floor.connectPerSec),
      0.95,
      false,
    );
    add(
      `scale: gateway RSS per idle connection / ws floor (${at})`,
      ratio(sc.gateway.rssPerConn, sc.floor.rssPerConn),
      1.1,
      true,
    );
  }
  if (sc['gateway-jwt']?.runs && sc['floor-jwt']?.runs) {
    add(
      `scale: gateway with JWT connections/s / ws floor with JWT (${at})`,
      ratio(sc['gateway-jwt'].connectPerSec, sc['floor-jwt'].connectPerSec),
      0.9,
      false,
    );
  }
  if (sc.gateway?.runs) {
    add(
      SCALE.connections >= 100_000
        ? 'scale: gateway RSS MiB with 100,000 idle connections'
        : `scale: gateway RSS MiB at 100,000 idle connections, ESTIMATED from ${at}`,
      sc.gateway.rssAt100k === null ? null : Math.round(sc.gateway.rssAt100k / 2 ** 20),
      1024,
      true,
    );
    const name = `scale: ms until one broadcast reached all of the gateway's ${at}`;
    if (sc.gateway.allReceivedMs === null || sc.gateway.correctness.lost > 0) {
      list.push({ name, value: null, limit: 1000, atMost: true, holds: false });
    } else {
      add(name, sc.gateway.allReceivedMs, 1000, true);
    }
  }
  const all = [
    ...Object.values(r.scale),
    ...Object.values(r.fanout),
    ...Object.values(r.idle),
    ...(r.jwt ? [r.jwt] : []),
    ...Object.values(r.cross).filter((c) => !c.skipped),
    ...Object.values(r.history).flatMap((h) => (h.skipped ? [] : [h.off, h.on])),
    ...Object.values(r.storm).filter((s) => !s.skipped),
    ...Object.values(r.shapes).flatMap((variants) => Object.values(variants).filter((s) => !s.skipped)),
  ];
  const bad = all.reduce((s, x) => s + (x.correctness?.lost ?? 0) + (x.correctness?.duplicates ?? 0), 0);
  list.push({
    name: 'lost + duplicated messages, every run',
    value: bad,
    limit: 0,
    atMost: true,
    holds: bad === 0,
  });
  return list;
}

// ---------------------------------------------------------------------------------- table
let out = `\ndotmac-ws bench, ${results.date}, ${results.machine.cpu} (${results.machine.cores} cores), Node ${process.version}\n`;
out += `${results.machine.pinning}; load average before ${results.load.before}, after ${results.load.after}; medians of ${REPEAT} run(s)\n`;
const peers = chosen.filter((k) => results.fanout[k] || results.idle[k]);
if (peers.length > 0) {
  const fan = (k) => results.fanout[k] ?? {};
  const rows = [
    ['fan-out deliveries/s (saturation)', (k) => f(fan(k).satPerSec, 0)],
    ['server CPU us/delivery (saturation)', (k) => f(fan(k).satCpuUs, 2)],
    ['load CPU us/delivery (saturation)', (k) => f(fan(k).satRunnerUs, 2)],
    ['load CPU busy (saturation, of one core)', (k) => pct(fan(k).satRunnerBusy)],
    [`p50 ms at ${SUBSCRIBERS} x ${FIXED_RATE} msg/s`, (k) => f(fan(k).fixedP50, 2)],
    [`p99 ms at ${SUBSCRIBERS} x ${FIXED_RATE} msg/s`, (k) => f(fan(k).fixedP99, 2)],
    ['server CPU us/delivery (fixed rate)', (k) => f(fan(k).fixedCpuUs, 2)],
    [`RSS KiB per idle connection (${IDLE})`, (k) => kib(results.idle[k]?.rssPerConn)],
    ['heap KiB per idle connection, after GC', (k) => kib(results.idle[k]?.heapPerConn)],
    ['connections/s (storm, 256 in flight)', (k) => f(results.idle[k]?.connectPerSec, 0)],
    [
      'lost / duplicated / out of order',
      (k) => {
        const c = [results.fanout[k]?.correctness, results.idle[k]?.correctness].filter(Boolean);
        return ['lost', 'duplicates', 'outOfOrder'].map((x) => c.reduce((s, y) => s + y[x], 0)).join('/');
      },
    ],
  ];
  out += `\n${grid([['', ...peers.map((k) => SERVERS[k].label)], ...rows.map(([label, cell]) => [label, ...peers.map(cell)])])}\n`;
}
if (results.jwt) {
  out += `\ngateway with JWT auth (REQUIRE_TOKEN, HS256, token in the query): ${f(results.jwt.connectPerSec, 0)} connections/s, `;
  out += `${kib(results.jwt.rssPerConn)} KiB RSS and ${kib(results.jwt.heapPerConn)} KiB heap per connection\n`;
}
const cross = Object.entries(results.cross);
if (cross.length > 0) {
  out +=
    '\ncross-node fan-out (two gateways on CPU 0, subscribers split, publisher on node 2; CPU = both nodes):\n';
  const g = results.fanout.gateway;
  if (g) {
    out += `  single node   ${f(g.satPerSec, 0)} deliveries/s, ${f(g.satCpuUs, 2)} us/delivery; p99 ${f(g.fixedP99, 2)} ms at ${FIXED_RATE}/s\n`;
  }
  for (const [backend, c] of cross) {
    out += c.skipped
      ? `  over ${backend.padEnd(6)}  not measured: ${c.skipped}\n`
      : `  over ${backend.padEnd(6)}  ${f(c.satPerSec, 0)} deliveries/s, ${f(c.satCpuUs, 2)} us/delivery; p99 ${f(c.fixedP99, 2)} ms at ${FIXED_RATE}/s; lost ${c.correctness.lost}\n`;
  }
}
const history = Object.entries(results.history);
if (history.length > 0) {
  out += `\nfan-out with history off vs on (${SUBSCRIBERS} subscribers, 1 channel, history_size ${HISTORY_SIZE}; a rules file both ways; CPU = the gateways; store = own redis-server/nats-server):\n`;
  const table = [
    [
      '',
      'us/delivery off',
      'on',
      'on/off (target)',
      'deliveries/s off',
      'on',
      `us/delivery at ${FIXED_RATE}/s off`,
      'on',
      'on/off',
      'p99 ms off',
      'on',
      'publishes/s on',
      'store us/publish on',
      'load busy on',
      'lost/dup/ooo',
    ],
  ];
  const notes = [];
  for (const [b, h] of history) {
    const label = b === 'memory' ? 'memory (1 node)' : `${b} (2 nodes)`;
    if (h.skipped) {
      notes.push(`  ${label}: not measured: ${h.skipped}`);
      continue;
    }
    for (const [side, r] of [
      ['off', h.off],
      ['on', h.on],
    ]) {
      const bound = boundNote(r.satRunnerBusy, null);
      if (bound) notes.push(`  ${label}, history ${side}, saturation:${bound}`);
    }
    const c = [h.off.correctness, h.on.correctness].filter(Boolean);
    table.push([
      label,
      f(h.off.satCpuUs, 2),
      f(h.on.satCpuUs, 2),
      `${f(h.satCpuRatio, 2)}x (<= ${h.limit}x)`,
      f(h.off.satPerSec, 0),
      f(h.on.satPerSec, 0),
      f(h.off.fixedCpuUs, 2),
      f(h.on.fixedCpuUs, 2),
      `${f(h.fixedCpuRatio, 2)}x`,
      f(h.off.fixedP99, 2),
      f(h.on.fixedP99, 2),
      f(h.on.satPublishPerSec, 0),
      f(h.on.satStoreUsPerPublish, 1),
      pct(h.on.satRunnerBusy),
      ['lost', 'duplicates', 'outOfOrder'].map((k) => c.reduce((sum, x) => sum + x[k], 0)).join('/'),
    ]);
  }
  if (table.length > 1) out += `${grid(table)}\n`;
  if (notes.length > 0) out += `${notes.join('\n')}\n`;
}
const storm = Object.entries(results.storm);
if (storm.length > 0) {
  out += `\nreconnect storm (${STORM.clients} clients of ${STORM.channels} history channels on node A of two, ${STORM.rate} msg/s published on node B; node A SIGKILLed; clients reconnect to B with since; ${
    ctx.stormRunner === 'loadtest'
      ? `the loadtest's recovery scenario: ${2 * STORM.clients} subscribers over A and B, first attempt after 0-${2 * ctx.reconnectMinDelayMs} ms`
      : `the bench's lean clients, the client SDK's backoff: first attempt after ${ctx.reconnectMinDelayMs}-${2 * ctx.reconnectMinDelayMs} ms`
  }):\n`;
  for (const [b, s] of storm) {
    if (s.skipped) {
      out += `  over ${b.padEnd(6)} not measured: ${s.skipped}\n`;
      continue;
    }
    if (s.runs === 0) {
      out += `  over ${b.padEnd(6)} failed (see the log above)\n`;
      continue;
    }
    out += `  over ${b.padEnd(6)} all ${f(s.clients, 0)} recovered in ${s.allRecoveredMs === null ? 'NOT ALL' : `${f(s.allRecoveredMs, 0)} ms`} (target <= ${STORM_LIMIT_MS} ms; p50 ${f(s.p50RecoveryMs, 0)}, p99 ${f(s.p99RecoveryMs, 0)} ms); `;
    out += `lost ${s.correctness.lost}, duplicated ${s.correctness.duplicates}, resynced ${f(s.resynced, 0)}, unrecovered ${f(s.unrecovered, 0)}; ${f(s.attempts, 0)} attempts\n`;
    out += `         store CPU ${f(s.storeCpuMs, 0)} ms in the ${f(s.stormMs, 0)} ms storm (${pct(s.storeCpuShare)} of a core), ${f(s.storeOps, 0)} ${b === 'nats' ? 'messages in' : 'commands'} (${f(s.storeOpsPerClient, 2)} per client); node B CPU ${f(s.survivorCpuMs, 0)} ms (waited for a CPU ${pct(s.survivorWaitShare)} of the storm); kernel listen-queue overflows ${f(s.listenOverflows, 0)} (machine-wide)\n`;
    out += `         load process busy ${pct(s.runnerBusy)} of its core, waited for a CPU ${pct(s.runnerWaitShare)}, event-loop delay up to ${f(s.runnerLoopDelayMaxMs, 0)} ms${boundNote(s.runnerBusy, s.runnerWaitShare)}\n`;
  }
}
const presence = Object.entries(results.presence);
if (presence.length > 0) {
  out += `\npresence join storm (${MEMBERS} connected sessions subscribe to one channel at once; memory: 1 node, redis/nats: 2 nodes, sessions split):\n`;
  const table = [
    [
      '',
      'all subscribed ms',
      'joins done ms',
      'join pushes',
      'server CPU ms',
      'us/join',
      'store ops/join (Redis: commands / scripts; NATS: msgs in)',
      'store CPU ms',
      'load busy',
      'waited for a CPU: gateways (summed) / load',
    ],
  ];
  const notes = [];
  for (const [b, variants] of presence) {
    if (variants.skipped) {
      notes.push(`  ${b}: not measured: ${variants.skipped}`);
      continue;
    }
    for (const [v, p] of Object.entries(variants)) {
      if (p.runs === 0) continue;
      const bound = boundNote(p.runnerBusy, p.runnerWaitShare);
      if (bound) notes.push(`  ${b} ${v}:${bound}`);
      table.push([
        `${b} ${v === 'join_leave' ? 'presence+join_leave' : v}`,
        f(p.allSubscribedMs, 0),
        f(p.joinsDoneMs, 0),
        f(p.joinPushes, 0),
        f(p.serverCpuMs, 0),
        f(p.serverCpuUsPerJoin, 0),
        p.storeScriptsPerJoin == null
          ? f(p.storeOpsPerJoin, 2)
          : `${f(p.storeOpsPerJoin, 2)} / ${f(p.storeScriptsPerJoin, 2)}`,
        f(p.storeCpuMs, 0),
        pct(p.runnerBusy),
        `${pct(p.serverWaitShare)} / ${pct(p.runnerWaitShare)}`,
      ]);
    }
  }
  if (table.length > 1) out += `${grid(table)}\n`;
  if (notes.length > 0) out += `${notes.join('\n')}\n`;
}
if (Object.keys(results.shapes).length > 0) out += shapesText(results.shapes, SHAPE_SETTINGS);
const scale = Object.entries(results.scale);
if (scale.length > 0) {
  const sc = results.settings.scale;
  const first = scale.find(([, r]) => r.runs > 0)?.[1];
  const addresses = first?.sourceAddresses ?? [];
  out += `\nconnection storm and memory at scale (${f(sc.connections, 0)} idle connections on one server process, from ${sc.clientProcesses} client processes over ${sc.sourceAddresses} source address(es)${addresses.length ? ` (${addresses[0]}..${addresses.at(-1)} in the first run)` : ''}, ${sc.concurrency} connect+subscribe in flight; idle ${sc.idleMs / 1000} s with heartbeats every ${sc.heartbeatMs} ms; then one broadcast to channel 'all' through POST /api/publish):\n`;
  if (sc.limited) out += `  ${sc.note}\n`;
  const table = [
    [
      '',
      'connections/s',
      'server CPU us/conn',
      'busy: server / clients',
      'welcome p50/p99 ms',
      'open after idle',
      'pings/conn',
      'RSS MiB',
      'RSS KiB/conn',
      'heap KiB/conn',
      sc.limited ? 'RSS MiB at 100k (est.)' : 'RSS MiB at 100k',
      'publish answered ms',
      'all received ms',
      'broadcast CPU ms: server / clients',
      'received / lost',
      'failed to connect',
    ],
  ];
  const notes = [];
  for (const [v, r] of scale) {
    if (r.runs === 0) {
      notes.push(`  ${SCALE_VARIANTS[v].label}: failed (see the log above)`);
      continue;
    }
    const failures = Object.entries(r.failures ?? {});
    if (failures.length > 0)
      notes.push(`  ${r.label}: failures ${failures.map(([k, c]) => `${k} ${c}`).join(', ')}`);
    if ((r.stormServerWaitShare ?? 0) > 0.2)
      notes.push(
        `  ${r.label}: MACHINE-BOUND storm: the server waited for its core ${pct(r.stormServerWaitShare)} of the storm; rerun on a quiet machine`,
      );
    if ((r.stormClientBusy ?? 0) > 0.85)
      notes.push(
        `  ${r.label}: RUNNER-BOUND storm: the client processes were busy ${pct(r.stormClientBusy)} of CPU 1`,
      );
    table.push([
      r.label,
      f(r.connectPerSec, 0),
      f(r.stormServerCpuUsPerConn, 0),
      `${pct(r.stormServerBusy)} / ${pct(r.stormClientBusy)}`,
      `${f(r.welcomeP50Ms, 1)} / ${f(r.welcomeP99Ms, 1)}`,
      `${f(r.openAfterIdle, 0)} of ${f(r.ready, 0)}`,
      f(r.pingsPerConnection, 1),
      f(r.rssHeld / 2 ** 20, 0),
      kib(r.rssPerConn),
      kib(r.heapPerConn),
      f(r.rssAt100k / 2 ** 20, 0),
      f(r.publishAnsweredMs, 0),
      r.allReceivedMs === null ? 'NOT ALL' : f(r.allReceivedMs, 0),
      `${f(r.broadcastServerCpuMs, 0)} / ${f(r.broadcastClientCpuMs, 0)}`,
      `${f(r.received, 0)} / ${f(r.lost, 0)}`,
      f(r.failedToConnect, 0),
    ]);
  }
  if (table.length > 1) out += `${grid(table)}\n`;
  const g = results.scale.gateway;
  const w = results.scale.floor;
  const j = results.scale['gateway-jwt'];
  const wj = results.scale['floor-jwt'];
  if (w?.runs > 0 && (g?.runs > 0 || j?.runs > 0)) {
    out += `  gateway / ws floor: connections/s ${f(ratio(g?.connectPerSec, w.connectPerSec), 2)}x (target >= 0.95x); RSS per idle connection ${f(ratio(g?.rssPerConn, w.rssPerConn), 2)}x (target <= 1.1x)\n`;
    out += `  with JWT: gateway / ws floor with JWT ${f(ratio(j?.connectPerSec, wj?.connectPerSec), 2)}x (target >= 0.9x); gateway with JWT / ws floor without ${f(ratio(j?.connectPerSec, w.connectPerSec), 2)}x\n`;
  }
  if (notes.length > 0) out += `${notes.join('\n')}\n`;
}
if (results.targets.length > 0) {
  out += '\ntargets (ratios in this run):\n';
  for (const t of results.targets) {
    const mark = t.reference ? 'REF   ' : t.holds === null ? 'n/a   ' : t.holds ? 'HOLDS ' : 'MISSED';
    out += `  ${mark}  ${t.name}: ${t.value ?? '-'} (${t.reference ? 'the yardstick' : 'target'} ${t.atMost ? '<=' : '>='} ${t.limit})\n`;
  }
}
process.stdout.write(out);
const file = opts.out ?? join(here, 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`\nresults: ${file}`);
