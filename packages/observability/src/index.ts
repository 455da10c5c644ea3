export { BoundedLabel, OTHER_LABEL } from './bounded-label';
export {
  type CreateLoggerOptions,
  createLogger,
  REDACTED,
  SECRET_KEYS,
  scrubSecrets,
} from './create-logger';
export {
  type ConnectionHandler,
  createDefaultHooks,
  DefaultHooks,
  type DefaultHooksOptions,
  type DisconnectHandler,
  type ErrorHandler,
  type MessageObserver,
} from './default-hooks';
export {
  createDotmacObservabilityHooks,
  DotmacObservability,
  type DotmacObservabilityOptions,
} from './dotmac-observability';
export {
  DEFAULT_DELIVERY_BUCKETS,
  GatewayMetrics,
  type GatewayMetricsOptions,
  NO_TENANT_LABEL,
  UNAUTHENTICATED_TENANT_LABEL,
} from './gateway-metrics';
export { ATTR, GatewayTracing, type GatewayTracingOptions, SPAN } from './gateway-tracing';
export { contextFrom, envelopeTraceparent, formatTraceparent } from './trace-context';
export { BACKEND_SPAN, TracedBackend, traceBackend } from './traced-backend';
export {
  createSampler,
  SAMPLER_NAMES,
  type SamplerName,
  startTracingSdk,
  type TracingSdk,
  type TracingSdkOptions,
} from './tracing-sdk';
export { VERSION } from './version';
