import { readFileSync } from 'node:fs';
import { encodeEnvelope } from '@dotmac-ws/core';
import { TraceFlags, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { contextFrom, createSampler, envelopeTraceparent, formatTraceparent, VERSION } from '../src/index';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context helpers', () => {
  it('formats a span context as a W3C traceparent', () => {
    const sc = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    expect(formatTraceparent({ ...sc, traceFlags: TraceFlags.SAMPLED })).toBe(TP);
    expect(formatTraceparent({ ...sc, traceFlags: TraceFlags.NONE })).toBe(TP.replace(/01$/, '00'));
  });

  it('continues a valid traceparent as a remote parent, ignores a malformed one', () => {
    const sc = trace.getSpanContext(contextFrom(TP));
    expect(sc).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
    });
    expect(
      trace.getSpanContext(contextFrom('00-00000000000000000000000000000000-00f067aa0ba902b7-01')),
    ).toBeUndefined();
    expect(trace.getSpanContext(contextFrom('garbage'))).toBeUndefined();
    expect(trace.getSpanContext(contextFrom(undefined))).toBeUndefined();
  });

  it("reads the traceparent of a broadcast envelope's header, never from the frame", () => {
    const header = { v: 1 as const, origin: 'a', ts: 1, target: { kind: 'all' as const }, type: 't' };
    const frame = Buffer.from(JSON.stringify({ type: 't', data: { traceparent: TP } }));
    expect(envelopeTraceparent(encodeEnvelope({ ...header, traceparent: TP }, frame))).toBe(TP);
    expect(envelopeTraceparent(encodeEnvelope(header, frame))).toBeUndefined();
    expect(envelopeTraceparent(new Uint8Array(Buffer.from('{"traceparent":"00-short')))).toBeUndefined();
  });

  it('builds the samplers OTEL_TRACES_SAMPLER names', () => {
    expect(createSampler('always_on').toString()).toBe('AlwaysOnSampler');
    expect(createSampler('always_off').toString()).toBe('AlwaysOffSampler');
    expect(createSampler('traceidratio', 0.25).toString()).toBe('TraceIdRatioBased{0.25}');
    expect(createSampler('parentbased_traceidratio', 0).toString()).toContain('TraceIdRatioBased{0}');
    expect(createSampler('parentbased_always_on').toString()).toContain('root=AlwaysOnSampler');
    expect(createSampler('traceidratio', 7).toString()).toBe('TraceIdRatioBased{1}');
  });

  it('VERSION is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(VERSION).toBe(pkg.version);
  });
});
