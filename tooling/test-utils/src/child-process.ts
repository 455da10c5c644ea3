import { type ChildProcess, spawn } from 'node:child_process';
import { onCleanup } from './cleanup';

/** A process started by a test with {@link startProcess}; killed after the test if still running. */
export interface TestProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr together. */
  output(): string;
  /** Resolves with the first printed line `match` accepts; rejects when the process exits first or after `ms`. */
  line(match: (line: string) => boolean, ms?: number): Promise<string>;
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  exited(): Promise<number | null>;
  /** Sends `signal` (SIGTERM) and resolves with the exit code; SIGKILL after `ms`. */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number | null>;
}

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/** Starts `command args` with its output recorded; after the test it is stopped (SIGKILL if need be). */
export function startProcess(
  command: string,
  args: readonly string[],
  options: StartProcessOptions = {},
): TestProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  const onData = (d: Buffer) => {
    out += d.toString();
    notify();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const running = () => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      notify();
      resolve(code);
    });
    child.on('error', (error) => {
      out += `\n${error.message}`;
      resolve(null);
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', ms = 15_000) => {
    if (!running()) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  onCleanup(() => stop('SIGKILL', 5000));
  const name = [command, ...args].join(' ');
  return {
    child,
    output: () => out,
    exited: () => exited,
    stop,
    line(match, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => settle(() => reject(new Error(`${name}: no such line within ${ms} ms:\n${out}`))),
          ms,
        );
        const settle = (then: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          then();
        };
        function check() {
          const found = out.split('\n').find(match);
          if (found !== undefined) settle(() => resolve(found));
          else if (!running())
            settle(() =>
              reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${out}`)),
            );
        }
        waiters.add(check);
        check();
      });
    },
  };
}
