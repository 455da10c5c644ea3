import {
  createAppBackend,
  type ProxyOptions,
  WEBHOOK_EVENT_NAMES,
  type WebhookEventName,
  type WebhookOptions,
  type WebhookTargetOptions,
} from '@dotmac-ws/app-backend';
import { ConfigError, safeJsonParse } from '@dotmac-ws/core';
import type { EnvConfig } from '../env-config';
import type { EnvKind } from '../env-schema';
import type { GatewayPlugin } from '../plugin';
import { readRules } from '../rules-file';

const URL_KIND: EnvKind = { type: 'string', pattern: /^https?:\/\/\S+$/, hint: 'an http(s) URL' };

/** The proxy URL variables, and the option each sets. */
const PROXY_URLS = {
  PROXY_CONNECT_URL: 'connectUrl',
  PROXY_REFRESH_URL: 'refreshUrl',
  PROXY_SUBSCRIBE_URL: 'subscribeUrl',
  PROXY_PUBLISH_URL: 'publishUrl',
  PROXY_RPC_URL: 'rpcUrl',
} as const;

/**
 * `@dotmac-ws/app-backend` in the reference gateway: the application decides through the
 * proxy (PROXY_*_URL, signed with PROXY_SECRET) and hears what happens through webhooks
 * (WEBHOOK_URL or WEBHOOK_TARGETS, signed with WEBHOOK_SECRET). Occupancy is cluster-wide
 * through Redis with `BACKEND=redis` (or WEBHOOK_OCCUPANCY_STORE=redis). See docs/app-backend.md.
 */
