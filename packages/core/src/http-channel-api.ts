import { isValidChannelName, isValidTenantId } from './channel-name';
import { ErrorCode } from './constants';
import type { WebSocketGateway } from './gateway';
import { readFlag, readLimit, readSince } from './history-query';
import { type ApiAnswer, badRequest, parseApiBody } from './http-api-body';
import { DEFAULT_MAX_JSON_DEPTH } from './json-depth';
import { ProtocolError } from './protocol-error';

/** The channel endpoints of the HTTP API (protocol.md v1.1, "Server API"). @internal */
export const CHANNEL_API_PATHS = [
  '/api/history',
  '/api/history_remove',
  '/api/presence',
  '/api/presence_stats',
] as const;

/**
 * Answers `POST /api/history`, `/api/history_remove`, `/api/presence` and `/api/presence_stats`
 * (body `{channel, tenant_id?, …}`). A bad body is 400 `bad_request` naming every problem; a
 * channel without history or presence 400 `not_available`. Rejects with what the gateway
 * rejected with otherwise (the caller maps `BackendUnavailableError` to 503). @internal
 */
export async function answerChannelApi(
  gateway: WebSocketGateway,
  path: (typeof CHANNEL_API_PATHS)[number],
  text: string,
  maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Promise<ApiAnswer> {
  const parsed = parseApiBody(text, maxDepth);
  if (parsed.refusal !== undefined) return parsed.refusal;
  const b = parsed.body;
  const problems: string[] = [];
  if (!isValidChannelName(b.channel))
    problems.push('"channel" must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / =');
  if (b.tenant_id !== undefined && b.tenant_id !== null && !isValidTenantId(b.tenant_id)) {
    problems.push('"tenant_id" must be 1-200 characters of A-Z a-z 0-9 _ - . @ / =');
  }
  let query: { limit?: number; since?: { offset: number; epoch: string }; reverse?: boolean } = {};
  if (path === '/api/history') {
    for (const read of [
      () => {
        if (b.limit !== undefined) query.limit = readLimit(b.limit, '"limit"', 1000, 0);
      },
      () => {
        const since = readSince(b.since, '"since"');
        if (since !== null) query.since = since;
      },
      () => {
        query.reverse = readFlag(b.reverse, '"reverse"');
      },
    ]) {
      try {
        read();
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
  } else {
    query = {};
  }
  if (problems.length > 0) return badRequest(problems);
  const channel = b.channel as string;
  const options = { tenantId: (b.tenant_id as string | null | undefined) ?? null };
  try {
    switch (path) {
      case '/api/history':
        return { status: 200, body: await gateway.history(channel, { ...options, ...query }) };
      case '/api/history_remove':
        await gateway.removeHistory(channel, options);
        return { status: 200, body: {} };
      case '/api/presence':
        return { status: 200, body: { clients: await gateway.presence(channel, options) } };
      default: {
        const stats = await gateway.presenceStats(channel, options);
        return { status: 200, body: stats };
      }
    }
  } catch (error) {
    if (error instanceof ProtocolError && error.code !== ErrorCode.BackendUnavailable) {
      return { status: 400, body: { error: { code: error.code, message: error.message } } };
    }
    throw error;
  }
}
