import { describeOptionValue, withoutUndefined } from '@dotmac-ws/core';
import type { Redis } from 'ioredis';
import type { ChannelOccupancy } from './channel-occupancy';
import { channelPatternProblems } from './channel-patterns';
import { checkIntegers, checkSecret, checkUrl } from './proxy-options';
import { WEBHOOK_EVENT_NAMES, type WebhookEventName } from './webhook-event';

/** One endpoint webhooks go to, and which events it gets. */
export interface WebhookTargetOptions {
  /** The http(s) URL batches are POSTed to. */
  url: string;
  /** The events it gets. @default every event */
  events?: readonly WebhookEventName[] | undefined;
  /** Its name in metrics and `/health`. @default its position in `targets` ('0', '1', …) */
  name?: string | undefined;
}

/**
 * Where cluster-wide channel occupancy is kept: in this process (one node), or in Redis so that
 * `channel.occupied` / `channel.vacated` are sent once per cluster-wide transition.
 */
export interface RedisOccupancyOptions {
  /**
   * One Redis server (not a Redis Cluster: the scripts touch the keys of several channels): an
   * ioredis client (create it with `enableOfflineQueue: false`; it stays yours), or a
   * `redis://` / `rediss://` URL (a client of its own is made and closed; ioredis must be installed).
   */
  redis: Redis | string;
  /** Prefix of its keys; every node of a cluster uses the same. @default 'dotmac:occupancy:' */
  keyPrefix?: string;
  /** A node's share of a channel expires this long after its last refresh: the time a dead node's channels take to count as left. @default 60000 */
  leaseMs?: number;
}

/** Options of the webhooks. */
export interface WebhookOptions {
  /** The endpoints; each gets its own queue, so a failing one never holds up another. */
  targets: readonly WebhookTargetOptions[];
  /** The shared secret that signs each request (HMAC-SHA256 over timestamp and body); at least 16 characters. */
  secret: string;
  /** Events per request at most. @default 100 */
  batchSize?: number;
  /** How long the first event of a batch waits for more, in ms. @default 100 */
  batchMs?: number;
  /** One request's deadline, in ms. @default 5000 */
  timeoutMs?: number;
  /** Events queued per target at most; more are dropped and counted. @default 10000 */
  queueSize?: number;
  /** The first retry's delay, in ms; each next one doubles (with jitter). @default 500 */
  retryBaseMs?: number;
  /** The longest delay between retries, in ms. @default 30000 */
  retryMaxDelayMs?: number;
  /** How long a batch is retried before it is given up (counted failed), in ms. @default 300000 */
  retryForMs?: number;
  /** How long a channel stays occupied after its last subscriber left anywhere, so that a quick reconnect sends nothing, in ms. @default 5000 */
  vacateDelayMs?: number;
  /** Channel patterns whose client publishes are sent as `client.event` (`*` any run of characters). @default [] (none) */
  clientEventChannels?: readonly string[];
  /** Where occupancy is kept: Redis (a cluster), or a {@link ChannelOccupancy} of your own. @default in this process (one node) */
  occupancy?: RedisOccupancyOptions | ChannelOccupancy | undefined;
  /** How long `stop()` keeps delivering what is queued, in ms; what is left then is dropped and counted. @default 5000 */
  stopTimeoutMs?: number;
}

/** {@link WebhookOptions} with every default applied. */
export interface ResolvedWebhookOptions {
  targets: readonly { url: URL; events: ReadonlySet<WebhookEventName>; name: string }[];
  secret: string;
  batchSize: number;
  batchMs: number;
  timeoutMs: number;
  queueSize: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  retryForMs: number;
  vacateDelayMs: number;
  clientEventChannels: readonly string[];
  occupancy: RedisOccupancyOptions | ChannelOccupancy | undefined;
  stopTimeoutMs: number;
}

/** Defaults of {@link WebhookOptions}. */
export const WEBHOOK_DEFAULTS = {
  batchSize: 100,
  batchMs: 100,
  timeoutMs: 5000,
  queueSize: 10_000,
  retryBaseMs: 500,
  retryMaxDelayMs: 30_000,
  retryForMs: 300_000,
  vacateDelayMs: 5000,
  clientEventChannels: [] as readonly string[],
  stopTimeoutMs: 5000,
} as const;

/** Checks `options` and applies the defaults; pushes every problem to `problems`. @internal */
export function resolveWebhookOptions(options: WebhookOptions, problems: string[]): ResolvedWebhookOptions {
  const o = { ...WEBHOOK_DEFAULTS, ...withoutUndefined(options) };
  checkSecret(o.secret, 'webhooks.secret', problems);
  checkIntegers(problems, 'webhooks', o, [
    ['batchSize', 1, 10_000],
    ['batchMs', 0, 60_000],
    ['timeoutMs', 1, 600_000],
    ['queueSize', 1, 10_000_000],
    ['retryBaseMs', 1, 600_000],
    ['retryMaxDelayMs', 1, 3_600_000],
    ['retryForMs', 0, 86_400_000],
    ['vacateDelayMs', 0, 3_600_000],
    ['stopTimeoutMs', 0, 600_000],
  ]);
  problems.push(...channelPatternProblems(o.clientEventChannels, 'webhooks.clientEventChannels'));
  const targets: ResolvedWebhookOptions['targets'][number][] = [];
  if (!Array.isArray(o.targets) || o.targets.length === 0) {
    problems.push('webhooks.targets must name at least one { url, events? }');
  } else {
    for (const [i, t] of o.targets.entries()) {
      const where = `webhooks.targets[${i}]`;
      const url = checkUrl(t?.url, `${where}.url`, problems);
      if (t?.url === undefined) problems.push(`${where}.url must be set`);
      const events = t?.events ?? WEBHOOK_EVENT_NAMES;
      const unknown = Array.isArray(events)
        ? events.filter((e) => !(WEBHOOK_EVENT_NAMES as readonly string[]).includes(e))
        : [events];
      if (unknown.length > 0 || !Array.isArray(events) || events.length === 0) {
        problems.push(
          `${where}.events is ${describeOptionValue(events)} when it must list some of ${WEBHOOK_EVENT_NAMES.join(', ')}` +
            (unknown.length > 0 && Array.isArray(events) ? ` (unknown: ${unknown.join(', ')})` : ''),
        );
      }
      const name = t?.name ?? String(i);
      if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
        problems.push(`${where}.name must be 1-64 characters of A-Z a-z 0-9 _ . : -`);
      } else if (targets.some((other) => other.name === name)) {
        problems.push(`${where}.name '${name}' is the name of another target`);
      }
      if (url !== undefined) targets.push({ url, events: new Set(events), name });
    }
  }
  return { ...o, secret: o.secret as string, occupancy: o.occupancy, targets };
}