export const appBackendPlugin: GatewayPlugin = {
  name: 'app-backend',
  env: [
    {
      name: 'PROXY_CONNECT_URL',
      group: 'app-backend',
      kind: URL_KIND,
      default: undefined,
      description:
        'Asked before each upgrade who connects (user, tenant, roles, channels, expiry, info); an error refuses with 403, a failure with 503.',
    },
    {
      name: 'PROXY_REFRESH_URL',
      group: 'app-backend',
      kind: URL_KIND,
      default: undefined,
      description: "Asked ahead of a session's expiry for a later `expires_at`, which extends it silently.",
    },
    {
      name: 'PROXY_SUBSCRIBE_URL',
      group: 'app-backend',
      kind: URL_KIND,
      default: undefined,
      description: 'Asked about each client `subscribe` to a channel of PROXY_SUBSCRIBE_CHANNELS.',
    },
    {
      name: 'PROXY_PUBLISH_URL',
      group: 'app-backend',
      kind: URL_KIND,
      default: undefined,
      description:
        'Asked about each client `publish` on a channel of PROXY_PUBLISH_CHANNELS; its result may replace the data.',
    },
    {
      name: 'PROXY_RPC_URL',
      group: 'app-backend',
      kind: URL_KIND,
      default: undefined,
      description: "Answers every frame type that has no handler of its own; the result's `data` is the ack.",
    },
    {
      name: 'PROXY_SECRET',
      group: 'app-backend',
      kind: { type: 'string' },
      default: undefined,
      description:
        'Shared secret (16+ characters) that signs each proxy request: `X-Dotmac-Signature: sha256=HMAC(timestamp.body)`; required with any PROXY_*_URL.',
    },
    {
      name: 'PROXY_TIMEOUT_MS',
      group: 'app-backend',
      kind: { type: 'int', min: 1, max: 600_000 },
      default: '2000',
      description:
        'How long one proxy request (the wait for a slot included) may take before `proxy_unavailable`.',
    },
    {
      name: 'PROXY_FORWARD_HEADERS',
      group: 'app-backend',
      kind: { type: 'list' },
      default: undefined,
      description:
        'Handshake headers that travel with every proxy request, and cookies as `cookie:<name>` (e.g. `x-request-id,cookie:sessionid`).',
    },
    {
      name: 'PROXY_SUBSCRIBE_CHANNELS',
      group: 'app-backend',
      kind: { type: 'list' },
      default: '*',
      description:
        'Channel patterns (`*` any run of characters) whose `subscribe` is proxied; or name them in `CHANNEL_RULES_FILE` with `"proxy_subscribe": true` on a rule.',
    },
    {
      name: 'PROXY_PUBLISH_CHANNELS',
      group: 'app-backend',
      kind: { type: 'list' },
      default: '*',
      description:
        'Channel patterns whose `publish` is proxied; or name them in `CHANNEL_RULES_FILE` with `"proxy_publish": true` on a rule.',
    },
    {
      name: 'PROXY_MAX_CONCURRENCY',
      group: 'app-backend',
      kind: { type: 'int', min: 1, max: 100_000 },
      default: '64',
      description: 'Proxy requests in flight at once on this node.',
    },
    {
      name: 'PROXY_MAX_QUEUE',
      group: 'app-backend',
      kind: { type: 'int', min: 0, max: 1_000_000 },
      default: '256',
      description: 'Proxy requests that may wait for a slot on this node; more are refused at once.',
    },
    {
      name: 'PROXY_BREAKER_FAILURES',
      group: 'app-backend',
      kind: { type: 'int', min: 1, max: 1_000_000 },
      default: '5',
      description:
        "Failures in a row that open a proxy route's circuit breaker (requests refused without asking).",
    },
    {
      name: 'PROXY_BREAKER_COOLDOWN_MS',
      group: 'app-backend',
      kind: { type: 'int', min: 1, max: 3_600_000 },
      default: '5000',
      description: 'How long an open breaker refuses before one trial request.',
    },
    {
      name: 'WEBHOOK_URL',
      group: 'app-backend',
      kind: URL_KIND,
      default: undefined,
      description: 'Where webhook batches are POSTed (the events of WEBHOOK_EVENTS).',
    },
    {
      name: 'WEBHOOK_EVENTS',
      group: 'app-backend',
      kind: { type: 'list' },
      default: undefined,
      description: `The events WEBHOOK_URL gets; unset: all of ${WEBHOOK_EVENT_NAMES.join(', ')}.`,
    },
    {
      name: 'WEBHOOK_TARGETS',
      group: 'app-backend',
      kind: { type: 'string' },
      default: undefined,
      description:
        'Several endpoints, as JSON: `[{"url":"…","events":["channel.occupied"],"name":"rooms"}]` (beside or instead of WEBHOOK_URL).',
    },
    {
      name: 'WEBHOOK_SECRET',
      group: 'app-backend',
      kind: { type: 'string' },
      default: undefined,
      description:
        'Shared secret (16+ characters) that signs each webhook request like the proxy; required with WEBHOOK_URL or WEBHOOK_TARGETS.',
    },
    {
      name: 'WEBHOOK_BATCH_SIZE',
      group: 'app-backend',
      kind: { type: 'int', min: 1, max: 10_000 },
      default: '100',
      description: 'Events per webhook request at most.',
    },
    {
      name: 'WEBHOOK_BATCH_MS',
      group: 'app-backend',
      kind: { type: 'int', min: 0, max: 60_000 },
      default: '100',
      description: 'How long the first event of a batch waits for more.',
    },
    {
      name: 'WEBHOOK_TIMEOUT_MS',
      group: 'app-backend',
      kind: { type: 'int', min: 1, max: 600_000 },
      default: '5000',
      description: 'Deadline of one webhook request.',
    },
    {
      name: 'WEBHOOK_RETRY_FOR_MS',
      group: 'app-backend',
      kind: { type: 'int', min: 0, max: 86_400_000 },
      default: '300000',
      description:
        'How long a failing batch is retried (exponential backoff from 0.5 s to 30 s) before it is given up.',
    },
    {
      name: 'WEBHOOK_QUEUE_SIZE',
      group: 'app-backend',
      kind: { type: 'int', min: 1, max: 10_000_000 },
      default: '10000',
      description: 'Events queued per endpoint at most; more are dropped and counted.',
    },
    {
      name: 'WEBHOOK_VACATE_DELAY_MS',
      group: 'app-backend',
      kind: { type: 'int', min: 0, max: 3_600_000 },
      default: '5000',
      description:
        'How long a channel stays occupied after its last subscriber anywhere left, so that a quick reconnect sends nothing.',
    },
    {
      name: 'WEBHOOK_CLIENT_EVENT_CHANNELS',
      group: 'app-backend',
      kind: { type: 'list' },
      default: undefined,
      description: 'Channel patterns whose client publishes are sent as `client.event` (none when unset).',
    },
    {
      name: 'WEBHOOK_OCCUPANCY_STORE',
      group: 'app-backend',
      kind: { type: 'enum', values: ['memory', 'redis'] },
      default: undefined,
      description:
        'Where channel occupancy is kept: `redis` (REDIS_URL: occupied/vacated once per cluster-wide transition) or `memory` (this node only); unset: `redis` with BACKEND=redis, else `memory`.',
    },
  ],
  setup(env, { logger }) {
    const problems: string[] = [];
    const proxy = proxyOptions(env, problems);
    const webhooks = webhookOptions(env, problems);
    if ((proxy === undefined && webhooks === undefined) || problems.length > 0) return { problems };
    let appBackend: ReturnType<typeof createAppBackend>;
    try {
      appBackend = createAppBackend({ proxy, webhooks, logger });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return { problems, optionProblems: error.problems };
    }
    const refreshIdentity = appBackend.refreshIdentity;
    return {
      options: refreshIdentity === undefined ? {} : { refreshIdentity },
      attach(gateway) {
        // With METRICS_ENABLED=false /metrics stays quiet: no proxy or webhook metrics either.
        appBackend.attach(gateway, { metrics: env.bool('METRICS_ENABLED') });
        logger.info(
          {
            proxy: Object.keys(PROXY_URLS).filter((name) => env.string(name) !== undefined),
            webhooks: webhooks?.targets.length ?? 0,
            occupancy: webhooks === undefined ? undefined : occupancyStore(env),
          },
          'application backend on',
        );
      },
      stop: () => appBackend.stop(),
    };
  },
};

