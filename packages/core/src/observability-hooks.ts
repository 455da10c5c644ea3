import type { IncomingMessage } from 'node:http';
import type { BroadcastTarget, EnvelopeHeader } from './broadcast-envelope';
import type { WebSocketSession } from './session';

/** What a broadcast hook learns. */
export interface BroadcastEvent {
  /** Whom the broadcast was for. */
  target: BroadcastTarget;
  /** The delivered message type. */
  type: string;
  /** How many local sessions it was handed to. */
  delivered: number;
  /** `local` where it was published, `remote` on the nodes that received it over the backend. */
  origin: 'local' | 'remote';
  /** When it was published (ms since the epoch, the publishing node's clock). */
  publishedAt: number;
  /** The W3C `traceparent` it carried, if any. */
  traceparent: string | undefined;
}

/**
 * Callbacks for metrics, tracing and logs; `@dotmac-ws/observability` implements them.
 * Every hook is optional and must not throw (a throw is logged and ignored); hooks on the
 * hot path (`onMessage`) must be cheap.
 */
export interface ObservabilityHooks {
  /** A session was opened (after `welcome` was sent). */
  onConnection?(session: WebSocketSession): void;
  /** A session ended with this close code. */
  onDisconnect?(session: WebSocketSession, code: number, reason: string): void;
  /** A handshake was refused with this HTTP status before the upgrade. */
  onHandshakeRefused?(status: number, code: string, request: IncomingMessage): void;
  /** A frame arrived (before middleware). */
  onMessage?(session: WebSocketSession, type: string, bytes: number): void;
  /** A frame was refused with this error code. */
  onMessageRefused?(session: WebSocketSession, type: string, code: string): void;
  /** A broadcast was delivered to local sessions. */
  onBroadcast?(event: BroadcastEvent): void;
  /** A token was refused; `reason` is the `AuthError` code. */
  onAuthFailure?(reason: string, session: WebSocketSession | null): void;
  /** A session was closed for falling behind (4408). */
  onSlowConsumer?(session: WebSocketSession): void;
  /** Something failed; `context` says where (`backend publish`, `handler of "x"`, `handshake`, …). A hook that throws is logged, never reported here. */
  onError?(error: unknown, context: string): void;
  /** Returns the `traceparent` to carry in the envelope of a broadcast published now. */
  currentTraceparent?(): string | undefined;
  /**
   * Runs an HTTP API operation (`publish`), e.g. inside a span that continues the request's
   * `traceparent` header, so that the broadcast it publishes joins the caller's trace. Must call
   * `run` once and return (or resolve with) its result.
   */
  aroundHttpApi?<T>(operation: 'publish', request: IncomingMessage, run: () => Promise<T>): Promise<T>;
  /**
   * Runs the backend publish of a broadcast this node published, e.g. inside a producer span.
   * `header` is the envelope's decoded header (its `traceparent` is the one
   * `currentTraceparent` returned), `bytes` the envelope's size. Must call `publish` once and
   * return (or resolve with) its promise. Called only when set: without it, nothing is allocated.
   */
  aroundBackendPublish?(
    header: Readonly<EnvelopeHeader>,
    topic: string,
    bytes: number,
    publish: () => Promise<void>,
  ): Promise<void>;
  /**
   * Runs the local delivery of a broadcast another node published, e.g. inside a consumer span
   * that continues `header.traceparent`; `onBroadcast` (origin `remote`) is called inside it.
   * The node's own echo never gets here: core drops it once, by the decoded `origin`. Must call
   * `deliver` once.
   */
  aroundRemoteDelivery?(
    header: Readonly<EnvelopeHeader>,
    topic: string,
    bytes: number,
    deliver: () => void,
  ): void;
  /** The gateway stopped (sessions drained, backend closed): flush and close telemetry. Awaited. */
  onStop?(): Promise<void> | void;
  /** Prometheus text for `GET /metrics`; without it the gateway serves its own basic set. */
  metrics?(): Promise<string> | string;
  /** Content type of `metrics()`. @default 'text/plain; version=0.0.4; charset=utf-8' */
  metricsContentType?: string;
}
