import {
  type BroadcastEvent,
  CloseCode,
  ConfigError,
  ErrorCode,
  type GatewayStats,
  RESERVED_CLIENT_TYPES,
  type WebSocketGateway,
} from '@dotmac-ws/core';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { BoundedLabel } from './bounded-label';
import { TallyCounter, TallyHistogram } from './tally-metrics';

/** Options of {@link GatewayMetrics}. */
export interface GatewayMetricsOptions {
  /** The registry to register the metrics in. @default a registry of its own */
  registry?: Registry;
  /**
   * Tenants that get a `tenant` label of their own; later ones count as `other`. Only the
   * tenants of authenticated sessions take one: a session that has not authenticated counts
   * as `unauthenticated`, so that anonymous clients naming random tenants cannot use them up.
   * @default 100
   */
  tenantLabelLimit?: number;
  /**
   * Custom (handler) frame types that get a `type` label of their own; later ones count as
   * `other`. Reserved types always have their name; types without a handler count as `unknown`.
   * @default 50
   */
  messageTypeLabelLimit?: number;
  /** Also collect prom-client's process and event-loop metrics. @default true */
  defaultMetrics?: boolean;
  /** Buckets of `dotmac_ws_broadcast_delivery_seconds`. @default DEFAULT_DELIVERY_BUCKETS */
  deliveryBuckets?: readonly number[];
  /** How long `backend_up` waits for the backend's health at a scrape. @default 1000 */
  backendHealthTimeoutMs?: number;
}

/** Buckets of the broadcast delivery histogram, in seconds: 0.5 ms to 5 s. */
export const DEFAULT_DELIVERY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** The `tenant` label of sessions that have no tenant. */
export const NO_TENANT_LABEL = '';

/**
 * The `tenant` label of sessions that named a tenant (URL, header, query, subdomain) but have
 * not authenticated: that tenant is the client's claim, not a fact.
 */
export const UNAUTHENTICATED_TENANT_LABEL = 'unauthenticated';

/** The `type` label of frames that could not be parsed. */
const INVALID_TYPE = 'invalid';
/** The `type` label of frame types that have no handler. */
const UNKNOWN_TYPE = 'unknown';
/** Close codes that keep their own label; any other is folded after {@link CODE_LABEL_LIMIT}. */
const KNOWN_CLOSE_CODES = [...Object.values(CloseCode), 1005, 1006, 1008, 1012].map(String);
const CODE_LABEL_LIMIT = 10;
const REASON_LABEL_LIMIT = 20;
const STATUS_LABEL_LIMIT = 10;

/** Options after defaults. */
type Resolved = Required<Omit<GatewayMetricsOptions, 'registry'>> & { registry: Registry };

/**
 * The gateway's Prometheus metrics (`dotmac_ws_*`). Labeled counters are fed by the
 * observability hooks; totals and gauges are read from the bound gateway at each scrape, so
 * they are exact even for what happened before the hooks were set. Every label is bounded.
 *
 * @example
 * const metrics = new GatewayMetrics({ tenantLabelLimit: 20 })
 * metrics.bind(gateway)
 * await metrics.text()
 */
export class GatewayMetrics {
  /** The registry that holds the metrics. */
  readonly registry: Registry;
  readonly #o: Resolved;
  #gateway: WebSocketGateway | undefined;
  readonly #tenants: BoundedLabel;
  readonly #types: BoundedLabel;
  readonly #codes = new BoundedLabel(CODE_LABEL_LIMIT, KNOWN_CLOSE_CODES);
  readonly #reasons = new BoundedLabel(REASON_LABEL_LIMIT);
  readonly #statuses = new BoundedLabel(STATUS_LABEL_LIMIT);
  readonly #received: TallyCounter;
  readonly #disconnections: TallyCounter;
  // The hot path (every frame, every broadcast) adds to plain tallies, read at the scrape.
  readonly #broadcasts: TallyCounter;
  readonly #broadcastsReceived: TallyCounter;
  readonly #delivery: TallyHistogram;
  readonly #rateLimited: TallyCounter;
  readonly #authFailures: TallyCounter;
  readonly #handshakesRefused: TallyCounter;
  readonly #errors: TallyCounter;

