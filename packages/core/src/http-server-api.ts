import { BackendUnavailableError } from './backend-unavailable-error';
import { isValidChannelName, isValidEventName, isValidTenantId } from './channel-name';
import { selectorProblems } from './cluster';
import { ErrorCode, SERVER_FRAME_TYPES } from './constants';
import type { SessionSelector } from './control-message';
import type { WebSocketGateway } from './gateway';
import { readIdempotencyKey } from './history-query';
import { type ApiAnswer, badRequest, parseApiBody } from './http-api-body';
import { DEFAULT_MAX_JSON_DEPTH } from './json-depth';
import { ProtocolError } from './protocol-error';

/** The cluster endpoints of the HTTP API (protocol.md v1.1, "Server API"). @internal */
export const SERVER_API_PATHS = [
  '/api/broadcast',
  '/api/subscribe',
  '/api/unsubscribe',
  '/api/disconnect',
  '/api/channels',
] as const;

/** The most channels one `POST /api/broadcast` may name. */
export const MAX_BROADCAST_CHANNELS = 1000;

/**
 * Answers `POST /api/broadcast`, `/api/subscribe`, `/api/unsubscribe`, `/api/disconnect` and
 * `/api/channels`: validates the body (400 naming every problem), then acts on every node
 * through the gateway's cluster. Rejects with `BackendUnavailableError` when the backend did not
 * accept a command (the caller answers 503). @internal
 */
export async function answerServerApi(
  gateway: WebSocketGateway,
  path: (typeof SERVER_API_PATHS)[number],
  text: string,
  maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Promise<ApiAnswer> {
  const parsed = parseApiBody(text, maxDepth);
  if (parsed.refusal !== undefined) return parsed.refusal;
  const b = parsed.body;
  try {
    switch (path) {
      case '/api/broadcast':
        return await broadcast(gateway, b);
      case '/api/subscribe':
      case '/api/unsubscribe': {
        const problems: string[] = [];
        const target = selector(b, problems, false);
        if (!isValidChannelName(b.channel))
          problems.push('"channel" must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / =');
        if (problems.length > 0) return badRequest(problems);
        if (path === '/api/subscribe') await gateway.cluster.subscribe(target, b.channel as string);
        else await gateway.cluster.unsubscribe(target, b.channel as string);
        return { status: 200, body: {} };
      }
      case '/api/disconnect': {
        const problems: string[] = [];
        const target = selector(b, problems, true);
        if (
          b.code !== undefined &&
          (!Number.isInteger(b.code) || (b.code as number) < 4000 || (b.code as number) > 4999)
        ) {
          problems.push('"code" must be an integer from 4000 to 4999');
        }
        if (b.reason !== undefined && (typeof b.reason !== 'string' || Buffer.byteLength(b.reason) > 123)) {
          problems.push('"reason" must be a string of at most 123 bytes');
        }
        if (problems.length > 0) return badRequest(problems);
        await gateway.cluster.disconnect(target, {
          ...(b.code === undefined ? {} : { code: b.code as number }),
          ...(b.reason === undefined ? {} : { reason: b.reason as string }),
        });
        return { status: 200, body: {} };
      }
      default: {
        const problems: string[] = [];
        if (b.pattern !== undefined && (typeof b.pattern !== 'string' || b.pattern.length > 200)) {
          problems.push('"pattern" must be a string of at most 200 characters');
        }
        if (b.tenant_id != null && !isValidTenantId(b.tenant_id))
          problems.push('"tenant_id" must be 1-200 characters of A-Z a-z 0-9 _ - . @ / =');
        if (problems.length > 0) return badRequest(problems);
        const r = await gateway.cluster.channels({
          ...(b.pattern === undefined ? {} : { pattern: b.pattern as string }),
          tenantId: (b.tenant_id as string | null | undefined) ?? null,
        });
        return { status: 200, body: r.missing.length === 0 ? { channels: r.channels } : r };
      }
    }
  } catch (error) {
    if (error instanceof ProtocolError && !(error instanceof BackendUnavailableError)) {
      return { status: 400, body: { error: { code: error.code, message: error.message } } };
    }
    throw error;
  }
}

/** `POST /api/broadcast`: one publication per channel; each channel's result, or its error. */
async function broadcast(gateway: WebSocketGateway, b: Record<string, unknown>): Promise<ApiAnswer> {
  const problems: string[] = [];
  const channels = b.channels;
  if (
    !Array.isArray(channels) ||
    channels.length === 0 ||
    channels.length > MAX_BROADCAST_CHANNELS ||
    !channels.every((c) => isValidChannelName(c))
  ) {
    problems.push(`"channels" must be a list of 1-${MAX_BROADCAST_CHANNELS} channel names`);
  }
  if (!isValidEventName(b.type) || SERVER_FRAME_TYPES.has(b.type)) {
    problems.push('"type" must be 1-100 characters of A-Z a-z 0-9 _ - . : @ / and not a server frame type');
  }
  if (b.tenant_id != null && !isValidTenantId(b.tenant_id))
    problems.push('"tenant_id" must be 1-200 characters of A-Z a-z 0-9 _ - . @ / =');
  let key: string | undefined;
  try {
    key = readIdempotencyKey(b.idempotency_key, '"idempotency_key"');
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) return badRequest(problems);
  const tenantId = (b.tenant_id as string | null | undefined) ?? null;
  const results = await Promise.all(
    (channels as string[]).map(async (channel) => {
      try {
        const r = await gateway.publish(channel, b.type as string, b.data ?? null, {
          tenantId,
          ...(key === undefined ? {} : { idempotencyKey: `${key}:${channel}` }),
        });
        return r.offset === undefined ? { channel } : { channel, offset: r.offset };
      } catch (error) {
        const code = error instanceof ProtocolError ? error.code : ErrorCode.InternalError;
        const message = error instanceof ProtocolError ? error.message : 'internal error';
        return { channel, error: { code, message } };
      }
    }),
  );
  return { status: 200, body: { results } };
}

function selector(b: Record<string, unknown>, problems: string[], tenantOnly: boolean): SessionSelector {
  const out: SessionSelector = {};
  if (b.user_id !== undefined) out.userId = b.user_id as string;
  if (b.session_id !== undefined) out.sessionId = b.session_id as string;
  if (b.tenant_id !== undefined) out.tenantId = b.tenant_id as string | null;
  problems.push(
    ...selectorProblems(out, tenantOnly).map((p) => p.replace(/\b(user_id|session_id|tenant_id)\b/g, '"$1"')),
  );
  return out;
}