/** The proxy's options, or undefined when no PROXY_*_URL is set. */
function proxyOptions(env: EnvConfig, problems: string[]): ProxyOptions | undefined {
  const set = (Object.keys(PROXY_URLS) as (keyof typeof PROXY_URLS)[]).filter(
    (n) => env.string(n) !== undefined,
  );
  if (set.length === 0) return undefined;
  const secret = env.string('PROXY_SECRET');
  if (secret === undefined) {
    problems.push(`${set.join(', ')} is set but PROXY_SECRET is not: every proxy request is signed`);
    return undefined;
  }
  const options: ProxyOptions = {
    secret,
    timeoutMs: env.int('PROXY_TIMEOUT_MS'),
    forwardHeaders: env.list('PROXY_FORWARD_HEADERS') ?? [],
    subscribeChannels: proxiedChannels(env, 'subscribe', problems),
    publishChannels: proxiedChannels(env, 'publish', problems),
    maxConcurrency: env.int('PROXY_MAX_CONCURRENCY'),
    maxQueue: env.int('PROXY_MAX_QUEUE'),
    breakerFailures: env.int('PROXY_BREAKER_FAILURES'),
    breakerCooldownMs: env.int('PROXY_BREAKER_COOLDOWN_MS'),
  };
  for (const name of set) options[PROXY_URLS[name]] = env.string(name);
  return options;
}

/** The webhooks' options, or undefined when neither WEBHOOK_URL nor WEBHOOK_TARGETS is set. */
function webhookOptions(env: EnvConfig, problems: string[]): WebhookOptions | undefined {
  const targets: WebhookTargetOptions[] = [];
  const url = env.string('WEBHOOK_URL');
  if (url !== undefined) {
    targets.push({
      url,
      events: env.list('WEBHOOK_EVENTS') as WebhookEventName[] | undefined,
      name: 'webhook',
    });
  } else if (env.isSet('WEBHOOK_EVENTS')) {
    problems.push('WEBHOOK_EVENTS is set but WEBHOOK_URL is not: name the URL those events go to');
  }
  const json = env.string('WEBHOOK_TARGETS');
  if (json !== undefined) targets.push(...parseTargets(json, problems));
  if (targets.length === 0) return undefined;
  const secret = env.string('WEBHOOK_SECRET');
  if (secret === undefined) {
    problems.push(
      'WEBHOOK_URL or WEBHOOK_TARGETS is set but WEBHOOK_SECRET is not: every webhook request is signed',
    );
    return undefined;
  }
  const store = occupancyStore(env);
  const wantsChannels = targets.some(
    (t) =>
      t.events === undefined || t.events.some((e) => e === 'channel.occupied' || e === 'channel.vacated'),
  );
  if (store === 'redis' && wantsChannels && env.isSet('REDIS_CLUSTER_NODES')) {
    problems.push(
      'WEBHOOK_OCCUPANCY_STORE is redis but REDIS_CLUSTER_NODES is set: occupancy needs one Redis (REDIS_URL); set WEBHOOK_OCCUPANCY_STORE=memory for per-node occupancy',
    );
  }
  return {
    targets,
    secret,
    batchSize: env.int('WEBHOOK_BATCH_SIZE'),
    batchMs: env.int('WEBHOOK_BATCH_MS'),
    timeoutMs: env.int('WEBHOOK_TIMEOUT_MS'),
    retryForMs: env.int('WEBHOOK_RETRY_FOR_MS'),
    queueSize: env.int('WEBHOOK_QUEUE_SIZE'),
    vacateDelayMs: env.int('WEBHOOK_VACATE_DELAY_MS'),
    clientEventChannels: env.list('WEBHOOK_CLIENT_EVENT_CHANNELS') ?? [],
    occupancy:
      store === 'redis'
        ? {
            redis: env.string('REDIS_URL') ?? 'redis://127.0.0.1:6379',
            keyPrefix: `${env.string('REDIS_KEY_PREFIX') ?? ''}occupancy:`,
            // A dead node's channels vacate as soon as its presence members would.
            leaseMs: env.int('PRESENCE_TTL_MS'),
          }
        : undefined,
  };
}