  /** Validates `options` (one `ConfigError` lists every problem) and registers the metrics. */
  constructor(options: GatewayMetricsOptions = {}) {
    this.#o = resolveMetricsOptions(options);
    const registry = this.#o.registry;
    this.registry = registry;
    this.#tenants = new BoundedLabel(this.#o.tenantLabelLimit, [
      NO_TENANT_LABEL,
      UNAUTHENTICATED_TENANT_LABEL,
    ]);
    this.#types = new BoundedLabel(this.#o.messageTypeLabelLimit, [
      ...RESERVED_CLIENT_TYPES,
      INVALID_TYPE,
      UNKNOWN_TYPE,
    ]);
    const self = this;
    const stats = () => self.#gateway?.getStats();
    const fromCounter = (name: string, help: string, read: (s: GatewayStats) => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          const s = stats();
          if (s === undefined) return;
          this.reset();
          this.inc(read(s));
        },
      });
    const labeled = (name: string, help: string, label: string) =>
      new TallyCounter(registry, name, help, label);
    const fromGauge = (name: string, help: string, read: (s: GatewayStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const s = stats();
          if (s !== undefined) this.set(read(s));
        },
      });

    new Gauge({
      name: 'dotmac_ws_connections',
      help: 'Open WebSocket sessions, by tenant of authenticated sessions ("unauthenticated" for the others, "" without a tenant; tenants past the label limit count as "other").',
      labelNames: ['tenant'],
      registers: [registry],
      collect() {
        const gw = self.#gateway;
        if (gw === undefined) return;
        const byLabel = new Map<string, number>([
          [NO_TENANT_LABEL, 0],
          [UNAUTHENTICATED_TENANT_LABEL, 0],
        ]);
        // Tenants that had a series keep it, at 0 when they have no session now.
        for (const known of self.#tenants.known) byLabel.set(known, 0);
        for (const session of gw.sessions()) {
          const tenant = session.tenantId;
          const label =
            tenant === null
              ? NO_TENANT_LABEL
              : session.isAuthenticated
                ? self.#tenants.of(tenant)
                : UNAUTHENTICATED_TENANT_LABEL;
          byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
        }
        this.reset();
        for (const [tenant, n] of byLabel) this.set({ tenant }, n);
      },
    });
    fromCounter('dotmac_ws_connections_total', 'Sessions opened.', (s) => s.counters.connections_total);
    this.#disconnections = labeled(
      'dotmac_ws_disconnections_total',
      'Sessions closed, by close code.',
      'code',
    );
    this.#handshakesRefused = labeled(
      'dotmac_ws_handshakes_refused_total',
      'Upgrades refused before the upgrade, by HTTP status.',
      'status',
    );
    this.#received = labeled(
      'dotmac_ws_messages_received_total',
      'Frames received, by type (reserved types, handler types up to a limit, "unknown", "invalid").',
      'type',
    );
    fromCounter('dotmac_ws_messages_sent_total', 'Frames sent.', (s) => s.counters.messages_sent);
    fromCounter(
      'dotmac_ws_bytes_received_total',
      'Bytes of frames received.',
      (s) => s.counters.bytes_received,
    );
    fromCounter('dotmac_ws_bytes_sent_total', 'Bytes of frames sent.', (s) => s.counters.bytes_sent);
    this.#broadcasts = labeled(
      'dotmac_ws_broadcasts_total',
      'Broadcasts published by this node, by target kind.',
      'target',
    );
    this.#broadcastsReceived = labeled(
      'dotmac_ws_broadcasts_received_total',
      'Broadcasts of other nodes received over the backend, by target kind.',
      'target',
    );
    this.#delivery = new TallyHistogram(
      registry,
      'dotmac_ws_broadcast_delivery_seconds',
      'From the publish (publishing node clock) to the frame handed to the local sockets, by origin.',
      'origin',
      this.#o.deliveryBuckets,
    );
    fromGauge('dotmac_ws_subscriptions', 'Channel subscriptions of local sessions.', (s) => s.subscriptions);
    fromGauge('dotmac_ws_channels', 'Channels with a local subscriber.', (s) => s.channels);
    this.#rateLimited = labeled(
      'dotmac_ws_rate_limited_total',
      'Refusals by a rate limit: "message" (frames refused) or "connection" (upgrades refused with 429).',
      'scope',
    );
    this.#authFailures = labeled('dotmac_ws_auth_failures_total', 'Refused tokens, by reason.', 'reason');
    fromCounter(
      'dotmac_ws_slow_consumer_disconnects_total',
      'Sessions closed with 4408 for falling behind.',
      (s) => s.counters.slow_consumer_disconnects,
    );
    const healthTimeout = this.#o.backendHealthTimeoutMs;
    new Gauge({
      name: 'dotmac_ws_backend_up',
      help: '1 when the scaling backend reports healthy, else 0.',
      registers: [registry],
      async collect() {
        const gw = self.#gateway;
        if (gw === undefined) return;
        this.set((await backendHealthy(gw, healthTimeout)) ? 1 : 0);
      },
    });
    fromCounter(
      'dotmac_ws_backend_errors_total',
      'Backend publish, subscribe and receive failures.',
      (s) => s.counters.backend_errors,
    );
    this.#errors = labeled(
      'dotmac_ws_errors_total',
      'Errors reported by the gateway, by where they happened.',
      'where',
    );
    if (this.#o.defaultMetrics) collectDefaultMetrics({ register: registry });
  }

  /** Reads totals and gauges from `gateway` at each scrape. */
  bind(gateway: WebSocketGateway): this {
    this.#gateway = gateway;
    return this;
  }

  /** The Prometheus text exposition of every metric of the registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  // ---------------------------------------------------------------- hook handlers

  /** A session closed with `code`. */
  disconnected(code: number): void {
    this.#disconnections.inc(this.#codes.of(String(code)));
  }

  /** An upgrade was refused with `status`. */
  handshakeRefused(status: number, code: string): void {
    this.#handshakesRefused.inc(this.#statuses.of(String(status)));
    if (status === 429 || code === ErrorCode.RateLimited) this.#rateLimited.inc('connection');
  }

  /** A frame of `type` arrived (`''`: it could not be parsed). */
  received(type: string): void {
    const label = this.#typeLabel(type);
    this.#received.inc(label);
  }

  /** A frame was refused with `code`. */
  refused(type: string, code: string): void {
    // Unparsable frames never reach onMessage: count them here.
    if (type === '') this.received('');
    if (code === ErrorCode.RateLimited) this.#rateLimited.inc('message');
  }

  /** A broadcast was handed to local sessions. */
  broadcast(event: BroadcastEvent): void {
    (event.origin === 'local' ? this.#broadcasts : this.#broadcastsReceived).inc(event.target.kind);
    if (event.delivered > 0) {
      this.#delivery.observe(event.origin, Math.max(0, Date.now() - event.publishedAt) / 1000);
    }
  }

  /** A token was refused for `reason`. */
  authFailed(reason: string): void {
    this.#authFailures.inc(this.#reasons.of(reason));
  }

  /** The gateway reported an error in `context`. */
  error(context: string): void {
    this.#errors.inc(errorPlace(context));
  }

  #typeLabel(type: string): string {
    if (type === '') return INVALID_TYPE;
    if (RESERVED_CLIENT_TYPES.has(type)) return type;
    const gw = this.#gateway;
    if (gw !== undefined && !gw.hasMessageHandler(type)) return UNKNOWN_TYPE;
    return this.#types.of(type);
  }
}

