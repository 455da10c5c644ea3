import type { IncomingMessage } from 'node:http';
import type {
  BroadcastEvent,
  EnvelopeHeader,
  GatewayMiddleware,
  MessageContext,
  WebSocketGateway,
  WebSocketSession,
} from '@dotmac-ws/core';
import { ProtocolError, RESERVED_CLIENT_TYPES } from '@dotmac-ws/core';
import {
  type Attributes,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { contextFrom, formatTraceparent } from './trace-context';
import { BACKEND_SPAN } from './traced-backend';
import { VERSION } from './version';

/** Options of {@link GatewayTracing}. */
export interface GatewayTracingOptions {
  /**
   * The tracer spans are made with.
   * @default the global tracer provider's tracer `@dotmac-ws/observability` (a no-op until an SDK is registered)
   */
  tracer?: Tracer;
  /** A span per connection, from the upgrade to the close. @default true */
  connectionSpans?: boolean;
  /** A span per inbound frame, around its middleware and handling. @default true */
  messageSpans?: boolean;
}

/** Span and attribute names. */
export const SPAN = {
  connection: 'dotmac_ws.connection',
  message: 'dotmac_ws.message',
  broadcast: 'dotmac_ws.broadcast',
  deliver: 'dotmac_ws.broadcast.deliver',
  httpPublish: 'dotmac_ws.http.publish',
} as const;

/** The attributes the spans carry. Never a token, a payload or a header. */
export const ATTR = {
  sessionId: 'dotmac_ws.session_id',
  tenantId: 'dotmac_ws.tenant_id',
  userId: 'enduser.id',
  nodeId: 'dotmac_ws.node_id',
  messageType: 'dotmac_ws.message.type',
  messageBytes: 'dotmac_ws.message.bytes',
  channel: 'dotmac_ws.channel',
  errorCode: 'dotmac_ws.error_code',
  closeCode: 'dotmac_ws.close_code',
  closeReason: 'dotmac_ws.close_reason',
  target: 'dotmac_ws.broadcast.target',
  delivered: 'dotmac_ws.broadcast.delivered',
  clientAddress: 'client.address',
} as const;

/**
 * OpenTelemetry spans for a gateway: one per connection, one per inbound frame (around the
 * middleware and the handler), one per broadcast published (its `traceparent` travels in the
 * broadcast envelope), one per broadcast delivered from another node (a child of the
 * publishing node's span), and one per `POST /api/publish` (continuing the request's
 * `traceparent`), and a producer span around each backend publish and a consumer span around
 * each delivery of another node's broadcast (for sampled broadcasts only), from the envelope
 * header core decoded.
 */
export class GatewayTracing {
  /** The tracer in use. */
  readonly tracer: Tracer;
  readonly #connectionSpans: boolean;
  readonly #messageSpans: boolean;
  readonly #connections = new WeakMap<WebSocketSession, Span>();
  #pendingBroadcast: Span | undefined;
  #gateway: WebSocketGateway | undefined;

  constructor(options: GatewayTracingOptions = {}) {
    this.tracer = options.tracer ?? trace.getTracer('@dotmac-ws/observability', VERSION);
    this.#connectionSpans = options.connectionSpans ?? true;
    this.#messageSpans = options.messageSpans ?? true;
  }

  /** Names handler types in span names (others are `unknown`); adds the message middleware. */
  bind(gateway: WebSocketGateway): this {
    this.#gateway = gateway;
    if (this.#messageSpans) gateway.use(this.middleware());
    return this;
  }

  /** The message middleware that wraps each frame in a span. Added by {@link bind}. */
  middleware(): GatewayMiddleware {
    return {
      message: (ctx, next) => this.#traceMessage(ctx, next),
    };
  }

  async #traceMessage(ctx: MessageContext, next: () => Promise<void>): Promise<void> {
    const { session, frame } = ctx;
    const type = this.#typeName(ctx.type);
    const attributes: Attributes = {
      [ATTR.messageType]: type,
      [ATTR.messageBytes]: ctx.bytes,
      ...identity(session),
    };
    if (typeof frame.channel === 'string') attributes[ATTR.channel] = frame.channel;
    const conn = this.#connections.get(session);
    const links = conn === undefined ? [] : [{ context: conn.spanContext() }];
    const span = this.tracer.startSpan(
      `${SPAN.message} ${type}`,
      { kind: SpanKind.SERVER, attributes, links },
      ROOT_CONTEXT,
    );
    try {
      await context.with(trace.setSpan(context.active(), span), next);
    } catch (error) {
      const code = error instanceof ProtocolError ? error.code : 'internal_error';
      span.setAttribute(ATTR.errorCode, code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      throw error;
    } finally {
      span.end();
    }
  }

  #typeName(type: string): string {
    if (RESERVED_CLIENT_TYPES.has(type)) return type;
    return this.#gateway?.hasMessageHandler(type) ? type : 'unknown';
  }

  // ---------------------------------------------------------------- hook handlers

  /** Starts the connection span (back-dated to the session's start). */
  connectionOpened(session: WebSocketSession): void {
    if (!this.#connectionSpans) return;
    const span = this.tracer.startSpan(
      SPAN.connection,
      {
        kind: SpanKind.SERVER,
        startTime: session.connectedAt,
        attributes: {
          ...identity(session),
          [ATTR.clientAddress]: session.remoteAddress,
          ...(this.#gateway ? { [ATTR.nodeId]: this.#gateway.nodeId } : {}),
        },
      },
      ROOT_CONTEXT,
    );
    this.#connections.set(session, span);
  }

  /** Ends the connection span with the close code and the identity the session ended with. */
  connectionClosed(session: WebSocketSession, code: number, reason: string): void {
    const span = this.#connections.get(session);
    if (span === undefined) return;
    this.#connections.delete(session);
    span.setAttributes({ ...identity(session), [ATTR.closeCode]: code, [ATTR.closeReason]: reason });
    if (code === 1011) span.setStatus({ code: SpanStatusCode.ERROR, message: reason || 'internal_error' });
    span.end();
  }

  /**
   * Starts the span of a broadcast being published, a child of the active span (a frame's, an
   * HTTP request's, or the application's), and returns its `traceparent` for the envelope.
   * The span ends at the broadcast's `onBroadcast` (origin `local`).
   */
  currentTraceparent(): string | undefined {
    this.#pendingBroadcast?.end();
    const span = this.tracer.startSpan(SPAN.broadcast, { kind: SpanKind.PRODUCER });
    const sc = span.spanContext();
    if (!isSpanContextValid(sc)) {
      // No SDK: the span is a no-op, and the envelope carries no trace context.
      this.#pendingBroadcast = undefined;
      return undefined;
    }
    this.#pendingBroadcast = span;
    return formatTraceparent(sc);
  }

  /** Ends the publish span (local) or records the delivery of another node's broadcast (remote). */
  broadcast(event: BroadcastEvent): void {
    const attributes: Attributes = {
      [ATTR.target]: event.target.kind,
      [ATTR.messageType]: event.type,
      [ATTR.delivered]: event.delivered,
    };
    if (event.target.kind === 'channel') attributes[ATTR.channel] = event.target.name;
    if (event.origin === 'local') {
      const span = this.#pendingBroadcast;
      this.#pendingBroadcast = undefined;
      if (span === undefined) return;
      span.updateName(`${SPAN.broadcast} ${event.target.kind}`);
      span.setAttributes(attributes);
      span.end();
      return;
    }
    if (event.traceparent === undefined) return;
    // Inside the backend receive span (aroundRemoteDelivery), that span is the parent; else the publisher's.
    const active = trace.getActiveSpan()?.spanContext();
    const fromEnvelope = contextFrom(event.traceparent, ROOT_CONTEXT);
    const parent =
      active !== undefined && active.traceId === trace.getSpanContext(fromEnvelope)?.traceId
        ? context.active()
        : fromEnvelope;
    this.tracer
      .startSpan(`${SPAN.deliver} ${event.target.kind}`, { kind: SpanKind.CONSUMER, attributes }, parent)
      .end();
  }

  /**
   * Runs a broadcast's backend publish in a producer span, a child of the broadcast's span
   * (its `traceparent`); an unsampled broadcast gets no span (a parent-based sampler would drop it).
   */
  aroundBackendPublish(
    header: Readonly<EnvelopeHeader>,
    topic: string,
    bytes: number,
    publish: () => Promise<void>,
  ): Promise<void> {
    const traceparent = header.traceparent;
    if (traceparent === undefined || !sampled(traceparent)) return publish();
    const span = this.tracer.startSpan(
      BACKEND_SPAN.publish,
      { kind: SpanKind.PRODUCER, attributes: this.#messaging(topic, bytes) },
      contextFrom(traceparent),
    );
    return publish().then(
      () => span.end(),
      (error: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
        span.end();
        throw error;
      },
    );
  }

  /**
   * Runs the delivery of another node's broadcast in a consumer span, a child of the
   * publisher's broadcast span; the delivery span ({@link broadcast}) is its child.
   */
  aroundRemoteDelivery(
    header: Readonly<EnvelopeHeader>,
    topic: string,
    bytes: number,
    deliver: () => void,
  ): void {
    const traceparent = header.traceparent;
    if (traceparent === undefined || !sampled(traceparent)) {
      deliver();
      return;
    }
    const parent = contextFrom(traceparent, ROOT_CONTEXT);
    const span = this.tracer.startSpan(
      BACKEND_SPAN.receive,
      { kind: SpanKind.CONSUMER, attributes: this.#messaging(topic, bytes) },
      parent,
    );
    try {
      context.with(trace.setSpan(parent, span), deliver);
    } finally {
      span.end();
    }
  }

  #messaging(topic: string, bytes: number): Attributes {
    return {
      'messaging.system': this.#gateway?.config.backend.name ?? 'unknown',
      'messaging.destination.name': topic,
      'messaging.message.body.size': bytes,
    };
  }

  /**
   * Runs an HTTP API operation in a span that continues the request's `traceparent` header,
   * so that the broadcasts it publishes join the caller's trace.
   */
  aroundHttpApi<T>(operation: string, request: IncomingMessage, run: () => Promise<T>): Promise<T> {
    const header = request.headers.traceparent;
    const parent = contextFrom(typeof header === 'string' ? header : undefined, ROOT_CONTEXT);
    const span = this.tracer.startSpan(
      operation === 'publish' ? SPAN.httpPublish : `dotmac_ws.http.${operation}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method ?? 'GET', 'url.path': pathOf(request) },
      },
      parent,
    );
    return context.with(trace.setSpan(parent, span), run).then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
        span.end();
        throw error;
      },
    );
  }
}

/** True when the `traceparent`'s flags have the sampled bit. */
function sampled(traceparent: string): boolean {
  return (Number.parseInt(traceparent.slice(53, 55), 16) & 1) === 1;
}

function identity(session: WebSocketSession): Attributes {
  const a: Attributes = { [ATTR.sessionId]: session.sessionId };
  if (session.tenantId !== null) a[ATTR.tenantId] = session.tenantId;
  if (session.userId !== null) a[ATTR.userId] = session.userId;
  return a;
}

function pathOf(request: IncomingMessage): string {
  // Never the query: it may hold a token.
  return (request.url ?? '/').split('?')[0] ?? '/';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
