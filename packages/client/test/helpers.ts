import {
  AuthError,
  type Authenticator,
  type GatewayOptions,
  silentLogger,
  WebSocketGateway,
} from '@dotmac-ws/core';
import { onCleanup } from '@dotmac-ws/test-utils';
import WebSocket from 'ws';
import { type ClientEventMap, type ClientOptions, createClient, type DotmacClient } from '../src/index';

/**
 * Accepts `user:<name>` and `user:<name>:<expiresAtMs>` (or with `.` for `:`, which a
 * `bearer.<token>` subprotocol needs: `:` is not allowed in a subprotocol); refuses anything
 * else with AuthError.
 */
export const testAuthenticator: Authenticator = {
  authenticate(token) {
    const match = /^user[:.]([a-z0-9]+)(?:[:.](\d+))?$/.exec(token);
    if (match === null) throw new AuthError('bad_signature', 'not a test token');
    return { userId: match[1]!, expiresAt: match[2] === undefined ? null : Number(match[2]) };
  },
};

/** A test token of `user` that expires `ttlMs` from now (never without it). */
export function tokenFor(user: string, ttlMs?: number): string {
  return ttlMs === undefined ? `user:${user}` : `user:${user}:${Date.now() + ttlMs}`;
}

/** A started core gateway on 127.0.0.1 (port 0 unless given), stopped after the test. */
export async function startGateway(options: GatewayOptions = {}) {
  const gw = await new WebSocketGateway({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    clientPublish: true,
    ...options,
  }).start();
  onCleanup(() => gw.stop());
  const port = gw.address()!.port;
  return { gw, port, url: `ws://127.0.0.1:${port}/ws` };
}

/** A client using `ws` (Node 20 has no global WebSocket), closed after the test. */
export function testClient(options: Partial<ClientOptions> & { url: string }): DotmacClient {
  const client = createClient({ WebSocket, reconnect: { minDelayMs: 20, maxDelayMs: 200 }, ...options });
  onCleanup(() => client.close());
  return client;
}

/** One recorded client event. */
export type Recorded = {
  [K in keyof ClientEventMap]: { type: K; event: ClientEventMap[K]; at: number };
}[keyof ClientEventMap];

/** Records every event of `client` in order, with the time it happened. */
export function recordEvents(client: DotmacClient): Recorded[] {
  const log: Recorded[] = [];
  const types: (keyof ClientEventMap)[] = [
    'connecting',
    'connected',
    'disconnected',
    'reconnecting',
    'closed',
    'auth_expiring',
    'token_refreshed',
    'subscription_error',
    'error',
  ];
  for (const type of types) {
    client.onEvent(type, (event) => log.push({ type, event, at: Date.now() } as Recorded));
  }
  return log;
}

/** Resolves with the next event of `type` (after now), or rejects after `ms`. */
export function nextEvent<K extends keyof ClientEventMap>(
  client: DotmacClient,
  type: K,
  ms = 5000,
): Promise<ClientEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${String(type)}" event within ${ms} ms (state ${client.state})`));
    }, ms);
    const off = client.onEvent(type, (event) => {
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

/** The one session of a gateway (the tests connect one client at a time unless they say so). */
export function onlySession(gw: WebSocketGateway) {
  const sessions = [...gw.sessions()];
  if (sessions.length !== 1) throw new Error(`expected one session, found ${sessions.length}`);
  return sessions[0]!;
}
