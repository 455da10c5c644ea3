import { readFileSync } from 'node:fs';
import { ConfigError, type GatewayHealth, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { describe, expect, it } from 'vitest';
import {
  ChannelPatterns,
  createAppBackend,
  httpStatusOf,
  parseProxyAnswer,
  signRequest,
  VERSION,
  verifyRequest,
} from '../src';
import { CircuitBreaker } from '../src/circuit-breaker';
import { ConcurrencyLimiter } from '../src/concurrency-limiter';

describe('signatures', () => {
  const secret = 's'.repeat(20);
  const body = '{"route":"connect"}';

  it('signs timestamp.body with HMAC-SHA256', () => {
    // The same as Python's hmac.new(secret, b"1700000000." + body, hashlib.sha256).hexdigest()
    // Computed with Python: hmac.new(b"s" * 20, b"1700000000." + body, hashlib.sha256).hexdigest()
    const expected = 'sha256=45bc0347f89d08e0ba83c0cffeef31e78b32ed2372b12a0a98cf167a5000d8fe';
    expect(signRequest(secret, 1_700_000_000, body)).toBe(expected);
    expect(signRequest(secret, '1700000000', Buffer.from(body))).toBe(expected);
    expect(signRequest(secret, 1, body)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('verifies a fresh, untouched request and refuses the others', () => {
    const now = 1_700_000_000_000;
    const ts = String(now / 1000);
    const signature = signRequest(secret, ts, body);
    const ok = { secret, timestamp: ts, signature, body, now };
    expect(verifyRequest(ok)).toBe(true);
    expect(verifyRequest({ ...ok, body: `${body} ` })).toBe(false);
    expect(verifyRequest({ ...ok, secret: `${secret}x` })).toBe(false);
    expect(verifyRequest({ ...ok, timestamp: String(now / 1000 + 1) })).toBe(false);
    expect(verifyRequest({ ...ok, now: now + 301_000 })).toBe(false);
    expect(verifyRequest({ ...ok, now: now + 299_000 })).toBe(true);
    expect(verifyRequest({ ...ok, signature: undefined })).toBe(false);
    expect(verifyRequest({ ...ok, timestamp: ['1', '2'] })).toBe(false);
    expect(verifyRequest({ ...ok, timestamp: '1e9' })).toBe(false);
  });
});

describe('parseProxyAnswer', () => {
  it.each([
    ['{"result":{"user":"u"}}', { kind: 'result', result: { user: 'u' } }],
    ['{"error":{"code":"nope"}}', { kind: 'error', code: 'nope', message: 'nope', retryAfterMs: undefined }],
    [
      '{"error":{"code":1001,"message":"m","retry_after_ms":5}}',
      { kind: 'error', code: '1001', message: 'm', retryAfterMs: 5 },
    ],
    ['{"disconnect":{"code":4500}}', { kind: 'disconnect', code: 4500, reason: '' }],
    ['{"result":{},"__proto__":{"x":1}}', { kind: 'result', result: {} }],
  ])('reads %s', (text, decision) => {
    expect(parseProxyAnswer(text)).toEqual(decision);
  });

  it.each([
    ['x', 'the answer is not JSON'],
    ['[]', 'the answer is not a JSON object'],
    ['{}', 'the answer must hold exactly one of result, error, disconnect'],
    ['{"result":1}', 'result must be an object'],
    ['{"error":{"code":"has space"}}', 'error.code must be 1-64 characters of A-Z a-z 0-9 _ . : -'],
    ['{"error":{"code":"x","retry_after_ms":-1}}', 'error.retry_after_ms must be an integer >= 0'],
    ['{"disconnect":{"code":1000}}', 'disconnect.code must be an integer from 4000 to 4999'],
  ])('refuses %s', (text, problem) => {
    expect(parseProxyAnswer(text)).toBe(problem);
  });

  it('cuts a disconnect reason to 123 bytes', () => {
    const d = parseProxyAnswer(JSON.stringify({ disconnect: { code: 4000, reason: 'é'.repeat(100) } }));
    expect(d).toEqual({ kind: 'disconnect', code: 4000, reason: 'é'.repeat(61) });
  });

  it('maps close codes to the HTTP statuses they echo', () => {
    expect([4401, 4403, 4429, 4503, 4000, 4999].map(httpStatusOf)).toEqual([401, 403, 429, 503, 403, 403]);
  });
});

describe('CircuitBreaker', () => {
  it('opens after the threshold, admits one trial after the cooldown, closes on its success', () => {
    const b = new CircuitBreaker(2, 1000);
    b.failed(0);
    expect(b.state(0)).toBe('closed');
    b.failed(10);
    expect(b.state(10)).toBe('open');
    expect(b.admit(500)).toEqual({ admitted: false, retryAfterMs: 510 });
    expect(b.admit(1010)).toEqual({ admitted: true });
    expect(b.admit(1011)).toEqual({ admitted: false, retryAfterMs: 1000 });
    b.failed(1020);
    expect(b.state(1500)).toBe('open');
    expect(b.admit(2020)).toEqual({ admitted: true });
    b.succeeded();
    expect(b.state(2021)).toBe('closed');
    expect(b.opened).toBe(2);
  });

  it('lets another trial go when the admitted one was abandoned', () => {
    const b = new CircuitBreaker(1, 100);
    b.failed(0);
    expect(b.admit(100)).toEqual({ admitted: true });
    b.abandoned();
    expect(b.admit(101)).toEqual({ admitted: true });
  });
});

describe('ConcurrencyLimiter', () => {
  it('holds at most maxActive, queues maxQueued, refuses the rest, and times waiters out', async () => {
    const l = new ConcurrencyLimiter(1, 1);
    const first = await l.acquire(1000);
    const waiting = l.acquire(1000);
    expect(await l.acquire(1000)).toBe('queue_full');
    expect([l.active, l.queued]).toEqual([1, 1]);
    if (typeof first === 'function') first();
    const second = await waiting;
    expect(typeof second).toBe('function');
    expect([l.active, l.queued]).toEqual([1, 0]);
    expect(await l.acquire(20)).toBe('queue_timeout');
    if (typeof second === 'function') {
      second();
      second();
    }
    expect([l.active, l.queued]).toEqual([0, 0]);
  });
});

describe('ChannelPatterns', () => {
  it('matches * as any run of characters, and the rest literally', () => {
    const p = new ChannelPatterns(['chat:*', 'a.b', '*:end']);
    expect(['chat:', 'chat:x:y', 'a.b', 'x:end'].map((n) => p.matches(n))).toEqual([true, true, true, true]);
    expect(['chat', 'axb', 'end', 'x:endx'].map((n) => p.matches(n))).toEqual([false, false, false, false]);
    expect(new ChannelPatterns([]).matches('x')).toBe(false);
    expect(new ChannelPatterns(['*']).matches('anything')).toBe(true);
  });
});

describe('createAppBackend options', () => {
  it('names every problem at once', () => {
    let error: unknown;
    try {
      createAppBackend({
        proxy: {
          connectUrl: 'ftp://x',
          secret: 'short',
          timeoutMs: 0,
          forwardHeaders: ['bad header', 'cookie:sid'],
          subscribeChannels: ['ok:*', 'no spaces'],
        },
        webhooks: {
          targets: [{ url: 'http://app/hooks', events: ['channel.occupied', 'nope' as 'channel.vacated'] }],
          secret: 'x'.repeat(16),
          batchSize: 0,
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "proxy.connectUrl is 'ftp://x' when it must be an http:// or https:// URL",
      'proxy.secret must be a string of at least 16 characters',
      'proxy.timeoutMs is 0 when it must be an integer from 1 to 600000',
      'proxy.subscribeChannels[1] is "no spaces" when it must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / = and *',
      "proxy.forwardHeaders[0] is 'bad header' when it must be a header name or cookie:<name>",
      'webhooks.batchSize is 0 when it must be an integer from 1 to 10000',
      'webhooks.targets[0].events is an array when it must list some of session.connected, session.disconnected, channel.occupied, channel.vacated, presence.member_added, presence.member_removed, client.event (unknown: nope)',
    ]);
    expect(() => createAppBackend({})).toThrow('set proxy, webhooks or both');
  });

  it('refuses to attach a refresh proxy to a gateway built without its refreshIdentity', () => {
    const ab = createAppBackend({ proxy: { refreshUrl: 'http://app/refresh', secret: 'x'.repeat(16) } });
    const gateway = new WebSocketGateway({ port: 0, logger: silentLogger });
    expect(() => ab.attach(gateway)).toThrow(
      'the refresh proxy needs the gateway built with { refreshIdentity: appBackend.refreshIdentity }',
    );
  });
});

describe('gateway composition', () => {
  it('attach adds the app_backend health component and its metrics to /metrics', async () => {
    const ab = createAppBackend({
      webhooks: { targets: [{ url: 'http://127.0.0.1:9/hooks' }], secret: 'x'.repeat(16) },
    });
    const gateway = new WebSocketGateway({ port: 0, logger: silentLogger });
    ab.attach(gateway);
    const health: GatewayHealth = await gateway.healthCheck();
    expect(Object.keys(health.components)).toEqual(['server', 'sessions', 'scaling_backend', 'app_backend']);
    expect(health.components.app_backend?.status).toBe('healthy');
    expect(await gateway.getPrometheusMetrics()).toContain('dotmac_ws_webhook_');
    await ab.stop();
  });
});

describe('VERSION', () => {
  it('is the package.json version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(VERSION).toBe(pkg.version);
  });
});
