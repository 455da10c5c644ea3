import { ConfigError } from '@dotmac-ws/core';
import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import {
  type ChannelRule,
  channelPolicy,
  jwtAuthenticator,
  type PolicySubject,
  parseChannelRules,
} from '../src/index';
import { SECRET, sign, startGateway } from './helpers';

const who = (
  userId: string | null,
  roles: string[] = [],
  permissions: string[] = [],
  tenantId: string | null = null,
): PolicySubject => ({
  userId,
  tenantId,
  roles,
  permissions,
  isAuthenticated: userId !== null,
});
const anonymous = who(null);
const alice = who('alice', ['reader'], ['chat:write']);
const bob = who('bob', ['admin'], ['admin:write']);

const RULES: ChannelRule[] = [
  { pattern: 'user:{sub}', subscribe: 'authenticated', publish: false },
  { pattern: 'user:{sub}:*', subscribe: 'authenticated', publish: 'authenticated' },
  { pattern: 'admin:*', subscribe: { roles: ['admin'] }, publish: { permissions: ['admin:write'] } },
  { pattern: 'chat:*', subscribe: 'authenticated', publish: { permissions: ['chat:write'] } },
  { pattern: 'team:{tenant_id}', subscribe: { roles: ['reader', 'admin'] } },
  { pattern: 'public', subscribe: true },
];

