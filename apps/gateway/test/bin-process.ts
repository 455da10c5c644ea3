import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onCleanup } from '@dotmac-ws/test-utils';

/** The built bin. */
export const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** A running `dist/main.js`. */
export interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts the built bin with `env` (loopback, LOG_LEVEL=warn unless set); killed after the test. */
export function runBin(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', WS_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out, exited };
}
