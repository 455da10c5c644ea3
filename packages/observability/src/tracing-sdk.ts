import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

/** Options of {@link startTracingSdk}. */
export interface TracingSdkOptions {
  /**
   * The OTLP/HTTP traces endpoint.
   * @default `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces`
   */
  url?: string;
  /** Headers sent with each export. @default `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS` */
  headers?: Record<string, string>;
  /** The sampler. @default from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, else parent-based always-on */
  sampler?: Sampler;
  /** The exporter. @default an OTLP/HTTP exporter (JSON encoding) to `url` */
  exporter?: SpanExporter;
  /** Export in batches (`OTEL_BSP_*`); false exports each span when it ends. @default true */
  batch?: boolean;
}

/** A started SDK. */
export interface TracingSdk {
  /** The NodeSDK. */
  readonly sdk: NodeSDK;
  /** Flushes pending spans, shuts the SDK down and unregisters it from the global API. */
  shutdown(): Promise<void>;
}

/** The sampler names of `OTEL_TRACES_SAMPLER`. */
export const SAMPLER_NAMES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** A sampler name of `OTEL_TRACES_SAMPLER`. */
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/**
 * The sampler that `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` name (the ratio of the
 * `traceidratio` samplers, 0 to 1; 1 when unset or invalid).
 */
export function createSampler(name: SamplerName, arg?: number): Sampler {
  const ratio = arg !== undefined && arg >= 0 && arg <= 1 ? arg : 1;
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * Starts the OpenTelemetry NodeSDK for traces, exported over OTLP/HTTP, and registers it with
 * the global API (tracer provider, context manager, W3C propagator). What the options leave
 * out comes from the standard `OTEL_*` variables. No instrumentations, metrics or logs are
 * set up: the gateway's spans come from `@dotmac-ws/observability`, its metrics from
 * prom-client. `OTEL_SDK_DISABLED=true` makes it a no-op.
 *
 * @example
 * const tracing = startTracingSdk('chat-gateway', { url: 'http://collector:4318/v1/traces' })
 * process.on('SIGTERM', () => tracing.shutdown())
 */
export function startTracingSdk(serviceName: string, options: TracingSdkOptions = {}): TracingSdk {
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({
      ...(options.url === undefined ? {} : { url: options.url }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
  const processor =
    options.batch === false ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const sdk = new NodeSDK({
    serviceName,
    spanProcessors: [processor],
    ...(options.sampler === undefined ? {} : { sampler: options.sampler }),
    instrumentations: [],
    logRecordProcessors: [],
  });
  sdk.start();
  let done: Promise<void> | undefined;
  return {
    sdk,
    shutdown() {
      done ??= sdk.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return done;
    },
  };
}
