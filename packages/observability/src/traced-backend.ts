import type { Backend, BackendDeliver, ComponentHealth } from '@dotmac-ws/core';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { contextFrom, envelopeTraceparent } from './trace-context';
import { VERSION } from './version';

/** Span names of the backend. */
export const BACKEND_SPAN = {
  publish: 'dotmac_ws.backend.publish',
  receive: 'dotmac_ws.backend.receive',
} as const;

/**
 * A {@link Backend} that traces what it carries: a producer span per publish and a consumer
 * span per message received from another node, each a child of the broadcast whose
 * `traceparent` the envelope holds (only for sampled broadcasts). The gateway's own handling of a received message runs
 * inside the receive span. Everything else is passed through.
 */
export class TracedBackend implements Backend {
  /** The wrapped backend. */
  readonly inner: Backend;
  /** This node's id, so that its own echo gets no receive span (set by `instrument`). */
  nodeId: string | undefined;
  readonly #tracer: Tracer;

  constructor(inner: Backend, tracer: Tracer = trace.getTracer('@dotmac-ws/observability', VERSION)) {
    this.inner = inner;
    this.#tracer = tracer;
  }

  get name(): string {
    return this.inner.name;
  }

  start(deliver: BackendDeliver): Promise<void> {
    return this.inner.start((topic, payload) => this.#receive(deliver, topic, payload));
  }

  #receive(deliver: BackendDeliver, topic: string, payload: Uint8Array): void {
    const traceparent = envelopeTraceparent(payload);
    if (traceparent === undefined || !sampled(traceparent) || this.#isEcho(payload)) {
      deliver(topic, payload);
      return;
    }
    const parent = contextFrom(traceparent, ROOT_CONTEXT);
    const span = this.#tracer.startSpan(
      BACKEND_SPAN.receive,
      { kind: SpanKind.CONSUMER, attributes: attributes(this.inner.name, topic, payload) },
      parent,
    );
    try {
      context.with(trace.setSpan(parent, span), () => deliver(topic, payload));
    } finally {
      span.end();
    }
  }

  publish(topic: string, payload: Uint8Array): Promise<void> {
    const traceparent = envelopeTraceparent(payload);
    // An unsampled broadcast gets no backend spans (a parent-based sampler would drop them).
    if (traceparent === undefined || !sampled(traceparent)) return this.inner.publish(topic, payload);
    return this.#tracedPublish(topic, payload, traceparent);
  }

  async #tracedPublish(topic: string, payload: Uint8Array, traceparent: string): Promise<void> {
    const parent = contextFrom(traceparent);
    const span = this.#tracer.startSpan(
      BACKEND_SPAN.publish,
      { kind: SpanKind.PRODUCER, attributes: attributes(this.inner.name, topic, payload) },
      parent,
    );
    try {
      await this.inner.publish(topic, payload);
    } catch (error) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      span.end();
    }
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

  /** True when the envelope's `origin` is this node (the header starts `{"v":1,"origin":"…"`). */
  #isEcho(payload: Uint8Array): boolean {
    const id = this.nodeId;
    if (id === undefined) return false;
    const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const expected = `{"v":1,"origin":${JSON.stringify(id)},`;
    return buf.length >= expected.length && buf.toString('utf8', 0, expected.length) === expected;
  }
}

/** True when the `traceparent`'s flags have the sampled bit. */
function sampled(traceparent: string): boolean {
  return (Number.parseInt(traceparent.slice(53, 55), 16) & 1) === 1;
}

function attributes(system: string, topic: string, payload: Uint8Array) {
  return {
    'messaging.system': system,
    'messaging.destination.name': topic,
    'messaging.message.body.size': payload.byteLength,
  };
}

/** Wraps `backend` in a {@link TracedBackend} (a backend already wrapped is returned as it is). */
export function traceBackend(backend: Backend, tracer?: Tracer): TracedBackend {
  return backend instanceof TracedBackend ? backend : new TracedBackend(backend, tracer);
}
