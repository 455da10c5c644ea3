// The bench's own Redis or NATS (JetStream) server on free ports, pinned beside the gateways
// (CPU 0), so that its CPU time and its operation counts belong to the measured run alone. The
// shared brokers on 6379/4222 are never used or touched by these sections.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { freePort, sleep, waitForPort } from './net-util.mjs';
import { pinnedCommand } from './server-process.mjs';

/** Sends one inline command to a Redis server and resolves with its raw RESP reply (bounded: 5 s, 4 MiB). */
function redisCommand(port, line) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    let size = 0;
    const timer = setTimeout(() => finish(new Error(`redis ${line}: no answer in 5 s`)), 5000);
    const finish = (error, value) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (c) => {
      chunks.push(c);
      size += c.length;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.startsWith('$')) {
        const eol = text.indexOf('\r\n');
        const length = Number(text.slice(1, eol));
        if (Buffer.byteLength(text) >= eol + 2 + length + 2)
          finish(null, text.slice(eol + 2, eol + 2 + length));
      } else if (text.endsWith('\r\n')) {
        finish(null, text);
      }
      if (size > 4 * 2 ** 20) finish(new Error(`redis ${line}: answer too large`));
    });
    socket.once('error', (e) => finish(e));
  });
}

/** `INFO commandstats` as `{ command: calls }` (the INFO calls themselves left out). */
async function redisCalls(port) {
  const text = await redisCommand(port, 'INFO commandstats');
  const calls = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info') calls[m[1]] = Number(m[2]);
  }
  return calls;
}

async function natsCounts(monitorPort) {
  const get = async (path) => {
    const r = await fetch(`http://127.0.0.1:${monitorPort}${path}`, { signal: AbortSignal.timeout(5000) });
    return r.json();
  };
  const [varz, jsz] = await Promise.all([get('/varz'), get('/jsz')]);
  return { in_msgs: varz.in_msgs ?? 0, out_msgs: varz.out_msgs ?? 0, js_api: jsz.api?.total ?? 0 };
}

/**
 * Starts `redis-server` or `nats-server -js` on free ports. Resolves with its pid, the
 * gateway environment that points at it, `counts()` (Redis: calls per command; NATS: messages
 * in and out, JetStream API calls) and `stop()`.
 */
export async function startStore(kind, { pinning }) {
  const port = await freePort();
  const dir = mkdtempSync(join(os.tmpdir(), `dotmac-bench-${kind}-`));
  let monitorPort = null;
  let argv;
  if (kind === 'redis') {
    argv = [
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    ];
  } else {
    monitorPort = await freePort();
    argv = [
      'nats-server',
      ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-sd', dir],
    ];
  }
  const [cmd, args] = pinnedCommand(pinning, 0, argv[0], argv[1]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  let stderr = '';
  child.stderr.on('data', (c) => {
    if (stderr.length < 10_000) stderr += c;
  });
  child.once('error', (e) => {
    stderr += String(e.message);
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
  try {
    await waitForPort(port, `${kind}-server`, gone, () => stderr);
    if (monitorPort !== null) await waitForPort(monitorPort, 'nats monitoring', gone, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  if (kind === 'nats') await sleep(300); // JetStream ready
  return {
    kind,
    pid: child.pid,
    port,
    env:
      kind === 'redis'
        ? { BACKEND: 'redis', REDIS_URL: `redis://127.0.0.1:${port}` }
        : { BACKEND: 'nats', NATS_URL: `nats://127.0.0.1:${port}` },
    /** Operation counters now. */
    counts: () => (kind === 'redis' ? redisCalls(port) : natsCounts(monitorPort)),
    async stop() {
      if (!gone()) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (!gone()) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Store operations between two `counts()`: Redis, every command's calls (`total` sums them,
 * the commands run inside Lua scripts included; `scripts`: the EVALSHA/EVAL/FCALL calls);
 * NATS, messages into the server (`total`: `in_msgs`, which counts JetStream API requests,
 * KV puts and pub/sub alike) beside `js_api` and `out_msgs`.
 */
export function opsDelta(kind, before, after) {
  const by = {};
  for (const [k, v] of Object.entries(after ?? {})) {
    const d = v - (before?.[k] ?? 0);
    if (d !== 0) by[k] = d;
  }
  const total = kind === 'nats' ? (by.in_msgs ?? 0) : Object.values(by).reduce((a, b) => a + b, 0);
  const scripts = kind === 'nats' ? null : (by.evalsha ?? 0) + (by.eval ?? 0) + (by.fcall ?? 0);
  return { total, scripts, by };
}