/** WEBHOOK_OCCUPANCY_STORE, or its default: Redis where the nodes meet through Redis. */
function occupancyStore(env: EnvConfig): 'memory' | 'redis' {
  const chosen = env.string('WEBHOOK_OCCUPANCY_STORE');
  if (chosen === 'memory' || chosen === 'redis') return chosen;
  return env.string('BACKEND') === 'redis' ? 'redis' : 'memory';
}

/** WEBHOOK_TARGETS: a JSON array of `{url, events?, name?}`; problems in environment terms. */
function parseTargets(json: string, problems: string[]): WebhookTargetOptions[] {
  let value: unknown;
  try {
    value = safeJsonParse(json);
  } catch (error) {
    problems.push(`WEBHOOK_TARGETS is not JSON: ${(error as Error).message}`);
    return [];
  }
  const shape = 'a JSON array of {"url":"…","events":[…],"name":"…"}';
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`WEBHOOK_TARGETS must be ${shape}`);
    return [];
  }
  const out: WebhookTargetOptions[] = [];
  for (const [i, t] of value.entries()) {
    const o = t as Record<string, unknown> | null;
    if (o === null || typeof o !== 'object' || typeof o.url !== 'string') {
      problems.push(`WEBHOOK_TARGETS entry ${i + 1} must be {"url":"…","events":[…]?,"name":"…"?}`);
      continue;
    }
    out.push({
      url: o.url,
      events: o.events as WebhookEventName[] | undefined,
      name: typeof o.name === 'string' ? o.name : `target-${i + 1}`,
    });
  }
  return out;
}

/**
 * The channel patterns whose `subscribe` (or `publish`) is proxied: the rules of
 * CHANNEL_RULES_FILE that say `proxy_subscribe` (`proxy_publish`) when any rule names the route,
 * else PROXY_SUBSCRIBE_CHANNELS (PROXY_PUBLISH_CHANNELS). A placeholder of a rule pattern
 * (`user:{sub}`) proxies every channel of its shape (`user:*`): the policy still decides whose
 * channel it is, before the proxy is asked.
 */
function proxiedChannels(env: EnvConfig, action: 'subscribe' | 'publish', problems: string[]): string[] {
  const variable = action === 'subscribe' ? 'PROXY_SUBSCRIBE_CHANNELS' : 'PROXY_PUBLISH_CHANNELS';
  const key = action === 'subscribe' ? 'proxy_subscribe' : 'proxy_publish';
  const file = env.string('CHANNEL_RULES_FILE');
  // The auth-jwt plugin reports the file's own problems; here only its routes count.
  const rules = file === undefined ? undefined : readRules(file, [])?.rules;
  if (rules === undefined || !rules.some((r) => r[key] !== undefined)) return env.list(variable) ?? [];
  if (env.isSet(variable)) {
    problems.push(`${variable} is set and CHANNEL_RULES_FILE names ${key} routes: keep one of them`);
  }
  return rules.filter((r) => r[key] === true).map((r) => r.pattern.replace(/\{[^}]*\}/g, '*'));
}
