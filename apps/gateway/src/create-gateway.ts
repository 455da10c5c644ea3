import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Backend,
  ConfigError,
  createConsoleLogger,
  type GatewayOptions,
  type Logger,
  type LogLevel,
  MemoryBackend,
  WebSocketGateway,
} from '@dotmac-ws/core';
import { createAdminHandler } from './admin-page';
import { apiKeysFromEnv, hasAdminKey } from './api-keys-env';
import { createDemoHandler } from './demo-page';
import { type EnvConfig, readEnvConfig } from './env-config';
import { envSchema } from './env-schema';
import { profileProblems, profileSummary } from './gateway-profile';
import { type OptionEnvMap, problemInEnvTerms } from './option-env-names';
import type { GatewayPlugin, PluginContext, PluginContribution } from './plugin';
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
 * without authentication unless `AUTH_DISABLED=true`. The logger is made first and handed to
 * every plugin; each plugin's factory returns what it contributes (`plugins` replaces the list).
 */
export function createGatewayFromEnv(
  env: Record<string, string | undefined> = process.env,
  plugins: readonly GatewayPlugin[] = PLUGINS,
): ReferenceGateway {
  const cfg = readEnvConfig(env, envSchema(plugins));
  // The logger comes first, so that every line (the profile, the backends') goes through it.
  const logger = createAppLogger(cfg, plugins);
  // The first line says which defaults run (issue: a development gateway must not pass unnoticed).
  logger.info({ profile: cfg.profile }, profileSummary(cfg));
  const apiKeys = apiKeysFromEnv(cfg.string('API_KEYS'));
  const problems: string[] = [...profileProblems(cfg), ...apiKeys.problems];
  const adminEnabled = cfg.bool('ADMIN_ENABLED');
  if (adminEnabled && apiKeys.problems.length === 0 && !hasAdminKey(cfg, apiKeys.keys)) {
    problems.push(
      'ADMIN_ENABLED is true but no admin key is set: set API_KEY, or an API_KEYS entry of scope admin (the console signs in with it)',
    );
  }
  const ctx: PluginContext = { logger };
  const parts: PluginContribution[] = [];
  for (const p of plugins) {
    try {
      const part = p.setup(cfg, ctx);
      problems.push(...namedProblems(part.optionProblems ?? [], p, cfg), ...(part.problems ?? []));
      parts.push(part);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...namedProblems(error.problems, p, cfg));
    }
  }
  const options: GatewayOptions = {
    ...coreOptions(cfg),
    apiKeys: apiKeys.keys,
    httpFallback: pagesFallback(cfg, adminEnabled),
    logger,
    backend: chosenBackend(parts),
  };
  const setBy = new Map<string, string>();
  for (const [i, part] of parts.entries()) {
    for (const [key, value] of Object.entries(part.options ?? {})) {
      const other = setBy.get(key);
      if (other !== undefined)
        throw new Error(`${other} and ${plugins[i]?.name} both set the gateway option ${key}`);
      setBy.set(key, plugins[i]?.name ?? '');
      (options as Record<string, unknown>)[key] = value;
    }
  }
  let gateway: WebSocketGateway | undefined;
  try {
    if (problems.length === 0) gateway = new WebSocketGateway(options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map((p) => problemInEnvTerms(p, CORE_OPTION_ENV, cfg)));
  }
  if (problems.length > 0 || gateway === undefined) {
    // Nothing runs: release what the plugins opened (a Redis client) before reporting.
    for (const part of parts) void Promise.resolve(part.stop?.()).catch(() => undefined);
    throw new ConfigError(problems, 'environment');
  }
  const built = gateway;
  for (const part of parts) {
    for (const m of part.middleware ?? []) built.use(m);
    part.attach?.(built);
  }
  // A demo handler, so that the README's tour has a custom type to try.
  built.addMessageHandler('echo', (_session, data) => data ?? null);
  const stop = async () => {
    await built.stop();
    for (const [i, part] of parts.entries()) {
      try {
        await part.stop?.();
      } catch (error) {
        logger.error({ error, plugin: plugins[i]?.name }, 'a plugin failed to stop');
      }
    }
  };
  return { gateway: built, logger, env: cfg, stop };
}

