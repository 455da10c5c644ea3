import { type ChannelRef, errorText, type Logger, silentLogger } from '@dotmac-ws/core';
import type { Redis } from 'ioredis';
import type { ChannelOccupancy, OccupancyChange } from './channel-occupancy';
import { OCCUPY, RENEW, SWEEP, VACATE } from './occupancy-scripts';
import type { RedisOccupancyOptions } from './webhook-options';

/** Defaults of {@link RedisOccupancyOptions}. */
export const REDIS_OCCUPANCY_DEFAULTS = { keyPrefix: 'dotmac:occupancy:', leaseMs: 60_000 } as const;

/** Shares and vacates handled per sweep, at most. */
const SWEEP_LIMIT = 1000;
/** Channels renewed per script call. */
const RENEW_CHUNK = 500;
/** How long stop() waits for the last commands. */
const STOP_WAIT_MS = 2000;

type Reply = (string | null)[];
interface OccupancyCommands {
  dotmacOccupancyOccupy(...args: (string | number)[]): Promise<number>;
  dotmacOccupancyVacate(...args: (string | number)[]): Promise<Reply>;
  dotmacOccupancyRenew(...args: (string | number)[]): Promise<Reply>;
  dotmacOccupancySweep(...args: (string | number)[]): Promise<Reply>;
}

/**
 * Cluster-wide occupancy kept in Redis (see `occupancy-scripts.ts` for the keys): every node
 * records which channels it holds, with a lease it renews every third of `leaseMs`; atomic
 * scripts decide each transition, so exactly one node tells each. A node that dies stops
 * renewing: its shares expire and its channels vacate (after `leaseMs` plus the delay). When
 * Redis fails, transitions are not told until it answers again; each node then renews what it
 * holds, which tells `occupied` again for channels whose state Redis lost.
 *
 * @example
 * const occupancy = new RedisChannelOccupancy({ redis: 'redis://127.0.0.1:6379' })
 */
export class RedisChannelOccupancy implements ChannelOccupancy {
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #source: Redis | string;
  #client: (Redis & OccupancyCommands) | null = null;
  #owned = false;
  #nodeId = '';
  #delayMs = 0;
  #listener: ((change: OccupancyChange) => void) | undefined;
  /** The channels this node holds, by internal name. */
  readonly #local = new Map<string, ChannelRef>();
  readonly #pending = new Set<Promise<unknown>>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #errors = 0;
  #failing = false;
  #lastError: string | null = null;

  constructor(options: RedisOccupancyOptions & { logger?: Logger }) {
    this.#source = options.redis;
    this.#prefix = options.keyPrefix ?? REDIS_OCCUPANCY_DEFAULTS.keyPrefix;
    this.#leaseMs = options.leaseMs ?? REDIS_OCCUPANCY_DEFAULTS.leaseMs;
    this.#logger = options.logger ?? silentLogger;
  }

