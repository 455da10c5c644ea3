import { ConfigError } from '@dotmac-ws/core';
import { describe, expect, it } from 'vitest';
import { RedisBackend, type RedisBackendOptions } from '../src/index';

function problemsOf(options: RedisBackendOptions): readonly string[] {
  try {
    new RedisBackend(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('the options were accepted');
}

describe('RedisBackend options', () => {
  it('accepts the defaults and every URL form', () => {
    expect(new RedisBackend().name).toBe('redis');
    for (const url of [
      'redis://127.0.0.1:6379',
      'redis://localhost',
      'redis://:secret@host:6380/3',
      'redis://user:p%40ss@host:6379/0',
      'rediss://cache.example.com:6380',
      'redis://[::1]:6379',
    ]) {
      expect(() => new RedisBackend({ url })).not.toThrow();
    }
    expect(new RedisBackend({ clusterNodes: ['127.0.0.1:7000', 'redis://10.0.0.2:7001'] }).isCluster).toBe(
      true,
    );
  });

  it('maps topics to channels under the key prefix', () => {
    expect(new RedisBackend().channelOf('channel:news')).toBe('dotmac-ws:channel:news');
    expect(new RedisBackend({ keyPrefix: 'app1/' }).channelOf('user:u1')).toBe('app1/user:u1');
    expect(new RedisBackend({ keyPrefix: '' }).channelOf('broadcast')).toBe('broadcast');
  });

  it('reports every bad option in one error', () => {
    const problems = problemsOf({
      url: 'http://host:6379',
      sharded: 'yes' as unknown as boolean,
      batchPublishes: 1 as unknown as boolean,
      keyPrefix: 'has space',
      connectTimeoutMs: 0,
      commandTimeoutMs: 1.5,
      reconnectMaxDelayMs: -1,
    });
    expect(problems).toEqual([
      "url has the scheme 'http:' when it must be a redis:// or rediss:// URL such as redis://user:secret@host:6379/0",
      "sharded is 'yes' when it must be a boolean",
      'batchPublishes is 1 when it must be a boolean',
      "keyPrefix is 'has space' when it must be a string of at most 200 characters without spaces or braces",
      'connectTimeoutMs is 0 when it must be an integer from 100 to 600000',
      'commandTimeoutMs is 1.5 when it must be an integer from 10 to 600000',
      'reconnectMaxDelayMs is -1 when it must be an integer from 10 to 600000',
    ]);
  });

  it('refuses unparsable URLs without echoing their password', () => {
    expect(problemsOf({ url: 'not a url' })).toEqual([
      "url is 'not a url' when it must be a redis:// or rediss:// URL such as redis://user:secret@host:6379/0",
    ]);
    expect(problemsOf({ url: 'redis://host:6379/x' })).toEqual([
      "url names the database 'x' when it must be an integer from 0 (as in redis://host:6379/0)",
    ]);
    expect(problemsOf({ url: 42 as unknown as string })).toEqual([
      'url is 42 when it must be a redis:// or rediss:// URL such as redis://user:secret@host:6379/0',
    ]);
    const message = problemsOf({ url: 'redis://:topsecret@host:notaport' }).join('\n');
    expect(message).not.toContain('topsecret');
    expect(message).toContain('***');
  });

  it('refuses bad cluster nodes and hash-tag prefixes', () => {
    expect(problemsOf({ clusterNodes: [] })).toEqual([
      'clusterNodes is an empty array when it must be a non-empty list of host:port',
    ]);
    expect(problemsOf({ clusterNodes: ['127.0.0.1', 'host:99999', 'ok:7000'] })).toEqual([
      "clusterNodes[0] is '127.0.0.1' when it must be host:port (port 1-65535) or a redis:// URL",
      "clusterNodes[1] is 'host:99999' when it must be host:port (port 1-65535) or a redis:// URL",
    ]);
    expect(problemsOf({ keyPrefix: '{app}:' })).toEqual([
      "keyPrefix is '{app}:' when it must be a string of at most 200 characters without spaces or braces",
    ]);
    expect(problemsOf({ redisOptions: 5 as unknown as object })).toEqual([
      'redisOptions is 5 when it must be an object of ioredis options',
    ]);
  });
});
