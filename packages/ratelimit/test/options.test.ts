import { ConfigError } from '@dotmac-ws/core';
import { describe, expect, it } from 'vitest';
import {
  createRateLimiter,
  RATE_LIMIT_DEFAULTS,
  type RateLimitOptions,
  resolveRateLimitOptions,
} from '../src';

function problemsOf(options: unknown): readonly string[] {
  try {
    createRateLimiter(options as RateLimitOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('invalid_config');
    return (error as ConfigError).problems;
  }
  throw new Error('the options were accepted');
}

describe('options', () => {
  it('applies the defaults', () => {
    const o = resolveRateLimitOptions();
    expect(o.connections).toEqual({ ip: 100, user: 10, tenant: 0 });
    expect(o.connectionRetryAfterSec).toBe(5);
    expect(Object.keys(o.messages)).toEqual(['ip', 'user']);
    expect(o.messages.ip).toEqual({
      name: 'ip',
      limit: { messagesPerMinute: 120, burstSize: 20 },
      intervalMs: 500,
      toleranceMs: 10_000,
    });
    expect(o.subscribe).toBeNull();
    expect(o.publish).toBeNull();
    expect(o.redis).toBeNull();
    expect(o.keyPrefix).toBe(RATE_LIMIT_DEFAULTS.keyPrefix);
    expect(o.redisTimeoutMs).toBe(250);
    expect(o.yieldEvery).toBe(8);
  });

  it('merges a per-scope override with the general rate', () => {
    const o = resolveRateLimitOptions({
      messagesPerMinute: 30,
      burstSize: 3,
      messageLimits: { ip: false, tenant: { burstSize: 300 } },
    });
    expect(o.messages.ip).toBeUndefined();
    expect(o.messages.user?.limit).toEqual({ messagesPerMinute: 30, burstSize: 3 });
    expect(o.messages.tenant).toEqual({
      name: 'tenant',
      limit: { messagesPerMinute: 30, burstSize: 300 },
      intervalMs: 2000,
      toleranceMs: 600_000,
    });
  });

  it('reports every bad option at once, naming the value and what it must be', () => {
    expect(
      problemsOf({
        maxConnectionsPerIp: -1,
        maxConnectionsPerUser: 1.5,
        maxConnectionsPerTenant: '3',
        connectionRetryAfterSec: 90_000,
        messagesPerMinute: 0,
        burstSize: 0,
        messageLimits: { ip: 'yes', user: { messagesPerMinute: Number.NaN }, everyone: true },
        subscribeLimit: { messagesPerMinute: 10 },
        publishLimit: 5,
        redis: {},
        keyPrefix: 'has space',
        redisTimeoutMs: 0,
        yieldEvery: -2,
        logger: 'console',
      }),
    ).toEqual([
      'maxConnectionsPerIp is -1 when it must be an integer from 0 to 10000000',
      'maxConnectionsPerUser is 1.5 when it must be an integer from 0 to 10000000',
      "maxConnectionsPerTenant is '3' when it must be an integer from 0 to 10000000",
      'connectionRetryAfterSec is 90000 when it must be an integer from 0 to 86400',
      'messagesPerMinute is 0 when it must be a number above 0 and at most 60000000',
      'burstSize is 0 when it must be an integer from 1 to 1000000',
      'messageLimits.everyone is not a scope: use ip, user or tenant',
      "messageLimits.ip is 'yes' when it must be true, false or { messagesPerMinute?, burstSize? }",
      'messageLimits.user.messagesPerMinute is NaN when it must be a number above 0 and at most 60000000',
      'subscribeLimit.burstSize is unset when it must be an integer from 1 to 1000000',
      'publishLimit is 5 when it must be false or { messagesPerMinute, burstSize }',
      'redis is an object when it must be an ioredis client or a redis:// or rediss:// URL',
      "keyPrefix is 'has space' when it must be 1-100 characters of A-Z a-z 0-9 _ - . : { }",
      'redisTimeoutMs is 0 when it must be an integer from 1 to 60000',
      'yieldEvery is -2 when it must be an integer from 0 to 1000000',
      'logger must be a Logger with debug, info, warn and error methods',
    ]);
  });

  it('names the subject in the message', () => {
    expect(() => createRateLimiter({ burstSize: -1 })).toThrow(
      'Invalid rate limit options:\n  - burstSize is -1 when it must be an integer from 1 to 1000000',
    );
  });

  it('accepts a redis:// URL and refuses another scheme', () => {
    expect(resolveRateLimitOptions({ redis: 'rediss://user:pw@example.com:6380/2' }).redis).toBe(
      'rediss://user:pw@example.com:6380/2',
    );
    expect(problemsOf({ redis: 'http://127.0.0.1:6379' })).toEqual([
      "redis is 'http://127.0.0.1:6379' when it must be an ioredis client or a redis:// or rediss:// URL",
    ]);
  });

  it('refuses a messageLimits that is not an object', () => {
    expect(problemsOf({ messageLimits: [] })).toEqual([
      'messageLimits is an empty array when it must be an object keyed by ip, user or tenant',
    ]);
  });

  it('checks the IPv6 prefix and the Redis count TTL and refresh', () => {
    const o = resolveRateLimitOptions();
    expect([o.ipv6PrefixLength, o.connectionCountTtlMs, o.connectionCountRefreshMs]).toEqual([
      64, 30_000, 10_000,
    ]);
    expect(() =>
      resolveRateLimitOptions({
        ipv6PrefixLength: 0,
        connectionCountTtlMs: 2000,
        connectionCountRefreshMs: 1500,
      }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'ipv6PrefixLength is 0 when it must be an integer from 1 to 128',
          'connectionCountRefreshMs is 1500 when it must be an integer from 100 to 1000',
        ],
      }),
    );
  });
});