  start(nodeId: string, vacateDelayMs: number, listener: (change: OccupancyChange) => void): void {
    this.#nodeId = nodeId;
    this.#delayMs = vacateDelayMs;
    this.#listener = listener;
    if (typeof this.#source !== 'string') this.#use(this.#source);
    else {
      const url = this.#source;
      import('ioredis').then(
        ({ Redis }) => {
          if (this.#stopped) return;
          const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
          client.on('error', (error: Error) =>
            this.#logger.debug({ component: 'app-backend', error: error.message }, 'occupancy Redis error'),
          );
          this.#owned = true;
          this.#use(client);
        },
        (error: unknown) =>
          this.#failed(error, 'ioredis could not be loaded: install it to keep occupancy in Redis'),
      );
    }
    const sweepMs = Math.min(1000, Math.max(50, Math.floor(vacateDelayMs / 4)));
    this.#sweepTimer = setInterval(() => this.#sweep(), sweepMs);
    this.#renewTimer = setInterval(() => this.#renew(), Math.max(100, Math.floor(this.#leaseMs / 3)));
  }

  occupied(channel: ChannelRef): void {
    this.#local.set(channel.internal, channel);
    const client = this.#ready();
    if (client === null) return;
    this.#track(
      client
        .dotmacOccupancyOccupy(
          this.#prefix,
          this.#nodeId,
          channel.internal,
          channel.name,
          channel.tenantId ?? '',
          this.#leaseMs,
        )
        .then((first) => {
          if (first === 1) this.#tell({ kind: 'occupied', channel });
        }),
    );
  }

  vacated(channel: ChannelRef): void {
    this.#local.delete(channel.internal);
    this.#sendVacate(channel.internal);
  }

  health(): { status: 'healthy' | 'degraded'; store: 'redis'; errors: number; error?: string } {
    const connected = this.#ready() !== null;
    const status = this.#failing || !connected ? 'degraded' : 'healthy';
    const error = connected ? this.#lastError : 'not connected to Redis';
    return {
      status,
      store: 'redis',
      errors: this.#errors,
      ...(status === 'degraded' && error !== null ? { error } : {}),
    };
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    clearInterval(this.#sweepTimer);
    clearInterval(this.#renewTimer);
    // Channels still held (the app backend stopped before the gateway): let go of them.
    for (const internal of this.#local.keys()) this.#sendVacate(internal);
    this.#local.clear();
    this.#stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#pending]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (this.#owned) this.#client?.disconnect();
  }

  #use(client: Redis): void {
    client.defineCommand('dotmacOccupancyOccupy', { numberOfKeys: 0, lua: OCCUPY });
    client.defineCommand('dotmacOccupancyVacate', { numberOfKeys: 0, lua: VACATE });
    client.defineCommand('dotmacOccupancyRenew', { numberOfKeys: 0, lua: RENEW });
    client.defineCommand('dotmacOccupancySweep', { numberOfKeys: 0, lua: SWEEP });
    this.#client = client as Redis & OccupancyCommands;
    // Whenever Redis (re)connects, register what this node holds at once.
    client.on('ready', () => this.#renew());
    if (client.status === 'ready') this.#renew();
  }

  #sendVacate(internal: string): void {
    const client = this.#ready();
    if (client === null || this.#stopped) return;
    this.#track(
      client
        .dotmacOccupancyVacate(this.#prefix, this.#nodeId, internal, this.#delayMs)
        .then((reply) => this.#tellVacated(reply)),
    );
  }

  /**
   * Renews this node's shares. The channel list is read and every command sent in one turn:
   * a local vacate that follows is sent after them, so it cannot be undone by a renewal.
   */
  #renew(): void {
    const client = this.#ready();
    if (client === null || this.#stopped || this.#local.size === 0) return;
    const channels = [...this.#local.values()];
    for (let i = 0; i < channels.length; i += RENEW_CHUNK) {
      // Told from this snapshot: a channel let go of since is told vacated after it, in order.
      const chunk = new Map(channels.slice(i, i + RENEW_CHUNK).map((c) => [c.internal, c]));
      const args: (string | number)[] = [this.#prefix, this.#nodeId, this.#leaseMs];
      for (const c of chunk.values()) args.push(c.internal, c.name, c.tenantId ?? '');
      this.#track(
        client.dotmacOccupancyRenew(...args).then((anew) => {
          for (const internal of anew) {
            const channel = internal === null ? undefined : chunk.get(internal);
            if (channel !== undefined) this.#tell({ kind: 'occupied', channel });
          }
        }),
      );
    }
  }

  #sweep(): void {
    const client = this.#ready();
    if (client === null || this.#stopped) return;
    this.#track(
      client.dotmacOccupancySweep(this.#prefix, this.#delayMs, SWEEP_LIMIT).then((r) => this.#tellVacated(r)),
    );
  }

  /**
   * The client while it is connected, else null: nothing is sent meanwhile (a command would
   * fail, or wait in a queue). What this node holds is registered when it is ready again, and a
   * share it let go of meanwhile expires with its lease.
   */
  #ready(): (Redis & OccupancyCommands) | null {
    return this.#client?.status === 'ready' ? this.#client : null;
  }

  /** Tells the `[channel, name, tenant, …]` triples of a script's reply as vacated. */
  #tellVacated(reply: Reply): void {
    for (let i = 0; i + 2 < reply.length; i += 3) {
      const tenant = reply[i + 2] ?? '';
      this.#tell({
        kind: 'vacated',
        channel: {
          internal: reply[i] ?? '',
          name: reply[i + 1] ?? '',
          tenantId: tenant === '' ? null : tenant,
        },
      });
    }
  }

  #tell(change: OccupancyChange): void {
    try {
      this.#listener?.(change);
    } catch (error) {
      this.#logger.error({ component: 'app-backend', error }, 'occupancy listener threw');
    }
  }

  #track(command: Promise<unknown>): void {
    const p = command.then(
      () => {
        if (this.#failing) this.#logger.info({ component: 'app-backend' }, 'occupancy Redis answers again');
        this.#failing = false;
      },
      (error: unknown) => this.#failed(error, 'occupancy Redis command failed'),
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #failed(error: unknown, message: string): void {
    this.#errors++;
    this.#lastError = errorText(error);
    if (!this.#failing) this.#logger.warn({ component: 'app-backend', error: this.#lastError }, message);
    this.#failing = true;
  }
}
