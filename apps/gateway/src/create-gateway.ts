import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ConfigError,
  createConsoleLogger,
  type GatewayOptions,
  type Logger,
  type LogLevel,
  MemoryBackend,
  WebSocketGateway,
} from '@dotmac-ws/core';
import { createDemoHandler } from './demo-page';
import { type EnvConfig, readEnvConfig } from './env-config';
import { profileProblems, profileSummary } from './gateway-profile';
import type { PluginContext } from './plugin';
import { PLUGINS } from './plugins';

/** What {@link createGatewayFromEnv} builds. */
export interface ReferenceGateway {
  /** The gateway, not yet started. */
  gateway: WebSocketGateway;
  /** The logger it writes to. */
  logger: Logger;
  /** The settings it was built from. */
  env: EnvConfig;
  /** Stops the gateway (draining its sessions), then releases what the plugins opened. */
  stop(): Promise<void>;
}

/**
 * Builds the reference gateway from environment variables, with the defaults of its profile
 * (`GATEWAY_PROFILE`: development, or production when `NODE_ENV=production`), on the backend
 * `BACKEND` names, with the demo `echo` handler. The production profile refuses to build
 * without authentication unless `AUTH_DISABLED=true`.
 */
export function createGatewayFromEnv(
  env: Record<string, string | undefined> = process.env,
): ReferenceGateway {
  const cfg = readEnvConfig(env);
  const logger = createConsoleLogger(cfg.string('LOG_LEVEL') as LogLevel, { service: 'dotmac-gateway' });
  // The first line says which defaults run (issue: a development gateway must not pass unnoticed).
  logger.info({ profile: cfg.profile }, profileSummary(cfg));
  const options: GatewayOptions = {
    host: cfg.string('WS_HOST'),
    port: cfg.int('WS_PORT'),
    path: cfg.string('WS_PATH'),
    nodeId: cfg.string('NODE_ID'),
    trustProxy: trustProxyFromEnv(cfg.string('TRUST_PROXY')),
    tenantAgnosticTokens: cfg.bool('TENANT_AGNOSTIC_TOKENS'),
    maxConnections: cfg.int('MAX_CONNECTIONS'),
    clientPublish: cfg.bool('CLIENT_PUBLISH'),
    tenantIsolation: cfg.bool('TENANT_ISOLATION'),
    tenantSubdomainBase: cfg.string('TENANT_SUBDOMAIN_BASE') ?? null,
    allowedOrigins: cfg.list('ALLOWED_ORIGINS') ?? null,
    maxMessageBytes: cfg.int('MAX_MESSAGE_BYTES'),
    maxBufferedBytes: cfg.int('MAX_BUFFERED_BYTES'),
    slowConsumerPolicy: cfg.string('SLOW_CONSUMER_POLICY') as 'close' | 'drop',
    maxSubscriptionsPerSession: cfg.int('MAX_SUBSCRIPTIONS_PER_SESSION'),
    heartbeatMs: cfg.int('HEARTBEAT_MS'),
    rateLimitCloseAfter: cfg.int('RATE_LIMIT_CLOSE_AFTER'),
    authTimeoutMs: cfg.int('AUTH_TIMEOUT_MS'),
    apiKey: cfg.string('API_KEY') ?? null,
    drainTimeoutMs: cfg.int('DRAIN_TIMEOUT_MS'),
    httpFallback: cfg.bool('DEMO_ENABLED') ? demoFallback(cfg.string('WS_PATH') ?? '/ws') : undefined,
    logger,
  };
  const ctx: PluginContext = { logger };
  const backendName = cfg.string('BACKEND');
  const backendPlugin = PLUGINS.find((p) => p.backend?.name === backendName);
  // A backend's bad settings are reported together with every plugin's, in one message.
  const problems: string[] = profileProblems(cfg);
  try {
    options.backend = backendPlugin?.backend ? backendPlugin.backend.create(cfg, ctx) : new MemoryBackend();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  for (const p of PLUGINS) problems.push(...(p.configure?.(cfg, options, ctx) ?? []));
  if (problems.length > 0) throw new ConfigError(problems, 'environment');
  const gateway = new WebSocketGateway(options);
  for (const p of PLUGINS) p.attach?.(cfg, gateway, ctx);
  if (!cfg.bool('METRICS_ENABLED')) {
    // Keep the hooks a plugin set (tracing, logs): only /metrics goes quiet.
    const off = () => '# metrics are off (METRICS_ENABLED=false)\n';
    const hooks = gateway.observabilityHooks;
    if (hooks === undefined) gateway.setObservabilityHooks({ metrics: off });
    else hooks.metrics = off;
  }
  // A demo handler, so that the README's tour has a custom type to try.
  gateway.addMessageHandler('echo', (_session, data) => data ?? null);
  // A plugin may have replaced the logger (the observability plugin's redacts secrets).
  const stop = async () => {
    await gateway.stop();
    for (const p of PLUGINS) {
      try {
        await p.stop?.(cfg);
      } catch (error) {
        ctx.logger.error({ error, plugin: p.name }, 'a plugin failed to stop');
      }
    }
  };
  return { gateway, logger: ctx.logger, env: cfg, stop };
}

/**
 * TRUST_PROXY as the `trustProxy` option: `false`/`true` (the env booleans), a hop count, or a
 * list of addresses, ranges and range names (checked by the gateway's options).
 */
function trustProxyFromEnv(text: string | undefined): GatewayOptions['trustProxy'] {
  const t = (text ?? 'false').trim().toLowerCase();
  if (['false', 'no', 'off'].includes(t)) return false;
  if (['true', 'yes', 'on'].includes(t)) return true;
  if (/^\d+$/.test(t)) return Number(t);
  return t.split(',').map((s) => s.trim());
}

/** Serves the demo page; everything else gets the gateway's usual 404. */
function demoFallback(wsPath: string): (req: IncomingMessage, res: ServerResponse) => void {
  const demo = createDemoHandler(wsPath);
  return (req, res) => {
    if (demo(req, res)) return;
    const body = JSON.stringify({ error: { code: 'not_found', message: 'no such path' } });
    res.writeHead(404, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
}