describe('channelPolicy(rules): decisions', () => {
  const policy = channelPolicy(RULES);
  const can = (s: PolicySubject, name: string, action: 'subscribe' | 'publish') =>
    policy.decide(s, name, action);

  it('the first matching rule decides, by role and by permission', () => {
    expect(can(bob, 'admin:ops', 'subscribe')).toEqual({ allowed: true, rule: 2, foreign: false });
    expect(can(alice, 'admin:ops', 'subscribe')).toEqual({ allowed: false, rule: 2, foreign: false });
    expect(can(bob, 'admin:ops', 'publish').allowed).toBe(true);
    expect(can(alice, 'admin:ops', 'publish').allowed).toBe(false);
    expect(can(alice, 'chat:lobby', 'publish').allowed).toBe(true);
    expect(can(bob, 'chat:lobby', 'publish').allowed).toBe(false);
    expect(can(anonymous, 'chat:lobby', 'subscribe').allowed).toBe(false);
    expect(can(anonymous, 'public', 'subscribe')).toEqual({ allowed: true, rule: 5, foreign: false });
  });

  it('defaults: subscribe allowed, publish denied, for channels no rule names and actions a rule leaves unset', () => {
    expect(can(anonymous, 'news', 'subscribe')).toEqual({ allowed: true, rule: null, foreign: false });
    expect(can(bob, 'news', 'publish')).toEqual({ allowed: false, rule: null, foreign: false });
    expect(can(bob, 'public', 'publish')).toEqual({ allowed: false, rule: 5, foreign: false });
    const strict = channelPolicy(RULES, {
      defaultSubscribe: 'authenticated',
      defaultPublish: { roles: ['admin'] },
    });
    expect(strict.decide(anonymous, 'news', 'subscribe').allowed).toBe(false);
    expect(strict.decide(alice, 'news', 'subscribe').allowed).toBe(true);
    expect(strict.decide(bob, 'news', 'publish').allowed).toBe(true);
    expect(strict.decide(alice, 'news', 'publish').allowed).toBe(false);
  });

  it('{sub} channels: the owner only; another user or an anonymous session never', () => {
    expect(can(alice, 'user:alice', 'subscribe')).toEqual({ allowed: true, rule: 0, foreign: false });
    expect(can(alice, 'user:alice', 'publish').allowed).toBe(false);
    expect(can(alice, 'user:alice:inbox', 'publish').allowed).toBe(true);
    for (const [s, name] of [
      [bob, 'user:alice'],
      [bob, 'user:alice:inbox'],
      [anonymous, 'user:alice'],
      [alice, 'user:alicex'],
      [alice, 'user:bob'],
    ] as const) {
      expect(can(s, name, 'subscribe'), `${s.userId} on ${name}`).toMatchObject({
        allowed: false,
        foreign: true,
      });
      expect(can(s, name, 'publish').allowed).toBe(false);
    }
  });

  it("a user can never subscribe to another user's channel, even under a broader rule listed first", () => {
    const open = channelPolicy([
      { pattern: '*', subscribe: true, publish: true },
      { pattern: 'user:{sub}', subscribe: 'authenticated' },
    ]);
    const users = ['alice', 'bob', 'a.b', 'a*', 'x:y', 'x', 'alice@example.com'];
    for (const u of users) {
      for (const v of users) {
        // An id with ':' owns nothing: 'x:y' could pass for the channel 'user:x' + ':y'.
        const expected = u === v && !u.includes(':');
        expect(open.decide(who(u), `user:${v}`, 'subscribe').allowed, `${u} -> user:${v}`).toBe(expected);
        expect(open.decide(who(u), `user:${v}`, 'publish').allowed).toBe(expected);
      }
    }
    // With sub-channels, 'alice:inbox' can never read alice's inbox, nor alice another's.
    const nested = channelPolicy([
      { pattern: '*', subscribe: true },
      { pattern: 'user:{sub}', subscribe: 'authenticated' },
      { pattern: 'user:{sub}:*', subscribe: 'authenticated' },
    ]);
    expect(nested.decide(who('alice'), 'user:alice:inbox', 'subscribe')).toEqual({
      allowed: true,
      rule: 0,
      foreign: false,
    });
    expect(nested.decide(who('alice:inbox'), 'user:alice:inbox', 'subscribe')).toMatchObject({
      allowed: false,
      foreign: true,
    });
    expect(nested.decide(who('alice:inbox'), 'user:alice', 'subscribe').allowed).toBe(false);
    expect(nested.decide(who('bob'), 'user:alice:inbox', 'subscribe').allowed).toBe(false);
    expect(nested.decide(who('alice'), 'user:bob:alice', 'subscribe').allowed).toBe(false);
    // Regular-expression characters in a user id are literal: 'a.b' does not own 'user:axb'.
    expect(open.decide(who('a.b'), 'user:axb', 'subscribe').allowed).toBe(false);
    expect(open.decide(who('bob'), 'other', 'subscribe').allowed).toBe(true);
  });

  it('{tenant_id} channels belong to the session tenant', () => {
    expect(can(who('a', ['reader'], [], 'acme'), 'team:acme', 'subscribe').allowed).toBe(true);
    expect(can(who('a', ['reader'], [], 'acme'), 'team:globex', 'subscribe')).toMatchObject({
      allowed: false,
      foreign: true,
    });
    expect(can(who('a', ['reader']), 'team:acme', 'subscribe').allowed).toBe(false);
  });

  it('refuses bad rules with one error naming every problem', () => {
    let error: unknown;
    try {
      channelPolicy([
        { pattern: 'bad channel' },
        { pattern: 'user:{name}' },
        { pattern: '' },
        { pattern: 'x', subscribe: { roles: [] } },
        { pattern: 'y', publish: 'everyone' as never },
        { pattern: 'z', subscribe: { groups: ['a'] } as never },
        { pattern: 'w', extra: 1 } as never,
        { pattern: 3 } as never,
        { pattern: 'user{sub}' },
        { pattern: 'user:{sub}*' },
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      `rules[0].pattern 'bad channel' has " " at 3: use channel-name characters (A-Z a-z 0-9 _ - . : @ / =), '*' and {sub}, {user_id}, {tenant_id}`,
      `rules[1].pattern 'user:{name}' has the unknown placeholder {name}: use {sub}, {user_id} or {tenant_id}`,
      `rules[2].pattern '' must be 1-200 characters`,
      'rules[3].subscribe.roles must be a non-empty list of non-empty strings',
      `rules[4].publish is "everyone" when it must be true, false, 'authenticated' or { roles?, permissions? }`,
      'rules[5].subscribe.groups is not a requirement: use roles or permissions',
      'rules[6].extra is not a rule field: use pattern, subscribe, publish, a channel option (history_size, history_ttl_ms, recovery, max_recovery_publications, presence, join_leave, max_presence_members) or proxy_subscribe, proxy_publish',
      "rules[7].pattern must be a string such as 'admin:*' or 'user:{sub}'",
      "rules[8].pattern 'user{sub}' has a placeholder that is not a whole segment: put it between ':' separators, as in 'user:{sub}:inbox'",
      "rules[9].pattern 'user:{sub}*' has a placeholder that is not a whole segment: put it between ':' separators, as in 'user:{sub}:inbox'",
    ]);
    expect((error as Error).message).toMatch(/^Invalid channel policy:\n {2}- rules\[0\]/);
  });

  it('parseChannelRules reads a list or { rules, defaultSubscribe, defaultPublish } as JSON gives them', () => {
    expect(parseChannelRules(JSON.parse('[{"pattern":"a:*","publish":true}]'))).toEqual({
      rules: [{ pattern: 'a:*', publish: true }],
    });
    expect(
      parseChannelRules({ rules: [], defaultSubscribe: 'authenticated', defaultPublish: false }),
    ).toEqual({
      rules: [],
      defaultSubscribe: 'authenticated',
      defaultPublish: false,
    });
    expect(() => parseChannelRules({ rule: [] })).toThrow(
      'Invalid channel rules:\n  - rule is not a setting: use rules, defaultSubscribe or defaultPublish\n  - rules must be a list of { pattern, subscribe?, publish? }',
    );
    expect(() => parseChannelRules('nope')).toThrow('rules must be a list');
  });
});

describe('channelPolicy(rules) on a gateway with real tokens', () => {
  async function setup() {
    const { gateway, url } = await startGateway({
      authenticator: jwtAuthenticator({ secret: SECRET }),
      channelPolicy: channelPolicy(RULES),
    });
    const open = async (claims: Record<string, unknown> | null, path = '') => {
      const headers: Record<string, string> = claims ? { Authorization: `Bearer ${sign(claims)}` } : {};
      const c = await TestClient.open(url + path, { headers });
      await c.welcome();
      return c;
    };
    return { gateway, open };
  }

  it('subscribe and publish answer ack or forbidden as the rules say', async () => {
    const { open } = await setup();
    const a = await open({ sub: 'alice', roles: ['reader'], permissions: ['chat:write'] });
    const b = await open({ sub: 'bob', roles: ['admin'], permissions: ['admin:write'] });
    const anon = await open(null);
    const forbidden = (verb: string, channel: string) => ({
      type: 'error',
      data: { code: 'forbidden', message: `${verb} "${channel}" is not allowed` },
    });

    expect(await a.request({ type: 'subscribe', channel: 'user:alice' })).toMatchObject({ type: 'ack' });
    expect(await b.request({ type: 'subscribe', channel: 'user:alice' })).toMatchObject(
      forbidden('subscribing to', 'user:alice'),
    );
    expect(await anon.request({ type: 'subscribe', channel: 'user:alice' })).toMatchObject(
      forbidden('subscribing to', 'user:alice'),
    );
    expect(await b.request({ type: 'subscribe', channel: 'admin:ops' })).toMatchObject({ type: 'ack' });
    expect(await a.request({ type: 'subscribe', channel: 'admin:ops' })).toMatchObject(
      forbidden('subscribing to', 'admin:ops'),
    );
    expect(await a.request({ type: 'subscribe', channel: 'chat:lobby' })).toMatchObject({ type: 'ack' });
    expect(await anon.request({ type: 'subscribe', channel: 'chat:lobby' })).toMatchObject(
      forbidden('subscribing to', 'chat:lobby'),
    );
    expect(await anon.request({ type: 'subscribe', channel: 'news' })).toMatchObject({ type: 'ack' });

    expect(await b.request({ type: 'publish', channel: 'admin:ops', data: { n: 1 } })).toMatchObject({
      type: 'ack',
    });
    expect(await a.request({ type: 'publish', channel: 'admin:ops', data: 1 })).toMatchObject(
      forbidden('publishing on', 'admin:ops'),
    );
    expect(await a.request({ type: 'publish', channel: 'chat:lobby', data: { hi: 1 } })).toMatchObject({
      type: 'ack',
    });
    expect(await b.request({ type: 'publish', channel: 'chat:lobby', data: 1 })).toMatchObject(
      forbidden('publishing on', 'chat:lobby'),
    );
    expect(await anon.request({ type: 'publish', channel: 'news', data: 1 })).toMatchObject(
      forbidden('publishing on', 'news'),
    );
    expect(await a.request({ type: 'publish', channel: 'user:alice', data: 1 })).toMatchObject(
      forbidden('publishing on', 'user:alice'),
    );

    // What was allowed was delivered: bob's admin message to bob, alice's chat message to alice.
    expect(await b.waitFor((f) => f.channel === 'admin:ops')).toEqual({
      type: 'message',
      channel: 'admin:ops',
      data: { n: 1 },
    });
    expect(await a.waitFor((f) => f.channel === 'chat:lobby')).toEqual({
      type: 'message',
      channel: 'chat:lobby',
      data: { hi: 1 },
    });
  });

  it("a server message to one user's channel reaches that user only, in a tenant too", async () => {
    const { gateway, open } = await setup();
    const a = await open({ sub: 'alice', tenant_id: 'acme' }, '/tenant/acme');
    const m = await open({ sub: 'mallory', tenant_id: 'acme' }, '/tenant/acme');
    expect(await a.request({ type: 'subscribe', channel: 'user:alice' })).toMatchObject({ type: 'ack' });
    expect(await m.request({ type: 'subscribe', channel: 'user:alice' })).toMatchObject({
      type: 'error',
      data: { code: 'forbidden' },
    });
    expect(await m.request({ type: 'subscribe', channel: 'user:mallory' })).toMatchObject({ type: 'ack' });
    expect(await gateway.broadcastToChannel('user:alice', 'note', { secret: 1 }, { tenantId: 'acme' })).toBe(
      1,
    );
    await gateway.broadcastToChannel('user:mallory', 'note', { done: 1 }, { tenantId: 'acme' });
    expect(await a.waitFor((f) => f.type === 'note')).toEqual({
      type: 'note',
      channel: 'user:alice',
      data: { secret: 1 },
    });
    await m.waitFor((f) => f.type === 'note');
    expect(m.frames.filter((f) => f.type === 'note')).toEqual([
      { type: 'note', channel: 'user:mallory', data: { done: 1 } },
    ]);
  });
});
