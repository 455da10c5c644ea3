import { describe, expect, it } from 'vitest';
import { type BrokerUrlRule, brokerUrlOrigin, parseBrokerUrl } from '../src/index';

const REDIS: BrokerUrlRule = {
  name: 'url',
  schemes: ['redis:', 'rediss:'],
  expected: 'a redis:// URL',
  defaultPort: 6379,
};
const NATS: BrokerUrlRule = {
  name: 'servers[0]',
  schemes: ['nats:', 'tls:'],
  expected: 'nats://host:port or host:port',
  defaultPort: 4222,
  defaultScheme: 'nats',
  trim: true,
};

function parse(value: unknown, rule: BrokerUrlRule) {
  const problems: string[] = [];
  const parsed = parseBrokerUrl(value, rule, problems);
  return { parsed, problems };
}

describe('parseBrokerUrl', () => {
  it('reads scheme, credentials, host and port, defaulting the port', () => {
    const { parsed, problems } = parse('rediss://u:p%40ss@cache.local/2', REDIS);
    expect(problems).toEqual([]);
    expect(parsed?.url.protocol).toBe('rediss:');
    expect(parsed?.url.username).toBe('u');
    expect(decodeURIComponent(parsed?.url.password ?? '')).toBe('p@ss');
    expect(parsed?.url.hostname).toBe('cache.local');
    expect(parsed?.port).toBe(6379);
    expect(parse('redis://h:7000', REDIS).parsed?.port).toBe(7000);
  });

  it('adds the default scheme to host:port and trims when the rule says so', () => {
    const { parsed, problems } = parse('  n1.local:4333 ', NATS);
    expect(problems).toEqual([]);
    expect(parsed?.url.protocol).toBe('nats:');
    expect(parsed?.url.hostname).toBe('n1.local');
    expect(parsed?.port).toBe(4333);
    expect(parsed?.text).toBe('n1.local:4333');
    expect(parse('tls://n2', NATS).parsed?.port).toBe(4222);
  });

  it('requires a scheme when the rule has no default', () => {
    expect(parse('cache.local:6379', REDIS)).toEqual({
      parsed: null,
      problems: ["url has the scheme 'cache.local:' when it must be a redis:// URL"],
    });
  });

  it('words each problem like an option problem, never echoing a password', () => {
    expect(parse(6379, REDIS).problems).toEqual(['url is 6379 when it must be a redis:// URL']);
    expect(parse('   ', NATS).problems).toEqual([
      "servers[0] is '   ' when it must be nats://host:port or host:port",
    ]);
    expect(parse('http://h:1', NATS).problems).toEqual([
      "servers[0] has the scheme 'http:' when it must be nats://host:port or host:port",
    ]);
    const bad = parse('redis://user:hunter2@[::1', REDIS);
    expect(bad.parsed).toBeNull();
    expect(bad.problems).toEqual(["url is 'redis://***@[::1' when it must be a redis:// URL"]);
  });

  it('appends to the problems already found', () => {
    const problems = ['first'];
    parseBrokerUrl(null, REDIS, problems);
    expect(problems).toEqual(['first', 'url is null when it must be a redis:// URL']);
  });
});

describe('brokerUrlOrigin', () => {
  it('drops credentials, path and query', () => {
    expect(brokerUrlOrigin(new URL('rediss://u:secret@h:6380/2?x=1'))).toBe('rediss://h:6380');
    expect(brokerUrlOrigin(new URL('nats://[::1]:4222'))).toBe('nats://[::1]:4222');
  });
});
