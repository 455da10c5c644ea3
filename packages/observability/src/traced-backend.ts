import type { Backend, BackendDeliver, ComponentHealth } from '@dotmac-ws/core';
import { type Tracer, trace } from '@opentelemetry/api';
import { VERSION } from './version';

/** Span names of the backend. */
export const BACKEND_SPAN = {
  publish: 'dotmac_ws.backend.publish',
  receive: 'dotmac_ws.backend.receive',
} as const;

/**
 * A {@link Backend} passed through unchanged.
 *
 * @deprecated Backend publish and receive spans now come from the gateway's
 * `aroundBackendPublish` and `aroundRemoteDelivery` hooks ({@link GatewayTracing}), which get
 * the envelope header decoded by core; wrapping the backend is no longer needed. Kept so that
 * existing `traceBackend(backend)` calls go on working.
 */
export class TracedBackend implements Backend {
  /** The wrapped backend. */
  readonly inner: Backend;
  /** The tracer given at construction (unused: spans are the gateway hooks'). */
  readonly tracer: Tracer;

  constructor(inner: Backend, tracer: Tracer = trace.getTracer('@dotmac-ws/observability', VERSION)) {
    this.inner = inner;
    this.tracer = tracer;
  }

  get name(): string {
    return this.inner.name;
  }

  start(deliver: BackendDeliver): Promise<void> {
    return this.inner.start(deliver);
  }

  publish(topic: string, payload: Uint8Array): Promise<void> {
    return this.inner.publish(topic, payload);
  }

  subscribe(topic: string): Promise<void> {
    return this.inner.subscribe(topic);
  }

  unsubscribe(topic: string): Promise<void> {
    return this.inner.unsubscribe(topic);
  }

  health(): Promise<ComponentHealth> {
    return this.inner.health();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  stats(): Record<string, number> {
    return this.inner.stats?.() ?? {};
  }
}

/**
 * Wraps `backend` in a {@link TracedBackend} (a backend already wrapped is returned as it is).
 * @deprecated not needed any more: see {@link TracedBackend}.
 */
export function traceBackend(backend: Backend, tracer?: Tracer): TracedBackend {
  return backend instanceof TracedBackend ? backend : new TracedBackend(backend, tracer);
}
