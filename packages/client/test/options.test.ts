import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectionTarget, resolveClientOptions } from '../src/client-options';
import { CLIENT_DEFAULTS, ClientConfigError, createClient } from '../src/index';

describe('options', () => {
  it('applies the documented defaults', () => {
    const o = resolveClientOptions({ url: 'ws://127.0.0.1:1/ws', WebSocket });
    expect(o).toMatchObject({
      tokenTransport: 'auth-frame',
      protocols: [],
      reconnect: { minDelayMs: 500, maxDelayMs: 30_000, maxAttempts: Number.POSITIVE_INFINITY },
      requestTimeoutMs: 10_000,
      connectTimeoutMs: 10_000,
      heartbeatMs: undefined,
      maxQueuedFrames: 32,
      autoConnect: true,
    });
    expect(CLIENT_DEFAULTS.maxQueuedFrames).toBe(32);
  });

  it('reports every problem in one ClientConfigError', () => {
    let error: unknown;
    try {
      createClient({
        url: 'http://example.com/ws',
        token: '',
        tokenTransport: 'cookie' as never,
        tenant: 'a:b',
        reconnect: { minDelayMs: 5000, maxDelayMs: 100, maxAttempts: -1 },
        requestTimeoutMs: 0,
        connectTimeoutMs: 1.5,
        heartbeatMs: 5,
        maxQueuedFrames: -1,
        WebSocket,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClientConfigError);
    const e = error as ClientConfigError;
    expect(e.code).toBe('invalid_options');
    expect(e.problems).toEqual([
      'url must start with ws:// or wss://, got "http:"',
      'token must be a non-empty string',
      'tokenTransport must be one of auth-frame, query, subprotocol, got "cookie"',
      'tenant must be 1-200 characters of A-Z a-z 0-9 _ - . @ / =',
      'reconnect.minDelayMs (5000) must not exceed reconnect.maxDelayMs (100)',
      'reconnect.maxAttempts must be an integer from 0 to 9007199254740991, got -1',
      'requestTimeoutMs must be an integer from 1 to 2147483647, got 0',
      'connectTimeoutMs must be an integer from 1 to 2147483647, got 1.5',
      'heartbeatMs must be an integer from 10 to 1073741823, got 5',
      'maxQueuedFrames must be an integer from 0 to 1000000, got -1',
    ]);
    expect(e.message).toBe(`invalid client options: ${e.problems.join('; ')}`);
  });

  it('refuses a url that is not a URL', () => {
    expect(() => createClient({ url: 'not a url', WebSocket })).toThrow(
      'invalid client options: url "not a url" is not a valid URL',
    );
  });

  it.skipIf(typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function')(
    'asks for a WebSocket class where the runtime has none (Node 20)',
    () => {
      expect(() => createClient({ url: 'ws://127.0.0.1:1/ws' })).toThrow(
        'invalid client options: this runtime has no global WebSocket: pass one as the WebSocket option (e.g. the ws package)',
      );
    },
  );

  it('builds the tenant path and places the token by transport', () => {
    const base = { url: 'ws://h:1/ws/', WebSocket, tenant: 'acme/eu' };
    expect(connectionTarget(resolveClientOptions(base), 't0')).toEqual({
      url: 'ws://h:1/ws/tenant/acme%2Feu',
      protocols: ['dotmac.v1'],
    });
    expect(connectionTarget(resolveClientOptions({ ...base, tokenTransport: 'query' }), 'a b')).toEqual({
      url: 'ws://h:1/ws/tenant/acme%2Feu?token=a+b',
      protocols: ['dotmac.v1'],
    });
    expect(
      connectionTarget(
        resolveClientOptions({ ...base, tokenTransport: 'subprotocol', protocols: ['x', 'dotmac.v1'] }),
        'tok',
      ),
    ).toEqual({ url: 'ws://h:1/ws/tenant/acme%2Feu', protocols: ['dotmac.v1', 'x', 'bearer.tok'] });
  });
});
