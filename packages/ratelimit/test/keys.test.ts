import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { from, sessionOf, startLimited } from './helpers';

describe('limit keys', () => {
  it('tenant "a/b" with user "c" and tenant "a" with user "b/c" share no count and no bucket', async () => {
    const { url, gw, limiter } = await startLimited({
      maxConnectionsPerIp: 0,
      maxConnectionsPerUser: 1,
      messagesPerMinute: 1,
      burstSize: 2,
      messageLimits: { ip: false, user: true },
    });
    const one = await TestClient.open(url, from(90, { 'x-test-tenant': 'a/b', 'x-test-user': 'c' }));
    const two = await TestClient.open(url, from(91, { 'x-test-tenant': 'a', 'x-test-user': 'b/c' }));
    for (const c of [one, two]) await c.welcome();
    // The first user spends its whole bucket; the second still has all of its own.
    for (const id of ['p1', 'p2']) expect((await one.request({ type: 'ping', id })).type).toBe('pong');
    expect((await one.request({ type: 'ping', id: 'p3' })).data).toMatchObject({ code: 'rate_limited' });
    for (const id of ['q1', 'q2']) expect((await two.request({ type: 'ping', id })).type).toBe('pong');
    const [s1, s2] = [await sessionOf(gw, one), await sessionOf(gw, two)];
    expect((await limiter.getRateLimitStatus(s1)).connections).toEqual([
      { scope: 'user', key: '["a/b","c"]', limit: 1, open: 1 },
    ]);
    expect((await limiter.getRateLimitStatus(s2)).connections).toEqual([
      { scope: 'user', key: '["a","b/c"]', limit: 1, open: 1 },
    ]);
  });

  it('limits IPv6 clients per /64: behind a trusted proxy, two addresses of one /64 share the count', async () => {
    const { url, gw, limiter } = await startLimited({ maxConnectionsPerIp: 2 }, { trustProxy: 'loopback' });
    const via = (address: string) => from(92, { 'X-Forwarded-For': `203.0.113.9, ${address}` });
    const a = await TestClient.open(url, via('2001:db8:1:2::a'));
    await TestClient.open(url, via('2001:db8:1:2:ffff::b'));
    const refusal = await TestClient.refused(url, via('2001:db8:1:2::c'));
    expect(refusal.status).toBe(429);
    expect(JSON.parse(refusal.body).error.message).toBe('too many open connections for this address');
    // The next /64 is another client.
    await (await TestClient.open(url, via('2001:db8:1:3::a'))).welcome();
    const status = await limiter.getRateLimitStatus(await sessionOf(gw, a));
    expect(status.connections).toEqual([{ scope: 'ip', key: '2001:db8:1:2::/64', limit: 2, open: 2 }]);
  });

  it('keys each IPv6 address alone with ipv6PrefixLength 128', async () => {
    const { url } = await startLimited(
      { maxConnectionsPerIp: 1, ipv6PrefixLength: 128 },
      { trustProxy: 'loopback' },
    );
    const via = (address: string) => from(93, { 'X-Forwarded-For': address });
    await (await TestClient.open(url, via('2001:db8:1:2::a'))).welcome();
    await (await TestClient.open(url, via('2001:db8:1:2::b'))).welcome();
    expect((await TestClient.refused(url, via('2001:db8:1:2::a'))).status).toBe(429);
  });
});
