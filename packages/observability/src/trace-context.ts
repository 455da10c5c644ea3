import { type Context, context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';

/** The W3C `traceparent` of a span context: `00-{trace id}-{span id}-{flags}`. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The context to start a span in that continues `traceparent` (a remote parent), or the
 * active context when it is missing or malformed.
 */
export function contextFrom(traceparent: string | undefined, base: Context = context.active()): Context {
  if (traceparent === undefined) return base;
  const sc = parseTraceParent(traceparent);
  if (sc === null || !isSpanContextValid(sc)) return base;
  return trace.setSpanContext(base, { ...sc, isRemote: true });
}

const MARKER = Buffer.from('"traceparent":"');
const NEWLINE = 0x0a;
const TRACEPARENT_LENGTH = 55;

/**
 * The `traceparent` in the header line of a broadcast envelope (`<header JSON>\n<frame>`),
 * found without parsing the header. Undefined when there is none.
 */
export function envelopeTraceparent(payload: Uint8Array): string | undefined {
  const buf = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const end = buf.indexOf(NEWLINE);
  const at = buf.indexOf(MARKER);
  if (at < 0 || (end >= 0 && at > end)) return undefined;
  const start = at + MARKER.length;
  if (start + TRACEPARENT_LENGTH > buf.length) return undefined;
  return buf.toString('latin1', start, start + TRACEPARENT_LENGTH);
}
