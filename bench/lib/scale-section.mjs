// The connection storm and memory shape at scale (issue 19): N idle connections on one server
// process (100,000 by default, fewer where the open-files limit says so), opened as fast as
// the server accepts them by several client processes (scale-client.mjs, each under its own
// open-files limit) from source addresses 127.0.0.2, 127.0.0.3, ..., each subscribed to one
// channel; then idle with heartbeats running; RSS and heap per connection after a full GC;
// then one broadcast to all of them through the HTTP API, timed until the last client got it.
// Run against the ws floor and the gateway, with and without JWT auth.
import { fork, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleProcess } from '@dotmac-ws/loadtest';
import { LeanSocket } from './lean-socket.mjs';
import { subscribeAfterWelcome } from './lean-subscribe.mjs';
import { sleep } from './net-util.mjs';
import { schedWaitMs } from './sched-wait.mjs';
import { signToken } from './shapes-load.mjs';
import { log } from './summary.mjs';

const CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'scale-client.mjs');
const API_KEY = 'bench-scale-api-key-0123456789';
const JWT_SECRET = 'bench-secret-with-at-least-32-bytes-of-entropy';
const CHANNEL = 'all';
/** Files a process needs besides its sockets (stdio, epoll, the listening socket, libraries...). */
export const FD_HEADROOM = 500;
/**
 * Connections per source address, each on its own port from {@link PORT_BASE} up. A socket bound
 * to an address with port 0 makes Linux search the ephemeral range for a free port at each
 * bind(), a search that grows with the ports taken (here: 8,000 connections from one address
 * took 5 s of system time where 127.0.0.1 without bind took 0.5 s); a given port is one lookup.
 */
export const PER_ADDRESS = 12_000;
/** The first source port: 20,000-31,999 stays below the ephemeral range (32768-60999 by default). */
export const PORT_BASE = 20_000;

/**
 * Connections opened (welcome, subscribe, ack) and closed before the measured storm, at most as
 * many as the storm has: every server's handshake path is compiled by then, as it is on a server
 * that has been running. Without it the storm timed the JIT's warm-up too, which costs a server
 * with more code per handshake more (the gateway's JWT check ran at 30 us per token for its first
 * 2,000 tokens, 5-6 us after). Memory is still measured from the fresh process.
 */
export const WARMUP_CONNECTIONS = 3000;

/**
 * Opens `count` connections to `url` from this process (64 in flight), each with a token when
 * `jwtSecret` is set, waits for the welcome and the subscribe's answer, then drops them all.
 * Resolves with how many got through; failures are counted, not thrown.
 */
async function warmUp(url, jwtSecret, count, timeoutMs) {
  const sockets = [];
  let next = 0;
  let ok = 0;
  const one = async (i) => {
    const target = jwtSecret ? `${url}?token=${signToken(jwtSecret, `warm-${i}`)}` : url;
    const ws = await LeanSocket.connect(target, { protocol: 'dotmac.v1', timeoutMs });
    sockets.push(ws);
    await subscribeAfterWelcome(ws, CHANNEL, timeoutMs);
    ok++;
  };
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        try {
          await one(next++);
        } catch {}
      }
    }),
  );
  for (const ws of sockets) ws.terminate();
  return ok;
}

/** The runs of the section: which server, with what environment. */
export const SCALE_VARIANTS = {
  // The floor checks the API key on POST /api/publish as the gateway does.
  floor: { kind: 'floor', label: 'ws floor', env: { API_KEY } },
  // The floor's JWT twin verifies each token with jsonwebtoken, as a ws application would.
  'floor-jwt': {
    kind: 'floor',
    label: 'ws floor + JWT',
    env: { API_KEY, JWT_SECRET_KEY: JWT_SECRET },
    jwtSecret: JWT_SECRET,
  },
  gateway: { kind: 'gateway', label: 'gateway', env: { API_KEY } },
  'gateway-jwt': {
    kind: 'gateway',
    label: 'gateway + JWT',
    env: { API_KEY, JWT_SECRET_KEY: JWT_SECRET, REQUIRE_TOKEN: 'true' },
    jwtSecret: JWT_SECRET,
  },
};

/**
 * The open-files limit a process started from this one can raise itself to (Node raises its
 * soft limit to the hard one at startup): the hard `RLIMIT_NOFILE`; Infinity when unlimited,
 * null when unknown.
 */
