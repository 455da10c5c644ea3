import {
  type ComponentHealth,
  ConfigError,
  type Logger,
  silentLogger,
  type WebSocketGateway,
} from '@dotmac-ws/core';
import { channelMiddleware } from './channel-proxy';
import { connectMiddleware } from './connect-proxy';
import { ProxyClient, type ProxyStats } from './proxy-client';
import { type ProxyOptions, type ResolvedProxyOptions, resolveProxyOptions } from './proxy-options';
import { type RefreshIdentity, refreshIdentity } from './refresh-proxy';
import { rpcHandler } from './rpc-proxy';
import { resolveWebhookOptions, type WebhookOptions } from './webhook-options';
import { type WebhookStats, Webhooks } from './webhooks';

/** Options of {@link createAppBackend}: the proxy, the webhooks, or both. */
export interface AppBackendOptions {
  /** Ask the application about connects, refreshes, subscribes, publishes and RPCs. @default undefined (off) */
  proxy?: ProxyOptions | undefined;
  /** Tell the application what happens, in signed batches. @default undefined (off) */
  webhooks?: WebhookOptions | undefined;
  /** Where breaker changes, failed requests and given-up batches are logged. @default silentLogger */
  logger?: Logger | undefined;
}

/** Counters of the app backend on this node (`appBackend.stats()`). */
export interface AppBackendStats {
  /** The proxy's, when it is on. */
  proxy?: ProxyStats;
  /** The webhooks', when they are on. */
  webhooks?: WebhookStats;
}

/** Share of a webhook queue from which the component reports `degraded`. */
const QUEUE_DEGRADED_RATIO = 0.9;

/**
 * The application backend of one gateway node: the proxy (connect, refresh, subscribe,
 * publish, RPC over signed HTTP) and the webhooks. Create it with {@link createAppBackend},
 * pass `refreshIdentity` to the gateway's options, then `attach` it to the gateway.
 */
export class AppBackend {
  /**
   * The gateway option `refreshIdentity` backed by the refresh endpoint; undefined without one.
   * It must be given to the gateway's constructor: `new WebSocketGateway({ refreshIdentity })`.
   */
  readonly refreshIdentity: RefreshIdentity | undefined;
  readonly #proxy: { client: ProxyClient; options: ResolvedProxyOptions } | null;
  readonly #webhooks: Webhooks | null;
  readonly #queueSize: number;
  #gateway: WebSocketGateway | undefined;
  #stopping: Promise<void> | undefined;

