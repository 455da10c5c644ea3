import {
  type ChannelRef,
  ErrorCode,
  internalChannelName,
  isValidChannelName,
  isValidEventName,
  type MessageContext,
  type MessageMiddleware,
  ProtocolError,
  SERVER_FRAME_TYPES,
  type WebSocketSession,
} from '@dotmac-ws/core';
import { TENANT_CHANNEL_PREFIX } from '@dotmac-ws/protocol';
import { ChannelPatterns } from './channel-patterns';
import type { ProxyDecision } from './proxy-answer';
import type { ProxyClient } from './proxy-client';
import { PROXY_UNAVAILABLE, ProxyFailure } from './proxy-failure';
import type { ResolvedProxyOptions } from './proxy-options';
import { sessionFields } from './proxy-request';

/**
 * The message middleware of the proxy: asks the subscribe and publish endpoints about client
 * `subscribe` and `publish` frames on the channels their patterns name. Only frames the gateway
 * would perform otherwise are asked about: a frame the gateway refuses anyway (invalid channel,
 * already subscribed, over the subscription limit, forbidden by the channel policy,
 * unauthenticated) goes on unasked and is refused as before. A result lets the frame go on (a
 * publish result's `data` replaces the payload); an `error` refuses it; a `disconnect` closes
 * the session; a failure refuses it with `proxy_unavailable` and `retry_after_ms`. @internal
 */
export function channelMiddleware(client: ProxyClient, o: ResolvedProxyOptions): MessageMiddleware {
  const subscribe = client.has('subscribe') ? new ChannelPatterns(o.subscribeChannels) : null;
  const publish = client.has('publish') ? new ChannelPatterns(o.publishChannels) : null;
  return async function appBackendChannels(ctx, next) {
    if (ctx.malformed !== null) return next();
    if (ctx.type === 'subscribe' && subscribe !== null) {
      const ref = await subscribeToAsk(ctx, subscribe);
      if (ref !== null) {
        const decision = await ask(client, 'subscribe', ctx, {
          channel: ref.name,
          data: ctx.frame.data ?? null,
        });
        if (decision === null) return;
      }
    } else if (ctx.type === 'publish' && publish !== null) {
      const ref = await publishToAsk(ctx, publish);
      if (ref !== null) {
        const decision = await ask(client, 'publish', ctx, {
          channel: ref.name,
          event: ctx.frame.event ?? 'message',
          data: ctx.frame.data ?? null,
        });
        if (decision === null) return;
        if (Object.hasOwn(decision.result, 'data')) ctx.frame.data = decision.result.data;
      }
    }
    return next();
  };
}

/**
 * Asks the application about a frame; returns the result, null when the session closed
 * meanwhile, and throws the refusal the client gets otherwise.
 */
async function ask(
  client: ProxyClient,
  route: 'subscribe' | 'publish',
  ctx: MessageContext,
  fields: Record<string, unknown>,
): Promise<(ProxyDecision & { kind: 'result' }) | null> {
  const decision = await askOrRefuse(client, route, ctx.session, ctx.gateway.nodeId, fields);
  return ctx.session.isOpen ? decision : null;
}

/**
 * Asks the application about one request of a live session. A result is returned; an `error`
 * or a failure is thrown as the `ProtocolError` the client gets; a `disconnect` closes the
 * session first. @internal
 */
export async function askOrRefuse(
  client: ProxyClient,
  route: 'subscribe' | 'publish' | 'rpc',
  session: WebSocketSession,
  nodeId: string,
  fields: Record<string, unknown>,
): Promise<ProxyDecision & { kind: 'result' }> {
  let decision: ProxyDecision;
  try {
    decision = await client.ask(route, { ...sessionFields(session, nodeId), ...fields });
  } catch (error) {
    if (!(error instanceof ProxyFailure)) throw error;
    throw new ProtocolError(PROXY_UNAVAILABLE, 'the application backend did not answer: try again later', {
      retryAfterMs: error.retryAfterMs,
    });
  }
  if (decision.kind === 'error') {
    throw new ProtocolError(decision.code, decision.message, { retryAfterMs: decision.retryAfterMs });
  }
  if (decision.kind === 'disconnect') {
    session.close(decision.code, decision.reason);
    throw new ProtocolError(ErrorCode.Forbidden, 'the session was closed by the application');
  }
  return decision;
}

/** The channel of a `subscribe` the gateway would perform and the patterns name, else null. */
async function subscribeToAsk(ctx: MessageContext, patterns: ChannelPatterns): Promise<ChannelRef | null> {
  const d = ctx.frame.data;
  const inData = d !== null && typeof d === 'object' ? (d as Record<string, unknown>).channel : undefined;
  const name = inData ?? ctx.frame.channel;
  if (!isValidChannelName(name) || !patterns.matches(name)) return null;
  const session = ctx.session;
  const config = ctx.gateway.config;
  if (session.channels.includes(name) || session.channels.length >= config.maxSubscriptionsPerSession) {
    return null;
  }
  const ref = channelRef(ctx, name);
  if (ref === null || !(await config.channelPolicy.canSubscribe(session, ref))) return null;
  return ref;
}

/** The channel of a `publish` the gateway would perform and the patterns name, else null. */
async function publishToAsk(ctx: MessageContext, patterns: ChannelPatterns): Promise<ChannelRef | null> {
  const name = ctx.frame.channel;
  const event = ctx.frame.event ?? 'message';
  if (!isValidChannelName(name) || !patterns.matches(name)) return null;
  if (!isValidEventName(event) || SERVER_FRAME_TYPES.has(event)) return null;
  const ref = channelRef(ctx, name);
  const config = ctx.gateway.config;
  if (ref === null) return null;
  if (!config.clientPublish && !(await config.channelPolicy.canPublish(ctx.session, ref))) return null;
  return ref;
}

/** The channel as the policy sees it; null where the gateway refuses the name for this session. */
function channelRef(ctx: MessageContext, name: string): ChannelRef | null {
  const config = ctx.gateway.config;
  const session = ctx.session;
  if (config.requireToken && !session.isAuthenticated) return null;
  const tenantId = session.tenantId;
  if (config.tenantIsolation && tenantId === null && name.startsWith(TENANT_CHANNEL_PREFIX)) return null;
  return { name, internal: internalChannelName(name, tenantId, config.tenantIsolation), tenantId };
}
