import { readFileSync } from 'node:fs';
import { ConfigError } from '@dotmac-ws/core';
import { describe, expect, it } from 'vitest';
import {
  CORE_ENV,
  createGatewayFromEnv,
  envSchema,
  PLUGINS,
  readEnvConfig,
  withConfigurationReference,
} from '../src/index';

describe('readEnvConfig', () => {
  it('applies every default with nothing set', () => {
    const cfg = readEnvConfig({});
    expect(cfg.values).toMatchObject({
      WS_PORT: 8765,
      WS_PATH: '/ws',
      BACKEND: 'memory',
      CLIENT_PUBLISH: true,
      TENANT_ISOLATION: true,
      MAX_MESSAGE_BYTES: 65536,
      MAX_BUFFERED_BYTES: 1048576,
      HEARTBEAT_MS: 25000,
      DRAIN_TIMEOUT_MS: 10000,
      LOG_LEVEL: 'info',
      METRICS_ENABLED: true,
    });
    expect(cfg.string('WS_HOST')).toBeUndefined();
    expect(cfg.list('ALLOWED_ORIGINS')).toBeUndefined();
  });

  it('parses booleans, integers and lists', () => {
    const cfg = readEnvConfig({
      CLIENT_PUBLISH: 'off',
      TENANT_ISOLATION: 'YES',
      WS_PORT: '0',
      ALLOWED_ORIGINS: 'https://a, https://b,',
    });
    expect(cfg.bool('CLIENT_PUBLISH')).toBe(false);
    expect(cfg.bool('TENANT_ISOLATION')).toBe(true);
    expect(cfg.int('WS_PORT')).toBe(0);
    expect(cfg.list('ALLOWED_ORIGINS')).toEqual(['https://a', 'https://b']);
  });

  it('reports every bad value in one error', () => {
    let error: unknown;
    try {
      readEnvConfig({
        WS_PORT: 'abc',
        HEARTBEAT_MS: '5',
        CLIENT_PUBLISH: 'maybe',
        BACKEND: 'kafka',
        WS_PATH: 'ws',
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toContain("WS_PORT is set as 'abc' when it must be an integer from 0 to 65535");
    expect(problems).toContain("HEARTBEAT_MS is set as '5' when it must be an integer from 100 to 3600000");
    expect(problems).toContain("CLIENT_PUBLISH is set as 'maybe' when it must be true or false");
    expect(problems).toContain("WS_PATH is set as 'ws' when it must be a path starting with '/'");
    expect(problems).toContain(
      "LOG_LEVEL is set as 'loud' when it must be one of debug, info, warn, error, silent",
    );
    expect(problems.find((p) => p.startsWith('BACKEND'))).toMatch(
      /^BACKEND is set as 'kafka' when it must be one of memory/,
    );
    expect((error as ConfigError).message).toMatch(/^Invalid environment:\n {2}- /);
  });

  it('declares each variable once, across the gateway and its plugins', () => {
    const names = envSchema(PLUGINS).map((v) => v.name);
    expect(names.length).toBe(new Set(names).size);
    expect(names).toEqual(expect.arrayContaining(CORE_ENV.map((v) => v.name)));
  });
});

describe('createGatewayFromEnv', () => {
  it('builds the development gateway with what the environment says', () => {
    const { gateway } = createGatewayFromEnv({
      WS_PORT: '9999',
      API_KEY: 'k',
      MAX_SUBSCRIPTIONS_PER_SESSION: '7',
      LOG_LEVEL: 'silent',
    });
    expect(gateway.config).toMatchObject({
      port: 9999,
      apiKey: 'k',
      clientPublish: true,
      maxSubscriptionsPerSession: 7,
    });
    expect(gateway.config.backend.name).toBe('memory');
  });
});

describe('problems of plugins and of the backend', () => {
  it('are reported together in one error', () => {
    let error: unknown;
    try {
      createGatewayFromEnv({
        BACKEND: 'nats',
        NATS_URL: 'redis://127.0.0.1:6379',
        JWT_SECRET_KEY: 'short',
        LOG_LEVEL: 'silent',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.some((p) => p.startsWith('NATS_URL'))).toBe(true);
    expect(problems.some((p) => p.startsWith('JWT_SECRET_KEY'))).toBe(true);
  });
});

describe('docs/configuration.md', () => {
  it('holds the reference generated from the current schema (pnpm --filter @dotmac-ws/gateway gen:docs)', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toBe(withConfigurationReference(doc));
    for (const v of envSchema(PLUGINS)) expect(doc).toContain(`\`${v.name}\``);
  });
});
