import type { MessageHandler } from '@dotmac-ws/core';
import { askOrRefuse } from './channel-proxy';
import type { ProxyClient } from './proxy-client';

/**
 * The fallback handler of the proxy (`gateway.setFallbackHandler`): every frame type without a
 * handler of its own is an RPC whose `method` is the frame type; the result's `data` is the
 * ack's data (null when absent). @internal
 */
export function rpcHandler(client: ProxyClient): MessageHandler {
  return async function appBackendRpc(session, data, ctx) {
    const decision = await askOrRefuse(client, 'rpc', session, ctx.gateway.nodeId, {
      method: ctx.type,
      data: data ?? null,
    });
    return decision.result.data ?? null;
  };
}
