import type { IncomingMessage, ServerResponse } from 'node:http';
import { PUBLISH_SCOPE_PATHS, presentedKey, type ResolvedApiKey } from './api-keys';
import { BackendUnavailableError } from './backend-unavailable-error';
import { isValidChannelName, isValidEventName, isValidTenantId } from './channel-name';
import { SERVER_FRAME_TYPES } from './constants';
import type { GatewayBroadcastTarget, WebSocketGateway } from './gateway';
import type { ComponentHealth, GatewayHealth } from './health';
import { readIdempotencyKey } from './history-query';
/** The largest body `POST /api/publish` accepts. */
import { MAX_API_BODY_BYTES } from './http-api-body';
import { answerChannelApi, CHANNEL_API_PATHS } from './http-channel-api';
import { sendJson } from './http-response';
import { answerServerApi, SERVER_API_PATHS } from './http-server-api';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from './json-depth';
import { OPENAPI_DOCUMENT } from './openapi';
import { safeJsonParse } from './safe-json-parse';

export { MAX_API_BODY_BYTES };

/** Every path the HTTP API serves, with its methods (the OpenAPI document covers each). @internal */
export const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/health': ['GET', 'HEAD'],
  '/ready': ['GET', 'HEAD'],
  '/api/openapi.json': ['GET'],
  '/metrics': ['GET', 'HEAD'],
  '/api/publish': ['POST'],
  '/api/stats': ['GET'],
  '/api/info': ['GET'],
  ...Object.fromEntries([...CHANNEL_API_PATHS, ...SERVER_API_PATHS].map((p) => [p, ['POST']])),
};

/**
 * The calls logged at `debug`, with every GET: publishes and reads, which a busy backend makes
 * all the time. Every other call changes who gets what (subscribe, unsubscribe, disconnect,
 * history_remove) and is logged at `info`.
 */
const QUIET_API_PATHS: ReadonlySet<string> = new Set([
  '/api/publish',
  '/api/broadcast',
  '/api/history',
  '/api/presence',
  '/api/presence_stats',
  '/api/channels',
]);

/**
 * Serves the gateway's HTTP endpoints (protocol.md, "HTTP API"). Returns false for paths it
 * does not own. @internal
 */
