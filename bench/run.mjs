// The peer comparison: starts the reference gateway, a naive bare-ws server, a bare-ws
// "frame once + cork per turn" floor server and a Socket.IO server with rooms, drives each with
// the same load from @dotmac-ws/loadtest, and prints figures and ratios. Servers run pinned to
// CPU 0, the load (this process) to CPU 1; each server's own CPU time per delivery comes from
// /proc/PID/stat. Usage: see bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from '@dotmac-ws/loadtest';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const GATEWAY_MAIN = join(dirname(require.resolve('@dotmac-ws/gateway/package.json')), 'dist', 'main.js');
const PROBE = join(here, 'lib', 'probe.cjs');
const JWT_SECRET = 'bench-secret-with-at-least-32-bytes-of-entropy';

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
    out: { type: 'string' },
    pinned: { type: 'boolean', default: false },
  },
});

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
const skip = new Set(opts.skip.split(',').filter(Boolean));
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

const SERVERS = {
  gateway: { label: 'gateway', dialect: 'dotmac', path: '/ws', script: GATEWAY_MAIN },
  floor: { label: 'ws floor', dialect: 'dotmac', path: '/ws', script: join(here, 'servers', 'floor-ws.mjs') },
  naive: { label: 'ws naive', dialect: 'dotmac', path: '/ws', script: join(here, 'servers', 'naive-ws.mjs') },
  socketio: {
    label: 'Socket.IO',
    dialect: 'socket.io',
    path: '/socket.io/',
    script: join(here, 'servers', 'socketio.mjs'),
  },
};
const chosen = opts.servers.split(',').filter((s) => s in SERVERS);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function reachable(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(300, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a server pinned to CPU 0 with the memory probe preloaded. */
async function startServer(kind, env = {}) {
  const def = SERVERS[kind];
  const port = await freePort();
  const probeFile = join(os.tmpdir(), `dotmac-bench-probe-${process.pid}-${port}.json`);
  const argv = ['--expose-gc', '-r', PROBE, def.script];
  const [cmd, args] = pinning
    ? ['taskset', ['-c', '0', process.execPath, ...argv]]
    : [process.execPath, argv];
  const child = spawn(cmd, args, {
    env: {
      ...process.env,
      PORT: String(port),
      WS_PORT: String(port),
      WS_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      BENCH_PROBE_FILE: probeFile,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const deadline = Date.now() + 15_000;
  while (!(await reachable(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} did not start: ${stderr.slice(0, 500)}`);
    }
    await sleep(50);
  }
  return {
    kind,
    pid: child.pid,
    url: `ws://127.0.0.1:${port}${def.path}`,
    dialect: def.dialect,
    /** Full GC in the server, then its memory usage. */
    async probe() {
      const asked = Date.now();
      process.kill(child.pid, 'SIGUSR2');
      for (let i = 0; i < 200; i++) {
        await sleep(25);
        if (existsSync(probeFile)) {
          const m = JSON.parse(readFileSync(probeFile, 'utf8'));
          if (m.at >= asked) return m;
        }
      }
      throw new Error(`${kind} did not answer the memory probe`);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(probeFile, { force: true });
    },
  };
}

const base = (server) => ({
  urls: [server.url],
  dialect: server.dialect,
  channels: 1,
  payloadBytes: 100,
  drainMs: 5000,
  connectConcurrency: 256,
  connectTimeoutMs: 20_000,
});

function check(label, r) {
  const bad = r.messages.lost + r.messages.duplicates + r.messages.outOfOrder;
  const failures = Object.values(r.connections.failures).reduce((a, b) => a + b, 0);
  if (bad > 0 || failures > 0) {
    log(
      `  ! ${label}: lost ${r.messages.lost}, duplicated ${r.messages.duplicates}, out of order ${r.messages.outOfOrder}, failed connections ${failures}, errors ${JSON.stringify(r.errors)}`,
    );
  }
  return {
    lost: r.messages.lost,
    duplicates: r.messages.duplicates,
    outOfOrder: r.messages.outOfOrder,
    failures,
  };
}

/** Fan-out at saturation and at a fixed rate against one server. */
async function fanout(kind) {
  const server = await startServer(kind);
  try {
    const sat = await runLoad({
      ...base(server),
      scenario: 'fanout',
      connections: SUBSCRIBERS,
      rate: 0,
      window: 32,
      durationSec: DURATION,
      serverPids: [server.pid],
    });
    const fixed = await runLoad({
      ...base(server),
      scenario: 'fanout',
      connections: SUBSCRIBERS,
      rate: FIXED_RATE,
      durationSec: DURATION,
      serverPids: [server.pid],
    });
    return {
      satPerSec: sat.messages.perSec,
      satCpuUs: sat.servers[0]?.cpuUsPerDelivery ?? null,
      satDeliveries: sat.messages.received,
      satRunnerUs: sat.runner.cpuUsPerDelivery,
      satRunnerBusy: sat.runner.cpuMs / Math.max(1, sat.elapsedMs),
      fixedP50: fixed.latencyMs.p50,
      fixedP99: fixed.latencyMs.p99,
      fixedCpuUs: fixed.servers[0]?.cpuUsPerDelivery ?? null,
      correctness: [check(`${kind} saturation`, sat), check(`${kind} fixed`, fixed)],
    };
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

/** Two gateways on one backend: subscribers split over both, the publisher on the second. */
async function crossNode(backend) {
  const env = backend === 'redis' ? { BACKEND: 'redis' } : { BACKEND: 'nats' };
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
    const common = {
      urls: [a.url, b.url],
      publishUrls: [b.url],
      dialect: 'dotmac',
      channels: 1,
      payloadBytes: 100,
      drainMs: 5000,
      scenario: 'multi-node',
      connections: SUBSCRIBERS,
      durationSec: DURATION,
      serverPids: [a.pid, b.pid],
    };
    const sat = await runLoad({ ...common, rate: 0 });
    const fixed = await runLoad({ ...common, rate: FIXED_RATE });
    const cpu = (r) => r.servers.reduce((s, x) => s + x.cpuMs, 0);
    return {
      satPerSec: sat.messages.perSec,
      satCpuUs: sat.messages.received > 0 ? Math.round((cpu(sat) * 1e4) / sat.messages.received) / 10 : null,
      fixedP50: fixed.latencyMs.p50,
      fixedP99: fixed.latencyMs.p99,
      fixedCpuUs:
        fixed.messages.received > 0 ? Math.round((cpu(fixed) * 1e4) / fixed.messages.received) / 10 : null,
      correctness: [check(`${backend} saturation`, sat), check(`${backend} fixed`, fixed)],
    };
  } finally {
    await a.stop();
    await b.stop();
  }
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((p, q) => p - q);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Medians of every numeric field over the repeats; correctness summed. */
function combine(all) {
  const runs = all.filter((r) => r !== null);
  const out = { runs: runs.length, failedRuns: all.length - runs.length };
  for (const key of Object.keys(runs[0] ?? {})) {
    if (key === 'correctness') {
      const seen = runs.flatMap((r) => r.correctness ?? []);
      out.correctness = {};
      for (const k of ['lost', 'duplicates', 'outOfOrder', 'failures']) {
        out.correctness[k] = seen.reduce((sum, c) => sum + c[k], 0);
      }
    } else if (key === 'skipped') {
      out.skipped = runs[0].skipped;
    } else {
      out[key] = median(runs.map((r) => r[key]));
    }
  }
  return out;
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
  `dotmac-ws bench: ${chosen.join(', ')}; ${REPEAT} repeat(s) of ${DURATION} s; load average ${loadBefore}`,
);
const raw = { fanout: {}, idle: {}, jwt: [], cross: { redis: [], nats: [] } };
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

for (let rep = 1; rep <= REPEAT; rep++) {
  for (const k of chosen) {
    log(
      `[${rep}/${REPEAT}] ${k}: fan-out (${SUBSCRIBERS} subscribers, saturation, then ${FIXED_RATE} msg/s)  load ${loadAverage()}`,
    );
    raw.fanout[k].push(await attempt(`${k} fan-out`, () => fanout(k)));
    if (!skip.has('memory')) {
      log(`[${rep}/${REPEAT}] ${k}: ${IDLE} idle connections`);
      raw.idle[k].push(await attempt(`${k} idle`, () => idle(k)));
    }
  }
  if (chosen.includes('gateway') && !skip.has('jwt')) {
    log(`[${rep}/${REPEAT}] gateway with JWT auth: ${IDLE} connections, one signed token each`);
    raw.jwt.push(
      await attempt('gateway with JWT', () =>
        idle('gateway', { JWT_SECRET_KEY: JWT_SECRET, REQUIRE_TOKEN: 'true' }, { jwtSecret: JWT_SECRET }),
      ),
    );
  }
  if (chosen.includes('gateway') && !skip.has('cross')) {
    for (const backend of ['redis', 'nats']) {
      log(`[${rep}/${REPEAT}] two gateways over ${backend}`);
      raw.cross[backend].push(await attempt(`${backend} cross-node`, () => crossNode(backend)));
    }
  }
}

const results = {
  date: started.toISOString(),
  command: `pnpm bench -- ${process.argv
    .slice(2)
    .filter((a) => a !== '--pinned' && a !== '--')
    .join(' ')}`.trim(),
  machine: machine(),
  load: { before: loadBefore, after: loadAverage() },
  settings: {
    repeat: REPEAT,
    durationSec: DURATION,
    subscribers: SUBSCRIBERS,
    fixedRate: FIXED_RATE,
    idle: IDLE,
    payloadBytes: 100,
  },
  fanout: Object.fromEntries(chosen.map((k) => [k, combine(raw.fanout[k])])),
  idle: Object.fromEntries(
    chosen.filter((k) => raw.idle[k].length > 0).map((k) => [k, combine(raw.idle[k])]),
  ),
  jwt: raw.jwt.length > 0 ? combine(raw.jwt) : null,
  cross: Object.fromEntries(
    Object.entries(raw.cross)
      .filter(([, runs]) => runs.length > 0)
      .map(([b, runs]) => [b, combine(runs)]),
  ),
};
results.targets = targets(results);

function targets(r) {
  const g = r.fanout.gateway;
  const ratio = (a, b) => (a != null && b != null && b !== 0 ? Math.round((a / b) * 100) / 100 : null);
  const list = [];
  const add = (name, value, limit, atMost) =>
    list.push({
      name,
      value,
      limit,
      holds: value === null ? null : atMost ? value <= limit : value >= limit,
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
  const all = [
    ...Object.values(r.fanout),
    ...Object.values(r.idle),
    ...(r.jwt ? [r.jwt] : []),
    ...Object.values(r.cross).filter((c) => !c.skipped),
  ];
  const bad = all.reduce((s, x) => s + (x.correctness?.lost ?? 0) + (x.correctness?.duplicates ?? 0), 0);
  list.push({ name: 'lost + duplicated messages, every run', value: bad, limit: 0, holds: bad === 0 });
  return list;
}

// ---------------------------------------------------------------------------------- table
const f = (v, digits = 1) =>
  v === null || v === undefined
    ? '-'
    : v >= 10_000
      ? Math.round(v).toLocaleString('en-US')
      : Number(v.toFixed(digits)).toString();
const kib = (v) => (v === null || v === undefined ? '-' : (v / 1024).toFixed(1));
const cols = chosen.map((k) => SERVERS[k].label);
const rows = [
  ['fan-out deliveries/s (saturation)', (k) => f(results.fanout[k].satPerSec, 0)],
  ['server CPU us/delivery (saturation)', (k) => f(results.fanout[k].satCpuUs, 2)],
  ['load CPU us/delivery (saturation)', (k) => f(results.fanout[k].satRunnerUs, 2)],
  [
    'load CPU busy (saturation, of one core)',
    (k) => `${f((results.fanout[k].satRunnerBusy ?? 0) * 100, 0)}%`,
  ],
  [`p50 ms at ${SUBSCRIBERS} x ${FIXED_RATE} msg/s`, (k) => f(results.fanout[k].fixedP50, 2)],
  [`p99 ms at ${SUBSCRIBERS} x ${FIXED_RATE} msg/s`, (k) => f(results.fanout[k].fixedP99, 2)],
  ['server CPU us/delivery (fixed rate)', (k) => f(results.fanout[k].fixedCpuUs, 2)],
  [`RSS KiB per idle connection (${IDLE})`, (k) => kib(results.idle[k]?.rssPerConn)],
  ['heap KiB per idle connection, after GC', (k) => kib(results.idle[k]?.heapPerConn)],
  ['connections/s (storm, 256 in flight)', (k) => f(results.idle[k]?.connectPerSec, 0)],
  [
    'lost / duplicated / out of order',
    (k) => {
      const c = [results.fanout[k].correctness, results.idle[k]?.correctness].filter(Boolean);
      return ['lost', 'duplicates', 'outOfOrder'].map((x) => c.reduce((s, y) => s + y[x], 0)).join('/');
    },
  ],
];
const table = [['', ...cols], ...rows.map(([label, cell]) => [label, ...chosen.map(cell)])];
const widths = table[0].map((_, i) => Math.max(...table.map((r) => String(r[i]).length)));
const lines = table.map((r) =>
  r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '),
);
let out = `\ndotmac-ws bench, ${results.date}, ${results.machine.cpu} (${results.machine.cores} cores), Node ${process.version}\n`;
out += `${results.machine.pinning}; load average before ${results.load.before}, after ${results.load.after}; medians of ${REPEAT} run(s)\n\n`;
out += `${lines.join('\n')}\n`;
if (results.jwt) {
  out += `\ngateway with JWT auth (REQUIRE_TOKEN, HS256, token in the query): ${f(results.jwt.connectPerSec, 0)} connections/s, `;
  out += `${kib(results.jwt.rssPerConn)} KiB RSS and ${kib(results.jwt.heapPerConn)} KiB heap per connection\n`;
}
const cross = Object.entries(results.cross);
if (cross.length > 0 && results.fanout.gateway) {
  out +=
    '\ncross-node fan-out (two gateways on CPU 0, subscribers split, publisher on node 2; CPU = both nodes):\n';
  const g = results.fanout.gateway;
  out += `  single node   ${f(g.satPerSec, 0)} deliveries/s, ${f(g.satCpuUs, 2)} us/delivery; p99 ${f(g.fixedP99, 2)} ms at ${FIXED_RATE}/s\n`;
  for (const [backend, c] of cross) {
    out += c.skipped
      ? `  over ${backend.padEnd(6)}  not measured: ${c.skipped}\n`
      : `  over ${backend.padEnd(6)}  ${f(c.satPerSec, 0)} deliveries/s, ${f(c.satCpuUs, 2)} us/delivery; p99 ${f(c.fixedP99, 2)} ms at ${FIXED_RATE}/s; lost ${c.correctness.lost}\n`;
  }
}
out += '\ntargets (ratios in this run):\n';
for (const t of results.targets) {
  out += `  ${t.holds === null ? 'n/a ' : t.holds ? 'HOLDS ' : 'MISSED'}  ${t.name}: ${t.value ?? '-'} (target ${t.name.includes('throughput') ? '>=' : '<='} ${t.limit})\n`;
}
process.stdout.write(out);
const file = opts.out ?? join(here, 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`\nresults: ${file}`);
