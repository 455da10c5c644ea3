import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';

/** A process a sample started, in a process group of its own (so a shell's children stop with it). */
export class SampleProcess {
  private out = '';
  private readonly exit: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const onData = (d: Buffer) => {
      // Bounded: a chatty server keeps its last 64 KiB.
      this.out = (this.out + d.toString()).slice(-65_536);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => resolve(code ?? (signal === null ? null : 128)));
      child.on('error', (error) => {
        this.out += `\n${error.message}`;
        resolve(null);
      });
    });
  }

  /** Starts `command args` in `cwd` with exactly `env`. */
  static start(
    name: string,
    command: string,
    args: readonly string[],
    cwd: string,
    env: Record<string, string>,
  ): SampleProcess {
    const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    return new SampleProcess(name, child);
  }

  /** What it printed so far (stdout and stderr, the last 64 KiB). */
  output(): string {
    return this.out;
  }

  /** True until it exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The exit code (128 after a signal), once it exited; rejects after `ms` (the group is then killed). */
  async finished(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } catch (error) {
      await this.stop('SIGKILL', 0);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends `signal` to its whole group (a shell and what it started: a gateway that drains, nginx's
   * workers), SIGKILL after `ms`, and resolves once every process of the group has exited, so
   * that its ports are free for the next sample.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    // A group's number cannot be handed to a new process while a member of the group lives.
    const groupAlive = () => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const kill = (s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s);
      } catch {
        // Gone meanwhile.
      }
    };
    if (!this.running && !groupAlive()) return;
    kill(signal);
    const deadline = Date.now() + ms;
    // Bounded by the deadline, then once more after SIGKILL: one look every 20 ms.
    while (groupAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (groupAlive()) {
      kill('SIGKILL');
      const end = Date.now() + 2000;
      while (groupAlive() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    }
    await this.exit;
  }

  /**
   * Resolves once `ready` answers: a port number (TCP accepts on 127.0.0.1), an http(s) URL (any
   * 2xx), or else a text the process prints. Rejects when the process exits first or after `ms`.
   */
  async whenReady(ready: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    const probe = /^\d+$|^https?:\/\//.test(ready)
      ? () => answers(ready)
      : async () => this.out.includes(ready);
    // Bounded by the deadline: one probe every 50 ms.
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(`exited (${this.child.exitCode ?? this.child.signalCode}) before ${ready} answered`);
      if (await probe()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${ready} did not answer within ${ms} ms`);
  }
}

/** True when `ready` (a port on 127.0.0.1, or an http(s) URL) answers now. */
export async function answers(ready: string): Promise<boolean> {
  if (/^https?:\/\//.test(ready)) {
    try {
      const res = await fetch(ready, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
  const port = Number(ready);
  if (!Number.isInteger(port)) throw new Error(`ready=${ready}: a port or an http(s) URL`);
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
