import { ConfigError } from '@dotmac-ws/core';
import { describe, expect, it } from 'vitest';
import { channelPolicy, parseChannelRules } from '../src/index';

const ref = (name: string) => ({ name, internal: name, tenantId: null });

describe('channel options in rules (protocol.md v1.1)', () => {
  it('gives a channel the options of the first rule whose pattern fits it', () => {
    const policy = channelPolicy([
      { pattern: 'room:vip', subscribe: 'authenticated' },
      {
        pattern: 'room:*',
        subscribe: true,
        publish: true,
        history_size: 100,
        history_ttl_ms: 300000,
        recovery: 'stream',
        presence: true,
        join_leave: true,
      },
      { pattern: 'user:{sub}', history_size: 5, recovery: 'cache' },
    ]);
    expect(policy.options(ref('room:1'))).toEqual({
      historySize: 100,
      historyTtlMs: 300000,
      recovery: 'stream',
      presence: true,
      joinLeave: true,
    });
    expect(policy.options(ref('room:vip'))).toBeNull();
    expect(policy.options(ref('user:anyone'))).toEqual({ historySize: 5, recovery: 'cache' });
    expect(policy.options(ref('news'))).toBeNull();
  });

  it('reads the options from a rules file and names every bad one', () => {
    expect(
      parseChannelRules([{ pattern: 'a:*', history_size: 3, max_presence_members: 10, presence: true }])
        .rules,
    ).toEqual([{ pattern: 'a:*', history_size: 3, max_presence_members: 10, presence: true }]);
    let error: unknown;
    try {
      parseChannelRules([
        { pattern: 'a:*', history_size: -1, recovery: 'all', join_leave: true, presence: 'yes' },
        { pattern: 'b:*', histroy_size: 3 },
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'rules[0].history_size must be an integer >= 0 (got -1)',
      'rules[0].presence must be true or false (got "yes")',
      'rules[0].recovery must be "stream" or "cache" (got "all")',
      'rules[0].join_leave needs presence: true',
      'rules[1].histroy_size is not a rule field: use pattern, subscribe, publish, a channel option (history_size, history_ttl_ms, recovery, max_recovery_publications, presence, join_leave, max_presence_members) or proxy_subscribe, proxy_publish',
    ]);
  });
});
