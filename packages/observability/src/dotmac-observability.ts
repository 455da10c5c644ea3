import type { IncomingMessage } from 'node:http';
import {
  type Backend,
  type BroadcastEvent,
  ConfigError,
  ErrorCode,
  type Logger,
  type ObservabilityHooks,
  type WebSocketGateway,
  type WebSocketSession,
} from '@dotmac-ws/core';
import { DefaultHooks } from './default-hooks';
import { GatewayMetrics, type GatewayMetricsOptions } from './gateway-metrics';
import { GatewayTracing, type GatewayTracingOptions } from './gateway-tracing';
import { traceBackend } from './traced-backend';
import { startTracingSdk, type TracingSdk, type TracingSdkOptions } from './tracing-sdk';

/** Options of {@link createDotmacObservabilityHooks}. */
export interface DotmacObservabilityOptions {
  /** Prometheus metrics, served at `GET /metrics`; `false` leaves core's basic set. @default {} */
  metrics?: false | GatewayMetricsOptions;
  /**
   * OpenTelemetry spans, made with the global tracer provider (or `tracing.tracer`); they cost
   * next to nothing until an SDK is registered. `false` turns them off. @default {}
   */
  tracing?: false | GatewayTracingOptions;
  /**
   * Start the OpenTelemetry NodeSDK (OTLP over HTTP, configured by the options and the standard
   * `OTEL_*` variables). Leave it off when the application starts its own SDK. @default false
   */
  startSdk?: boolean | TracingSdkOptions;
  /** Where connections, disconnects, rate limiting and backend state changes are logged. @default none */
  logger?: Logger;
  /** How often the backend's health is checked for state-change logs, in ms; 0 never. @default 5000 */
  backendCheckMs?: number;
}

/**
 * The gateway's observability in one object: Prometheus metrics, OpenTelemetry spans, event
 * logs, and the handlers of {@link DefaultHooks}. Call {@link instrument} with the gateway.
 */
export class DotmacObservability extends DefaultHooks {
  /** The service name (the SDK's `service.name`). */
  readonly serviceName: string;
  /** The metrics, unless turned off. */
  readonly gatewayMetrics: GatewayMetrics | undefined;
  /** Runs a backend publish in a producer span; set only when tracing is on. */
  readonly aroundBackendPublish?: ObservabilityHooks['aroundBackendPublish'];
  /** Runs the delivery of another node's broadcast in a consumer span; set only when tracing is on. */
  readonly aroundRemoteDelivery?: ObservabilityHooks['aroundRemoteDelivery'];
  /** The tracing, unless turned off. */
  readonly tracing: GatewayTracing | undefined;
  /** The SDK this object started, if it started one. */
  readonly sdk: TracingSdk | undefined;
  /** `GET /metrics` text (present only while metrics are on, so core serves its own otherwise). */
  metrics?: () => Promise<string>;
  /** Content type of {@link metrics}. */
  metricsContentType?: string;
  readonly #events: Logger | undefined;
  readonly #backendCheckMs: number;
  #watch: NodeJS.Timeout | undefined;
  #stopped: Promise<void> | undefined;

