import { describe, expect, it } from 'vitest';
import {
  type Authenticator,
  ConfigError,
  createDevelopmentConfig,
  createProductionConfig,
  MemoryBackend,
  resolveConfig,
  WebSocketGateway,
} from '../src/index';

const authenticator: Authenticator = { authenticate: () => ({ userId: 'u' }) };

describe('options', () => {
  it('applies the documented defaults', () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({
      port: 8765,
      path: '/ws',
      requireToken: false,
      authInBand: true,
      authTimeoutMs: 5000,
      authExpiringLeadMs: 30000,
      clientPublish: false,
      tenantIsolation: true,
      tenantSubdomainBase: null,
      allowedOrigins: null,
      apiKey: null,
      maxMessageBytes: 65536,
      maxBufferedBytes: 1048576,
      slowConsumerPolicy: 'close',
      maxSubscriptionsPerSession: 128,
      maxConnections: 0,
      heartbeatMs: 25000,
      drainTimeoutMs: 10000,
      rateLimitCloseAfter: 50,
      serveHttp: true,
    });
    expect(c.backend).toBeInstanceOf(MemoryBackend);
    expect(c.nodeId).toMatch(/^node-[0-9a-f]{8}$/);
  });

  it('reports every problem in one error', () => {
    let error: unknown;
    try {
      new WebSocketGateway({
        port: 70000,
        path: 'ws',
        heartbeatMs: -1,
        clientPublish: 'yes' as unknown as boolean,
        slowConsumerPolicy: 'ignore' as 'close',
        requireToken: true,
        allowedOrigins: [''],
        nodeId: 'bad id!',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.code).toBe('invalid_config');
    expect(e.problems).toEqual([
      'port is 70000 when it must be an integer from 0 to 65535',
      'heartbeatMs is -1 when it must be an integer from 100 to 3600000',
      "clientPublish is 'yes' when it must be true or false",
      "path is 'ws' when it must start with '/', not end with '/', and hold only URL path characters",
      "nodeId is 'bad id!' when it must be 1-64 characters of A-Z a-z 0-9 _ - . :",
      "slowConsumerPolicy is 'ignore' when it must be 'close' or 'drop'",
      "allowedOrigins is an array when it must be an array of origins such as 'https://app.example.com' or null",
      'requireToken is true but no authenticator is set: nothing could verify a token',
    ]);
    expect(e.message).toContain('  - port is 70000');
  });

  it('refuses a backend that lacks methods and a server together with a port', () => {
    expect(() =>
      resolveConfig({ backend: { name: 'x' } as unknown as MemoryBackend, server: {} as never, port: 1 }),
    ).toThrowError(
      /backend lacks the Backend methods start, subscribe, unsubscribe, publish, health, stop[\s\S]*server must be a node:http Server[\s\S]*port and server are both set/,
    );
  });

  it('createDevelopmentConfig turns client publishing on and validates at once', () => {
    expect(createDevelopmentConfig({ port: 1234 })).toMatchObject({ clientPublish: true, port: 1234 });
    expect(() => createDevelopmentConfig({ port: -1 })).toThrowError(ConfigError);
  });

  it('createProductionConfig requires an authenticator', () => {
    expect(() => createProductionConfig({})).toThrowError(/requireToken is true but no authenticator/);
    expect(createProductionConfig({ authenticator })).toMatchObject({
      requireToken: true,
      clientPublish: false,
      tenantIsolation: true,
    });
  });
});
