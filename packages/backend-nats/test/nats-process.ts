import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { ConformanceCluster } from '@dotmac-ws/core/testkit';
import { freePort, IN_CI, isReachable, onCleanup, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { NatsBackend } from '../src/index';
import { uniquePrefix } from './shared-nats';

const run = promisify(execFile);

/** A `nats-server` this test started on free ports (client + HTTP monitoring); killed after the test. */
export class NatsProcess {
  #child: ChildProcess | null = null;
  readonly port: number;
  readonly monitorPort: number;
  readonly #args: string[];

  private constructor(port: number, monitorPort: number, args: string[]) {
    this.port = port;
    this.monitorPort = monitorPort;
    this.#args = args;
  }

  /**
   * Starts `nats-server` on free ports with `extra` arguments. A port found free can be taken by
   * another process before the server binds it (tests run in parallel): a server that exits while
   * starting is started again on other ports, three times at most.
   */
  static async start(extra: string[] = []): Promise<NatsProcess> {
    for (let attempt = 1; ; attempt++) {
      const p = new NatsProcess(await freePort(), await freePort(), extra);
      onCleanup(() => p.kill());
      try {
        await p.resume();
        return p;
      } catch (error) {
        if (!(error instanceof StartupExit) || attempt === 3) throw error;
      }
    }
  }

  /** `nats://127.0.0.1:{port}`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== null;
  }

  /** Starts the process (again, on the same ports). */
  async resume(): Promise<void> {
    if (this.#child !== null) return;
    const child = spawn(
      'nats-server',
      ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort), ...this.#args],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.#child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
      if (this.#child === child) this.#child = null;
    });
    await waitUntil(
      async () => {
        if (exited)
          throw new StartupExit(
            `nats-server on port ${this.port} exited while starting: ${stderr.trim().slice(-300)}`,
          );
        return isReachable('127.0.0.1', this.port, 200);
      },
      10_000,
      `nats-server on port ${this.port}`,
    );
  }

  /** Kills the process (SIGKILL: a crash, not a shutdown) and waits until the port is closed. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
  }

  /** Stops the process without ending it (SIGSTOP): its connections stay open, nothing is answered. */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a frozen process run again (SIGCONT). */
  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Sends SIGUSR2: lame-duck mode (the server stops accepting and closes clients gradually). */
  lameDuck(): void {
    this.#child?.kill('SIGUSR2');
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.#child = null;
    for (let i = 0; i < 50 && (await isReachable('127.0.0.1', this.port, 100)); i++) await sleep(20);
  }

  /** A monitoring endpoint's JSON (`/connz`, `/routez`, …). */
  async monitor<T>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}${path}`);
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
    return (await res.json()) as T;
  }

  /** How many subscriptions of exactly `subject` the server holds, over all its clients. */
  async subscriptionCount(subject: string): Promise<number> {
    const connz = await this.monitor<{ connections: { subscriptions_list?: string[] }[] }>(
      '/connz?subs=1&limit=10000',
    );
    return connz.connections.reduce(
      (n, c) => n + (c.subscriptions_list ?? []).filter((s) => s === subject).length,
      0,
    );
  }
}

/** A `nats-server` that exited before it listened (a port taken meanwhile, most often). */
class StartupExit extends Error {}

/** Three `nats-server`s joined by routes into one cluster. */
export class NatsClusterProcesses {
  readonly servers: NatsProcess[];

  private constructor(servers: NatsProcess[]) {
    this.servers = servers;
  }

  /** Starts the three servers; when one exits while starting (a port taken), all three again on other ports. */
  static async start(name = 'dotmac-test'): Promise<NatsClusterProcesses> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await NatsClusterProcesses.#startOnce(name);
      } catch (error) {
        if (!(error instanceof StartupExit) || attempt === 3) throw error;
      }
    }
  }

  static async #startOnce(name: string): Promise<NatsClusterProcesses> {
    const routePorts = [await freePort(), await freePort(), await freePort()];
    const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
    const servers: NatsProcess[] = [];
    try {
      for (const [i, rp] of routePorts.entries()) {
        servers.push(
          await NatsProcess.start([
            '--server_name',
            `${name}-${i}`,
            '--cluster_name',
            name,
            '--cluster',
            `nats://127.0.0.1:${rp}`,
            '--routes',
            routes,
          ]),
        );
      }
    } catch (error) {
      for (const s of servers) await s.kill();
      throw error;
    }
    const cluster = new NatsClusterProcesses(servers);
    await waitUntil(() => cluster.#meshed(), 15_000, 'every server of the cluster to route to the other two');
    return cluster;
  }

  async #meshed(): Promise<boolean> {
    for (const s of this.servers) {
      const routez = await s.monitor<{ routes?: { remote_id: string }[] }>('/routez');
      if (new Set((routez.routes ?? []).map((r) => r.remote_id)).size < 2) return false;
    }
    return true;
  }

  /** The client URL of every server. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }
}

/**
 * Why tests cannot start `nats-server` processes here, or false. Locally a missing binary skips
 * them with this message; under CI=true it is a failure.
 */
export async function natsServerMissing(): Promise<string | false> {
  try {
    await run('nats-server', ['--version']);
    return false;
  } catch {
    if (IN_CI)
      throw new Error('CI=true and nats-server is not on the PATH: the NATS failure tests must run in CI');
    return 'nats-server is not on the PATH (install it to run these tests)';
  }
}

/**
 * A conformance cluster on a `nats-server` of the test's own, with monitoring: the suite can
 * count subscriptions on the server and stop and start it.
 */
export async function ownServerCluster(): Promise<ConformanceCluster> {
  const server = await NatsProcess.start();
  const subjectPrefix = uniquePrefix();
  const probe = new NatsBackend({ subjectPrefix });
  return {
    createBackend: () => new NatsBackend({ servers: server.url, subjectPrefix }),
    subscriberCount: (topic) => server.subscriptionCount(probe.subjectOf(topic)),
    stopBroker: () => server.kill(),
    startBroker: () => server.resume(),
  };
}
