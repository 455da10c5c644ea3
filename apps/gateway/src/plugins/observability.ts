import type { LogLevel } from '@dotmac-ws/core';
import {
  createDotmacObservabilityHooks,
  createLogger,
  createSampler,
  SAMPLER_NAMES,
  type SamplerName,
  traceBackend,
} from '@dotmac-ws/observability';
import type { EnvConfig } from '../env-config';
import type { GatewayPlugin } from '../plugin';

const URL_KIND = { type: 'string', pattern: /^https?:\/\/\S+$/, hint: 'an http(s) URL' } as const;

/** Tracing runs when OTEL_ENABLED says so, else when an OTLP endpoint is set (and the SDK is not disabled). */
function wantsTracing(env: EnvConfig): boolean {
  if (env.bool('OTEL_SDK_DISABLED')) return false;
  const explicit = env.values.OTEL_ENABLED;
  if (typeof explicit === 'boolean') return explicit;
  return (
    env.string('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined ||
    env.string('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined
  );
}

function tracesUrl(env: EnvConfig): string | undefined {
  const traces = env.string('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (traces !== undefined) return traces;
  const base = env.string('OTEL_EXPORTER_OTLP_ENDPOINT');
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`;
}

function headers(env: EnvConfig): Record<string, string> | undefined {
  const list = env.list('OTEL_EXPORTER_OTLP_HEADERS');
  if (list === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of list) {
    const at = pair.indexOf('=');
    out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return out;
}

/**
 * `@dotmac-ws/observability` in the reference gateway: pino logs (LOG_LEVEL, secrets redacted),
 * Prometheus metrics at `/metrics` (METRICS_ENABLED), and OpenTelemetry traces over OTLP/HTTP
 * from the standard OTEL_* variables.
 */
export const observabilityPlugin: GatewayPlugin = {
  name: 'observability',
  env: [
    {
      name: 'METRICS_ENABLED',
      group: 'http',
      kind: { type: 'bool' },
      default: 'true',
      description: 'Serve `GET /metrics`.',
    },
    {
      name: 'METRICS_TENANT_LABEL_LIMIT',
      group: 'observability',
      kind: { type: 'int', min: 0, max: 100_000 },
      default: '100',
      description:
        'Tenants that get a `tenant` label of their own in `/metrics`; later ones count as `other`.',
    },
    {
      name: 'METRICS_MESSAGE_TYPE_LABEL_LIMIT',
      group: 'observability',
      kind: { type: 'int', min: 0, max: 10_000 },
      default: '50',
      description:
        'Handler frame types that get a `type` label of their own; later ones count as `other` (reserved types always do).',
    },
    {
      name: 'OTEL_ENABLED',
      group: 'observability',
      kind: { type: 'bool' },
      default: undefined,
      description:
        'Export OpenTelemetry traces over OTLP/HTTP; unset turns them on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set.',
    },
    {
      name: 'OTEL_SDK_DISABLED',
      group: 'observability',
      kind: { type: 'bool' },
      default: 'false',
      description: 'The standard switch that turns tracing off, whatever OTEL_ENABLED says.',
    },
    {
      name: 'OTEL_SERVICE_NAME',
      group: 'observability',
      kind: { type: 'string', pattern: /^\S{1,200}$/, hint: '1-200 characters without spaces' },
      default: 'dotmac-gateway',
      description: '`service.name` of the spans, and `service` of every log line.',
    },
    {
      name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      group: 'observability',
      kind: URL_KIND,
      default: undefined,
      description:
        'OTLP/HTTP collector base URL; traces go to `{url}/v1/traces` (`http://localhost:4318` when unset).',
    },
    {
      name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      group: 'observability',
      kind: URL_KIND,
      default: undefined,
      description: 'Full OTLP/HTTP traces URL; wins over OTEL_EXPORTER_OTLP_ENDPOINT.',
    },
    {
      name: 'OTEL_EXPORTER_OTLP_HEADERS',
      group: 'observability',
      kind: { type: 'list' },
      default: undefined,
      description:
        'Comma-separated `key=value` headers sent with each export (e.g. an API key of the collector).',
    },
    {
      name: 'OTEL_TRACES_SAMPLER',
      group: 'observability',
      kind: { type: 'enum', values: SAMPLER_NAMES },
      default: 'parentbased_always_on',
      description:
        'Which traces are kept; the `*traceidratio` samplers keep OTEL_TRACES_SAMPLER_ARG of them.',
    },
    {
      name: 'OTEL_TRACES_SAMPLER_ARG',
      group: 'observability',
      kind: { type: 'string', pattern: /^(0(\.\d+)?|1(\.0+)?)$/, hint: 'a ratio from 0 to 1' },
      default: '1',
      description: 'The ratio of the `traceidratio` samplers.',
    },
  ],
  createLogger: (env) =>
    createLogger({
      level: env.string('LOG_LEVEL') as LogLevel,
      base: { service: env.string('OTEL_SERVICE_NAME') ?? 'dotmac-gateway' },
    }),
  setup(env, { logger }) {
    const problems: string[] = [];
    for (const pair of env.list('OTEL_EXPORTER_OTLP_HEADERS') ?? []) {
      if (pair.indexOf('=') <= 0) {
        problems.push(`OTEL_EXPORTER_OTLP_HEADERS has '${pair}' when each entry must be key=value`);
      }
    }
    if (env.values.OTEL_ENABLED === true && env.bool('OTEL_SDK_DISABLED')) {
      problems.push('OTEL_ENABLED is true but OTEL_SDK_DISABLED is true too: set one of them');
    }
    const tracing = wantsTracing(env);
    const url = tracesUrl(env);
    const hdrs = headers(env);
    return {
      problems,
      // The global tracer: it records once `attach` has started the SDK.
      ...(tracing ? { wrapBackend: traceBackend } : {}),
      attach(gateway) {
        const obs = createDotmacObservabilityHooks(env.string('OTEL_SERVICE_NAME') ?? 'dotmac-gateway', {
          metrics: env.bool('METRICS_ENABLED')
            ? {
                tenantLabelLimit: env.int('METRICS_TENANT_LABEL_LIMIT'),
                messageTypeLabelLimit: env.int('METRICS_MESSAGE_TYPE_LABEL_LIMIT'),
              }
            : false,
          tracing: tracing ? {} : false,
          startSdk: tracing
            ? {
                ...(url === undefined ? {} : { url }),
                ...(hdrs === undefined ? {} : { headers: hdrs }),
                sampler: createSampler(
                  env.string('OTEL_TRACES_SAMPLER') as SamplerName,
                  Number(env.string('OTEL_TRACES_SAMPLER_ARG')),
                ),
              }
            : false,
          logger,
        });
        obs.instrument(gateway);
        if (!env.bool('METRICS_ENABLED')) {
          // Keep the hooks (tracing, logs): only /metrics goes quiet.
          const off = () => '# metrics are off (METRICS_ENABLED=false)\n';
          const hooks = gateway.observabilityHooks;
          if (hooks === undefined) gateway.setObservabilityHooks({ metrics: off });
          else hooks.metrics = off;
        }
        // `service` is every line's already (OTEL_SERVICE_NAME).
        if (tracing)
          logger.info({ endpoint: url ?? 'http://localhost:4318/v1/traces' }, 'OpenTelemetry tracing on');
      },
    };
  },
};