/** The variable that sets each gateway option, to name core's option problems. */
const CORE_OPTION_ENV: OptionEnvMap = {
  host: 'WS_HOST',
  port: 'WS_PORT',
  listenBacklog: 'LISTEN_BACKLOG',
  handshakeTimeoutMs: 'HANDSHAKE_TIMEOUT_MS',
  path: 'WS_PATH',
  nodeId: 'NODE_ID',
  trustProxy: 'TRUST_PROXY',
  tenantAgnosticTokens: 'TENANT_AGNOSTIC_TOKENS',
  maxConnections: 'MAX_CONNECTIONS',
  clientPublish: 'CLIENT_PUBLISH',
  tenantIsolation: 'TENANT_ISOLATION',
  tenantSubdomainBase: 'TENANT_SUBDOMAIN_BASE',
  allowedOrigins: 'ALLOWED_ORIGINS',
  maxMessageBytes: 'MAX_MESSAGE_BYTES',
  maxJsonDepth: 'MAX_JSON_DEPTH',
  maxPendingBytes: 'MAX_PENDING_BYTES',
  presenceTtlMs: 'PRESENCE_TTL_MS',
  presenceGraceMs: 'PRESENCE_GRACE_MS',
  maxPresenceInfoBytes: 'MAX_PRESENCE_INFO_BYTES',
  maxBufferedBytes: 'MAX_BUFFERED_BYTES',
  slowConsumerPolicy: 'SLOW_CONSUMER_POLICY',
  maxSubscriptionsPerSession: 'MAX_SUBSCRIPTIONS_PER_SESSION',
  heartbeatMs: 'HEARTBEAT_MS',
  rateLimitCloseAfter: 'RATE_LIMIT_CLOSE_AFTER',
  authTimeoutMs: 'AUTH_TIMEOUT_MS',
  apiKey: 'API_KEY',
  apiKeys: 'API_KEYS',
  announceIntervalMs: 'ANNOUNCE_INTERVAL_MS',
  clusterQueryTimeoutMs: 'CLUSTER_QUERY_TIMEOUT_MS',
  drainTimeoutMs: 'DRAIN_TIMEOUT_MS',
};

/** The gateway options its own variables set (see {@link CORE_OPTION_ENV}). */
function coreOptions(cfg: EnvConfig): GatewayOptions {
  return {
    host: cfg.string('WS_HOST'),
    port: cfg.int('WS_PORT'),
    listenBacklog: cfg.int('LISTEN_BACKLOG'),
    handshakeTimeoutMs: cfg.int('HANDSHAKE_TIMEOUT_MS'),
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
    maxJsonDepth: cfg.int('MAX_JSON_DEPTH'),
    maxPendingBytes: cfg.int('MAX_PENDING_BYTES'),
    presenceTtlMs: cfg.int('PRESENCE_TTL_MS'),
    presenceGraceMs: cfg.int('PRESENCE_GRACE_MS'),
    maxPresenceInfoBytes: cfg.int('MAX_PRESENCE_INFO_BYTES'),
    maxBufferedBytes: cfg.int('MAX_BUFFERED_BYTES'),
    slowConsumerPolicy: cfg.string('SLOW_CONSUMER_POLICY') as 'close' | 'drop',
    maxSubscriptionsPerSession: cfg.int('MAX_SUBSCRIPTIONS_PER_SESSION'),
    heartbeatMs: cfg.int('HEARTBEAT_MS'),
    rateLimitCloseAfter: cfg.int('RATE_LIMIT_CLOSE_AFTER'),
    authTimeoutMs: cfg.int('AUTH_TIMEOUT_MS'),
    apiKey: cfg.string('API_KEY') ?? null,
    announceIntervalMs: cfg.int('ANNOUNCE_INTERVAL_MS'),
    clusterQueryTimeoutMs: cfg.int('CLUSTER_QUERY_TIMEOUT_MS'),
    drainTimeoutMs: cfg.int('DRAIN_TIMEOUT_MS'),
  };
}

/** The logger of the first plugin that makes one, else core's console logger. */
function createAppLogger(cfg: EnvConfig, plugins: readonly GatewayPlugin[]): Logger {
  const maker = plugins.find((p) => p.createLogger !== undefined)?.createLogger;
  return maker === undefined
    ? createConsoleLogger(cfg.string('LOG_LEVEL') as LogLevel, { service: 'dotmac-gateway' })
    : maker(cfg);
}

/** The backend a plugin provides (memory when none does), wrapped by every wrapper, in order. */
function chosenBackend(parts: readonly PluginContribution[]): Backend {
  let backend: Backend = parts.find((p) => p.backend !== undefined)?.backend ?? new MemoryBackend();
  for (const part of parts) if (part.wrapBackend !== undefined) backend = part.wrapBackend(backend);
  return backend;
}

/** A plugin's option problems in the variables that set those options. */
function namedProblems(problems: readonly string[], plugin: GatewayPlugin, cfg: EnvConfig): string[] {
  const map = typeof plugin.optionEnv === 'function' ? plugin.optionEnv(cfg) : (plugin.optionEnv ?? {});
  return problems.map((p) => problemInEnvTerms(p, map, cfg));
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

/**
 * Serves the pages that are on: the demo (`DEMO_ENABLED`) and the admin console
 * (`ADMIN_ENABLED`); everything else gets the gateway's usual 404. Undefined when both are off.
 */
function pagesFallback(
  cfg: EnvConfig,
  adminEnabled: boolean,
): ((req: IncomingMessage, res: ServerResponse) => void) | undefined {
  const pages: ((req: IncomingMessage, res: ServerResponse) => boolean)[] = [];
  if (cfg.bool('DEMO_ENABLED')) pages.push(createDemoHandler(cfg.string('WS_PATH') ?? '/ws'));
  if (adminEnabled) pages.push(createAdminHandler());
  if (pages.length === 0) return undefined;
  return (req, res) => {
    if (pages.some((page) => page(req, res))) return;
    const body = JSON.stringify({ error: { code: 'not_found', message: 'no such path' } });
    res.writeHead(404, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
}