export function openFilesLimit() {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    if (hard === 'unlimited') return Number.POSITIVE_INFINITY;
    if (hard !== undefined && Number.isFinite(Number(hard))) return Number(hard);
  } catch {}
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const v = r.stdout?.trim();
  if (v === 'unlimited') return Number.POSITIVE_INFINITY;
  return Number.isFinite(Number(v)) && v !== '' ? Number(v) : null;
}

/**
 * How many connections one run holds and how the clients are spread: at most what one server
 * process can hold (its open-files limit less {@link FD_HEADROOM}), over enough client
 * processes (at least 2) and source addresses ({@link PER_ADDRESS} each) for that.
 * `processes`/`addresses` 0 choose themselves.
 */
export function scalePlan({ connections, processes = 0, addresses = 0, limit = openFilesLimit() }) {
  const perProcessCap = limit === null ? Number.POSITIVE_INFINITY : Math.max(1, limit - FD_HEADROOM);
  const n = Math.min(connections, perProcessCap);
  const p = Math.max(processes || 2, Math.ceil(n / perProcessCap));
  const a = Math.min(253, Math.max(addresses || 1, Math.ceil(n / PER_ADDRESS)));
  return {
    requested: connections,
    connections: n,
    limited: n < connections,
    limit,
    processes: Math.min(p, n),
    addresses: a,
    note:
      n < connections
        ? `LIMITED: ${n.toLocaleString('en-US')} of ${connections.toLocaleString('en-US')} connections: the open-files limit ${limit} per process (ulimit -Hn) less ${FD_HEADROOM} headroom; raise it (ulimit -n, LimitNOFILE, prlimit) to run them all`
        : null,
  };
}

let nextAddress = 2;
/** `n` loopback source addresses not used by the previous runs (their ports may still be in TIME_WAIT). */
function takeAddresses(n) {
  if (nextAddress + n - 1 > 254) nextAddress = 2;
  const list = Array.from({ length: n }, (_, k) => `127.0.0.${nextAddress + k}`);
  nextAddress += n;
  return list;
}

