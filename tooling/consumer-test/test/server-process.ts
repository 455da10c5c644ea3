import { type ChildProcess, spawn } from 'node:child_process';
import { onCleanup } from '@dotmac-ws/test-utils';

/** A `node` process started by a test; killed after the test if it is still running. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first printed line that `match` accepts; rejects if it exits first or after `ms`. */
  line(match: (line: string) => boolean, ms?: number): Promise<string>;
  /** Sends SIGTERM; resolves with the exit code. */
  stop(ms?: number): Promise<number | null>;
}

/** Starts `node file` in `cwd` with `env` added to this process's environment. */
export function startNode(cwd: string, file: string, env: Record<string, string> = {}): ServerProcess {
  const child = spawn(process.execPath, [file], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      for (const w of waiters) w();
      resolve(code);
    });
  });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    output: () => out,
    line(match, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = out.split('\n').find(match);
          if (found !== undefined) done(() => resolve(found));
          else if (child.exitCode !== null || child.signalCode !== null)
            done(() => reject(new Error(`${file} exited (${child.exitCode ?? child.signalCode}): ${out}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no such line within ${ms} ms: ${out}`))),
          ms,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(ms = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