  /** @internal Use {@link createAppBackend}. */
  constructor(
    proxy: { client: ProxyClient; options: ResolvedProxyOptions } | null,
    webhooks: Webhooks | null,
    queueSize: number,
    logger: Logger,
  ) {
    this.#proxy = proxy;
    this.#webhooks = webhooks;
    this.#queueSize = queueSize;
    this.refreshIdentity =
      proxy?.client.has('refresh') === true
        ? refreshIdentity(proxy.client, () => this.#gateway?.nodeId ?? '', logger)
        : undefined;
  }

  /**
   * Plugs into `gateway` (before it starts, after middleware that must run first such as a rate
   * limiter): the connect middleware, the subscribe/publish middleware, the RPC fallback handler,
   * the event listeners of the webhooks, an `app_backend` component in `GET /health` and, unless
   * `metrics` is false, its metrics in `GET /metrics`.
   */
  attach(gateway: WebSocketGateway, options: { metrics?: boolean } = {}): this {
    if (this.#gateway !== undefined) throw new Error('this app backend is attached to a gateway already');
    this.#gateway = gateway;
    const proxy = this.#proxy;
    if (proxy !== null) {
      const { client, options } = proxy;
      if (client.has('connect') || options.forwardHeaders.length + options.forwardCookies.length > 0) {
        gateway.use({ connection: connectMiddleware(client, options) });
      }
      if (client.has('subscribe') || client.has('publish'))
        gateway.use({ message: channelMiddleware(client, options) });
      if (client.has('rpc')) gateway.setFallbackHandler(rpcHandler(client));
      if (client.has('refresh') && gateway.config.refreshIdentity !== this.refreshIdentity) {
        throw new Error(
          'the refresh proxy needs the gateway built with { refreshIdentity: appBackend.refreshIdentity }',
        );
      }
    }
    this.#webhooks?.attach(gateway);
    gateway.addHealthComponent('app_backend', () => this.health());
    if (options.metrics !== false) gateway.addMetricsSource(() => this.metrics());
    return this;
  }

  /**
   * The `app_backend` health component: `degraded` while a proxy breaker is not closed, a
   * webhook target fails or its queue is 90% full, or the occupancy store fails; never
   * `unhealthy` (the node still serves its sessions).
   */
  health(): ComponentHealth {
    const reasons: string[] = [];
    const out: ComponentHealth = { status: 'healthy' };
    const proxy = this.#proxy?.client.stats();
    if (proxy !== undefined) {
      const breakers = Object.fromEntries(Object.entries(proxy.routes).map(([r, s]) => [r, s.breaker]));
      out.proxy = { in_flight: proxy.in_flight, queued: proxy.queued, breakers };
      const open = Object.entries(breakers).filter(([, s]) => s !== 'closed');
      if (open.length > 0) reasons.push(...open.map(([route]) => `proxy_${route}_breaker_open`));
    }
    const webhooks = this.#webhooks?.stats();
    if (webhooks !== undefined) {
      out.webhooks = {
        targets: webhooks.targets.map((t) => ({ name: t.name, queued: t.queued, failing: t.failing })),
        occupancy: webhooks.occupancy,
      };
      for (const t of webhooks.targets) {
        if (t.failing) reasons.push(`webhook_${t.name}_failing`);
        if (t.queued >= this.#queueSize * QUEUE_DEGRADED_RATIO) reasons.push(`webhook_${t.name}_queue_full`);
      }
      if (webhooks.occupancy.status !== 'healthy') reasons.push('occupancy_store_failing');
    }
    if (reasons.length > 0) {
      out.status = 'degraded';
      out.reasons = reasons;
    }
    return out;
  }

  /** Counters of the proxy and the webhooks on this node. */
  stats(): AppBackendStats {
    const out: AppBackendStats = {};
    const proxy = this.#proxy?.client.stats();
    if (proxy !== undefined) out.proxy = proxy;
    const webhooks = this.#webhooks?.stats();
    if (webhooks !== undefined) out.webhooks = webhooks;
    return out;
  }

  /**
   * The Prometheus text of its metrics (`dotmac_ws_proxy_*`, `dotmac_ws_webhook_*`); `attach`
   * adds it to the gateway's `GET /metrics`.
   */
  metrics(): string {
    return `${this.#proxy?.client.metrics() ?? ''}${this.#webhooks?.metrics() ?? ''}`;
  }

  /**
   * Stops, after the gateway has stopped (so that the events of its drain are delivered): the
   * occupancy tells its last vacates, queued webhook events are delivered for at most
   * `stopTimeoutMs`, idle connections close. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#webhooks?.stop();
      this.#proxy?.client.close();
    })();
    return this.#stopping;
  }
}

/**
 * Creates the application backend of a gateway node. Throws one `ConfigError` listing every
 * problem of the options.
 *
 * @example
 * const appBackend = createAppBackend({
 *   proxy: { connectUrl: 'http://app:8000/ws/connect', rpcUrl: 'http://app:8000/ws/rpc', secret },
 *   webhooks: { targets: [{ url: 'http://app:8000/ws/events' }], secret },
 * })
 * const gateway = new WebSocketGateway({ port: 8765, refreshIdentity: appBackend.refreshIdentity })
 * appBackend.attach(gateway)
 * await gateway.start()
 * // at shutdown:
 * await gateway.stop()
 * await appBackend.stop()
 */
export function createAppBackend(options: AppBackendOptions): AppBackend {
  const problems: string[] = [];
  if (options.proxy === undefined && options.webhooks === undefined) {
    problems.push('set proxy, webhooks or both');
  }
  const logger = options.logger ?? silentLogger;
  const proxyOptions = options.proxy === undefined ? null : resolveProxyOptions(options.proxy, problems);
  const webhookOptions =
    options.webhooks === undefined ? null : resolveWebhookOptions(options.webhooks, problems);
  if (problems.length > 0) throw new ConfigError(problems, 'app backend options');
  return new AppBackend(
    proxyOptions === null ? null : { client: new ProxyClient(proxyOptions, logger), options: proxyOptions },
    webhookOptions === null ? null : new Webhooks(webhookOptions, logger),
    webhookOptions?.queueSize ?? 0,
    logger,
  );
}