/** A forked client process and a way to ask it something (one question per op at a time). */
function startClient() {
  const child = fork(CLIENT, [], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', (c) => {
    if (stderr.length < 5000) stderr += c;
  });
  const waiting = new Map();
  child.on('message', (m) => {
    const op = m.op === 'error' ? m.failedOp : m.op;
    const w = waiting.get(op);
    if (w === undefined) return;
    waiting.delete(op);
    if (m.op === 'error') w.reject(new Error(`client process ${child.pid}, '${op}': ${m.message}`));
    else w.resolve(m);
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.once('exit', (code, signal) => {
    for (const w of waiting.values()) {
      w.reject(
        new Error(`client process ${child.pid} exited ${code ?? signal}: ${stderr.trim().slice(-300)}`),
      );
    }
    waiting.clear();
  });
  return {
    pid: child.pid,
    ask(op, body, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(op);
          reject(new Error(`client process ${child.pid} did not answer '${op}' within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(op, {
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        if (child.connected) child.send({ op, ...body });
      });
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send({ op: 'close' });
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await Promise.race([exited, sleep(2000)]);
      }
    },
  };
}

/** CPU time (ms) of the processes `pids` summed; null when one cannot be read. */
function cpuMs(pids) {
  let total = 0;
  for (const pid of pids) {
    const c = sampleProcess(pid)?.cpuMs;
    if (c === undefined) return null;
    total += c;
  }
  return total;
}
const delta = (a, b) => (a === null || b === null ? null : Math.round(b - a));
const share = (ms, wallMs) => (ms === null ? null : Math.round((ms / wallMs) * 100) / 100);

const percentile = (sorted, p) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** The gateway's `/api/stats` (sessions, counters), or null (the floor has none). */
async function serverStats(server) {
  try {
    const r = await fetch(`http://127.0.0.1:${server.port}/api/stats`, {
      headers: { authorization: `Bearer ${API_KEY}` },
      signal: AbortSignal.timeout(10_000),
    });
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

/**
 * One run of `variant` (a key of {@link SCALE_VARIANTS}) with `plan` ({@link scalePlan}).
 * `ctx`: `{ startServer(kind, env), concurrency, idleMs, heartbeatMs, broadcastWaitMs,
 * connectTimeoutMs }`.
 */
export async function scaleRun(ctx, variant, plan) {
  const v = SCALE_VARIANTS[variant];
  const n = plan.connections;
  const stormDeadlineMs = 60_000 + n * 5; // a floor of 200 connections/s
  const runDeadlineMs = stormDeadlineMs + ctx.idleMs + ctx.broadcastWaitMs + 60_000;
  const server = await ctx.startServer(v.kind, { ...v.env, HEARTBEAT_MS: String(ctx.heartbeatMs) });
  const clients = [];
  let timer;
  const overall = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the ${variant} run took over ${runDeadlineMs} ms`)),
      runDeadlineMs,
    );
  });
  const run = async () => {
    await sleep(300);
    // Memory is measured from the fresh process: what the warm-up's connections left behind
    // (pages the storm reuses) must not shrink the per-connection figures.
    const before = await server.probe();
    const warm = Math.min(WARMUP_CONNECTIONS, n);
    const warmed = await warmUp(server.url, v.jwtSecret ?? null, warm, ctx.connectTimeoutMs);
    if (warmed < warm) log(`    ! warm-up: ${warmed} of ${warm} connections got through`);
    // The server has seen the warm-up's connections close before the storm starts.
    await sleep(1000);
    const addresses = takeAddresses(plan.addresses);
    const concurrency = Math.max(1, Math.ceil(ctx.concurrency / plan.processes));
    let from = 0;
    const shares = [];
    for (let p = 0; p < plan.processes; p++) {
      const count = Math.floor(n / plan.processes) + (p < n % plan.processes ? 1 : 0);
      clients.push(startClient());
      shares.push({ from, count });
      from += count;
    }
    const prepared = await Promise.all(
      clients.map((c, p) =>
        c.ask(
          'prepare',
          {
            url: server.url,
            ...shares[p],
            addresses,
            portBase: PORT_BASE,
            channel: CHANNEL,
            jwtSecret: v.jwtSecret ?? null,
            concurrency,
            timeoutMs: ctx.connectTimeoutMs,
            deadlineMs: stormDeadlineMs,
          },
          60_000 + n,
        ),
      ),
    );

    // 1. The storm: every client process at once, `ctx.concurrency` handshakes in flight in all.
    const clientPids = clients.map((c) => c.pid);
    const cpu0 = { server: cpuMs([server.pid]), wait: schedWaitMs(server.pid), clients: cpuMs(clientPids) };
    const t0 = Date.now();
    const storms = await Promise.all(clients.map((c) => c.ask('go', {}, stormDeadlineMs + 30_000)));
    const ready = storms.reduce((s, r) => s + r.ready, 0);
    const failures = {};
    for (const r of storms) {
      for (const [k, c] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + c;
    }
    const stormMs = Math.max(1, Math.max(...storms.map((r) => r.lastReadyAt)) - t0);
    const cpu1 = { server: cpuMs([server.pid]), wait: schedWaitMs(server.pid), clients: cpuMs(clientPids) };
    const welcome = storms.flatMap((r) => r.welcomeMs).sort((p, q) => p - q);
    log(
      `    ${ready} of ${n} connected and subscribed in ${stormMs} ms (${Math.round((ready * 1000) / stormMs)}/s)${Object.keys(failures).length ? `; failed: ${JSON.stringify(failures)}` : ''}`,
    );

    // 2. Idle, heartbeats running; then memory after a full GC and what is still open.
    const idleFrom = Date.now();
    await sleep(ctx.idleMs);
    const idleCpuMs = delta(cpu1.server, cpuMs([server.pid]));
    const idleWallMs = Date.now() - idleFrom;
    const held = await server.probe();
    const counts = await Promise.all(clients.map((c) => c.ask('count', {}, 30_000)));
    const open = counts.reduce((s, c) => s + c.open, 0);
    const pings = counts.reduce((s, c) => s + c.pings, 0);
    const stats = await serverStats(server);

    // 3. One broadcast to all, through the HTTP API.
    const cpu2 = { server: cpuMs([server.pid]), clients: cpuMs(clientPids) };
    const sentAt = Date.now();
    const res = await fetch(`http://127.0.0.1:${server.port}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: CHANNEL, type: 'bcast', data: { n: 1, at: sentAt } }),
      signal: AbortSignal.timeout(30_000),
    });
    const answeredAt = Date.now();
    const answer = res.ok ? await res.json() : { status: res.status, body: await res.text() };
    const got = await Promise.all(
      clients.map((c) => c.ask('collect', { waitMs: ctx.broadcastWaitMs }, ctx.broadcastWaitMs + 30_000)),
    );
    const cpu3 = { server: cpuMs([server.pid]), clients: cpuMs(clientPids) };
    const received = got.reduce((s, g) => s + g.received, 0);
    const openAtBroadcast = got.reduce((s, g) => s + g.open, 0);
    const lastAt = Math.max(...got.map((g) => g.lastReceivedAt));
    const lost = ready - received;
    const allReceived = received === ready && ready > 0;
    log(
      `    broadcast: answered in ${answeredAt - sentAt} ms (delivered_local ${answer.delivered_local ?? JSON.stringify(answer)}), ${received} of ${ready} received${allReceived ? ` within ${lastAt - sentAt} ms` : ''}`,
    );

    const perConn = (key) => (ready > 0 ? (held[key] - before[key]) / ready : null);
    const rssPerConn = perConn('rss');
    return {
      variant,
      label: v.label,
      requested: plan.requested,
      connections: n,
      limited: plan.limited,
      openFilesLimit: plan.limit === Number.POSITIVE_INFINITY ? 'unlimited' : plan.limit,
      clientProcesses: plan.processes,
      sourceAddresses: addresses,
      concurrency: concurrency * plan.processes,
      signMs: Math.max(...prepared.map((x) => x.signMs)),
      ready,
      authenticated: storms.reduce((s, r) => s + r.authenticated, 0),
      // Connections whose source port was taken (bound by the kernel's choice instead).
      portFallbacks: storms.reduce((s, r) => s + r.portFallbacks, 0),
      failedToConnect: n - ready,
      failures,
      stormMs,
      connectPerSec: Math.round((ready * 1000) / stormMs),
      welcomeP50Ms: percentile(welcome, 50),
      welcomeP99Ms: percentile(welcome, 99),
      // Over the storm: the server's CPU (per connection), how long it waited for its core while
      // runnable (other processes on CPU 0), and the client processes' CPU (of one core, CPU 1).
      stormServerCpuMs: delta(cpu0.server, cpu1.server),
      stormServerCpuUsPerConn:
        ready > 0 && cpu0.server !== null ? Math.round(((cpu1.server - cpu0.server) * 1000) / ready) : null,
      stormServerBusy: share(delta(cpu0.server, cpu1.server), stormMs),
      stormServerWaitShare: share(delta(cpu0.wait, cpu1.wait), stormMs),
      stormClientBusy: share(delta(cpu0.clients, cpu1.clients), stormMs),
      idleMs: ctx.idleMs,
      heartbeatMs: ctx.heartbeatMs,
      pingsPerConnection: ready > 0 ? Math.round((pings / ready) * 100) / 100 : null,
      idleServerBusy: share(idleCpuMs, idleWallMs),
      openAfterIdle: open,
      droppedWhileIdle: ready - open,
      serverSessions: stats?.sessions?.total ?? null,
      heartbeatTimeouts: stats?.counters?.heartbeat_timeouts ?? null,
      rssBefore: before.rss,
      rssHeld: held.rss,
      heapHeld: held.heapUsed,
      rssPerConn,
      heapPerConn: perConn('heapUsed'),
      externalPerConn: perConn('external'),
      // What 100,000 connections would take at this rate per connection (measured when n is 100,000).
      rssAt100k: rssPerConn === null ? null : Math.round(before.rss + rssPerConn * 100_000),
      publishStatus: res.status,
      deliveredLocal: answer.delivered_local ?? null,
      publishAnsweredMs: answeredAt - sentAt,
      received,
      openAtBroadcast,
      allReceivedMs: allReceived ? lastAt - sentAt : null,
      // CPU from the publish until every client reported (10 ms ticks): the server's, the clients'.
      broadcastServerCpuMs: delta(cpu2.server, cpu3.server),
      broadcastClientCpuMs: delta(cpu2.clients, cpu3.clients),
      lost,
      correctness: [{ lost, duplicates: 0, outOfOrder: 0, failures: n - ready + (ready - open) }],
    };
  };
  try {
    return await Promise.race([run(), overall]);
  } finally {
    clearTimeout(timer);
    // The server goes first, so the TIME_WAIT states are its own, not the client ports'.
    await server.kill();
    await server.stop();
    await Promise.all(clients.map((c) => c.close()));
  }
}