export function handleHttpApiRequest(
  gateway: WebSocketGateway,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const methods = ROUTES[path];
  if (methods === undefined) return false;
  const method = req.method ?? 'GET';
  if (!methods.includes(method)) {
    sendJson(
      res,
      405,
      { error: { code: 'method_not_allowed', message: `use ${methods.join(' or ')}` } },
      { allow: methods.join(', ') },
    );
    return true;
  }
  const fail = (error: unknown) => {
    if (error instanceof RequestAbortedError) {
      // The client went away mid-body: nobody to answer, nothing went wrong here.
      gateway.config.logger.debug({ path }, 'HTTP API request aborted by the client');
      res.destroy();
      return;
    }
    gateway.config.logger.error({ error, path }, 'HTTP API request failed');
    if (!res.headersSent)
      sendJson(res, 500, { error: { code: 'internal_error', message: 'internal error' } });
    else res.destroy();
  };
  switch (path) {
    case '/health': {
      // Hosts and error texts are for the operator: without the API key, statuses only.
      const detailed = presentedKey(gateway.config.apiKeys, req) !== null;
      gateway
        .healthCheck()
        .then((h) => sendJson(res, h.status === 'unhealthy' ? 503 : 200, detailed ? h : publicHealth(h)))
        .catch(fail);
      return true;
    }
    case '/api/openapi.json':
      // The document of this API; it names no secret, so it needs no key.
      sendJson(res, 200, OPENAPI_DOCUMENT);
      return true;
    case '/ready':
      sendJson(res, gateway.isReady ? 200 : 503, { ready: gateway.isReady, status: gateway.status });
      return true;
    case '/metrics':
      gateway
        .getPrometheusMetrics()
        .then((text) => {
          res.writeHead(200, {
            'content-type':
              gateway.observabilityHooks?.metricsContentType ?? 'text/plain; version=0.0.4; charset=utf-8',
            'cache-control': 'no-store',
          });
          res.end(text);
        })
        .catch(fail);
      return true;
    default:
      break;
  }
  const key = authorized(gateway, path, req, res);
  if (key === null) return true;
  gateway.config.logger[method === 'GET' || QUIET_API_PATHS.has(path) ? 'debug' : 'info'](
    { path, key_id: key.id },
    'server API call',
  );
  if (path === '/api/stats') {
    sendJson(res, 200, gateway.getStats());
    return true;
  }
  if (path === '/api/info') {
    gateway.cluster
      .info()
      .then((info) => sendJson(res, 200, info.missing.length === 0 ? { nodes: info.nodes } : info))
      .catch((error: unknown) =>
        error instanceof BackendUnavailableError ? sendUnavailable(res, error, undefined) : fail(error),
      );
    return true;
  }
  readBody(req, MAX_API_BODY_BYTES)
    .then((body) => {
      if (body === null) {
        sendJson(res, 413, {
          error: {
            code: 'payload_too_large',
            message: `the body must be at most ${MAX_API_BODY_BYTES} bytes`,
          },
        });
        return;
      }
      if (path !== '/api/publish') {
        const answer = (CHANNEL_API_PATHS as readonly string[]).includes(path)
          ? answerChannelApi(
              gateway,
              path as (typeof CHANNEL_API_PATHS)[number],
              body,
              gateway.config.maxJsonDepth,
            )
          : answerServerApi(
              gateway,
              path as (typeof SERVER_API_PATHS)[number],
              body,
              gateway.config.maxJsonDepth,
            );
        return answer.then(
          (answer) => sendJson(res, answer.status, answer.body),
          (error: unknown) => {
            if (!(error instanceof BackendUnavailableError)) throw error;
            sendUnavailable(res, error, undefined);
          },
        );
      }
      const parsed = parsePublishBody(body, gateway.config.maxJsonDepth);
      if (typeof parsed === 'string') {
        sendJson(res, 400, { error: { code: 'bad_request', message: parsed } });
        return;
      }
      const hooks = gateway.observabilityHooks;
      const run = (): Promise<PublishAnswer> => {
        const t = parsed.target;
        if (t.kind !== 'channel')
          return gateway.broadcast(t, parsed.type, parsed.data).then((n) => ({ delivered_local: n }));
        return gateway
          .publish(t.name, parsed.type, parsed.data, {
            tenantId: t.tenantId,
            idempotencyKey: parsed.idempotencyKey,
          })
          .then((r) => {
            const answer: PublishAnswer = { delivered_local: r.duplicate === true ? 0 : r.delivered };
            if (r.offset !== undefined) answer.offset = r.offset;
            if (r.epoch !== undefined) answer.epoch = r.epoch;
            return answer;
          });
      };
      const published = hooks?.aroundHttpApi ? hooks.aroundHttpApi('publish', req, run) : run();
      return published.then(
        (answer) => sendJson(res, 200, answer),
        (error: unknown) => {
          if (!(error instanceof BackendUnavailableError)) throw error;
          // protocol.md v1.1: not acknowledged as done; local subscribers may have it.
          sendUnavailable(res, error, error.deliveredLocal ?? 0);
        },
      );
    })
    .catch(fail);
  return true;
}

/** What `POST /api/publish` answers. */
interface PublishAnswer {
  delivered_local: number;
  offset?: number;
  epoch?: string;
}

/** 503 `backend_unavailable` with `Retry-After` (protocol.md v1.1). */
function sendUnavailable(
  res: ServerResponse,
  error: BackendUnavailableError,
  deliveredLocal: number | undefined,
): void {
  const body: Record<string, unknown> = {
    error: { code: error.code, message: error.message, retry_after_ms: error.retryAfterMs },
  };
  if (deliveredLocal !== undefined) body.delivered_local = deliveredLocal;
  sendJson(res, 503, body, { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) });
}

/**
 * The health anyone may read: the overall status, each component's status and the session
 * count (protocol.md's shape), without hosts, node ids or error texts.
 */
export function publicHealth(health: GatewayHealth): GatewayHealth {
  const components: Record<string, ComponentHealth> = {};
  for (const [name, c] of Object.entries(health.components)) components[name] = { status: c.status };
  const sessions = health.components.sessions;
  if (sessions !== undefined && components.sessions !== undefined) {
    components.sessions.total_sessions = sessions.total_sessions;
  }
  return { status: health.status, components };
}

/**
 * The key a call presents, when it may make it; otherwise answers 404 (no key configured), 401
 * (no valid key) or 403 (a `publish` key on another endpoint) and returns null.
 */
