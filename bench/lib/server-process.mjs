// A benchmarked Node server: started pinned to a CPU (0 unless told; when pinning) with the memory probe
// preloaded, reachable on a free port, stopped with SIGTERM (or killed outright).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, waitForPort } from './net-util.mjs';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'probe.cjs');

/** `[command, args]` running `cmd args` on CPU `cpu` with taskset when pinning, else as is. */
export function pinnedCommand(pinning, cpu, cmd, args) {
  return pinning ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/**
 * Starts `def.script` (a server speaking on `PORT`/`WS_PORT`) with `env` added to this
 * process's environment, on CPU `cpu` when pinning. `def`: `{ kind, script, path, dialect }`.
 */
export async function startServer(def, { pinning, env = {}, cpu = 0 }) {
  const port = await freePort();
  const probeFile = join(os.tmpdir(), `dotmac-bench-probe-${process.pid}-${port}.json`);
  const [cmd, args] = pinnedCommand(pinning, cpu, process.execPath, ['--expose-gc', '-r', PROBE, def.script]);
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
  const exited = new Promise((r) => child.once('exit', r));
  let stderr = '';
  child.stderr.on('data', (c) => {
    if (stderr.length < 10_000) stderr += c;
  });
  try {
    await waitForPort(
      port,
      def.kind,
      () => child.exitCode !== null || child.signalCode !== null,
      () => stderr,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    kind: def.kind,
    pid: child.pid,
    port,
    url: `ws://127.0.0.1:${port}${def.path}`,
    dialect: def.dialect,
    /** How the process is doing, for an error message: `exited 1: <stderr>`, or its stderr so far. */
    state() {
      const ended = child.exitCode !== null || child.signalCode !== null;
      const tail = stderr.trim().slice(-300);
      if (!ended && tail === '') return null;
      return `${def.kind} ${child.pid}${ended ? ` exited ${child.exitCode ?? child.signalCode}` : ''}${tail ? `: ${tail}` : ''}`;
    },
    /** Full GC in the server, then its memory usage. */
    async probe() {
      const asked = Date.now();
      process.kill(child.pid, 'SIGUSR2');
      // Two full GCs of a server holding 100,000 connections take a while on a busy machine.
      for (let i = 0; i < 600; i++) {
        await sleep(25);
        if (existsSync(probeFile)) {
          const m = JSON.parse(readFileSync(probeFile, 'utf8'));
          if (m.at >= asked) return m;
        }
      }
      throw new Error(`${def.kind} did not answer the memory probe`);
    },
    /** SIGKILL: the node dies without closing anything; resolves once it is gone (at most 5 s). */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.race([exited, sleep(5000)]);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(probeFile, { force: true });
      rmSync(`${probeFile}.tmp`, { force: true });
    },
  };
}
