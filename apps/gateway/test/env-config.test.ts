import { readFileSync } from 'node:fs';
import net from 'node:net';
import { ConfigError } from '@dotmac-ws/core';
import { onCleanup, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import {
  CORE_ENV,
  createGatewayFromEnv,
  envSchema,
  PLUGINS,
  readEnvConfig,
  withConfigurationReference,
} from '../src/index';
import { problemsOf, startApp } from './helpers';

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
      MAX_JSON_DEPTH: 32,
      MAX_BUFFERED_BYTES: 1048576,
      HEARTBEAT_MS: 25000,
      DRAIN_TIMEOUT_MS: 10000,
      LOG_LEVEL: 'info',
      METRICS_ENABLED: true,
    });
    expect(cfg.profile).toBe('development');
    expect(cfg.string('WS_HOST')).toBe('127.0.0.1');
    expect(cfg.list('ALLOWED_ORIGINS')).toBeUndefined();
  });

  it('takes the production defaults with NODE_ENV=production or GATEWAY_PROFILE=production', () => {
    const production = {
      GATEWAY_PROFILE: 'production',
      CLIENT_PUBLISH: false,
      DEMO_ENABLED: false,
      REQUIRE_TOKEN: true,
      RATE_LIMIT_ENABLED: true,
      WS_HOST: undefined,
    };
    const development = {
      GATEWAY_PROFILE: 'development',
      CLIENT_PUBLISH: true,
      DEMO_ENABLED: true,
      REQUIRE_TOKEN: false,
      RATE_LIMIT_ENABLED: false,
      WS_HOST: '127.0.0.1',
    };
    const byNodeEnv = readEnvConfig({ NODE_ENV: 'production' });
    expect([byNodeEnv.profile, byNodeEnv.profileSource]).toEqual(['production', 'NODE_ENV=production']);
    expect(byNodeEnv.values).toMatchObject(production);
    expect(byNodeEnv.string('WS_HOST')).toBeUndefined();
    const named = readEnvConfig({ GATEWAY_PROFILE: 'production' });
    expect([named.profile, named.profileSource]).toEqual(['production', 'GATEWAY_PROFILE=production']);
    expect(named.values).toMatchObject(production);
    // GATEWAY_PROFILE wins over NODE_ENV, and what is set wins over the profile.
    const dev = readEnvConfig({ NODE_ENV: 'production', GATEWAY_PROFILE: 'development' });
    expect(dev.profile).toBe('development');
    expect(dev.values).toMatchObject(development);
    const mixed = readEnvConfig({
      GATEWAY_PROFILE: 'production',
      CLIENT_PUBLISH: 'true',
      WS_HOST: '10.0.0.1',
    });
    expect(mixed.values).toMatchObject({ CLIENT_PUBLISH: true, WS_HOST: '10.0.0.1', DEMO_ENABLED: false });
    expect([mixed.isSet('CLIENT_PUBLISH'), mixed.isSet('DEMO_ENABLED')]).toEqual([true, false]);
    expect(() => readEnvConfig({ GATEWAY_PROFILE: 'staging' })).toThrow(
      "GATEWAY_PROFILE is set as 'staging' when it must be one of development, production",
    );
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

  it('refuses a schema where two owners declare one variable', () => {
    const redisUrl = envSchema(PLUGINS).find((v) => v.name === 'REDIS_URL')!;
    const metrics = envSchema(PLUGINS).find((v) => v.name === 'METRICS_ENABLED')!;
    expect(() => envSchema([...PLUGINS, { env: [redisUrl] }])).toThrow(
      'REDIS_URL is declared twice: give it one owner',
    );
    expect(() => envSchema([...PLUGINS, { env: [metrics] }])).toThrow(
      'METRICS_ENABLED is declared twice: give it one owner',
    );
    // Each variable has one owner: the ratelimit plugin reads REDIS_URL but the Redis backend owns it.
    const owner = (name: string) => PLUGINS.find((p) => p.env.some((v) => v.name === name))?.name;
    expect(owner('REDIS_URL')).toBe('backend-redis');
    expect(owner('METRICS_ENABLED')).toBe('observability');
    expect(CORE_ENV.some((v) => v.name === 'METRICS_ENABLED')).toBe(false);
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

describe('the production profile', () => {
  const REFUSAL =
    'GATEWAY_PROFILE is production (NODE_ENV=production) but no authentication is set: set JWT_SECRET_KEY, JWT_PUBLIC_KEY, JWT_PUBLIC_KEY_FILE or JWKS_URL, or AUTH_DISABLED=true to accept anonymous sessions on purpose (or GATEWAY_PROFILE=development to try it out)';

  it('refuses to build without authentication, in one problem that names the variables', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([REFUSAL]);
    expect(problemsOf({ GATEWAY_PROFILE: 'production' })).toEqual([
      REFUSAL.replace('(NODE_ENV=production)', '(GATEWAY_PROFILE=production)'),
    ]);
  });

  it('refuses an API_KEY under 16 characters, together with the other problems; development takes it', async () => {
    const SHORT =
      'API_KEY is 6 characters when the production profile needs at least 16 (it is the admin key of the whole server API): make one with `openssl rand -hex 24`';
    expect(problemsOf({ NODE_ENV: 'production', API_KEY: 'secret' })).toEqual([REFUSAL, SHORT]);
    expect(problemsOf({ NODE_ENV: 'production', AUTH_DISABLED: 'true', API_KEY: 'secret' })).toEqual([SHORT]);
    const app = await startApp({ NODE_ENV: 'production', AUTH_DISABLED: 'true', API_KEY: 'k'.repeat(16) });
    expect(app.gateway.config.apiKeys).toHaveLength(1);
    expect((await startApp({ API_KEY: 'secret' })).gateway.config.apiKeys).toHaveLength(1);
  });

  it('builds with a JWT key: tokens required, no client publish, no demo', async () => {
    const app = await startApp({ NODE_ENV: 'production', JWT_SECRET_KEY: 'x'.repeat(32) });
    expect(app.gateway.config).toMatchObject({ requireToken: true, clientPublish: false });
    expect(app.gateway.config.authenticator).toBeDefined();
    expect((await fetch(`${app.base}/demo`)).status).toBe(404);
  });

  it('builds with AUTH_DISABLED=true: anonymous sessions on purpose, no client publish, rate limits on', async () => {
    const app = await startApp({ NODE_ENV: 'production', AUTH_DISABLED: 'true' });
    expect(app.gateway.config).toMatchObject({ requireToken: false, clientPublish: false });
    expect(app.gateway.config.authenticator).toBeUndefined();
    expect((await fetch(`${app.base}/demo`)).status).toBe(404);
    const c = await TestClient.open(app.url);
    await c.welcome();
    expect(await c.request({ type: 'publish', id: 'p', channel: 'news', data: 1 })).toMatchObject({
      type: 'error',
      id: 'p',
      data: { code: 'forbidden' },
    });
    // BURST_SIZE (20) frames at once pass (the publish above took one), the rest are refused:
    // the memory limiter runs.
    for (let i = 0; i < 40; i++) c.send({ type: 'ping', id: i });
    await c.waitFor((f) => f.id === 39, 3000, 'the answer to the last ping');
    const answers = c.frames.filter((f) => typeof f.id === 'number');
    const limited = answers.filter((f) => (f.data as { code?: string } | null)?.code === 'rate_limited');
    expect(answers).toHaveLength(40);
    expect(limited.length).toBeGreaterThanOrEqual(17);
    expect(limited.length).toBeLessThanOrEqual(22);
  });

  it('refuses AUTH_DISABLED=true beside a JWT key', () => {
    expect(problemsOf({ AUTH_DISABLED: 'true', JWT_SECRET_KEY: 'x'.repeat(32) })).toEqual([
      'AUTH_DISABLED is true but JWT_SECRET_KEY is set too: remove one of them',
    ]);
  });

  it('the development profile needs no authentication and keeps its friendly defaults', async () => {
    const app = await startApp({});
    expect(app.gateway.config).toMatchObject({ requireToken: false, clientPublish: true });
    expect((await fetch(`${app.base}/demo`)).status).toBe(200);
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

describe('inbound limits from the environment', () => {
  it('MAX_JSON_DEPTH and MAX_PENDING_BYTES reach the gateway, and a deeper frame gets bad_request', async () => {
    const { gateway, url } = await startApp({ MAX_JSON_DEPTH: '4', MAX_PENDING_BYTES: '100000' });
    expect(gateway.config.maxJsonDepth).toBe(4);
    expect(gateway.config.maxPendingBytes).toBe(100000);
    const c = await TestClient.open(url);
    await c.welcome();
    // The frame object is level 1, so data [[[1]]] is 4 levels deep and [[[[1]]]] is 5.
    expect(await c.request({ type: 'echo', id: 1, data: [[[1]]] })).toEqual({
      type: 'ack',
      id: 1,
      data: [[[1]]],
    });
    expect(await c.request({ type: 'echo', id: 2, data: [[[[1]]]] })).toEqual({
      type: 'error',
      id: 2,
      data: { code: 'bad_request', message: 'the frame nests deeper than 4 levels' },
    });
  });

  it('HANDSHAKE_TIMEOUT_MS reaches the gateway: a connection that sends nothing is closed after it', async () => {
    const { gateway, port } = await startApp({ HANDSHAKE_TIMEOUT_MS: '300' });
    expect(gateway.config.handshakeTimeoutMs).toBe(300);
    const started = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    // Read what comes (a 408): a socket that is not read never sees the server's close.
    socket.resume();
    onCleanup(() => socket.destroy());
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses out-of-range values in env terms', () => {
    expect(problemsOf({ MAX_JSON_DEPTH: '1', MAX_PENDING_BYTES: '10' })).toEqual([
      "MAX_JSON_DEPTH is set as '1' when it must be an integer from 2 to 1000",
      "MAX_PENDING_BYTES is set as '10' when it must be an integer from 64 to 4294967296",
    ]);
  });
});