  constructor(serviceName: string, options: DotmacObservabilityOptions = {}) {
    const problems: string[] = [];
    if (typeof serviceName !== 'string' || serviceName.trim() === '')
      problems.push(`serviceName is ${JSON.stringify(serviceName)} when it must be a non-empty string`);
    const every = options.backendCheckMs ?? 5000;
    if (!Number.isInteger(every) || every < 0 || every > 3_600_000)
      problems.push(
        `backendCheckMs is ${JSON.stringify(every)} when it must be an integer from 0 to 3600000`,
      );
    for (const key of ['metrics', 'tracing'] as const) {
      const v = options[key];
      if (v !== undefined && v !== false && (v === null || typeof v !== 'object'))
        problems.push(`${key} is ${JSON.stringify(v)} when it must be false or an options object`);
    }
    let metrics: GatewayMetrics | undefined;
    if (options.metrics !== false && problems.length === 0) {
      try {
        metrics = new GatewayMetrics(options.metrics ?? {});
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.problems.map((p) => `metrics.${p}`));
      }
    }
    if (problems.length > 0) throw new ConfigError(problems, 'observability options');
    super(options.logger ? { logger: options.logger } : {});
    this.serviceName = serviceName;
    this.gatewayMetrics = metrics;
    this.#events = options.logger;
    this.#backendCheckMs = every;
    if (options.startSdk) {
      this.sdk = startTracingSdk(serviceName, options.startSdk === true ? {} : options.startSdk);
    }
    const tracing = options.tracing === false ? undefined : new GatewayTracing(options.tracing ?? {});
    this.tracing = tracing;
    // Set only with tracing: a gateway without these hooks skips the wrapping (and its promises)
    // on every message that crosses nodes.
    if (tracing !== undefined) {
      this.aroundBackendPublish = (header, topic, bytes, publish) =>
        tracing.aroundBackendPublish(header, topic, bytes, publish);
      this.aroundRemoteDelivery = (header, topic, bytes, deliver) =>
        tracing.aroundRemoteDelivery(header, topic, bytes, deliver);
    }
    if (metrics !== undefined) {
      this.metrics = () => metrics.text();
      this.metricsContentType = metrics.contentType;
    }
  }

  /**
   * Binds the metrics and the tracing to `gateway`, adds the message-span middleware (add
   * it before other middleware so that its span covers them), sets these hooks on the
   * gateway, and starts watching the backend's health.
   */
  instrument(gateway: WebSocketGateway): WebSocketGateway {
    this.gatewayMetrics?.bind(gateway);
    this.tracing?.bind(gateway);
    gateway.setObservabilityHooks(this);
    this.#watchBackend(gateway);
    return gateway;
  }

  /**
   * The backend as it is (wrapped in a pass-through {@link TracedBackend} when tracing is on).
   * @deprecated backend spans come from the gateway hooks now; pass the backend itself.
   */
  traceBackend(backend: Backend): Backend {
    return this.tracing === undefined ? backend : traceBackend(backend, this.tracing.tracer);
  }

  // ---------------------------------------------------------------- hooks

  override onConnection(session: WebSocketSession): void {
    this.tracing?.connectionOpened(session);
    this.#events?.info(
      { session_id: session.sessionId, tenant_id: session.tenantId, user_id: session.userId },
      'connection opened',
    );
    super.onConnection(session);
  }

  override onDisconnect(session: WebSocketSession, code: number, reason: string): void {
    this.gatewayMetrics?.disconnected(code);
    this.tracing?.connectionClosed(session, code, reason);
    this.#events?.info(
      {
        session_id: session.sessionId,
        tenant_id: session.tenantId,
        user_id: session.userId,
        code,
        reason,
        duration_ms: Date.now() - session.connectedAt,
      },
      'connection closed',
    );
    super.onDisconnect(session, code, reason);
  }

  onHandshakeRefused(status: number, code: string, request: IncomingMessage): void {
    this.gatewayMetrics?.handshakeRefused(status, code);
    if (status === 429) {
      this.#events?.warn(
        { status, code, ip: request.socket.remoteAddress, path: (request.url ?? '/').split('?')[0] },
        'connection rate limited',
      );
    }
  }

  override onMessage(session: WebSocketSession, type: string, bytes: number): void {
    this.gatewayMetrics?.received(type);
    super.onMessage(session, type, bytes);
  }

  onMessageRefused(session: WebSocketSession, type: string, code: string): void {
    this.gatewayMetrics?.refused(type, code);
    // One line per run of refusals, not one per refused frame.
    if (code === ErrorCode.RateLimited && session.refusedInARow === 0) {
      this.#events?.warn(
        { session_id: session.sessionId, tenant_id: session.tenantId, user_id: session.userId, type },
        'messages rate limited',
      );
    }
  }

  onBroadcast(event: BroadcastEvent): void {
    this.gatewayMetrics?.broadcast(event);
    this.tracing?.broadcast(event);
  }

  onAuthFailure(reason: string): void {
    this.gatewayMetrics?.authFailed(reason);
  }

  override onError(error: unknown, context: string): void {
    this.gatewayMetrics?.error(context);
    super.onError(error, context);
  }

  currentTraceparent(): string | undefined {
    return this.tracing?.currentTraceparent();
  }

  aroundHttpApi<T>(operation: string, request: IncomingMessage, run: () => Promise<T>): Promise<T> {
    return this.tracing ? this.tracing.aroundHttpApi(operation, request, run) : run();
  }

  /** Stops the backend watch and shuts down the SDK this object started (flushing its spans). */
  onStop(): Promise<void> {
    this.#stopped ??= (async () => {
      clearInterval(this.#watch);
      this.#watch = undefined;
      await this.sdk?.shutdown();
    })();
    return this.#stopped;
  }

  /** Same as {@link onStop}. */
  shutdown(): Promise<void> {
    return this.onStop();
  }

  #watchBackend(gateway: WebSocketGateway): void {
    clearInterval(this.#watch);
    const log = this.#events;
    if (log === undefined || this.#backendCheckMs === 0) return;
    let last: string | undefined;
    let checking = false;
    const check = async () => {
      // Before start() the backend is not connected yet: that is no state change worth a warning.
      if (checking || !gateway.isReady) return;
      checking = true;
      try {
        const health = await gateway.config.backend.health().catch((error: unknown) => ({
          status: 'unhealthy' as const,
          error: error instanceof Error ? error.message : String(error),
        }));
        if (health.status === last) return;
        const fields = { backend: gateway.config.backend.name, status: health.status, was: last ?? null };
        if (health.status === 'healthy') {
          if (last !== undefined) log.info(fields, 'backend state changed');
        } else log.warn({ ...fields, error: health.error }, 'backend state changed');
        last = health.status;
      } finally {
        checking = false;
      }
    };
    // A backend whose health() throws synchronously, or a throwing logger, must not leave a
    // rejection unhandled from a timer: the next tick tries again.
    const tick = () => {
      check().catch(() => undefined);
    };
    this.#watch = setInterval(tick, this.#backendCheckMs);
    this.#watch.unref();
    tick();
  }
}

/**
 * Creates the gateway's observability (the seed's `create_dotmac_observability_hooks`):
 * Prometheus metrics, OpenTelemetry spans (starting the NodeSDK when `startSdk` asks, else
 * using the SDK the application registered), event logs and handlers. Then call
 * `instrument(gateway)`.
 *
 * @example
 * const obs = createDotmacObservabilityHooks('chat-gateway', { startSdk: true, logger })
 * const gateway = new WebSocketGateway({ backend: new RedisBackend({ url }), logger })
 * obs.instrument(gateway)
 * await gateway.start()                    // GET /metrics, spans to OTEL_EXPORTER_OTLP_ENDPOINT
 */
export function createDotmacObservabilityHooks(
  serviceName: string,
  options: DotmacObservabilityOptions = {},
): DotmacObservability {
  return new DotmacObservability(serviceName, options);
}
