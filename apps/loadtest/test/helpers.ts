import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, isReachable, onCleanup, waitUntil } from '@dotmac-ws/test-utils';
import type { LoadResult } from '../src/index';

const require = createRequire(import.meta.url);
/** The built CLI of this package. */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
const GATEWAY_MAIN = join(dirname(require.resolve('@dotmac-ws/gateway/package.json')), 'dist', 'main.js');

/** A reference gateway process (`node apps/gateway/dist/main.js`) on a free port, killed after the test. */
export interface ReferenceGateway {
  url: string;
  pid: number;
  port: number;
}

export async function startReferenceGateway(env: Record<string, string> = {}): Promise<ReferenceGateway> {
  const port = await freePort();
  const child = spawn(process.execPath, [GATEWAY_MAIN], {
    env: { ...process.env, WS_HOST: '127.0.0.1', WS_PORT: String(port), LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  onCleanup(() => stop(child));
  await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}): ${stderr}`);
    return isReachable('127.0.0.1', port, 200);
  }, 10_000);
  return { url: `ws://127.0.0.1:${port}/ws`, pid: child.pid!, port };
}

function stop(child: ChildProcess): Promise<void> {
  // Exited, or killed by a signal (the recovery scenario's --kill-pid): nothing to wait for.
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The SLO flags of a run that must deliver every message exactly once, in order. */
export const EXACTLY_ONCE_FLAGS: readonly string[] = [
  '--max-loss',
  '0',
  '--max-duplicates',
  '0',
  '--max-out-of-order',
  '0',
];

/** What a CLI run printed and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with `args`, killed after `timeoutMs`. */
export function runCli(args: readonly string[], timeoutMs = 25_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the CLI ran past ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Runs the built CLI with `--json`, expects exit code 0 and returns the parsed result. */
export async function runCliJson(args: readonly string[]): Promise<LoadResult> {
  const run = await runCli([...args, '--json']);
  if (run.code !== 0) throw new Error(`the CLI exited ${run.code}: ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout) as LoadResult;
}
