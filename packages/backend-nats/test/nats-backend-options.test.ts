import { ConfigError } from '@dotmac-ws/core';
import { describe, expect, it } from 'vitest';
import { NatsBackend, type NatsBackendOptions } from '../src/index';

function problemsOf(options: NatsBackendOptions): readonly string[] {
  try {
    new NatsBackend(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^Invalid NatsBackend options:\n {2}- /);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('NatsBackend options', () => {
  it('accepts the defaults and every server form', () => {
    expect(new NatsBackend().name).toBe('nats');
    const b = new NatsBackend({
      servers: ['nats://a:4222', 'tls://b:4443', 'c:5222', 'd', ' nats://[::1]:4222 '],
      subjectPrefix: 'app_1.ws-gw',
      user: 'u',
      password: 'p',
    });
    expect(b.subjectOf('channel:news')).toBe('app_1.ws-gw.chan.g.news');
    expect(new NatsBackend({ token: 't' }).subjectOf('broadcast')).toBe('dotmac-ws.all');
  });

  it('reports every problem at once, each naming the option, the value and the rule', () => {
    const problems = problemsOf({
      servers: ['redis://x:1', 'nats://user:secret@h:4222', 'nats://h:4222/path', ''],
      subjectPrefix: 'a.*',
      user: 'u',
      token: 't',
      name: '',
      connectTimeoutMs: 5,
      commandTimeoutMs: 1.5,
      reconnectTimeWaitMs: -1,
      reconnectJitterMs: Number.NaN,
      lameDuckJitterMs: 700_000,
      drainTimeoutMs: -5,
      natsOptions: 'x' as unknown as object,
    });
    expect(problems).toEqual([
      "servers[0] has the scheme 'redis:' when it must be nats://host:port, tls://host:port, host:port or host",
      'servers[1] holds credentials: set user and password, or token, instead',
      "servers[2] is 'nats://h:4222/path' when it must be nats://host:port, tls://host:port, host:port or host (no path or query)",
      "servers[3] is '' when it must be nats://host:port, tls://host:port, host:port or host",
      "subjectPrefix is 'a.*' when it must be 1-128 characters of dot-separated tokens of A-Z a-z 0-9 _ - (no wildcards, no leading $)",
      'user is set without password',
      'token and user are both set when only one way of authenticating may be',
      "name is '' when it must be 1-200 characters",
      'connectTimeoutMs is 5 when it must be an integer from 100 to 600000',
      'commandTimeoutMs is 1.5 when it must be an integer from 10 to 600000',
      'reconnectTimeWaitMs is -1 when it must be an integer from 10 to 600000',
      'reconnectJitterMs is NaN when it must be an integer from 0 to 600000',
      'lameDuckJitterMs is 700000 when it must be an integer from 0 to 600000',
      'drainTimeoutMs is -5 when it must be an integer from 0 to 600000',
      "natsOptions is 'x' when it must be an object of connection options",
    ]);
  });

  it('never echoes a password', () => {
    const problems = problemsOf({ servers: 'nats://u:hunter2@h', password: '', user: 'u' });
    expect(problems).toEqual([
      'servers holds credentials: set user and password, or token, instead',
      'password is set when it must be a non-empty string',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it.each([
    ['$SYS', "'$SYS'"],
    ['a..b', "'a..b'"],
    ['.a', "'.a'"],
    ['a.', "'a.'"],
    ['a b', "'a b'"],
    ['a.>', "'a.>'"],
    ['x'.repeat(129), `'${'x'.repeat(129)}'`],
  ])('refuses the subject prefix %s', (subjectPrefix, shown) => {
    expect(problemsOf({ subjectPrefix })).toEqual([
      `subjectPrefix is ${shown} when it must be 1-128 characters of dot-separated tokens of A-Z a-z 0-9 _ - (no wildcards, no leading $)`,
    ]);
  });

  it('refuses an empty server list and a password without a user', () => {
    expect(problemsOf({ servers: [], password: 'p' })).toEqual([
      'servers is an empty array when it must be a server URL or a non-empty list of them',
      'password is set without user',
    ]);
  });
});
