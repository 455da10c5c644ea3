import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, IN_CI, isReachable, onCleanup, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { SHARED_REDIS_URL } from './shared-redis';

const run = promisify(execFile);

/** A `redis-server` this test started on a free port; stopped after the test (or the file). */
export class RedisProcess {
  #child: ChildProcess | null = null;
  readonly port: number;
  readonly #args: string[];
  readonly dir: string;

  private constructor(port: number, args: string[], dir: string) {
    this.port = port;
    this.#args = args;
    this.dir = dir;
  }

  /** Starts `redis-server` on a free port with `extra` arguments; nothing is kept on disk. */
  static async start(extra: string[] = [], options: { cleanup?: boolean } = {}): Promise<RedisProcess> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'dotmac-redis-'));
    const p = new RedisProcess(port, extra, dir);
    if (options.cleanup !== false) onCleanup(() => p.destroy());
    await p.resume();
    return p;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the process (again). */
  async resume(): Promise<void> {
    if (this.#child !== null) return;
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        ...this.#args,
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    await waitUntil(
      () => isReachable('127.0.0.1', this.port, 200),
      5000,
      `redis-server on port ${this.port}`,
    );
  }

  /** Stops the process without ending it (SIGSTOP): its connections stay open, nothing is answered. */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a frozen process run again (SIGCONT). */
  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Kills the process (SIGKILL: a crash, not a shutdown) and waits until the port is closed. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.#child = null;
    for (let i = 0; i < 50 && (await isReachable('127.0.0.1', this.port, 100)); i++) await sleep(20);
  }

  /** Kills the process and removes its folder. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Why tests that start their own Redis cannot run here, or false. Locally, missing
 * `redis-server` / `redis-cli` binaries skip them with this message; under CI=true they fail.
 */
export async function redisBinariesMissing(): Promise<string | false> {
  try {
    await run('redis-server', ['--version']);
    await run('redis-cli', ['--version']);
    return false;
  } catch {
    if (IN_CI)
      throw new Error(
        'CI=true and redis-server / redis-cli are not on the PATH (apt-get install redis-server)',
      );
    return 'redis-server / redis-cli are not on the PATH';
  }
}

/** A 3-master Redis Cluster (with `replicas` replicas per master) from `redis-server` processes. */
export class RedisClusterProcesses {
  readonly nodes: RedisProcess[];

  private constructor(nodes: RedisProcess[]) {
    this.nodes = nodes;
  }

  static async start(replicas: number): Promise<RedisClusterProcesses> {
    const count = 3 * (1 + replicas);
    const nodes: RedisProcess[] = [];
    for (let i = 0; i < count; i++) {
      nodes.push(
        await RedisProcess.start(
          [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '1000',
          ],
          { cleanup: false },
        ),
      );
    }
    const cluster = new RedisClusterProcesses(nodes);
    try {
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      await waitUntil(() => cluster.#allOk(), 20_000, 'cluster_state:ok on every node, replicas in sync');
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  async #allOk(): Promise<boolean> {
    for (const n of this.nodes) {
      const info = await this.command(n.port, ['CLUSTER', 'INFO']);
      if (!String(info).includes('cluster_state:ok')) return false;
      const replication = String(await this.command(n.port, ['INFO', 'replication']));
      if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
    }
    return true;
  }

  /** Sends one command to the node on `port`. */
  async command(port: number, args: string[]): Promise<unknown> {
    const r = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return await r.call(args[0]!, ...args.slice(1));
    } finally {
      r.disconnect();
    }
  }

  /** `host:port` of every node. */
  get seeds(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}

/** Where one conformance test's broker is, and how it stops and starts (with `brokerControl`). */
export interface ConformanceRedis {
  url: string;
  stopBroker?: () => Promise<void>;
  startBroker?: () => Promise<void>;
}

/**
 * The Redis of one conformance test. A test that stops its broker gets a `redis-server` of its
 * own (stopped after the test); the others share the machine's Redis, kept apart by a key
 * prefix of their own.
 */
export async function conformanceRedis(brokerControl: boolean): Promise<ConformanceRedis> {
  if (!brokerControl) return { url: SHARED_REDIS_URL };
  const own = await RedisProcess.start();
  return { url: own.url, stopBroker: () => own.kill(), startBroker: () => own.resume() };
}

/**
 * One 3-master cluster (no replicas) for every test of a file: started before them, destroyed
 * after them; `skip` (a reason) starts nothing. Returns the cluster's getter.
 */
export function clusterForFile(skip: string | false): () => RedisClusterProcesses {
  let cluster: RedisClusterProcesses | null = null;
  beforeAll(async () => {
    if (skip === false) cluster = await RedisClusterProcesses.start(0);
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });
  return () => {
    if (cluster === null) throw new Error('the Redis Cluster of this file is not started');
    return cluster;
  };
}