function authorized(
  gateway: WebSocketGateway,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): ResolvedApiKey | null {
  const keys = gateway.config.apiKeys;
  if (keys.length === 0) {
    sendJson(res, 404, {
      error: { code: 'api_disabled', message: 'the HTTP API is off: set an API key to turn it on' },
    });
    return null;
  }
  const key = presentedKey(keys, req);
  if (key === null) {
    sendJson(
      res,
      401,
      {
        error: { code: 'unauthorized', message: 'a valid API key is required (Authorization: Bearer <key>)' },
      },
      { 'www-authenticate': 'Bearer' },
    );
    return null;
  }
  if (key.scope === 'publish' && !PUBLISH_SCOPE_PATHS.has(path)) {
    sendJson(res, 403, {
      error: {
        code: 'forbidden',
        message: `the API key "${key.id}" may only publish (/api/publish, /api/broadcast)`,
      },
    });
    return null;
  }
  return key;
}

/** Reads a body up to `limit` bytes; null when it is larger. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else if (!over) chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', (error) => reject(req.destroyed ? new RequestAbortedError(error) : error));
  });
}

/** The client closed the connection before its request body ended. */
class RequestAbortedError extends Error {
  readonly code = 'request_aborted';

  constructor(cause: unknown) {
    super('the client closed the connection before the request body ended', { cause });
  }
}

/** A validated `POST /api/publish` body. */
export interface PublishRequest {
  /** Whom to deliver to; a channel is named as clients name it, scoped by `tenantId`. */
  target: GatewayBroadcastTarget;
  /** The delivered message type. */
  type: string;
  /** The payload. */
  data: unknown;
  /** A retry with the same key (in a channel with history) is not delivered again. */
  idempotencyKey?: string;
}

/**
 * Validates a `POST /api/publish` body; returns what is wrong as a string. A body nested deeper
 * than `maxDepth` levels (the body object is level 1) is refused; `__proto__` and
 * `constructor.prototype` keys are removed (see `safeJsonParse`).
 */
export function parsePublishBody(
  text: string,
  maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): PublishRequest | string {
  let body: unknown;
  try {
    body = safeJsonParse(text);
  } catch {
    return 'the body is not valid JSON';
  }
  if (exceedsJsonDepth(text, body, maxDepth)) return `the body nests deeper than ${maxDepth} levels`;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (!isValidEventName(b.type) || SERVER_FRAME_TYPES.has(b.type)) {
    return '"type" must be 1-100 characters of A-Z a-z 0-9 _ - . : @ / and not a server frame type';
  }
  const problems: string[] = [];
  for (const key of ['user_id', 'role', 'permission'] as const) {
    if (b[key] !== undefined && (typeof b[key] !== 'string' || b[key] === ''))
      problems.push(`"${key}" must be a non-empty string`);
  }
  if (b.channel !== undefined && !isValidChannelName(b.channel)) {
    problems.push('"channel" must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / =');
  }
  if (b.tenant_id !== undefined && !isValidTenantId(b.tenant_id)) {
    problems.push('"tenant_id" must be 1-200 characters of A-Z a-z 0-9 _ - . @ / =');
  }
  let idempotencyKey: string | undefined;
  try {
    idempotencyKey = readIdempotencyKey(b.idempotency_key, '"idempotency_key"');
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) return problems.join('; ');
  const targets = (['channel', 'user_id', 'role', 'permission'] as const).filter((k) => b[k] !== undefined);
  const tenantId = (b.tenant_id as string | undefined) ?? null;
  if (targets.length > 1) return `exactly one target is allowed, got ${targets.join(' and ')}`;
  const type = b.type;
  const data = b.data ?? null;
  if (targets.length === 0) {
    if (tenantId === null)
      return 'name exactly one target: "channel", "user_id", "tenant_id", "role" or "permission"';
    return { target: { kind: 'tenant', tenantId }, type, data };
  }
  switch (targets[0]) {
    case 'channel':
      return {
        target: { kind: 'channel', name: b.channel as string, tenantId },
        type,
        data,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      };
    case 'user_id':
      return { target: { kind: 'user', userId: b.user_id as string, tenantId }, type, data };
    case 'role':
      return { target: { kind: 'role', role: b.role as string, tenantId }, type, data };
    default:
      return { target: { kind: 'permission', permission: b.permission as string, tenantId }, type, data };
  }
}
