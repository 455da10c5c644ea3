import type { NodeConnectionOptions } from '@nats-io/transport-node';
import type { ResolvedNatsBackendOptions } from './nats-backend-options';

/**
 * The `@nats-io/transport-node` connection options of resolved backend (or store) options: the
 * servers, credentials and timeouts, reconnecting forever (auth refusals included: a server may
 * be mid-way through a reload). Shared by the backend and the JetStream stores.
 * @internal
 */
export function natsConnectOptions(
  o: ResolvedNatsBackendOptions,
  extra: Partial<NodeConnectionOptions> = {},
): NodeConnectionOptions {
  const options: NodeConnectionOptions = {
    ...o.natsOptions,
    servers: o.servers,
    name: o.name,
    timeout: o.connectTimeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    ignoreAuthErrorAbort: true,
    reconnectTimeWait: o.reconnectTimeWaitMs,
    reconnectJitter: o.reconnectJitterMs,
    ...extra,
  };
  if (o.user !== undefined) {
    options.user = o.user;
    options.pass = o.password;
  }
  if (o.token !== undefined) options.token = o.token;
  if (o.tls && options.tls === undefined) options.tls = {};
  return options;
}