/** `backend publish` -> `backend`, `handler of "x"` -> `handler`, … */
function errorPlace(context: string): string {
  const word = /^[a-z]+/.exec(context)?.[0] ?? 'other';
  return ['backend', 'handler', 'handshake', 'hook', 'connection', 'heartbeat'].includes(word)
    ? word
    : 'other';
}

async function backendHealthy(gateway: WebSocketGateway, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const health = await Promise.race([
      gateway.config.backend.health(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('backend health check timed out')), timeoutMs);
      }),
    ]);
    return health.status === 'healthy';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function resolveMetricsOptions(options: GatewayMetricsOptions): Resolved {
  const problems: string[] = [];
  const int = (key: keyof GatewayMetricsOptions, fallback: number, min: number, max: number): number => {
    const v = options[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${key} is ${JSON.stringify(v)} when it must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return v;
  };
  const tenantLabelLimit = int('tenantLabelLimit', 100, 0, 100_000);
  const messageTypeLabelLimit = int('messageTypeLabelLimit', 50, 0, 10_000);
  const backendHealthTimeoutMs = int('backendHealthTimeoutMs', 1000, 1, 60_000);
  const buckets = options.deliveryBuckets ?? DEFAULT_DELIVERY_BUCKETS;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    !buckets.every((b, i) => typeof b === 'number' && b > 0 && (i === 0 || b > (buckets[i - 1] as number)))
  ) {
    problems.push('deliveryBuckets must be a non-empty list of increasing positive numbers');
  }
  if (options.registry !== undefined && !(options.registry instanceof Registry)) {
    problems.push('registry must be a prom-client Registry');
  }
  if (options.defaultMetrics !== undefined && typeof options.defaultMetrics !== 'boolean') {
    problems.push(`defaultMetrics is ${JSON.stringify(options.defaultMetrics)} when it must be a boolean`);
  }
  if (problems.length > 0) throw new ConfigError(problems, 'metrics options');
  return {
    registry: options.registry ?? new Registry(),
    tenantLabelLimit,
    messageTypeLabelLimit,
    backendHealthTimeoutMs,
    defaultMetrics: options.defaultMetrics ?? true,
    deliveryBuckets: buckets,
  };
}
